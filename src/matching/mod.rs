//! Matching re-uploads that plain PDQ misses: borders, letterboxing, crops, mirrors and rotations.
//!
//! Built on the media layer's reference-compatible PDQ ([`crate::media::pdq_dihedral_from_luma`]).
//! A known item stores more than its plain PDQ ([`KnownHashes`]: trimmed content box, crops,
//! small rotations, dHash/pHash); a query looks up all eight dihedral variants of itself and of
//! its trimmed box ([`QueryHashes`]). The one [`MatchRule`] decides in tiers (PDQ <= 31; <= 52;
//! <= 80 confirmed by dHash and pHash; at quality >= 50, and under it the low-quality rule)
//! through one function, [`MatchRule::decide_pair`]; [`MatchRule::reference`] is plain
//! reference matching. Thresholds and their measured effect: `BENCHMARKS.md` (match quality),
//! produced by `examples/match_quality.rs`.
//!
//! Like `media`, this module is a pure function of its input; it knows nothing of the index. To
//! use it with `index::HammingIndex`, insert every [`KnownHashes::codes`] entry under
//! the item's id, search with every [`QueryHashes::codes`] entry at
//! [`MatchRule::search_radius`], and let [`MatchRule::decide`] rule on each candidate; or
//! compare two fingerprints directly with [`pair_match`].
//!
//! ```
//! use image::{imageops, DynamicImage, RgbImage};
//! use referral_dedup::matching::{KnownHashes, MatchRule, QueryHashes, RobustOptions};
//! let picture = RgbImage::from_fn(120, 90, |x, y| {
//!     image::Rgb([(x * 2) as u8, (y * 3) as u8, ((x * y) % 251) as u8])
//! });
//! let opts = RobustOptions::default();
//! let known = KnownHashes::compute(&DynamicImage::ImageRgb8(picture.clone()), &opts).unwrap();
//! let mirrored = DynamicImage::ImageRgb8(imageops::flip_horizontal(&picture));
//! let query = QueryHashes::compute(&mirrored, &opts).unwrap();
//! assert!(MatchRule::harness().decide(&query, &known).is_some());
//! assert!(MatchRule::reference().decide(&query, &known).is_none());
//! ```

pub use crate::media::LumaImage;

use crate::hashes::Pdq;
use crate::media;

/// The eight dihedral PDQ hashes of one luma image (index 0 = the image as given) and its
/// quality.
///
/// ```
/// use referral_dedup::matching::{pdq_variants, LumaImage};
/// let luma = LumaImage::new(2, 2, vec![0.0; 4]).unwrap();
/// assert!(pdq_variants(&luma).is_none()); // below PDQ's 5-pixel guard
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqVariants {
    /// Hashes in the reference's dihedral order: original, rot90, rot180, rot270, flipx,
    /// flipy, flipplus1, flipminus1.
    pub dihedral: [Pdq; 8],
    /// PDQ quality, 0..=100.
    pub quality: u8,
}

/// PDQ and its dihedral variants of a luma image; `None` when a side is under 5 pixels.
///
/// ```
/// use referral_dedup::matching::{pdq_variants, LumaImage};
/// let px: Vec<f32> = (0..64 * 48).map(|i| ((i * 7919) % 251) as f32).collect();
/// let v = pdq_variants(&LumaImage::new(64, 48, px).unwrap()).unwrap();
/// assert_ne!(v.dihedral[0], v.dihedral[5]);
/// ```
pub fn pdq_variants(luma: &LumaImage) -> Option<PdqVariants> {
    let (w, h) = (luma.width(), luma.height());
    if w < 5 || h < 5 {
        return None;
    }
    let all = media::pdq_dihedral_from_luma(luma.pixels(), w, h);
    let mut dihedral = all.map(|p| p.hash);
    if w == 64 && h == 64 {
        // The reference's plain entry point skips the blur at exactly 64x64; the dihedral one
        // does not. Keep variant 0 identical to the plain, interoperable hash.
        dihedral[0] = media::pdq_from_luma(luma.pixels(), w, h).hash;
    }
    Some(PdqVariants {
        dihedral,
        quality: all[0].quality,
    })
}

pub mod content;
pub mod known_template;
pub mod order;
pub mod robust;
pub mod trim;

pub use content::{ContentCheck, ContentMatch, LumaGrid, QueryRegion, StoredRegion};
pub use order::{RankOrder, RankOrderCheck};

pub use robust::{regions, KnownHashes, QueryHashes, RobustOptions, SecondHashes, VariantKind};
pub use trim::{frame_box, trim_box, TrimBox, TrimOptions};
pub mod fingerprint;
pub mod pair;
pub mod rule;
pub use fingerprint::{closest_distance, pair_match, MediaFingerprint};
pub use pair::{
    Confirmation, MatchEvidence, MatchTier, PairDecision, PairFacts, PairRegions, SecondDistances,
};
pub use rule::{ConfirmRule, LowQualityRule, MatchRule};
