//! The decision rule: when do a query's hashes and a known item's hashes mean the same picture.
//!
//! Three tiers, thresholds chosen on the match-quality harness (`BENCHMARKS.md` (match quality)):
//!
//! 1. **Strict**: some query code (whole image or trimmed box, any of the 8 dihedral variants)
//!    is within [`MatchRule::radius`] (31, Meta's threshold) of some stored code (whole image,
//!    trimmed box, crops, small rotations). No quality condition, as in the reference tools
//!    (the engine, which stores every referral, asks for quality >= 50 on every tier).
//! 2. **Loose**: within [`MatchRule::loose_radius`] (52) when both PDQ qualities reach
//!    [`MatchRule::min_quality`] (50). On the harness no distractor of quality >= 50 came
//!    closer than 80 bits to any stored code, and on the generated 100,000-referral backlog
//!    the closest different items came at 66 bits.
//! 3. **Confirmed**: within [`MatchRule::confirm_radius`] (80), both qualities >= 50, *and*
//!    the dHash *and* the pHash of the whole query (or of one of its boxes) within
//!    [`MatchRule::confirm_hash64`] (16 of 64 bits) of the stored item's
//!    ([`MatchRule::confirm_both`]; with either one alone, unrelated generated pictures with
//!    a pHash 12-16 or a dHash 14-16 bits apart merged in the sample backlog).
//!    This catches crops and watermarks that move PDQ a long way but leave the coarse
//!    64-bit hashes close; neither 64-bit hash is trusted alone (dHash alone falsely matched
//!    78 of 5,000 distractors at 10 bits).

use super::{KnownHashes, QueryHashes};

/// Match decision thresholds.
///
/// ```
/// use referral_dedup::matching::MatchRule;
/// let r = MatchRule::default();
/// assert_eq!((r.radius, r.loose_radius, r.confirm_radius), (31, Some(52), Some(80)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchRule {
    /// Largest PDQ distance between any query code and any stored code that matches alone.
    pub radius: u32,
    /// Larger PDQ distance that matches when both qualities reach `min_quality`.
    pub loose_radius: Option<u32>,
    /// Still larger PDQ distance that matches when, in addition, dHash and pHash agree.
    pub confirm_radius: Option<u32>,
    /// dHash/pHash distance (of 64 bits) that confirms a `confirm_radius` hit.
    pub confirm_hash64: u32,
    /// The confirmation needs dHash *and* pHash within `confirm_hash64` (of the same picture
    /// or box), not either one.
    pub confirm_both: bool,
    /// Quality floor for the loose and confirmed tiers.
    pub min_quality: u8,
    /// Compare the query's seven rotated/mirrored variants too.
    pub dihedral: bool,
    /// Use the trimmed query hash and the stored extra variants.
    pub extras: bool,
}

impl Default for MatchRule {
    fn default() -> Self {
        MatchRule {
            radius: 31,
            loose_radius: Some(52),
            confirm_radius: Some(80),
            confirm_hash64: 16,
            confirm_both: true,
            min_quality: 50,
            dihedral: true,
            extras: true,
        }
    }
}

/// Which tier of the rule accepted a pair.
///
/// ```
/// use referral_dedup::matching::MatchTier;
/// assert_ne!(MatchTier::Strict, MatchTier::Confirmed);
/// assert_eq!(serde_json::to_string(&MatchTier::Loose).unwrap(), "\"loose\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchTier {
    /// PDQ within `radius`.
    Strict,
    /// PDQ within `loose_radius`, both qualities high.
    Loose,
    /// PDQ within `confirm_radius`, qualities high, dHash and pHash close.
    Confirmed,
    /// A picture under the quality floor: a tight PDQ distance through an alignment whose
    /// content agrees, dHash and pHash close (the engine's `MatchRule::low_quality`).
    LowQuality,
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
    /// Index into [`QueryHashes::codes`].
    pub query_code: usize,
    /// Index into [`KnownHashes::codes`] (0 = the plain PDQ).
    pub stored_code: usize,
    /// The tier that accepted it.
    pub tier: MatchTier,
}

