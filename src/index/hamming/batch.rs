//! How a batch call is cut into runs for the rayon pool, and the small helpers every search
//! call shares (the delta scan, hits per id).

use std::ops::Range;

use parking_lot::Mutex;

use super::super::code::Code;
use super::super::Hit;
use crate::hashes::EntryId;

/// Queries searched together in one pass of the pipeline (see `Segment::search`): enough to
/// keep it full, few enough that its work lists stay in the L2 cache.
const PIPELINE_QUERIES: usize = 16;

/// Default [`HammingConfig::join_min_queries`](super::HammingConfig::join_min_queries): from
/// this many queries in one batch call, the joined search is faster than the pipelined one.
/// Measured (`match_throughput --batch-size B --join-min 0|1`, 2 threads, queries per
/// CPU-second): at 10M codes joined wins from 32 queries per call (1.3-1.6x) up; at 1M it
/// loses at 32 (0.83x) and wins at 600 (1.8x); at 100K it is about even.
pub(super) const JOIN_MIN_QUERIES: usize = 256;

/// Queries one run of the joined search takes (each run is searched by one worker with its own
/// work lists): enough that the sorted candidates are dense in the stored codes, few enough
/// that a thread slowed by other work hands some runs to the others. Measured under load:
/// runs shrinking to 256 queries at the end of a batch (so threads finish together) cost 14%
/// more CPU per query than equal runs of about 2,048, and two runs of 5,000 about 5% less but
/// leave no run to rebalance.
const JOIN_RUN_QUERIES: usize = 2048;

/// Whether a batch call of `total` queries takes the joined search: at least
/// `join_min_queries` of them, and that is not 0.
pub(super) fn joins(total: usize, join_min_queries: usize) -> bool {
    join_min_queries > 0 && total >= join_min_queries
}

/// Cuts `groups` into runs of whole groups of about [`PIPELINE_QUERIES`] queries, for the
/// pipelined search on the rayon pool.
pub(super) fn pipeline_runs<C>(groups: &[&[C]]) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    let mut queries = 0;
    for (g, group) in groups.iter().enumerate() {
        queries += group.len();
        if queries >= PIPELINE_QUERIES {
            runs.push(start..g + 1);
            start = g + 1;
            queries = 0;
        }
    }
    if start < groups.len() {
        runs.push(start..groups.len());
    }
    runs
}

/// Hands out the runs of a joined batch to its workers (one per thread, each with its own work
/// lists) as they ask, so a thread slowed by other work on the machine takes fewer runs
/// instead of holding up the call. The runs are equal, about [`JOIN_RUN_QUERIES`] each and as
/// many as a multiple of the threads (a video of 600 queries on 2 threads: 2 runs of 300).
pub(super) struct RunQueue {
    /// `ends[g]`: queries in groups `0..g` (`groups + 1` items).
    ends: Vec<usize>,
    /// The first group not handed out yet.
    next: Mutex<usize>,
    /// Queries per run.
    run_queries: usize,
}

impl RunQueue {
    /// A queue over `groups`, for `threads` workers.
    pub(super) fn new<C>(groups: &[&[C]], threads: usize) -> RunQueue {
        let mut ends = Vec::with_capacity(groups.len() + 1);
        ends.push(0);
        for g in groups {
            ends.push(ends[ends.len() - 1] + g.len());
        }
        let total = ends[ends.len() - 1];
        let threads = threads.max(1);
        let runs = total.div_ceil(JOIN_RUN_QUERIES).div_ceil(threads) * threads;
        RunQueue {
            ends,
            next: Mutex::new(0),
            run_queries: total.div_ceil(runs.max(1)),
        }
    }

    /// The next run of whole groups (never empty), or `None` when every group is handed out.
    pub(super) fn next_run(&self) -> Option<Range<usize>> {
        let mut next = self.next.lock();
        let groups = self.ends.len() - 1;
        let start = *next;
        if start >= groups {
            return None;
        }
        let (done, want) = (self.ends[start], self.run_queries);
        // The first group boundary at or past `done + want`, taking at least one group.
        let end = self.ends[start + 1..]
            .partition_point(|&e| e < done + want)
            .min(groups - start - 1)
            + start
            + 1;
        *next = end;
        Some(start..end)
    }
}

