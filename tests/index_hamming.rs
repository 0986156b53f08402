//! The Hamming index against a brute-force scan: property tests with interleaved inserts,
//! deletes and merges, for 64- and 256-bit codes and every radius.

use proptest::prelude::*;
use referral_dedup::hashes::{EntryId, Hash64, Pdq};
use referral_dedup::index::{Code, HammingConfig, HammingIndex, Hit, Layout};

use crate::splitmix::SplitMix;

/// The expected answer: per id the smallest distance among its codes within `radius` of any
/// query, sorted by (distance, id).
fn brute_force<C: Code>(stored: &[(EntryId, C)], queries: &[C], radius: u32) -> Vec<Hit> {
    let mut best: std::collections::BTreeMap<EntryId, u32> = Default::default();
    for (id, code) in stored {
        for q in queries {
            let d = q.distance(code);
            if d <= radius {
                let e = best.entry(*id).or_insert(d);
                *e = (*e).min(d);
            }
        }
    }
    let mut hits: Vec<Hit> = best
        .into_iter()
        .map(|(id, distance)| Hit { id, distance })
        .collect();
    hits.sort_by_key(|h| (h.distance, h.id));
    hits
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u32, usize, Vec<u32>),
    Remove(u32),
    Query(usize, Vec<u32>, u32),
    Compact,
    /// Write the index to a file and carry on with the loaded copy.
    SaveLoad,
}

/// Codes near a few centres (so radius queries have real hits): centre plus flipped bits.
fn make_code<C: Code>(centres: &[C], centre: usize, flips: &[u32]) -> C {
    let c = centres[centre % centres.len()];
    let words = (C::BITS / 64) as usize;
    let mut w: Vec<u64> = (0..words).map(|k| c.word(k)).collect();
    for f in flips {
        let bit = f % C::BITS;
        w[(bit / 64) as usize] ^= 1 << (bit % 64);
    }
    C::from_words(&w)
}

fn ops(bits: u32) -> impl Strategy<Value = Vec<Op>> {
    let flips = move |max: usize| prop::collection::vec(0..bits, 0..max);
    let op = prop_oneof![
        6 => (0u32..40, 0usize..6, flips(bits as usize / 4)).prop_map(|(i, c, f)| Op::Insert(i, c, f)),
        1 => (0u32..40).prop_map(Op::Remove),
        3 => (0usize..6, flips(bits as usize / 4), 0..=bits).prop_map(|(c, f, r)| Op::Query(c, f, r)),
        1 => Just(Op::Compact),
        1 => Just(Op::SaveLoad),
    ];
    prop::collection::vec(op, 1..120)
}

fn run_ops<C: Code>(centres: &[C], ops: &[Op], cfg: HammingConfig) -> Result<(), TestCaseError> {
    let mut index = HammingIndex::<C>::with_config(cfg.clone());
    let mut model: Vec<(EntryId, C)> = Vec::new();
    for op in ops {
        match op {
            Op::Insert(id, c, f) => {
                let code = make_code(centres, *c, f);
                index.insert(EntryId(*id), code);
                model.push((EntryId(*id), code));
            }
            Op::Remove(id) => {
                let had = model.iter().any(|(x, _)| x.0 == *id);
                prop_assert_eq!(index.remove(EntryId(*id)), had);
                model.retain(|(x, _)| x.0 != *id);
            }
            Op::Query(c, f, r) => {
                let q = make_code(centres, *c, f);
                prop_assert_eq!(index.range(&q, *r), brute_force(&model, &[q], *r));
                // A second query (like a dihedral variant) through range_many.
                let q2 = make_code(centres, c + 1, f);
                prop_assert_eq!(
                    index.range_many(&[q, q2], *r),
                    brute_force(&model, &[q, q2], *r)
                );
                // The batch APIs answer each query (or group) exactly as one call would.
                let q3 = make_code(centres, c + 2, &f[f.len() / 2..]);
                let batch = index.range_batch(&[q, q2, q3], *r);
                prop_assert_eq!(batch.len(), 3);
                for (got, query) in batch.iter().zip([q, q2, q3]) {
                    prop_assert_eq!(got, &brute_force(&model, &[query], *r));
                }
                let groups: [&[C]; 3] = [&[q, q2], &[], &[q3]];
                let batch = index.range_many_batch(&groups, *r);
                prop_assert_eq!(&batch[0], &brute_force(&model, &[q, q2], *r));
                prop_assert!(batch[1].is_empty());
                prop_assert_eq!(&batch[2], &brute_force(&model, &[q3], *r));
            }
            Op::Compact => index.compact(),
            Op::SaveLoad => {
                let mut file = Vec::new();
                index.write_to(&mut file).unwrap();
                index = HammingIndex::read_from(&file[..], cfg.clone()).unwrap();
            }
        }
        prop_assert_eq!(index.len(), model.len());
    }
    Ok(())
}

