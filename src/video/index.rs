//! [`VideoIndex`]: the frame codes of many known videos in one
//! [`crate::index::HammingIndex`], so a query video is matched against all of
//! them with one batched search instead of one alignment per known video.
//!
//! Every stored frame code gets its own entry id (its slot), and the slot gives back the video
//! and the timestamp. A query's usable frames are searched at [`ClipRule::distance`] with
//! [`range_batch`](crate::index::HammingIndex::range_batch); the hits are grouped by video into
//! `(query frame, known time)` pairs, and only videos with hits are aligned, by the same decision
//! as [`ClipRule::align`]'s strict tier. The run tier ([`ClipRule::run_distance`]) is not
//! searched in the index (a radius of 56 bits makes multi-index hashing scan most of the
//! index): a video that has at least one frame within [`ClipRule::distance`] of a usable query
//! frame is a candidate, and a candidate the strict tier does not accept is aligned whole by
//! [`ClipRule::align`], run tier included, against its stored codes. So the answers equal brute
//! force for every video with a strict-distance frame pair (the property test in this module
//! checks it). A copy whose every frame pair lies beyond 31 bits (a letterbox or an off-centre
//! crop of noise-like footage) is looked for by a second, **wide** search: a few of the query's
//! best frames ([`wide_search_frames`]) at [`WIDE_SEARCH_DISTANCE`] bits; the videos it hits
//! (at most [`WIDE_SEARCH_CANDIDATES`], nearest first) are aligned whole by the same rule. Every
//! answer is one brute force gives; a copy with no pair within the wide radius among the picked
//! frames is not found.
//!
//! ```
//! use referral_dedup::hashes::Pdq;
//! use referral_dedup::video::{ClipRule, FrameHash, VideoHash, VideoIndex};
//! let code = |i: u64| Pdq([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i.wrapping_mul(0xc2b2_ae3d_27d4_eb4f), !i, i]);
//! let video = |codes: std::ops::Range<u64>| VideoHash { frames: codes.clone().map(|i| FrameHash {
//!     frame_number: i - codes.start, quality: 90, pdq: code(i), timestamp: (i - codes.start) as f64 }).collect() };
//! let mut index = VideoIndex::new();
//! let a = index.insert(&video(0..60));
//! let _b = index.insert(&video(1000..1060));
//! let hits = index.query(&video(20..40), &ClipRule::default());
//! assert_eq!(hits.len(), 1);
//! assert_eq!((hits[0].0, hits[0].1.known_start), (a, 20.0));
//! ```

use std::collections::BTreeMap;

use super::{ClipMatch, ClipRule, FrameHash, VideoHash};
use crate::hashes::{EntryId, Pdq};
use crate::index::HammingIndex;

/// Where a stored frame code came from.
#[derive(Clone, Copy, Debug)]
struct StoredFrame {
    video: u32,
    timestamp: f64,
    quality: u8,
    /// The code again (the Hamming index keeps no code by id): the run tier aligns a
    /// candidate video against all its codes.
    pdq: Pdq,
}

/// One stored video: its duration and its frames' slot range.
#[derive(Clone, Copy, Debug)]
struct StoredVideo {
    duration: f64,
    first_slot: u32,
    frames: u32,
}

/// Many known videos' frame codes, searchable together (see the [module docs](self)).
#[derive(Debug, Default)]
pub struct VideoIndex {
    codes: HammingIndex<Pdq>,
    frames: Vec<StoredFrame>,
    videos: Vec<StoredVideo>,
    /// The wide search switched off ([`set_wide_search`](Self::set_wide_search)).
    no_wide_search: bool,
}

impl VideoIndex {
    /// An empty index.
    ///
    /// ```
    /// assert!(referral_dedup::video::VideoIndex::new().is_empty());
    /// ```
    pub fn new() -> Self {
        VideoIndex::default()
    }

