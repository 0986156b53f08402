//! Border trimming and dihedral matching on generated pictures, and a quick harness run.
//!
//! The pictures come from the match-quality harness's scene generator (the example is compiled
//! in as a module), so the tests use only data the project generates.

use crate::precision_harness::match_quality;

use image::{imageops, DynamicImage, Rgb, RgbImage};
use match_quality::{decode, jpeg, scene, Edit, Rng};
use referral_dedup::matching::{
    frame_box, trim_box, KnownHashes, LumaImage, MatchRule, MatchTier, QueryHashes, RobustOptions,
    TrimOptions,
};

fn picture(seed: u64) -> RgbImage {
    scene(seed, (200, 260))
}

/// A scene with a strong texture over every row and column, so that its true edges are the
/// only place where the picture meets a flat margin (a plain scene may have a flat sky, which
/// trimming legitimately removes too).
fn textured(seed: u64) -> RgbImage {
    let mut img = picture(seed);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let t = ((x * 37 + y * 91) % 64) as i16 - 32;
        for c in p.0.iter_mut() {
            *c = (i16::from(*c) + t).clamp(0, 255) as u8;
        }
    }
    img
}

/// Re-encodes as JPEG (quality 80) and decodes, like an upload.
fn uploaded(img: &RgbImage) -> DynamicImage {
    decode(&jpeg(img, 80)).expect("decodes")
}

fn framed(
    img: &RgbImage,
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
    colour: [u8; 3],
) -> RgbImage {
    let (w, h) = img.dimensions();
    let mut canvas = RgbImage::from_pixel(w + left + right, h + top + bottom, Rgb(colour));
    imageops::replace(&mut canvas, img, i64::from(left), i64::from(top));
    canvas
}

fn assert_box_near(
    found: (usize, usize, usize, usize),
    want: (usize, usize, usize, usize),
    tol: usize,
) {
    let near = |a: usize, b: usize| a.abs_diff(b) <= tol;
    assert!(
        near(found.0, want.0)
            && near(found.1, want.1)
            && near(found.2, want.2)
            && near(found.3, want.3),
        "box {found:?}, expected {want:?} within {tol}"
    );
}

#[test]
fn trims_black_and_white_borders_through_jpeg_noise() {
    for (seed, colour) in [(1u64, [0, 0, 0]), (2, [255, 255, 255]), (3, [20, 90, 200])] {
        let img = textured(seed);
        let (w, h) = img.dimensions();
        let copy = uploaded(&framed(&img, 17, 11, 23, 29, colour));
        let b =
            trim_box(&LumaImage::from_image(&copy), &TrimOptions::default()).expect("border found");
        assert_box_near(
            (b.x0, b.y0, b.x1, b.y1),
            (17, 11, 17 + w as usize, 11 + h as usize),
            4,
        );
    }
}

#[test]
fn trims_letterbox_bars_and_leaves_plain_pictures_alone() {
    let img = textured(4);
    let (w, h) = img.dimensions();
    // Bars top and bottom only.
    let copy = uploaded(&framed(&img, 0, 60, 0, 60, [0, 0, 0]));
    let b = trim_box(&LumaImage::from_image(&copy), &TrimOptions::default()).expect("bars found");
    assert_box_near(
        (b.x0, b.y0, b.x1, b.y1),
        (0, 60, w as usize, 60 + h as usize),
        2,
    );
    // No frame: nothing to trim.
    for seed in 5..10 {
        let plain = uploaded(&textured(seed));
        assert_eq!(
            trim_box(&LumaImage::from_image(&plain), &TrimOptions::default()),
            None,
            "seed {seed}"
        );
    }
}

#[test]
fn screenshot_framing_trims_to_the_picture() {
    let img = textured(11);
    let (shot, _) = Edit::Screenshot.apply(&img, &mut Rng::new(1));
    let copy = uploaded(&shot);
    let b = trim_box(&LumaImage::from_image(&copy), &TrimOptions::default()).expect("frame found");
    // The picture is scaled to 75% and centred horizontally under the status bar.
    let (sw, sh) = (
        (img.width() as f32 * 0.75) as usize,
        (img.height() as f32 * 0.75) as usize,
    );
    let x0 = (copy.width() as usize - sw) / 2;
    assert_box_near((b.x0, b.width(), b.height(), 0), (x0, sw, sh, 0), 3);
}

fn known(img: &RgbImage) -> KnownHashes {
    KnownHashes::compute(
        &DynamicImage::ImageRgb8(img.clone()),
        &RobustOptions::default(),
    )
    .expect("hashable")
}

fn query(img: &RgbImage) -> QueryHashes {
    QueryHashes::compute(&uploaded(img), &RobustOptions::default()).expect("hashable")
}

