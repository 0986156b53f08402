//! The keys of the bench's URL mix (`benches/url_mix.rs`, 10,000 URLs) are pinned in
//! `tests/data/url_mix_keys.txt`, one key (or `error: ...`) per URL. The file was written by the
//! keyer before host rules were added (issue #14), so this test shows the seven platforms'
//! keys, the wrappers, short links and generic keys did not change.
//!
//! Regenerate (only for an intended key change) with
//! `REFDEDUP_WRITE_KEYS=1 cargo test --test integration url_mix_keys::`.

#![allow(dead_code)]

use referral_dedup::url::UrlKeyer;

include!("../benches/url_mix.rs");

const N: usize = 10_000;

#[test]
fn bench_mix_keys_are_unchanged() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/url_mix_keys.txt");
    let keyer = UrlKeyer::new();
    let urls = generate_mix(N);
    let keys: Vec<String> = urls
        .iter()
        .map(|u| match keyer.key(u) {
            Ok(k) => k.key,
            Err(e) => format!("error: {e}"),
        })
        .collect();
    if std::env::var_os("REFDEDUP_WRITE_KEYS").is_some() {
        std::fs::write(path, keys.join("\n") + "\n").unwrap();
        return;
    }
    let pinned = std::fs::read_to_string(path).expect("tests/data/url_mix_keys.txt exists");
    let pinned: Vec<&str> = pinned.lines().collect();
    assert_eq!(pinned.len(), N, "one pinned key per URL");
    let mut changed = Vec::new();
    for ((url, key), old) in urls.iter().zip(&keys).zip(&pinned) {
        if key != old {
            changed.push(format!("{url}: {old} -> {key}"));
        }
    }
    assert!(
        changed.is_empty(),
        "{} of {N} keys changed, first: {:?}",
        changed.len(),
        &changed[..changed.len().min(5)]
    );
}

#[test]
fn host_mix_keys_its_new_hosts() {
    let keyer = UrlKeyer::new();
    let mix = generate_host_mix(2000);
    let hosted = mix
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|u| {
            let k = keyer.key(u).unwrap();
            !k.key.starts_with("url:")
        })
        .count();
    assert_eq!(hosted, 1000, "every new-host URL gets an item key");
    let _ = many_host_rules(3);
}
