//! The engine's PDQ index file beside its snapshot: a reopen loads it and answers exactly as a
//! rebuild does; a missing, damaged or stale file is never used (the index is rebuilt and the
//! reason reported).

use std::path::{Path, PathBuf};

use referral_dedup::engine::{
    Engine, EngineConfig, Fingerprint, Match, MediaFingerprint, PdqIndexFile, Referral,
};
use referral_dedup::hashes::{Hash64, HashBundle, Pdq};

use crate::splitmix::SplitMix;

/// Pictures around a few originals (so lookups find several entries each).
fn pictures(rng: &mut SplitMix, originals: &[Pdq], n: usize) -> Vec<Fingerprint> {
    (0..n)
        .map(|_| {
            let mut pdq = originals[rng.below(originals.len() as u64) as usize];
            for _ in 0..rng.below(40) {
                let bit = rng.below(256) as usize;
                pdq.0[bit / 64] ^= 1 << (bit % 64);
            }
            let hashes = HashBundle {
                pdq: Some(pdq),
                pdq_quality: Some(90),
                dhash: Some(Hash64(rng.next())),
                phash: Some(Hash64(rng.next())),
                ..HashBundle::default()
            };
            let media = MediaFingerprint {
                bytes: 1,
                width: None,
                height: None,
                hashes,
                pdq_variants: Vec::new(),
                query_pdq: Vec::new(),
                query_second: Vec::new(),
                query_regions: Vec::new(),
                stored_regions: Vec::new(),
            };
            Fingerprint {
                media: Some(media),
                ..Fingerprint::default()
            }
        })
        .collect()
}

fn record(engine: &Engine, fps: &[Fingerprint], tag: &str) {
    for (i, fp) in fps.iter().enumerate() {
        engine
            .record_fingerprint(&Referral::new(format!("{tag}{i}")), fp)
            .unwrap();
    }
}

fn answers(engine: &Engine, queries: &[Fingerprint]) -> Vec<Vec<Match>> {
    queries
        .iter()
        .map(|q| {
            let mut m = engine.matches(q);
            m.sort_by_key(|m| (m.entry, m.kind.rank()));
            m
        })
        .collect()
}

fn index_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pdq-index-"))
        })
        .collect();
    assert_eq!(files.len(), 1, "one index file: {files:?}");
    files.pop().unwrap()
}

fn open(dir: &Path) -> Engine {
    Engine::open(dir, EngineConfig::default()).unwrap()
}

/// A database with a snapshot (and its index file) and `after` referrals journaled after it;
/// returns the queries and their answers before closing.
fn database(dir: &Path, seed: u64, after: usize) -> (Vec<Fingerprint>, Vec<Vec<Match>>) {
    let mut rng = SplitMix(seed);
    let originals: Vec<Pdq> = (0..6)
        .map(|_| Pdq([rng.next(), rng.next(), rng.next(), rng.next()]))
        .collect();
    let engine = open(dir);
    record(&engine, &pictures(&mut rng, &originals, 400), "a");
    engine.snapshot().unwrap();
    record(&engine, &pictures(&mut rng, &originals, after), "b");
    let queries = pictures(&mut rng, &originals, 40);
    let expected = answers(&engine, &queries);
    assert!(expected.iter().map(Vec::len).sum::<usize>() > 100);
    (queries, expected)
}

#[test]
fn a_reopen_loads_the_index_file_and_answers_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let (queries, expected) = database(dir.path(), 1, 50);
    let engine = open(dir.path());
    match engine.pdq_index_file() {
        PdqIndexFile::Loaded { codes, .. } => assert_eq!(*codes, 400),
        other => panic!("not loaded: {other:?}"),
    }
    assert_eq!(answers(&engine, &queries), expected);
    // A later snapshot replaces the file (one index file at a time) and is loaded in turn.
    engine.snapshot().unwrap();
    drop(engine);
    let engine = open(dir.path());
    assert!(matches!(
        engine.pdq_index_file(),
        PdqIndexFile::Loaded { codes: 450, .. }
    ));
    assert_eq!(answers(&engine, &queries), expected);
    index_file(dir.path());
}

#[test]
fn missing_damaged_or_stale_index_files_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (queries, expected) = database(dir.path(), 2, 0);
    let file = index_file(dir.path());
    let good = std::fs::read(&file).unwrap();
    let rebuilt = |why: &str| {
        let engine = open(dir.path());
        match engine.pdq_index_file() {
            PdqIndexFile::Rebuilt { reason, .. } => eprintln!("{why}: {reason}"),
            other => panic!("{why}: used {other:?}"),
        }
        assert_eq!(answers(&engine, &queries), expected, "{why}");
    };
    std::fs::remove_file(&file).unwrap();
    rebuilt("missing");
    // A flipped byte anywhere: the header (generation, bound, digest) or the index bytes.
    for offset in [0, 9, 13, 21, 30, 40, 70, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[offset] ^= 0x10;
        std::fs::write(&file, &bad).unwrap();
        rebuilt(&format!("byte {offset} flipped"));
    }
    std::fs::write(&file, &good[..good.len() / 3]).unwrap();
    rebuilt("truncated");
    std::fs::write(&file, &good).unwrap();
    assert!(matches!(
        open(dir.path()).pdq_index_file(),
        PdqIndexFile::Loaded { .. }
    ));
}

#[test]
fn an_index_file_of_another_state_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let (queries, _) = database(dir.path(), 3, 0);
    // Deleting an entry covered by the file makes it stale: the deleted entry must not match.
    let engine = open(dir.path());
    let victim = engine
        .matches(&queries[0])
        .first()
        .expect("the first query matches something")
        .entry;
    assert!(engine.delete(victim).unwrap());
    let expected = answers(&engine, &queries);
    drop(engine);
    let engine = open(dir.path());
    assert!(matches!(
        engine.pdq_index_file(),
        PdqIndexFile::Rebuilt { .. }
    ));
    assert_eq!(answers(&engine, &queries), expected);
    assert!(engine
        .matches(&queries[0])
        .iter()
        .all(|m| m.entry != victim));
    // The file of an older snapshot, renamed to the new one's name, is refused too.
    let old = std::fs::read(index_file(dir.path())).unwrap();
    engine.snapshot().unwrap();
    drop(engine);
    std::fs::write(index_file(dir.path()), old).unwrap();
    let engine = open(dir.path());
    assert!(matches!(
        engine.pdq_index_file(),
        PdqIndexFile::Rebuilt { .. }
    ));
    assert_eq!(answers(&engine, &queries), expected);
}

#[test]
fn the_cli_says_when_an_index_file_was_not_used_and_stays_quiet_when_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    database(dir.path(), 4, 0);
    let file = index_file(dir.path());
    let check = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_refdedup"))
            .args(["check", "--db"])
            .arg(dir.path())
            .args(["--url", "https://example.org/a"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    assert!(!check().contains("was not used"));
    let mut bad = std::fs::read(&file).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    std::fs::write(&file, &bad).unwrap();
    let stderr = check();
    assert!(
        stderr.contains("was not used") && stderr.contains("rebuilt"),
        "{stderr}"
    );
    std::fs::remove_file(&file).unwrap();
    assert!(!check().contains("was not used"));
}
