//! The codes a video is matched by: the reference vPDQ of each sampled frame, plus the same
//! frames with flat borders (letterbox, pillarbox, padding) trimmed frame by frame, their
//! left-right mirror, the frames inside the video's bars decided once for the whole video, and,
//! for known videos, central crops of each frame; all from one decode.
//!
//! The plain codes are exactly vPDQ (they go into exchange files); the trimmed and mirrored codes
//! are what the image rules use for edited copies ([`crate::matching::trim_box`] finds the
//! borders; the mirror comes from the same DCT as the trimmed code). Trimming frame by frame also
//! cuts flat content at an edge (dead cells, a dark sky), differently in each copy; the codes
//! inside the bars ([`video_bars`]) cut only what most frames agree is a bar.
//!
//! ```no_run
//! use referral_dedup::video::{fingerprint_file, ClipRule, VpdqOptions};
//! # fn main() -> Result<(), referral_dedup::video::VideoError> {
//! let known = fingerprint_file("known.mp4".as_ref(), &VpdqOptions::default())?;
//! let query = fingerprint_file("reupload.mp4".as_ref(), &VpdqOptions::default())?;
//! if let Some(m) = ClipRule::default().align_fingerprints(&query, &known) {
//!     println!("{:?}: query {}-{} s is known {}-{} s", m.variant, m.query_start, m.query_end, m.known_start, m.known_end);
//! }
//! # Ok(()) }
//! ```

use std::path::Path;

use super::area::{region_pdq, Region};
use super::{ClipMatch, ClipRule, FrameHash, VideoError, VideoHash, VpdqOptions};
use crate::matching::{trim_box, TrimBox, TrimOptions};
use crate::media::{pdq_dihedral_from_luma, pdq_from_luma, LumaImage, PdqHash};

/// Index of the left-right mirror in the dihedral order ([`crate::media::DIHEDRAL_NAMES`]).
const MIRROR: usize = 5;

/// Longest side of the reduced frame kept per sampled frame for the codes inside the bars (PDQ reduces every picture to 64x64 first, so 128 loses nothing it uses; a
/// byte per pixel keeps a 10-minute video at 5 frames/s under 50 MB while it is hashed).
const REDUCED_SIDE: usize = 128;

/// Longest side of the frame the trimmed, mirrored and crop codes are hashed from: PDQ's own
/// pre-shrink for pictures (it filters every picture down to 64x64, so 512 keeps what it uses).
/// Only the plain codes, which are exchanged as vPDQ, are hashed at the coded size; trimming,
/// the dihedral and the crops at full HD cost more than decoding the frames did.
const WORK_SIDE: usize = 512;

/// Longest side of the frame its borders are found on ([`trim_box`]), cut from the work image:
/// a border's edge is placed within 2 pixels of the 512-pixel work image.
const TRIM_SIDE: usize = 256;

/// `b`, a box on a picture of size `from`, on the same picture at size `to` (edges rounded to
/// the nearest pixel, never empty).
fn scale_box(b: TrimBox, from: (usize, usize), to: (usize, usize)) -> TrimBox {
    let along = |v: usize, f: usize, t: usize| (v * t + f / 2) / f.max(1);
    let (x0, x1) = (along(b.x0, from.0, to.0), along(b.x1, from.0, to.0));
    let (y0, y1) = (along(b.y0, from.1, to.1), along(b.y1, from.1, to.1));
    TrimBox {
        x0: x0.min(to.0.saturating_sub(1)),
        y0: y0.min(to.1.saturating_sub(1)),
        x1: x1.clamp(x0 + 1, to.0.max(1)),
        y1: y1.clamp(y0 + 1, to.1.max(1)),
    }
}

/// Share of each side the central crops of a known video's frames keep
/// ([`fingerprint_known_file`]): a copy cropped to about that much of the whole frame lands
/// within PDQ's reach of one of them (the picture rules keep similar crops of known pictures).
pub const CROP_KEEPS: [f32; 2] = [0.9, 0.85];

