//! The luma grids of recorded referrals are stored with them, so the content check still
//! separates different pictures through one shared frame after the store is closed and
//! reopened (every `refdedup check --db` call is such a reopen).

use crate::precision_harness as precision;

use precision::{kind_backlog, Generated, Kind, Split};
use referral_dedup::engine::{Engine, EngineConfig, MatchRule, Referral, VerdictKind};
use referral_dedup::matching::pair_match;

/// Two uploads of different pictures through one shared frame that the PDQ-only rule (no
/// content check) merges and the default rule keeps apart, and a re-upload of the first.
fn shared_frame_pair() -> (Generated, Generated, Vec<u8>) {
    let pics: Vec<_> = (0..12)
        .map(|i| precision::match_quality::scene(7000 + i, (300, 420)))
        .collect();
    let refs = kind_backlog(Kind::Page, Split::Tune, &pics, 4);
    let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    let media = |g: &Generated| {
        engine
            .fingerprint(&Referral::new(&g.id).with_media_bytes(g.bytes.clone()))
            .unwrap()
            .media
            .unwrap()
    };
    let unchecked = MatchRule {
        content: None,
        low_quality: None,
        ..MatchRule::default()
    };
    let prints: Vec<_> = refs.iter().map(media).collect();
    for (i, a) in refs.iter().enumerate() {
        for (j, b) in refs.iter().enumerate() {
            if a.item == b.item {
                continue;
            }
            let merged_without_check = pair_match(&prints[j], &prints[i], &unchecked).is_some();
            let apart_with_check =
                pair_match(&prints[j], &prints[i], &MatchRule::default()).is_none();
            if !(merged_without_check && apart_with_check) {
                continue;
            }
            // The same picture through the same frame, uploaded again: another upload of `a`'s
            // item in the backlog.
            if let Some(copy) = refs
                .iter()
                .find(|c| c.item == a.item && c.id != a.id && c.bytes != a.bytes)
            {
                if pair_match(&media(copy), &prints[i], &MatchRule::default()).is_some() {
                    return (a.clone(), b.clone(), copy.bytes.clone());
                }
            }
        }
    }
    panic!("no pair of different pictures that only the content check keeps apart");
}

fn check(dir: &std::path::Path, id: &str, bytes: &[u8]) -> VerdictKind {
    let engine = Engine::open(dir, EngineConfig::default()).unwrap();
    let v = engine
        .check(&Referral::new(id).with_media_bytes(bytes.to_vec()))
        .unwrap();
    v.kind
}

#[test]
fn shared_frames_stay_apart_after_a_reopen_and_copies_still_match() {
    let (first, other, copy) = shared_frame_pair();
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path(), EngineConfig::default()).unwrap();
        let id = engine
            .record(&Referral::new(&first.id).with_media_bytes(first.bytes.clone()))
            .unwrap();
        assert!(!engine.entry(id).unwrap().regions.is_empty());
        // In the recording process: apart, and the copy matches.
        let v = engine
            .check(&Referral::new("q").with_media_bytes(other.bytes.clone()))
            .unwrap();
        assert_eq!(v.kind, VerdictKind::New);
    }
    // Reopened from the journal: the grids came back with the entry.
    assert_eq!(check(dir.path(), "q", &other.bytes), VerdictKind::New);
    assert_eq!(check(dir.path(), "c", &copy), VerdictKind::Duplicate);
    // And from a snapshot.
    Engine::open(dir.path(), EngineConfig::default())
        .unwrap()
        .snapshot()
        .unwrap()
        .unwrap();
    assert_eq!(check(dir.path(), "q", &other.bytes), VerdictKind::New);
    assert_eq!(check(dir.path(), "c", &copy), VerdictKind::Duplicate);

    // The same entry stored without its grids (as before journal 3): the reopened engine has
    // only PDQ distances for it and merges the different picture. This is what the stored
    // grids prevent.
    let without = tempfile::tempdir().unwrap();
    {
        let source = Engine::in_memory(EngineConfig::default()).unwrap();
        let id = source
            .record(&Referral::new(&first.id).with_media_bytes(first.bytes.clone()))
            .unwrap();
        let mut entry = (*source.entry(id).unwrap()).clone();
        entry.regions.clear();
        let engine = Engine::open(without.path(), EngineConfig::default()).unwrap();
        assert_eq!(engine.record_referral_entries([&entry]).unwrap(), 1);
    }
    assert_eq!(
        check(without.path(), "q", &other.bytes),
        VerdictKind::Duplicate
    );
}