fn centres256() -> Vec<Pdq> {
    (0..6u64)
        .map(|i| {
            let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            Pdq([x, x.rotate_left(17), !x, x ^ 0x5555_5555_5555_5555])
        })
        .collect()
}

fn centres64() -> Vec<Hash64> {
    (0..6u64)
        .map(|i| Hash64(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect()
}

/// Small deltas and forced tables, so that sealing, merging and the table search all happen
/// within a few operations.
/// `inline` forces the low substring bits kept in the table entries (`None`: chosen by size).
/// `join`: every batch call takes the joined (address-sorted) search, else the pipelined one.
fn small_cfg(
    layout: Option<Layout>,
    inline: Option<u32>,
    background: bool,
    delta: usize,
    join: bool,
) -> HammingConfig {
    HammingConfig {
        delta_capacity: delta,
        merge_factor: 2,
        background_merge: background,
        force_layout: layout,
        force_inline_bits: inline,
        join_min_queries: if join { 1 } else { 0 },
        ..HammingConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn pdq_ops_match_brute_force(
        ops in ops(256), delta in 1usize..8, t in 0usize..4, inline in prop::option::of(0u32..=24),
        join in any::<bool>(),
    ) {
        let layout = [
            None,
            Some(Layout { tables: 16, bits: 16 }),
            Some(Layout { tables: 5, bits: 11 }),
            Some(Layout { tables: 11, bits: 23 }),
        ][t];
        run_ops(&centres256(), &ops, small_cfg(layout, inline, false, delta, join))?;
    }

    #[test]
    fn hash64_ops_match_brute_force(
        ops in ops(64), delta in 1usize..8, t in 0usize..4, inline in prop::option::of(0u32..=21),
        join in any::<bool>(),
    ) {
        let layout = [
            None,
            Some(Layout { tables: 4, bits: 16 }),
            Some(Layout { tables: 3, bits: 9 }),
            Some(Layout { tables: 3, bits: 21 }),
        ][t];
        run_ops(&centres64(), &ops, small_cfg(layout, inline, false, delta, join))?;
    }

    #[test]
    fn background_merges_stay_exact(ops in ops(256), delta in 1usize..4, join in any::<bool>()) {
        run_ops(&centres256(), &ops, small_cfg(Some(Layout { tables: 8, bits: 12 }), None, true, delta, join))?;
    }
}

/// Clustered codes: families of near-duplicates around random centres.
fn clustered<C: Code>(rng: &mut SplitMix, n: usize, max_flips: u32) -> Vec<C> {
    let words = (C::BITS / 64) as usize;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let centre: Vec<u64> = (0..words).map(|_| rng.next()).collect();
        for _ in 0..5 {
            let mut w = centre.clone();
            let flips = rng.next() % u64::from(max_flips + 1);
            for _ in 0..flips {
                let bit = (rng.next() % u64::from(C::BITS)) as usize;
                w[bit / 64] ^= 1 << (bit % 64);
            }
            out.push(C::from_words(&w));
        }
    }
    out.truncate(n);
    out
}

fn check_every_radius<C: Code>(
    n: usize,
    seed: u64,
    cfg: HammingConfig,
    radii: impl Iterator<Item = u32>,
) {
    let mut rng = SplitMix(seed);
    let codes: Vec<C> = clustered(&mut rng, n, C::BITS / 6);
    let stored: Vec<(EntryId, C)> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (EntryId(i as u32 / 2), *c)) // two codes per id
        .collect();
    let index = HammingIndex::build_with_config(stored.iter().copied(), cfg);
    let queries: Vec<C> = (0..12)
        .map(|i| {
            if i % 2 == 0 {
                let mut w: Vec<u64> = (0..C::BITS / 64)
                    .map(|k| codes[i * 37].word(k as usize))
                    .collect();
                w[0] ^= 0b1011;
                C::from_words(&w)
            } else {
                C::from_words(&(0..C::BITS / 64).map(|_| rng.next()).collect::<Vec<_>>())
            }
        })
        .collect();
    for r in radii {
        let batch = index.range_batch(&queries, r);
        for (q, got) in queries.iter().zip(&batch) {
            let want = brute_force(&stored, std::slice::from_ref(q), r);
            assert_eq!(index.range(q, r), want, "radius {r}");
            assert_eq!(got, &want, "radius {r}, batch");
        }
    }
}

/// The layouts and inline bits the exhaustive checks run with: the cost model's, and forced
/// ones from no inline bits to one coarse bucket per table. `range` is the pipelined search;
/// `range_batch` is the joined search in every forced configuration and one of the
/// defaults, and the pipelined one in the other default.
fn configs(layouts: &[Layout], inline: &[u32]) -> Vec<HammingConfig> {
    let joined = |cfg| HammingConfig {
        join_min_queries: 1,
        ..cfg
    };
    let mut out = vec![
        HammingConfig {
            join_min_queries: 0,
            ..HammingConfig::default()
        },
        joined(HammingConfig::default()),
    ];
    for &layout in layouts {
        for &k in inline {
            out.push(joined(HammingConfig {
                force_layout: Some(layout),
                force_inline_bits: Some(k),
                ..HammingConfig::default()
            }));
        }
    }
    out
}

#[test]
fn built_pdq_index_is_exact_at_every_radius() {
    check_every_radius::<Pdq>(
        20_000,
        1,
        HammingConfig::default(),
        (0..=256).step_by(3).chain([31, 32, 47, 52, 63, 256]),
    );
}

#[test]
fn built_pdq_index_is_exact_at_every_layout() {
    let layouts = [
        Layout {
            tables: 11,
            bits: 23,
        },
        Layout {
            tables: 13,
            bits: 19,
        },
        Layout {
            tables: 16,
            bits: 16,
        },
    ];
    for cfg in configs(&layouts, &[0, 3, 7, 19]) {
        check_every_radius::<Pdq>(20_000, 5, cfg, [0, 12, 31, 40, 52, 63].into_iter());
    }
}

#[test]
fn built_hash64_index_is_exact_at_every_layout() {
    let layouts = [
        Layout {
            tables: 3,
            bits: 21,
        },
        Layout {
            tables: 4,
            bits: 16,
        },
    ];
    for cfg in configs(&layouts, &[0, 4, 16]) {
        check_every_radius::<Hash64>(20_000, 6, cfg, [0, 5, 10, 16, 20].into_iter());
    }
}

#[test]
fn built_hash64_index_is_exact_at_every_radius() {
    check_every_radius::<Hash64>(20_000, 2, HammingConfig::default(), 0..=64);
}

#[test]
fn joined_search_is_exact_at_every_radius() {
    let joined = HammingConfig {
        join_min_queries: 1,
        ..HammingConfig::default()
    };
    check_every_radius::<Pdq>(
        20_000,
        1,
        joined.clone(),
        (0..=256).step_by(5).chain([31, 32, 52]),
    );
    check_every_radius::<Hash64>(20_000, 2, joined, (0..=64).step_by(2).chain([9, 10, 11]));
}

/// A batch large enough for the default threshold and several runs (so several joined
/// searches per thread), over a built segment, merged segments, the delta and deletes in each:
/// every answer equals the single-query (pipelined) one, and a sample equals brute force.
#[test]
fn large_batches_equal_single_queries() {
    let cfg = HammingConfig {
        delta_capacity: 700,
        background_merge: false,
        ..HammingConfig::default()
    };
    let mut rng = SplitMix(11);
    let codes: Vec<Pdq> = clustered(&mut rng, 30_000, 40);
    let stored: Vec<(EntryId, Pdq)> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (EntryId(i as u32), *c))
        .collect();
    let index = HammingIndex::build_with_config(stored[..25_000].iter().copied(), cfg);
    for &(id, c) in &stored[25_000..] {
        index.insert(id, c);
    }
    assert!(index.segment_count() > 1);
    let removed: Vec<u32> = (0..30_000).step_by(97).collect();
    for &id in &removed {
        assert!(index.remove(EntryId(id)));
    }
    let live: Vec<(EntryId, Pdq)> = stored
        .iter()
        .filter(|(id, _)| removed.binary_search(&id.0).is_err())
        .copied()
        .collect();
    let mut queries: Vec<Pdq> = codes.iter().step_by(5).copied().collect();
    queries.extend((0..500).map(|_| Pdq([rng.next(), rng.next(), rng.next(), rng.next()])));
    assert!(queries.len() > 6_000);
    for radius in [0, 31, 40] {
        let batch = index.range_batch(&queries, radius);
        assert_eq!(batch.len(), queries.len());
        let mut found = 0;
        for (i, (q, got)) in queries.iter().zip(&batch).enumerate() {
            assert_eq!(got, &index.range(q, radius), "query {i} radius {radius}");
            if i % 50 == 0 {
                assert_eq!(got, &brute_force(&live, std::slice::from_ref(q), radius));
            }
            found += got.len();
        }
        assert!(found >= queries.len() / 2, "radius {radius}: {found} hits");
    }
}

