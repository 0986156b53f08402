//! Precision: different pictures through the same frame never merge, perceptual links never
//! chain, and low-quality pictures match their own copies only.
//!
//! The backlogs come from the precision harness (`examples/precision.rs`, compiled in as a
//! module) at a small size. Each template test also runs the rule *without* the content
//! check (the PDQ-only rule of earlier versions) and asserts that it merges different
//! pictures, so the set is hard enough for the assertion on the default rule to mean something.

use crate::precision_harness as precision;

use image::{imageops, DynamicImage, RgbImage};
use precision::{dedup_and_score, kind_backlog, Generated, Kind, Split, Upload};
use referral_dedup::batch::BatchReport;
use referral_dedup::engine::MatchRule;
use referral_dedup::matching::{LumaGrid, LumaImage};
use referral_dedup::media;

fn scenes(n: u64, seed: u64) -> Vec<RgbImage> {
    (0..n)
        .map(|i| precision::match_quality::scene(seed * 1000 + i, (300, 420)))
        .collect()
}

/// The default rule without the content check (nor the low-quality rule, which needs it).
fn without_content_check() -> MatchRule {
    MatchRule {
        content: None,
        low_quality: None,
        ..MatchRule::default()
    }
}

/// Runs one kind's small backlog under the default rule and the rule without the content
/// check; returns (default wrong pairs, default recall, unchecked wrong pairs).
fn run_kind(kind: Kind, pictures: usize) -> (u64, f64, u64) {
    // Every style gets its own pictures: one picture through two frames is one item.
    let pics = scenes(3 * pictures as u64, 11);
    run_pictures(kind, &pics, pictures)
}

/// [`run_kind`] on given pictures (three styles' worth).
fn run_pictures(kind: Kind, pics: &[RgbImage], pictures: usize) -> (u64, f64, u64) {
    run_backlog(kind, &kind_backlog(kind, Split::Tune, pics, pictures))
}

/// Deduplicates a backlog under the default rule and the rule without the content check;
/// returns (default wrong pairs, default recall, unchecked wrong pairs).
fn run_backlog(kind: Kind, refs: &[Generated]) -> (u64, f64, u64) {
    let (default, _) = dedup_and_score(refs, MatchRule::default());
    let (unchecked, _) = dedup_and_score(refs, without_content_check());
    eprintln!(
        "{}: default precision {:.3} recall {:.3} wrong {}; unchecked wrong {}",
        kind.name(),
        default.precision,
        default.recall,
        default.wrong_pairs,
        unchecked.wrong_pairs
    );
    (default.wrong_pairs, default.recall, unchecked.wrong_pairs)
}

fn assert_kind(kind: Kind, pictures: usize, min_recall: f64) {
    let (wrong, recall, unchecked_wrong) = run_kind(kind, pictures);
    assert!(
        unchecked_wrong > 0,
        "{}: the set is too easy (the PDQ-only rule merges nothing)",
        kind.name()
    );
    assert_eq!(wrong, 0, "{}: different pictures merged", kind.name());
    assert!(recall >= min_recall, "{}: recall {recall}", kind.name());
}

#[test]
fn social_media_pages_keep_different_pictures_apart() {
    assert_kind(Kind::Page, 5, 0.9);
}

#[test]
fn meme_caption_bands_keep_different_pictures_apart() {
    // A small set of ordinary scenes rarely collides under caption bands at all (the full
    // harness, with photographs, does); the assertion that matters is that none merges.
    let (wrong, recall, _) = run_kind(Kind::Meme, 5);
    assert_eq!(wrong, 0);
    assert!(recall >= 0.9, "recall {recall}");
}

/// Dim, low-contrast pictures under identical caption bands: the bands carry the PDQ energy,
/// so different pictures come within the strict tier (31 bits); both sides are framed, so the
/// strict tier is content-checked too, on the boxes inside the bands, with a tolerance that
/// shrinks where the content is flat.
#[test]
fn dim_pictures_under_meme_bands_keep_apart() {
    let pics: Vec<RgbImage> = scenes(15, 11)
        .iter()
        .map(|p| imageops::contrast(p, -45.0))
        .collect();
    let (wrong, recall, unchecked_wrong) = run_pictures(Kind::Meme, &pics, 5);
    assert!(unchecked_wrong > 0, "the set is too easy");
    assert_eq!(wrong, 0);
    assert!(recall >= 0.9, "recall {recall}");
}