/// Share of each side kept by the central region both sides hash (known videos after their
/// [`CROP_KEEPS`] crops, queries after their anchored crops): the middle quarter of the frame,
/// clear of a channel logo, a watermark or a caption within a quarter of any edge, which move
/// every whole-frame code by 40 to 60 bits.
pub const CENTRE_KEEP: f32 = 0.5;

/// Crops of each query frame, as (share of each side kept, anchor): 0 start, 1 centre, 2 end,
/// horizontally and vertically; [`QUERY_CROP_KEEPS`] at each of the nine anchors. A copy that
/// was itself cropped off centre has one of these close to a central crop of the known frame
/// ([`CROP_KEEPS`]): the query side does the search over positions, once a second, instead of
/// the known side storing crops at every position ten times a second. (The picture rules do the
/// converse: their known side keeps anchored crops, [`crate::matching::RobustOptions`].)
pub const QUERY_CROP_KEEPS: [f32; 2] = [0.95, 0.9];

/// Query frames given [`VideoFingerprint::query_crops`]: the first 150 sampled (all of a query
/// under 100 seconds, [`super::QUERY_MIN_FRAMES`]), so that the extra hashing and index lookups
/// stay bounded whatever the video's length. A crop or an overlay lasts the whole copy; its
/// first 150 frames show it.
pub const QUERY_CROP_FRAMES: usize = 150;

/// The nine anchors of [`QUERY_CROP_KEEPS`], centre first.
const ANCHORS: [(u8, u8); 9] = [
    (1, 1),
    (0, 0),
    (2, 0),
    (0, 2),
    (2, 2),
    (1, 0),
    (0, 1),
    (2, 1),
    (1, 2),
];

/// A border is a video's bar when at least this share of its usable frames trim at least as
/// much on that side (decided once per video: the automata's flat dead cells at an edge come
/// and go, a letterbox bar stays; a subtitle drawn over a bar now and then does not unmake it).
const BAR_FRAME_SHARE: f64 = 0.8;

/// Frames under this PDQ quality (blank, dark, fades) do not vote on the bars.
const BAR_QUALITY_FLOOR: u8 = 50;

/// Which codes of a video a clip match rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameVariant {
    /// The reference vPDQ codes on both sides.
    Plain,
    /// Borders trimmed on both sides, frame by frame.
    Trimmed,
    /// Each side's frames inside its video-wide bars ([`video_bars`]).
    InsideBars,
    /// The query mirrored left-right, borders trimmed on both sides.
    Mirrored,
    /// The query's plain codes against the known video's central crops ([`CROP_KEEPS`]).
    Cropped,
    /// The query's anchored crops ([`QUERY_CROP_KEEPS`]) against the known video's central
    /// crops: a copy cropped off centre.
    QueryCropped,
}

/// A video's codes: plain vPDQ, trimmed, mirrored-trimmed and central crops, frame for frame.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoFingerprint {
    /// The reference vPDQ.
    pub plain: VideoHash,
    /// Each frame with flat borders trimmed (the plain frame where there is nothing to trim).
    pub trimmed: VideoHash,
    /// The left-right mirror of each trimmed frame.
    pub mirrored: VideoHash,
    /// Each frame inside the video's bars, decided once for the whole video ([`video_bars`];
    /// the whole frame when it has none), hashed from the frame reduced to 128 pixels. Where
    /// frame-by-frame trimming also cuts flat content at an edge, differently in each copy,
    /// these codes stay comparable.
    #[serde(default)]
    pub inside_bars: VideoHash,
    /// Known videos only ([`fingerprint_known_file`]; empty otherwise): one list per
    /// [`CROP_KEEPS`] entry, the central crop of each whole frame keeping that share of each
    /// side, then the central region ([`CENTRE_KEEP`]), each averaged to PDQ's 64x64 by area
    /// from the frame reduced to 512 pixels ([`super::area`]; known videos stored before
    /// session 8 have them tent-blurred, and before the central region the crops only).
    #[serde(default)]
    pub crops: Vec<VideoHash>,
    /// Queries only ([`fingerprint_file`]; empty for known videos): one list per
    /// [`QUERY_CROP_KEEPS`] entry and anchor (keeps outer, anchors inner, centre first), each
    /// frame cropped there, then the central region ([`CENTRE_KEEP`]), the first
    /// [`QUERY_CROP_FRAMES`] frames only; then the whole frame, every frame. All averaged to
    /// 64x64 by area from the frame reduced to 512 pixels, as the known crops are
    /// ([`super::area`]). Compared with the known video's crops, they find copies cropped
    /// centrally or off centre and copies with an overlay near an edge.
    #[serde(default)]
    pub query_crops: Vec<VideoHash>,
}

