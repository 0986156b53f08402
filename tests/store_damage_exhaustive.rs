//! Every single-byte flip and every truncation point of every file of a small store (the
//! current snapshot, both journals, the MANIFEST) leaves every undamaged record readable and is
//! reported, and read-only opens change no file (issue 11's target).
//!
//! The fixture is a store compacted once: `journal-000001.log` (the previous generation, which
//! the snapshot covers), `snapshot-000002.bin`, `journal-000002.log` (single appends and one
//! grouped append after the snapshot) and `MANIFEST`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use referral_dedup::hashes::{EntryId, Hash64, Pdq};
use referral_dedup::store::{
    encode_journal_append, EntryRecord, EntrySource, Record, Recovered, Store, StoreOptions,
};

const JOURNAL_HEADER: usize = 28;

/// Writer options that wait for the lock: a process another test forks can briefly hold the
/// lock's file description after the writer before was dropped.
fn waiting() -> StoreOptions {
    StoreOptions::default().with_wait_for_lock(true)
}

fn entry(i: u32) -> EntryRecord {
    let mut e = EntryRecord::new(EntryId(i), EntrySource::Known, format!("k{i}"));
    e.hashes.pdq = Some(Pdq([u64::from(i) * 0x0101_0101 + 7; 4]));
    e.hashes.dhash = Some(Hash64(u64::from(i) << 3));
    e.label = i.is_multiple_of(2).then(|| format!("list-{i}"));
    e
}

/// The appends, in order, before and after the one compaction.
struct Fixture {
    /// Appends in journal 1 (covered by the snapshot).
    before: Vec<Vec<Record>>,
    /// Appends in journal 2 (after the snapshot).
    after: Vec<Vec<Record>>,
    /// Every file of the store and its bytes.
    files: BTreeMap<String, Vec<u8>>,
}

fn appends_before() -> Vec<Vec<Record>> {
    let mut out: Vec<Vec<Record>> = (0..5).map(|i| vec![Record::Insert(entry(i))]).collect();
    out.push(vec![Record::Resolve {
        short_key: "bit.ly/a".into(),
        target: "https://example.org/a".into(),
    }]);
    out
}

fn appends_after() -> Vec<Vec<Record>> {
    vec![
        vec![Record::Insert(entry(5))],
        vec![Record::Delete(EntryId(1))],
        // A grouped append (an import): begin marker, records, commit marker.
        vec![Record::Insert(entry(6)), Record::Insert(entry(7))],
        vec![Record::Resolve {
            short_key: "bit.ly/b".into(),
            target: "https://example.org/b".into(),
        }],
        vec![Record::Insert(entry(8))],
    ]
}

/// The state a sequence of records produces.
fn apply<'a>(
    records: impl IntoIterator<Item = &'a Record>,
) -> (Vec<EntryRecord>, Vec<(String, String)>) {
    let mut entries = BTreeMap::new();
    let mut res = BTreeMap::new();
    for r in records {
        match r {
            Record::Insert(e) => {
                entries.insert(e.id, e.clone());
            }
            Record::Delete(id) => {
                entries.remove(id);
            }
            Record::Resolve { short_key, target } => {
                res.insert(short_key.clone(), target.clone());
            }
        }
    }
    (entries.into_values().collect(), res.into_iter().collect())
}

fn read_dir_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for d in std::fs::read_dir(dir).unwrap() {
        let d = d.unwrap();
        if d.file_type().unwrap().is_file() {
            out.insert(
                d.file_name().into_string().unwrap(),
                std::fs::read(d.path()).unwrap(),
            );
        }
    }
    out
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let before = appends_before();
    let after = appends_after();
    let (store, _) = Store::open(dir.path(), waiting()).unwrap();
    for a in &before {
        store.append_all(a).unwrap();
    }
    let (entries, res) = apply(before.iter().flatten());
    store.snapshot(&entries, &res).unwrap();
    for a in &after {
        store.append_all(a).unwrap();
    }
    drop(store);
    let mut files = read_dir_files(dir.path());
    files.remove("LOCK");
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "MANIFEST",
            "journal-000001.log",
            "journal-000002.log",
            "snapshot-000002.bin"
        ],
        "compaction keeps the previous generation's journal"
    );
    Fixture {
        before,
        after,
        files,
    }
}

/// Byte ranges of each append in a journal holding `appends` after its header.
fn append_ranges(appends: &[Vec<Record>]) -> Vec<std::ops::Range<usize>> {
    let mut pos = JOURNAL_HEADER;
    appends
        .iter()
        .map(|a| {
            let len = encode_journal_append(2, a).unwrap().len() - JOURNAL_HEADER;
            pos += len;
            pos - len..pos
        })
        .collect()
}

