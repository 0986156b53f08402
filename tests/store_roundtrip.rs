//! Round trips: what is appended (and snapshotted) is what is recovered, through the in-memory
//! encoders and through real store directories, checked against a naive model of the state.

use std::collections::BTreeMap;

use proptest::prelude::*;
use referral_dedup::hashes::{Blake3, EntryId, Hash64, Md5, Pdq, Sha256};
use referral_dedup::store::{
    encode_journal, encode_snapshot, scan_journal, EntryRecord, EntrySource, FsyncPolicy, Record,
    SnapshotColumns, Store, StoreOptions,
};

/// The naive reference: apply records to ordered maps.
#[derive(Default, Clone, Debug, PartialEq)]
struct Model {
    entries: BTreeMap<EntryId, EntryRecord>,
    resolutions: BTreeMap<String, String>,
}

impl Model {
    fn apply(&mut self, r: &Record) {
        match r {
            Record::Insert(e) => {
                self.entries.insert(e.id, e.clone());
            }
            Record::Delete(id) => {
                self.entries.remove(id);
            }
            Record::Resolve { short_key, target } => {
                self.resolutions.insert(short_key.clone(), target.clone());
            }
        }
    }

    fn entries(&self) -> Vec<EntryRecord> {
        self.entries.values().cloned().collect()
    }

    fn resolutions(&self) -> Vec<(String, String)> {
        self.resolutions
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect()
    }
}

fn arb_pdq() -> impl Strategy<Value = Pdq> {
    any::<[u64; 4]>().prop_map(Pdq)
}

fn arb_entry() -> impl Strategy<Value = EntryRecord> {
    (
        (0u32..40, any::<bool>(), "[a-z0-9é/:]{0,12}"),
        (
            proptest::option::of("[a-z ]{0,8}"),
            proptest::option::of("[a-z:/.]{0,16}"),
            proptest::option::of(any::<[u8; 32]>()),
            proptest::option::of(any::<[u8; 32]>()),
            proptest::option::of(any::<[u8; 16]>()),
        ),
        (
            proptest::option::of(arb_pdq()),
            proptest::option::of(0u8..=100),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::collection::vec(arb_pdq(), 0..3),
            proptest::option::of("[0-9T:-]{0,10}"),
        ),
    )
        .prop_map(
            |((id, known, ext), (label, url_key, b3, sha, md5), (pdq, q, dh, ph, extra, at))| {
                let source = if known {
                    EntrySource::Known
                } else {
                    EntrySource::Referral
                };
                let mut e = EntryRecord::new(EntryId(id), source, ext);
                e.label = label;
                e.url_key = url_key;
                e.hashes.blake3 = b3.map(Blake3);
                e.hashes.sha256 = sha.map(Sha256);
                e.hashes.md5 = md5.map(Md5);
                e.hashes.pdq = pdq;
                e.hashes.pdq_quality = q;
                e.hashes.dhash = dh.map(Hash64);
                e.hashes.phash = ph.map(Hash64);
                e.hashes.extra_pdq = extra;
                e.received_at = at;
                e
            },
        )
}

fn arb_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        4 => arb_entry().prop_map(Record::Insert),
        2 => (0u32..40).prop_map(|id| Record::Delete(EntryId(id))),
        1 => ("[a-c]{1,2}", "[a-z]{0,6}")
            .prop_map(|(short_key, target)| Record::Resolve { short_key, target }),
    ]
}

/// One step of a store session.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // test steps, a few dozen at a time
enum Step {
    Append(Record),
    AppendAll(Vec<Record>),
    Snapshot,
    Reopen,
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => arb_record().prop_map(Step::Append),
        2 => proptest::collection::vec(arb_record(), 0..4).prop_map(Step::AppendAll),
        1 => Just(Step::Snapshot),
        1 => Just(Step::Reopen),
    ]
}

/// Where records go and where they come back from: the encoders over bytes in memory, or a
/// store directory on disk. The same properties are checked against both.
trait Backend {
    fn run(&mut self, steps: &[Step]) -> (Vec<EntryRecord>, Vec<(String, String)>);
}

/// In memory: the journal is `encode_journal` bytes, a snapshot is `encode_snapshot` bytes
/// of the state so far; recovery decodes the snapshot and scans the journal.
struct EncodedBytes;

