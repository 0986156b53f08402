//! Conformance with Meta's PDQ regression set: every (needle, haystack) pair within the radius,
//! as found by brute force (`../shared/testdata/pdq-reference/reg-test-input/`). Skips with a
//! notice when `../shared` is absent.

use std::path::Path;

use referral_dedup::hashes::{EntryId, Pdq};
use referral_dedup::index::{HammingConfig, HammingIndex, Layout};

fn read_hashes(path: &Path) -> Vec<Pdq> {
    std::fs::read_to_string(path)
        .expect("readable hash list")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse().expect("64 hex digits"))
        .collect()
}

#[test]
fn needles_vs_haystack_pairs_match_brute_force() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/pdq-reference/reg-test-input");
    if !dir.join("needles-vs-haystack.tsv").exists() {
        eprintln!("skipping: ../shared absent");
        return;
    }
    let needles = read_hashes(&dir.join("needles.txt"));
    let haystack = read_hashes(&dir.join("haystack.txt"));
    let expected: Vec<(u32, u32, u32)> =
        std::fs::read_to_string(dir.join("needles-vs-haystack.tsv"))
            .expect("readable tsv")
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<u32> = l.split('\t').map(|x| x.parse().expect("number")).collect();
                (f[0], f[1], f[2])
            })
            .collect();
    let items = || {
        haystack
            .iter()
            .enumerate()
            .map(|(i, h)| (EntryId(i as u32), *h))
    };
    // The cost-chosen layout, the reference's 16 x 16 layout and a plain scan.
    let indexes = [
        HammingIndex::build(items()),
        HammingIndex::build_with_config(
            items(),
            HammingConfig {
                force_layout: Some(Layout {
                    tables: 16,
                    bits: 16,
                }),
                ..HammingConfig::default()
            },
        ),
        {
            let index = HammingIndex::new();
            for (id, h) in items() {
                index.insert(id, h);
            }
            index
        },
    ];
    for (radius, count) in [(31u32, 250usize), (47, 287), (63, 352)] {
        let want: Vec<(u32, u32, u32)> =
            expected.iter().copied().filter(|p| p.2 <= radius).collect();
        assert_eq!(want.len(), count);
        for index in &indexes {
            let mut got = Vec::new();
            for (n, needle) in needles.iter().enumerate() {
                for hit in index.range(needle, radius) {
                    got.push((n as u32, hit.id.0, hit.distance));
                }
            }
            got.sort_unstable();
            let mut want = want.clone();
            want.sort_unstable();
            assert_eq!(got, want, "radius {radius}");
        }
    }
}