/// Decodes a video once and computes its [`VideoFingerprint`] as a query: plain, trimmed and
/// mirrored codes, no crops.
///
/// The plain, trimmed and mirrored codes are hashed as each frame arrives; each frame is also
/// kept reduced to 128 pixels, one byte per pixel, until the video's bars are decided from all
/// frames ([`video_bars`]); the codes inside the bars are hashed from those.
///
/// # Errors
/// Any [`VideoError`] from decoding.
pub fn fingerprint_file(
    path: &Path,
    options: &VpdqOptions,
) -> Result<VideoFingerprint, VideoError> {
    fingerprint(path, None, options, &[], &query_crop_list())
}

/// The query's crops as (share kept, anchor): [`QUERY_CROP_KEEPS`] at every anchor, the
/// central region, the whole frame.
fn query_crop_list() -> Vec<(f32, (u8, u8))> {
    let mut query_crops: Vec<(f32, (u8, u8))> = QUERY_CROP_KEEPS
        .iter()
        .flat_map(|&keep| ANCHORS.map(|anchor| (keep, anchor)))
        .collect();
    query_crops.push((CENTRE_KEEP, (1, 1)));
    query_crops.push((1.0, (1, 1)));
    query_crops
}

/// [`fingerprint_file`] with the query sampling for the video's duration
/// ([`VpdqOptions::for_query`] of `options`), probing the file once for both: what the engine
/// does with a video referral.
///
/// ```no_run
/// use referral_dedup::video::{fingerprint_query_file, VpdqOptions};
/// # fn main() -> Result<(), referral_dedup::video::VideoError> {
/// let query = fingerprint_query_file("reupload.mp4".as_ref(), &VpdqOptions::default())?;
/// assert!(query.plain.frames.len() >= 1);
/// # Ok(()) }
/// ```
///
/// # Errors
/// Any [`VideoError`] from probing or decoding.
pub fn fingerprint_query_file(
    path: &Path,
    options: &VpdqOptions,
) -> Result<VideoFingerprint, VideoError> {
    let info = super::probe(path, &options.limits)?;
    let options = options.for_query(info.duration);
    fingerprint(path, Some(&info), &options, &[], &query_crop_list())
}

/// Decodes a video once and computes its [`VideoFingerprint`] for storing as known content:
/// also the central crops of every frame ([`CROP_KEEPS`]), so that cropped copies match, and
/// its central region ([`CENTRE_KEEP`]), so that copies with a logo match.
///
/// ```no_run
/// use referral_dedup::video::{fingerprint_known_file, VpdqOptions, KNOWN_SECONDS_PER_HASH, CROP_KEEPS};
/// # fn main() -> Result<(), referral_dedup::video::VideoError> {
/// let options = VpdqOptions { seconds_per_hash: KNOWN_SECONDS_PER_HASH, ..VpdqOptions::default() };
/// let known = fingerprint_known_file("known.mp4".as_ref(), &options)?;
/// assert_eq!(known.crops.len(), CROP_KEEPS.len() + 1); // and the central region
/// # Ok(()) }
/// ```
///
/// # Errors
/// Any [`VideoError`] from decoding.
pub fn fingerprint_known_file(
    path: &Path,
    options: &VpdqOptions,
) -> Result<VideoFingerprint, VideoError> {
    let mut crops = CROP_KEEPS.to_vec();
    crops.push(CENTRE_KEEP);
    fingerprint(path, None, options, &crops, &[])
}

