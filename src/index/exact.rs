//! [`ExactIndex`]: key (digest or URL key) -> entry ids, for many concurrent readers and writers.

use std::hash::Hash;

use dashmap::DashMap;
use foldhash::fast::RandomState;

use crate::hashes::EntryId;

/// Ids under one key (nearly always one).
type Ids = Vec<EntryId>;

/// A concurrent exact-match index from keys (BLAKE3/SHA-256/MD5 digests, URL keys) to the
/// entries that carry them.
///
/// Backed by a [`DashMap`] (sharded `RwLock`ed hash maps): lookups of different keys rarely
/// share a lock, and a lookup never waits for a write to another shard. Keys are hashed with
/// foldhash's per-process randomly seeded hasher rather than SipHash: keys come from untrusted
/// input, so the seed stays random, but SipHash's extra cost buys nothing more here (measured
/// in `benches/index.rs`). It was measured
/// against hand-sharded `parking_lot::RwLock<HashMap>` in `benches/index.rs` (figures in
/// `BENCHMARKS.md`) and kept as the faster.
///
/// ```
/// use referral_dedup::hashes::{Blake3, EntryId};
/// use referral_dedup::index::ExactIndex;
/// let index = ExactIndex::new();
/// index.insert(Blake3([1; 32]), EntryId(1));
/// index.insert(Blake3([1; 32]), EntryId(2));
/// assert_eq!(index.get(&Blake3([1; 32])), vec![EntryId(1), EntryId(2)]);
/// assert!(index.remove(&Blake3([1; 32]), EntryId(1)));
/// assert_eq!(index.get(&Blake3([1; 32])), vec![EntryId(2)]);
/// assert_eq!(index.len(), 1);
/// ```
pub struct ExactIndex<K: Eq + Hash + Clone + Send + Sync> {
    map: DashMap<K, Ids, RandomState>,
}

impl<K: Eq + Hash + Clone + Send + Sync> Default for ExactIndex<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Eq + Hash + Clone + Send + Sync> std::fmt::Debug for ExactIndex<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactIndex")
            .field("keys", &self.len())
            .finish()
    }
}

impl<K: Eq + Hash + Clone + Send + Sync> ExactIndex<K> {
    /// An empty index.
    pub fn new() -> Self {
        ExactIndex {
            map: DashMap::with_hasher(RandomState::default()),
        }
    }

    /// An empty index with room for `keys` keys.
    ///
    /// ```
    /// use referral_dedup::index::ExactIndex;
    /// let index: ExactIndex<String> = ExactIndex::with_capacity(1000);
    /// assert_eq!(index.len(), 0);
    /// ```
    pub fn with_capacity(keys: usize) -> Self {
        ExactIndex {
            map: DashMap::with_capacity_and_hasher(keys, RandomState::default()),
        }
    }

    /// Records that `id` carries `key`. Inserting the same pair twice keeps one copy.
    ///
    /// ```
    /// use referral_dedup::hashes::EntryId;
    /// use referral_dedup::index::ExactIndex;
    /// let index = ExactIndex::new();
    /// index.insert("youtube:abc".to_string(), EntryId(4));
    /// index.insert("youtube:abc".to_string(), EntryId(4));
    /// assert_eq!(index.get(&"youtube:abc".to_string()), vec![EntryId(4)]);
    /// ```
    pub fn insert(&self, key: K, id: EntryId) {
        let mut ids = self.map.entry(key).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// The ids carrying `key`, in insertion order (empty if none).
    ///
    /// ```
    /// use referral_dedup::hashes::Md5;
    /// use referral_dedup::index::ExactIndex;
    /// let index: ExactIndex<Md5> = ExactIndex::new();
    /// assert!(index.get(&Md5([0; 16])).is_empty());
    /// ```
    pub fn get(&self, key: &K) -> Vec<EntryId> {
        self.map.get(key).map(|ids| ids.clone()).unwrap_or_default()
    }

    /// True if any id carries `key` (no allocation).
    ///
    /// ```
    /// use referral_dedup::hashes::EntryId;
    /// use referral_dedup::index::ExactIndex;
    /// let index = ExactIndex::new();
    /// index.insert(7u64, EntryId(1));
    /// assert!(index.contains_key(&7));
    /// ```
    pub fn contains_key(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Forgets that `id` carries `key`; true if it did.
    ///
    /// ```
    /// use referral_dedup::hashes::EntryId;
    /// use referral_dedup::index::ExactIndex;
    /// let index = ExactIndex::new();
    /// index.insert(1u64, EntryId(1));
    /// assert!(index.remove(&1, EntryId(1)));
    /// assert!(!index.remove(&1, EntryId(1)));
    /// assert_eq!(index.len(), 0);
    /// ```
    pub fn remove(&self, key: &K, id: EntryId) -> bool {
        let removed = match self.map.get_mut(key) {
            Some(mut ids) => match ids.iter().position(|x| *x == id) {
                Some(at) => {
                    ids.remove(at);
                    true
                }
                None => false,
            },
            None => false,
        };
        if removed {
            self.map.remove_if(key, |_, ids| ids.is_empty());
        }
        removed
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
