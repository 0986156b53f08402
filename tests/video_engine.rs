//! Video through the engine API: a known video matches an edited copy with time ranges, a
//! different video stays new, video referrals become duplicates, everything survives a
//! snapshot and a reopen, deletes stop matching, the vPDQ rule is selectable, media bytes take
//! the same path, and batch dedup clusters video copies. Videos are made here with `ffmpeg`
//! (tiny automata, 160x120, 12 s); the tests skip with a notice when it is absent
//! (scripts/ensure_ffmpeg.sh installs it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use referral_dedup::batch::{dedup_backlog, BatchOptions};
use referral_dedup::engine::{
    Engine, EngineConfig, Referral, VerdictKind, VideoEvidence, VideoRule,
};
use referral_dedup::hashes::HashKind;
use referral_dedup::store::EntrySource;
use referral_dedup::video::{FrameVariant, VideoHash, VpdqRule};

fn ffmpeg_present() -> bool {
    let ok = Command::new("ffmpeg").arg("-version").output().is_ok()
        && Command::new("ffprobe").arg("-version").output().is_ok();
    if !ok {
        eprintln!(
            "skipping: ffmpeg/ffprobe not installed (scripts/ensure_ffmpeg.sh installs them)"
        );
    }
    ok
}

fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg could not make {}", out.display());
}

/// The generated videos, made once per test run: `known.mp4` (a 12 s automaton),
/// `copy.mp4` (seconds 2..10 of it, scaled to 128x96, re-encoded at low quality) and
/// `other.mp4` (another automaton).
pub(crate) struct Videos {
    _dir: tempfile::TempDir,
    pub known: PathBuf,
    pub copy: PathBuf,
    pub other: PathBuf,
}

pub(crate) fn videos() -> Option<&'static Videos> {
    static VIDEOS: OnceLock<Option<Videos>> = OnceLock::new();
    VIDEOS
        .get_or_init(|| {
            if !ffmpeg_present() {
                return None;
            }
            let dir = tempfile::tempdir().unwrap();
            let known = dir.path().join("known.mp4");
            let copy = dir.path().join("copy.mp4");
            let other = dir.path().join("other.mp4");
            let life = |seed: u32| {
                format!("life=s=160x120:mold=10:r=10:ratio=0.1:death_color=#C83232:life_color=#00ff00:seed={seed}")
            };
            let a = life(7);
            ffmpeg(&["-f", "lavfi", "-i", &a, "-t", "12", "-pix_fmt", "yuv420p"], &known);
            let copy_args = [
                "-i", known.to_str().unwrap(), "-ss", "2", "-t", "8", "-vf", "scale=128:96",
                "-c:v", "libx264", "-crf", "32", "-pix_fmt", "yuv420p",
            ];
            ffmpeg(&copy_args, &copy);
            let b = life(99);
            ffmpeg(&["-f", "lavfi", "-i", &b, "-t", "12", "-pix_fmt", "yuv420p"], &other);
            Some(Videos {
                _dir: dir,
                known,
                copy,
                other,
            })
        })
        .as_ref()
}

fn clip_evidence(
    v: &referral_dedup::engine::Verdict,
    source: EntrySource,
) -> Option<(String, VideoEvidence)> {
    v.evidence
        .iter()
        .find(|m| m.source == source && m.kind == HashKind::Vpdq)
        .map(|m| {
            (
                m.external_id.clone(),
                m.video.expect("a video match carries evidence"),
            )
        })
}

