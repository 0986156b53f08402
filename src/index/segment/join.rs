//! The joined batch search: multi-index hashing for hundreds of queries at once, with every
//! memory read of the batch sorted by address first.
//!
//! The pipelined search (`Segment::search_tables`) keeps a few dozen random DRAM reads in
//! flight, but each is still a miss: at 10M codes a query costs about 2,100 bucket reads and
//! 3,300 candidate reads at random addresses. For a large batch this module instead
//! 1. lists the probes of one table for every query of the batch and sorts them by coarse
//!    bucket, so the bucket offsets and the table entries are read in increasing address
//!    order (near-sequential, at a few probes per cache line);
//! 2. collects the candidates `(slot, query, table)` of every table and sorts them by slot, so
//!    the stored codes are read as one increasing stream (hardware prefetching, DRAM row hits)
//!    instead of one miss per candidate; a code shared by several queries is read once.
//!
//! The result is exactly the pipelined search's: the same probes, candidates and checks, in
//! another order. Work lists are bounded ([`PROBE_CAP`], [`CANDIDATE_CAP`]): when one fills,
//! it is processed and emptied, whatever the batch size or data.

use super::{
    for_each_neighbour, low_mask, Layout, SearchCounts, SearchTask, Segment, WorkLists, MAX_TABLES,
};
use crate::index::code::Code;
use crate::index::prefetch::{prefetch, with_popcnt};
use crate::index::radix::sort_by_bits;

/// Probes listed before they are sorted and read (8 bytes each).
const PROBE_CAP: usize = 1 << 20;

/// Candidates collected before they are sorted and verified (8 bytes each).
const CANDIDATE_CAP: usize = 1 << 22;

/// Table entries filtered in one go: the candidate list keeps this much room beyond its cap.
const PIECE: usize = 4096;

/// Most queries one joined search takes (the query number has 16 bits in a probe).
pub(crate) const JOIN_MAX_QUERIES: usize = 1 << 16;

/// Most inline low bits a probe carries the query's value of (else they are looked up).
const PROBE_LOW_BITS: u32 = 10;

/// Probes are sorted by coarse bucket without its lowest bits: the 32 buckets that differ
/// only there share 64 bytes of offsets and about a kilobyte of entries at 10M codes, close
/// enough for the caches; sorting them too measured slower (one more radix pass).
const PROBE_UNSORTED_BITS: u32 = 5;

/// Candidates are sorted by slot without its lowest bit (two 256-bit codes share a cache
/// line); leaving 4 bits unsorted (one radix pass fewer at 10M) measured slower: the stream
/// of code reads is no longer increasing.
const CANDIDATE_UNSORTED_BITS: u32 = 1;

/// How many items ahead of use the sorted streams prefetch.
const AHEAD: usize = 16;

/// Work lists of the joined search, reused across the batches of one thread: at most
/// about `(PROBE_CAP + 2 * CANDIDATE_CAP) * 8` bytes (72 MiB: the probes, the candidates and
/// the radix sort's second buffer), plus one query's probes of one table and 4 bytes per
/// query and table.
pub(crate) struct JoinScratch {
    /// [`PROBE_CAP`] (smaller in tests, to exercise the flushes).
    probe_cap: usize,
    /// [`CANDIDATE_CAP`] (smaller in tests).
    candidate_cap: usize,
    /// `coarse << 32 | query << 16 | low << 6 | budget`, for one table (`low`: the query's
    /// inline low bits when there are at most [`PROBE_LOW_BITS`]).
    probes: Vec<u64>,
    /// `slot << 32 | query << 8 | table` in `candidates[..candidate_count]` (the rest is room
    /// for one more piece of a bucket, written without a branch per entry).
    candidates: Vec<u64>,
    candidate_count: usize,
    /// The radix sort's second buffer.
    spare: Vec<u64>,
    /// `query * tables + t` -> the query's substring of table `t`.
    substrings: Vec<u32>,
}

impl Default for JoinScratch {
    fn default() -> Self {
        JoinScratch::with_caps(PROBE_CAP, CANDIDATE_CAP)
    }
}

impl JoinScratch {
    /// Empty work lists that are processed whenever they reach these lengths (at least 1).
    fn with_caps(probe_cap: usize, candidate_cap: usize) -> JoinScratch {
        JoinScratch {
            probe_cap: probe_cap.max(1),
            candidate_cap: candidate_cap.max(1),
            probes: Vec::new(),
            candidates: Vec::new(),
            candidate_count: 0,
            spare: Vec::new(),
            substrings: Vec::new(),
        }
    }
}

/// What one joined search needs besides the scratch.
struct Job<'a, C, H> {
    layout: Layout,
    radii: [Option<u32>; MAX_TABLES as usize],
    queries: &'a [C],
    radius: u32,
    counts: SearchCounts,
    hit: &'a mut H,
}

