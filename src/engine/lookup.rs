//! Lookups: the candidates the indexes find for a fingerprint, each decided by the one match
//! rule ([`crate::matching::MatchRule::decide_pair`]).

use std::collections::HashMap;

use super::{ConfirmRule, Engine, Fingerprint, Match, MediaFingerprint, Referral, Verdict};
use crate::hashes::{EntryId, HashKind};
use crate::matching::{closest_distance, Confirmation, MatchTier, PairFacts, PairRegions};
use crate::store::{EntryRecord, EntrySource};

impl Engine {
    /// Checks a referral without recording it.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// let r = Referral::new("r1").with_url("https://www.reddit.com/r/x/comments/abc12/t/");
    /// assert_eq!(engine.check(&r).unwrap().kind, VerdictKind::New);
    /// assert_eq!(engine.check(&r).unwrap().kind, VerdictKind::New, "check does not record");
    /// ```
    ///
    /// # Errors
    /// [`EngineError::Io`](super::EngineError::Io) when a media path cannot be read.
    pub fn check(&self, referral: &Referral) -> crate::Result<Verdict> {
        let fp = self.fingerprint(referral)?;
        Ok(self.check_fingerprint(fp))
    }

    /// Checks an already computed fingerprint.
    pub fn check_fingerprint(&self, fp: Fingerprint) -> Verdict {
        let matches = self.matches(&fp);
        Verdict::from_matches(matches, fp, self.config.max_evidence)
    }

    /// Every entry the fingerprint matches under the rule (one [`Match`] per entry and kind,
    /// unsorted, not truncated).
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// for i in 0..3 {
    ///     engine.record(&Referral::new(format!("r{i}")).with_url("https://redd.it/abc12")).unwrap();
    /// }
    /// let fp = engine.fingerprint(&Referral::new("q").with_url("https://old.reddit.com/comments/abc12/")).unwrap();
    /// assert_eq!(engine.matches(&fp).len(), 3);
    /// ```
    pub fn matches(&self, fp: &Fingerprint) -> Vec<Match> {
        let mut found = MatchSet::default();
        if let Some(url) = &fp.url {
            self.push_exact(&mut found, self.indexes.url.get(&url.key), HashKind::UrlKey);
        }
        for (id, kind, evidence) in self.video_matches(fp) {
            if let Some(e) = self.entries.get(&id) {
                found.put(super::video::video_match(e.value(), kind, evidence));
            }
        }
        let Some(media) = &fp.media else {
            return found.into_matches();
        };
        for kind in super::indexes::digest_kinds() {
            self.push_exact(
                &mut found,
                self.indexes.digest_ids(kind, &media.hashes),
                kind,
            );
        }

        let rule = &self.config.rule;
        if media.hashes.pdq.is_some() {
            self.push_perceptual(&mut found, media);
        }
        if let (Some(index), Some(radius), Some(d)) =
            (self.indexes.dhash(), rule.dhash_alone, media.hashes.dhash)
        {
            for hit in index.range(&d, radius) {
                if let Some(e) = self.entries.get(&hit.id) {
                    found.push(e.value(), HashKind::Dhash, hit.distance, None, None);
                }
            }
        }
        if let (Some(index), Some(radius), Some(p)) =
            (self.indexes.phash(), rule.phash_alone, media.hashes.phash)
        {
            for hit in index.range(&p, radius) {
                if let Some(e) = self.entries.get(&hit.id) {
                    found.push(e.value(), HashKind::Phash, hit.distance, None, None);
                }
            }
        }
        found.into_matches()
    }

    /// PDQ matches: the candidates the indexes find (PDQ within the strict and loose bounds;
    /// dHash or pHash within the confirmed tier's radii), each decided by
    /// [`MatchRule::decide_pair`].
    pub(super) fn push_perceptual(&self, found: &mut MatchSet, media: &MediaFingerprint) {
        let rule = &self.config.rule;
        let queries = media.lookup_codes(rule);
        let mut candidates: Vec<EntryId> = self
            .indexes
            .pdq
            .range_many(&queries, rule.pdq_search_radius())
            .into_iter()
            .map(|hit| hit.id)
            .collect();
        if let Some(confirm) = &rule.confirm {
            candidates.extend(self.confirm_candidates(confirm, media));
        }
        candidates.sort_unstable();
        candidates.dedup();
        for id in candidates {
            let Some(entry) = self.entries.get(&id) else {
                continue;
            };
            let entry = entry.value();
            let stored = self.indexes.regions.get(&id);
            let regions = match &stored {
                Some(stored) if !media.query_regions.is_empty() => Some(PairRegions {
                    query: &media.query_regions,
                    stored: stored.value(),
                    stored_is_known: entry.source == EntrySource::Known,
                }),
                _ => None,
            };
            let seconds = media.second_distances(entry.hashes.dhash, entry.hashes.phash);
            let facts = PairFacts {
                closest: closest_distance(&queries, entry.hashes.pdq_codes()),
                query_quality: media.hashes.pdq_quality,
                stored_quality: entry.hashes.pdq_quality,
                seconds: &seconds,
                regions,
            };
            if let Some(d) = rule.decide_pair(&facts) {
                found.push(
                    entry,
                    HashKind::Pdq,
                    d.distance,
                    d.confirmed_by,
                    Some(d.tier),
                );
            }
        }
    }

    /// Entries whose dHash or pHash is within the confirm rule's radius of the query's (whole
    /// picture or a box): the confirmed tier's candidates (the rule decides whether they
    /// confirm).
    pub(super) fn confirm_candidates(
        &self,
        c: &ConfirmRule,
        media: &MediaFingerprint,
    ) -> Vec<EntryId> {
        let mut out = Vec::new();
        let seconds = [(media.hashes.dhash, media.hashes.phash)]
            .into_iter()
            .chain(media.query_second.iter().map(|&(d, p)| (Some(d), Some(p))));
        for (dhash, phash) in seconds {
            for (index, radius, code) in [
                (self.indexes.dhash(), c.dhash_threshold, dhash),
                (self.indexes.phash(), c.phash_threshold, phash),
            ] {
                if let (Some(index), Some(radius), Some(code)) = (index, radius, code) {
                    out.extend(index.range(&code, radius).into_iter().map(|hit| hit.id));
                }
            }
        }
        out
    }

    pub(super) fn push_exact(&self, found: &mut MatchSet, ids: Vec<EntryId>, kind: HashKind) {
        for id in ids {
            if let Some(e) = self.entries.get(&id) {
                found.push(e.value(), kind, 0, None, None);
            }
        }
    }
}

/// The matches found for one query: the closest per entry and kind.
#[derive(Default)]
pub(super) struct MatchSet(HashMap<(EntryId, HashKind), Match>);

impl MatchSet {
    pub(super) fn push(
        &mut self,
        entry: &EntryRecord,
        kind: HashKind,
        distance: u32,
        confirmed_by: Option<Confirmation>,
        tier: Option<MatchTier>,
    ) {
        let key = (entry.id, kind);
        if self.0.get(&key).is_some_and(|old| old.distance <= distance) {
            return;
        }
        let quality = if kind == HashKind::Pdq {
            entry.hashes.pdq_quality
        } else {
            None
        };
        self.0.insert(
            key,
            Match {
                quality,
                confirmed_by,
                tier,
                ..Match::on(entry, kind, distance)
            },
        );
    }

    /// Adds a match made elsewhere (a video match with its evidence).
    pub(super) fn put(&mut self, m: Match) {
        self.0.insert((m.entry, m.kind), m);
    }

    pub(super) fn into_matches(self) -> Vec<Match> {
        self.0.into_values().collect()
    }
}
