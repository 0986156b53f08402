//! The match rule: one [`MatchRule`] (thresholds, quality floor, variants, confirmation,
//! content check, low-quality rule) and one decision, [`MatchRule::decide_pair`], from what is
//! known about a pair (PDQ distance, qualities, second-hash distances, luma grids) to a tier.
//!
//! Every caller rules through `decide_pair`: the engine (after its index lookups found the
//! candidates), [`MatchRule::decide`] (hashes of a query and a known item, the match-quality
//! harness) and [`super::pair_match`] (two fingerprints, no index). Thresholds and their
//! measured effect: `BENCHMARKS.md` (match quality, precision on shared frames).
//!
//! The tiers, in the order they are tried:
//!
//! 1. **Strict**: some query code (whole picture or a box, any of the 8 dihedral variants)
//!    within [`MatchRule::pdq_threshold`] (31, Meta's threshold) of some stored code.
//! 2. **Loose**: within [`MatchRule::loose_threshold`] (52). On the harness no distractor of
//!    quality >= 50 came closer than 80 bits to any stored code.
//! 3. **Confirmed**: within [`ConfirmRule::pdq_threshold`] (80) when the dHash *and* the pHash
//!    of the query (or of one of its boxes) are within 16 of 64 bits of the stored picture's
//!    (either one alone merged unrelated generated pictures).
//! 4. **Low quality**: under the quality floor, through an alignment whose content agrees
//!    within 24 bits, with dHash and pHash within 10 ([`LowQualityRule`]).
//!
//! Strict, loose and confirmed need both PDQ qualities at [`MatchRule::quality_floor`] (50);
//! with [`MatchRule::floor_on_strict`] off (Meta's reference tools, [`MatchRule::harness`]) a
//! strict-tier distance matches at any quality. Where both sides carry luma grids, the
//! distance is that of an alignment whose content agrees ([`MatchRule::content`]): between
//! two referrals beyond the strict tier, and within it too when both are framed
//! ([`super::PairRegions::content_checked`]); within the strict tier otherwise, in levels or
//! in rank order ([`super::PairRegions::order_checked`]); against known content, where the
//! query sits in the known item's template ([`super::ContentCheck::in_known_template`],
//! [`super::ContentCheck::in_known_whole_template`]).

use super::pair::{
    Confirmation, MatchEvidence, MatchTier, PairDecision, PairFacts, SecondDistances,
};
use super::{ContentCheck, KnownHashes, QueryHashes};
use crate::hashes::HashKind;

