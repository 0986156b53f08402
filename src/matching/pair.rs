//! A pair as the rule sees it: what it decides on ([`PairFacts`]: distances, qualities,
//! second-hash distances, luma grids) and what it answers ([`PairDecision`], [`MatchTier`],
//! [`MatchEvidence`]). The decision itself is [`super::MatchRule::decide_pair`].

use serde::Serialize;

use super::{QueryRegion, StoredRegion};

use crate::hashes::HashKind;

/// Which tier of the rule accepted a pair.
///
/// ```
/// use referral_dedup::matching::MatchTier;
/// assert_ne!(MatchTier::Strict, MatchTier::Confirmed);
/// assert_eq!(serde_json::to_string(&MatchTier::Loose).unwrap(), "\"loose\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchTier {
    /// PDQ within `pdq_threshold`.
    Strict,
    /// PDQ within `loose_threshold`, both qualities high.
    Loose,
    /// PDQ within the confirm bound, qualities high, dHash and pHash close.
    Confirmed,
    /// A picture under the quality floor: a tight PDQ distance through an alignment whose
    /// content agrees, dHash and pHash close ([`super::MatchRule::low_quality`]).
    LowQuality,
}

/// A second hash that confirmed a PDQ distance beyond the loose tier.
///
/// ```
/// use referral_dedup::matching::Confirmation;
/// use referral_dedup::hashes::HashKind;
/// let c = Confirmation { kind: HashKind::Dhash, distance: 3 };
/// assert_eq!(c.distance, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    /// The confirming hash kind.
    pub kind: HashKind,
    /// Its Hamming distance.
    pub distance: u32,
}

/// dHash and pHash distances (of 64 bits) between one query picture (the whole picture or
/// one of its boxes) and the stored whole picture; `None` where a side has no such hash.
///
/// ```
/// use referral_dedup::matching::SecondDistances;
/// let s = SecondDistances { dhash: Some(3), phash: None };
/// assert_eq!(s.dhash, Some(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecondDistances {
    /// dHash distance.
    pub dhash: Option<u32>,
    /// pHash distance.
    pub phash: Option<u32>,
}

/// The luma grids of both sides of a pair, for the content check.
///
/// ```
/// use referral_dedup::matching::PairRegions;
/// let r = PairRegions { query: &[], stored: &[], stored_is_known: false };
/// assert!(r.query.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PairRegions<'a> {
    /// The query's regions (whole picture and boxes, with their dihedral codes).
    pub query: &'a [QueryRegion],
    /// Every stored code of the other side with the grid of its region.
    pub stored: &'a [StoredRegion],
    /// The stored side is known content (clean originals): its strict, loose and confirmed
    /// tiers are decided on PDQ distances, unless the query sits in the known item's template
    /// ([`crate::matching::ContentCheck::in_known_template`]); the low-quality rule checks
    /// its content.
    pub stored_is_known: bool,
}

