//! Clip-aware video matching: frames that match must also agree on one time offset.
//!
//! vPDQ's bag-of-frames rule ignores time, so a 60-second excerpt of a 10-minute video fails on
//! the long side's percentage, and two unrelated videos that share an intro card or black frames
//! collect matched frames without sharing content. This rule votes: every pair of frames within the
//! PDQ distance casts a vote, for each playback rate in [`ClipRule::rates`], for the offset
//! `known time - rate * query time` (a copy played 1.25 times faster keeps one offset at rate
//! 1.25); the (rate, offset) line with the most distinct query frames wins; its matched frames are
//! cut into runs (no gap over [`ClipRule::max_gap_seconds`]), and the longest run is the aligned
//! segment. A segment counts only when it
//! - spans at least [`ClipRule::min_seconds`] (or, for a shorter video, most of it),
//! - covers at least [`ClipRule::min_shorter_coverage`] of the shorter video (an excerpt covers
//!   all of itself; an added intro or outro leaves the known video covered; a shared intro card
//!   covers a sliver),
//! - shows at least [`ClipRule::min_distinct_frames`] frames that differ from each other (a static
//!   card or a slide is one picture, however long it stays on screen),
//! - and has matched frames for at least [`ClipRule::min_density`] of the usable query frames
//!   inside it.
//!
//! When no segment is found at [`ClipRule::distance`] (31), the **run tier** tries again with
//! pairs up to [`ClipRule::run_distance`]: one frame at that distance is weak evidence, but a
//! dense run of them on one line is not (an overlaid logo or a crop moves every frame by a
//! similar amount; unrelated footage does not line up frame after frame). It asks for the same
//! segment and, in addition, [`ClipRule::run_min_density`] of the query frames inside it matched
//! and at least [`ClipRule::run_min_frames`] of them. The radius was set on the video harness's
//! tuning half, where no non-matching pair matched below the onset it prints
//! (`examples/video_quality.rs`).
//!
//! ```
//! use referral_dedup::hashes::Pdq;
//! use referral_dedup::video::{ClipRule, FrameHash, VideoHash};
//! // 120 one-second frames of changing content; the query is seconds 30..90 of it.
//! let code = |i: u64| Pdq([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i.wrapping_mul(0xc2b2_ae3d_27d4_eb4f), !i, i]);
//! let video = |range: std::ops::Range<u64>| VideoHash { frames: range.clone().map(|i| FrameHash {
//!     frame_number: i - range.start, quality: 90, pdq: code(i), timestamp: (i - range.start) as f64 }).collect() };
//! let m = ClipRule::default().align(&video(30..90), &video(0..120)).unwrap();
//! assert_eq!((m.query_start, m.query_end, m.known_start), (0.0, 59.0, 30.0));
//! ```

use super::{FrameHash, FrameVariant, VideoHash};

/// The time-aware rule's settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClipRule {
    /// Largest PDQ distance for two frames to match (31).
    pub distance: u32,
    /// Frames below this PDQ quality are ignored (50).
    pub quality_floor: u8,
    /// Width of an offset bin in seconds; neighbouring bins are pooled (1.0).
    pub offset_tolerance: f64,
    /// Largest gap between matched frames inside one segment, in seconds (5.0: fast motion
    /// between two sampled known frames leaves a few query frames unmatched).
    pub max_gap_seconds: f64,
    /// Shortest segment, in seconds, unless the shorter video is itself shorter (5.0).
    pub min_seconds: f64,
    /// Smallest share of the shorter video's duration the segment must cover (0.5).
    pub min_shorter_coverage: f64,
    /// Fewest mutually distinct frames (more than `distance` apart) in the segment (4; for a
    /// video with fewer than 8 usable frames, half of them and at least 2).
    pub min_distinct_frames: usize,
    /// Smallest share of usable query frames inside the segment that are matched (0.5).
    pub min_density: f64,
    /// Playback rates tried, in known seconds per query second: the vote is on a
    /// `(rate, offset)` line, `known time = rate * query time + offset`, so a sped-up or slowed
    /// copy keeps one offset ([`RATES`]).
    pub rates: [f64; 5],
    /// The run tier's PDQ radius (56): frame pairs beyond [`distance`](Self::distance) but
    /// within this count only as a run on one line, under the stricter `run_` thresholds (0
    /// turns the tier off). Overlays (a logo box) and squashed noise-like footage push every
    /// frame past 31 bits but keep them far closer than unrelated footage; one such frame is
    /// weak, a run of them is not. 56 is 9 standard deviations below the 128 bits of two
    /// independent codes (binomial, sd 8); on the video harness no non-matching pair of either
    /// half lines up as a run below 110 bits.
    pub run_distance: u32,
    /// The run tier's smallest share of usable query frames inside the segment that are matched
    /// (0.8).
    pub run_min_density: f64,
    /// The run tier's fewest matched frames in the segment (8).
    pub run_min_frames: usize,
}