/// When perceptual hashes decide a match (URL keys and exact digests match when equal).
///
/// The default is the rule measured by the match-quality and precision harnesses
/// (`examples/match_quality.rs`, `examples/precision.rs`; figures in `BENCHMARKS.md`):
///
/// 1. The strict, loose and confirmed tiers need both hashes to reach
///    [`quality_floor`](Self::quality_floor) (50); below it only the low-quality rule (6.)
///    applies. A known item whose list gave no quality is trusted as the list provider vetted it.
/// 2. **Strict**: some query code within [`pdq_threshold`](Self::pdq_threshold) (31 bits,
///    Meta's recommended value) of some stored code.
/// 3. **Loose**: within [`loose_threshold`](Self::loose_threshold) (52).
/// 4. **Confirmed**: within [`ConfirmRule::pdq_threshold`] (80) when the dHash and the pHash
///    of the query (or of one of its boxes) are both within 16 of 64 bits of the entry's.
/// 5. Query codes: the plain PDQ, its 7 other [`dihedral`](Self::dihedral) variants (mirrors,
///    right-angle rotations) and, with [`variants`](Self::variants), the 8 of each box found
///    inside borders, letterbox bars or a frame. Stored codes: the plain PDQ and, with
///    `variants`, those boxes; known content added from media also stores crops keeping 95%
///    and 90% of each side and +-3 degree rotations ([`crate::matching::KnownHashes`]).
///    Referrals store only their boxes, which keeps batch dedup within about 2.5x of plain PDQ
///    (storing and looking up every crop made it 9x slower), so a crop of an earlier
///    *referral* is caught by the loose and confirmed tiers only.
/// 6. Content over frame ([`content`](Self::content)): against an earlier *referral* whose
///    picture was hashed with its luma grids, a distance beyond the strict tier, or within
///    it when both pictures are framed, counts only as the distance of an alignment whose
///    content agrees ([`crate::matching::ContentCheck`],
///    [`crate::matching::PairRegions::content_checked`]; with both framed, content boxes
///    that clearly disagree veto the pair); within the strict tier otherwise, content
///    agreeing in levels *or in rank order* ([`crate::matching::RankOrderCheck`],
///    [`crate::matching::PairRegions::order_checked`]). Known content keeps the plain tiers
///    unless the query sits in the known item's template
///    ([`crate::matching::ContentCheck::in_known_template`], or as a whole picture:
///    [`crate::matching::ContentCheck::in_known_whole_template`]). Pictures under
///    the quality floor match only that way, within 24 bits, with dHash and pHash within 10
///    ([`low_quality`](Self::low_quality)).
/// 7. dHash and pHash never decide alone ([`dhash_alone`](Self::dhash_alone) and
///    [`phash_alone`](Self::phash_alone) are `None`): measured on unrelated pictures they give
///    false matches at any useful radius.
///
/// [`MatchRule::plain_pdq`] is plain reference matching at the floor (the CLI's
/// `--plain-pdq`), [`MatchRule::reference`] the same without a floor (the harness's baseline),
/// [`MatchRule::harness`] the default with the strict tier at any quality (the harness's
/// "improved" figures).
///
/// ```
/// use referral_dedup::matching::MatchRule;
/// let rule = MatchRule::default();
/// assert_eq!((rule.pdq_threshold, rule.loose_threshold, rule.quality_floor), (31, Some(52), 50));
/// assert!(rule.dihedral && rule.variants && rule.dhash_alone.is_none() && rule.floor_on_strict);
/// assert_eq!(rule.confirm.unwrap().pdq_threshold, 80);
/// let plain = MatchRule::plain_pdq();
/// assert!(!plain.dihedral && !plain.variants && plain.confirm.is_none() && plain.loose_threshold.is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRule {
    /// Largest PDQ Hamming distance that matches on its own (0..=256).
    pub pdq_threshold: u32,
    /// A larger PDQ distance (0..=256) that also matches (both qualities at the floor).
    pub loose_threshold: Option<u32>,
    /// Smallest PDQ quality (0..=100) for a PDQ hash to match.
    pub quality_floor: u8,
    /// The quality floor applies to the strict tier too (the default). `false`: a strict-tier
    /// distance matches at any quality, as in Meta's reference tools and the match-quality
    /// harness; the floor then guards the loose and confirmed tiers only.
    pub floor_on_strict: bool,
    /// Also match the query's 8 dihedral variants (mirrors and right-angle rotations).
    pub dihedral: bool,
    /// Trim borders and letterbox bars from queries, and store trimmed, cropped and slightly
    /// rotated variants of every entry with media.
    pub variants: bool,
    /// A still looser PDQ bound that counts when a second hash agrees.
    pub confirm: Option<ConfirmRule>,
    /// dHash radius at which dHash alone decides (`None`: never).
    pub dhash_alone: Option<u32>,
    /// pHash radius at which pHash alone decides (`None`: never).
    pub phash_alone: Option<u32>,
    /// Content over frame: a PDQ match between two pictures that both carry luma grids
    /// counts only through an alignment whose content agrees ([`crate::matching::content`]).
    /// `None`: PDQ distances decide alone.
    pub content: Option<ContentCheck>,
    /// The perceptual rule for pictures under [`quality_floor`](Self::quality_floor)
    /// (`None`: they match on keys and digests only).
    pub low_quality: Option<LowQualityRule>,
}

impl Default for MatchRule {
    fn default() -> Self {
        MatchRule {
            pdq_threshold: 31,
            loose_threshold: Some(52),
            quality_floor: 50,
            floor_on_strict: true,
            dihedral: true,
            variants: true,
            confirm: Some(ConfirmRule {
                pdq_threshold: 80,
                dhash_threshold: Some(16),
                phash_threshold: Some(16),
                allow_low_quality: false,
                require_both: true,
            }),
            dhash_alone: None,
            phash_alone: None,
            content: Some(ContentCheck::default()),
            low_quality: Some(LowQualityRule::default()),
        }
    }
}

/// How pictures whose PDQ quality is under the floor (text on a flat colour, dark or blurred
/// pictures) match: a tight PDQ distance through an alignment whose content agrees
/// ([`MatchRule::content`], required), confirmed by the dHash *and* the pHash of the whole
/// pictures. Without luma grids on both sides (hash-list items) they do not match
/// perceptually.
///
/// ```
/// use referral_dedup::matching::LowQualityRule;
/// let r = LowQualityRule::default();
/// assert!(r.pdq_threshold <= 31 && r.hash64_threshold <= 16);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LowQualityRule {
    /// Largest PDQ distance.
    pub pdq_threshold: u32,
    /// Largest dHash and pHash distance (of 64 bits), both required.
    pub hash64_threshold: u32,
}

