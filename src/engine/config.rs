//! Engine policy: the match rule ([`MatchRule`], defined in [`crate::matching`]), hashing
//! options and how entries are persisted.

use crate::matching::RobustOptions;
pub use crate::matching::{ConfirmRule, LowQualityRule, MatchRule};
use crate::media::HashOptions;
use crate::store::FsyncPolicy;

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
    /// How videos are sampled, decoded and matched.
    pub video: super::VideoConfig,
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
            video: super::VideoConfig::default(),
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
        let v = &self.video;
        let sampling = |s: f64| s.is_finite() && s >= 0.0;
        if !sampling(v.seconds_per_hash) || !sampling(v.known_seconds_per_hash) {
            return bad("video: seconds per hash must be finite and at least 0");
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
        self.rule.pdq_search_radius()
    }
}
