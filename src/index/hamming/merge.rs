//! Growing the index: sealing the delta into a segment and merging segments (tiered: adjacent
//! segments merge while the older holds at most `merge_factor` times the newer's codes).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Segment, Shared};
use crate::hashes::EntryId;
use crate::index::code::Code;

/// The delta's codes as a segment without tables.
pub(super) fn sealed_delta<C: Code>(items: Vec<(EntryId, C)>) -> Segment<C> {
    let (ids, codes) = items.into_iter().map(|(id, c)| (id.0, c)).unzip();
    Segment::scan_only(ids, codes)
}

impl<C: Code> Shared<C> {
    /// A segment with tables laid out by this index's configuration.
    pub(super) fn build_segment(&self, ids: Vec<u32>, codes: Vec<C>) -> Segment<C> {
        Segment::build(
            ids,
            codes,
            self.design_radius,
            self.force_layout,
            self.force_inline_bits,
        )
    }

    /// Starts a background merge thread unless one is running.
    pub(super) fn spawn_merger(shared: &Arc<Self>) {
        if shared.merge_thread.swap(true, Ordering::AcqRel) {
            return;
        }
        let worker = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("hamming-merge".into())
            .spawn(move || loop {
                worker.merge_pending();
                worker.merge_thread.store(false, Ordering::Release);
                // A seal that raced with the end of the loop either found the flag set (and
                // left the work to this thread) or starts its own thread.
                if worker.next_merge().is_none() || worker.merge_thread.swap(true, Ordering::AcqRel)
                {
                    break;
                }
            });
        if spawned.is_err() {
            // No thread available: merge inline.
            shared.merge_thread.store(false, Ordering::Release);
            shared.merge_pending();
        }
    }

    /// The adjacent pair of segments to merge next under the tiering policy, if any.
    pub(super) fn next_merge(&self) -> Option<Vec<Arc<Segment<C>>>> {
        let view = self.view.read();
        let segs = &view.segments;
        (1..segs.len()).rev().find_map(|i| {
            let (older, newer) = (&segs[i - 1], &segs[i]);
            let merge = older.live() <= self.merge_factor * newer.live().max(1)
                || newer.layout().is_none() && newer.slots() >= self.delta_capacity * 2;
            merge.then(|| vec![older.clone(), newer.clone()])
        })
    }

    /// Runs merges until the tiering policy is satisfied.
    pub(super) fn merge_pending(&self) {
        let _merge = self.merge_lock.lock();
        while let Some(pair) = self.next_merge() {
            self.merge_segments(pair);
        }
    }

    /// Replaces `parts` (adjacent, in order) by one segment of their live codes. The caller
    /// holds `merge_lock`.
    pub(super) fn merge_segments(&self, parts: Vec<Arc<Segment<C>>>) {
        {
            let mut structure = self.structure.lock();
            structure.merging = true;
            structure.removed_since_snapshot.clear();
        }
        let live = parts.iter().map(|s| s.live()).sum();
        let (mut ids, mut codes) = (Vec::with_capacity(live), Vec::with_capacity(live));
        for seg in &parts {
            seg.live_items(&mut ids, &mut codes);
        }
        let merged = self.build_segment(ids, codes);
        let mut structure = self.structure.lock();
        let mut removed = std::mem::take(&mut structure.removed_since_snapshot);
        removed.sort_unstable();
        merged.remove_sorted(&removed);
        structure.merging = false;
        let merged = Arc::new(merged);
        let mut view = self.view.write();
        let old = &view.segments;
        let at = old
            .iter()
            .position(|s| Arc::ptr_eq(s, &parts[0]))
            .unwrap_or(0);
        let mut next: Vec<Arc<Segment<C>>> = old
            .iter()
            .filter(|s| !parts.iter().any(|p| Arc::ptr_eq(p, s)))
            .cloned()
            .collect();
        next.insert(at.min(next.len()), merged);
        view.segments = Arc::new(next);
    }
}
