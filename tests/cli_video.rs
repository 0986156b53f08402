//! Video from the command line: `hash` (JSON lines, `--format vpdq`, `--format vpdq-json`,
//! `--seconds-per-hash 0`), `known add`, `check --media` with time ranges, `match`, reopen,
//! `known export --videos` / `known import` round trip, hostile files and a missing `ffmpeg`.
//! Uses the videos `video_engine` generates (skips with a notice without `ffmpeg`), and the
//! sample videos in `../shared/testdata/video` where present.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use referral_dedup::video::VideoHash;
use serde_json::Value;

use crate::video_engine::videos;

fn refdedup() -> Command {
    Command::new(env!("CARGO_BIN_EXE_refdedup"))
}

fn run(args: &[&str]) -> Output {
    refdedup().args(args).output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn hash_prints_video_frames_in_every_format() {
    let Some(v) = videos() else { return };
    let out = run(&["hash", s(&v.known)]);
    assert!(out.status.success());
    let line = &json_lines(&out)[0];
    assert_eq!(line["frames"], 12, "{line}");
    assert_eq!(
        (line["width"].as_u64(), line["height"].as_u64()),
        (Some(160), Some(120))
    );
    assert_eq!(line["vpdq"].as_array().unwrap().len(), 12);
    assert_eq!(line["vpdq"][1]["frame_number"], 10);
    assert!(line["md5"].as_str().unwrap().len() == 32);

    let lines = run(&["hash", "--format", "vpdq", s(&v.known)]);
    assert!(lines.status.success());
    let text = String::from_utf8(lines.stdout).unwrap();
    let reference = VideoHash::parse_reference(&text).unwrap();
    assert_eq!(reference.frames.len(), 12);
    let every = run(&[
        "hash",
        "--format",
        "vpdq-json",
        "--seconds-per-hash",
        "0",
        s(&v.known),
    ]);
    assert!(every.status.success());
    let every = VideoHash::parse_json(&String::from_utf8(every.stdout).unwrap()).unwrap();
    assert_eq!(every.frames.len(), 120, "every frame of 12 s at 10 fps");
    // Frame 10 is the second sampled frame at one a second: the same code in both forms.
    assert_eq!(every.frames[10].pdq, reference.frames[1].pdq);

    // One video at a time for the exchange forms; a negative interval is a usage error.
    let two = run(&["hash", "--format", "vpdq", s(&v.known), s(&v.other)]);
    assert_eq!(two.status.code(), Some(2));
    let bad = run(&["hash", "--seconds-per-hash", "-1", s(&v.known)]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn hash_matches_the_reference_vpdq_of_a_sample_video() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/video");
    let (video, hashes) = (
        dir.join("videos/test-padded-dimensions.mp4"),
        dir.join("vpdq/test-padded-dimensions.txt"),
    );
    if !video.exists() || !hashes.exists() {
        eprintln!("skipping: ../shared/testdata/video is absent");
        return;
    }
    if videos().is_none() {
        return;
    }
    let out = run(&[
        "hash",
        "--format",
        "vpdq",
        "--seconds-per-hash",
        "0",
        s(&video),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = VideoHash::parse_reference(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let theirs = VideoHash::parse_reference(&std::fs::read_to_string(&hashes).unwrap()).unwrap();
    assert_eq!(ours.frames.len(), theirs.frames.len());
    for (a, b) in ours.frames.iter().zip(&theirs.frames) {
        assert_eq!(a.frame_number, b.frame_number);
        if a.quality >= 50 && b.quality >= 50 {
            assert!(a.pdq.distance(&b.pdq) <= 31, "frame {}", a.frame_number);
        }
    }
}

#[test]
fn known_check_match_reopen_and_export_import_round_trip() {
    let Some(v) = videos() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = s(&db);
    let added = run(&["known", "add", "--db", db, "--label", "list-a", s(&v.known)]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(json_lines(&added)[0]["video_frames"].as_u64().unwrap() >= 100);

    // The re-encoded, resized, trimmed copy is known, with the time ranges on both sides.
    let check = run(&["check", "--db", db, "--id", "r-1", "--media", s(&v.copy)]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let verdict = &json_lines(&check)[0];
    assert_eq!(verdict["verdict"], "known", "{verdict}");
    let evidence = &verdict["evidence"][0];
    assert_eq!(
        (evidence["kind"].as_str(), evidence["external_id"].as_str()),
        (Some("vpdq"), Some("known.mp4"))
    );
    let clip = &evidence["video"];
    assert_eq!(clip["rule"], "clip");
    for key in [
        "query_start",
        "query_end",
        "known_start",
        "known_end",
        "rate",
    ] {
        assert!(clip[key].is_number(), "{key}: {clip}");
    }
    assert!(
        clip["known_start"].as_f64().unwrap() > 0.5,
        "the copy starts 2 s in: {clip}"
    );
    assert!(verdict["video"]["frames"].as_u64().unwrap() > 0);

    // A different video is new (dry run: not recorded).
    let other = run(&["check", "--db", db, "--dry-run", "--media", s(&v.other)]);
    assert_eq!(json_lines(&other)[0]["verdict"], "new");

    // Reopened by a new process: the recorded referral and the known video still match.
    let again = run(&["check", "--db", db, "--dry-run", "--media", s(&v.copy)]);
    let evidence = json_lines(&again)[0]["evidence"].clone();
    let ids: Vec<&str> = evidence
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["external_id"].as_str())
        .collect();
    assert!(
        ids.contains(&"known.mp4") && ids.contains(&"r-1"),
        "{ids:?}"
    );

    // `match` lists the clip evidence.
    let matched = run(&["match", "--db", db, s(&v.copy), s(&v.other)]);
    let lines = json_lines(&matched);
    assert_eq!(
        (lines[0]["verdict"].as_str(), lines[1]["verdict"].as_str()),
        (Some("known"), Some("new"))
    );
    assert_eq!(lines[0]["matches"][0]["video"]["rule"], "clip");

    // Export the known video's vPDQ, import it into a fresh database: the copy is known there.
    let exported = dir.path().join("exported");
    let export = run(&["known", "export", "--db", db, "--videos", s(&exported)]);
    assert!(export.status.success());
    let file: PathBuf = exported.join("known.mp4.vpdq");
    let fresh = dir.path().join("fresh");
    let import = run(&[
        "known",
        "import",
        "--db",
        s(&fresh),
        "--id",
        "clip-7",
        s(&file),
    ]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert_eq!(json_lines(&import)[0]["id"], "clip-7");
    let there = run(&["match", "--db", s(&fresh), s(&v.copy)]);
    assert_eq!(json_lines(&there)[0]["matches"][0]["id"], "clip-7");
    let back = dir.path().join("back");
    assert!(
        run(&["known", "export", "--db", s(&fresh), "--videos", s(&back)])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(back.join("clip-7.vpdq")).unwrap()
    );

    // python-threatexchange's JSON list, named .json: imported as one video (id: the file stem).
    let listed = run(&[
        "hash",
        "--format",
        "vpdq-json",
        "--seconds-per-hash",
        "0.1",
        s(&v.known),
    ]);
    let json_file = dir.path().join("speech.json");
    std::fs::write(&json_file, &listed.stdout).unwrap();
    let from_json = dir.path().join("from-json");
    let import = run(&["known", "import", "--db", s(&from_json), s(&json_file)]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert_eq!(json_lines(&import)[0]["id"], "speech");
    let there = run(&["match", "--db", s(&from_json), s(&v.copy), s(&v.other)]);
    let lines = json_lines(&there);
    assert_eq!(lines[0]["matches"][0]["id"], "speech");
    assert_eq!(lines[1]["verdict"], "new");
}

#[test]
fn tmk_files_import_match_and_export_byte_for_byte() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/video");
    let (tmk, same, other) = (
        dir.join("tmk/chair-19-sd-bar.tmk"),
        dir.join("videos/chair-22-sd-sepia-bar.mp4"),
        dir.join("videos/doorknob-hd-no-bar.mp4"),
    );
    if !tmk.exists() || !same.exists() || !other.exists() {
        eprintln!("skipping: ../shared/testdata/video is absent");
        return;
    }
    if videos().is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("db");
    let import = run(&[
        "known",
        "import",
        "--db",
        s(&db),
        "--label",
        "gifct",
        s(&tmk),
    ]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert_eq!(json_lines(&import)[0]["tmk"], true);
    // Another edit of the same footage matches by TMK+PDQF; an unrelated video does not.
    let matched = run(&["match", "--db", s(&db), s(&same), s(&other)]);
    let lines = json_lines(&matched);
    let m = &lines[0]["matches"][0];
    assert_eq!(
        (m["id"].as_str(), m["kind"].as_str()),
        (Some("chair-19-sd-bar"), Some("tmk")),
        "{}",
        lines[0]
    );
    assert!(m["video"]["level2"].as_f64().unwrap() >= 0.7);
    assert_eq!(lines[1]["verdict"], "new", "{}", lines[1]);
    let out = work.path().join("out");
    assert!(
        run(&["known", "export", "--db", s(&db), "--videos", s(&out)])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(out.join("chair-19-sd-bar.tmk")).unwrap(),
        std::fs::read(&tmk).unwrap()
    );
}

#[test]
fn hostile_video_files_are_typed_errors_and_ffmpeg_missing_is_said() {
    let Some(v) = videos() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Half of a real MP4 (its index may be cut off), and a container header over garbage.
    let bytes = std::fs::read(&v.known).unwrap();
    let half = dir.path().join("half.mp4");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.mp4");
    let mut g = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    g.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&garbage, &g).unwrap();
    let started = std::time::Instant::now();
    let hashed = run(&["hash", "--format", "vpdq", s(&garbage)]);
    assert_ne!(hashed.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&hashed.stderr).contains("garbage.mp4"));
    let line = &json_lines(&run(&["hash", s(&garbage)]))[0];
    assert!(
        line["error"].as_str().unwrap().starts_with("video:"),
        "{line}"
    );
    assert!(line["md5"].is_string(), "digests still count: {line}");
    // `check` still answers (by digests) and says why the video could not be hashed.
    let db = dir.path().join("db");
    assert!(run(&["known", "add", "--db", s(&db), s(&v.other)])
        .status
        .success());
    for path in [&half, &garbage] {
        let out = run(&["check", "--db", s(&db), "--dry-run", "--media", s(path)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(json_lines(&out)[0]["verdict"].is_string());
    }
    // A FIFO named as the one video is refused, never opened for reading (no hang).
    let fifo = dir.path().join("fifo.mp4");
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|st| st.success())
    {
        let out = run(&["hash", "--format", "vpdq", s(&fifo)]);
        assert_ne!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
    }
    let add = run(&["known", "add", "--db", s(&db), s(&garbage)]);
    assert_ne!(
        add.status.code(),
        Some(0),
        "an undecodable video is not added"
    );
    assert!(started.elapsed().as_secs() < 120, "no hang");

    // Without ffmpeg on the PATH: a clear error for video, pictures unaffected.
    let empty = dir.path().join("no-tools");
    std::fs::create_dir(&empty).unwrap();
    let no_tools = refdedup()
        .env("PATH", &empty)
        .args(["check", "--db", s(&db), "--dry-run", "--media", s(&v.copy)])
        .output()
        .unwrap();
    assert_ne!(no_tools.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&no_tools.stderr);
    assert!(stderr.contains("is not installed"), "{stderr}");
    let png = dir.path().join("p.png");
    image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    })
    .save(&png)
    .unwrap();
    let picture = refdedup()
        .env("PATH", &empty)
        .args(["check", "--db", s(&db), "--dry-run", "--media", s(&png)])
        .output()
        .unwrap();
    assert!(
        picture.status.success(),
        "{}",
        String::from_utf8_lossy(&picture.stderr)
    );
}