impl Default for LowQualityRule {
    fn default() -> Self {
        LowQualityRule {
            pdq_threshold: 24,
            hash64_threshold: 10,
        }
    }
}

/// PDQ within a looser bound, confirmed by dHash or pHash (or both, with `require_both`).
///
/// ```
/// use referral_dedup::matching::ConfirmRule;
/// let c = ConfirmRule { pdq_threshold: 60, dhash_threshold: Some(8), phash_threshold: None, allow_low_quality: false, require_both: false };
/// assert!(c.dhash_threshold.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmRule {
    /// Largest PDQ distance considered.
    pub pdq_threshold: u32,
    /// dHash radius that confirms (both sides must have a dHash).
    pub dhash_threshold: Option<u32>,
    /// pHash radius that confirms (both sides must have a pHash).
    pub phash_threshold: Option<u32>,
    /// Let a confirmed hit count even when a PDQ quality is below the floor.
    pub allow_low_quality: bool,
    /// Ask for dHash *and* pHash within their radii (of the same picture or box) instead of
    /// either one.
    pub require_both: bool,
}

impl MatchRule {
    /// Plain reference PDQ matching: the query's own PDQ against stored plain PDQs, distance
    /// <= 31, both qualities >= 50; no dihedral variants, trimming, stored variants or
    /// confirmed tier (the CLI's `--plain-pdq`).
    ///
    /// ```
    /// use referral_dedup::matching::MatchRule;
    /// assert_eq!(MatchRule::plain_pdq().pdq_threshold, 31);
    /// ```
    pub fn plain_pdq() -> MatchRule {
        MatchRule {
            pdq_threshold: 31,
            loose_threshold: None,
            quality_floor: 50,
            floor_on_strict: true,
            dihedral: false,
            variants: false,
            confirm: None,
            dhash_alone: None,
            phash_alone: None,
            content: None,
            low_quality: None,
        }
    }

    /// Plain reference matching without a quality floor: the query's own PDQ against the
    /// stored PDQ, distance <= 31 (the match-quality harness's baseline).
    ///
    /// ```
    /// use referral_dedup::matching::MatchRule;
    /// assert!(!MatchRule::reference().dihedral);
    /// assert_eq!(MatchRule::reference(), MatchRule { quality_floor: 0, ..MatchRule::plain_pdq() });
    /// ```
    pub fn reference() -> MatchRule {
        MatchRule {
            quality_floor: 0,
            ..MatchRule::plain_pdq()
        }
    }

    /// The default rule with the strict tier at any quality ([`MatchRule::floor_on_strict`]
    /// off), as the match-quality harness measures the "improved" method against known
    /// content (the figures in `BENCHMARKS.md`).
    ///
    /// ```
    /// use referral_dedup::matching::{MatchRule, MatchTier, PairFacts};
    /// let blurred = PairFacts { closest: Some(20), query_quality: Some(30), stored_quality: Some(90), ..PairFacts::default() };
    /// assert_eq!(MatchRule::harness().decide_pair(&blurred).unwrap().tier, MatchTier::Strict);
    /// assert!(MatchRule::default().decide_pair(&blurred).is_none());
    /// ```
    pub fn harness() -> MatchRule {
        MatchRule {
            floor_on_strict: false,
            ..MatchRule::default()
        }
    }

    /// The largest PDQ distance any tier can accept (the radius to search a PDQ index with
    /// when nothing else finds the confirmed tier's candidates).
    ///
    /// ```
    /// use referral_dedup::matching::MatchRule;
    /// assert_eq!(MatchRule::default().search_radius(), 80);
    /// assert_eq!(MatchRule::reference().search_radius(), 31);
    /// ```
    pub fn search_radius(&self) -> u32 {
        self.pdq_search_radius()
            .max(self.confirm.as_ref().map_or(0, |c| c.pdq_threshold))
    }

    /// The largest PDQ distance of the strict and loose tiers (and the bound of the
    /// low-quality rule, which never exceeds it usefully): the engine searches its PDQ index
    /// at this radius and finds the confirmed tier's candidates through dHash/pHash indexes
    /// (a 64-bit radius of 16 finds far fewer candidates than a 256-bit radius of 80).
    ///
    /// ```
    /// use referral_dedup::matching::MatchRule;
    /// assert_eq!(MatchRule::default().pdq_search_radius(), 52);
    /// assert_eq!(MatchRule::plain_pdq().pdq_search_radius(), 31);
    /// ```
    pub fn pdq_search_radius(&self) -> u32 {
        self.pdq_threshold.max(self.loose_threshold.unwrap_or(0))
    }