    /// Builds an index from many videos at once (one segment, no merging); video numbers are
    /// positions in the iterator.
    ///
    /// ```
    /// use referral_dedup::video::{VideoHash, VideoIndex};
    /// let index = VideoIndex::build([&VideoHash::default(), &VideoHash::default()]);
    /// assert_eq!(index.len(), 2);
    /// ```
    ///
    /// # Panics
    /// When more than `u32::MAX` frame codes are given.
    pub fn build<'a>(videos: impl IntoIterator<Item = &'a VideoHash>) -> Self {
        let mut index = VideoIndex::default();
        let mut items: Vec<(EntryId, Pdq)> = Vec::new();
        for video in videos {
            add(
                &mut index.frames,
                &mut index.videos,
                video,
                &mut |slot, code| items.push((slot, code)),
            );
        }
        index.codes = HammingIndex::build(items);
        index
    }

    /// Stores a video's frame codes and returns its number (0, 1, 2, ... in insertion order).
    ///
    /// ```
    /// use referral_dedup::video::{VideoHash, VideoIndex};
    /// let mut index = VideoIndex::new();
    /// assert_eq!(index.insert(&VideoHash::default()), 0);
    /// assert_eq!(index.insert(&VideoHash::default()), 1);
    /// ```
    ///
    /// # Panics
    /// When the index would hold more than `u32::MAX` frame codes.
    pub fn insert(&mut self, video: &VideoHash) -> usize {
        let codes = &self.codes;
        add(
            &mut self.frames,
            &mut self.videos,
            video,
            &mut |slot, code| codes.insert(slot, code),
        )
    }

    /// Switches the wide candidate search (see the [module docs](self)) on (the default) or
    /// off, for measuring what it costs and finds.
    ///
    /// ```
    /// use referral_dedup::video::VideoIndex;
    /// let mut index = VideoIndex::new();
    /// index.set_wide_search(false);
    /// assert!(index.is_empty());
    /// ```
    pub fn set_wide_search(&mut self, on: bool) {
        self.no_wide_search = !on;
    }

    /// Number of videos stored.
    ///
    /// ```
    /// assert_eq!(referral_dedup::video::VideoIndex::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.videos.len()
    }

    /// Whether no video is stored.
    ///
    /// ```
    /// assert!(referral_dedup::video::VideoIndex::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.videos.is_empty()
    }

    /// Number of frame codes stored.
    ///
    /// ```
    /// use referral_dedup::video::{FrameHash, VideoHash, VideoIndex};
    /// let v = VideoHash { frames: vec![FrameHash { frame_number: 0, quality: 90, pdq: Default::default(), timestamp: 0.0 }] };
    /// assert_eq!(VideoIndex::build([&v]).frame_count(), 1);
    /// ```
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Every stored video that `rule` aligns `query` with, as `(video number, evidence)`, by
    /// video number: through the strict tier, or through the run tier for a video with at least
    /// one frame within [`ClipRule::distance`] of a usable query frame or found by the wide
    /// search (see the [module docs](self)). Frames under the rule's quality floor are ignored
    /// on both sides, as in [`ClipRule::align`].
    pub fn query(&self, query: &VideoHash, rule: &ClipRule) -> Vec<(usize, ClipMatch)> {
        self.query_with_candidates(query, rule).0
    }

    /// [`query`](Self::query)'s answers, and the candidates, matched or not: every video number
    /// with at least one usable frame within [`ClipRule::distance`] of a usable query frame, then
    /// the wide search's (see the [module docs](self)), so a caller holding several code lists
    /// per video can align the other lists of a candidate ([`align_stored`](Self::align_stored)).
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::video::{ClipRule, FrameHash, VideoHash, VideoIndex};
    /// let frame = |i: u64| FrameHash { frame_number: i, quality: 90, pdq: Pdq([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i.wrapping_mul(0xc2b2_ae3d_27d4_eb4f), !i, i]), timestamp: i as f64 };
    /// let video = VideoHash { frames: (0..3).map(frame).collect() };
    /// let index = VideoIndex::build([&video]);
    /// // One frame in common: a candidate, too short to match.
    /// let one = VideoHash { frames: vec![frame(1)] };
    /// let (matched, candidates) = index.query_with_candidates(&one, &ClipRule::default());
    /// assert!(matched.is_empty());
    /// assert_eq!(candidates, vec![0]);
    /// ```
    pub fn query_with_candidates(
        &self,
        query: &VideoHash,
        rule: &ClipRule,
    ) -> (Vec<(usize, ClipMatch)>, Vec<usize>) {
        let q: Vec<&FrameHash> = rule.usable(query);
        let codes: Vec<Pdq> = q.iter().map(|f| f.pdq).collect();
        let hits = self.codes.range_batch(&codes, rule.distance);
        let mut pairs: BTreeMap<u32, Vec<(usize, f64)>> = BTreeMap::new();
        for (qi, frame_hits) in hits.iter().enumerate() {
            for hit in frame_hits {
                let stored = self.frames[hit.id.0 as usize];
                if stored.quality >= rule.quality_floor {
                    pairs
                        .entry(stored.video)
                        .or_default()
                        .push((qi, stored.timestamp));
                }
            }
        }
        let mut out = Vec::new();
        let mut candidates: Vec<usize> = pairs.keys().map(|&v| v as usize).collect();
        let wide = self.wide_candidates(&q, rule, &pairs);
        candidates.extend(wide.iter().map(|&v| v as usize));
        for (video, mut video_pairs) in pairs {
            let v = self.videos[video as usize];
            let slots = self.slots(video as usize);
            let mut all_times: Vec<f64> = self.frames[slots.clone()]
                .iter()
                .map(|f| f.timestamp)
                .collect();
            all_times.sort_by(f64::total_cmp);
            let mut usable_times: Vec<f64> = self.frames[slots]
                .iter()
                .filter(|f| f.quality >= rule.quality_floor)
                .map(|f| f.timestamp)
                .collect();
            usable_times.sort_by(f64::total_cmp);
            video_pairs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            let strict = rule.align_known_times(
                &q,
                &video_pairs,
                query.duration(),
                v.duration,
                &usable_times,
                &all_times,
            );
            let found = strict.or_else(|| {
                (rule.run_distance > rule.distance)
                    .then(|| rule.align(query, &self.stored_video(video as usize)))?
            });
            if let Some(m) = found {
                out.push((video as usize, m));
            }
        }
        // Wide candidates are aligned whole by the same rule: the search only proposes them.
        for video in wide {
            if let Some(m) = rule.align(query, &self.stored_video(video as usize)) {
                out.push((video as usize, m));
            }
        }
        out.sort_by_key(|&(video, _)| video);
        (out, candidates)
    }

    /// `rule` aligning `query` with stored video `number` whole, both tiers, as
    /// [`ClipRule::align`] does; `None` for a number not stored.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::video::{ClipRule, FrameHash, VideoHash, VideoIndex};
    /// let frame = |i: u64| FrameHash { frame_number: i, quality: 90, pdq: Pdq([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i.wrapping_mul(0xc2b2_ae3d_27d4_eb4f), !i, i]), timestamp: i as f64 };
    /// let video = VideoHash { frames: (0..20).map(frame).collect() };
    /// let index = VideoIndex::build([&video]);
    /// assert!(index.align_stored(0, &video, &ClipRule::default()).is_some());
    /// assert!(index.align_stored(1, &video, &ClipRule::default()).is_none());
    /// ```
    pub fn align_stored(
        &self,
        number: usize,
        query: &VideoHash,
        rule: &ClipRule,
    ) -> Option<ClipMatch> {
        (number < self.videos.len()).then(|| rule.align(query, &self.stored_video(number)))?
    }
}

