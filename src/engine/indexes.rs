//! The index set: URL keys, digests and perceptual hashes of every live entry, and the luma
//! grids kept beside them for the content check.

use std::sync::Arc;

use dashmap::DashMap;

use super::{Engine, MatchRule};
use crate::hashes::{Blake3, EntryId, Hash64, Md5, Pdq, Sha256};
use crate::index::{ExactIndex, HammingIndex};
use crate::matching::StoredRegion;
use crate::store::EntryRecord;

/// Every index the engine looks a fingerprint up in, keyed by entry id.
pub(super) struct Indexes {
    /// URL keys (and, through recorded resolutions, their aliases).
    pub(super) url: ExactIndex<String>,
    /// BLAKE3 digests.
    pub(super) blake3: ExactIndex<Blake3>,
    /// SHA-256 digests.
    pub(super) sha256: ExactIndex<Sha256>,
    /// MD5 digests.
    pub(super) md5: ExactIndex<Md5>,
    /// Every stored PDQ code (plain and extra).
    pub(super) pdq: HammingIndex<Pdq>,
    /// Whole-picture dHashes, when the rule uses them.
    pub(super) dhash: Option<HammingIndex<Hash64>>,
    /// Whole-picture pHashes, when the rule uses them.
    pub(super) phash: Option<HammingIndex<Hash64>>,
    /// Per entry with decoded media: every stored code with the luma grid of its region, for
    /// the content check ([`MatchRule::content`]). Kept in memory beside the entry; entries
    /// replayed from disk have none and are matched on PDQ distances alone.
    pub(super) regions: DashMap<EntryId, Arc<[StoredRegion]>>,
}

impl Indexes {
    /// Empty indexes; dHash and pHash ones only when the rule can use them.
    pub(super) fn new(rule: &MatchRule) -> Indexes {
        let confirm = rule.confirm.as_ref();
        let dhash = (rule.dhash_alone.is_some()
            || confirm.is_some_and(|c| c.dhash_threshold.is_some()))
        .then(HammingIndex::new);
        let phash = (rule.phash_alone.is_some()
            || confirm.is_some_and(|c| c.phash_threshold.is_some()))
        .then(HammingIndex::new);
        Indexes {
            url: ExactIndex::new(),
            blake3: ExactIndex::new(),
            sha256: ExactIndex::new(),
            md5: ExactIndex::new(),
            pdq: HammingIndex::new(),
            dhash,
            phash,
            regions: DashMap::new(),
        }
    }

    /// Indexes an entry's keys and hashes (its URL key also under `aliases`).
    fn insert(&self, e: &EntryRecord, aliases: &[String]) {
        let id = e.id;
        if let Some(k) = &e.url_key {
            self.url.insert(k.clone(), id);
            for alias in aliases {
                self.url.insert(alias.clone(), id);
            }
        }
        if let Some(d) = e.blake3 {
            self.blake3.insert(d, id);
        }
        if let Some(d) = e.sha256 {
            self.sha256.insert(d, id);
        }
        if let Some(d) = e.md5 {
            self.md5.insert(d, id);
        }
        if let Some(p) = e.pdq {
            self.pdq.insert(id, p);
        }
        for p in &e.extra_pdq {
            self.pdq.insert(id, *p);
        }
        if let (Some(index), Some(d)) = (&self.dhash, e.dhash) {
            index.insert(id, d);
        }
        if let (Some(index), Some(p)) = (&self.phash, e.phash) {
            index.insert(id, p);
        }
    }

    /// Removes an entry's keys, hashes and grids (its URL key also from `aliases`).
    fn remove(&self, e: &EntryRecord, aliases: &[String]) {
        let id = e.id;
        if let Some(k) = &e.url_key {
            self.url.remove(k, id);
            for alias in aliases {
                self.url.remove(alias, id);
            }
        }
        if let Some(d) = e.blake3 {
            self.blake3.remove(&d, id);
        }
        if let Some(d) = e.sha256 {
            self.sha256.remove(&d, id);
        }
        if let Some(d) = e.md5 {
            self.md5.remove(&d, id);
        }
        self.pdq.remove(id);
        self.regions.remove(&id);
        if let Some(index) = &self.dhash {
            index.remove(id);
        }
        if let Some(index) = &self.phash {
            index.remove(id);
        }
    }
}

impl Engine {
    /// Indexes an entry (replacing a live entry with the same id).
    pub(super) fn index_entry(&self, e: Arc<EntryRecord>) {
        let id = e.id;
        if let Some(old) = self.entries.get(&id).map(|o| Arc::clone(o.value())) {
            self.unindex_entry(&old);
        }
        self.indexes.insert(&e, &self.url_aliases(&e));
        self.videos.insert(&e);
        self.by_external
            .entry((e.source, e.external_id.clone()))
            .or_default()
            .push(id);
        self.entries.insert(id, e);
    }

    /// Removes an entry from every index and from the live set.
    pub(super) fn unindex_entry(&self, e: &EntryRecord) {
        let id = e.id;
        self.indexes.remove(e, &self.url_aliases(e));
        self.videos.remove(id);
        let key = (e.source, e.external_id.clone());
        let now_empty = match self.by_external.get_mut(&key) {
            Some(mut ids) => {
                ids.retain(|x| *x != id);
                ids.is_empty()
            }
            None => false,
        };
        if now_empty {
            self.by_external.remove_if(&key, |_, ids| ids.is_empty());
        }
        self.entries.remove(&id);
    }

    /// The other keys an entry's URL key is indexed under.
    fn url_aliases(&self, e: &EntryRecord) -> Vec<String> {
        e.url_key
            .as_deref()
            .map(|k| self.keyer_aliases(k))
            .unwrap_or_default()
    }
}