#[test]
fn a_known_video_matches_its_edited_copy_with_time_ranges_and_survives_a_reopen() {
    let Some(v) = videos() else { return };
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path(), EngineConfig::default()).unwrap();
        let id = engine
            .add_known_file(&v.known, None, Some("list-a"))
            .unwrap();
        let entry = engine.entry(id).unwrap();
        let stored = entry
            .video
            .as_ref()
            .expect("a known video stores frame codes");
        assert!(stored.plain.frames.len() >= 100, "sampled ten a second");
        assert_eq!(
            stored.crops.len(),
            3,
            "two central crops and the central region"
        );

        let verdict = engine
            .check(&Referral::new("q").with_media_path(&v.copy))
            .unwrap();
        assert_eq!(verdict.kind, VerdictKind::Known);
        let (external, evidence) = clip_evidence(&verdict, EntrySource::Known).unwrap();
        assert_eq!(external, "known.mp4");
        let VideoEvidence::Clip(m) = evidence else {
            panic!("{evidence:?}")
        };
        // The copy is seconds 2..10 of the known video.
        assert!(m.query_start < 1.0 && m.query_end > 6.0, "{m:?}");
        assert!((m.known_start - (2.0 + m.query_start)).abs() < 1.5, "{m:?}");
        assert!((m.rate - 1.0).abs() < 1e-9);
        assert!(verdict.fingerprint.video.is_some());

        let other = engine
            .check_and_record(&Referral::new("r-other").with_media_path(&v.other))
            .unwrap();
        assert_eq!(other.kind, VerdictKind::New, "{:?}", other.evidence);
        let first = engine
            .check_and_record(&Referral::new("r-copy").with_media_path(&v.copy))
            .unwrap();
        assert_eq!(first.kind, VerdictKind::Known);
        engine.snapshot().unwrap().unwrap();
        // After the snapshot, one more referral only in the journal.
        engine
            .record(&Referral::new("r-known").with_media_path(&v.known))
            .unwrap();
    }
    let engine = Engine::open(dir.path(), EngineConfig::default()).unwrap();
    assert_eq!(engine.len(), 4);
    let again = engine
        .check(&Referral::new("q2").with_media_path(&v.copy))
        .unwrap();
    assert_eq!(again.kind, VerdictKind::Known);
    let (external, _) = clip_evidence(&again, EntrySource::Referral).expect("the recorded copy");
    assert!(external == "r-copy" || external == "r-known", "{external}");
    // The other video matches only itself.
    let other = engine
        .check(&Referral::new("q3").with_media_path(&v.other))
        .unwrap();
    assert_eq!(other.kind, VerdictKind::Duplicate);
    assert!(
        other.evidence.iter().all(|m| m.external_id == "r-other"),
        "{:?}",
        other.evidence
    );

    // Deleting the known video stops it matching, also after a reopen.
    let known = engine.entries_by_external_id(EntrySource::Known, "known.mp4")[0];
    assert!(engine.delete(known).unwrap());
    let after = engine
        .check(&Referral::new("q4").with_media_path(&v.copy))
        .unwrap();
    assert_eq!(after.kind, VerdictKind::Duplicate);
    drop(engine);
    let engine = Engine::open_read_only(dir.path(), EngineConfig::default()).unwrap();
    let after = engine
        .check(&Referral::new("q5").with_media_path(&v.copy))
        .unwrap();
    assert_eq!(after.kind, VerdictKind::Duplicate);
    assert!(after
        .evidence
        .iter()
        .all(|m| m.source == EntrySource::Referral));
}