impl VideoIndex {
    /// The wide candidate search: the query's [`WIDE_SEARCH_FRAMES`] picked frames
    /// ([`wide_search_frames`]) searched at [`WIDE_SEARCH_DISTANCE`] (never beyond the run
    /// tier's radius; nothing when the run tier is off), and the videos they hit that the strict
    /// search did not (`strict`), nearest hit first, at most [`WIDE_SEARCH_CANDIDATES`].
    fn wide_candidates<T>(
        &self,
        usable: &[&FrameHash],
        rule: &ClipRule,
        strict: &BTreeMap<u32, T>,
    ) -> Vec<u32> {
        let radius = WIDE_SEARCH_DISTANCE.min(rule.run_distance);
        if self.no_wide_search || radius <= rule.distance {
            return Vec::new();
        }
        let codes: Vec<Pdq> = wide_search_frames(usable)
            .into_iter()
            .map(|f| f.pdq)
            .collect();
        let mut nearest: BTreeMap<u32, u32> = BTreeMap::new();
        for hit in self.codes.range_batch(&codes, radius).iter().flatten() {
            let stored = self.frames[hit.id.0 as usize];
            if stored.quality >= rule.quality_floor && !strict.contains_key(&stored.video) {
                let d = nearest.entry(stored.video).or_insert(hit.distance);
                *d = (*d).min(hit.distance);
            }
        }
        let mut wide: Vec<(u32, u32)> = nearest.into_iter().map(|(v, d)| (d, v)).collect();
        wide.sort_unstable();
        wide.truncate(WIDE_SEARCH_CANDIDATES);
        wide.into_iter().map(|(_, v)| v).collect()
    }