#[test]
fn removed_entries_stop_matching_in_every_part() {
    let cfg = HammingConfig {
        delta_capacity: 50,
        background_merge: false,
        ..HammingConfig::default()
    };
    let mut rng = SplitMix(3);
    let codes: Vec<Pdq> = clustered(&mut rng, 3_000, 20);
    let index = HammingIndex::build_with_config(
        codes[..2_000]
            .iter()
            .enumerate()
            .map(|(i, c)| (EntryId(i as u32), *c)),
        cfg,
    );
    for (i, c) in codes[2_000..].iter().enumerate() {
        index.insert(EntryId(2_000 + i as u32), *c);
    }
    // Ids in the big segment, in merged segments and in the delta.
    for id in [5u32, 1_999, 2_100, 2_990] {
        let q = codes[id as usize];
        assert!(index.range(&q, 0).iter().any(|h| h.id == EntryId(id)));
        assert!(index.remove(EntryId(id)));
        assert!(!index.range(&q, 0).iter().any(|h| h.id == EntryId(id)));
    }
    assert_eq!(index.len(), 2_996);
    index.compact();
    assert_eq!(index.segment_count(), 1);
    assert_eq!(index.len(), 2_996);
    assert!(!index.range(&codes[5], 0).iter().any(|h| h.id == EntryId(5)));
    // Re-inserting a removed id makes it match again.
    index.insert(EntryId(5), codes[5]);
    assert!(index.range(&codes[5], 0).iter().any(|h| h.id == EntryId(5)));
}

