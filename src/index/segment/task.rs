//! One search call as a [`BitCountingTask`], so that
//! [`with_popcnt`](crate::index::prefetch::with_popcnt) can run it compiled with the `popcnt`
//! instruction (`Segment::search` and `Segment::search_joined` build one).

use super::{JoinScratch, Scratch, SearchCounts, Segment};
use crate::index::code::Code;
use crate::index::prefetch::BitCountingTask;

/// The work lists of one search, which also says which search it is.
pub(super) enum WorkLists<'a> {
    /// The pipelined search (`Segment::search_tables`) or the scan.
    Pipelined(&'a mut Scratch),
    /// The joined search (`join.rs`) or the scan.
    Joined(&'a mut JoinScratch),
}

/// One search call, run through [`with_popcnt`](crate::index::prefetch::with_popcnt).
pub(super) struct SearchTask<'a, C: Code, H> {
    pub(super) segment: &'a Segment<C>,
    pub(super) queries: &'a [C],
    pub(super) radius: u32,
    pub(super) lists: WorkLists<'a>,
    pub(super) counts: Option<&'a mut SearchCounts>,
    pub(super) hit: &'a mut H,
}

impl<C: Code, H: FnMut(usize, u32, u32)> BitCountingTask for SearchTask<'_, C, H> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self {
            segment: seg,
            queries,
            radius,
            lists,
            counts,
            hit,
        } = self;
        match (lists, seg.use_tables(radius)) {
            (WorkLists::Pipelined(scratch), Some(layout)) => {
                seg.search_tables(layout, queries, radius, scratch, counts, hit)
            }
            (WorkLists::Joined(scratch), Some(layout)) => {
                let work = seg.search_joined_here(layout, queries, radius, scratch, hit);
                if let Some(counts) = counts {
                    counts.probes += work.probes;
                    counts.scans += work.scans;
                    counts.entries += work.entries;
                    counts.candidates += work.candidates;
                }
            }
            (_, None) => seg.search_scan(queries, radius, counts, hit),
        }
    }
}
