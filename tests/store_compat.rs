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
    encode_journal_append, encode_snapshot, EntryRecord, EntrySource, Record, SnapshotColumns,
    Store, StoreError, StoreOptions, JOURNAL_VERSION, MANIFEST_VERSION, MIN_JOURNAL_VERSION,
    MIN_MANIFEST_VERSION, MIN_SNAPSHOT_VERSION, SNAPSHOT_VERSION,
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
    assert_eq!(JOURNAL_VERSION, 4);
    assert_eq!(SNAPSHOT_VERSION, 3);
    let mut state = State::default();
    apply(&before_snapshot(JOURNAL_VERSION), &mut state);
    let snapshot = encode_snapshot(state.0.values(), &resolutions(&state), 2).unwrap();
    let dir = fixture_dir(JOURNAL_VERSION);
    assert!(std::fs::read(dir.join("snapshot-000002.bin")).unwrap() == snapshot);
    let journal = encode_journal_append(2, &after_snapshot(JOURNAL_VERSION)).unwrap();
    assert!(std::fs::read(dir.join("journal-000002.log")).unwrap() == journal);
    // Older fixtures are frozen bytes: `every_fixture_version_opens_to_the_same_state` reads
    // each to the records it was written from.
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

/// The snapshot `bytes` (format 3) with its section table rebuilt: `edit` may change any
/// section's bytes (by table row) and append rows `(id, bytes)`; checksums, offsets, the
/// section count and the header checksum are recomputed, so only the edit differs.
fn rebuild_snapshot(bytes: &[u8], edit: impl FnOnce(&mut Vec<(u32, Vec<u8>)>)) -> Vec<u8> {
    const HEADER: usize = 64;
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let le64 = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().unwrap());
    let count = le32(&bytes[12..]) as usize;
    let mut sections: Vec<(u32, Vec<u8>)> = (0..count)
        .map(|row| {
            let at = HEADER + row * 24;
            let (off, len) = (
                le64(&bytes[at + 8..]) as usize,
                le64(&bytes[at + 16..]) as usize,
            );
            (le32(&bytes[at..]), bytes[off..off + len].to_vec())
        })
        .collect();
    edit(&mut sections);
    let mut header = bytes[..HEADER].to_vec();
    header[12..16].copy_from_slice(&(sections.len() as u32).to_le_bytes());
    let crc = crc32fast::hash(&header[..60]);
    header[60..64].copy_from_slice(&crc.to_le_bytes());
    let mut table = Vec::new();
    let mut offset = HEADER + sections.len() * 24 + 8;
    for (id, data) in &sections {
        table.extend_from_slice(&id.to_le_bytes());
        table.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
        table.extend_from_slice(&(offset as u64).to_le_bytes());
        table.extend_from_slice(&(data.len() as u64).to_le_bytes());
        offset = (offset + data.len()).next_multiple_of(8);
    }
    let crc = crc32fast::hash(&table);
    table.extend_from_slice(&crc.to_le_bytes());
    table.extend_from_slice(&[0; 4]);
    let mut out = header;
    out.extend_from_slice(&table);
    for (_, data) in &sections {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(8), 0);
    }
    out
}

/// Opening `dir` fails with `NewerFeature` naming `file`, and leaves every file as it was.
fn refused_as_newer(dir: &Path, file: &str) {
    let before: Vec<Vec<u8>> = ["MANIFEST", "snapshot-000002.bin", "journal-000002.log"]
        .iter()
        .map(|n| std::fs::read(dir.join(n)).unwrap())
        .collect();
    for writable in [false, true] {
        let err = if writable {
            Store::open(dir, StoreOptions::default())
                .map(|_| ())
                .unwrap_err()
        } else {
            Store::read_only(dir).map(|_| ()).unwrap_err()
        };
        match &err {
            StoreError::NewerFeature { path, reason } => {
                assert!(path.ends_with(file), "{path:?}");
                assert!(reason.contains("does not know"), "{reason}");
            }
            other => panic!("expected NewerFeature, got {other:?}"),
        }
        assert!(
            err.to_string().contains("written by a newer build"),
            "{err}"
        );
    }
    let after: Vec<Vec<u8>> = ["MANIFEST", "snapshot-000002.bin", "journal-000002.log"]
        .iter()
        .map(|n| std::fs::read(dir.join(n)).unwrap())
        .collect();
    assert!(before == after, "a refused store was changed");
    assert!(!dir.join("damaged").exists());
}

#[test]
fn a_snapshot_with_the_section_of_an_unknown_hash_kind_is_refused_not_repaired() {
    let dir = copy_fixture(JOURNAL_VERSION);
    let path = dir.path().join("snapshot-000002.bin");
    let good = std::fs::read(&path).unwrap();
    // The rebuild itself is faithful: no edit gives the same file.
    assert!(rebuild_snapshot(&good, |_| {}) == good);
    // Id 4000: far beyond the sections of hash kinds this build may know (64 and up).
    let newer = rebuild_snapshot(&good, |s| s.push((4000, vec![0; 8])));
    match SnapshotColumns::decode(newer.clone(), "s".into()) {
        Err(StoreError::NewerFeature { reason, .. }) => assert!(reason.contains("section 4000")),
        other => panic!("{other:?}"),
    }
    std::fs::write(&path, &newer).unwrap();
    refused_as_newer(dir.path(), "snapshot-000002.bin");
    // A known section out of place stays damage (the previous generation is read instead).
    let moved = rebuild_snapshot(&good, |s| {
        let ids = s.remove(0);
        s.push(ids);
    });
    assert!(matches!(
        SnapshotColumns::decode(moved, "s".into()),
        Err(StoreError::Corruption(_))
    ));
}

#[test]
fn a_snapshot_row_flagged_with_an_unknown_hash_kind_is_refused() {
    let good = std::fs::read(fixture_dir(JOURNAL_VERSION).join("snapshot-000002.bin")).unwrap();
    // Row 0's flags (section 2, u32 per row since snapshot version 3) with bit 31 set (the last
    // bit a hash kind may take: keep it free for this test).
    let newer = rebuild_snapshot(&good, |s| s[1].1[3] |= 1 << 7);
    assert!(matches!(
        SnapshotColumns::decode(newer, "s".into()),
        Err(StoreError::NewerFeature { .. })
    ));
    // Bit 14 is no hash kind's: damage.
    let damaged = rebuild_snapshot(&good, |s| s[1].1[1] |= 1 << 6);
    assert!(matches!(
        SnapshotColumns::decode(damaged, "s".into()),
        Err(StoreError::Corruption(_))
    ));
}

#[test]
fn a_journal_record_with_an_unknown_hash_kind_is_refused_not_truncated() {
    let dir = copy_fixture(JOURNAL_VERSION);
    let path = dir.path().join("journal-000002.log");
    let mut bytes = std::fs::read(&path).unwrap();
    // An intact insert (id 900, referral, external id "x") whose presence word has bit 31.
    let mut payload = vec![1u8];
    payload.extend_from_slice(&900u32.to_le_bytes());
    payload.push(0);
    payload.extend_from_slice(&(1u32 << 31).to_le_bytes());
    payload.extend_from_slice(&1u32.to_le_bytes());
    payload.push(b'x');
    let len = (payload.len() as u32).to_le_bytes();
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len);
    hasher.update(&payload);
    bytes.extend_from_slice(&len);
    bytes.extend_from_slice(&hasher.finalize().to_le_bytes());
    bytes.extend_from_slice(&payload);
    std::fs::write(&path, &bytes).unwrap();
    refused_as_newer(dir.path(), "journal-000002.log");
}