/// Lists the probes of table `t` (per-table radius `s`, substrings of `b` bits with `k` low
/// bits inline) for the queries from `first` on, until the probe cap is reached; returns the
/// first query not listed.
#[inline(always)]
fn list_probes(
    scratch: &mut JoinScratch,
    t: usize,
    m: usize,
    s: u32,
    b: u32,
    k: u32,
    first: usize,
) -> usize {
    scratch.probes.clear();
    let queries = scratch.substrings.len() / m;
    for qi in first..queries {
        let v = scratch.substrings[qi * m + t];
        let probes = &mut scratch.probes;
        let low = if k <= PROBE_LOW_BITS {
            v & low_mask(k)
        } else {
            0
        };
        let tag = (qi as u64) << 16 | u64::from(low) << 6;
        for_each_neighbour(v >> k, b - k, s, |coarse, flips| {
            let budget = u64::from((s - flips).min(k));
            probes.push(u64::from(coarse) << 32 | tag | budget);
        });
        if scratch.probes.len() >= scratch.probe_cap {
            return qi + 1;
        }
    }
    queries
}

impl<C: Code> Segment<C> {
    /// Calls `hit(query, id, distance)` for every live code within `radius` of
    /// `queries[query]`, like `Segment::search`, with the joined (address-sorted) search when
    /// the segment has tables worth using (else the blocked scan). At most
    /// [`JOIN_MAX_QUERIES`] queries.
    pub(crate) fn search_joined(
        &self,
        queries: &[C],
        radius: u32,
        scratch: &mut JoinScratch,
        counts: Option<&mut SearchCounts>,
        hit: &mut impl FnMut(usize, u32, u32),
    ) {
        assert!(
            queries.len() <= JOIN_MAX_QUERIES,
            "too many queries for one join"
        );
        with_popcnt(SearchTask {
            segment: self,
            queries,
            radius,
            lists: WorkLists::Joined(scratch),
            counts,
            hit,
        });
    }

    /// [`Segment::search_joined`] through the tables, inside [`with_popcnt`]; returns the
    /// work done.
    #[inline(always)]
    pub(super) fn search_joined_here(
        &self,
        layout: Layout,
        queries: &[C],
        radius: u32,
        scratch: &mut JoinScratch,
        hit: &mut impl FnMut(usize, u32, u32),
    ) -> SearchCounts {
        let m = layout.tables as usize;
        let mut radii = [None; MAX_TABLES as usize];
        for (t, r) in radii.iter_mut().enumerate().take(m) {
            *r = layout.table_radius(radius, t as u32);
        }
        scratch.substrings.clear();
        for q in queries {
            scratch
                .substrings
                .extend((0..m as u32).map(|t| q.substring(t * layout.bits, layout.bits)));
        }
        if scratch.candidates.len() < scratch.candidate_cap + PIECE {
            // Zeroed by the OS page by page, as the pages are first written.
            scratch.candidates = vec![0; scratch.candidate_cap + PIECE];
        }
        scratch.candidate_count = 0;
        let mut job = Job {
            layout,
            radii,
            queries,
            radius,
            counts: SearchCounts::default(),
            hit,
        };
        let (b, k) = (layout.bits, self.low_bits);
        for (t, s) in radii.iter().enumerate().take(m) {
            let Some(s) = *s else { continue };
            let mut next = 0;
            while next < queries.len() {
                next = list_probes(scratch, t, m, s, b, k, next);
                self.read_probes(t, scratch, &mut job);
            }
        }
        self.verify_candidates(scratch, &mut job);
        job.counts
    }

    /// Sorts the listed probes of table `t` by coarse bucket, reads their buckets in that
    /// order and appends the candidates; empties the probe list.
    #[inline(always)]
    fn read_probes<H: FnMut(usize, u32, u32)>(
        &self,
        t: usize,
        scratch: &mut JoinScratch,
        job: &mut Job<'_, C, H>,
    ) {
        let (b, k) = (job.layout.bits, self.low_bits);
        let m = job.layout.tables as usize;
        let low = low_mask(k);
        let coarse_bits = b - k;
        let sort_from = coarse_bits.min(PROBE_UNSORTED_BITS);
        sort_by_bits(
            &mut scratch.probes,
            &mut scratch.spare,
            32 + sort_from,
            coarse_bits - sort_from,
        );
        let table = &self.tables[t];
        let coarse_of = |p: u64| (p >> 32) as usize;
        let n = scratch.probes.len();
        for i in 0..n {
            if let Some(&ahead) = scratch.probes.get(i + 2 * AHEAD) {
                table.offsets.prefetch(coarse_of(ahead));
            }
            if let Some(&ahead) = scratch.probes.get(i + AHEAD) {
                prefetch(&table.entries, table.offsets.start(coarse_of(ahead)));
            }
            let p = scratch.probes[i];
            let (start, end) = table.offsets.range(coarse_of(p));
            if start == end {
                continue;
            }
            let qi = (p >> 16) as u32 & 0xffff;
            let budget = (p & 0x3f) as u32;
            let query_low = if k <= PROBE_LOW_BITS {
                (p >> 6) as u32 & low
            } else {
                scratch.substrings[qi as usize * m + t] & low
            };
            let tag = u64::from(qi) << 8 | t as u64;
            job.counts.scans += 1;
            job.counts.entries += (end - start) as u64;
            for piece in table.entries[start..end].chunks(PIECE) {
                if scratch.candidate_count >= scratch.candidate_cap {
                    self.verify_candidates(scratch, job);
                }
                let (out, mut at) = (&mut scratch.candidates, scratch.candidate_count);
                for &e in piece {
                    // Written always, kept only when the low bits pass (no branch to mispredict).
                    out[at] = (u64::from(e) >> k) << 32 | tag;
                    at += usize::from(((e ^ query_low) & low).count_ones() <= budget);
                }
                scratch.candidate_count = at;
            }
        }
        job.counts.probes += n as u64;
        scratch.probes.clear();
    }