impl Backend for EncodedBytes {
    fn run(&mut self, steps: &[Step]) -> (Vec<EntryRecord>, Vec<(String, String)>) {
        let mut snapshot: Option<Vec<u8>> = None;
        let mut pending: Vec<Record> = Vec::new();
        let mut state = Model::default();
        for step in steps {
            match step {
                Step::Append(r) => pending.push(r.clone()),
                Step::AppendAll(rs) => pending.extend(rs.iter().cloned()),
                Step::Snapshot | Step::Reopen => {
                    state = recover_bytes(snapshot.as_deref(), &pending);
                    if matches!(step, Step::Snapshot) {
                        snapshot = Some(
                            encode_snapshot(state.entries.values(), &state.resolutions(), 2)
                                .unwrap(),
                        );
                        pending.clear();
                    }
                }
            }
        }
        let _ = state;
        let m = recover_bytes(snapshot.as_deref(), &pending);
        (m.entries(), m.resolutions())
    }
}

fn recover_bytes(snapshot: Option<&[u8]>, journal: &[Record]) -> Model {
    let mut m = Model::default();
    if let Some(bytes) = snapshot {
        let cols = SnapshotColumns::decode(bytes.to_vec(), "snapshot".into()).unwrap();
        for e in cols.entries().unwrap() {
            m.entries.insert(e.id, e);
        }
        m.resolutions = cols.resolutions().into_iter().collect();
    }
    let bytes = encode_journal(2, journal).unwrap();
    let scan = scan_journal(&bytes, "journal".as_ref(), Some(2)).unwrap();
    assert!(scan.torn.is_none());
    assert_eq!(scan.valid_len, bytes.len() as u64);
    for r in &scan.records {
        m.apply(r);
    }
    m
}

/// On disk: a real store directory, reopened where the steps say.
struct Directory(FsyncPolicy);

impl Backend for Directory {
    fn run(&mut self, steps: &[Step]) -> (Vec<EntryRecord>, Vec<(String, String)>) {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions::default().with_fsync(self.0);
        let (mut store, rec) = Store::open(dir.path(), opts.clone()).unwrap();
        let mut live = Model::default();
        assert!(rec.entries.is_empty());
        for step in steps {
            match step {
                Step::Append(r) => {
                    store.append(r).unwrap();
                    live.apply(r);
                }
                Step::AppendAll(rs) => {
                    store.append_all(rs).unwrap();
                    rs.iter().for_each(|r| live.apply(r));
                }
                Step::Snapshot => {
                    store
                        .snapshot(live.entries.values(), &live.resolutions())
                        .unwrap();
                }
                Step::Reopen => {
                    drop(store);
                    let (s, rec) = Store::open(dir.path(), opts.clone()).unwrap();
                    assert!(rec.report.torn.is_none(), "{:?}", rec.report.torn);
                    assert_eq!(rec.entries, live.entries());
                    assert_eq!(rec.resolutions, live.resolutions());
                    store = s;
                }
            }
        }
        drop(store);
        let (_s, rec) = Store::open(dir.path(), opts).unwrap();
        assert!(rec.report.torn.is_none());
        (rec.entries, rec.resolutions)
    }
}

fn check_backend(backend: &mut dyn Backend, steps: &[Step]) {
    let mut model = Model::default();
    for step in steps {
        match step {
            Step::Append(r) => model.apply(r),
            Step::AppendAll(rs) => rs.iter().for_each(|r| model.apply(r)),
            Step::Snapshot | Step::Reopen => {}
        }
    }
    let (entries, resolutions) = backend.run(steps);
    assert_eq!(entries, model.entries());
    assert_eq!(resolutions, model.resolutions());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn encoded_bytes_recover_what_was_appended(
        steps in proptest::collection::vec(arb_step(), 0..40)
    ) {
        check_backend(&mut EncodedBytes, &steps);
    }

    #[test]
    fn store_directory_recovers_what_was_appended(
        steps in proptest::collection::vec(arb_step(), 0..40)
    ) {
        check_backend(&mut Directory(FsyncPolicy::Never), &steps);
    }

    #[test]
    fn every_single_record_survives_the_codec(r in arb_record()) {
        let bytes = encode_journal(5, std::slice::from_ref(&r)).unwrap();
        let scan = scan_journal(&bytes, "j".as_ref(), Some(5)).unwrap();
        prop_assert_eq!(scan.records, vec![r]);
    }
}

