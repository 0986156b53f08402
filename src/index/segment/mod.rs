//! An immutable run of stored codes with its multi-index-hashing tables (flat sorted arrays),
//! plus tombstone bits so deletes take effect without a rebuild.

mod file;
mod join;
mod neighbours;
mod task;

pub(crate) use join::{JoinScratch, JOIN_MAX_QUERIES};
use neighbours::for_each_neighbour;
use task::{SearchTask, WorkLists};

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rayon::prelude::*;

use super::code::Code;
use super::column::Column;
use super::layout::{inline_bits, scan_cost, slot_bits, Layout};
use super::prefetch::{prefetch, with_popcnt};
use crate::hashes::EntryId;

/// Buckets per block in the compact offsets: the block start is a `u32`, each bucket's start
/// is a `u16` relative to it.
const BLOCK_SHIFT: u32 = 6;

/// Codes per block of the blocked linear scan (many queries against a cache-sized block).
const SCAN_BLOCK: usize = 2048;

/// Bucket boundaries of one table: bucket `v` holds entries `start(v) .. start(v + 1)`.
enum Offsets {
    /// `start(v) = base[v >> 6] + rel[v]`: about 2 bytes per bucket.
    Compact { base: Vec<u32>, rel: Column<u16> },
    /// Plain `u32` starts, used when some block of 64 buckets holds more than 65,535 entries.
    Wide(Column<u32>),
}

impl Offsets {
    /// Builds offsets from `starts` (length `buckets + 1`, non-decreasing, last = n).
    fn from_starts(starts: Vec<u32>) -> Offsets {
        let blocks = ((starts.len() - 1) >> BLOCK_SHIFT) + 1;
        let base: Vec<u32> = (0..blocks).map(|k| starts[k << BLOCK_SHIFT]).collect();
        let fits = starts
            .iter()
            .enumerate()
            .all(|(v, &s)| s - base[v >> BLOCK_SHIFT] <= u32::from(u16::MAX));
        if !fits {
            return Offsets::Wide(Column::from_slice(&starts));
        }
        let mut rel = Column::zeroed(starts.len());
        for (v, (r, &s)) in rel.iter_mut().zip(&starts).enumerate() {
            *r = (s - base[v >> BLOCK_SHIFT]) as u16;
        }
        Offsets::Compact { base, rel }
    }

    #[inline(always)]
    fn start(&self, v: usize) -> usize {
        match self {
            Offsets::Compact { base, rel } => base[v >> BLOCK_SHIFT] as usize + rel[v] as usize,
            Offsets::Wide(starts) => starts[v] as usize,
        }
    }

    /// Hints that bucket `v`'s boundaries will be read soon.
    #[inline(always)]
    fn prefetch(&self, v: usize) {
        match self {
            Offsets::Compact { rel, .. } => prefetch(rel, v),
            Offsets::Wide(starts) => prefetch(starts, v),
        }
    }

    #[inline(always)]
    fn range(&self, v: usize) -> (usize, usize) {
        (self.start(v), self.start(v + 1))
    }

    fn bytes(&self) -> usize {
        match self {
            Offsets::Compact { base, rel } => base.len() * 4 + rel.len() * 2,
            Offsets::Wide(starts) => starts.len() * 4,
        }
    }
}

/// One multi-index-hashing table: the stored codes' slots grouped by coarse bucket (the top
/// `bits - k` bits of the table's substring), each beside the substring's low `k` bits.
struct Table {
    /// Boundaries of the coarse buckets in `entries`.
    offsets: Offsets,
    /// `slot << k | (substring & (2^k - 1))`, grouped by coarse bucket (unordered within one).
    entries: Column<u32>,
}

