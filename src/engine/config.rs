//! Engine policy: which hashes count, at what distance, and how entries are persisted.

use crate::matching::{ContentCheck, RobustOptions};
use crate::media::HashOptions;
use crate::store::FsyncPolicy;

/// When a perceptual hash decides a match.
///
/// The default rule is the improved rule measured by the match-quality harness
/// (`examples/match_quality.rs`, figures in `BENCHMARKS.md`; the pure form is
/// [`crate::matching::MatchRule`]):
///
/// 1. URL keys and exact digests (BLAKE3, SHA-256, MD5) match when equal.
/// 2. The strict, loose and confirmed tiers need both hashes to reach
///    [`quality_floor`](Self::quality_floor) (50); below it only the low-quality rule (7.)
///    applies. A known item whose list gave no quality is trusted as the list provider vetted it.
/// 3. **Strict**: some query code within [`pdq_threshold`](Self::pdq_threshold) (31 bits,
///    Meta's recommended value) of some stored code.
/// 4. **Loose**: within [`loose_threshold`](Self::loose_threshold) (52).
/// 5. **Confirmed**: within [`ConfirmRule::pdq_threshold`] (80) when the dHash and the pHash
///    of the query (or of one of its boxes) are both within 16 of 64 bits of the entry's.
/// 6. Query codes: the plain PDQ, its 7 other [`dihedral`](Self::dihedral) variants (mirrors,
///    right-angle rotations) and, with [`variants`](Self::variants), the 8 of each box found
///    inside borders, letterbox bars or a frame. Stored codes: the plain PDQ and, with
///    `variants`, those boxes; known content added from media also stores crops keeping 95%
///    and 90% of each side and +-3 degree rotations ([`crate::matching::KnownHashes`]).
///    Referrals store only their boxes, which keeps batch dedup within about 2.5x of plain PDQ
///    (storing and looking up every crop made it 9x slower), so a crop of an earlier
///    *referral* is caught by the loose and confirmed tiers only.
/// 7. Content over frame ([`content`](Self::content)): against an earlier *referral* whose
///    picture this engine hashed (not entries replayed from disk), a distance beyond the
///    strict tier counts only as the
///    distance of an alignment whose content agrees ([`crate::matching::ContentCheck`]);
///    known content keeps the plain tiers. Pictures under the quality floor match only that
///    way, within 24 bits, with dHash and pHash within 10 ([`low_quality`](Self::low_quality)).
/// 8. dHash and pHash never decide alone ([`dhash_alone`](Self::dhash_alone) and
///    [`phash_alone`](Self::phash_alone) are `None`): measured on unrelated pictures they give
///    false matches at any useful radius.
///
/// [`MatchRule::plain_pdq`] is plain reference matching (the plain PDQ within 31 at quality
/// 50, nothing else), for interop audits against other PDQ tools.
///
/// ```
/// use referral_dedup::engine::MatchRule;
/// let rule = MatchRule::default();
/// assert_eq!((rule.pdq_threshold, rule.loose_threshold, rule.quality_floor), (31, Some(52), 50));
/// assert!(rule.dihedral && rule.variants && rule.dhash_alone.is_none());
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
/// use referral_dedup::engine::LowQualityRule;
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

impl MatchRule {
    /// Plain reference PDQ matching: the query's own PDQ against stored plain PDQs, distance
    /// <= 31, both qualities >= 50; no dihedral variants, trimming, stored variants or
    /// confirmed tier (the CLI's `--plain-pdq`).
    ///
    /// ```
    /// use referral_dedup::engine::MatchRule;
    /// assert_eq!(MatchRule::plain_pdq().pdq_threshold, 31);
    /// ```
    pub fn plain_pdq() -> MatchRule {
        MatchRule {
            pdq_threshold: 31,
            loose_threshold: None,
            quality_floor: 50,
            dihedral: false,
            variants: false,
            confirm: None,
            dhash_alone: None,
            phash_alone: None,
            content: None,
            low_quality: None,
        }
    }
}

/// PDQ within a looser bound, confirmed by dHash or pHash (or both, with `require_both`).
///
/// ```
/// use referral_dedup::engine::ConfirmRule;
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

