//! An immutable run of stored codes with its multi-index-hashing tables (flat sorted arrays),
//! plus tombstone bits so deletes take effect without a rebuild.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rayon::prelude::*;

use super::code::Code;
use super::layout::{scan_cost, Layout};
use crate::hashes::EntryId;

/// Buckets per block in the compact offsets: the block start is a `u32`, each bucket's start
/// is a `u16` relative to it.
const BLOCK_SHIFT: u32 = 6;

/// Codes per block of the blocked linear scan (many queries against a cache-sized block).
const SCAN_BLOCK: usize = 2048;

/// Bucket boundaries of one table: bucket `v` holds entries `start(v) .. start(v + 1)`.
enum Offsets {
    /// `start(v) = base[v >> 6] + rel[v]`: about 2 bytes per bucket.
    Compact { base: Vec<u32>, rel: Vec<u16> },
    /// Plain `u32` starts, used when some block of 64 buckets holds more than 65,535 entries.
    Wide(Vec<u32>),
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
            return Offsets::Wide(starts);
        }
        let rel = starts
            .iter()
            .enumerate()
            .map(|(v, &s)| (s - base[v >> BLOCK_SHIFT]) as u16)
            .collect();
        Offsets::Compact { base, rel }
    }

    #[inline]
    fn start(&self, v: usize) -> usize {
        match self {
            Offsets::Compact { base, rel } => base[v >> BLOCK_SHIFT] as usize + rel[v] as usize,
            Offsets::Wide(starts) => starts[v] as usize,
        }
    }

    #[inline]
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

/// One multi-index-hashing table: entries sorted by substring value.
struct Table {
    offsets: Offsets,
    /// Slot of each entry, sorted by bucket. Empty for table 0, whose order *is* the slot order
    /// (codes are stored sorted by their first substring).
    positions: Vec<u32>,
}

/// Counting sort of `0..n` by `key`: returns the bucket starts (length `2^bits + 1`) and the
/// permutation (entries sorted by bucket, stable).
fn counting_sort(n: usize, bits: u32, key: impl Fn(usize) -> u32) -> (Vec<u32>, Vec<u32>) {
    let buckets = 1usize << bits;
    let mut starts = vec![0u32; buckets + 1];
    for i in 0..n {
        starts[key(i) as usize + 1] += 1;
    }
    for v in 0..buckets {
        starts[v + 1] += starts[v];
    }
    let mut cursor = starts.clone();
    let mut order = vec![0u32; n];
    for i in 0..n {
        let k = key(i) as usize;
        order[cursor[k] as usize] = i as u32;
        cursor[k] += 1;
    }
    (starts, order)
}

/// Every value within `s` bit flips of `value` over its low `bits` bits, in order of flips.
#[inline]
fn for_each_neighbour(value: u32, bits: u32, s: u32, mut f: impl FnMut(u32)) {
    let limit = 1u64 << bits;
    for k in 0..=s.min(bits) {
        if k == 0 {
            f(value);
            continue;
        }
        // Gosper's hack: every `bits`-bit mask with exactly k bits set, increasing.
        let mut mask: u64 = (1u64 << k) - 1;
        while mask < limit {
            f(value ^ mask as u32);
            let c = mask & mask.wrapping_neg();
            let r = mask + c;
            mask = (((r ^ mask) >> 2) / c) | r;
        }
    }
}

/// An immutable set of (id, code) pairs, searchable by radius.
pub(crate) struct Segment<C: Code> {
    codes: Vec<C>,
    ids: Vec<u32>,
    dead: Vec<AtomicU64>,
    dead_count: AtomicUsize,
    layout: Option<Layout>,
    /// The layout was forced: always search through the tables.
    forced: bool,
    tables: Vec<Table>,
}

impl<C: Code> Segment<C> {
    /// A segment without tables (always searched by a linear scan): the sealed delta.
    pub(crate) fn scan_only(items: Vec<(EntryId, C)>) -> Segment<C> {
        let (ids, codes) = items.into_iter().map(|(id, c)| (id.0, c)).unzip();
        Segment::assemble(codes, ids, None, Vec::new())
    }

    /// A segment with multi-index-hashing tables laid out for queries at `design_radius` (or
    /// none when a scan is cheaper at that size). Tables are built in parallel.
    /// `forced` (if valid for the code length) replaces the chosen layout and makes every
    /// query go through the tables.
    pub(crate) fn build(
        items: Vec<(EntryId, C)>,
        design_radius: u32,
        forced: Option<Layout>,
    ) -> Segment<C> {
        let n = items.len();
        let forced = forced.filter(|l| {
            l.tables >= 1 && (1..=24).contains(&l.bits) && l.tables * l.bits <= C::BITS
        });
        let Some(layout) = forced.or_else(|| Layout::choose(n, design_radius, C::BITS)) else {
            return Segment::scan_only(items);
        };
        let b = layout.bits;
        // Table 0: store the codes sorted by their first substring.
        let (starts0, order) = counting_sort(n, b, |i| items[i].1.substring(0, b));
        let mut codes = Vec::with_capacity(n);
        let mut ids = Vec::with_capacity(n);
        for &i in &order {
            let (id, code) = items[i as usize];
            codes.push(code);
            ids.push(id.0);
        }
        drop(items);
        drop(order);
        let rest: Vec<Table> = (1..layout.tables)
            .into_par_iter()
            .map(|t| {
                let (starts, positions) = counting_sort(n, b, |i| codes[i].substring(t * b, b));
                Table {
                    offsets: Offsets::from_starts(starts),
                    positions,
                }
            })
            .collect();
        let mut tables = Vec::with_capacity(layout.tables as usize);
        tables.push(Table {
            offsets: Offsets::from_starts(starts0),
            positions: Vec::new(),
        });
        tables.extend(rest);
        let mut seg = Segment::assemble(codes, ids, Some(layout), tables);
        seg.forced = forced.is_some();
        seg
    }