/// The default playback rates: same speed first, then slowed and sped-up copies.
pub const RATES: [f64; 5] = [1.0, 0.9, 1.1, 0.8, 1.25];

impl Default for ClipRule {
    fn default() -> Self {
        ClipRule {
            distance: 31,
            quality_floor: 50,
            offset_tolerance: 1.0,
            max_gap_seconds: 5.0,
            min_seconds: 5.0,
            min_shorter_coverage: 0.5,
            min_distinct_frames: 4,
            min_density: 0.5,
            rates: RATES,
            run_distance: 56,
            run_min_density: 0.8,
            run_min_frames: 8,
        }
    }
}

/// An aligned segment: the evidence for a clip match, with the time ranges on both sides.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClipMatch {
    /// Start of the segment in the query, seconds.
    pub query_start: f64,
    /// End of the segment in the query, seconds.
    pub query_end: f64,
    /// Start of the segment in the known video, seconds.
    pub known_start: f64,
    /// End of the segment in the known video, seconds.
    pub known_end: f64,
    /// Known time minus `rate` times query time on the winning line, seconds.
    pub offset: f64,
    /// Known seconds per query second on the winning line (1.0 for the same speed).
    pub rate: f64,
    /// Query frames in the segment matched on that line.
    pub matched_frames: usize,
    /// Mutually distinct frames among them.
    pub distinct_frames: usize,
    /// Share of the shorter video's duration the segment covers.
    pub shorter_coverage: f64,
    /// The PDQ radius the matched pairs were found at: [`ClipRule::distance`], or
    /// [`ClipRule::run_distance`] for the run tier.
    pub radius: u32,
    /// Which codes matched ([`FrameVariant::Plain`] from [`ClipRule::align`]).
    pub variant: FrameVariant,
}

/// Thresholds of one tier of the rule.
#[derive(Clone, Copy)]
struct Tier {
    radius: u32,
    min_density: f64,
    min_frames: usize,
}

impl ClipRule {
    /// The aligned segment of `query` in `known`, when the rule accepts one: first at
    /// [`distance`](Self::distance), else in the run tier.
    pub fn align(&self, query: &VideoHash, known: &VideoHash) -> Option<ClipMatch> {
        let q: Vec<&FrameHash> = self.usable(query);
        let k: Vec<&FrameHash> = self.usable(known);
        let widest = self.distance.max(self.run_distance);
        // (query frame, known time, distance)
        let mut pairs: Vec<(usize, f64, u32)> = Vec::new();
        for (qi, qf) in q.iter().enumerate() {
            for kf in &k {
                let d = qf.pdq.distance(&kf.pdq);
                if d <= widest {
                    pairs.push((qi, kf.timestamp, d));
                }
            }
        }
        let (qd, kd) = (query.duration(), known.duration());
        let known_times: Vec<f64> = k.iter().map(|f| f.timestamp).collect();
        let mut all_times: Vec<f64> = known.frames.iter().map(|f| f.timestamp).collect();
        all_times.sort_by(f64::total_cmp);
        let within = |radius: u32| -> Vec<(usize, f64)> {
            pairs
                .iter()
                .filter(|p| p.2 <= radius)
                .map(|&(qi, kt, _)| (qi, kt))
                .collect()
        };
        let known_side = KnownSide {
            duration: kd,
            frames: k.len(),
            usable_times: &known_times,
            all_times: &all_times,
        };
        self.decide(
            &q,
            &within(self.distance),
            qd,
            &known_side,
            self.strict_tier(),
        )
        .or_else(|| {
            (self.run_distance > self.distance).then(|| {
                let tier = self.run_tier();
                self.decide(&q, &within(self.run_distance), qd, &known_side, tier)
            })?
        })
    }

