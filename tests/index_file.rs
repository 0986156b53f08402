//! Hamming index files: a loaded index answers exactly as the one written, and a damaged or
//! forged file is a typed error at every byte, never a panic or a silently missing code.

use referral_dedup::hashes::{EntryId, Hash64, Pdq};
use referral_dedup::index::{Code, HammingConfig, HammingIndex, IndexError, Layout};

use crate::splitmix::SplitMix;

fn random<C: Code>(rng: &mut SplitMix) -> C {
    C::from_words(&(0..C::BITS / 64).map(|_| rng.next()).collect::<Vec<_>>())
}

/// `code` with `flips` random bits flipped.
fn near<C: Code>(rng: &mut SplitMix, code: &C, flips: u32) -> C {
    let mut w: Vec<u64> = (0..C::BITS / 64).map(|k| code.word(k as usize)).collect();
    for _ in 0..flips {
        let bit = (rng.next() % u64::from(C::BITS)) as usize;
        w[bit / 64] ^= 1 << (bit % 64);
    }
    C::from_words(&w)
}

/// An index with several segments, tombstones and an unsealed delta.
fn busy_index<C: Code>(n: u32, cfg: HammingConfig, seed: u64) -> (HammingIndex<C>, Vec<C>) {
    let mut rng = SplitMix(seed);
    let centres: Vec<C> = (0..n / 5 + 1).map(|_| random(&mut rng)).collect();
    let codes: Vec<C> = (0..n)
        .map(|i| near(&mut rng, &centres[(i / 5) as usize], C::BITS / 8))
        .collect();
    let index =
        HammingIndex::build_with_config((0..n / 2).map(|i| (EntryId(i), codes[i as usize])), cfg);
    for i in n / 2..n {
        index.insert(EntryId(i), codes[i as usize]);
    }
    for i in (0..n).step_by(7) {
        index.remove(EntryId(i));
    }
    (index, codes)
}

fn round_trip<C: Code>(index: &HammingIndex<C>, cfg: HammingConfig) -> (Vec<u8>, HammingIndex<C>) {
    let mut file = Vec::new();
    index.write_to(&mut file).unwrap();
    let loaded = HammingIndex::read_from(&file[..], cfg).unwrap();
    (file, loaded)
}

fn same_answers<C: Code>(a: &HammingIndex<C>, b: &HammingIndex<C>, codes: &[C], radii: &[u32]) {
    assert_eq!(a.len(), b.len());
    let mut rng = SplitMix(99);
    let mut queries: Vec<C> = codes
        .iter()
        .step_by(13)
        .map(|c| near(&mut rng, c, 3))
        .collect();
    queries.extend((0..8).map(|_| random::<C>(&mut rng)));
    for &r in radii {
        assert_eq!(
            a.range_batch(&queries, r),
            b.range_batch(&queries, r),
            "radius {r}"
        );
    }
}

#[test]
fn loaded_pdq_index_answers_as_written() {
    let cfg = HammingConfig {
        delta_capacity: 700,
        merge_factor: 1,
        background_merge: false,
        ..HammingConfig::default()
    };
    let (index, codes) = busy_index::<Pdq>(5_000, cfg.clone(), 1);
    assert!(index.segment_count() > 1);
    let (_, loaded) = round_trip(&index, cfg.clone());
    assert_eq!(loaded.segment_count(), index.segment_count());
    assert_eq!(loaded.layouts(), index.layouts());
    same_answers(&index, &loaded, &codes, &[0, 8, 31, 52, 80]);
    // The loaded index keeps working: inserts, deletes, merges.
    loaded.insert(EntryId(90_000), codes[3]);
    assert!(loaded.remove(EntryId(1)));
    loaded.compact();
    assert!(loaded
        .range(&codes[3], 0)
        .iter()
        .any(|h| h.id == EntryId(90_000)));
}

#[test]
fn loaded_hash64_index_answers_as_written_at_forced_layouts() {
    for (layout, inline) in [
        (
            Layout {
                tables: 4,
                bits: 16,
            },
            3,
        ),
        (
            Layout {
                tables: 3,
                bits: 21,
            },
            0,
        ),
    ] {
        let cfg = HammingConfig {
            force_layout: Some(layout),
            force_inline_bits: Some(inline),
            background_merge: false,
            delta_capacity: 300,
            ..HammingConfig::default()
        };
        let (index, codes) = busy_index::<Hash64>(2_000, cfg.clone(), 2);
        let (_, loaded) = round_trip(&index, cfg);
        same_answers(&index, &loaded, &codes, &[0, 4, 10, 16]);
    }
}

#[test]
fn an_empty_index_round_trips() {
    let index = HammingIndex::<Pdq>::new();
    let (_, loaded) = round_trip(&index, HammingConfig::default());
    assert!(loaded.is_empty());
}