impl Table {
    /// Groups `codes` by the substring at `start` of `bits` bits, keeping `k` low bits inline.
    fn build<C: Code>(codes: &Codes<C>, start: u32, bits: u32, k: u32) -> Table {
        let coarse = 1usize << (bits - k);
        let low_mask = low_mask(k);
        let mut starts = vec![0u32; coarse + 1];
        for slot in 0..codes.len() {
            starts[(codes.get(slot).substring(start, bits) >> k) as usize + 1] += 1;
        }
        for v in 0..coarse {
            starts[v + 1] += starts[v];
        }
        let mut cursor = starts[..coarse].to_vec();
        let mut entries = Column::zeroed(codes.len());
        for slot in 0..codes.len() {
            let v = codes.get(slot).substring(start, bits);
            let at = &mut cursor[(v >> k) as usize];
            entries[*at as usize] = ((slot as u64) << k) as u32 | (v & low_mask);
            *at += 1;
        }
        Table {
            offsets: Offsets::from_starts(starts),
            entries,
        }
    }

    fn bytes(&self) -> usize {
        self.offsets.bytes() + self.entries.len() * 4
    }
}

/// Stored codes as consecutive 64-bit words (so they can live in a [`Column`]).
pub(crate) struct Codes<C> {
    words: Column<u64>,
    len: usize,
    code: PhantomData<C>,
}

impl<C: Code> Codes<C> {
    const WORDS: usize = (C::BITS / 64) as usize;