    /// Whether both PDQ qualities reach the floor (an unknown query quality does not; an
    /// unknown stored quality does: a list item the provider vetted).
    fn quality_ok(&self, facts: &PairFacts) -> bool {
        facts.query_quality.unwrap_or(0) >= self.quality_floor
            && facts.stored_quality.is_none_or(|q| q >= self.quality_floor)
    }

    /// The tier of a pair, or `None` when the rule does not accept it. The one decision every
    /// caller makes (see the module docs): strict or loose on the closest distance (within
    /// [`MatchRule::pdq_search_radius`]) or the low-quality rule under the floor; failing
    /// those, the confirmed tier.
    ///
    /// ```
    /// use referral_dedup::matching::{MatchRule, MatchTier, PairFacts, SecondDistances};
    /// let seconds = [SecondDistances { dhash: Some(9), phash: Some(12) }];
    /// let facts = PairFacts { closest: Some(70), query_quality: Some(90), stored_quality: Some(90), seconds: &seconds, regions: None };
    /// let d = MatchRule::default().decide_pair(&facts).unwrap();
    /// assert_eq!((d.tier, d.distance, d.confirmed_by.unwrap().distance), (MatchTier::Confirmed, 70, 12));
    /// assert!(MatchRule::default().decide_pair(&PairFacts { seconds: &[], ..facts }).is_none());
    /// ```
    pub fn decide_pair(&self, facts: &PairFacts) -> Option<PairDecision> {
        let closest = facts.closest?;
        let quality_ok = self.quality_ok(facts);
        let decision = |tier, distance, confirmed_by| PairDecision {
            tier,
            distance,
            confirmed_by,
        };
        if closest <= self.pdq_search_radius() {
            let found = if quality_ok {
                self.content_distance(facts, closest, self.pdq_search_radius())
                    .and_then(|d| {
                        if d <= self.pdq_threshold {
                            Some(decision(MatchTier::Strict, d, None))
                        } else if self.loose_threshold.is_some_and(|t| d <= t) {
                            Some(decision(MatchTier::Loose, d, None))
                        } else {
                            None
                        }
                    })
            } else if !self.floor_on_strict && closest <= self.pdq_threshold {
                Some(decision(MatchTier::Strict, closest, None))
            } else {
                self.low_quality_distance(facts, closest)
                    .map(|d| decision(MatchTier::LowQuality, d, None))
            };
            if found.is_some() {
                return found;
            }
        }
        let confirm = self.confirm.as_ref()?;
        if !(quality_ok || confirm.allow_low_quality) {
            return None;
        }
        let confirmation = confirmation(confirm, facts.seconds)?;
        let distance = self.content_distance(facts, closest, confirm.pdq_threshold)?;
        Some(decision(MatchTier::Confirmed, distance, Some(confirmation)))
    }

    /// The PDQ distance, at most `bound`, of the closest alignment whose content agrees
    /// ([`MatchRule::content`]) when the pair is content-checked
    /// ([`super::PairRegions::content_checked`]; with both sides framed, none when their
    /// content boxes clearly disagree: [`super::ContentCheck::boxes_disagree`]), or agrees in
    /// levels or rank order when it is order-checked ([`super::PairRegions::order_checked`]);
    /// otherwise the plain distance `closest` when within the bound.
    fn content_distance(&self, facts: &PairFacts, closest: u32, bound: u32) -> Option<u32> {
        let strict = closest <= self.pdq_threshold;
        match (&self.content, &facts.regions) {
            (Some(check), Some(regions)) if regions.content_checked(strict) => {
                let framed = regions.query_framed() && regions.stored_framed();
                if framed
                    && check.boxes_disagree(
                        regions.query,
                        regions.stored,
                        self.pdq_threshold,
                        self.dihedral,
                    )
                {
                    return None;
                }
                let order_distance = if framed { self.pdq_threshold } else { 0 };
                check
                    .closest_agreeing_in_level_or_box_order(
                        regions.query,
                        regions.stored,
                        bound,
                        order_distance,
                        self.dihedral,
                    )
                    .map(|m| m.distance)
            }
            (Some(check), Some(regions))
                if regions.stored_is_known
                    && check.in_known_template(regions.query, regions.stored) =>
            {
                check
                    .closest_agreeing_known(
                        regions.query,
                        regions.stored,
                        bound,
                        [self.pdq_search_radius(), self.pdq_threshold],
                        self.dihedral,
                    )
                    .map(|m| m.distance)
            }
            (Some(check), Some(regions))
                if regions.stored_is_known
                    && check.in_known_whole_template(regions.query, regions.stored) =>
            {
                check
                    .closest_agreeing_known_whole(
                        regions.query,
                        regions.stored,
                        bound,
                        [
                            self.pdq_search_radius(),
                            self.pdq_threshold,
                            check.template_order_distance,
                        ],
                        self.dihedral,
                    )
                    .map(|m| m.distance)
            }
            (Some(check), Some(regions)) if regions.order_checked(strict) => check
                .closest_agreeing_in_level_or_order(
                    regions.query,
                    regions.stored,
                    bound,
                    self.pdq_threshold,
                    self.dihedral,
                )
                .map(|m| m.distance),
            _ => (closest <= bound).then_some(closest),
        }
    }

