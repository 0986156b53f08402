//! The engine's answer: a [`Verdict`] with its [`Match`] evidence.

use serde::Serialize;

use crate::hashes::{EntryId, HashKind};
pub use crate::matching::Confirmation;
use crate::matching::MatchTier;
use crate::store::EntrySource;

use super::referral::Fingerprint;

/// What a referral is.
///
/// ```
/// use referral_dedup::engine::VerdictKind;
/// assert_eq!(serde_json::to_string(&VerdictKind::Known).unwrap(), "\"known\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// Nothing matched: a reviewer should look at it.
    New,
    /// It matches an earlier referral.
    Duplicate,
    /// It matches known-removed content (takes precedence over `Duplicate`).
    Known,
}

/// One piece of evidence: an entry the referral matched, and how.
///
/// ```
/// use referral_dedup::engine::Match;
/// use referral_dedup::hashes::{EntryId, HashKind};
/// use referral_dedup::store::EntrySource;
/// let m = Match { entry: EntryId(1), external_id: "r-1".into(), label: None, source: EntrySource::Referral,
///                 kind: HashKind::UrlKey, distance: 0, quality: None, confirmed_by: None, tier: None,
///                 video: None };
/// assert!(m.is_exact());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// The matched entry.
    pub entry: EntryId,
    /// Its referral id, or its hash-list id / file name.
    pub external_id: String,
    /// Its label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Earlier referral or known content.
    pub source: EntrySource,
    /// What matched.
    pub kind: HashKind,
    /// Hamming distance (0 for keys and digests).
    pub distance: u32,
    /// The matched entry's PDQ quality, for PDQ matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    /// The second hash that confirmed a loose PDQ hit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<Confirmation>,
    /// For PDQ matches, the tier of the rule that accepted it (`strict`, `loose`,
    /// `confirmed`; see [`MatchRule`](super::MatchRule)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<MatchTier>,
    /// For video matches ([`HashKind::Vpdq`], [`HashKind::Tmk`]): the rule's evidence, for
    /// the clip rule the matched time ranges on both sides (`query_start`..`query_end`,
    /// `known_start`..`known_end`, seconds) and the rate. The match's `distance` is then the
    /// PDQ radius the frame pairs were found within.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<super::VideoEvidence>,
}

impl Match {
    /// A match on `entry` by `kind` at `distance`, before any tier, quality or video evidence
    /// is filled in (struct update syntax adds them).
    pub(crate) fn on(entry: &crate::entry::EntryRecord, kind: HashKind, distance: u32) -> Match {
        Match {
            entry: entry.id,
            external_id: entry.external_id.clone(),
            label: entry.label.clone(),
            source: entry.source,
            kind,
            distance,
            quality: None,
            confirmed_by: None,
            tier: None,
            video: None,
        }
    }

    /// True for key and digest matches (equality, no distance).
    pub fn is_exact(&self) -> bool {
        self.kind.is_exact()
    }

    /// Strength order: known before referral, exact before perceptual, then by distance.
    pub(crate) fn rank(&self) -> (u8, u8, u32, EntryId) {
        let source = match self.source {
            EntrySource::Known => 0,
            EntrySource::Referral => 1,
        };
        (source, self.kind.rank(), self.distance, self.entry)
    }
}

/// The engine's answer for one referral.
///
/// ```
/// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
/// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
/// let first = engine.check_and_record(&Referral::new("a").with_url("https://youtu.be/dQw4w9WgXcQ")).unwrap();
/// assert_eq!(first.kind, VerdictKind::New);
/// let second = engine.check(&Referral::new("b").with_url("https://www.youtube.com/watch?v=dQw4w9WgXcQ&si=x")).unwrap();
/// assert_eq!(second.kind, VerdictKind::Duplicate);
/// assert_eq!(second.evidence[0].external_id, "a");
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// New, duplicate or known.
    #[serde(rename = "verdict")]
    pub kind: VerdictKind,
    /// The matches behind it, strongest first (at most the configured `max_evidence`).
    pub evidence: Vec<Match>,
    /// The referral's keys and hashes (URL key with the rules applied, media hashes).
    #[serde(flatten)]
    pub fingerprint: Fingerprint,
    /// The entry id the referral was recorded under, when it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_as: Option<EntryId>,
}

impl Verdict {
    /// The verdict implied by a set of matches.
    pub(crate) fn from_matches(
        mut evidence: Vec<Match>,
        fingerprint: Fingerprint,
        limit: usize,
    ) -> Verdict {
        evidence.sort_by_key(Match::rank);
        let kind = if evidence.iter().any(|m| m.source == EntrySource::Known) {
            VerdictKind::Known
        } else if evidence.is_empty() {
            VerdictKind::New
        } else {
            VerdictKind::Duplicate
        };
        evidence.truncate(limit);
        Verdict {
            kind,
            evidence,
            fingerprint,
            recorded_as: None,
        }
    }
}