/// One decode of `path` (probed first unless `info` is given) into its codes.
fn fingerprint(
    path: &Path,
    info: Option<&super::VideoInfo>,
    options: &VpdqOptions,
    crop_keeps: &[f32],
    query_crops: &[(f32, (u8, u8))],
) -> Result<VideoFingerprint, VideoError> {
    let mut fp = VideoFingerprint {
        crops: vec![VideoHash::default(); crop_keeps.len()],
        query_crops: vec![VideoHash::default(); query_crops.len()],
        ..VideoFingerprint::default()
    };
    let mut reduced: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let on_frame = |full: &LumaImage, frame: FrameHash| {
        let plain = pdq_from_luma(full.pixels(), full.width(), full.height());
        fp.plain.frames.push(FrameHash {
            quality: plain.quality,
            pdq: plain.hash,
            ..frame
        });
        // Everything but the plain (exchange) codes is hashed from the frame reduced to
        // WORK_SIDE: one pass over the coded frame instead of one per variant.
        let work = full.reduced(WORK_SIDE);
        let (ww, wh) = (work.width(), work.height());
        // Borders are found on the frame reduced further (a median per line and column:
        // at 512 pixels it cost half of all the hashing), then cut from the work image.
        let trim_view = work.reduced(TRIM_SIDE);
        let variants = match trim_box(&trim_view, &TrimOptions::default()) {
            Some(b) => {
                let b = scale_box(b, (trim_view.width(), trim_view.height()), (ww, wh));
                let trimmed = work.crop(b.x0, b.y0, b.x1, b.y1);
                pdq_dihedral_from_luma(trimmed.pixels(), trimmed.width(), trimmed.height())
            }
            None => pdq_dihedral_from_luma(work.pixels(), ww, wh),
        };
        let with = |pdq: PdqHash| FrameHash {
            quality: pdq.quality,
            pdq: pdq.hash,
            ..frame
        };
        let image = work.reduced(REDUCED_SIDE);
        // A frame with nothing but flat lines (a fade to black between letterbox bars) has no
        // content to trim to: its untrimmed code would be the bars' edges, high in quality and
        // shared by every such frame. It is marked unusable, as its plain twin would be without
        // the bars.
        let blank = is_blank(&image);
        let content = |pdq: PdqHash| FrameHash {
            quality: if blank { 0 } else { pdq.quality },
            ..with(pdq)
        };
        fp.trimmed.frames.push(content(variants[0]));
        fp.mirrored.frames.push(content(variants[MIRROR]));
        // Crops and regions are averaged to PDQ's square from the work image by area
        // (`area`): a multiply-add per covered pixel instead of a tent blur of each crop.
        for (&keep, crops) in crop_keeps.iter().zip(&mut fp.crops) {
            let region = Region::anchored(ww, wh, keep, (1, 1));
            crops.frames.push(with(region_pdq(&work, region)));
        }
        let crop_this_frame = fp.plain.frames.len() <= QUERY_CROP_FRAMES;
        // The whole frame by area (keep 1) goes with every frame: it is what a copy cropped
        // to one of the known crops is compared with, whatever the copy's length.
        for (&(keep, anchor), list) in query_crops
            .iter()
            .zip(&mut fp.query_crops)
            .filter(|((keep, _), _)| crop_this_frame || *keep >= 1.0)
        {
            let region = Region::anchored(ww, wh, keep, anchor);
            list.frames.push(content(region_pdq(&work, region)));
        }
        let bytes = image
            .pixels()
            .iter()
            .map(|&v| v.round().clamp(0.0, 255.0) as u8)
            .collect();
        reduced.push((image.width(), image.height(), bytes));
    };
    match info {
        Some(info) => super::hash_probed_frames(path, info, options, on_frame)?,
        None => super::hash_frames(path, options, on_frame)?,
    }
    let images: Vec<LumaImage> = reduced
        .into_iter()
        .map(|(w, h, px)| {
            LumaImage::new(w, h, px.into_iter().map(f32::from).collect())
                .expect("w*h pixels were kept")
        })
        .collect();
    let bars = video_bars(&images, &fp.plain);
    for (image, frame) in images.iter().zip(&fp.plain.frames) {
        let with = |pdq: PdqHash| FrameHash {
            quality: pdq.quality,
            pdq: pdq.hash,
            ..*frame
        };
        let b = bars.unwrap_or(TrimBox {
            x0: 0,
            y0: 0,
            x1: image.width(),
            y1: image.height(),
        });
        let content = image.crop(b.x0, b.y0, b.x1, b.y1);
        fp.inside_bars.frames.push(with(pdq_from_luma(
            content.pixels(),
            content.width(),
            content.height(),
        )));
    }
    Ok(fp)
}

