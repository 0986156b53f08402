//! Matching re-uploads that plain PDQ misses: borders, letterboxing, crops, mirrors and rotations.
//!
//! Built on the media layer's reference-compatible PDQ ([`crate::media::pdq_dihedral_from_luma`]).

pub mod luma;

pub use luma::LumaImage;

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

pub mod robust;
pub mod trim;

pub use robust::{KnownHashes, QueryHashes, RobustOptions, SecondHashes, VariantKind};
pub use trim::{trim_box, TrimBox, TrimOptions};
pub mod rule;
pub use rule::{MatchEvidence, MatchRule, MatchTier};
