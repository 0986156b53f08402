//! Old-format compatibility: one committed store directory per format version
//! (`tests/data/store/v<N>/`: MANIFEST, a snapshot and a journal written by that version) must
//! keep opening to the same state. Regenerate the current version's fixture, only when its
//! format version is bumped, with
//! `cargo test --test integration store_compat:: -- --ignored write_current_fixture`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use referral_dedup::entry::RegionGrid;
use referral_dedup::hashes::{Blake3, EntryId, Hash64, Md5, Pdq, Sha256};
use referral_dedup::store::{
    encode_journal, encode_journal_append, encode_snapshot, EntryRecord, EntrySource, Record,
    SnapshotColumns, Store, StoreError, StoreOptions, JOURNAL_VERSION, MANIFEST_VERSION,
    MIN_JOURNAL_VERSION, MIN_MANIFEST_VERSION, MIN_SNAPSHOT_VERSION, SNAPSHOT_VERSION,
};
use referral_dedup::video::{FrameHash, StoredVideo, VideoHash};

fn fixture_dir(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/store/v{version}"))
}

/// The fixture's entry `i` as a store of journal `version` holds it (regions and video since 3).
fn entry(i: u32, version: u32) -> EntryRecord {
    let source = if i.is_multiple_of(2) {
        EntrySource::Known
    } else {
        EntrySource::Referral
    };
    let mut e = EntryRecord::new(EntryId(i * 3), source, format!("item-{i}"));
    let x = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    if !i.is_multiple_of(3) {
        e.hashes.pdq = Some(Pdq([x, !x, x.rotate_left(13), x ^ 0xff]));
        e.hashes.pdq_quality = Some((i * 7 % 101) as u8);
    }
    if i % 4 != 1 {
        e.hashes.dhash = Some(Hash64(x.rotate_left(3)));
        e.hashes.phash = Some(Hash64(x.rotate_left(5)));
    }
    if i.is_multiple_of(5) {
        e.hashes.blake3 = Some(Blake3([i as u8; 32]));
        e.hashes.sha256 = Some(Sha256([(i + 1) as u8; 32]));
        e.hashes.md5 = Some(Md5([(i + 2) as u8; 16]));
        e.label = Some(format!("list {}", i / 5));
    }
    if i % 2 == 1 {
        e.url_key = Some(format!("youtube:video/{i:08}"));
        e.received_at = Some(format!("2026-11-{:02}T10:00:00Z", 1 + i % 28));
    }
    if i % 7 == 3 {
        e.hashes.extra_pdq = vec![Pdq([x; 4]), Pdq([!x; 4])];
    }
    if version >= 3 && i % 3 == 1 {
        e.regions = (0..1 + i % 2)
            .map(|k| RegionGrid {
                code: Pdq([x.rotate_left(k), x, !x, u64::from(k)]),
                cells: std::array::from_fn(|c| (c as u32 * (i + k + 1) % 256) as u8),
            })
            .collect();
    }
    if version >= 3 && i % 6 == 4 {
        let list = |seed: u64, n: u64| VideoHash {
            frames: (0..n)
                .map(|k| FrameHash {
                    frame_number: k * 3,
                    quality: ((k * 29 + seed) % 101) as u8,
                    pdq: Pdq([x ^ seed, k, !k, seed]),
                    timestamp: k as f64 * 0.1,
                })
                .collect(),
        };
        e.video = Some(Box::new(StoredVideo {
            plain: list(1, 3 + u64::from(i % 5)),
            trimmed: if i % 12 == 4 {
                list(2, 3)
            } else {
                VideoHash::default()
            },
            inside_bars: VideoHash::default(),
            crops: if i % 12 == 4 {
                vec![list(3, 2), list(4, 2)]
            } else {
                Vec::new()
            },
            tmk: None,
        }));
    }
    e
}

/// Records before the fixture's snapshot.
fn before_snapshot(version: u32) -> Vec<Record> {
    let mut out: Vec<Record> = (0..40).map(|i| Record::Insert(entry(i, version))).collect();
    out.push(Record::Delete(EntryId(6)));
    out.push(Record::Resolve {
        short_key: "bit.ly/abc".into(),
        target: "https://youtube.com/watch?v=xyz".into(),
    });
    out
}

/// Records after it, in the journal.
fn after_snapshot(version: u32) -> Vec<Record> {
    let mut replaced = entry(5, version);
    replaced.label = Some("re-labelled".into());
    vec![
        Record::Insert(entry(40, version)),
        Record::Insert(replaced),
        Record::Delete(EntryId(9)),
        Record::Resolve {
            short_key: "bit.ly/abc".into(),
            target: "https://youtube.com/watch?v=changed".into(),
        },
        Record::Resolve {
            short_key: "t.co/Zz".into(),
            target: "https://x.com/a/status/1".into(),
        },
    ]
}

