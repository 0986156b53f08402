//! [`VideoIndex`]: the frame codes of many known videos in one
//! [`crate::index::HammingIndex`], so a query video is matched against all of
//! them with one batched search instead of one alignment per known video.
//!
//! Every stored frame code gets its own entry id (its slot), and the slot gives back the video
//! and the timestamp. A query's usable frames are searched at [`ClipRule::distance`] with
//! [`range_batch`](crate::index::HammingIndex::range_batch); the hits are grouped by video into
//! `(query frame, known time)` pairs, and only videos with hits are aligned, by the same decision
//! as [`ClipRule::align`]'s strict tier (the property test in this module checks the answers
//! equal brute force). The run tier ([`ClipRule::run_distance`]) is not indexed: a radius of 56
//! bits makes multi-index hashing scan most of the index; run it with
//! [`ClipRule::align_fingerprints`] on candidates found otherwise.
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

    /// Every stored video that `rule`'s strict tier aligns `query` with, as `(video number,
    /// evidence)`, by video number. Frames under the rule's quality floor are ignored on both
    /// sides, as in [`ClipRule::align`].
    pub fn query(&self, query: &VideoHash, rule: &ClipRule) -> Vec<(usize, ClipMatch)> {
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
        for (video, mut video_pairs) in pairs {
            let v = self.videos[video as usize];
            let slots = v.first_slot as usize..(v.first_slot + v.frames) as usize;
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
            if let Some(m) = rule.align_known_times(
                &q,
                &video_pairs,
                query.duration(),
                v.duration,
                &usable_times,
                &all_times,
            ) {
                out.push((video as usize, m));
            }
        }
        out
    }
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
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