#[test]
fn video_lists_bytes_and_the_vpdq_rule() {
    let Some(v) = videos() else { return };
    // A known video from its vPDQ list (what `known import` stores), matched by bytes.
    let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    let fp = referral_dedup::video::fingerprint_file(
        &v.known,
        &referral_dedup::video::VpdqOptions {
            seconds_per_hash: 0.1,
            ..Default::default()
        },
    )
    .unwrap();
    let list = VideoHash::parse_reference(&fp.plain.to_reference()).unwrap();
    let video = referral_dedup::video::StoredVideo::from_vpdq(list);
    engine
        .add_known_video(video.clone(), "from-list", None)
        .unwrap();
    assert_eq!(engine.known_videos()[0].2, video);
    let bytes = std::fs::read(&v.copy).unwrap();
    let verdict = engine
        .check(&Referral::new("b").with_media_bytes(bytes))
        .unwrap();
    assert_eq!(verdict.kind, VerdictKind::Known, "{:?}", verdict.evidence);
    let other = engine
        .check(&Referral::new("o").with_media_path(&v.other))
        .unwrap();
    assert_eq!(other.kind, VerdictKind::New);

    // The reference vPDQ rule, chosen in the configuration: the same video matches (by its
    // frames as well as its digests); another video does not.
    let mut config = EngineConfig::default();
    config.video.rule = VideoRule::Vpdq(VpdqRule::default());
    let engine = Engine::in_memory(config).unwrap();
    engine
        .record(&Referral::new("first").with_media_path(&v.known))
        .unwrap();
    let same = engine
        .check(&Referral::new("same").with_media_path(&v.known))
        .unwrap();
    let m = same
        .evidence
        .iter()
        .find(|m| m.kind == HashKind::Vpdq)
        .expect("vPDQ match");
    assert!(matches!(m.video, Some(VideoEvidence::Vpdq(_))));
    let other = engine
        .check(&Referral::new("o").with_media_path(&v.other))
        .unwrap();
    assert_eq!(other.kind, VerdictKind::New);
}

#[test]
fn batch_dedup_clusters_video_copies() {
    let Some(v) = videos() else { return };
    let dir = tempfile::tempdir().unwrap();
    let backlog = dir.path().join("backlog.jsonl");
    let line =
        |id: &str, p: &Path| format!("{{\"id\":\"{id}\",\"media\":{:?}}}\n", p.to_str().unwrap());
    let text = line("a", &v.known) + &line("b", &v.other) + &line("c", &v.copy);
    std::fs::write(&backlog, text).unwrap();
    let report = dedup_backlog(
        &backlog,
        None,
        &EngineConfig::default(),
        &BatchOptions::default(),
    )
    .unwrap();
    let mut clusters: Vec<Vec<String>> =
        report.clusters.iter().map(|c| c.members.clone()).collect();
    clusters.sort();
    assert_eq!(
        clusters,
        vec![
            vec!["a".to_string(), "c".to_string()],
            vec!["b".to_string()]
        ]
    );
}

#[test]
fn a_copy_with_a_corner_logo_matches_by_the_central_region() {
    let Some(v) = videos() else { return };
    let work = tempfile::tempdir().unwrap();
    let logo = work.path().join("logo.mp4");
    // An opaque box over a corner (22% x 14% of the frame) moves every whole-frame code.
    let args = [
        "-i",
        v.known.to_str().unwrap(),
        "-vf",
        "drawbox=x=iw*0.05:y=ih*0.05:w=iw*0.22:h=ih*0.14:color=white@0.9:t=fill",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
    ];
    ffmpeg(&args, &logo);
    let db = tempfile::tempdir().unwrap();
    let engine = Engine::open(db.path(), EngineConfig::default()).unwrap();
    engine
        .add_known_file(&v.known, None, Some("list-a"))
        .unwrap();
    engine
        .add_known_file(&v.other, None, Some("list-a"))
        .unwrap();
    let verdict = engine
        .check(&Referral::new("q").with_media_path(&logo))
        .unwrap();
    assert_eq!(verdict.kind, VerdictKind::Known, "{:?}", verdict.evidence);
    let (external, evidence) = clip_evidence(&verdict, EntrySource::Known).unwrap();
    assert_eq!(external, "known.mp4");
    let VideoEvidence::Clip(m) = evidence else {
        panic!("{evidence:?}")
    };
    assert_eq!(m.variant, FrameVariant::QueryCropped, "{m:?}");
    assert!(
        verdict
            .evidence
            .iter()
            .all(|m| m.external_id == "known.mp4"),
        "{:?}",
        verdict.evidence
    );
}