/// The video's content box inside its bars, decided once for the whole video: each side is
/// cut by the amount that `BAR_FRAME_SHARE` of the usable frames' own trim boxes
/// ([`trim_box`]) cut at least; `None` when no side is cut. `frames` gives each image's quality.
///
/// ```
/// use referral_dedup::media::LumaImage;
/// use referral_dedup::video::fingerprint::video_bars;
/// use referral_dedup::video::{FrameHash, VideoHash};
/// // Ten 64x48 frames of changing texture between 6-pixel black bars at top and bottom.
/// let frame = |t: usize| LumaImage::new(64, 48, (0..64 * 48).map(|i| {
///     let (x, y) = (i % 64, i / 64);
///     if (6..42).contains(&y) { ((x * 37 + y * 91 + t * 53) % 200) as f32 } else { 0.0 }
/// }).collect()).unwrap();
/// let images: Vec<LumaImage> = (0..10).map(frame).collect();
/// let plain = VideoHash { frames: (0..10).map(|t| FrameHash { frame_number: t, quality: 90,
///     pdq: Default::default(), timestamp: t as f64 }).collect() };
/// let b = video_bars(&images, &plain).unwrap();
/// assert_eq!((b.x0, b.y0, b.x1, b.y1), (0, 6, 64, 42));
/// ```
pub fn video_bars(images: &[LumaImage], frames: &VideoHash) -> Option<TrimBox> {
    let (w, h) = images.first().map(|i| (i.width(), i.height()))?;
    let trim = TrimOptions::default();
    // Every frame's own box, however small; the default options' limits are applied below.
    let any_box = TrimOptions {
        min_keep: 0.0,
        min_cut: 0.0,
        ..trim
    };
    // Cuts per side: left, top, right, bottom.
    let mut cuts: [Vec<usize>; 4] = Default::default();
    for (image, frame) in images.iter().zip(&frames.frames) {
        if frame.quality < BAR_QUALITY_FLOOR || (image.width(), image.height()) != (w, h) {
            continue;
        }
        // A frame whose every line is flat (a fade, black between bars) has no box, and one
        // whose content box keeps less than `min_keep` of a side (a small lit object in a dark
        // scene) cannot tell a bar from dark content: neither votes. Counting them as frames
        // without bars outvoted the real bars of a dark letterboxed video.
        let Some(mut b) = trim_box(image, &any_box) else {
            continue;
        };
        let keep = |kept: usize, side: usize| kept as f32 >= trim.min_keep * side as f32;
        if !keep(b.width(), w) || !keep(b.height(), h) {
            continue;
        }
        let cut = |kept: usize, side: usize| (side - kept) as f32 / side as f32 >= trim.min_cut;
        if !cut(b.width(), w) && !cut(b.height(), h) {
            b = TrimBox {
                x0: 0,
                y0: 0,
                x1: w,
                y1: h,
            };
        }
        for (side, cut) in cuts.iter_mut().zip([b.x0, b.y0, w - b.x1, h - b.y1]) {
            side.push(cut);
        }
    }
    if cuts[0].is_empty() {
        return None;
    }
    let [left, top, right, bottom] = cuts.map(|mut side| {
        // The largest cut that at least BAR_FRAME_SHARE of the frames make.
        side.sort_unstable();
        let at = ((1.0 - BAR_FRAME_SHARE) * side.len() as f64).floor() as usize;
        side[at.min(side.len() - 1)]
    });
    let b = TrimBox {
        x0: left,
        y0: top,
        x1: w - right,
        y1: h - bottom,
    };
    let kept = b.x1 > b.x0 + 8 && b.y1 > b.y0 + 8;
    (kept && (left, top, right, bottom) != (0, 0, 0, 0)).then_some(b)
}