    /// Sorts the collected candidates by slot, verifies them in that order (reporting a hit
    /// only from the first table whose substring is within its radius, as the pipelined
    /// search does) and empties the list.
    #[inline(always)]
    fn verify_candidates<H: FnMut(usize, u32, u32)>(
        &self,
        scratch: &mut JoinScratch,
        job: &mut Job<'_, C, H>,
    ) {
        let b = job.layout.bits;
        let m = job.layout.tables as usize;
        let slot_bits = usize::BITS - self.codes.len().leading_zeros();
        let skip = CANDIDATE_UNSORTED_BITS.min(slot_bits);
        let candidates = &mut scratch.candidates[..scratch.candidate_count];
        sort_by_bits(candidates, &mut scratch.spare, 32 + skip, slot_bits - skip);
        let candidates = &*candidates;
        for (i, &c) in candidates.iter().enumerate() {
            if let Some(&ahead) = candidates.get(i + AHEAD) {
                self.codes.prefetch((ahead >> 32) as usize);
            }
            let slot = (c >> 32) as usize;
            let qi = (c >> 8) as usize & 0xff_ffff;
            let table = (c & 0xff) as usize;
            let code = self.codes.get(slot);
            let d = code.distance(&job.queries[qi]);
            if d > job.radius {
                continue;
            }
            let qsub = &scratch.substrings[qi * m..][..m];
            let earlier = (0..table).any(|u| {
                job.radii[u]
                    .is_some_and(|s| (code.substring(u as u32 * b, b) ^ qsub[u]).count_ones() <= s)
            });
            if !earlier && !self.is_dead(slot) {
                (job.hit)(qi, self.ids[slot], d);
            }
        }
        job.counts.candidates += candidates.len() as u64;
        scratch.candidate_count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::super::Scratch;
    use super::*;
    use crate::hashes::Pdq;

    /// Work lists far smaller than one query's work, so every list is flushed many times
    /// (and bucket pieces split), still give the pipelined search's hits and work exactly.
    #[test]
    fn tiny_work_lists_give_the_pipelined_answer() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state
        };
        let centres: Vec<[u64; 4]> = (0..300).map(|_| [next(), next(), next(), next()]).collect();
        let mut codes = Vec::new();
        for (i, c) in centres.iter().enumerate() {
            for j in 0..(i % 7 + 1) {
                let mut w = *c;
                w[j % 4] ^= next() & next() & next(); // about 8 flips
                codes.push(Pdq(w));
            }
        }
        codes.extend(std::iter::repeat_n(codes[0], 5000)); // one huge bucket per table
        let ids: Vec<u32> = (0..codes.len() as u32).collect();
        let queries: Vec<Pdq> = codes
            .iter()
            .step_by(29)
            .copied()
            .chain([Pdq([next(); 4])])
            .collect();
        let cases = [
            ((11, 23), None, &[0, 9, 31, 40][..]),
            ((16, 16), Some(12), &[0, 9, 31, 40][..]),
            ((8, 32), Some(0), &[0, 12, 23][..]),
        ];
        for (layout, low_bits, radii) in cases {
            let layout = Layout {
                tables: layout.0,
                bits: layout.1,
            };
            let seg = Segment::build(ids.clone(), codes.clone(), 31, Some(layout), low_bits);
            assert!(seg.remove(crate::hashes::EntryId(3)));
            for &radius in radii {
                let (mut want, mut want_work) = (Vec::new(), SearchCounts::default());
                let mut pipelined = Scratch::default();
                let mut push = |q, id, d| want.push((q, id, d));
                seg.search(
                    &queries,
                    radius,
                    &mut pipelined,
                    Some(&mut want_work),
                    &mut push,
                );
                want.sort_unstable();
                assert!(want.iter().any(|h| h.2 == 0));
                for (probe_cap, candidate_cap) in
                    [(1, 1), (7, 5), (1000, 3), (PROBE_CAP, CANDIDATE_CAP)]
                {
                    let mut scratch = JoinScratch::with_caps(probe_cap, candidate_cap);
                    let (mut got, mut work) = (Vec::new(), SearchCounts::default());
                    let mut push = |q, id, d| got.push((q, id, d));
                    seg.search_joined(&queries, radius, &mut scratch, Some(&mut work), &mut push);
                    got.sort_unstable();
                    assert_eq!(
                        got, want,
                        "{layout:?} radius {radius} caps {probe_cap} {candidate_cap}"
                    );
                    assert_eq!(work, want_work);
                }
            }
        }
    }
}
