//! Replays the committed `store_replay` fuzz corpus (fuzz/corpus/store_replay/) through the
//! fuzz target's own check, plus seeds built here, without libFuzzer.

use referral_dedup::hashes::{EntryId, Hash64, Pdq};
use referral_dedup::store::{encode_journal, encode_snapshot, EntryRecord, EntrySource, Record};

include!("../fuzz/fuzz_targets/store_replay_check.rs");

#[test]
fn committed_corpus_replays_without_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/store_replay");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.unwrap().path();
        check_store_bytes(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n >= 10, "only {n} corpus files");
}

/// Valid journals and snapshots in every mode, and every truncation and byte flip of them.
#[test]
fn seeds_and_their_mutations_replay_without_panic() {
    let mut e = EntryRecord::new(EntryId(3), EntrySource::Known, "k");
    e.hashes.pdq = Some(Pdq([1, 2, 3, 4]));
    e.hashes.dhash = Some(Hash64(9));
    e.hashes.extra_pdq = vec![Pdq([5; 4])];
    e.label = Some("l".into());
    let records = vec![
        Record::Insert(e.clone()),
        Record::Delete(EntryId(3)),
        Record::Resolve {
            short_key: "s".into(),
            target: "t".into(),
        },
    ];
    let journal = encode_journal(1, &records).unwrap();
    let snapshot = encode_snapshot([&e], &[("s".into(), "t".into())], 1).unwrap();
    let seeds: Vec<Vec<u8>> = vec![
        [&[0u8][..], &journal].concat(),
        [&[1u8][..], &journal[28..]].concat(),
        [&[4u8][..], &journal[28..]].concat(),
        [&[2u8][..], &snapshot].concat(),
        [&[3u8][..], &snapshot].concat(),
    ];
    for seed in &seeds {
        check_store_bytes(seed);
        for cut in 0..seed.len() {
            check_store_bytes(&seed[..cut]);
        }
        for i in 1..seed.len() {
            let mut b = seed.clone();
            b[i] = b[i].wrapping_add(0x41);
            check_store_bytes(&b);
        }
    }
}

/// A string length that splits a multi-byte character is refused even with every checksum
/// recomputed to match (the damage is only visible to the string-table validation).
#[test]
fn a_string_length_splitting_a_character_is_refused() {
    let mut e = EntryRecord::new(EntryId(1), EntrySource::Known, "é");
    e.label = Some("a".into());
    let good = encode_snapshot([&e], &[], 1).unwrap();
    let lens_entry = 64 + 11 * 24;
    let off = u64::from_le_bytes(good[lens_entry + 8..lens_entry + 16].try_into().unwrap());
    let off = off as usize;
    assert_eq!(&good[off..off + 8], &[2, 0, 0, 0, 1, 0, 0, 0]);
    let mut bad = good.clone();
    bad[off..off + 8].copy_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
    let bad = fix_snapshot_checksums(&bad);
    let err = referral_dedup::store::SnapshotColumns::decode(bad, "s".into()).unwrap_err();
    assert!(err.to_string().contains("splits a character"), "{err}");
    assert!(referral_dedup::store::SnapshotColumns::decode(
        fix_snapshot_checksums(&good),
        "s".into()
    )
    .is_ok());
}