type State = (BTreeMap<EntryId, EntryRecord>, BTreeMap<String, String>);

fn apply(records: &[Record], state: &mut State) {
    for r in records {
        match r {
            Record::Insert(e) => {
                state.0.insert(e.id, e.clone());
            }
            Record::Delete(id) => {
                state.0.remove(id);
            }
            Record::Resolve { short_key, target } => {
                state.1.insert(short_key.clone(), target.clone());
            }
        }
    }
}

fn resolutions(state: &State) -> Vec<(String, String)> {
    state
        .1
        .iter()
        .map(|(a, b)| (a.clone(), b.clone()))
        .collect()
}

fn copy_fixture(version: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["MANIFEST", "snapshot-000002.bin", "journal-000002.log"] {
        std::fs::copy(fixture_dir(version).join(name), dir.path().join(name))
            .unwrap_or_else(|e| panic!("fixture v{version} {name}: {e}"));
    }
    dir
}

/// Opens the fixture of `version` (read-only first, which must change nothing, then for
/// writing) and checks its state; the old store stays writable and reopens clean.
fn fixture_opens_to_the_same_state(version: u32) {
    let dir = copy_fixture(version);
    let mut expected = State::default();
    apply(&before_snapshot(version), &mut expected);
    let snapshot_entries = expected.0.len() as u64;
    apply(&after_snapshot(version), &mut expected);
    let seen = Store::read_only(dir.path()).unwrap();
    let (store, rec) = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(seen, rec, "v{version}: read-only and writer opens differ");
    assert_eq!(rec.report.snapshot_entries, snapshot_entries);
    assert_eq!(
        rec.report.journal_records,
        after_snapshot(version).len() as u64
    );
    assert!(rec.report.is_clean(), "v{version}: {:?}", rec.report);
    assert_eq!(
        rec.entries,
        expected.0.values().cloned().collect::<Vec<_>>()
    );
    assert_eq!(rec.resolutions, resolutions(&expected));
    // The old store stays writable (a version-1 journal is never appended to: a new one starts).
    store.append(&Record::Delete(EntryId(0))).unwrap();
    drop(store);
    let (_s, again) = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert!(again.report.is_clean());
    assert_eq!(again.entries.len(), rec.entries.len() - 1);
    if version < JOURNAL_VERSION {
        assert!(dir.path().join("journal-000003.log").exists());
    }
}

#[test]
fn every_fixture_version_opens_to_the_same_state() {
    for version in MIN_JOURNAL_VERSION..=JOURNAL_VERSION {
        fixture_opens_to_the_same_state(version);
    }
}

#[test]
fn current_encoders_match_the_fixture_of_the_current_version() {
    // If this fails the on-disk format changed: bump the version, keep the old fixture, and
    // write a new one (see the module docs).
    assert_eq!(JOURNAL_VERSION, 3);
    assert_eq!(SNAPSHOT_VERSION, 2);
    let mut state = State::default();
    apply(&before_snapshot(JOURNAL_VERSION), &mut state);
    let snapshot = encode_snapshot(state.0.values(), &resolutions(&state), 2).unwrap();
    let dir = fixture_dir(JOURNAL_VERSION);
    assert!(std::fs::read(dir.join("snapshot-000002.bin")).unwrap() == snapshot);
    let journal = encode_journal_append(2, &after_snapshot(JOURNAL_VERSION)).unwrap();
    assert!(std::fs::read(dir.join("journal-000002.log")).unwrap() == journal);
    // Records without regions keep the record layout of versions 1 and 2: the old journals
    // are today's encoding under their own header version (version 1 without group markers).
    let with_version = |mut bytes: Vec<u8>, version: u32| {
        bytes[8..12].copy_from_slice(&version.to_le_bytes());
        let crc = crc32fast::hash(&bytes[..24]);
        bytes[24..28].copy_from_slice(&crc.to_le_bytes());
        bytes
    };
    let v2 = std::fs::read(fixture_dir(2).join("journal-000002.log")).unwrap();
    let framed = encode_journal_append(2, &after_snapshot(2)).unwrap();
    assert!(v2 == with_version(framed, 2), "v2 journal layout");
    let v1 = std::fs::read(fixture_dir(1).join("journal-000002.log")).unwrap();
    let unframed = encode_journal(2, &after_snapshot(1)).unwrap();
    assert!(v1 == with_version(unframed, 1), "v1 journal layout");
    // Snapshot 1 (fixtures v1 and v2) is the same file in both.
    assert!(
        std::fs::read(fixture_dir(1).join("snapshot-000002.bin")).unwrap()
            == std::fs::read(fixture_dir(2).join("snapshot-000002.bin")).unwrap()
    );
}