#[test]
fn layout_is_chosen_from_size_and_radius() {
    let mut rng = SplitMix(4);
    let codes: Vec<Pdq> = clustered(&mut rng, 50_000, 30);
    let index = HammingIndex::build(
        codes
            .iter()
            .enumerate()
            .map(|(i, c)| (EntryId(i as u32), *c)),
    );
    let layouts = index.layouts();
    assert_eq!(layouts.len(), 1);
    let (n, layout) = layouts[0];
    assert_eq!(n, 50_000);
    let layout = layout.expect("50k codes at radius 31 use tables");
    assert_eq!(Some(layout), Layout::choose(50_000, 31, 256));
    // Codes, ids and tombstones (36.1 B), a 4-byte entry per table, and 2-byte offsets (plus
    // a 4-byte start per 64) over each table's coarse buckets.
    let m = f64::from(layout.tables);
    let k = referral_dedup::index::inline_bits(50_000, layout.bits);
    let coarse = 2f64.powi((layout.bits - k) as i32) + 1.0;
    let expect =
        32.0 + 4.0 + 0.125 + 4.0 * m + m * (coarse * 2.0 + (coarse / 64.0).ceil() * 4.0) / 50_000.0;
    let per_code = index.memory_bytes() as f64 / 50_000.0;
    assert!(
        (per_code - expect).abs() < 1.0,
        "{per_code} bytes per code, expected {expect}"
    );
}
