//! Video compatibility with Meta's references, on the sample videos and hashes in
//! `../shared/testdata/video/` (skipped with a notice when `../shared` or `ffmpeg` is absent):
//!
//! - vPDQ, checked the way the reference's own regression test checks an implementation: the same
//!   frame count and frame numbers, every frame within distance 31 where both qualities are >= 50
//!   (decoders differ in the last bits); the bit-exact share is printed;
//! - TMK+PDQF files read and scored pairwise against the reference scorer's published scores;
//! - TMK+PDQF computed from the videos scored against the reference's files.

use std::path::{Path, PathBuf};
use std::process::Command;

use referral_dedup::video::{
    tmk_from_file, vpdq_from_file, ClipRule, DecodeLimits, TmkFeatures, VideoHash, VpdqOptions,
    VpdqRule,
};

fn video_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/video");
    if !dir.is_dir() {
        eprintln!("skipping: ../shared/testdata/video absent");
        return None;
    }
    Some(dir)
}

fn ffmpeg_present() -> bool {
    let ok = Command::new("ffmpeg").arg("-version").output().is_ok()
        && Command::new("ffprobe").arg("-version").output().is_ok();
    if !ok {
        eprintln!("skipping: ffmpeg/ffprobe not installed (scripts/test.sh installs them)");
    }
    ok
}

fn sample_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("videos"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".mp4").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Compares our hash with the reference's, the way vPDQ's regression test does; returns
/// (frames, comparable frames, bit-exact frames, largest distance among comparable frames).
fn compare(ours: &VideoHash, reference: &VideoHash, name: &str) -> (usize, usize, usize, u32) {
    assert_eq!(
        ours.frames.len(),
        reference.frames.len(),
        "{name}: frame count"
    );
    let (mut comparable, mut exact, mut worst) = (0, 0, 0);
    for (a, b) in ours.frames.iter().zip(&reference.frames) {
        assert_eq!(a.frame_number, b.frame_number, "{name}: frame numbers");
        assert!(
            (a.timestamp - b.timestamp).abs() < 0.0011,
            "{name} frame {}: timestamp {} vs {}",
            a.frame_number,
            a.timestamp,
            b.timestamp
        );
        let d = a.pdq.distance(&b.pdq);
        exact += usize::from(d == 0);
        if a.quality >= 50 && b.quality >= 50 {
            comparable += 1;
            worst = worst.max(d);
            assert!(d <= 31, "{name} frame {}: distance {d}", a.frame_number);
        }
    }
    (ours.frames.len(), comparable, exact, worst)
}

#[test]
fn vpdq_of_every_frame_agrees_with_the_reference() {
    let Some(dir) = video_dir() else { return };
    if !ffmpeg_present() {
        return;
    }
    let options = VpdqOptions {
        seconds_per_hash: 0.0,
        ..VpdqOptions::default()
    };
    let small = VpdqOptions {
        size: Some((128, 128)),
        ..options
    };
    // The 128x128 files cost as much again to check: all of them in the long run
    // (REFDEDUP_LONG=1), two in CI.
    let long = std::env::var("REFDEDUP_LONG").is_ok_and(|v| v == "1");
    let (mut frames, mut comparable, mut exact) = (0, 0, 0);
    for (i, name) in sample_names(&dir).into_iter().enumerate() {
        let video = dir.join("videos").join(format!("{name}.mp4"));
        let variants: &[(&str, &VpdqOptions)] = if long || i % 7 == 0 {
            &[("", &options), ("-128x128", &small)]
        } else {
            &[("", &options)]
        };
        for &(suffix, opts) in variants {
            let reference_path = dir.join("vpdq").join(format!("{name}{suffix}.txt"));
            let Ok(text) = std::fs::read_to_string(&reference_path) else {
                continue;
            };
            let reference = VideoHash::parse_reference(&text).unwrap();
            let ours = vpdq_from_file(&video, opts).unwrap();
            let (f, c, e, worst) = compare(&ours, &reference, &format!("{name}{suffix}"));
            println!("{name}{suffix}: {f} frames, {c} comparable, {e} bit-exact, worst {worst}");
            frames += f;
            comparable += c;
            exact += e;
        }
    }
    println!("vPDQ: {frames} frames, {comparable} comparable (both quality >= 50, all within 31), {exact} bit-exact");
    assert!(frames > 5000, "the sample set has over 5,000 frames");
}

#[test]
fn one_frame_per_second_samples_like_python_threatexchange() {
    let Some(dir) = video_dir() else { return };
    if !ffmpeg_present() {
        return;
    }
    let video = dir.join("videos/chair-22-sd-grey-bar.mp4");
    let every = vpdq_from_file(
        &video,
        &VpdqOptions {
            seconds_per_hash: 0.0,
            ..VpdqOptions::default()
        },
    )
    .unwrap();
    let sampled = vpdq_from_file(&video, &VpdqOptions::default()).unwrap();
    let info = referral_dedup::video::probe(&video, &DecodeLimits::default()).unwrap();
    let step = info.frame_rate.floor() as u64;
    let want: Vec<_> = every
        .frames
        .iter()
        .filter(|f| f.frame_number % step == 0)
        .collect();
    assert_eq!(sampled.frames.len(), want.len());
    for (a, b) in sampled.frames.iter().zip(want) {
        assert_eq!(
            (a.frame_number, a.pdq, a.quality),
            (b.frame_number, b.pdq, b.quality)
        );
    }
    // The JSON form round-trips through the python-threatexchange list.
    let back = VideoHash::parse_json(&sampled.to_json()).unwrap();
    assert_eq!(back.frames.len(), sampled.frames.len());
}

