//! [`HammingIndex`]: exact radius search over binary codes, concurrent with inserts and deletes.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;

mod batch;
mod file;
mod merge;

use batch::{into_hits, plan_runs, scan_delta, JOIN_MIN_QUERIES};
use merge::sealed_delta;

use super::code::Code;
use super::segment::{JoinScratch, Scratch, SearchCounts, Segment, JOIN_MAX_QUERIES};
use super::{Hit, IndexError, Layout, SearchWork};
use crate::hashes::EntryId;

/// Tuning of a [`HammingIndex`]. The defaults suit PDQ (radius 31) and dHash/pHash (radius 10).
///
/// ```
/// use referral_dedup::hashes::Pdq;
/// use referral_dedup::index::{HammingConfig, HammingIndex};
/// let cfg = HammingConfig { delta_capacity: 1024, ..HammingConfig::default() };
/// let index = HammingIndex::<Pdq>::with_config(cfg);
/// assert!(index.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HammingConfig {
    /// The radius the tables are laid out for (see [`Layout::choose`]); other radii still
    /// work exactly, only speed differs. `None`: 31 for 256-bit codes, 10 for 64-bit codes.
    pub design_radius: Option<u32>,
    /// Inserts collect in a small delta scanned linearly; when it reaches this many codes it is
    /// sealed into a segment of its own.
    pub delta_capacity: usize,
    /// Adjacent segments are merged (rebuilding their tables) while the older one holds at most
    /// this many times the codes of the newer one, giving geometrically growing segments.
    pub merge_factor: usize,
    /// Merge on a background thread (true) or inside the `insert` that sealed the delta.
    pub background_merge: bool,
    /// Use this layout for every segment with tables and always search through the tables,
    /// instead of choosing by cost (for experiments and tests). Ignored unless
    /// `tables * bits <= BITS` and `1 <= bits <= 24`.
    pub force_layout: Option<Layout>,
    /// Keep this many low substring bits inline in the table entries instead of the number
    /// [`inline_bits`](super::inline_bits) chooses (capped to what fits beside the slot
    /// number; for experiments and tests).
    pub force_inline_bits: Option<u32>,
    /// [`HammingIndex::range_batch`] and [`HammingIndex::range_many_batch`] calls with at
    /// least this many queries sort the reads of the whole batch by address before doing them
    /// (the *joined* search: near-sequential reads instead of random misses); smaller calls
    /// use the pipelined search. `0` never joins. Both are exact; only speed differs.
    pub join_min_queries: usize,
}

impl Default for HammingConfig {
    fn default() -> Self {
        HammingConfig {
            design_radius: None,
            delta_capacity: 8192,
            merge_factor: 4,
            background_merge: true,
            force_layout: None,
            force_inline_bits: None,
            join_min_queries: JOIN_MIN_QUERIES,
        }
    }
}

/// Segments plus the delta: what a query sees, swapped as a whole.
struct View<C: Code> {
    segments: Arc<Vec<Arc<Segment<C>>>>,
    delta: Vec<(EntryId, C)>,
}

/// Serialises deletes against the publication of merged segments.
#[derive(Default)]
struct Structure {
    /// A merge is building a segment from a snapshot taken earlier.
    merging: bool,
    /// Ids deleted since that snapshot: applied to the merged segment before it is published.
    removed_since_snapshot: Vec<u32>,
}

struct Shared<C: Code> {
    design_radius: u32,
    delta_capacity: usize,
    merge_factor: usize,
    background_merge: bool,
    force_layout: Option<Layout>,
    force_inline_bits: Option<u32>,
    join_min_queries: usize,
    view: RwLock<View<C>>,
    structure: Mutex<Structure>,
    /// Held for the whole of one merge: one merge at a time.
    merge_lock: Mutex<()>,
    /// A background merge thread is running (or about to).
    merge_thread: AtomicBool,
}