/// A small index with tables (forced layout) and every part present.
fn small_file() -> (HammingIndex<Pdq>, Vec<Pdq>, Vec<u8>) {
    let cfg = HammingConfig {
        force_layout: Some(Layout {
            tables: 4,
            bits: 10,
        }),
        force_inline_bits: Some(2),
        background_merge: false,
        delta_capacity: 40,
        ..HammingConfig::default()
    };
    let (index, codes) = busy_index::<Pdq>(150, cfg.clone(), 3);
    let (file, _) = round_trip(&index, cfg);
    (index, codes, file)
}

#[test]
fn every_flipped_byte_and_every_truncation_is_refused() {
    let (_, _, file) = small_file();
    for i in 0..file.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = file.clone();
            bad[i] ^= flip;
            let got = HammingIndex::<Pdq>::read_from(&bad[..], HammingConfig::default());
            assert!(
                matches!(got, Err(IndexError::Corrupt { .. })),
                "byte {i} ^ {flip:#x}"
            );
        }
    }
    for len in 0..file.len() {
        let got = HammingIndex::<Pdq>::read_from(&file[..len], HammingConfig::default());
        assert!(
            matches!(got, Err(IndexError::Corrupt { .. })),
            "truncated to {len}"
        );
    }
    let mut longer = file.clone();
    longer.push(0);
    assert!(HammingIndex::<Pdq>::read_from(&longer[..], HammingConfig::default()).is_err());
}

#[test]
fn the_wrong_code_type_is_refused() {
    let (_, _, file) = small_file();
    let err = HammingIndex::<Hash64>::read_from(&file[..], HammingConfig::default()).unwrap_err();
    assert!(err.to_string().contains("256-bit"), "{err}");
}

/// Rewrites the checksum so only the structural checks stand between a forged file and a
/// search.
fn forge(mut body: Vec<u8>) -> Vec<u8> {
    body.truncate(body.len() - 4);
    let crc = crc32fast::hash(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

#[test]
fn forged_files_with_a_valid_checksum_never_panic() {
    // Every byte changed, checksum recomputed: the load fails with a typed error or yields an
    // index that searches without panicking (a forged code is a different code, not a broken
    // index: the table checks below make sure no stored code is unreachable).
    let (_, codes, file) = small_file();
    let mut refused = 0;
    for i in 8..file.len() - 4 {
        let mut bad = file.clone();
        bad[i] ^= 0x41;
        match HammingIndex::<Pdq>::read_from(&forge(bad)[..], HammingConfig::default()) {
            Err(IndexError::Corrupt { .. }) => refused += 1,
            Err(e) => panic!("byte {i}: {e}"),
            Ok(index) => {
                for q in codes.iter().step_by(11) {
                    let _ = index.range_batch(&[*q], 31);
                }
            }
        }
    }
    assert!(
        refused > file.len() / 2,
        "{refused} of {} refused",
        file.len()
    );
}

#[test]
fn a_table_entry_in_the_wrong_bucket_is_refused() {
    // One segment, no delta: the file ends with the last table's entries (n x u32), the two
    // empty delta arrays (8 + 8 bytes) and the checksum.
    let (index, _, _) = small_file();
    index.compact();
    let n = index.len();
    let mut file = Vec::new();
    index.write_to(&mut file).unwrap();
    let entries = file.len() - 20 - 4 * n;
    assert!(
        HammingIndex::<Pdq>::read_from(&forge(file.clone())[..], HammingConfig::default()).is_ok()
    );
    let (first, last) = (entries, entries + 4 * (n - 1));
    let mut swapped = file.clone();
    for k in 0..4 {
        swapped.swap(first + k, last + k);
    }
    let err =
        HammingIndex::<Pdq>::read_from(&forge(swapped)[..], HammingConfig::default()).unwrap_err();
    assert!(
        err.to_string().contains("bucket") || err.to_string().contains("twice"),
        "{err}"
    );
    let mut doubled = file.clone();
    doubled.copy_within(last - 4..last, last);
    let err =
        HammingIndex::<Pdq>::read_from(&forge(doubled)[..], HammingConfig::default()).unwrap_err();
    assert!(matches!(err, IndexError::Corrupt { .. }), "{err}");
}

#[test]
fn a_huge_claimed_length_fails_without_allocating_it() {
    // magic, version, bits, radius, then a segment count of 1 and a code count of 2^60.
    let mut file = b"RDHAMIDX".to_vec();
    for v in [1u32, 256, 31] {
        file.extend_from_slice(&v.to_le_bytes());
    }
    file.extend_from_slice(&1u64.to_le_bytes());
    file.extend_from_slice(&(1u64 << 60).to_le_bytes());
    file.extend_from_slice(&[0u8; 13]);
    file.extend_from_slice(&(1u64 << 60).to_le_bytes()); // ids length
    file.extend_from_slice(&[7u8; 64]);
    let err = HammingIndex::<Pdq>::read_from(&forge(file)[..], HammingConfig::default());
    assert!(matches!(err, Err(IndexError::Corrupt { .. })));
}