impl PairRegions<'_> {
    /// The query has a box inside a frame (a trimmed or framed region besides the whole
    /// picture: caption bands, padding, a page or poster layout around the content).
    ///
    /// ```
    /// use referral_dedup::matching::PairRegions;
    /// assert!(!PairRegions { query: &[], stored: &[], stored_is_known: false }.query_framed());
    /// ```
    pub fn query_framed(&self) -> bool {
        self.query.len() > 1
    }

    /// Whether the strict, loose and confirmed tiers must rest on an alignment whose content
    /// agrees ([`crate::matching::ContentCheck`]) rather than on the plain PDQ distance.
    /// `strict`: the closest distance is within the strict tier.
    ///
    /// - Against an earlier **referral**: always beyond the strict tier; within it when both
    ///   sides are framed (the query has a box and the stored side's regions are more than its
    ///   whole picture). Two different dim pictures under the same caption bands come within
    ///   31 bits (the bands carry the PDQ energy). Within the strict tier with one side or
    ///   neither framed, the pair is order-checked instead ([`PairRegions::order_checked`]):
    ///   content agreeing in levels or in rank order, which keeps greyscale copies (other
    ///   luma weights) and clipped contrast edits.
    /// - Against **known content** (clean originals): not by this gate (only the low-quality
    ///   rule checks its content, and [`crate::matching::ContentCheck::in_known_template`]
    ///   where the query sits in the known item's template). Checking every framed query
    ///   cost the match-quality harness's engine column 0.977 -> 0.832 of recall (quick run).
    ///
    /// ```
    /// use referral_dedup::matching::PairRegions;
    /// let r = PairRegions { query: &[], stored: &[], stored_is_known: false };
    /// assert!(r.content_checked(false) && !r.content_checked(true));
    /// assert!(!PairRegions { stored_is_known: true, ..r }.content_checked(false));
    /// ```
    pub fn content_checked(&self, strict: bool) -> bool {
        if self.stored_is_known {
            false
        } else {
            !strict || (self.query_framed() && self.stored_framed())
        }
    }

    /// The stored side (an earlier referral) has a box inside a frame: regions besides its
    /// whole picture (a referral stores no crops or rotations).
    ///
    /// ```
    /// use referral_dedup::matching::PairRegions;
    /// assert!(!PairRegions { query: &[], stored: &[], stored_is_known: false }.stored_framed());
    /// ```
    pub fn stored_framed(&self) -> bool {
        self.stored.len() > 1
    }

    /// Whether a strict-tier match against an earlier referral that is not content-checked
    /// ([`PairRegions::content_checked`]: both sides framed) must rest on an alignment whose
    /// content agrees in levels *or in rank order*
    /// ([`crate::matching::ContentCheck::closest_agreeing_in_level_or_order`]). The trimmer
    /// finds no box around dim content as flat as the caption bands over it, so two
    /// different dim pictures under one set of bands came within 31 bits with one side or
    /// neither side framed (held-out dim meme pairs); a levels-only check there split
    /// greyscale copies (other luma weights move cells by colour) and clipped contrast edits
    /// (bundled backlog), which keep the order of their cells.
    ///
    /// ```
    /// use referral_dedup::matching::PairRegions;
    /// let r = PairRegions { query: &[], stored: &[], stored_is_known: false };
    /// assert!(r.order_checked(true) && !r.order_checked(false));
    /// assert!(!PairRegions { stored_is_known: true, ..r }.order_checked(true));
    /// ```
    pub fn order_checked(&self, strict: bool) -> bool {
        strict && !self.stored_is_known && !(self.query_framed() && self.stored_framed())
    }
}

/// Everything the rule decides a pair on. The caller computes it: the engine for each
/// candidate its indexes found, [`super::MatchRule::decide`] from hashes, [`super::pair_match`] from
/// two fingerprints.
///
/// ```
/// use referral_dedup::matching::{MatchRule, MatchTier, PairFacts};
/// let facts = PairFacts { closest: Some(40), query_quality: Some(90), stored_quality: Some(80), ..PairFacts::default() };
/// assert_eq!(MatchRule::default().decide_pair(&facts).unwrap().tier, MatchTier::Loose);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PairFacts<'a> {
    /// The smallest PDQ distance between a query code the rule looks up
    /// ([`super::MediaFingerprint::lookup_codes`]) and a stored code; `None` without PDQ.
    pub closest: Option<u32>,
    /// The query's PDQ quality (`None`: unknown, counts as under the floor).
    pub query_quality: Option<u8>,
    /// The stored side's PDQ quality (`None`: a list item without one, trusted).
    pub stored_quality: Option<u8>,
    /// Second-hash distances: the query's whole picture first, then its boxes.
    pub seconds: &'a [SecondDistances],
    /// Luma grids of both sides, when both have them.
    pub regions: Option<PairRegions<'a>>,
}

/// The rule's answer for a pair: the tier, the distance it rests on and, for the confirmed
/// tier, the confirming hash.
///
/// ```
/// use referral_dedup::matching::{MatchRule, PairFacts};
/// let facts = PairFacts { closest: Some(3), query_quality: Some(90), stored_quality: None, ..PairFacts::default() };
/// assert_eq!(MatchRule::default().decide_pair(&facts).unwrap().distance, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairDecision {
    /// The tier that accepted the pair.
    pub tier: MatchTier,
    /// The PDQ distance it rests on (of an agreeing alignment where content was checked).
    pub distance: u32,
    /// The second hash that confirmed a confirmed-tier match.
    pub confirmed_by: Option<Confirmation>,
}

/// Why a pair matched: the smallest distance, which codes produced it, and the tier.
///
/// ```
/// use referral_dedup::matching::{MatchEvidence, MatchTier};
/// let e = MatchEvidence { distance: 3, query_code: 0, stored_code: 0, tier: MatchTier::Strict };
/// assert_eq!(e.distance, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchEvidence {
    /// Smallest PDQ distance found.
    pub distance: u32,
    /// Index into [`super::QueryHashes::codes`].
    pub query_code: usize,
    /// Index into [`super::KnownHashes::codes`] (0 = the plain PDQ).
    pub stored_code: usize,
    /// The tier that accepted it.
    pub tier: MatchTier,
}
