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
    /// Video entries -> the video numbers of their latest insertion (one per stored role).
    numbers: HashMap<EntryId, Vec<usize>>,
    /// Known TMK+PDQF videos.
    tmk: HashMap<EntryId, Arc<TmkFeatures>>,
    next_generation: u64,
}

/// At most this many unmatched candidate videos per query are aligned whole through every
/// pairing ([`VideoState::clip_matches`]).
const CROSS_CANDIDATES: usize = 64;

/// The variant a match reports: the query's plain codes against a stored crop are
/// [`FrameVariant::Cropped`].
fn stored_variant(variant: FrameVariant, role: StoredRole) -> FrameVariant {
    if role == StoredRole::Cropped && variant == FrameVariant::Plain {
        FrameVariant::Cropped
    } else {
        variant
    }
}

/// Keeps `m` (with `variant`) for `entry` when it covers more of the shorter video, or as much
/// with more matched frames, than the match kept so far.
fn keep_better(
    best: &mut HashMap<EntryId, ClipMatch>,
    entry: EntryId,
    variant: FrameVariant,
    m: ClipMatch,
) {
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

impl VideoState {
    /// Indexes an entry's video (replacing any earlier one of the same id).
    pub(super) fn insert(&self, e: &EntryRecord) {
        let mut inner = self.inner.write();
        inner.live.remove(&e.id);
        inner.tmk.remove(&e.id);
        inner.numbers.remove(&e.id);
        let Some(video) = &e.video else {
            return;
        };
        let generation = inner.next_generation;
        inner.next_generation += 1;
        let mut numbers = Vec::new();
        for (role, list) in video.lists() {
            let number = inner.index.insert(list);
            debug_assert_eq!(number, inner.slots.len());
            inner.slots.push((e.id, role, generation));
            numbers.push(number);
        }
        inner.numbers.insert(e.id, numbers);
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
        inner.numbers.remove(&id);
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
        // Live entries with a frame pair within the strict distance in any pairing.
        let mut candidates: Vec<EntryId> = Vec::new();
        let live_slot = |number: usize| {
            let &(entry, role, generation) = inner.slots.get(number)?;
            (inner.live.get(&entry) == Some(&generation)).then_some((entry, role))
        };
        for &(list, variant, roles) in &pairings {
            if list.frames.is_empty() {
                continue;
            }
            let (matched, found) = inner.index.query_with_candidates(list, rule);
            candidates.extend(
                found
                    .into_iter()
                    .filter_map(|n| live_slot(n).map(|(e, _)| e)),
            );
            for (number, m) in matched {
                let Some((entry, role)) = live_slot(number) else {
                    continue;
                };
                if roles.contains(&role) {
                    keep_better(&mut best, entry, stored_variant(variant, role), m);
                }
            }
        }
        // A candidate found through one pairing is aligned through the others too, whole (run
        // tier included): a letterboxed or cropped copy may come within 31 bits only in its
        // plain codes while its trimmed or cropped codes carry the match.
        // Bounded: the candidates found through the most pairings first, at most
        // `CROSS_CANDIDATES` of them (a whole alignment costs query x known frames per pairing).
        let mut counted: HashMap<EntryId, usize> = HashMap::new();
        for entry in candidates {
            *counted.entry(entry).or_default() += 1;
        }
        let mut candidates: Vec<(usize, EntryId)> =
            counted.into_iter().map(|(entry, n)| (n, entry)).collect();
        candidates.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        candidates.truncate(CROSS_CANDIDATES);
        for (_, entry) in candidates {
            if best.contains_key(&entry) {
                continue;
            }
            let Some(numbers) = inner.numbers.get(&entry) else {
                continue;
            };
            for &(list, variant, roles) in &pairings {
                for &number in numbers {
                    let Some((_, role)) = live_slot(number) else {
                        continue;
                    };
                    if !roles.contains(&role) || list.frames.is_empty() {
                        continue;
                    }
                    if let Some(m) = inner.index.align_stored(number, list, rule) {
                        keep_better(&mut best, entry, stored_variant(variant, role), m);
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntrySource;
    use crate::hashes::Pdq;
    use crate::video::align::tests::{code, flipped_spread, video};
    use crate::video::StoredVideo;

    fn hash(codes: impl IntoIterator<Item = Pdq>) -> VideoHash {
        video(&codes.into_iter().collect::<Vec<_>>())
    }

    #[test]
    fn a_candidate_found_through_one_pairing_is_aligned_through_the_others() {
        // Known: plain codes P and border-trimmed codes T (a letterboxed source). The query's
        // trimmed codes lie 40 bits from T on every frame (run tier only, never a candidate on
        // their own); one of its plain frames lies within 31 bits of P (a candidate, too short
        // to match). The engine must find the video through the trimmed pairing.
        let plain: Vec<Pdq> = (0..30).map(|i| code(1000 + i)).collect();
        let trimmed: Vec<Pdq> = (0..30).map(|i| code(2000 + i)).collect();
        let mut e = EntryRecord::new(EntryId(7), EntrySource::Known, "clip");
        e.video = Some(Box::new(StoredVideo {
            plain: hash(plain.clone()),
            trimmed: hash(trimmed.clone()),
            ..StoredVideo::default()
        }));
        let state = VideoState::default();
        state.insert(&e);
        let query_plain = (0..30).map(|i| {
            if i == 12 {
                flipped_spread(plain[12], 10, 12)
            } else {
                code(5000 + i)
            }
        });
        let query = VideoFingerprint {
            plain: hash(query_plain),
            trimmed: hash(
                trimmed
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| flipped_spread(c, 40, i)),
            ),
            ..VideoFingerprint::default()
        };
        let rule = ClipRule::default();
        let found = state.clip_matches(&query, &rule);
        let m = found
            .get(&EntryId(7))
            .expect("found through the trimmed codes");
        assert_eq!((m.variant, m.radius), (FrameVariant::Trimmed, 56));
        // Without the one plain frame within 31 bits, the wide search (44 bits) still makes
        // it a candidate through the trimmed codes.
        let far = VideoFingerprint {
            plain: hash((0..30).map(|i| code(5000 + i))),
            ..query.clone()
        };
        let m = state.clip_matches(&far, &rule);
        assert_eq!(
            m.get(&EntryId(7)).map(|m| m.variant),
            Some(FrameVariant::Trimmed)
        );
        // With the trimmed codes 50 bits away too, nothing makes it a candidate (the run tier
        // alone would accept it: 50 <= 56).
        let farther = VideoFingerprint {
            trimmed: hash(
                trimmed
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| flipped_spread(c, 50, i)),
            ),
            ..far.clone()
        };
        assert!(state.clip_matches(&farther, &rule).is_empty());
        assert!(rule
            .align(&farther.trimmed, &hash(trimmed.clone()))
            .is_some());
        // A removed entry is not aligned.
        state.remove(EntryId(7));
        assert!(state.clip_matches(&query, &rule).is_empty());
    }
}