    /// The frame slots of stored video `number`.
    fn slots(&self, number: usize) -> std::ops::Range<usize> {
        let v = self.videos[number];
        v.first_slot as usize..(v.first_slot + v.frames) as usize
    }

    /// Stored video `number` as a [`VideoHash`] again (frame numbers are positions).
    fn stored_video(&self, number: usize) -> VideoHash {
        VideoHash {
            frames: self.frames[self.slots(number)]
                .iter()
                .enumerate()
                .map(|(i, f)| FrameHash {
                    frame_number: i as u64,
                    quality: f.quality,
                    pdq: f.pdq,
                    timestamp: f.timestamp,
                })
                .collect(),
        }
    }
}

/// Radius of the wide candidate search (see [`VideoIndex::query_with_candidates`]): a copy
/// whose every frame pair lies beyond [`ClipRule::distance`] (a letterbox or an off-centre crop
/// of noise-like footage) still has a few frames this near. Candidates are verified by the
/// whole clip rule, whose run tier needs a dense run of pairs within
/// [`ClipRule::run_distance`]; the nearest unrelated pair in the match harness is 102 bits.
pub const WIDE_SEARCH_DISTANCE: u32 = 44;

/// Query frames searched at [`WIDE_SEARCH_DISTANCE`]: the best of each of this many equal
/// stretches of the query ([`wide_search_frames`]).
pub const WIDE_SEARCH_FRAMES: usize = 8;

/// Most videos one query code list makes candidates through the wide search (each is aligned
/// whole, query frames x known frames).
pub const WIDE_SEARCH_CANDIDATES: usize = 8;

/// The frames of the wide search: the usable frames (in time order) cut into
/// [`WIDE_SEARCH_FRAMES`] equal stretches, from each the one of highest quality (the earliest
/// on a tie), so the search covers the whole query with its most detailed frames.
///
/// ```
/// use referral_dedup::hashes::Pdq;
/// use referral_dedup::video::index::wide_search_frames;
/// use referral_dedup::video::{FrameHash, WIDE_SEARCH_FRAMES};
/// let frames: Vec<FrameHash> = (0..80).map(|i| FrameHash { frame_number: i, quality: 50 + (i % 10) as u8,
///     pdq: Pdq::default(), timestamp: i as f64 }).collect();
/// let usable: Vec<&FrameHash> = frames.iter().collect();
/// let picked = wide_search_frames(&usable);
/// assert_eq!(picked.len(), WIDE_SEARCH_FRAMES);
/// assert!(picked.iter().all(|f| f.quality == 59));
/// assert_eq!(picked[0].frame_number, 9);
/// ```
pub fn wide_search_frames<'a>(usable: &[&'a FrameHash]) -> Vec<&'a FrameHash> {
    let n = usable.len();
    let stretches = WIDE_SEARCH_FRAMES.min(n);
    (0..stretches)
        .filter_map(|s| {
            let stretch = &usable[s * n / stretches..(s + 1) * n / stretches];
            stretch
                .iter()
                .copied()
                .reduce(|best, f| if f.quality > best.quality { f } else { best })
        })
        .collect()
}

