//! The index set: URL keys, digests and perceptual hashes of every live entry, and the luma
//! grids kept beside them for the content check.

use std::sync::Arc;

use dashmap::DashMap;

use super::{Engine, MatchRule};
use crate::entry::RegionGrid;
use crate::hashes::{EntryId, Hash64, HashBundle, HashKind, Pdq};
use crate::index::{ExactIndex, HammingIndex};
use crate::matching::{LumaGrid, LumaImage, StoredRegion};
use crate::store::EntryRecord;

/// A digest as an index key: its kind and its stored bytes (zero-padded to 32).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct DigestKey {
    kind: HashKind,
    bytes: [u8; 32],
}

impl DigestKey {
    /// The key of `bundle`'s value of the exact kind `kind`, when present.
    fn of(kind: HashKind, bundle: &HashBundle) -> Option<DigestKey> {
        let mut value = Vec::with_capacity(32);
        if !bundle.put_stored(kind, &mut value) || value.len() > 32 {
            return None;
        }
        let mut bytes = [0u8; 32];
        bytes[..value.len()].copy_from_slice(&value);
        Some(DigestKey { kind, bytes })
    }
}

/// The exact kinds a bundle holds (the digests), in rank order.
pub(super) fn digest_kinds() -> impl Iterator<Item = HashKind> {
    HashKind::in_bundle().filter(|k| k.is_exact())
}

/// The 64-bit perceptual kinds (dHash, pHash, ...), in rank order.
fn code64_kinds() -> impl Iterator<Item = HashKind> {
    HashKind::in_bundle().filter(|k| !k.is_exact() && k.bits() == 64)
}

/// Every index the engine looks a fingerprint up in, keyed by entry id.
pub(super) struct Indexes {
    /// URL keys (and, through recorded resolutions, their aliases).
    pub(super) url: ExactIndex<String>,
    /// Every digest kind (BLAKE3, SHA-256, MD5, ...), keyed by kind and value.
    digests: ExactIndex<DigestKey>,
    /// Every stored PDQ code (plain and extra).
    pub(super) pdq: HammingIndex<Pdq>,
    /// One index per 64-bit perceptual kind the rule can use (dHash and pHash only when it
    /// uses them; kinds the rule does not name always).
    code64: Vec<(HashKind, HammingIndex<Hash64>)>,
    /// Per entry with decoded media: every stored code with the luma grid of its region, for
    /// the content check ([`MatchRule::content`]), rebuilt from the stored entry on open.
    pub(super) regions: DashMap<EntryId, Arc<[StoredRegion]>>,
}

impl Indexes {
    /// Empty indexes; dHash and pHash ones only when the rule can use them.
    pub(super) fn new(rule: &MatchRule) -> Indexes {
        let confirm = rule.confirm.as_ref();
        let wanted = |kind: HashKind| match kind {
            HashKind::Dhash => {
                rule.dhash_alone.is_some() || confirm.is_some_and(|c| c.dhash_threshold.is_some())
            }
            HashKind::Phash => {
                rule.phash_alone.is_some() || confirm.is_some_and(|c| c.phash_threshold.is_some())
            }
            _ => true,
        };
        Indexes {
            url: ExactIndex::new(),
            digests: ExactIndex::new(),
            pdq: HammingIndex::new(),
            code64: code64_kinds()
                .filter(|k| wanted(*k))
                .map(|k| (k, HammingIndex::new()))
                .collect(),
            regions: DashMap::new(),
        }
    }

    /// The entries whose digest of `kind` equals `bundle`'s (none when it has none).
    pub(super) fn digest_ids(&self, kind: HashKind, bundle: &HashBundle) -> Vec<EntryId> {
        DigestKey::of(kind, bundle)
            .map(|key| self.digests.get(&key))
            .unwrap_or_default()
    }

