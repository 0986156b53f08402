//! How a batch call is cut into runs for the rayon pool, and the small helpers every search
//! call shares (the delta scan, hits per id).

use std::ops::Range;

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

/// Queries one run of the joined search takes (each run is one task on the rayon pool): enough
/// that the sorted reads are dense in the tables and stored codes (the work lists stay bounded
/// whatever the run: they are flushed when full). Measured at 10M codes under load (5-12),
/// 10,000 queries on 2 threads: two runs of 5,000 answered 1.11x the queries per CPU-second
/// of six runs of 1,667 (median of 14 paired runs, 12 faster; session 9); a call of 600 (a
/// video) is still one run per thread.
const JOIN_RUN_QUERIES: usize = 5000;

/// Cuts `groups` into runs of whole groups for the pool, and says whether they take the joined
/// search (at least `join_min_queries` queries in all, and it is not 0): runs of about
/// [`JOIN_RUN_QUERIES`], as many as a multiple of the threads, else of [`PIPELINE_QUERIES`].
pub(super) fn plan_runs<C>(groups: &[&[C]], join_min_queries: usize) -> (Vec<Range<usize>>, bool) {
    let total: usize = groups.iter().map(|g| g.len()).sum();
    let join = join_min_queries > 0 && total >= join_min_queries;
    let run_queries = if join {
        let threads = rayon::current_num_threads().max(1);
        let runs = total.div_ceil(JOIN_RUN_QUERIES).div_ceil(threads) * threads;
        total.div_ceil(runs)
    } else {
        PIPELINE_QUERIES
    };
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    let mut queries = 0;
    for (g, group) in groups.iter().enumerate() {
        queries += group.len();
        if queries >= run_queries {
            runs.push(start..g + 1);
            start = g + 1;
            queries = 0;
        }
    }
    if start < groups.len() {
        runs.push(start..groups.len());
    }
    (runs, join)
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

    #[test]
    fn runs_cover_every_group_once_in_order() {
        let groups: Vec<Vec<u8>> = (0..700).map(|i| vec![0; i % 9]).collect();
        let groups: Vec<&[u8]> = groups.iter().map(Vec::as_slice).collect();
        for (min, joined) in [(0, false), (1, true), (10_000, false), (2_000, true)] {
            let (runs, join) = plan_runs(&groups, min);
            assert_eq!(join, joined, "min {min}");
            let mut next = 0;
            for r in &runs {
                assert_eq!(r.start, next);
                assert!(r.end > r.start);
                next = r.end;
            }
            assert_eq!(next, groups.len());
        }
        assert_eq!(plan_runs::<u8>(&[], 1), (Vec::new(), false));
    }
}
