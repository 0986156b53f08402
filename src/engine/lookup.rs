//! Lookups: the candidates the indexes find for a fingerprint, each decided by the one match
//! rule ([`crate::matching::MatchRule::decide_pair`]).
//!
//! A lookup has two steps: the perceptual index searches ([`IndexHits`], the expensive part:
//! random reads in the Hamming indexes) and the decisions on their candidates. Many
//! fingerprints' searches run as one batched search per index ([`Engine::matches_batch`],
//! [`crate::index::HammingIndex::range_many_batch`]), so their random reads overlap and spread
//! over the rayon pool; the decisions are then the same as for one fingerprint at a time.

use std::borrow::Borrow;
use std::collections::HashMap;

use super::{Engine, Fingerprint, Match, MediaFingerprint, Referral, Verdict};
use crate::hashes::{EntryId, Hash64, HashKind, Pdq};
use crate::index::{HammingIndex, Hit};
use crate::matching::{closest_distance, Confirmation, MatchTier, PairFacts, PairRegions};
use crate::store::{EntryRecord, EntrySource};

/// What the perceptual indexes found for one fingerprint, before the rule decides: the
/// candidates of [`Engine::matches`]'s PDQ step and the dHash/pHash-alone hits.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct IndexHits {
    /// Entries with a PDQ code within the rule's search radius of a lookup code.
    pdq: Vec<EntryId>,
    /// Entries whose dHash or pHash is within the confirm rule's radius (confirmed tier).
    confirm: Vec<EntryId>,
    /// Entries within `dhash_alone` of the query's dHash.
    dhash_alone: Vec<Hit>,
    /// Entries within `phash_alone` of the query's pHash.
    phash_alone: Vec<Hit>,
}

impl IndexHits {
    /// Adds the hits of `other` (found in a disjoint set of entries).
    pub(crate) fn extend(&mut self, other: IndexHits) {
        self.pdq.extend(other.pdq);
        self.confirm.extend(other.confirm);
        self.dhash_alone.extend(other.dhash_alone);
        self.phash_alone.extend(other.phash_alone);
    }
}

/// The codes one fingerprint searches the 64-bit indexes with: `(dHash codes, pHash codes)`
/// for the confirm rule (the whole picture's, then each box's).
fn confirm_codes(media: &MediaFingerprint) -> (Vec<Hash64>, Vec<Hash64>) {
    let seconds = [(media.hashes.dhash, media.hashes.phash)]
        .into_iter()
        .chain(media.query_second.iter().map(|&(d, p)| (Some(d), Some(p))));
    let (mut dhash, mut phash) = (Vec::new(), Vec::new());
    for (d, p) in seconds {
        dhash.extend(d);
        phash.extend(p);
    }
    (dhash, phash)
}

/// `index.range_many_batch(groups, radius)`, with the single-group case through
/// `range_many` (no batch set-up on the one-referral path).
fn search_groups<C: crate::index::Code>(
    index: &HammingIndex<C>,
    groups: &[&[C]],
    radius: u32,
) -> Vec<Vec<Hit>> {
    match groups {
        [] => Vec::new(),
        [one] => vec![index.range_many(one, radius)],
        _ => index.range_many_batch(groups, radius),
    }
}