/// The format versions each fixture directory's files declare: (journal, snapshot, manifest).
fn fixture_versions(version: u32) -> (u32, u32, u32) {
    let dir = fixture_dir(version);
    let le = |b: &[u8]| u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    let journal = le(&std::fs::read(dir.join("journal-000002.log")).unwrap());
    let snapshot = le(&std::fs::read(dir.join("snapshot-000002.bin")).unwrap());
    let manifest = std::fs::read_to_string(dir.join("MANIFEST")).unwrap();
    let manifest = manifest
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("refdedup-manifest "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    (journal, snapshot, manifest)
}

#[test]
fn every_readable_version_of_every_kind_has_a_fixture_that_opens() {
    // Fixture directories are named by journal version; each also holds the snapshot and
    // MANIFEST versions current when it was written. Every version in each kind's readable
    // range must appear in some fixture, and every fixture opens (above).
    let fixtures: Vec<(u32, u32, u32)> = (MIN_JOURNAL_VERSION..=JOURNAL_VERSION)
        .map(fixture_versions)
        .collect();
    for (dir, (journal, snapshot, manifest)) in
        (MIN_JOURNAL_VERSION..=JOURNAL_VERSION).zip(&fixtures)
    {
        assert_eq!(*journal, dir, "fixture v{dir} journal version");
        assert!((MIN_SNAPSHOT_VERSION..=SNAPSHOT_VERSION).contains(snapshot));
        assert!((MIN_MANIFEST_VERSION..=MANIFEST_VERSION).contains(manifest));
    }
    for v in MIN_SNAPSHOT_VERSION..=SNAPSHOT_VERSION {
        assert!(
            fixtures.iter().any(|f| f.1 == v),
            "no fixture of snapshot v{v}"
        );
    }
    for v in MIN_MANIFEST_VERSION..=MANIFEST_VERSION {
        assert!(
            fixtures.iter().any(|f| f.2 == v),
            "no fixture of MANIFEST v{v}"
        );
    }
}

#[test]
fn versions_outside_each_readable_range_are_typed_errors() {
    // A snapshot declaring a version this build does not read, with a valid header checksum.
    let good = std::fs::read(fixture_dir(JOURNAL_VERSION).join("snapshot-000002.bin")).unwrap();
    for v in [MIN_SNAPSHOT_VERSION - 1, SNAPSHOT_VERSION + 1] {
        let mut b = good.clone();
        b[8..12].copy_from_slice(&v.to_le_bytes());
        let crc = crc32fast::hash(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        match SnapshotColumns::decode(b, "s".into()) {
            Err(StoreError::UnsupportedVersion {
                found,
                supported,
                oldest,
                ..
            }) => {
                assert_eq!(
                    (found, supported, oldest),
                    (v, SNAPSHOT_VERSION, MIN_SNAPSHOT_VERSION)
                )
            }
            other => panic!("snapshot v{v}: {other:?}"),
        }
    }
    // A MANIFEST declaring one, checksum valid: the store does not open (nothing is guessed).
    for v in [MIN_MANIFEST_VERSION - 1, MANIFEST_VERSION + 1] {
        let dir = copy_fixture(JOURNAL_VERSION);
        let mut text = format!("refdedup-manifest {v}\nsnapshot snapshot-000002.bin\njournal 2\n");
        let crc = crc32fast::hash(text.as_bytes());
        text.push_str(&format!("crc32 {crc:08x}\n"));
        std::fs::write(dir.path().join("MANIFEST"), &text).unwrap();
        let err = Store::read_only(dir.path()).unwrap_err();
        assert!(
            matches!(err, StoreError::UnsupportedVersion { found, .. } if found == v),
            "MANIFEST v{v}: {err:?}"
        );
        assert!(err.to_string().contains("reads versions"), "{err}");
    }
}

/// Writes the current version's fixture through the real store (not a test: run on purpose).
#[test]
#[ignore = "writes tests/data/store/v<current>; run only when the format version changes"]
fn write_current_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(tmp.path(), StoreOptions::default()).unwrap();
    store.append_all(&before_snapshot(JOURNAL_VERSION)).unwrap();
    let mut state = State::default();
    apply(&before_snapshot(JOURNAL_VERSION), &mut state);
    store
        .snapshot(state.0.values(), &resolutions(&state))
        .unwrap();
    store.append_all(&after_snapshot(JOURNAL_VERSION)).unwrap();
    drop(store);
    let out = fixture_dir(JOURNAL_VERSION);
    std::fs::create_dir_all(&out).unwrap();
    for name in ["MANIFEST", "snapshot-000002.bin", "journal-000002.log"] {
        std::fs::copy(tmp.path().join(name), out.join(name)).unwrap();
    }
}