    fn assemble(
        codes: Vec<C>,
        ids: Vec<u32>,
        layout: Option<Layout>,
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

    /// Live (id, code) pairs, appended to `out`.
    pub(crate) fn live_items(&self, out: &mut Vec<(EntryId, C)>) {
        out.extend(
            (0..self.codes.len())
                .filter(|&s| !self.is_dead(s))
                .map(|s| (EntryId(self.ids[s]), self.codes[s])),
        );
    }

    /// Bytes held by this segment (codes, ids, tombstones, tables).
    pub(crate) fn bytes(&self) -> usize {
        self.codes.len() * std::mem::size_of::<C>()
            + self.ids.len() * 4
            + self.dead.len() * 8
            + self
                .tables
                .iter()
                .map(|t| t.offsets.bytes() + t.positions.len() * 4)
                .sum::<usize>()
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

    /// Appends `(id, distance)` for every live code within `radius` of any query to `out`
    /// (an id may appear several times; the caller keeps the minimum).
    pub(crate) fn search(&self, queries: &[C], radius: u32, out: &mut Vec<(u32, u32)>) {
        match self.use_tables(radius) {
            Some(layout) => {
                for q in queries {
                    self.search_tables(layout, q, radius, out);
                }
            }
            None => self.search_scan(queries, radius, out),
        }
    }

    fn search_scan(&self, queries: &[C], radius: u32, out: &mut Vec<(u32, u32)>) {
        for (b, block) in self.codes.chunks(SCAN_BLOCK).enumerate() {
            let base = b * SCAN_BLOCK;
            for q in queries {
                for (i, c) in block.iter().enumerate() {
                    let d = c.distance(q);
                    if d <= radius && !self.is_dead(base + i) {
                        out.push((self.ids[base + i], d));
                    }
                }
            }
        }
    }

    /// Multi-index hashing: probe every bucket within `s` flips of each query substring and
    /// verify candidates with a full popcount. A candidate found in table `t` is counted only
    /// if no earlier table `u < t` also has its substring within `s` (that table reports it),
    /// so no per-query set is needed to de-duplicate.
    fn search_tables(&self, layout: Layout, q: &C, radius: u32, out: &mut Vec<(u32, u32)>) {
        let b = layout.bits;
        let s = layout.per_table_radius(radius);
        let m = layout.tables as usize;
        let mut qsub = [0u32; 64];
        for (t, slot) in qsub.iter_mut().enumerate().take(m) {
            *slot = q.substring(t as u32 * b, b);
        }
        let qsub = &qsub[..m];
        // Two passes per table: gather the candidate slots of every probed bucket, then verify
        // them in one tight loop whose iterations are independent, so the CPU overlaps the
        // random reads of many stored codes (one bucket at a time, the end of every short
        // bucket loop is a mispredicted branch that cuts the overlap).
        // The bucket offsets are read in a first pass of their own for the same reason.
        let mut slots: Vec<u32> = Vec::new();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for (t, table) in self.tables.iter().enumerate() {
            slots.clear();
            ranges.clear();
            for_each_neighbour(qsub[t], b, s, |v| {
                ranges.push(table.offsets.range(v as usize));
            });
            for &(start, end) in &ranges {
                if t == 0 {
                    slots.extend(start as u32..end as u32);
                } else {
                    slots.extend_from_slice(&table.positions[start..end]);
                }
            }
            for &slot in &slots {
                let slot = slot as usize;
                let code = &self.codes[slot];
                let d = code.distance(q);
                if d > radius {
                    continue;
                }
                let earlier =
                    (0..t).any(|u| (code.substring(u as u32 * b, b) ^ qsub[u]).count_ones() <= s);
                if !earlier && !self.is_dead(slot) {
                    out.push((self.ids[slot], d));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_exactly_the_ball() {
        for (bits, s) in [(5u32, 0u32), (5, 2), (8, 3), (6, 6)] {
            let mut seen = Vec::new();
            for_each_neighbour(0b10110 & ((1 << bits) - 1), bits, s, |v| seen.push(v));
            let mut expect: Vec<u32> = (0..1u32 << bits)
                .filter(|v| (v ^ (0b10110 & ((1 << bits) - 1))).count_ones() <= s)
                .collect();
            seen.sort_unstable();
            expect.sort_unstable();
            assert_eq!(seen, expect, "bits {bits} s {s}");
        }
    }

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
