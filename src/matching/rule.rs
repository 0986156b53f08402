//! The decision rule: when do a query's hashes and a known item's hashes mean the same picture.

use super::{KnownHashes, QueryHashes};

/// Match decision thresholds.
///
/// ```
/// use referral_dedup::matching::MatchRule;
/// assert_eq!(MatchRule::default().radius, 31);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchRule {
    /// Largest PDQ distance between any query code and any stored code that counts as a match.
    pub radius: u32,
    /// Compare the query's seven rotated/mirrored variants too.
    pub dihedral: bool,
    /// Use the trimmed query hash and the stored extra variants.
    pub extras: bool,
}

impl Default for MatchRule {
    fn default() -> Self {
        MatchRule {
            radius: 31,
            dihedral: true,
            extras: true,
        }
    }
}

/// Why a pair matched: the smallest distance and which codes produced it.
///
/// ```
/// use referral_dedup::matching::MatchEvidence;
/// let e = MatchEvidence { distance: 3, query_code: 0, stored_code: 0 };
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
            dihedral: false,
            extras: false,
        }
    }

    /// The best-matching pair of codes if the rule accepts the pair of items.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::{KnownHashes, MatchRule, PdqVariants, QueryHashes};
    /// let known = KnownHashes { pdq: Pdq([0; 4]), quality: 100, extra: vec![] };
    /// let mut dihedral = [Pdq([!0; 4]); 8];
    /// dihedral[5] = Pdq([0b111, 0, 0, 0]); // the mirror is 3 bits away
    /// let q = QueryHashes { full: PdqVariants { dihedral, quality: 100 }, trimmed: None };
    /// assert_eq!(MatchRule::default().decide(&q, &known).unwrap().distance, 3);
    /// assert!(MatchRule::reference().decide(&q, &known).is_none());
    /// ```
    pub fn decide(&self, query: &QueryHashes, known: &KnownHashes) -> Option<MatchEvidence> {
        let qcodes = query.codes();
        let scodes = known.codes();
        let q_used = |i: usize| (self.dihedral || i % 8 == 0) && (self.extras || i < 8);
        let s_used = |j: usize| self.extras || j == 0;
        let mut best: Option<MatchEvidence> = None;
        for (i, q) in qcodes.iter().enumerate().filter(|(i, _)| q_used(*i)) {
            for (j, s) in scodes.iter().enumerate().filter(|(j, _)| s_used(*j)) {
                let d = q.distance(s);
                if d <= self.radius && best.is_none_or(|b| d < b.distance) {
                    best = Some(MatchEvidence {
                        distance: d,
                        query_code: i,
                        stored_code: j,
                    });
                }
            }
        }
        best
    }
}