/// Appends a video's frames to the tables, handing each code and its slot to `store`.
fn add(
    frames: &mut Vec<StoredFrame>,
    videos: &mut Vec<StoredVideo>,
    video: &VideoHash,
    store: &mut dyn FnMut(EntryId, Pdq),
) -> usize {
    let number = videos.len();
    let first_slot = u32::try_from(frames.len()).expect("at most u32::MAX frame codes");
    for f in &video.frames {
        let slot = u32::try_from(frames.len()).expect("at most u32::MAX frame codes");
        frames.push(StoredFrame {
            video: number as u32,
            timestamp: f.timestamp,
            quality: f.quality,
            pdq: f.pdq,
        });
        store(EntryId(slot), f.pdq);
    }
    videos.push(StoredVideo {
        duration: video.duration(),
        first_slot,
        frames: video.frames.len() as u32,
    });
    number
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::align::tests::flipped_spread;
    use proptest::prelude::*;

    /// A code near one of a few bases, so that random videos share frames now and then.
    fn code(base: u64, noise: u64) -> Pdq {
        let mut x = base.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut c = Pdq([next(), next(), next(), next()]);
        for b in 0..(noise % 40) as usize {
            c.0[b % 4] ^= 1 << ((b * 7 + noise as usize) % 64);
        }
        c
    }

    fn video(frames: &[(u64, u64, u8)], step: f64) -> VideoHash {
        VideoHash {
            frames: frames
                .iter()
                .enumerate()
                .map(|(i, &(base, noise, quality))| FrameHash {
                    frame_number: i as u64,
                    quality,
                    pdq: code(base, noise),
                    timestamp: i as f64 * step,
                })
                .collect(),
        }
    }

    fn frames() -> impl Strategy<Value = Vec<(u64, u64, u8)>> {
        prop::collection::vec(
            (0u64..12, 0u64..60, prop_oneof![Just(20u8), Just(90u8)]),
            0..40,
        )
    }

    /// Whether some usable frame pair of `query` and `known` lies within the strict distance:
    /// the videos the index can find.
    fn has_strict_pair(rule: &ClipRule, query: &VideoHash, known: &VideoHash) -> bool {
        let k = rule.usable(known);
        rule.usable(query)
            .iter()
            .any(|q| k.iter().any(|f| q.pdq.distance(&f.pdq) <= rule.distance))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// With the run tier on, the index answers what aligning the query with every stored
        /// video does, for every video it can find through the strict search (one with a
        /// strict-distance frame pair); any other answer (the wide search's) is one brute force
        /// gives too.
        #[test]
        fn index_with_the_run_tier_equals_brute_force_on_candidates(
            known in prop::collection::vec(frames(), 1..6),
            query in frames(),
            step in prop_oneof![Just(1.0), Just(0.2)],
        ) {
            let rule = ClipRule::default();
            let known: Vec<VideoHash> = known.iter().map(|k| video(k, step)).collect();
            let query = video(&query, 1.0);
            let brute: Vec<(usize, ClipMatch)> = known
                .iter()
                .enumerate()
                .filter_map(|(i, k)| rule.align(&query, k).map(|m| (i, m)))
                .collect();
            let found = VideoIndex::build(&known).query(&query, &rule);
            let strict: Vec<(usize, ClipMatch)> = found
                .iter()
                .filter(|(i, _)| has_strict_pair(&rule, &query, &known[*i]))
                .cloned()
                .collect();
            let brute_strict: Vec<(usize, ClipMatch)> = brute
                .iter()
                .filter(|(i, _)| has_strict_pair(&rule, &query, &known[*i]))
                .cloned()
                .collect();
            prop_assert_eq!(&strict, &brute_strict);
            for answer in &found {
                prop_assert!(brute.contains(answer), "{:?} not a brute-force answer", answer);
            }
        }

        /// The index answers exactly what aligning the query with every stored video does
        /// (strict tier).
        #[test]
        fn index_equals_brute_force(
            known in prop::collection::vec(frames(), 1..6),
            query in frames(),
            step in prop_oneof![Just(1.0), Just(0.2)],
        ) {
            let rule = ClipRule { run_distance: 0, ..ClipRule::default() };
            let known: Vec<VideoHash> = known.iter().map(|k| video(k, step)).collect();
            let query = video(&query, 1.0);
            let index = VideoIndex::build(&known);
            let mut incremental = VideoIndex::new();
            for k in &known {
                incremental.insert(k);
            }
            let brute: Vec<(usize, ClipMatch)> = known
                .iter()
                .enumerate()
                .filter_map(|(i, k)| rule.align(&query, k).map(|m| (i, m)))
                .collect();
            prop_assert_eq!(&index.query(&query, &rule), &brute);
            prop_assert_eq!(&incremental.query(&query, &rule), &brute);
        }
    }

    #[test]
    fn a_copy_beyond_the_strict_distance_is_found_through_the_run_tier() {
        // A 30-frame known video among others; the query is a copy whose frames all lie 40
        // bits from their originals (an overlay or a crop the stored codes do not cover), but
        // for one frame within 20. The strict tier alone finds nothing; the run tier finds it.
        let known: Vec<VideoHash> = (0..20u64)
            .map(|v| {
                video(
                    &(0..30).map(|i| (100 * v + i, 0, 90)).collect::<Vec<_>>(),
                    1.0,
                )
            })
            .collect();
        let mut query = known[7].clone();
        for (i, f) in query.frames.iter_mut().enumerate() {
            f.pdq = flipped_spread(f.pdq, if i == 12 { 20 } else { 40 }, i);
        }
        let index = VideoIndex::build(&known);
        let strict_only = ClipRule {
            run_distance: 0,
            ..ClipRule::default()
        };
        assert!(index.query(&query, &strict_only).is_empty());
        let hits = index.query(&query, &ClipRule::default());
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!((hits[0].0, hits[0].1.radius), (7, 56));
        // Without a single frame within 31 bits, the wide search (44 bits) still proposes the
        // video, and the run tier accepts it.
        let mut far = query.clone();
        far.frames[12].pdq = flipped_spread(known[7].frames[12].pdq, 40, 12);
        let hits = index.query(&far, &ClipRule::default());
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(Some(hits[0].1), ClipRule::default().align(&far, &known[7]));
        // Every pair beyond the wide radius: the index does not see the video, brute force does.
        let mut farther = query.clone();
        for (i, f) in farther.frames.iter_mut().enumerate() {
            f.pdq = flipped_spread(known[7].frames[i].pdq, 50, i);
        }
        assert!(index.query(&farther, &ClipRule::default()).is_empty());
        assert!(ClipRule::default().align(&farther, &known[7]).is_some());
    }

    #[test]
    fn the_wide_search_is_off_with_the_run_tier_and_bounded() {
        // Twenty videos each with a frame 40 bits from the query's: the wide search proposes
        // at most WIDE_SEARCH_CANDIDATES of them, and none without the run tier.
        let base: Vec<(u64, u64, u8)> = (0..30).map(|i| (i, 0, 90)).collect();
        let original = video(&base, 1.0);
        let known: Vec<VideoHash> = (0..20)
            .map(|v| {
                let mut k = video(
                    &(0..30)
                        .map(|i| (1000 * (v + 1) + i, 0, 90))
                        .collect::<Vec<_>>(),
                    1.0,
                );
                k.frames[0].pdq = flipped_spread(original.frames[0].pdq, 40, v as usize);
                k
            })
            .collect();
        let index = VideoIndex::build(&known);
        let (_, candidates) = index.query_with_candidates(&original, &ClipRule::default());
        assert_eq!(candidates.len(), WIDE_SEARCH_CANDIDATES);
        let strict_only = ClipRule {
            run_distance: 0,
            ..ClipRule::default()
        };
        assert!(index
            .query_with_candidates(&original, &strict_only)
            .1
            .is_empty());
    }

    #[test]
    fn an_excerpt_is_found_among_many_videos() {
        let many: Vec<VideoHash> = (0..50u64)
            .map(|v| {
                video(
                    &(0..60).map(|i| (1000 * v + i, 0, 90)).collect::<Vec<_>>(),
                    1.0,
                )
            })
            .collect();
        let index = VideoIndex::build(&many);
        assert_eq!((index.len(), index.frame_count()), (50, 3000));
        let query = video(
            &(0..30)
                .map(|i| (1000 * 17 + 20 + i, 5, 90))
                .collect::<Vec<_>>(),
            1.0,
        );
        let hits = index.query(&query, &ClipRule::default());
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].0, hits[0].1.known_start), (17, 20.0));
    }

    #[test]
    fn an_excerpt_fading_to_black_is_found_as_brute_force_finds_it() {
        // Known: 4 s at ten frames a second, dark from 1.3 s to 3 s; the query is 1.0-2.9 s of
        // it, three usable frames then darkness. The index passes the known video's sampling
        // to the rule, so it sees the dark stretch as brute force does.
        let dark = |i: u64| (13..30).contains(&i);
        let known: Vec<(u64, u64, u8)> = (0..40)
            .map(|i| (100 + i, 0, if dark(i) { 0 } else { 90 }))
            .collect();
        let other: Vec<(u64, u64, u8)> = (0..40).map(|i| (500 + i, 0, 90)).collect();
        let videos = [video(&other, 0.1), video(&known, 0.1)];
        let query: Vec<(u64, u64, u8)> = (10..30)
            .map(|i| (100 + i, 3, if i < 13 { 90 } else { 0 }))
            .collect();
        let query = video(&query, 0.1);
        let rule = ClipRule::default();
        let hits = VideoIndex::build(&videos).query(&query, &rule);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].0, hits[0].1.shorter_coverage), (1, 1.0));
        assert_eq!(Some(hits[0].1), rule.align(&query, &videos[1]));
    }
}