/// Whether every row of `image` is flat by [`TrimOptions`]' default test (nearly all pixels
/// within its tolerance of the row's median): a uniform or faded-out frame, with or without
/// bars, shows no content.
///
/// ```
/// use referral_dedup::media::LumaImage;
/// use referral_dedup::video::fingerprint::is_blank;
/// // Black bars around a dark grey field: blank. A texture between the same bars: not blank.
/// let bars = |f: &dyn Fn(usize, usize) -> f32| LumaImage::new(32, 24, (0..32 * 24).map(|i| {
///     let (x, y) = (i % 32, i / 32);
///     if (4..20).contains(&y) { f(x, y) } else { 0.0 }
/// }).collect()).unwrap();
/// assert!(is_blank(&bars(&|_, _| 20.0)));
/// assert!(!is_blank(&bars(&|x, y| ((x * 37 + y * 91) % 200) as f32)));
/// ```
pub fn is_blank(image: &LumaImage) -> bool {
    let opts = TrimOptions::default();
    let w = image.width();
    let mut row = Vec::with_capacity(w);
    image.pixels().chunks_exact(w.max(1)).all(|line| {
        row.clear();
        row.extend_from_slice(line);
        let mid = row.len() / 2;
        let median = *row.select_nth_unstable_by(mid, f32::total_cmp).1;
        let near = row
            .iter()
            .filter(|&&v| (v - median).abs() <= opts.flat_tolerance)
            .count();
        near as f32 >= opts.flat_fraction * row.len() as f32
    })
}

