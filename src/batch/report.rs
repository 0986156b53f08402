//! What a batch run reads and reports: the backlog line, clusters with their reasons, known
//! hits, line problems and the summary.

use serde::{Deserialize, Serialize};

use crate::hashes::HashKind;
use crate::matching::MatchTier;

/// One backlog line.
///
/// ```
/// use referral_dedup::batch::BacklogReferral;
/// let r: BacklogReferral = serde_json::from_str(r#"{"id":"r1","url":null,"media":"a.jpg","received_at":"2024-01-01T00:00:00Z"}"#).unwrap();
/// assert_eq!(r.media.as_deref(), Some("a.jpg"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BacklogReferral {
    /// Referral id.
    pub id: String,
    /// Referred URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Media path, relative to the backlog file's directory (or absolute).
    #[serde(default)]
    pub media: Option<String>,
    /// Receipt time (a string or a number, kept as text).
    #[serde(default, deserialize_with = "text_or_number")]
    pub received_at: Option<String>,
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// Why two referrals are in one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The later referral.
    pub member: String,
    /// What it matched: an earlier referral of the backlog, or (for `source` `known` or
    /// `earlier_referral`) a database entry's external id shared with another member.
    pub matched: String,
    /// `referral` (within the backlog), `known` or `earlier_referral` (in the database).
    pub source: &'static str,
    /// The match kind.
    pub kind: HashKind,
    /// Hamming distance (0 for keys and digests).
    pub distance: u32,
    /// How the link joined the clusters: `exact` (a URL key or digest: such links chain),
    /// `representative` (a perceptual match with the cluster's representative, its first
    /// member with a picture), `majority` (perceptual matches with more than half of the
    /// cluster's members with a picture) or `database_entry` (a perceptual match with the
    /// same database entry as another member). A perceptual match with a single member never
    /// joins on its own.
    pub link: &'static str,
    /// The tier of a PDQ match (`strict`, `loose`, `confirmed`, `low_quality`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<MatchTier>,
}

/// Known content a cluster matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownHit {
    /// The member that matched.
    pub member: String,
    /// The known item's id.
    pub id: String,
    /// The known item's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The match kind.
    pub kind: HashKind,
    /// Hamming distance.
    pub distance: u32,
}

/// One cluster of referrals of the same item.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    /// 1-based, in the order of each cluster's first member.
    pub cluster_id: u64,
    /// Referral ids in backlog order.
    pub members: Vec<String>,
    /// The member a reviewer should look at: the first in backlog order.
    pub representative: String,
    /// The matches that joined the members (empty for a single referral).
    pub reasons: Vec<Reason>,
    /// Known content matched by any member (`null` when none): the cluster needs no review.
    pub known_match: Option<Vec<KnownHit>>,
    /// Referrals already in the database that members match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub earlier_referrals: Vec<String>,
}

/// A backlog line that was skipped or only partly used.
#[derive(Debug, Clone, Serialize)]
pub struct LineProblem {
    /// 1-based line number.
    pub line: u64,
    /// Referral id, when the line could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What was wrong.
    pub problem: String,
    /// True when the line was skipped entirely.
    pub skipped: bool,
}

/// Totals of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchSummary {
    /// Referrals read.
    pub referrals_in: u64,
    /// Lines skipped (unreadable JSON, no id).
    pub lines_skipped: u64,
    /// Clusters written.
    pub clusters_out: u64,
    /// Referrals merged into another's cluster: reviews saved.
    pub duplicates_removed: u64,
    /// Referrals matching known content.
    pub known_hits: u64,
    /// Clusters matching known content.
    pub known_clusters: u64,
    /// Media decoded as pictures and hashed.
    pub images_hashed: u64,
    /// Media digested only (not a decodable picture).
    pub media_digest_only: u64,
    /// Media that could not be read.
    pub media_errors: u64,
    /// URLs that could not be keyed.
    pub url_errors: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Referrals per second.
    pub referrals_per_s: f64,
    /// Pictures hashed per second.
    pub images_per_s: f64,
}

/// Clusters, problems and totals of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchReport {
    /// Clusters in order of their first member.
    pub clusters: Vec<Cluster>,
    /// Lines skipped or partly used.
    pub problems: Vec<LineProblem>,
    /// Totals.
    pub summary: BatchSummary,
}