    /// The index of a 64-bit perceptual kind, when the engine keeps one.
    pub(super) fn code64(&self, kind: HashKind) -> Option<&HammingIndex<Hash64>> {
        self.code64
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, index)| index)
    }

    /// The dHash index, when the rule uses dHash.
    pub(super) fn dhash(&self) -> Option<&HammingIndex<Hash64>> {
        self.code64(HashKind::Dhash)
    }

    /// The pHash index, when the rule uses pHash.
    pub(super) fn phash(&self) -> Option<&HammingIndex<Hash64>> {
        self.code64(HashKind::Phash)
    }

    /// Indexes an entry's keys, hashes and grids (its URL key also under `aliases`); its PDQ
    /// codes only `with_pdq` (not when they were loaded with the index).
    fn insert(&self, e: &EntryRecord, aliases: &[String], with_pdq: bool) {
        let id = e.id;
        if let Some(k) = &e.url_key {
            self.url.insert(k.clone(), id);
            for alias in aliases {
                self.url.insert(alias.clone(), id);
            }
        }
        for kind in digest_kinds() {
            if let Some(key) = DigestKey::of(kind, &e.hashes) {
                self.digests.insert(key, id);
            }
        }
        for p in e.hashes.pdq_codes().filter(|_| with_pdq) {
            self.pdq.insert(id, *p);
        }
        for (kind, index) in &self.code64 {
            if let Some(code) = e.hashes.code64(*kind) {
                index.insert(id, code);
            }
        }
        if !e.regions.is_empty() {
            self.regions.insert(id, stored_regions(&e.regions).into());
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
        for kind in digest_kinds() {
            if let Some(key) = DigestKey::of(kind, &e.hashes) {
                self.digests.remove(&key, id);
            }
        }
        self.pdq.remove(id);
        self.regions.remove(&id);
        for (_, index) in &self.code64 {
            index.remove(id);
        }
    }
}

/// The stored form of a fingerprint's regions (code and grid cells).
pub(super) fn region_grids(regions: &[StoredRegion]) -> Vec<RegionGrid> {
    regions
        .iter()
        .map(|r| RegionGrid {
            code: r.code,
            cells: *r.grid.cells(),
        })
        .collect()
}

/// The regions of stored grids, for the content check. A 16 x 16 picture's grid is its
/// pixels, so the cells come back unchanged (tested below).
pub(super) fn stored_regions(grids: &[RegionGrid]) -> Vec<StoredRegion> {
    grids
        .iter()
        .filter_map(|g| {
            let pixels = g.cells.iter().map(|&c| f32::from(c)).collect();
            let grid = LumaGrid::of(&LumaImage::new(16, 16, pixels)?)?;
            Some(StoredRegion { code: g.code, grid })
        })
        .collect()
}

impl Engine {
    /// Indexes an entry (replacing a live entry with the same id).
    pub(super) fn index_entry(&self, e: Arc<EntryRecord>) {
        self.index_entry_with(e, true);
    }

    /// [`Engine::index_entry`]; its PDQ codes only `with_pdq` (on open, codes loaded with
    /// the PDQ index file are already there).
    pub(super) fn index_entry_with(&self, e: Arc<EntryRecord>, with_pdq: bool) {
        let id = e.id;
        if let Some(old) = self.entries.get(&id).map(|o| Arc::clone(o.value())) {
            self.unindex_entry(&old);
        }
        self.indexes.insert(&e, &self.url_aliases(&e), with_pdq);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_come_back_from_storage_unchanged() {
        let grids = vec![
            RegionGrid {
                code: Pdq([1, 2, 3, 4]),
                cells: std::array::from_fn(|i| (i * 37 % 256) as u8),
            },
            RegionGrid {
                code: Pdq([5; 4]),
                cells: [255; 256],
            },
        ];
        let regions = stored_regions(&grids);
        assert_eq!(regions.len(), 2);
        assert_eq!(region_grids(&regions), grids);
    }

    #[test]
    fn digest_keys_keep_kinds_apart() {
        let a = HashBundle {
            blake3: Some(crate::hashes::Blake3([7; 32])),
            ..HashBundle::default()
        };
        let b = HashBundle {
            sha256: Some(crate::hashes::Sha256([7; 32])),
            ..HashBundle::default()
        };
        assert!(DigestKey::of(HashKind::Blake3, &a) != DigestKey::of(HashKind::Sha256, &b));
        assert!(DigestKey::of(HashKind::Md5, &a).is_none());
        assert_eq!(digest_kinds().count(), 3);
    }
}