/// A store directory holding the fixture with `name` replaced by `bytes`.
fn damaged_store(fx: &Fixture, name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (n, b) in &fx.files {
        let b = if n == name { bytes } else { b.as_slice() };
        std::fs::write(dir.path().join(n), b).unwrap();
    }
    dir
}

/// Opens read-only, then with the previous generation checked, asserting neither changes a
/// file and both see the same state.
fn read_twice(dir: &Path, what: &str) -> (Recovered, Recovered) {
    let before = read_dir_files(dir);
    let seen = Store::read_only(dir).unwrap_or_else(|e| panic!("{what}: {e}"));
    let checked = Store::check(dir).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        read_dir_files(dir),
        before,
        "{what}: a read-only open changed files"
    );
    assert_eq!(seen.entries, checked.entries, "{what}");
    assert_eq!(seen.resolutions, checked.resolutions, "{what}");
    (seen, checked)
}

fn reported_at(rec: &Recovered, path: &Path) -> bool {
    rec.report.problems().any(|p| p.path == path)
}

fn state_of(rec: &Recovered) -> (Vec<EntryRecord>, Vec<(String, String)>) {
    (rec.entries.clone(), rec.resolutions.clone())
}

#[test]
fn every_flip_and_cut_of_the_snapshot_falls_back_and_keeps_every_record() {
    let fx = fixture();
    let name = "snapshot-000002.bin";
    let good = &fx.files[name];
    let full = apply(fx.before.iter().chain(&fx.after).flatten());
    let mut unchecked = 0;
    let variants = (0..good.len())
        .map(|i| {
            let mut b = good.clone();
            b[i] ^= 0xA5;
            (format!("flip at {i}"), b)
        })
        .chain((0..good.len()).map(|t| (format!("cut at {t}"), good[..t].to_vec())));
    for (k, (what, bytes)) in variants.enumerate() {
        let dir = damaged_store(&fx, name, &bytes);
        let path = dir.path().join(name);
        let (seen, _) = read_twice(dir.path(), &what);
        assert_eq!(state_of(&seen), full, "{what}");
        if !reported_at(&seen, &path) {
            // Only alignment padding between sections is unchecked; the state is intact.
            assert!(what.starts_with("flip"), "{what}: not reported");
            unchecked += 1;
            continue;
        }
        assert!(
            seen.report.damaged[0]
                .reason
                .contains("previous generation"),
            "{what}: {:?}",
            seen.report
        );
        // A writer falls back the same way, appends, and a repair (every 9th case) writes a
        // new snapshot, moves the damaged one aside and leaves a clean store.
        let (store, rec) = Store::open(dir.path(), waiting()).unwrap();
        assert_eq!(state_of(&rec), full, "{what}");
        assert!(reported_at(&rec, &path), "{what}");
        store.append(&Record::Insert(entry(40))).unwrap();
        if k % 9 == 0 {
            let (entries, res) = apply(
                fx.before
                    .iter()
                    .chain(&fx.after)
                    .flatten()
                    .chain(std::iter::once(&Record::Insert(entry(40)))),
            );
            store.snapshot(&entries, &res).unwrap();
            drop(store);
            let (_s, again) = Store::open(dir.path(), waiting()).unwrap();
            assert!(again.report.is_clean(), "{what}: {:?}", again.report);
            assert_eq!(again.entries, entries, "{what}");
            assert!(!path.exists(), "{what}: the damaged snapshot stayed");
            if !bytes.is_empty() {
                let aside = dir.path().join("damaged").join(name);
                assert_eq!(std::fs::read(aside).unwrap(), bytes, "{what}");
            }
        } else {
            drop(store);
            let again = Store::read_only(dir.path()).unwrap();
            assert_eq!(again.entries.len(), full.0.len() + 1, "{what}");
            assert!(reported_at(&again, &path), "{what}: reported once only");
        }
    }
    assert!(unchecked < 64, "{unchecked} flips went unnoticed");
}