/// Reports every delta code within `radius` of each query.
pub(super) fn scan_delta<C: Code>(
    delta: &[(EntryId, C)],
    queries: &[C],
    radius: u32,
    hit: &mut impl FnMut(usize, u32, u32),
) {
    for (id, code) in delta {
        for (qi, q) in queries.iter().enumerate() {
            let d = q.distance(code);
            if d <= radius {
                hit(qi, id.0, d);
            }
        }
    }
}

/// One hit per id (its smallest distance), sorted by distance, then id.
pub(super) fn into_hits(mut raw: Vec<(u32, u32)>) -> Vec<Hit> {
    raw.sort_unstable();
    raw.dedup_by_key(|(id, _)| *id);
    let mut hits: Vec<Hit> = raw
        .into_iter()
        .map(|(id, distance)| Hit {
            id: EntryId(id),
            distance,
        })
        .collect();
    hits.sort_unstable_by_key(|h| (h.distance, h.id));
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs in order, each non-empty, covering `0..groups` exactly.
    fn assert_cover(runs: &[Range<usize>], groups: usize) {
        let mut next = 0;
        for r in runs {
            assert_eq!(r.start, next);
            assert!(r.end > r.start);
            next = r.end;
        }
        assert_eq!(next, groups);
    }

    #[test]
    fn runs_cover_every_group_once_in_order() {
        let groups: Vec<Vec<u8>> = (0..700).map(|i| vec![0; i % 9]).collect();
        let groups: Vec<&[u8]> = groups.iter().map(Vec::as_slice).collect();
        assert_cover(&pipeline_runs(&groups), groups.len());
        for threads in [1, 2, 3, 8] {
            let queue = RunQueue::new(&groups, threads);
            let runs: Vec<_> = std::iter::from_fn(|| queue.next_run()).collect();
            assert_cover(&runs, groups.len());
            assert!(queue.next_run().is_none());
        }
        assert!(pipeline_runs::<u8>(&[]).is_empty());
        assert!(RunQueue::new::<u8>(&[], 2).next_run().is_none());
        for (min, total, joined) in [(0, 5, false), (1, 1, true), (10_000, 2_799, false)] {
            assert_eq!(joins(total, min), joined);
        }
    }

    /// Every thread gets work in a small batch (a video of 600 frames on 2 threads: 2 runs),
    /// and a large batch is cut into equal runs of about `JOIN_RUN_QUERIES`.
    #[test]
    fn joined_runs_are_equal_and_share_small_batches() {
        let ones: Vec<[u8; 1]> = vec![[0]; 100_000];
        let groups: Vec<&[u8]> = ones.iter().map(|g| &g[..]).collect();
        let sizes = |n: usize, threads: usize| -> Vec<usize> {
            let queue = RunQueue::new(&groups[..n], threads);
            std::iter::from_fn(|| queue.next_run())
                .map(|r| r.len())
                .collect()
        };
        assert_eq!(sizes(600, 2), vec![300, 300]);
        assert_eq!(sizes(2048, 2), vec![1024, 1024]);
        assert_eq!(sizes(5, 8), vec![1; 5]);
        assert_eq!(sizes(10_000, 2), vec![1667, 1667, 1667, 1667, 1667, 1665]);
        assert_eq!(sizes(100_000, 2), vec![2000; 50]);
        // A group is never split, however large.
        let big = vec![0u8; 5000];
        let mixed: Vec<&[u8]> = vec![&big, &big[..1], &big, &big[..2]];
        let queue = RunQueue::new(&mixed, 2);
        let runs: Vec<_> = std::iter::from_fn(|| queue.next_run()).collect();
        assert_cover(&runs, mixed.len());
    }
}