    /// The decision from candidate pairs already found at [`distance`](Self::distance) (for
    /// example by the Hamming index): `pairs` holds `(index into query_frames, known time -
    /// query time)`; `query_frames` must be the query's usable frames in time order;
    /// `known_frames` counts the known video's usable frames.
    pub fn align_pairs(
        &self,
        query_frames: &[&FrameHash],
        pairs: &[(usize, f64)],
        query_duration: f64,
        known_duration: f64,
        known_frames: usize,
    ) -> Option<ClipMatch> {
        let at_known_time: Vec<(usize, f64)> = pairs
            .iter()
            .map(|&(qi, offset)| (qi, query_frames[qi].timestamp + offset))
            .collect();
        let known_side = KnownSide {
            duration: known_duration,
            frames: known_frames,
            usable_times: &[],
            all_times: &[],
        };
        self.decide(
            query_frames,
            &at_known_time,
            query_duration,
            &known_side,
            self.strict_tier(),
        )
    }

    /// The strict tier's decision from `(index into query_frames, known time)` pairs: what
    /// [`align`](Self::align) decides first, for pairs found by an index
    /// ([`VideoIndex`](super::VideoIndex)); `known_usable_times` are the known video's usable
    /// frames' timestamps and `known_all_times` all its frames' timestamps, in order.
    pub(crate) fn align_known_times(
        &self,
        query_frames: &[&FrameHash],
        pairs: &[(usize, f64)],
        query_duration: f64,
        known_duration: f64,
        known_usable_times: &[f64],
        known_all_times: &[f64],
    ) -> Option<ClipMatch> {
        let known_side = KnownSide {
            duration: known_duration,
            frames: known_usable_times.len(),
            usable_times: known_usable_times,
            all_times: known_all_times,
        };
        self.decide(
            query_frames,
            pairs,
            query_duration,
            &known_side,
            self.strict_tier(),
        )
    }

    fn strict_tier(&self) -> Tier {
        Tier {
            radius: self.distance,
            min_density: self.min_density,
            min_frames: 0,
        }
    }

    fn run_tier(&self) -> Tier {
        Tier {
            radius: self.run_distance,
            min_density: self.run_min_density,
            min_frames: self.run_min_frames,
        }
    }

    /// The accepted segment with the most matched frames over the rates; `pairs` holds
    /// `(query frame, known time)`.
    fn decide(
        &self,
        query_frames: &[&FrameHash],
        pairs: &[(usize, f64)],
        query_duration: f64,
        known: &KnownSide<'_>,
        tier: Tier,
    ) -> Option<ClipMatch> {
        let mut best: Option<ClipMatch> = None;
        for &rate in &self.rates {
            if rate <= 0.0 || !rate.is_finite() {
                continue;
            }
            let line = LineInput {
                query_frames,
                query_duration,
                known,
                rate,
            };
            let Some(m) = self.segment_on_best_line(&line, pairs, tier) else {
                continue;
            };
            // The line with the most matched frames; on a tie the rate nearest 1 (listed first).
            let better = best.is_none_or(|b| m.matched_frames > b.matched_frames);
            if better {
                best = Some(m);
            }
        }
        best
    }

