//! Engine policy: which hashes count, at what distance, and how entries are persisted.

use crate::media::HashOptions;
use crate::store::FsyncPolicy;

/// When a perceptual hash decides a match.
///
/// The default rule (documented in the crate README and the engine module docs):
///
/// 1. URL keys and exact digests (BLAKE3, SHA-256, MD5) match when equal.
/// 2. PDQ matches within [`pdq_threshold`](Self::pdq_threshold) (31 bits, Meta's recommended
///    value), but only when both hashes reach [`quality_floor`](Self::quality_floor) (50): a
///    low-quality PDQ hash (flat or tiny pictures) never matches on its own. A known item whose
///    list gave no quality is trusted as the list provider vetted it.
/// 3. With [`dihedral`](Self::dihedral), the query's 8 rotations/mirrors are all tried.
/// 4. dHash and pHash never decide alone by default ([`dhash_alone`](Self::dhash_alone) and
///    [`phash_alone`](Self::phash_alone) are `None`): measured on unrelated pictures they give
///    false matches at any useful radius. They can confirm a looser PDQ hit through
///    [`confirm`](Self::confirm), off by default.
///
/// ```
/// use referral_dedup::engine::MatchRule;
/// let rule = MatchRule::default();
/// assert_eq!((rule.pdq_threshold, rule.quality_floor), (31, 50));
/// assert!(rule.dhash_alone.is_none() && rule.confirm.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRule {
    /// Largest PDQ Hamming distance that matches on its own (0..=256).
    pub pdq_threshold: u32,
    /// Smallest PDQ quality (0..=100) for a PDQ hash to match on its own.
    pub quality_floor: u8,
    /// Also match the query's 8 dihedral variants (mirrors and right-angle rotations).
    pub dihedral: bool,
    /// A looser PDQ bound that counts when a second hash agrees.
    pub confirm: Option<ConfirmRule>,
    /// dHash radius at which dHash alone decides (`None`: never).
    pub dhash_alone: Option<u32>,
    /// pHash radius at which pHash alone decides (`None`: never).
    pub phash_alone: Option<u32>,
}

impl Default for MatchRule {
    fn default() -> Self {
        MatchRule {
            pdq_threshold: 31,
            quality_floor: 50,
            dihedral: false,
            confirm: None,
            dhash_alone: None,
            phash_alone: None,
        }
    }
}

/// PDQ within a looser bound, confirmed by dHash or pHash.
///
/// ```
/// use referral_dedup::engine::ConfirmRule;
/// let c = ConfirmRule { pdq_threshold: 60, dhash_threshold: Some(8), phash_threshold: None, allow_low_quality: false };
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
    /// Journal durability when opened on a directory.
    pub fsync: FsyncPolicy,
    /// Write a snapshot after this many journal records (`None`: only on request).
    pub snapshot_every: Option<u64>,
    /// Most matches a verdict lists (strongest first).
    pub max_evidence: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            rule: MatchRule::default(),
            hash: HashOptions::default(),
            fsync: FsyncPolicy::EveryMillis(100),
            snapshot_every: Some(50_000),
            max_evidence: 32,
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
            if c.dhash_threshold.is_some_and(|t| t > 64)
                || c.phash_threshold.is_some_and(|t| t > 64)
            {
                return bad("dHash/pHash radius must be at most 64");
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

    /// The PDQ radius the index must be searched with (the largest PDQ bound any rule uses).
    pub fn pdq_search_radius(&self) -> u32 {
        let loose = self.rule.confirm.as_ref().map_or(0, |c| c.pdq_threshold);
        self.rule.pdq_threshold.max(loose)
    }
}