    /// The distance of a low-quality match ([`MatchRule::low_quality`]): only when the
    /// content check can run on both sides (whatever the stored side's source), through an
    /// agreeing alignment within the tight bound, with the dHash and the pHash of the whole
    /// pictures both close.
    fn low_quality_distance(&self, facts: &PairFacts, closest: u32) -> Option<u32> {
        let low = self.low_quality?;
        // The tolerance measured for this rule: fixed, also in flat cells (text on a flat
        // colour is mostly flat cells; blurred and greyscale copies move them a few levels).
        let check = ContentCheck {
            flat_tolerance: self.content?.cell_tolerance,
            shift_min_range: 0.0,
            ..self.content?
        };
        let regions = facts.regions?;
        if closest > low.pdq_threshold {
            return None;
        }
        let whole = facts.seconds.first()?;
        let close = |d: Option<u32>| d.is_some_and(|d| d <= low.hash64_threshold);
        if !(close(whole.dhash) && close(whole.phash)) {
            return None;
        }
        check
            .closest_agreeing(
                regions.query,
                regions.stored,
                low.pdq_threshold,
                self.dihedral,
            )
            .map(|m| m.distance)
    }

    /// The best-matching pair of codes if the rule accepts a query against a known item
    /// (no luma grids: distances decide, as against known content in the engine).
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
        let q_used = |i: usize| (self.dihedral || i.is_multiple_of(8)) && (self.variants || i < 8);
        let s_used = |j: usize| self.variants || j == 0;
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
        let seconds: Vec<SecondDistances> = std::iter::once(&query.second)
            .chain(query.second_trimmed.as_ref())
            .chain(query.second_framed.as_ref())
            .map(|q| SecondDistances {
                dhash: Some(q.dhash.distance(&known.second.dhash)),
                phash: Some(q.phash.distance(&known.second.phash)),
            })
            .collect();
        let facts = PairFacts {
            closest: Some(distance),
            query_quality: Some(query.full.quality),
            stored_quality: Some(known.quality),
            seconds: &seconds,
            regions: None,
        };
        let decision = self.decide_pair(&facts)?;
        Some(MatchEvidence {
            distance: decision.distance,
            query_code,
            stored_code,
            tier: decision.tier,
        })
    }
}

/// The closest confirmation among the query's pictures (whole first, then boxes): with
/// `require_both`, a picture whose dHash and pHash both agree (reported as the pHash, the
/// more discriminating); otherwise either hash within its radius. Ties keep the first found.
fn confirmation(rule: &ConfirmRule, seconds: &[SecondDistances]) -> Option<Confirmation> {
    let within = |d: Option<u32>, t: Option<u32>| d.zip(t).and_then(|(d, t)| (d <= t).then_some(d));
    let mut best: Option<Confirmation> = None;
    let mut keep = |kind, distance| {
        if best.is_none_or(|b| distance < b.distance) {
            best = Some(Confirmation { kind, distance });
        }
    };
    for s in seconds {
        let dhash = within(s.dhash, rule.dhash_threshold);
        let phash = within(s.phash, rule.phash_threshold);
        if rule.require_both {
            if let (Some(_), Some(p)) = (dhash, phash) {
                keep(HashKind::Phash, p);
            }
        } else {
            if let Some(d) = dhash {
                keep(HashKind::Dhash, d);
            }
            if let Some(p) = phash {
                keep(HashKind::Phash, p);
            }
        }
    }
    best
}