    /// At one rate: matched pairs vote on the offset, the longest run at the winning offset is
    /// the segment, and the segment is checked against the tier's thresholds.
    fn segment_on_best_line(
        &self,
        line: &LineInput<'_>,
        pairs: &[(usize, f64)],
        tier: Tier,
    ) -> Option<ClipMatch> {
        let query_frames = line.query_frames;
        let rate = line.rate;
        if pairs.is_empty() {
            return None;
        }
        let offset_of = |&(qi, kt): &(usize, f64)| kt - rate * query_frames[qi].timestamp;
        let tol = self.offset_tolerance.max(1e-3);
        let bin = |offset: f64| (offset / tol).round() as i64;
        // Distinct query frames per offset bin.
        let mut by_bin: std::collections::HashMap<i64, Vec<usize>> = Default::default();
        for p in pairs {
            by_bin.entry(bin(offset_of(p))).or_default().push(p.0);
        }
        for v in by_bin.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        let pooled = |b: i64| -> usize {
            (b - 1..=b + 1)
                .filter_map(|x| by_bin.get(&x))
                .map(Vec::len)
                .sum()
        };
        let best = *by_bin
            .keys()
            .max_by_key(|&&b| (pooled(b), std::cmp::Reverse(b.abs()), b))
            .expect("pairs is not empty");
        // Matched query frames at the winning offset, with their offsets.
        let mut matched: Vec<(usize, f64)> = pairs
            .iter()
            .map(|p| (p.0, offset_of(p)))
            .filter(|&(_, o)| (bin(o) - best).abs() <= 1)
            .collect();
        matched.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        matched.dedup_by_key(|m| m.0);
        // Longest run without a gap over max_gap_seconds.
        let mut best_run: &[(usize, f64)] = &[];
        let mut start = 0;
        for i in 1..=matched.len() {
            let split = i == matched.len()
                || query_frames[matched[i].0].timestamp - query_frames[matched[i - 1].0].timestamp
                    > self.max_gap_seconds;
            if split {
                if i - start > best_run.len() {
                    best_run = &matched[start..i];
                }
                start = i;
            }
        }
        let first = query_frames[best_run.first()?.0];
        let last = query_frames[best_run.last()?.0];
        let offset = best_run.iter().map(|m| m.1).sum::<f64>() / best_run.len() as f64;
        // The segment spans `span` query seconds and `rate * span` known seconds; in the strict
        // tier, a query whose every other stretch is dark where the known video is dark too (a
        // fade to black in both) is explained whole by it.
        let mut span = last.timestamp - first.timestamp;
        if tier.radius <= self.distance
            && rest_is_dark(line, first.timestamp, last.timestamp, offset)
        {
            span = span.max(line.query_duration);
        }
        // The shorter video in query seconds.
        let shorter = line.query_duration.min(line.known.duration / rate);
        let shorter_coverage = if shorter > 0.0 {
            (span / shorter).min(1.0)
        } else {
            1.0
        };
        let mut distinct: Vec<&FrameHash> = Vec::new();
        for m in best_run {
            let f = query_frames[m.0];
            if distinct
                .iter()
                .all(|d| d.pdq.distance(&f.pdq) > self.distance)
            {
                distinct.push(f);
            }
        }
        // Query frames in the span that could have matched: matched ones, and the others whose
        // time on the line has a usable known frame nearby: within half an offset bin, or one
        // and a half of the known video's sampling intervals when that is closer (where the
        // known video is too dark or blank to use, a copy's brighter frames there are not
        // misses).
        let known_times = line.known.usable_times;
        let near = line
            .known
            .step()
            .map_or(tol / 2.0, |s| (1.5 * s).min(tol / 2.0));
        let near_known = |t: f64| {
            let at = known_times.partition_point(|&k| k < t);
            let tol = near;
            known_times.is_empty()
                || known_times.get(at).is_some_and(|&k| k - t <= tol)
                || at > 0 && t - known_times[at - 1] <= tol
        };
        let matched_set: std::collections::HashSet<usize> = best_run.iter().map(|m| m.0).collect();
        let usable_in_span = query_frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.timestamp >= first.timestamp && f.timestamp <= last.timestamp)
            .filter(|&(qi, f)| matched_set.contains(&qi) || near_known(rate * f.timestamp + offset))
            .count();
        let density = best_run.len() as f64 / usable_in_span.max(1) as f64;
        let long_enough = span >= self.min_seconds.min(0.8 * shorter);
        // A video with few sampled frames (a few seconds at one frame per second) cannot show
        // `min_distinct_frames` different pictures: ask for half of its frames, at least two.
        let shorter_frames = query_frames.len().min(line.known.frames);
        let min_distinct = self
            .min_distinct_frames
            .min(shorter_frames.div_ceil(2).max(2));
        let accepted = long_enough
            && shorter_coverage >= self.min_shorter_coverage
            && distinct.len() >= min_distinct
            && density >= tier.min_density
            && best_run.len() >= tier.min_frames;
        accepted.then_some(ClipMatch {
            query_start: first.timestamp,
            query_end: last.timestamp,
            known_start: rate * first.timestamp + offset,
            known_end: rate * last.timestamp + offset,
            offset,
            rate,
            matched_frames: best_run.len(),
            distinct_frames: distinct.len(),
            shorter_coverage,
            radius: tier.radius,
            variant: FrameVariant::Plain,
        })
    }

    /// The frames this rule uses: quality at or above the floor, in time order.
    pub fn usable<'a>(&self, video: &'a VideoHash) -> Vec<&'a FrameHash> {
        let mut v: Vec<&FrameHash> = video
            .frames
            .iter()
            .filter(|f| f.quality >= self.quality_floor)
            .collect();
        v.sort_by(|a, b| a.timestamp.total_cmp(&b.timestamp));
        v
    }
}

