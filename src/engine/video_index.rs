//! The engine's [`VideoIndex`] of every live video entry's stored code lists, with the video
//! number -> (entry, role) map, the live set (deleted or replaced entries stop matching at
//! once) and the known TMK+PDQF videos. See [`super::video`] for the rules it serves.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::hashes::EntryId;
use crate::store::EntryRecord;
use crate::video::stored::StoredRole;
use crate::video::{
    ClipMatch, ClipRule, FrameVariant, TmkFeatures, VideoFingerprint, VideoHash, VideoIndex,
};

/// The engine's video index: every stored code list of every live video entry.
#[derive(Default)]
pub(super) struct VideoState {
    inner: RwLock<VideoInner>,
}

#[derive(Default)]
struct VideoInner {
    index: VideoIndex,
    /// Video number -> (entry, role, generation of the entry's insertion).
    slots: Vec<(EntryId, StoredRole, u64)>,
    /// Live video entries -> the generation their codes were inserted under.
    live: HashMap<EntryId, u64>,
    /// Known TMK+PDQF videos.
    tmk: HashMap<EntryId, Arc<TmkFeatures>>,
    next_generation: u64,
}

impl VideoState {
    /// Indexes an entry's video (replacing any earlier one of the same id).
    pub(super) fn insert(&self, e: &EntryRecord) {
        let mut inner = self.inner.write();
        inner.live.remove(&e.id);
        inner.tmk.remove(&e.id);
        let Some(video) = &e.video else {
            return;
        };
        let generation = inner.next_generation;
        inner.next_generation += 1;
        for (role, list) in video.lists() {
            let number = inner.index.insert(list);
            debug_assert_eq!(number, inner.slots.len());
            inner.slots.push((e.id, role, generation));
        }
        inner.live.insert(e.id, generation);
        if let Some(features) = video.tmk_features() {
            inner.tmk.insert(e.id, Arc::new(features));
        }
    }

    /// Stops an entry's video from matching.
    pub(super) fn remove(&self, id: EntryId) {
        let mut inner = self.inner.write();
        inner.live.remove(&id);
        inner.tmk.remove(&id);
    }

    /// True while any TMK+PDQF video is stored.
    pub(super) fn has_tmk(&self) -> bool {
        !self.inner.read().tmk.is_empty()
    }

    /// The best clip match per live entry: the query's code lists against the stored roles
    /// they are compared with (as [`ClipRule::align_fingerprints`] pairs them).
    pub(super) fn clip_matches(
        &self,
        query: &VideoFingerprint,
        rule: &ClipRule,
    ) -> HashMap<EntryId, ClipMatch> {
        let inner = self.inner.read();
        let mut pairings: Vec<(&VideoHash, FrameVariant, &[StoredRole])> = vec![
            (
                &query.trimmed,
                FrameVariant::Trimmed,
                &[StoredRole::Trimmed],
            ),
            (
                &query.mirrored,
                FrameVariant::Mirrored,
                &[StoredRole::Trimmed],
            ),
            (
                &query.plain,
                FrameVariant::Plain,
                &[StoredRole::Plain, StoredRole::Cropped],
            ),
            (
                &query.inside_bars,
                FrameVariant::InsideBars,
                &[StoredRole::InsideBars],
            ),
        ];
        pairings.extend(
            query
                .query_crops
                .iter()
                .map(|list| (list, FrameVariant::QueryCropped, &[StoredRole::Cropped][..])),
        );
        let mut best: HashMap<EntryId, ClipMatch> = HashMap::new();
        for (list, variant, roles) in pairings {
            if list.frames.is_empty() {
                continue;
            }
            for (number, m) in inner.index.query(list, rule) {
                let Some(&(entry, role, generation)) = inner.slots.get(number) else {
                    continue;
                };
                if !roles.contains(&role) || inner.live.get(&entry) != Some(&generation) {
                    continue;
                }
                let variant = if role == StoredRole::Cropped && variant == FrameVariant::Plain {
                    FrameVariant::Cropped
                } else {
                    variant
                };
                let m = ClipMatch { variant, ..m };
                let better = best.get(&entry).is_none_or(|old| {
                    (m.shorter_coverage, m.matched_frames)
                        .partial_cmp(&(old.shorter_coverage, old.matched_frames))
                        == Some(std::cmp::Ordering::Greater)
                });
                if better {
                    best.insert(entry, m);
                }
            }
        }
        best
    }

    /// Known TMK videos whose scores against `query` pass both thresholds.
    pub(super) fn tmk_matches(
        &self,
        query: &TmkFeatures,
        thresholds: (f32, f32),
    ) -> Vec<(EntryId, f32, f32)> {
        let inner = self.inner.read();
        let mut out = Vec::new();
        for (&id, known) in &inner.tmk {
            let Ok(level1) = query.level1_score(known) else {
                continue;
            };
            if level1 < thresholds.0 {
                continue;
            }
            if let Ok(level2) = query.level2_score(known) {
                if level2 >= thresholds.1 {
                    out.push((id, level1, level2));
                }
            }
        }
        out
    }
}