#[test]
fn dihedral_copies_match_only_with_the_dihedral_rule() {
    // PDQ's sampling grid and even-width box filter are not mirror-symmetric, so after JPEG
    // re-encoding some copies land past 31 and are caught by the loose tier; at least half
    // must match strictly.
    let (mut strict, mut total) = (0, 0);
    for seed in 20..24 {
        let img = picture(seed);
        let stored = known(&img);
        for (name, copy) in [
            ("mirror", imageops::flip_horizontal(&img)),
            ("rot90", imageops::rotate90(&img)),
            ("rot180", imageops::rotate180(&img)),
            ("rot270", imageops::rotate270(&img)),
            ("flip", imageops::flip_vertical(&img)),
        ] {
            let q = query(&copy);
            let m = MatchRule::harness().decide(&q, &stored);
            assert!(m.is_some(), "{name} seed {seed}: no match");
            strict += usize::from(m.is_some_and(|m| m.tier == MatchTier::Strict));
            total += 1;
            assert!(
                MatchRule::reference().decide(&q, &stored).is_none(),
                "{name} seed {seed} matched plainly"
            );
        }
    }
    assert!(strict * 2 >= total, "only {strict} of {total} strict");
}

#[test]
fn framed_copies_match_through_the_trimmed_hash() {
    for seed in 30..34 {
        let img = picture(seed);
        let stored = known(&img);
        let q = query(&framed(&img, 40, 40, 40, 40, [0, 0, 0]));
        assert!(q.trimmed.is_some(), "seed {seed}: no border found");
        assert!(
            MatchRule::harness().decide(&q, &stored).is_some(),
            "seed {seed}"
        );
    }
}

#[test]
fn different_pictures_do_not_match() {
    let stored: Vec<KnownHashes> = (40..50).map(|s| known(&picture(s))).collect();
    for s in 50..70 {
        let q = query(&picture(s));
        for k in &stored {
            assert!(
                MatchRule::harness().decide(&q, k).is_none(),
                "scene {s} matched a different scene"
            );
        }
    }
}

#[test]
fn quick_harness_run_improves_recall_without_false_matches() {
    let report = match_quality::run(
        &match_quality::Config::quick(),
        &MatchRule::harness(),
        &RobustOptions::default(),
    );
    let recall = |m: &str| report.overall_recall[m];
    assert!(
        report.distractors >= 150,
        "{} distractors",
        report.distractors
    );
    // The brute-force rule and the engine's default rule (searching its index): no distractor
    // and no copy of another original matches.
    for method in ["improved", "engine"] {
        assert_eq!(
            report.false_matches[method], 0,
            "{:?}",
            report.false_matches
        );
        assert_eq!(
            report.wrong_matches[method], 0,
            "{:?}",
            report.wrong_matches
        );
    }
    assert!(
        recall("improved") > recall("pdq_dihedral"),
        "{:?}",
        report.overall_recall
    );
    assert!(
        recall("pdq_dihedral") > recall("pdq"),
        "{:?}",
        report.overall_recall
    );
    assert!(recall("improved") >= 0.9, "{:?}", report.overall_recall);
    // The engine's recall is the brute-force rule's, up to the quality floor on tier 1.
    assert!(
        recall("engine") >= recall("improved") - 0.02,
        "{:?}",
        report.overall_recall
    );
}

#[test]
fn frame_box_cuts_letterbox_bars_carrying_a_caption_and_logo() {
    // Pillarboxed to 16:9 with the harness's watermark drawn over the whole canvas: the
    // caption starts inside the left bar and the logo sits in the right bar.
    let img = textured(12);
    let (padded, _) = Edit::Pad(16, 9).apply(&img, &mut Rng::new(3));
    let (marked, _) = Edit::Watermark.apply(&padded, &mut Rng::new(4));
    let copy = uploaded(&marked);
    let b = frame_box(&LumaImage::from_image(&copy), &TrimOptions::default()).expect("bars found");
    let (cw, ch) = (copy.width() as usize, copy.height() as usize);
    let pw = img.width() as usize * ch / img.height() as usize;
    assert_box_near(
        (b.x0, b.y0, b.x1, b.y1),
        ((cw - pw) / 2, 0, (cw + pw) / 2, ch),
        3,
    );
    // And the copy matches its original through the framed hash.
    let q = QueryHashes::compute(&copy, &RobustOptions::default()).expect("hashable");
    assert!(MatchRule::harness().decide(&q, &known(&img)).is_some());
}

#[test]
fn frame_box_strips_nested_frames_like_the_originals_own() {
    // A grey "wall" band on the left edge of the picture is itself an edge-colour margin, so
    // the plain picture's frame box cuts it (known items store that box as a variant). Framed
    // in black, the copy loses the black and then, as a nested frame, the band: the same
    // content box as the original's, which is what lets the two match.
    let mut img = textured(13);
    for y in 0..img.height() {
        for x in 0..40 {
            img.put_pixel(x, y, Rgb([128, 128, 128]));
        }
    }
    let plain = uploaded(&img);
    let own = frame_box(&LumaImage::from_image(&plain), &TrimOptions::default()).expect("band");
    assert!((38..=42).contains(&own.x0), "{own:?}");
    let copy = uploaded(&framed(&img, 30, 0, 30, 0, [0, 0, 0]));
    let b = frame_box(&LumaImage::from_image(&copy), &TrimOptions::default()).expect("frame");
    assert_box_near(
        (b.x0, b.y0, b.x1, b.y1),
        (own.x0 + 30, own.y0, own.x1 + 30, own.y1),
        2,
    );
    let q = QueryHashes::compute(&copy, &RobustOptions::default()).expect("hashable");
    assert!(MatchRule::harness().decide(&q, &known(&img)).is_some());
}