/// The known video's sampling interval must be at most this (seconds) for its dark stretches
/// to be checked ([`rest_is_dark`]): sparser samples could miss a bright moment.
const DARK_CHECK_MAX_STEP: f64 = 0.25;

/// Whether, on the line, everything of the query outside the segment `[first, last]` (query
/// seconds) is dark on both sides: the query has no usable frame there, and its time maps
/// inside the known video onto no usable known frame (beyond one and a half sampling intervals
/// from the segment's ends). A short excerpt of a scene that fades to black then shows a few
/// moving frames and darkness; a shared title card followed by different content does not pass
/// (its content is usable on one side), nor does a copy extending past the known video.
fn rest_is_dark(line: &LineInput<'_>, first: f64, last: f64, offset: f64) -> bool {
    let known = line.known;
    let (Some(step), Some(&known_first), Some(&known_last)) = (
        known.step(),
        known.all_times.first(),
        known.all_times.last(),
    ) else {
        return false;
    };
    let query = line.query_frames;
    let inside = |f: &&FrameHash| (first..=last).contains(&f.timestamp);
    if step > DARK_CHECK_MAX_STEP || !query.iter().all(inside) {
        return false;
    }
    let at = |t: f64| line.rate * t + offset;
    let (start, end) = (at(0.0), at(line.query_duration));
    if start < known_first - step || end > known_last + step {
        return false;
    }
    let margin = 1.5 * step;
    let (segment_start, segment_end) = (at(first) - margin, at(last) + margin);
    known
        .usable_times
        .iter()
        .all(|&t| !((start..segment_start).contains(&t) || (t > segment_end && t <= end)))
}

/// What one rate's vote needs besides the pairs.
struct LineInput<'a> {
    query_frames: &'a [&'a FrameHash],
    query_duration: f64,
    known: &'a KnownSide<'a>,
    rate: f64,
}