/// The harness's dim kinds (each style its own dimming) on a small set.
#[test]
fn dim_kinds_keep_different_pictures_apart() {
    for kind in [Kind::DimMeme, Kind::DimPadCaption, Kind::DimPoster] {
        let (wrong, recall, _) = run_kind(kind, 4);
        assert_eq!(wrong, 0, "{}: different pictures merged", kind.name());
        assert!(recall >= 0.8, "{}: recall {recall}", kind.name());
    }
}

/// Known templates (a poster layout, dim pictures on a poster, a social-media page, added
/// from their bytes, so they carry luma grids) and referrals of other pictures through the
/// same frame: none may be reported as known, while the known item's own re-uploads are.
/// A query that shares detail with the known item around its own content box sits in the
/// known item's template, and must agree with it in content
/// (`ContentCheck::in_known_template`); before, known content was decided on PDQ distances.
#[test]
fn known_templates_are_not_reported_for_other_pictures() {
    let pics = scenes(18, 23);
    for kind in [Kind::Poster, Kind::DimPoster, Kind::Page] {
        assert_known_template_kept_apart(kind, &pics);
    }
}

/// Known dim pictures under meme bands (and padding with a caption) where the trimmer finds
/// no box inside the frame (the dim content is as flat as the bands): before, nothing told
/// the frame from the content and known content was decided on PDQ distances (2 of 12 other
/// pictures reported as known). Now the whole pictures sit in the known item's template
/// (`ContentCheck::in_known_whole_template`: detail shared in place, content disagreeing)
/// and must agree in content.
#[test]
fn known_dim_templates_without_a_box_are_not_reported_for_other_pictures() {
    let pics = scenes(18, 23);
    assert_known_template_kept_apart(Kind::DimMeme, &pics);
}

fn assert_known_template_kept_apart(kind: Kind, pics: &[RgbImage]) {
    let score = precision::known_template(kind, Split::Tune, pics, 4, MatchRule::default());
    eprintln!("{} default: {score:?}", kind.name());
    assert_eq!(
        score.false_known,
        0,
        "{}: other pictures on the known template reported as known",
        kind.name()
    );
    assert_eq!(
        score.caught,
        score.copies,
        "{}: re-uploads of the known item missed",
        kind.name()
    );
    // Known content decided on PDQ distances alone (as before) reports them.
    let unchecked = precision::known_template(kind, Split::Tune, pics, 4, without_content_check());
    eprintln!("{} without the content check: {unchecked:?}", kind.name());
    assert!(
        unchecked.false_known > 0,
        "{}: the set is too easy",
        kind.name()
    );
}

/// Pictures under the held-out styles' caption bands and padding (darker and more washed out
/// than the tuning styles), half of them washed out beforehand (contrast `contrast`): the
/// frame carries the PDQ energy, the content only a few levels. Returns (default wrong pairs,
/// default recall, unchecked wrong pairs) per kind.
fn washed_out_under_held_out_frames(contrast: f32) -> Vec<(Kind, u64, f64, u64)> {
    let pics: Vec<RgbImage> = scenes(12, 31)
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 0 {
                imageops::contrast(p, contrast)
            } else {
                p.clone()
            }
        })
        .collect();
    [Kind::DimMeme, Kind::DimPadCaption]
        .into_iter()
        .map(|kind| {
            let (wrong, recall, unchecked_wrong) =
                run_backlog(kind, &kind_backlog(kind, Split::HeldOut, &pics, 6));
            (kind, wrong, recall, unchecked_wrong)
        })
        .collect()
}

/// Held-out frames around dim generated scenes (and scenes washed out beforehand, contrast
/// -40). Where the trimmer finds no box on one side or both (dim content as flat as the
/// bands), the strict tier rests on content agreeing in levels or rank order (before:
/// decided on the PDQ distance, `dim_meme` 22 wrong pairs, 36 washed out); where both are
/// framed, padding that fills most of both pictures no longer hides boxes that disagree
/// (`dim_pad_caption` washed out: 9 wrong pairs before). A levels-only check there split
/// greyscale copies in the bundled backlog (`cli_sample_data`), which keep their order.
#[test]
fn dim_pictures_under_held_out_frames_keep_apart() {
    for contrast in [0.0, -40.0] {
        for (kind, wrong, recall, unchecked_wrong) in washed_out_under_held_out_frames(contrast) {
            assert!(unchecked_wrong > 0, "{}: the set is too easy", kind.name());
            assert_eq!(wrong, 0, "{}: different pictures merged", kind.name());
            assert!(recall >= 0.8, "{}: recall {recall}", kind.name());
        }
    }
}