impl MatchRule {
    /// Plain reference matching: the query's own PDQ against the stored PDQ, distance <= 31.
    ///
    /// ```
    /// use referral_dedup::matching::MatchRule;
    /// assert!(!MatchRule::reference().dihedral);
    /// ```
    pub fn reference() -> MatchRule {
        MatchRule {
            radius: 31,
            loose_radius: None,
            confirm_radius: None,
            confirm_hash64: 0,
            confirm_both: false,
            min_quality: 0,
            dihedral: false,
            extras: false,
        }
    }

    /// The largest PDQ distance any tier can accept (the radius to search an index with).
    ///
    /// ```
    /// use referral_dedup::matching::MatchRule;
    /// assert_eq!(MatchRule::default().search_radius(), 80);
    /// assert_eq!(MatchRule::reference().search_radius(), 31);
    /// ```
    pub fn search_radius(&self) -> u32 {
        self.radius
            .max(self.loose_radius.unwrap_or(0))
            .max(self.confirm_radius.unwrap_or(0))
    }

    /// The best-matching pair of codes if the rule accepts the pair of items.
    ///
    /// ```
    /// use referral_dedup::hashes::{Hash64, Pdq};
    /// use referral_dedup::matching::{KnownHashes, MatchRule, PdqVariants, QueryHashes, SecondHashes};
    /// let second = SecondHashes { dhash: Hash64(0), phash: Hash64(0) };
    /// let known = KnownHashes { pdq: Pdq([0; 4]), quality: 100, extra: vec![], second };
    /// let mut dihedral = [Pdq([!0; 4]); 8];
    /// dihedral[5] = Pdq([0b111, 0, 0, 0]); // the mirror is 3 bits away
    /// let q = QueryHashes { full: PdqVariants { dihedral, quality: 100 }, trimmed: None, second, second_trimmed: None, framed: None, second_framed: None };
    /// assert_eq!(MatchRule::default().decide(&q, &known).unwrap().distance, 3);
    /// assert!(MatchRule::reference().decide(&q, &known).is_none());
    /// ```
    pub fn decide(&self, query: &QueryHashes, known: &KnownHashes) -> Option<MatchEvidence> {
        let qcodes = query.codes();
        let scodes = known.codes();
        let q_used = |i: usize| (self.dihedral || i.is_multiple_of(8)) && (self.extras || i < 8);
        let s_used = |j: usize| self.extras || j == 0;
        let mut best: Option<(u32, usize, usize)> = None;
        for (i, q) in qcodes.iter().enumerate().filter(|(i, _)| q_used(*i)) {
            for (j, s) in scodes.iter().enumerate().filter(|(j, _)| s_used(*j)) {
                let d = q.distance(s);
                if best.is_none_or(|b| d < b.0) {
                    best = Some((d, i, j));
                }
            }
        }
        let (distance, query_code, stored_code) = best?;
        let evidence = |tier| {
            Some(MatchEvidence {
                distance,
                query_code,
                stored_code,
                tier,
            })
        };
        if distance <= self.radius {
            return evidence(MatchTier::Strict);
        }
        let quality_ok =
            query.full.quality >= self.min_quality && known.quality >= self.min_quality;
        if !quality_ok {
            return None;
        }
        if self.loose_radius.is_some_and(|r| distance <= r) {
            return evidence(MatchTier::Loose);
        }
        if self.confirm_radius.is_some_and(|r| distance <= r)
            && std::iter::once(&query.second)
                .chain(query.second_trimmed.as_ref())
                .chain(query.second_framed.as_ref())
                .any(|q| {
                    let (d, p) = (
                        q.dhash.distance(&known.second.dhash),
                        q.phash.distance(&known.second.phash),
                    );
                    if self.confirm_both {
                        d.max(p) <= self.confirm_hash64
                    } else {
                        d.min(p) <= self.confirm_hash64
                    }
                })
        {
            return evidence(MatchTier::Confirmed);
        }
        None
    }
}