/// Level-1 and level-2 scores printed by the reference's `tmk-two-level-score` on these files
/// (ThreatExchange's tmk/README.md), for pairs whose files are in the shared set.
const REFERENCE_SCORES: &[(&str, &str, f32, f32)] = &[
    (
        "doorknob-hd-no-bar",
        "pattern-sd-with-large-logo-bar",
        -0.310042,
        0.017566,
    ),
    (
        "chair-19-sd-bar",
        "pattern-sd-with-large-logo-bar",
        -0.088088,
        0.033167,
    ),
    (
        "chair-22-sd-grey-bar",
        "pattern-sd-with-small-logo-bar",
        -0.063257,
        0.025060,
    ),
    (
        "chair-20-sd-bar",
        "chair-22-with-small-logo-bar",
        0.919339,
        0.921573,
    ),
    (
        "chair-22-sd-grey-bar",
        "chair-22-with-small-logo-bar",
        0.926929,
        0.953268,
    ),
    (
        "chair-19-sd-bar",
        "chair-22-sd-grey-bar",
        0.953346,
        0.962158,
    ),
    (
        "pattern-hd-no-bar",
        "pattern-longer-no-bar",
        0.981078,
        0.954990,
    ),
    (
        "chair-20-sd-bar",
        "chair-22-sd-grey-bar",
        0.985930,
        0.988437,
    ),
    ("chair-19-sd-bar", "chair-20-sd-bar", 0.989083, 0.991138),
    (
        "chair-22-sd-grey-bar",
        "chair-22-sd-sepia-bar",
        0.999779,
        0.999763,
    ),
    (
        "chair-22-sd-grey-bar",
        "chair-orig-22-sd-bar",
        0.999963,
        0.999964,
    ),
];

fn read_tmk(dir: &Path, name: &str) -> TmkFeatures {
    let bytes = std::fs::read(dir.join("tmk").join(format!("{name}.tmk"))).unwrap();
    TmkFeatures::from_bytes(&bytes).unwrap()
}

#[test]
fn tmk_files_score_as_the_reference_scores_them() {
    let Some(dir) = video_dir() else { return };
    for &(a, b, l1, l2) in REFERENCE_SCORES {
        let (fa, fb) = (read_tmk(&dir, a), read_tmk(&dir, b));
        let (s1, s2) = (fa.level1_score(&fb).unwrap(), fa.level2_score(&fb).unwrap());
        println!("{a} {b}: level1 {s1:.6} (reference {l1}), level2 {s2:.6} (reference {l2})");
        assert!((s1 - l1).abs() < 1e-3, "{a} {b}: level 1 {s1} vs {l1}");
        assert!((s2 - l2).abs() < 1e-3, "{a} {b}: level 2 {s2} vs {l2}");
        // Files round-trip byte for byte.
        let bytes = std::fs::read(dir.join("tmk").join(format!("{a}.tmk"))).unwrap();
        assert_eq!(fa.to_bytes(), bytes);
    }
}

#[test]
fn tmk_computed_from_video_scores_like_the_reference_files() {
    let Some(dir) = video_dir() else { return };
    if !ffmpeg_present() {
        return;
    }
    let names = [
        "chair-19-sd-bar",
        "chair-22-sd-grey-bar",
        "pattern-sd-with-small-logo-bar",
    ];
    let ours: Vec<TmkFeatures> = names
        .iter()
        .map(|n| {
            tmk_from_file(
                &dir.join("videos").join(format!("{n}.mp4")),
                &DecodeLimits::default(),
            )
            .unwrap()
        })
        .collect();
    for (i, a) in names.iter().enumerate() {
        let reference = read_tmk(&dir, a);
        let s1 = ours[i].level1_score(&reference).unwrap();
        let s2 = ours[i].level2_score(&reference).unwrap();
        println!("{a}: ours vs reference file: level1 {s1:.4}, level2 {s2:.4}");
        assert!(s1 > 0.98 && s2 > 0.98, "{a}: {s1} {s2}");
        for (j, b) in names.iter().enumerate().skip(i + 1) {
            let want = read_tmk(&dir, a).level2_score(&read_tmk(&dir, b)).unwrap();
            let got = ours[i].level2_score(&ours[j]).unwrap();
            println!("{a} {b}: level2 ours {got:.4}, reference files {want:.4}");
            assert!((got - want).abs() < 0.02, "{a} {b}: {got} vs {want}");
        }
    }
}

#[test]
fn related_samples_align_and_unrelated_ones_do_not() {
    let Some(dir) = video_dir() else { return };
    if !ffmpeg_present() {
        return;
    }
    let hash = |n: &str| {
        vpdq_from_file(
            &dir.join("videos").join(format!("{n}.mp4")),
            &VpdqOptions::default(),
        )
        .unwrap()
    };
    let (orig, grey, longer, pattern, door) = (
        hash("chair-orig-22-sd-bar"),
        hash("chair-22-sd-grey-bar"),
        hash("pattern-longer-no-bar"),
        hash("pattern-hd-no-bar"),
        hash("doorknob-hd-no-bar"),
    );
    let rule = ClipRule::default();
    let m = rule
        .align(&grey, &orig)
        .expect("the grey copy aligns with the original");
    println!("grey vs orig: {m:?}");
    assert!(m.offset.abs() < 1.0);
    println!("pattern vs longer: {:?}", rule.align(&pattern, &longer));
    for (a, b) in [(&orig, &pattern), (&orig, &door), (&door, &longer)] {
        assert_eq!(rule.align(a, b), None);
        assert!(!VpdqRule::default().matches(a, b));
    }
}