#[test]
fn padding_with_caption_keeps_different_pictures_apart() {
    assert_kind(Kind::PadCaption, 5, 0.9);
}

#[test]
fn shared_logo_keeps_different_pictures_apart() {
    // Different pictures under the same logo rarely collide on PDQ at all; the assertion
    // that matters is that none merges and their copies still do.
    let (wrong, recall, _) = run_kind(Kind::Logo, 5);
    assert_eq!(wrong, 0);
    assert!(recall >= 0.9, "recall {recall}");
}

#[test]
fn stripes_keep_different_pictures_apart() {
    let (wrong, recall, _) = run_kind(Kind::Stripes, 5);
    assert_eq!(wrong, 0);
    assert!(recall >= 0.9, "recall {recall}");
}

#[test]
fn posters_on_one_layout_keep_different_pictures_apart() {
    assert_kind(Kind::Poster, 5, 0.9);
}

#[test]
fn low_detail_pictures_keep_apart_and_match_their_copies() {
    let (wrong, recall, _) = run_kind(Kind::LowDetail, 5);
    assert_eq!(wrong, 0);
    // Under the old rule low-quality pictures matched nothing perceptually; now their
    // re-encodes and rescales cluster.
    assert!(recall >= 0.6, "recall {recall}");
}

#[test]
fn low_quality_originals_match_reencodes_greyscale_and_blur() {
    let refs = precision::low_quality_backlog(4, 8, 0x7e57);
    let (score, report) = dedup_and_score(&refs, MatchRule::default());
    assert_eq!(score.wrong_pairs, 0, "low-detail distractors merged");
    let recall = precision::low_quality_recall(&report);
    let caught: f64 = recall.values().sum::<f64>() / recall.len() as f64;
    assert!(caught >= 0.75, "per-edit recall {recall:?}");
    // The old rule (quality floor on every tier) caught none of them perceptually.
    let old = MatchRule {
        low_quality: None,
        ..MatchRule::default()
    };
    let (_, old_report) = dedup_and_score(&refs, old);
    let old_recall = precision::low_quality_recall(&old_report);
    assert!(old_recall.values().all(|&r| r == 0.0), "{old_recall:?}");
}

/// Blends of two different pictures in small steps: each step is a near copy of the previous
/// one, the ends are different pictures.
fn blend_chain(steps: usize) -> Vec<Generated> {
    let a = precision::match_quality::scene(5, (300, 360));
    let b = imageops::resize(
        &precision::match_quality::scene(6, (300, 360)),
        a.width(),
        a.height(),
        imageops::FilterType::Triangle,
    );
    (0..=steps)
        .map(|k| {
            let t = k as f32 / steps as f32;
            let img = RgbImage::from_fn(a.width(), a.height(), |x, y| {
                let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
                image::Rgb(std::array::from_fn(|c| {
                    (f32::from(p[c]) * (1.0 - t) + f32::from(q[c]) * t).round() as u8
                }))
            });
            Generated {
                id: format!("blend{k}"),
                item: if t < 0.5 { "a" } else { "b" }.to_string(),
                bytes: Upload::Jpeg(90).apply(&img),
            }
        })
        .collect()
}

fn cluster_of<'a>(report: &'a BatchReport, id: &str) -> &'a referral_dedup::batch::Cluster {
    report
        .clusters
        .iter()
        .find(|c| c.members.iter().any(|m| m == id))
        .expect("every referral is in a cluster")
}