/// Exact Hamming-radius search over 64- or 256-bit codes with concurrent inserts and deletes.
///
/// Every stored `(id, code)` within the radius is returned: recall is 1.0 by construction and
/// checked against a brute-force scan in the property tests.
///
/// # Design
/// - **Multi-index hashing over flat arrays.** The stored codes live in immutable *segments*:
///   the codes, the entry ids beside them, and per substring a table of 4-byte entries (slot
///   number and the substring's low `k` bits) grouped by the substring's top bits, with 2-byte
///   bucket offsets (relative to a 4-byte start per 64 buckets) over those top bits only:
///   about 83 bytes per 256-bit code at 10M codes, instead of ~340 for hash maps of id lists.
/// - **Layout from the stored count and the radius**: see [`Layout::choose`]; tables are
///   probed at the MIH paper's per-table radii ([`Layout::table_radius`]).
/// - **Cheap buckets**: with the low bits inline, the offsets are small enough to stay in the
///   cache and one read of a coarse bucket covers every neighbour that differs only in those
///   bits; entries whose low bits are too far from the query's never become candidates.
/// - **Memory-level parallelism**: a search runs as a software pipeline over its queries
///   (list the buckets, read their offsets, read their entries, verify the candidates), each
///   stage prefetching the random reads a few items ahead, so dozens of DRAM reads are in
///   flight instead of one; [`HammingIndex::range_batch`] feeds it many queries at once.
/// - **Sorted reads for large batches**: from [`HammingConfig::join_min_queries`] queries, a
///   batch call sorts the probes of each table by bucket and all candidates by slot before
///   reading them, so the table entries and stored codes are read as near-sequential streams
///   (the *joined* search: same probes, candidates and answer, other order).
/// - **No per-query set**: a candidate is reported only by the first table in which its
///   substring is within that table's radius; candidates are verified with popcounts.
/// - **Linear scan fallback**: small segments and radii where the cost model says the tables
///   lose are scanned in blocks (many queries against a cache-sized block of codes).
/// - **Inserts** go to a small delta (scanned linearly) that is sealed into a segment when
///   full; adjacent segments of similar size are merged, with tables rebuilt, in the background
///   (or inline, see [`HammingConfig::background_merge`]). Queries take a read lock only to
///   clone the segment list and scan the delta; the big segments are searched without locks.
/// - **Deletes** set tombstone bits in the segments (and drop the id from the delta) before
///   `remove` returns; merges drop tombstoned codes.
///
/// ```
/// use referral_dedup::hashes::{EntryId, Hash64};
/// use referral_dedup::index::{HammingIndex, Hit};
///
/// // Ids 1..1000 get codes far from 0; id 0 gets code 0.
/// let spread = |i: u32| Hash64(u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15));
/// let index = HammingIndex::build((0..1000u32).map(|i| (EntryId(i), spread(i))));
/// index.insert(EntryId(5000), Hash64(0b111));
/// let hits = index.range(&Hash64(0), 3);
/// assert_eq!(hits, vec![Hit { id: EntryId(0), distance: 0 }, Hit { id: EntryId(5000), distance: 3 }]);
/// assert!(index.remove(EntryId(0)));
/// assert_eq!(index.range(&Hash64(0), 3), vec![Hit { id: EntryId(5000), distance: 3 }]);
/// assert_eq!(index.len(), 1000);
/// ```
pub struct HammingIndex<C: Code> {
    shared: Arc<Shared<C>>,
}

impl<C: Code> Default for HammingIndex<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Code> std::fmt::Debug for HammingIndex<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HammingIndex")
            .field("bits", &C::BITS)
            .field("len", &self.len())
            .field("segments", &self.segment_count())
            .finish()
    }
}

fn default_radius(bits: u32) -> u32 {
    if bits >= 256 {
        31
    } else {
        10 * bits / 64
    }
}

impl<C: Code> HammingIndex<C> {
    /// An empty index with the default [`HammingConfig`].
    pub fn new() -> Self {
        Self::with_config(HammingConfig::default())
    }

    /// An empty index with the given configuration.
    pub fn with_config(cfg: HammingConfig) -> Self {
        Self::from_segments(cfg, Vec::new())
    }

    fn from_segments(cfg: HammingConfig, segments: Vec<Arc<Segment<C>>>) -> Self {
        HammingIndex {
            shared: Arc::new(Shared {
                design_radius: cfg.design_radius.unwrap_or_else(|| default_radius(C::BITS)),
                delta_capacity: cfg.delta_capacity.max(1),
                merge_factor: cfg.merge_factor.max(1),
                background_merge: cfg.background_merge,
                force_layout: cfg.force_layout,
                force_inline_bits: cfg.force_inline_bits,
                join_min_queries: cfg.join_min_queries,
                view: RwLock::new(View {
                    segments: Arc::new(segments),
                    delta: Vec::new(),
                }),
                structure: Mutex::new(Structure::default()),
                merge_lock: Mutex::new(()),
                merge_thread: AtomicBool::new(false),
            }),
        }
    }

