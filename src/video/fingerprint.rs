//! The codes a video is matched by: the reference vPDQ of each sampled frame, plus the same
//! frames with flat borders (letterbox, pillarbox, padding) trimmed and their left-right mirror,
//! all from one decode.
//!
//! The plain codes are exactly vPDQ (they go into exchange files); the trimmed and mirrored codes
//! are what the image rules use for edited copies ([`crate::matching::trim_box`] finds the
//! borders; the mirror comes from the same DCT as the trimmed code).
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

use super::{ClipMatch, ClipRule, FrameHash, VideoError, VideoHash, VpdqOptions};
use crate::matching::{trim_box, TrimOptions};
use crate::media::pdq_dihedral_from_luma;
use crate::media::LumaImage;

/// Index of the left-right mirror in the dihedral order ([`crate::media::DIHEDRAL_NAMES`]).
const MIRROR: usize = 5;

/// Which codes of a video a clip match rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameVariant {
    /// The reference vPDQ codes on both sides.
    Plain,
    /// Borders trimmed on both sides.
    Trimmed,
    /// The query mirrored left-right, borders trimmed on both sides.
    Mirrored,
}

/// A video's codes: plain vPDQ, trimmed, and mirrored-trimmed, frame for frame.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoFingerprint {
    /// The reference vPDQ.
    pub plain: VideoHash,
    /// Each frame with flat borders trimmed (the plain frame where there is nothing to trim).
    pub trimmed: VideoHash,
    /// The left-right mirror of each trimmed frame.
    pub mirrored: VideoHash,
}

/// Decodes a video once and computes its [`VideoFingerprint`].
///
/// # Errors
/// Any [`VideoError`] from decoding.
pub fn fingerprint_file(
    path: &Path,
    options: &VpdqOptions,
) -> Result<VideoFingerprint, VideoError> {
    let mut fp = VideoFingerprint::default();
    let trim = TrimOptions::default();
    super::hash_frames(path, options, |luma, w, h, frame| {
        let plain = crate::media::pdq_from_luma(luma, w, h);
        let image = LumaImage::new(w, h, luma.to_vec()).expect("the decoder gives w*h pixels");
        let cropped = match trim_box(&image, &trim) {
            Some(b) => image.crop(b.x0, b.y0, b.x1, b.y1),
            None => image,
        };
        let variants = pdq_dihedral_from_luma(cropped.pixels(), cropped.width(), cropped.height());
        let with = |pdq: crate::media::PdqHash| FrameHash {
            quality: pdq.quality,
            pdq: pdq.hash,
            ..frame
        };
        fp.plain.frames.push(with(plain));
        fp.trimmed.frames.push(with(variants[0]));
        fp.mirrored.frames.push(with(variants[MIRROR]));
    })?;
    Ok(fp)
}

impl ClipRule {
    /// The best aligned segment between two fingerprints: trimmed against trimmed, the query's
    /// mirror against the known trimmed codes, and plain against plain; the match covering the
    /// most of the shorter video wins.
    pub fn align_fingerprints(
        &self,
        query: &VideoFingerprint,
        known: &VideoFingerprint,
    ) -> Option<ClipMatch> {
        [
            (FrameVariant::Trimmed, &query.trimmed, &known.trimmed),
            (FrameVariant::Mirrored, &query.mirrored, &known.trimmed),
            (FrameVariant::Plain, &query.plain, &known.plain),
        ]
        .into_iter()
        .filter_map(|(variant, q, k)| self.align(q, k).map(|m| ClipMatch { variant, ..m }))
        .max_by(|a, b| {
            (a.shorter_coverage, a.matched_frames)
                .partial_cmp(&(b.shorter_coverage, b.matched_frames))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    }
}