#[test]
fn perceptual_links_do_not_chain_through_single_members() {
    let steps = 8;
    let refs = blend_chain(steps);
    let pdq = |g: &Generated| {
        media::pdq_from_image(&precision::match_quality::decode(&g.bytes).unwrap()).hash
    };
    let codes: Vec<_> = refs.iter().map(pdq).collect();
    // Preconditions: neighbours are near copies, the ends are far apart.
    for w in codes.windows(2) {
        assert!(w[0].distance(&w[1]) <= 31, "{}", w[0].distance(&w[1]));
    }
    assert!(codes[0].distance(&codes[steps]) > 80);
    let (_, report) = dedup_and_score(&refs, MatchRule::default());
    let first = cluster_of(&report, "blend0");
    let last = cluster_of(&report, &format!("blend{steps}"));
    assert_ne!(
        first.cluster_id, last.cluster_id,
        "a chain of near copies joined two different pictures"
    );
    // Every perceptual member agrees with its cluster's representative or majority.
    for c in &report.clusters {
        for r in &c.reasons {
            assert!(
                ["exact", "representative", "majority"].contains(&r.link),
                "{r:?}"
            );
            if r.link == "representative" {
                let rep = refs.iter().position(|g| g.id == c.representative).unwrap();
                let member = refs.iter().position(|g| g.id == r.member).unwrap();
                assert!(codes[rep].distance(&codes[member]) <= 80);
            }
        }
    }
    // Exact copies still chain: the same bytes under three ids form one cluster.
    let copies: Vec<Generated> = (0..3)
        .map(|k| Generated {
            id: format!("copy{k}"),
            item: "same".into(),
            bytes: refs[0].bytes.clone(),
        })
        .collect();
    let (score, report) = dedup_and_score(&copies, MatchRule::default());
    assert_eq!((score.recall, report.clusters.len()), (1.0, 1));
    assert!(report.clusters[0].reasons.iter().all(|r| r.link == "exact"));
}

#[test]
fn cluster_json_names_the_link_that_joined_each_member() {
    let pics = scenes(2, 3);
    let refs = kind_backlog(Kind::Meme, Split::Tune, &pics, 2);
    let (_, report) = dedup_and_score(&refs, MatchRule::default());
    let json = serde_json::to_value(&report.clusters).unwrap();
    let reasons: Vec<&serde_json::Value> = json
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["reasons"].as_array().unwrap())
        .collect();
    assert!(!reasons.is_empty());
    for r in reasons {
        // The existing keys stay; `link` (and `tier` for PDQ links) are added.
        for key in ["member", "matched", "source", "kind", "distance", "link"] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        if r["kind"] == "pdq" {
            assert!(r["tier"].is_string(), "{r}");
        }
    }
}

/// The grid of a transformed picture is the transformed grid, for all eight PDQ variants.
#[test]
fn grid_dihedral_variants_follow_pdq_order() {
    let img = precision::match_quality::scene(9, (200, 260));
    let img = imageops::resize(&img, 160, 160, imageops::FilterType::Triangle);
    let transforms: [fn(&RgbImage) -> RgbImage; 8] = [
        |i| i.clone(),
        imageops::rotate270, // 90 degrees counter-clockwise
        imageops::rotate180,
        imageops::rotate90,
        imageops::flip_vertical,
        imageops::flip_horizontal,
        |i| imageops::rotate270(&imageops::flip_horizontal(i)), // main-diagonal transpose
        |i| imageops::rotate90(&imageops::flip_horizontal(i)),  // anti-diagonal transpose
    ];
    let dynamic = DynamicImage::ImageRgb8(img.clone());
    let variants = media::pdq_dihedral_from_image(&dynamic);
    let grid = LumaGrid::of(&LumaImage::from_image(&dynamic)).unwrap();
    for (d, t) in transforms.iter().enumerate() {
        let moved = DynamicImage::ImageRgb8(t(&img));
        let code = media::pdq_from_image(&moved).hash;
        let all: Vec<u32> = variants.iter().map(|v| v.hash.distance(&code)).collect();
        // The transform is PDQ's variant d: by far the closest of the eight.
        let closest = (0..8).min_by_key(|&k| all[k]).unwrap();
        assert!(closest == d && all[d] <= 64, "variant {d}: {all:?}");
        let moved_grid = LumaGrid::of(&LumaImage::from_image(&moved)).unwrap();
        assert_eq!(moved_grid, grid.dihedral(d), "grid variant {d}");
    }
}

#[test]
fn pair_match_gives_the_engines_tier_on_shared_frames_and_low_quality_pictures() {
    let pics = scenes(6, 31);
    let mut uploads: Vec<Vec<u8>> = Vec::new();
    for kind in [Kind::Page, Kind::Meme, Kind::LowDetail] {
        let refs = kind_backlog(kind, Split::Tune, &pics, 2);
        uploads.extend(refs.into_iter().take(8).map(|g| g.bytes));
    }
    uploads.extend(
        precision::low_quality_backlog(2, 2, 0x7e57)
            .into_iter()
            .take(8)
            .map(|g| g.bytes),
    );
    let tiers = crate::engine_api::assert_pair_match_agrees(&MatchRule::default(), &uploads);
    eprintln!("{tiers:?}");
    assert!(tiers.len() >= 3, "too few tiers exercised: {tiers:?}");
}