#[test]
fn every_fsync_policy_recovers_the_same_state() {
    let steps: Vec<Step> = (0..30u32)
        .map(|i| {
            let mut e = EntryRecord::new(EntryId(i % 11), EntrySource::Known, format!("k{i}"));
            e.hashes.pdq = Some(Pdq([u64::from(i); 4]));
            match i % 10 {
                3 => Step::Append(Record::Delete(EntryId(i % 7))),
                5 => Step::Snapshot,
                8 => Step::Reopen,
                9 => Step::AppendAll(vec![
                    Record::Insert(e),
                    Record::Resolve {
                        short_key: format!("s{}", i % 3),
                        target: format!("t{i}"),
                    },
                ]),
                _ => Step::Append(Record::Insert(e)),
            }
        })
        .collect();
    for policy in [
        FsyncPolicy::EveryWrite,
        FsyncPolicy::EveryMillis(1),
        FsyncPolicy::EveryMillis(0),
        FsyncPolicy::Never,
    ] {
        check_backend(&mut Directory(policy), &steps);
    }
    check_backend(&mut EncodedBytes, &steps);
}

#[test]
fn appends_from_many_threads_are_all_recovered() {
    // EveryWrite exercises group commit (fsyncs shared between threads, run without the lock).
    for policy in [FsyncPolicy::EveryWrite, FsyncPolicy::EveryMillis(2)] {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions::default().with_fsync(policy);
        let (store, _) = Store::open(dir.path(), opts.clone()).unwrap();
        std::thread::scope(|s| {
            for t in 0..4u32 {
                let store = &store;
                s.spawn(move || {
                    for i in 0..50u32 {
                        let id = EntryId(t * 1000 + i);
                        let e = EntryRecord::new(id, EntrySource::Referral, id.to_string());
                        if i % 10 == 9 {
                            store.append_all(&[Record::Insert(e)]).unwrap();
                        } else {
                            store.append(&Record::Insert(e)).unwrap();
                        }
                    }
                });
            }
        });
        drop(store);
        let (_s, rec) = Store::open(dir.path(), opts).unwrap();
        assert_eq!(rec.entries.len(), 200, "{policy:?}");
        assert!(rec
            .entries
            .iter()
            .all(|e| e.external_id == e.id.to_string()));
    }
}

#[test]
fn a_record_too_large_is_refused_and_the_store_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let big = EntryRecord::new(
        EntryId(1),
        EntrySource::Known,
        "x".repeat(referral_dedup::store::MAX_RECORD_LEN + 1),
    );
    let small = Record::Delete(EntryId(9));
    assert!(matches!(
        store.append_all(&[small.clone(), Record::Insert(big)]),
        Err(referral_dedup::store::StoreError::RecordTooLarge { .. })
    ));
    store.append(&small).unwrap();
    drop(store);
    let (_s, rec) = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(
        rec.report.journal_records, 1,
        "the refused batch wrote nothing"
    );
}

// Changed on purpose in session 6 (issue 11): compaction keeps the previous generation
// (snapshot-000002.bin and journal-000002.log here) as the fallback for a damaged snapshot.
#[test]
fn snapshot_keeps_one_previous_generation_and_names_itself_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let e = EntryRecord::new(EntryId(1), EntrySource::Known, "a");
    store.append(&Record::Insert(e.clone())).unwrap();
    let first = store.snapshot([&e], &[]).unwrap();
    let second = store.snapshot([&e], &[]).unwrap();
    assert_ne!(first, second);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "LOCK",
            "MANIFEST",
            "journal-000002.log",
            "journal-000003.log",
            "snapshot-000002.bin",
            "snapshot-000003.bin"
        ]
    );
    assert_eq!(second, dir.path().join("snapshot-000003.bin"));
    assert_eq!(
        store.current_journal(),
        dir.path().join("journal-000003.log")
    );
    let manifest = std::fs::read_to_string(dir.path().join("MANIFEST")).unwrap();
    assert!(manifest.contains("snapshot snapshot-000003.bin\njournal 3\n"));
}