    /// Builds an index from many `(id, code)` pairs at once: one segment with its tables
    /// built in parallel (the fast path for loading a snapshot).
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Pdq};
    /// use referral_dedup::index::HammingIndex;
    /// let index = HammingIndex::build([(EntryId(1), Pdq([1, 2, 3, 4]))]);
    /// assert_eq!(index.len(), 1);
    /// ```
    pub fn build(items: impl IntoIterator<Item = (EntryId, C)>) -> Self {
        Self::build_with_config(items, HammingConfig::default())
    }

    /// [`HammingIndex::build`] with a configuration.
    pub fn build_with_config(
        items: impl IntoIterator<Item = (EntryId, C)>,
        cfg: HammingConfig,
    ) -> Self {
        let index = Self::with_config(cfg);
        // Straight into the two columns (no intermediate list of pairs), reserving the
        // iterator's lower size bound.
        let (mut ids, mut codes): (Vec<u32>, Vec<C>) =
            items.into_iter().map(|(id, c)| (id.0, c)).unzip();
        ids.shrink_to_fit();
        codes.shrink_to_fit();
        if !codes.is_empty() {
            let seg = index.shared.build_segment(ids, codes);
            index.shared.view.write().segments = Arc::new(vec![Arc::new(seg)]);
        }
        index
    }

    /// Stores `code` for `id`, visible to every query that starts after this returns. An id
    /// may hold several codes.
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Hash64};
    /// use referral_dedup::index::HammingIndex;
    /// let index = HammingIndex::new();
    /// index.insert(EntryId(1), Hash64(1));
    /// index.insert(EntryId(1), Hash64(2));
    /// assert_eq!(index.len(), 2);
    /// ```
    pub fn insert(&self, id: EntryId, code: C) {
        let sealed = {
            let mut view = self.shared.view.write();
            view.delta.push((id, code));
            if view.delta.len() >= self.shared.delta_capacity {
                let items = std::mem::take(&mut view.delta);
                let mut segments = Vec::clone(&view.segments);
                segments.push(Arc::new(sealed_delta(items)));
                view.segments = Arc::new(segments);
                true
            } else {
                false
            }
        };
        if sealed {
            if self.shared.background_merge {
                Shared::spawn_merger(&self.shared);
            } else {
                self.shared.merge_pending();
            }
        }
    }

    /// Deletes every code stored for `id`; true if there was any. Queries that start after
    /// this returns no longer see the id.
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Hash64};
    /// use referral_dedup::index::HammingIndex;
    /// let index = HammingIndex::new();
    /// index.insert(EntryId(1), Hash64(1));
    /// assert!(index.remove(EntryId(1)));
    /// assert!(!index.remove(EntryId(1)));
    /// assert!(index.range(&Hash64(1), 0).is_empty());
    /// ```
    pub fn remove(&self, id: EntryId) -> bool {
        let mut structure = self.shared.structure.lock();
        let (mut any, segments) = {
            let mut view = self.shared.view.write();
            let before = view.delta.len();
            view.delta.retain(|(x, _)| *x != id);
            (view.delta.len() != before, view.segments.clone())
        };
        for seg in segments.iter() {
            any |= seg.remove(id);
        }
        if structure.merging {
            structure.removed_since_snapshot.push(id.0);
        }
        any
    }

    /// Every stored entry with a code within `radius` of `query`, exactly. An id holding
    /// several codes appears once, with its smallest distance. Sorted by distance, then id.
    /// A radius at or above the code length matches everything.
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Pdq};
    /// use referral_dedup::index::{HammingIndex, Hit};
    /// let index = HammingIndex::new();
    /// index.insert(EntryId(7), Pdq([0xff, 0, 0, 0]));
    /// assert_eq!(index.range(&Pdq([0; 4]), 8), vec![Hit { id: EntryId(7), distance: 8 }]);
    /// assert!(index.range(&Pdq([0; 4]), 7).is_empty());
    /// ```
    pub fn range(&self, query: &C, radius: u32) -> Vec<Hit> {
        self.range_many(std::slice::from_ref(query), radius)
    }

    /// Every stored entry within `radius` of *any* of `queries` (for example the 8 dihedral
    /// variants of a PDQ hash), once per id with the smallest distance over queries and codes.
    /// Sorted by distance, then id.
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Hash64};
    /// use referral_dedup::index::{HammingIndex, Hit};
    /// let index = HammingIndex::new();
    /// index.insert(EntryId(1), Hash64(0b11));
    /// let hits = index.range_many(&[Hash64(0), Hash64(0b1)], 2);
    /// assert_eq!(hits, vec![Hit { id: EntryId(1), distance: 1 }]);
    /// ```
    pub fn range_many(&self, queries: &[C], radius: u32) -> Vec<Hit> {
        let radius = radius.min(C::BITS);
        let mut raw: Vec<(u32, u32)> = Vec::new();
        let segments = {
            let view = self.shared.view.read();
            scan_delta(&view.delta, queries, radius, &mut |_, id, d| {
                raw.push((id, d))
            });
            view.segments.clone()
        };
        let mut scratch = Scratch::default();
        for seg in segments.iter() {
            seg.search(queries, radius, &mut scratch, None, &mut |_, id, d| {
                raw.push((id, d))
            });
        }
        into_hits(raw)
    }

    /// [`HammingIndex::range`] for many queries at once: `result[i]` is exactly
    /// `range(&queries[i], radius)`. Faster per query than one call each: the queries are
    /// searched in groups, so the random reads of many candidates overlap (see
    /// [`HammingIndex`]'s design notes), and the groups run in parallel on the rayon pool.
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Hash64};
    /// use referral_dedup::index::{HammingIndex, Hit};
    /// let index = HammingIndex::new();
    /// index.insert(EntryId(1), Hash64(0b11));
    /// index.insert(EntryId(2), Hash64(u64::MAX));
    /// let hits = index.range_batch(&[Hash64(0), Hash64(u64::MAX), Hash64(0xf0f0)], 2);
    /// assert_eq!(hits[0], vec![Hit { id: EntryId(1), distance: 2 }]);
    /// assert_eq!(hits[1], vec![Hit { id: EntryId(2), distance: 0 }]);
    /// assert!(hits[2].is_empty());
    /// ```
    pub fn range_batch(&self, queries: &[C], radius: u32) -> Vec<Vec<Hit>> {
        let groups: Vec<&[C]> = queries.iter().map(std::slice::from_ref).collect();
        self.range_many_batch(&groups, radius)
    }

    /// [`HammingIndex::range_many`] for many groups of queries at once (for example the
    /// dihedral variants of many pictures): `result[i]` is exactly
    /// `range_many(groups[i], radius)`, computed as in [`HammingIndex::range_batch`].
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Hash64};
    /// use referral_dedup::index::{HammingIndex, Hit};
    /// let index = HammingIndex::new();
    /// index.insert(EntryId(1), Hash64(0b11));
    /// let groups: [&[Hash64]; 2] = [&[Hash64(0), Hash64(0b1)], &[Hash64(u64::MAX)]];
    /// let hits = index.range_many_batch(&groups, 2);
    /// assert_eq!(hits[0], vec![Hit { id: EntryId(1), distance: 1 }]);
    /// assert!(hits[1].is_empty());
    /// ```
    pub fn range_many_batch(&self, groups: &[&[C]], radius: u32) -> Vec<Vec<Hit>> {
        let radius = radius.min(C::BITS);
        let (delta, segments) = {
            let view = self.shared.view.read();
            (view.delta.clone(), view.segments.clone())
        };
        let (runs, join) = plan_runs(groups, self.shared.join_min_queries);
        // Joined: one contiguous share of the (equal) runs per thread, so each thread sets up
        // its large work lists once.
        let per_thread = if join {
            runs.len().div_ceil(rayon::current_num_threads().max(1))
        } else {
            1
        };
        let per_run: Vec<Vec<Vec<Hit>>> = runs
            .into_par_iter()
            .with_min_len(per_thread)
            .map_init(
                || (Scratch::default(), JoinScratch::default()),
                |(scratch, join_scratch), run| {
                    let run_groups = &groups[run];
                    let mut flat: Vec<C> = Vec::new();
                    let mut owner: Vec<u32> = Vec::new();
                    for (g, group) in run_groups.iter().enumerate() {
                        flat.extend_from_slice(group);
                        owner.extend(std::iter::repeat_n(g as u32, group.len()));
                    }
                    let mut raw: Vec<Vec<(u32, u32)>> = vec![Vec::new(); run_groups.len()];
                    let mut push =
                        |qi: usize, id: u32, d: u32| raw[owner[qi] as usize].push((id, d));
                    scan_delta(&delta, &flat, radius, &mut push);
                    for seg in segments.iter() {
                        if join {
                            for (part, chunk) in flat.chunks(JOIN_MAX_QUERIES).enumerate() {
                                let base = part * JOIN_MAX_QUERIES;
                                seg.search_joined(
                                    chunk,
                                    radius,
                                    join_scratch,
                                    None,
                                    &mut |q, id, d| push(base + q, id, d),
                                );
                            }
                        } else {
                            seg.search(&flat, radius, scratch, None, &mut push);
                        }
                    }
                    raw.into_iter().map(into_hits).collect()
                },
            )
            .collect();
        per_run.into_iter().flatten().collect()
    }

    /// The work a [`HammingIndex::range_batch`] of `queries` does, summed over the queries (for
    /// benchmarks: candidates verified per query, and the random memory reads behind them).
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Hash64};
    /// use referral_dedup::index::HammingIndex;
    /// let index = HammingIndex::new();
    /// index.insert(EntryId(1), Hash64(1));
    /// let work = index.search_work(&[Hash64(0)], 3);
    /// assert_eq!(work.candidates, 1); // the delta is scanned
    /// ```
    pub fn search_work(&self, queries: &[C], radius: u32) -> SearchWork {
        let radius = radius.min(C::BITS);
        let (delta_len, segments) = {
            let view = self.shared.view.read();
            (view.delta.len(), view.segments.clone())
        };
        let mut counts = SearchCounts {
            candidates: (delta_len * queries.len()) as u64,
            ..SearchCounts::default()
        };
        let mut scratch = Scratch::default();
        for seg in segments.iter() {
            seg.search(
                queries,
                radius,
                &mut scratch,
                Some(&mut counts),
                &mut |_, _, _| {},
            );
        }
        SearchWork {
            probes: counts.probes,
            bucket_reads: counts.scans,
            entries: counts.entries,
            candidates: counts.candidates,
        }
    }

    /// Checks that `radius` is meaningful for this code length.
    ///
    /// # Errors
    /// [`IndexError::RadiusTooLarge`] when `radius` exceeds the number of bits.
    ///
    /// ```
    /// use referral_dedup::hashes::Hash64;
    /// use referral_dedup::index::HammingIndex;
    /// assert!(HammingIndex::<Hash64>::check_radius(64).is_ok());
    /// assert!(HammingIndex::<Hash64>::check_radius(65).is_err());
    /// ```
    pub fn check_radius(radius: u32) -> Result<(), IndexError> {
        if radius > C::BITS {
            Err(IndexError::RadiusTooLarge {
                radius,
                bits: C::BITS,
            })
        } else {
            Ok(())
        }
    }

    /// Number of stored live codes (an id with several codes counts each).
    pub fn len(&self) -> usize {
        let view = self.shared.view.read();
        view.delta.len() + view.segments.iter().map(|s| s.live()).sum::<usize>()
    }

    /// True when no code is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of segments (excluding the delta): a measure of pending merge work.
    pub fn segment_count(&self) -> usize {
        self.shared.view.read().segments.len()
    }

    /// The table layouts of the segments, largest segment first (`None` for scanned segments).
    pub fn layouts(&self) -> Vec<(usize, Option<Layout>)> {
        let view = self.shared.view.read();
        let mut v: Vec<_> = view
            .segments
            .iter()
            .map(|s| (s.slots(), s.layout()))
            .collect();
        v.sort_by_key(|x| std::cmp::Reverse(x.0));
        v
    }

    /// Approximate bytes held in memory by the stored codes, ids, tombstones, tables and delta.
    pub fn memory_bytes(&self) -> usize {
        let view = self.shared.view.read();
        view.delta.capacity() * std::mem::size_of::<(EntryId, C)>()
            + view.segments.iter().map(|s| s.bytes()).sum::<usize>()
    }

    /// Seals the delta and merges every segment into one, rebuilding its tables, on the calling
    /// thread (waiting for a running background merge first). Queries and inserts continue
    /// meanwhile. Useful after a bulk of inserts, and in tests.
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Hash64};
    /// use referral_dedup::index::HammingIndex;
    /// let index = HammingIndex::new();
    /// for i in 0..100u32 { index.insert(EntryId(i), Hash64(u64::from(i))); }
    /// index.compact();
    /// assert_eq!(index.segment_count(), 1);
    /// assert_eq!(index.len(), 100);
    /// ```
    pub fn compact(&self) {
        let _merge = self.shared.merge_lock.lock();
        {
            let mut view = self.shared.view.write();
            if !view.delta.is_empty() {
                let items = std::mem::take(&mut view.delta);
                let mut segments = Vec::clone(&view.segments);
                segments.push(Arc::new(sealed_delta(items)));
                view.segments = Arc::new(segments);
            }
        }
        let all = self.shared.view.read().segments.clone();
        if all.len() > 1 || all.first().is_some_and(|s| s.live() < s.slots()) {
            self.shared.merge_segments(all.to_vec());
        }
    }
}