/// Everything the engine's behaviour depends on.
///
/// ```
/// use referral_dedup::engine::EngineConfig;
/// let mut config = EngineConfig::default();
/// config.rule.pdq_threshold = 20;
/// assert!(config.validate().is_ok());
/// config.rule.pdq_threshold = 300;
/// assert!(config.validate().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The match rule.
    pub rule: MatchRule,
    /// Decoding limits and hashing options for media (the rule's `dihedral` overrides
    /// `hash.dihedral` when the engine hashes a query).
    pub hash: HashOptions,
    /// Border detection and the stored variants, used when [`MatchRule::variants`] is on.
    pub robust: RobustOptions,
    /// Journal durability when opened on a directory.
    pub fsync: FsyncPolicy,
    /// Write a snapshot after this many journal records (`None`: only on request).
    pub snapshot_every: Option<u64>,
    /// Most matches a verdict lists (strongest first).
    pub max_evidence: usize,
    /// User host rules added to the URL keyer's built-in ones (`None`: built-in rules only).
    /// Keys stored by an earlier run were made with the rules of that run.
    pub url_rules: Option<crate::url::HostRules>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            rule: MatchRule::default(),
            hash: HashOptions::default(),
            robust: RobustOptions::default(),
            fsync: FsyncPolicy::EveryMillis(100),
            snapshot_every: Some(50_000),
            max_evidence: 32,
            url_rules: None,
        }
    }
}

impl EngineConfig {
    /// Checks the thresholds are in range.
    ///
    /// # Errors
    /// [`EngineError::Config`](super::EngineError::Config) naming the bad field.
    pub fn validate(&self) -> Result<(), super::EngineError> {
        let bad = |what: &str| Err(super::EngineError::Config(what.to_string()));
        let r = &self.rule;
        if r.pdq_threshold > 256 {
            return bad("rule.pdq_threshold must be at most 256");
        }
        if r.loose_threshold.is_some_and(|t| t > 256) {
            return bad("rule.loose_threshold must be at most 256");
        }
        if r.quality_floor > 100 {
            return bad("rule.quality_floor must be at most 100");
        }
        if r.dhash_alone.is_some_and(|t| t > 64) || r.phash_alone.is_some_and(|t| t > 64) {
            return bad("dHash/pHash radius must be at most 64");
        }
        if let Some(c) = &r.confirm {
            if c.pdq_threshold > 256 {
                return bad("rule.confirm.pdq_threshold must be at most 256");
            }
            if c.dhash_threshold.is_none() && c.phash_threshold.is_none() {
                return bad("rule.confirm needs a dHash or pHash threshold");
            }
            if c.require_both && (c.dhash_threshold.is_none() || c.phash_threshold.is_none()) {
                return bad("rule.confirm.require_both needs both a dHash and a pHash threshold");
            }
            if c.dhash_threshold.is_some_and(|t| t > 64)
                || c.phash_threshold.is_some_and(|t| t > 64)
            {
                return bad("dHash/pHash radius must be at most 64");
            }
        }
        if let Some(c) = &r.content {
            let ok = (0.0..=255.0).contains(&c.cell_tolerance)
                && (0.0..=1.0).contains(&c.max_disagreement);
            if !ok {
                return bad(
                    "rule.content: cell_tolerance must be in 0..=255, max_disagreement in 0..=1",
                );
            }
        }
        if let Some(l) = &r.low_quality {
            if l.pdq_threshold > 256 || l.hash64_threshold > 64 {
                return bad("rule.low_quality: PDQ threshold at most 256, dHash/pHash at most 64");
            }
            if r.content.is_none() {
                return bad("rule.low_quality needs rule.content (it matches only through agreeing content)");
            }
        }
        if self.max_evidence == 0 {
            return bad("max_evidence must be at least 1");
        }
        if self.snapshot_every == Some(0) {
            return bad("snapshot_every must be at least 1");
        }
        Ok(())
    }

    /// The PDQ radius the PDQ index is searched with: the strict or loose bound, whichever is
    /// larger. Confirmed-tier candidates come from the dHash/pHash indexes instead (a 64-bit
    /// radius of 16 finds far fewer candidates than a 256-bit radius of 80) and their PDQ
    /// distances are then checked directly.
    ///
    /// ```
    /// use referral_dedup::engine::{EngineConfig, MatchRule};
    /// assert_eq!(EngineConfig::default().pdq_search_radius(), 52);
    /// let plain = EngineConfig { rule: MatchRule::plain_pdq(), ..EngineConfig::default() };
    /// assert_eq!(plain.pdq_search_radius(), 31);
    /// ```
    pub fn pdq_search_radius(&self) -> u32 {
        self.rule
            .pdq_threshold
            .max(self.rule.loose_threshold.unwrap_or(0))
    }
}