impl ClipRule {
    /// The best aligned segment between two fingerprints: trimmed against trimmed, the query's
    /// mirror against the known trimmed codes, plain against plain, inside the bars on both
    /// sides, and the query's plain
    /// codes against each of the known video's central crops; the match covering the most of
    /// the shorter video wins.
    pub fn align_fingerprints(
        &self,
        query: &VideoFingerprint,
        known: &VideoFingerprint,
    ) -> Option<ClipMatch> {
        let mut combos = vec![
            (FrameVariant::Trimmed, &query.trimmed, &known.trimmed),
            (FrameVariant::Mirrored, &query.mirrored, &known.trimmed),
            (FrameVariant::Plain, &query.plain, &known.plain),
            (
                FrameVariant::InsideBars,
                &query.inside_bars,
                &known.inside_bars,
            ),
        ];
        combos.extend(
            known
                .crops
                .iter()
                .map(|crop| (FrameVariant::Cropped, &query.plain, crop)),
        );
        for q in &query.query_crops {
            combos.extend(
                known
                    .crops
                    .iter()
                    .map(|crop| (FrameVariant::QueryCropped, q, crop)),
            );
        }
        combos
            .into_iter()
            .filter_map(|(variant, q, k)| self.align(q, k).map(|m| ClipMatch { variant, ..m }))
            .max_by(|a, b| {
                (
                    a.radius == self.distance,
                    a.shorter_coverage,
                    a.matched_frames,
                )
                    .partial_cmp(&(
                        b.radius == self.distance,
                        b.shorter_coverage,
                        b.matched_frames,
                    ))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64x48 frame between 6-pixel black bars at top and bottom: textured content when `lit`,
    /// else a dark field (luma 12, noise within 3) with a small lit square at `t`.
    fn letterboxed(t: usize, lit: bool) -> LumaImage {
        LumaImage::new(
            64,
            48,
            (0..64 * 48)
                .map(|i| {
                    let (x, y) = (i % 64, i / 64);
                    if !(6..42).contains(&y) {
                        0.0
                    } else if lit {
                        ((x * 37 + y * 91 + t * 53) % 200) as f32
                    } else if (20 + t % 10..28 + t % 10).contains(&x) && (18..26).contains(&y) {
                        ((x * 31 + y * 17) % 180 + 60) as f32
                    } else {
                        12.0 + ((x + y + t) % 4) as f32
                    }
                })
                .collect(),
        )
        .unwrap()
    }

    fn stamps(n: usize) -> VideoHash {
        VideoHash {
            frames: (0..n)
                .map(|t| FrameHash {
                    frame_number: t as u64,
                    quality: 90,
                    pdq: Default::default(),
                    timestamp: t as f64,
                })
                .collect(),
        }
    }

    #[test]
    fn boxes_scale_to_the_work_image() {
        let boxed = |(x0, y0, x1, y1)| TrimBox { x0, y0, x1, y1 };
        let corners = |b: TrimBox| (b.x0, b.y0, b.x1, b.y1);
        let b = boxed((0, 24, 256, 168));
        let s = scale_box(b, (256, 192), (512, 384));
        assert_eq!(corners(s), (0, 48, 512, 336));
        // Same size: unchanged; a degenerate box keeps a pixel.
        assert_eq!(scale_box(b, (256, 192), (256, 192)), b);
        let s = scale_box(boxed((10, 10, 10, 11)), (256, 192), (100, 75));
        assert!(s.x1 > s.x0 && s.y1 > s.y0);
    }

    #[test]
    fn dark_and_blank_frames_do_not_outvote_the_bars() {
        // Six lit frames, four dark scenes with a small lit object, two blank (a fade): the
        // dark and blank frames cannot tell the bars from dark content and do not vote.
        let mut images: Vec<LumaImage> = (0..6).map(|t| letterboxed(t, true)).collect();
        images.extend((0..4).map(|t| letterboxed(t, false)));
        let blank = LumaImage::new(64, 48, vec![0.0; 64 * 48]).unwrap();
        images.extend([blank.clone(), blank.clone()]);
        let b = video_bars(&images, &stamps(images.len())).unwrap();
        assert_eq!((b.x0, b.y0, b.x1, b.y1), (0, 6, 64, 42));
        assert!(is_blank(&blank) && !is_blank(&letterboxed(0, false)));
    }

    #[test]
    fn frames_without_bars_still_vote_for_none() {
        // Lit frames without bars: no bars, whatever a minority of letterboxed frames say.
        let open = |t: usize| {
            LumaImage::new(
                64,
                48,
                (0..64 * 48)
                    .map(|i| ((i % 64 * 37 + i / 64 * 91 + t * 53) % 200) as f32)
                    .collect(),
            )
            .unwrap()
        };
        let mut images: Vec<LumaImage> = (0..8).map(open).collect();
        images.extend((0..2).map(|t| letterboxed(t, true)));
        assert_eq!(video_bars(&images, &stamps(images.len())), None);
    }
}