/// Searches `index` once for every group of `groups` that is `Some` and places the hits at
/// that group's position (an empty list for `None`).
fn search_sparse<C: crate::index::Code>(
    index: &HammingIndex<C>,
    groups: &[Option<Vec<C>>],
    radius: u32,
) -> Vec<Vec<Hit>> {
    let present: Vec<&[C]> = groups.iter().flatten().map(Vec::as_slice).collect();
    let mut found = search_groups(index, &present, radius).into_iter();
    groups
        .iter()
        .map(|g| match g {
            Some(_) => found.next().unwrap_or_default(),
            None => Vec::new(),
        })
        .collect()
}

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
        let hits = self.index_hits_batch(std::slice::from_ref(fp));
        self.matches_with(fp, &hits[0])
    }

    /// [`Engine::matches`] for many fingerprints at once: `result[i]` holds the same matches
    /// as `matches(&fps[i])` (the order within each list is unspecified, as there). Faster per
    /// fingerprint than one call each: the perceptual indexes are searched once per index for
    /// all of them ([`crate::index::HammingIndex::range_many_batch`]).
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// engine.record(&Referral::new("a").with_url("https://t.me/chan/7")).unwrap();
    /// let fps: Vec<_> = ["https://t.me/chan/7", "https://t.me/chan/8"]
    ///     .iter()
    ///     .map(|u| engine.fingerprint(&Referral::new("q").with_url(*u)).unwrap())
    ///     .collect();
    /// let found = engine.matches_batch(&fps);
    /// assert_eq!((found[0].len(), found[1].len()), (1, 0));
    /// ```
    pub fn matches_batch<F: Borrow<Fingerprint>>(&self, fps: &[F]) -> Vec<Vec<Match>> {
        let hits = self.index_hits_batch(fps);
        fps.iter()
            .zip(&hits)
            .map(|(fp, hits)| self.matches_with(fp.borrow(), hits))
            .collect()
    }

    /// The perceptual index hits of many fingerprints: one batched search per index.
    pub(crate) fn index_hits_batch<F: Borrow<Fingerprint>>(&self, fps: &[F]) -> Vec<IndexHits> {
        let rule = &self.config.rule;
        let mut out = vec![IndexHits::default(); fps.len()];
        let media: Vec<Option<&MediaFingerprint>> =
            fps.iter().map(|fp| fp.borrow().media.as_ref()).collect();
        // PDQ candidates (and the confirmed tier's) only for fingerprints with a PDQ code.
        let with_pdq = |m: &&MediaFingerprint| m.hashes.pdq.is_some();
        let pdq_groups: Vec<Option<Vec<Pdq>>> = media
            .iter()
            .map(|m| m.filter(with_pdq).map(|m| m.lookup_codes(rule)))
            .collect();
        let pdq_hits = search_sparse(&self.indexes.pdq, &pdq_groups, rule.pdq_search_radius());
        for (o, hits) in out.iter_mut().zip(pdq_hits) {
            o.pdq = hits.into_iter().map(|h| h.id).collect();
        }
        if let Some(confirm) = &rule.confirm {
            let codes: Vec<Option<(Vec<Hash64>, Vec<Hash64>)>> = media
                .iter()
                .map(|m| m.filter(with_pdq).map(confirm_codes))
                .collect();
            let dhash: Vec<Option<Vec<Hash64>>> = codes
                .iter()
                .map(|c| c.as_ref().map(|c| c.0.clone()))
                .collect();
            let phash: Vec<Option<Vec<Hash64>>> = codes
                .iter()
                .map(|c| c.as_ref().map(|c| c.1.clone()))
                .collect();
            for (index, radius, groups) in [
                (self.indexes.dhash(), confirm.dhash_threshold, dhash),
                (self.indexes.phash(), confirm.phash_threshold, phash),
            ] {
                if let (Some(index), Some(radius)) = (index, radius) {
                    for (o, hits) in out.iter_mut().zip(search_sparse(index, &groups, radius)) {
                        o.confirm.extend(hits.into_iter().map(|h| h.id));
                    }
                }
            }
        }
        let alone = |index: Option<&HammingIndex<Hash64>>,
                     radius: Option<u32>,
                     code: fn(&MediaFingerprint) -> Option<Hash64>| {
            let (Some(index), Some(radius)) = (index, radius) else {
                return vec![Vec::new(); media.len()];
            };
            let groups: Vec<Option<Vec<Hash64>>> = media
                .iter()
                .map(|m| m.and_then(code).map(|c| vec![c]))
                .collect();
            search_sparse(index, &groups, radius)
        };
        let dhash = alone(self.indexes.dhash(), rule.dhash_alone, |m| m.hashes.dhash);
        let phash = alone(self.indexes.phash(), rule.phash_alone, |m| m.hashes.phash);
        for ((o, d), p) in out.iter_mut().zip(dhash).zip(phash) {
            o.dhash_alone = d;
            o.phash_alone = p;
        }
        out
    }

    /// The hits [`Engine::index_hits_batch`] would find for `fp` among the live entries with
    /// an id at or after `first`, found by comparing their stored codes directly (for the
    /// few entries recorded since a batched search).
    pub(crate) fn index_hits_since(&self, fp: &Fingerprint, first: EntryId) -> IndexHits {
        let mut out = IndexHits::default();
        let Some(media) = &fp.media else {
            return out;
        };
        let rule = &self.config.rule;
        let end = self.next_id.load(std::sync::atomic::Ordering::Relaxed);
        let queries = media.lookup_codes(rule);
        let confirm = rule
            .confirm
            .as_ref()
            .filter(|_| media.hashes.pdq.is_some())
            .map(|c| (c, confirm_codes(media)));
        let within = |index: Option<&HammingIndex<Hash64>>,
                      radius: Option<u32>,
                      codes: &[Hash64],
                      stored: Option<Hash64>| {
            let (Some(_), Some(radius), Some(stored)) = (index, radius, stored) else {
                return None;
            };
            codes
                .iter()
                .map(|c| c.distance(&stored))
                .min()
                .filter(|&d| d <= radius.min(64))
        };
        for raw in first.0..end {
            let id = EntryId(raw);
            let Some(entry) = self.entries.get(&id) else {
                continue;
            };
            let stored = &entry.value().hashes;
            if media.hashes.pdq.is_some() {
                let radius = rule.pdq_search_radius().min(256);
                let close = stored
                    .pdq_codes()
                    .flat_map(|s| queries.iter().map(move |q| q.distance(s)))
                    .any(|d| d <= radius);
                if close {
                    out.pdq.push(id);
                }
            }
            if let Some((c, (dhash, phash))) = &confirm {
                let d = within(self.indexes.dhash(), c.dhash_threshold, dhash, stored.dhash);
                let p = within(self.indexes.phash(), c.phash_threshold, phash, stored.phash);
                if d.is_some() || p.is_some() {
                    out.confirm.push(id);
                }
            }
            let alone = [
                (
                    self.indexes.dhash(),
                    rule.dhash_alone,
                    media.hashes.dhash,
                    stored.dhash,
                ),
                (
                    self.indexes.phash(),
                    rule.phash_alone,
                    media.hashes.phash,
                    stored.phash,
                ),
            ];
            for (slot, (index, radius, query, stored)) in
                [&mut out.dhash_alone, &mut out.phash_alone]
                    .into_iter()
                    .zip(alone)
            {
                let codes: Vec<Hash64> = query.into_iter().collect();
                if let Some(distance) = within(index, radius, &codes, stored) {
                    slot.push(Hit { id, distance });
                }
            }
        }
        out
    }

    /// The id the next recorded entry gets (entries recorded from now on have ids at or
    /// after it).
    pub(crate) fn next_entry_id(&self) -> EntryId {
        EntryId(self.next_id.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// [`Engine::matches`] with the perceptual index searches already done (`hits`).
    pub(crate) fn matches_with(&self, fp: &Fingerprint, hits: &IndexHits) -> Vec<Match> {
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
        if media.hashes.pdq.is_some() {
            self.push_perceptual(&mut found, media, hits);
        }
        for (kind, alone) in [
            (HashKind::Dhash, &hits.dhash_alone),
            (HashKind::Phash, &hits.phash_alone),
        ] {
            for hit in alone {
                if let Some(e) = self.entries.get(&hit.id) {
                    found.push(e.value(), kind, hit.distance, None, None);
                }
            }
        }
        found.into_matches()
    }

    /// PDQ matches: the candidates the indexes found (PDQ within the strict and loose bounds;
    /// dHash or pHash within the confirmed tier's radii), each decided by
    /// [`MatchRule::decide_pair`](super::MatchRule::decide_pair).
    fn push_perceptual(&self, found: &mut MatchSet, media: &MediaFingerprint, hits: &IndexHits) {
        let rule = &self.config.rule;
        let queries = media.lookup_codes(rule);
        let mut candidates: Vec<EntryId> = hits.pdq.clone();
        if rule.confirm.is_some() {
            candidates.extend_from_slice(&hits.confirm);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineConfig, MatchRule};
    use crate::hashes::HashBundle;

    /// A small deterministic generator (splitmix64).
    struct Mix(u64);

    impl Mix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// `base` with about `flips` random bits flipped.
        fn near64(&mut self, base: u64, flips: u32) -> u64 {
            (0..flips).fold(base, |c, _| c ^ (1 << (self.next() % 64)))
        }

        fn near_pdq(&mut self, base: &Pdq, flips: u32) -> Pdq {
            let mut code = *base;
            for _ in 0..flips {
                let bit = self.next() % 256;
                code.0[(bit / 64) as usize] ^= 1 << (bit % 64);
            }
            code
        }
    }

    /// Pictures around a few originals, close enough that every tier (strict, loose,
    /// confirmed, dHash/pHash alone) has candidates.
    fn fingerprints(mix: &mut Mix, originals: &[(Pdq, u64, u64)], n: usize) -> Vec<Fingerprint> {
        (0..n)
            .map(|_| {
                let (pdq, dhash, phash) = originals[(mix.next() % 4) as usize];
                let flips = (mix.next() % 60) as u32;
                let (dflips, pflips) = ((mix.next() % 24) as u32, (mix.next() % 24) as u32);
                let hashes = HashBundle {
                    pdq: Some(mix.near_pdq(&pdq, flips)),
                    pdq_quality: Some(40 + (mix.next() % 60) as u8),
                    dhash: Some(Hash64(mix.near64(dhash, dflips))),
                    phash: Some(Hash64(mix.near64(phash, pflips))),
                    extra_pdq: (0..mix.next() % 3)
                        .map(|_| mix.near_pdq(&pdq, 40))
                        .collect(),
                    ..HashBundle::default()
                };
                let media = MediaFingerprint {
                    bytes: 1,
                    width: None,
                    height: None,
                    pdq_variants: vec![mix.near_pdq(&pdq, 70)],
                    query_pdq: (0..8).map(|_| mix.near_pdq(&pdq, 50)).collect(),
                    query_second: vec![(
                        Hash64(mix.near64(dhash, 12)),
                        Hash64(mix.near64(phash, 20)),
                    )],
                    query_regions: Vec::new(),
                    stored_regions: Vec::new(),
                    hashes,
                };
                Fingerprint {
                    media: Some(media),
                    ..Fingerprint::default()
                }
            })
            .collect()
    }

    fn originals(mix: &mut Mix) -> Vec<(Pdq, u64, u64)> {
        (0..4)
            .map(|_| {
                let pdq = Pdq([mix.next(), mix.next(), mix.next(), mix.next()]);
                (pdq, mix.next(), mix.next())
            })
            .collect()
    }

    fn sorted(mut m: Vec<Match>) -> Vec<Match> {
        m.sort_by_key(|m| (m.entry, m.kind.rank()));
        m
    }

    fn rules() -> Vec<MatchRule> {
        vec![
            MatchRule::default(),
            MatchRule::plain_pdq(),
            MatchRule {
                dhash_alone: Some(10),
                phash_alone: Some(12),
                ..MatchRule::default()
            },
        ]
    }

    #[test]
    fn batched_lookups_find_what_single_lookups_find() {
        for (r, rule) in rules().into_iter().enumerate() {
            let mut mix = Mix(r as u64 + 1);
            let originals = originals(&mut mix);
            let engine = Engine::in_memory(EngineConfig {
                rule,
                ..EngineConfig::default()
            })
            .unwrap();
            for (i, fp) in fingerprints(&mut mix, &originals, 300).iter().enumerate() {
                engine
                    .record_fingerprint(&Referral::new(format!("s{i}")), fp)
                    .unwrap();
            }
            let queries = fingerprints(&mut mix, &originals, 120);
            let batched = engine.matches_batch(&queries);
            let (mut matched, mut confirmed, mut alone) = (0, 0, 0);
            for (q, found) in queries.iter().zip(batched) {
                let single = sorted(engine.matches(q));
                matched += single.len();
                confirmed += single.iter().filter(|m| m.confirmed_by.is_some()).count();
                alone += single.iter().filter(|m| m.kind != HashKind::Pdq).count();
                assert_eq!(sorted(found), single, "rule {r}");
            }
            assert!(matched > 100, "rule {r}: only {matched} matches");
            // Every tier is exercised: confirmed matches under the default rule, dHash and
            // pHash alone under the third.
            assert!(r != 0 || confirmed > 0, "rule {r}: no confirmed match");
            assert!(r != 2 || alone > 0, "rule {r}: no dHash/pHash-alone match");
        }
    }

    #[test]
    fn hits_since_an_id_complete_an_earlier_batch() {
        for (r, rule) in rules().into_iter().enumerate() {
            let mut mix = Mix(100 + r as u64);
            let originals = originals(&mut mix);
            let engine = Engine::in_memory(EngineConfig {
                rule,
                ..EngineConfig::default()
            })
            .unwrap();
            let record = |fps: &[Fingerprint], tag: &str| {
                for (i, fp) in fps.iter().enumerate() {
                    engine
                        .record_fingerprint(&Referral::new(format!("{tag}{i}")), fp)
                        .unwrap();
                }
            };
            record(&fingerprints(&mut mix, &originals, 200), "a");
            let queries = fingerprints(&mut mix, &originals, 60);
            let first = engine.next_entry_id();
            let before = engine.index_hits_batch(&queries);
            record(&fingerprints(&mut mix, &originals, 40), "b");
            let mut from_new = 0;
            for (q, mut hits) in queries.iter().zip(before) {
                let since = engine.index_hits_since(q, first);
                from_new += since.pdq.len();
                hits.extend(since);
                let combined = sorted(engine.matches_with(q, &hits));
                assert_eq!(combined, sorted(engine.matches(q)), "rule {r}");
            }
            assert!(
                from_new > 0,
                "rule {r}: the later entries were never candidates"
            );
        }
    }
}