/// What the decision needs of the known video.
struct KnownSide<'a> {
    duration: f64,
    /// Its usable frames.
    frames: usize,
    /// Timestamps of its usable frames, in order (empty when not at hand: then every query
    /// frame in a segment counts for its density).
    usable_times: &'a [f64],
    /// Timestamps of all its sampled frames, usable or not, in order (empty when not at hand:
    /// then a dark stretch cannot be checked, [`ClipRule::rest_is_dark`]).
    all_times: &'a [f64],
}

impl KnownSide<'_> {
    /// The known video's sampling interval: the median gap between its sampled frames (`None`
    /// when fewer than two are at hand).
    fn step(&self) -> Option<f64> {
        let mut gaps: Vec<f64> = self
            .all_times
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|g| *g > 0.0)
            .collect();
        if gaps.is_empty() {
            return None;
        }
        let mid = gaps.len() / 2;
        Some(*gaps.select_nth_unstable_by(mid, f64::total_cmp).1)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::hashes::Pdq;

    /// A pseudo-random code per `seed` (also used by the engine's video tests).
    pub(crate) fn code(seed: u64) -> Pdq {
        let mut x = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        Pdq([next(), next(), next(), next()])
    }

    /// `c` with `bits` bits flipped, spread over its words (also used by the index's and the
    /// engine's video tests).
    pub(crate) fn flipped_spread(mut c: Pdq, bits: usize, salt: usize) -> Pdq {
        for b in 0..bits {
            let at = (b * 37 + salt * 11) % 256;
            c.0[at / 64] ^= 1 << (at % 64);
        }
        c
    }

    /// A video of `codes`, `codes[i]` at second `i`, quality 90 (also used by the engine's
    /// video tests).
    pub(crate) fn video(codes: &[Pdq]) -> VideoHash {
        VideoHash {
            frames: codes
                .iter()
                .enumerate()
                .map(|(i, &pdq)| FrameHash {
                    frame_number: i as u64,
                    quality: 90,
                    pdq,
                    timestamp: i as f64,
                })
                .collect(),
        }
    }

    #[test]
    fn intro_and_outro_added_still_match_with_the_offset() {
        let known: Vec<Pdq> = (0..60).map(code).collect();
        let mut query: Vec<Pdq> = (1000..1010).map(code).collect();
        query.extend(&known);
        query.extend((2000..2010).map(code));
        let m = ClipRule::default()
            .align(&video(&query), &video(&known))
            .unwrap();
        assert_eq!((m.query_start, m.query_end, m.offset), (10.0, 69.0, -10.0));
        assert_eq!(m.shorter_coverage, 1.0);
    }

    #[test]
    fn a_shared_intro_card_or_short_shared_intro_never_matches() {
        let card = code(7);
        // 8 seconds of the same card, then different content.
        let a: Vec<Pdq> = std::iter::repeat_n(card, 8)
            .chain((100..160).map(code))
            .collect();
        let b: Vec<Pdq> = std::iter::repeat_n(card, 8)
            .chain((500..560).map(code))
            .collect();
        assert_eq!(ClipRule::default().align(&video(&a), &video(&b)), None);
        // A 6-second moving intro shared by two 60-second videos covers a tenth of them.
        let a: Vec<Pdq> = (0..6).map(code).chain((100..154).map(code)).collect();
        let b: Vec<Pdq> = (0..6).map(code).chain((500..554).map(code)).collect();
        assert_eq!(ClipRule::default().align(&video(&a), &video(&b)), None);
    }

    #[test]
    fn scattered_coincidences_at_different_offsets_never_match() {
        // Ten query frames each equal to a known frame, at ten different offsets.
        let known: Vec<Pdq> = (0..100).map(code).collect();
        let query: Vec<Pdq> = (0..40)
            .map(|i| {
                if i % 4 == 0 {
                    code((i * 7 + 13) % 100)
                } else {
                    code(5000 + i)
                }
            })
            .collect();
        assert_eq!(
            ClipRule::default().align(&video(&query), &video(&known)),
            None
        );
    }

    #[test]
    fn short_videos_need_half_their_frames_distinct() {
        // A 4-second clip at one frame per second and its re-upload match.
        let codes: Vec<Pdq> = (40..44).map(code).collect();
        let m = ClipRule::default()
            .align(&video(&codes), &video(&codes))
            .unwrap();
        assert_eq!(m.distinct_frames, 4);
        // Two short videos that are one static card each never do, nor does a card plus one
        // shared frame against a long video.
        let card = vec![code(1); 4];
        assert_eq!(
            ClipRule::default().align(&video(&card), &video(&card)),
            None
        );
        let long: Vec<Pdq> = (0..60).map(code).collect();
        let mut short = vec![code(1); 3];
        short.push(code(30));
        assert_eq!(
            ClipRule::default().align(&video(&short), &video(&long)),
            None
        );
    }

    #[test]
    fn low_quality_frames_are_ignored() {
        let codes: Vec<Pdq> = (0..30).map(code).collect();
        let mut dark = video(&codes);
        dark.frames.iter_mut().for_each(|f| f.quality = 10);
        assert_eq!(ClipRule::default().align(&dark, &dark), None);
        let v = video(&codes);
        assert!(ClipRule::default().align(&v, &v).is_some());
    }

    /// `code` with its first `bits` bits flipped.
    fn flipped(code: Pdq, bits: u32) -> Pdq {
        let mut out = code;
        for b in 0..bits as usize {
            out.0[b / 64] ^= 1 << (b % 64);
        }
        out
    }

    fn video_at(codes: &[Pdq], step: f64) -> VideoHash {
        let mut v = video(codes);
        v.frames
            .iter_mut()
            .for_each(|f| f.timestamp = f.frame_number as f64 * step);
        v
    }

    #[test]
    fn a_sped_up_copy_matches_on_its_rate() {
        // Known: 60 s at 4 codes a second; the query plays it 1.25 times faster, sampled once a
        // second, so query second i shows known second 1.25 i (known code 5 i).
        let known_codes: Vec<Pdq> = (0..240).map(code).collect();
        let known = video_at(&known_codes, 0.25);
        let query_codes: Vec<Pdq> = (0..48).map(|i| known_codes[5 * i]).collect();
        let query = video(&query_codes);
        let m = ClipRule::default().align(&query, &known).unwrap();
        assert_eq!((m.rate, m.query_start, m.query_end), (1.25, 0.0, 47.0));
        assert!(m.offset.abs() < 1e-9 && (m.known_end - 58.75).abs() < 1e-9);
        // At one rate only, the drifting offset leaves too short a run.
        let one_rate = ClipRule {
            rates: [1.0; 5],
            ..ClipRule::default()
        };
        assert_eq!(one_rate.align(&query, &known), None);
    }

    #[test]
    fn query_frames_against_unusable_known_frames_do_not_count_against_density() {
        // 10 s at ten frames a second; the copy's codes are 44 bits off (an overlay: run tier).
        // Its frames 3.5-6.5 s do not match: in the known video they are dark (quality 10),
        // which a brighter copy's frames are not. Those within one and a half sampling
        // intervals (0.15 s) of a usable known frame still count: 69 matched of 71.
        let known_codes: Vec<Pdq> = (0..100).map(code).collect();
        let dark = |i: usize| (35..=65).contains(&i);
        let query_codes: Vec<Pdq> = (0..100)
            .map(|i| {
                if dark(i) {
                    code(7000 + i as u64)
                } else {
                    flipped(known_codes[i], 44)
                }
            })
            .collect();
        let query = video_at(&query_codes, 0.1);
        let mut known = video_at(&known_codes, 0.1);
        known
            .frames
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| dark(*i))
            .for_each(|(_, f)| f.quality = 10);
        let m = ClipRule::default().align(&query, &known).unwrap();
        assert_eq!((m.radius, m.matched_frames), (56, 69));
        // Where the known frames are usable, the same unmatched stretch is a gap in the run:
        // 69 of 100 frames is under the run tier's density.
        let bright = video_at(&known_codes, 0.1);
        assert_eq!(ClipRule::default().align(&query, &bright), None);
    }

    #[test]
    fn the_run_tier_needs_a_dense_run_on_one_line() {
        // Every query frame 44 bits from its known frame (an overlay): the run tier accepts.
        let known: Vec<Pdq> = (0..40).map(code).collect();
        let overlaid: Vec<Pdq> = known.iter().map(|&c| flipped(c, 44)).collect();
        let m = ClipRule::default()
            .align(&video(&overlaid), &video(&known))
            .unwrap();
        assert_eq!((m.radius, m.matched_frames), (56, 40));
        let strict_only = ClipRule {
            run_distance: 0,
            ..ClipRule::default()
        };
        assert_eq!(strict_only.align(&video(&overlaid), &video(&known)), None);
        // Only every third frame close: too sparse for the run tier, and too far for the strict
        // tier.
        let sparse: Vec<Pdq> = (0..40)
            .map(|i| {
                if i % 3 == 0 {
                    overlaid[i]
                } else {
                    code(9000 + i as u64)
                }
            })
            .collect();
        assert_eq!(
            ClipRule::default().align(&video(&sparse), &video(&known)),
            None
        );
    }

    /// `codes[i]` every 0.1 s, with quality 0 where `dark(i)`.
    fn dense(codes: &[Pdq], dark: impl Fn(usize) -> bool) -> VideoHash {
        dense_marked(video_at(codes, 0.1), dark)
    }

    /// `v` with quality 0 at the frames where `dark(i)`.
    fn dense_marked(mut v: VideoHash, dark: impl Fn(usize) -> bool) -> VideoHash {
        for (i, f) in v.frames.iter_mut().enumerate() {
            if dark(i) {
                f.quality = 0;
            }
        }
        v
    }

    #[test]
    fn an_excerpt_fading_to_black_matches_where_the_known_video_is_dark_too() {
        // Known: 4 s at ten frames a second, moving content until 1.3 s, dark until 3 s. The
        // query is 1.0-2.9 s of it: three moving frames, then darkness.
        let known_codes: Vec<Pdq> = (0..40).map(code).collect();
        let known_dark = |i: usize| (13..30).contains(&i);
        let known = dense(&known_codes, known_dark);
        let query = dense(&known_codes[10..30], |i| i >= 3);
        let m = ClipRule::default().align(&query, &known).unwrap();
        assert_eq!((m.matched_frames, m.shorter_coverage), (3, 1.0));
        assert!((m.offset - 1.0).abs() < 1e-9);
        // Where the known video shows content instead of the darkness, the same three frames
        // are a sliver of the query's time: no match.
        let bright = dense(&known_codes, |_| false);
        assert_eq!(ClipRule::default().align(&query, &bright), None);
        // A query running past the known video's end is not explained by it.
        let past: Vec<Pdq> = known_codes[10..40]
            .iter()
            .copied()
            .chain((500..520).map(code))
            .collect();
        let past = dense(&past, |i| i >= 3);
        assert_eq!(ClipRule::default().align(&past, &known), None);
        // A static card then darkness is one picture: no match.
        let card = dense(&[known_codes[10]; 20], |i| i >= 3);
        let card_known: Vec<Pdq> = std::iter::repeat_n(known_codes[10], 13)
            .chain((13..40).map(code))
            .collect();
        assert_eq!(
            ClipRule::default().align(&card, &dense(&card_known, known_dark)),
            None
        );
        // The same excerpt against a known video sampled every 0.2 s matches; every 0.3 s, its
        // samples are too sparse to show that it is dark in between.
        let at_step = |step: f64| {
            let known = video_at(&known_codes[..20], step);
            let known = dense_marked(known, |i| (7..15).contains(&i));
            let query = dense_marked(video_at(&known_codes[5..15], step), |i| i >= 2);
            ClipRule::default().align(&query, &known)
        };
        assert!(at_step(0.2).is_some());
        assert_eq!(at_step(0.3), None);
    }
}