    fn from_codes(codes: Vec<C>) -> Codes<C> {
        let mut words = Column::zeroed(codes.len() * Self::WORDS);
        for (chunk, c) in words.chunks_exact_mut(Self::WORDS).zip(&codes) {
            for (k, w) in chunk.iter_mut().enumerate() {
                *w = c.word(k);
            }
        }
        Codes {
            words,
            len: codes.len(),
            code: PhantomData,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn get(&self, slot: usize) -> C {
        C::from_words(&self.words[slot * Self::WORDS..(slot + 1) * Self::WORDS])
    }

    #[inline]
    fn prefetch(&self, slot: usize) {
        prefetch(&self.words, slot * Self::WORDS);
    }

    fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[inline]
fn low_mask(k: u32) -> u32 {
    ((1u64 << k) - 1) as u32
}

/// Most tables a segment may have (the cost model never picks substrings under 4 bits).
const MAX_TABLES: u32 = 64;

/// How many items ahead of use the search pipeline prefetches.
const PREFETCH_DISTANCE: usize = 16;

/// A coarse bucket to read for one query and table: entries whose low bits are within
/// `budget` flips of `low` are candidates.
#[derive(Clone, Copy)]
struct Probe {
    coarse: u32,
    low: u32,
    budget: u32,
    query: u32,
    table: u32,
    /// When `k <= 6`: bit `j` set iff `j` is within `budget` flips of `low` (a table lookup
    /// instead of a popcount per entry).
    allowed: u64,
}

/// A non-empty coarse bucket's entry range, with its probe.
#[derive(Clone, Copy)]
struct Scan {
    start: u32,
    end: u32,
    probe: Probe,
}

/// A stored code to verify against a query (found through `table`).
#[derive(Clone, Copy)]
struct Candidate {
    slot: u32,
    query: u32,
    table: u32,
}

/// Work lists of one table search, reused across the queries of a batch.
#[derive(Default)]
pub(crate) struct Scratch {
    probes: Vec<Probe>,
    scans: Vec<Scan>,
    candidates: Vec<Candidate>,
    /// `query * tables + t` -> the query's substring of table `t`.
    substrings: Vec<u32>,
}

/// Counters of one search, for benchmarks (`HammingIndex::range_stats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SearchCounts {
    pub(crate) probes: u64,
    pub(crate) scans: u64,
    pub(crate) entries: u64,
    pub(crate) candidates: u64,
}

/// An immutable set of (id, code) pairs, searchable by radius.
pub(crate) struct Segment<C: Code> {
    codes: Codes<C>,
    ids: Vec<u32>,
    dead: Vec<AtomicU64>,
    dead_count: AtomicUsize,
    layout: Option<Layout>,
    /// The layout was forced: always search through the tables.
    forced: bool,
    /// Low substring bits kept inline in the table entries (`k`).
    low_bits: u32,
    tables: Vec<Table>,
}

impl<C: Code> Segment<C> {
    /// A segment without tables (always searched by a linear scan): the sealed delta.
    pub(crate) fn scan_only(ids: Vec<u32>, codes: Vec<C>) -> Segment<C> {
        Segment::assemble(Codes::from_codes(codes), ids, None, 0, Vec::new())
    }

    /// A segment with multi-index-hashing tables laid out for queries at `design_radius` (or
    /// none when a scan is cheaper at that size). Tables are built in parallel.
    /// `forced` (if valid for the code length) replaces the chosen layout and makes every
    /// query go through the tables; `forced_low_bits` replaces [`inline_bits`]'s choice (capped
    /// to what fits).
    pub(crate) fn build(
        ids: Vec<u32>,
        codes: Vec<C>,
        design_radius: u32,
        forced: Option<Layout>,
        forced_low_bits: Option<u32>,
    ) -> Segment<C> {
        debug_assert_eq!(ids.len(), codes.len());
        let n = codes.len();
        let forced = forced.filter(|l| {
            (1..=MAX_TABLES).contains(&l.tables)
                && (1..=32).contains(&l.bits)
                && l.tables * l.bits <= C::BITS
        });
        let Some(layout) = forced.or_else(|| Layout::choose(n, design_radius, C::BITS)) else {
            return Segment::scan_only(ids, codes);
        };
        let b = layout.bits;
        // At most about 256 coarse buckets per code whatever is forced, so a forced wide
        // layout on a small segment stays small.
        let k = forced_low_bits
            .unwrap_or_else(|| inline_bits(n, b))
            .max(b.saturating_sub(slot_bits(n) + 8))
            .min(b)
            .min(32 - slot_bits(n));
        let codes = Codes::from_codes(codes);
        let tables: Vec<Table> = (0..layout.tables)
            .into_par_iter()
            .map(|t| Table::build(&codes, t * b, b, k))
            .collect();
        let mut seg = Segment::assemble(codes, ids, Some(layout), k, tables);
        seg.forced = forced.is_some();
        seg
    }

    fn assemble(
        codes: Codes<C>,
        ids: Vec<u32>,
        layout: Option<Layout>,
        low_bits: u32,
        tables: Vec<Table>,
    ) -> Segment<C> {
        let dead = (0..codes.len().div_ceil(64))
            .map(|_| AtomicU64::new(0))
            .collect();
        Segment {
            codes,
            ids,
            dead,
            dead_count: AtomicUsize::new(0),
            layout,
            forced: false,
            low_bits,
            tables,
        }
    }

    /// Stored codes, dead ones included.
    pub(crate) fn slots(&self) -> usize {
        self.codes.len()
    }

    /// Live (not deleted) codes.
    pub(crate) fn live(&self) -> usize {
        self.codes.len() - self.dead_count.load(Ordering::Acquire)
    }

    /// The layout of the tables, if any.
    pub(crate) fn layout(&self) -> Option<Layout> {
        self.layout
    }

    #[inline]
    fn is_dead(&self, slot: usize) -> bool {
        self.dead[slot >> 6].load(Ordering::Acquire) >> (slot & 63) & 1 == 1
    }

    /// Marks every code of `id` deleted; true if any was live.
    pub(crate) fn remove(&self, id: EntryId) -> bool {
        let mut any = false;
        for (slot, _) in self.ids.iter().enumerate().filter(|(_, &x)| x == id.0) {
            let bit = 1u64 << (slot & 63);
            let before = self.dead[slot >> 6].fetch_or(bit, Ordering::AcqRel);
            if before & bit == 0 {
                self.dead_count.fetch_add(1, Ordering::AcqRel);
                any = true;
            }
        }
        any
    }

    /// Marks deleted every code whose id is in `ids` (sorted).
    pub(crate) fn remove_sorted(&self, ids: &[u32]) {
        if ids.is_empty() {
            return;
        }
        for (slot, id) in self.ids.iter().enumerate() {
            if ids.binary_search(id).is_ok() {
                let bit = 1u64 << (slot & 63);
                let before = self.dead[slot >> 6].fetch_or(bit, Ordering::AcqRel);
                if before & bit == 0 {
                    self.dead_count.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
    }

    /// Live ids and codes, appended to `ids` and `codes`.
    pub(crate) fn live_items(&self, ids: &mut Vec<u32>, codes: &mut Vec<C>) {
        for s in (0..self.codes.len()).filter(|&s| !self.is_dead(s)) {
            ids.push(self.ids[s]);
            codes.push(self.codes.get(s));
        }
    }

    /// Bytes held by this segment (codes, ids, tombstones, tables).
    pub(crate) fn bytes(&self) -> usize {
        self.codes.bytes()
            + self.ids.len() * 4
            + self.dead.len() * 8
            + self.tables.iter().map(Table::bytes).sum::<usize>()
    }

    /// Whether a query at `radius` is cheaper through the tables than by a scan.
    fn use_tables(&self, radius: u32) -> Option<Layout> {
        let layout = self.layout?;
        if self.forced {
            return Some(layout);
        }
        let n = self.codes.len();
        (layout.query_cost(n, radius) < scan_cost(n, C::BITS)).then_some(layout)
    }

    /// Calls `hit(query, id, distance)` for every live code within `radius` of `queries[query]`
    /// (an id may be reported several times; the caller keeps the minimum). `counts` (if
    /// given) adds the work done.
    pub(crate) fn search(
        &self,
        queries: &[C],
        radius: u32,
        scratch: &mut Scratch,
        counts: Option<&mut SearchCounts>,
        hit: &mut impl FnMut(usize, u32, u32),
    ) {
        with_popcnt(SearchTask {
            segment: self,
            queries,
            radius,
            lists: WorkLists::Pipelined(scratch),
            counts,
            hit,
        });
    }

    #[inline(always)]
    fn search_scan(
        &self,
        queries: &[C],
        radius: u32,
        counts: Option<&mut SearchCounts>,
        hit: &mut impl FnMut(usize, u32, u32),
    ) {
        let n = self.codes.len();
        let mut block: Vec<C> = Vec::with_capacity(SCAN_BLOCK.min(n));
        for base in (0..n).step_by(SCAN_BLOCK) {
            block.clear();
            block.extend((base..n.min(base + SCAN_BLOCK)).map(|s| self.codes.get(s)));
            for (qi, q) in queries.iter().enumerate() {
                for (i, c) in block.iter().enumerate() {
                    let d = c.distance(q);
                    if d <= radius && !self.is_dead(base + i) {
                        hit(qi, self.ids[base + i], d);
                    }
                }
            }
        }
        if let Some(counts) = counts {
            counts.candidates += (self.codes.len() * queries.len()) as u64;
        }
    }

    /// Multi-index hashing, as a software pipeline over all `queries` so that many random
    /// reads are in flight at once:
    /// 1. list every coarse bucket to probe (per query, per table, every value of the coarse
    ///    bits within the table's radius), no memory touched;
    /// 2. read each probe's bucket offsets (prefetched a few probes ahead);
    /// 3. scan each non-empty bucket's entries (prefetched ahead), keeping those whose inline
    ///    low bits keep the substring within the table's radius: the candidates;
    /// 4. verify each candidate with a full popcount (its code prefetched ahead).
    ///
    /// A candidate found in table `t` is reported only if no earlier table `u < t` also has its
    /// substring within that table's radius (that table reports it), so no per-query set is
    /// needed to de-duplicate.
    #[inline(always)]
    fn search_tables(
        &self,
        layout: Layout,
        queries: &[C],
        radius: u32,
        scratch: &mut Scratch,
        counts: Option<&mut SearchCounts>,
        hit: &mut impl FnMut(usize, u32, u32),
    ) {
        let b = layout.bits;
        let k = self.low_bits;
        let low = low_mask(k);
        let m = layout.tables as usize;
        let mut radii = [None; MAX_TABLES as usize];
        for (t, r) in radii.iter_mut().enumerate().take(m) {
            *r = layout.table_radius(radius, t as u32);
        }
        let Scratch {
            probes,
            scans,
            candidates,
            substrings,
        } = scratch;
        probes.clear();
        scans.clear();
        candidates.clear();
        substrings.clear();

        // 1. Probes.
        for (qi, q) in queries.iter().enumerate() {
            for (t, r) in radii.iter().enumerate().take(m) {
                let v = q.substring(t as u32 * b, b);
                substrings.push(v);
                let Some(s) = *r else { continue };
                let mut allowed = [0u64; 64];
                if k <= 6 {
                    for (budget, mask) in allowed.iter_mut().enumerate().take(s as usize + 1) {
                        for j in 0..1u32 << k {
                            if ((j ^ v) & low).count_ones() <= budget as u32 {
                                *mask |= 1 << j;
                            }
                        }
                    }
                }
                for_each_neighbour(v >> k, b - k, s, |coarse, flips| {
                    probes.push(Probe {
                        coarse,
                        low: v & low,
                        budget: s - flips,
                        query: qi as u32,
                        table: t as u32,
                        allowed: allowed[((s - flips) as usize).min(63)],
                    });
                });
            }
        }
        // 2. Bucket offsets.
        for i in 0..probes.len() {
            if let Some(ahead) = probes.get(i + PREFETCH_DISTANCE) {
                self.tables[ahead.table as usize]
                    .offsets
                    .prefetch(ahead.coarse as usize);
            }
            let p = probes[i];
            let (start, end) = self.tables[p.table as usize]
                .offsets
                .range(p.coarse as usize);
            if start < end {
                scans.push(Scan {
                    start: start as u32,
                    end: end as u32,
                    probe: p,
                });
            }
        }
        // 3. Entries.
        let mut entries_read = 0u64;
        for i in 0..scans.len() {
            if let Some(ahead) = scans.get(i + PREFETCH_DISTANCE) {
                prefetch(
                    &self.tables[ahead.probe.table as usize].entries,
                    ahead.start as usize,
                );
            }
            let sc = scans[i];
            let entries =
                &self.tables[sc.probe.table as usize].entries[sc.start as usize..sc.end as usize];
            entries_read += entries.len() as u64;
            for &e in entries {
                let pass = if k <= 6 {
                    sc.probe.allowed >> (e & low) & 1 != 0
                } else {
                    ((e & low) ^ sc.probe.low).count_ones() <= sc.probe.budget
                };
                if pass {
                    candidates.push(Candidate {
                        slot: (u64::from(e) >> k) as u32,
                        query: sc.probe.query,
                        table: sc.probe.table,
                    });
                }
            }
        }
        // 4. Verification.
        for i in 0..candidates.len() {
            if let Some(ahead) = candidates.get(i + PREFETCH_DISTANCE) {
                self.codes.prefetch(ahead.slot as usize);
            }
            let c = candidates[i];
            let slot = c.slot as usize;
            let code = &self.codes.get(slot);
            let q = &queries[c.query as usize];
            let d = code.distance(q);
            if d > radius {
                continue;
            }
            let qsub = &substrings[c.query as usize * m..][..m];
            let earlier = (0..c.table as usize).any(|u| {
                radii[u]
                    .is_some_and(|s| (code.substring(u as u32 * b, b) ^ qsub[u]).count_ones() <= s)
            });
            if !earlier && !self.is_dead(slot) {
                hit(c.query as usize, self.ids[slot], d);
            }
        }
        if let Some(counts) = counts {
            counts.probes += probes.len() as u64;
            counts.scans += scans.len() as u64;
            counts.entries += entries_read;
            counts.candidates += candidates.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_offsets_fall_back_to_wide() {
        let mut starts = vec![0u32; 65];
        for s in starts.iter_mut().skip(1) {
            *s = 70_000;
        }
        assert!(matches!(
            Offsets::from_starts(starts.clone()),
            Offsets::Wide(_)
        ));
        starts[64] = 10;
        for s in starts.iter_mut().take(64).skip(1) {
            *s = 5;
        }
        let o = Offsets::from_starts(starts);
        assert!(matches!(o, Offsets::Compact { .. }));
        assert_eq!(o.range(0), (0, 5));
        assert_eq!(o.range(63), (5, 10));
    }
}