#[test]
fn every_flip_and_cut_of_the_current_journal_costs_only_the_damaged_append() {
    let fx = fixture();
    let name = "journal-000002.log";
    let good = &fx.files[name];
    let ranges = append_ranges(&fx.after);
    assert_eq!(ranges.last().unwrap().end, good.len(), "fixture layout");
    let base: Vec<&Record> = fx.before.iter().flatten().collect();
    let keep = |lost: &dyn Fn(usize, usize) -> bool| {
        let after = fx.after.iter().enumerate().flat_map(|(a, recs)| {
            recs.iter()
                .enumerate()
                .filter(move |&(r, _)| !lost(a, r))
                .map(|(_, rec)| rec)
        });
        apply(base.iter().copied().chain(after))
    };
    let full = keep(&|_, _| false);
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0xA5;
        let what = format!("flip at {i}");
        let dir = damaged_store(&fx, name, &b);
        let (seen, _) = read_twice(dir.path(), &what);
        assert!(
            reported_at(&seen, &dir.path().join(name)),
            "{what}: not reported"
        );
        let state = state_of(&seen);
        match ranges.iter().position(|r| r.contains(&i)) {
            // The header: every record is still read (frames carry their own checksums).
            None => assert_eq!(state, full, "{what}"),
            // Some records of the damaged append may be lost (each that checks out is kept),
            // nothing else.
            Some(a) => {
                let n = fx.after[a].len();
                let allowed: Vec<_> = (0..1usize << n)
                    .map(|mask| keep(&|aa, r| aa == a && mask & (1 << r) != 0))
                    .collect();
                assert!(allowed.contains(&state), "{what}: {:?}", seen.report);
            }
        }
    }
    for t in 0..good.len() {
        let what = format!("cut at {t}");
        let dir = damaged_store(&fx, name, &good[..t]);
        let (seen, _) = read_twice(dir.path(), &what);
        // Every append written whole before the cut counts; a cut one never does.
        let expected = keep(&|a, _| ranges[a].end > t);
        assert_eq!(state_of(&seen), expected, "{what}");
        let at_boundary = t <= JOURNAL_HEADER || ranges.iter().any(|r| r.end == t);
        if !at_boundary {
            assert!(
                reported_at(&seen, &dir.path().join(name)),
                "{what}: not reported"
            );
        }
        // The writer keeps the file as it is and appends after it (a prefix of the header
        // alone, which holds no record, is written again).
        let (store, rec) = Store::open(dir.path(), waiting()).unwrap();
        assert_eq!(state_of(&rec), expected, "{what}");
        drop(store);
        if t >= JOURNAL_HEADER {
            let now = std::fs::read(dir.path().join(name)).unwrap();
            assert_eq!(now, &good[..t], "{what}");
        }
    }
}

#[test]
fn every_flip_and_cut_of_the_previous_generation_is_reported_by_a_check_only() {
    let fx = fixture();
    let name = "journal-000001.log";
    let good = &fx.files[name];
    let ranges = append_ranges(&fx.before);
    let full = apply(fx.before.iter().chain(&fx.after).flatten());
    let variants = (0..good.len())
        .map(|i| {
            let mut b = good.clone();
            b[i] ^= 0xA5;
            (format!("flip at {i}"), b, true)
        })
        .chain((0..good.len()).map(|t| {
            let boundary = t <= JOURNAL_HEADER || ranges.iter().any(|r| r.end == t);
            (format!("cut at {t}"), good[..t].to_vec(), !boundary)
        }));
    for (what, bytes, detectable) in variants {
        let dir = damaged_store(&fx, name, &bytes);
        let path = dir.path().join(name);
        let (seen, checked) = read_twice(dir.path(), &what);
        // The current generation does not read it: the state is whole and the open clean.
        assert_eq!(state_of(&seen), full, "{what}");
        assert!(seen.report.is_clean(), "{what}: {:?}", seen.report);
        if detectable {
            assert!(
                reported_at(&checked, &path),
                "{what}: check did not report it"
            );
        }
    }
}

#[test]
fn every_flip_and_cut_of_the_manifest_reads_the_files_and_is_reported() {
    let fx = fixture();
    let name = "MANIFEST";
    let good = &fx.files[name];
    let full = apply(fx.before.iter().chain(&fx.after).flatten());
    let variants = (0..good.len())
        .map(|i| {
            let mut b = good.clone();
            b[i] ^= 0xA5;
            (format!("flip at {i}"), b)
        })
        .chain((0..good.len()).map(|t| (format!("cut at {t}"), good[..t].to_vec())));
    for (what, bytes) in variants {
        let dir = damaged_store(&fx, name, &bytes);
        let (seen, _) = read_twice(dir.path(), &what);
        assert_eq!(state_of(&seen), full, "{what}");
        assert!(
            reported_at(&seen, &dir.path().join(name)),
            "{what}: not reported"
        );
    }
}

#[test]
fn a_damaged_snapshot_and_manifest_together_still_keep_every_record() {
    let fx = fixture();
    let mut snap = fx.files["snapshot-000002.bin"].clone();
    snap[40] ^= 0xFF;
    let dir = damaged_store(&fx, "snapshot-000002.bin", &snap);
    std::fs::write(dir.path().join("MANIFEST"), b"garbage").unwrap();
    let (seen, _) = read_twice(dir.path(), "both");
    let full = apply(fx.before.iter().chain(&fx.after).flatten());
    assert_eq!(state_of(&seen), full);
    let paths: Vec<PathBuf> = seen.report.problems().map(|p| p.path.clone()).collect();
    assert!(paths.contains(&dir.path().join("MANIFEST")), "{paths:?}");
    assert!(
        paths.contains(&dir.path().join("snapshot-000002.bin")),
        "{paths:?}"
    );
}
