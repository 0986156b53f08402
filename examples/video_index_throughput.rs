//! `VideoIndex` throughput: one 10-minute query video (600 frame codes at one a second) against N
//! indexed videos of 60 seconds at one frame a second (60 codes each).
//!
//! The codes are synthetic (random 256-bit codes; the query embeds a 60-second excerpt of one
//! indexed video with a few bits of noise per frame), so the figures measure the index and the
//! alignment, not hashing. The query's excerpt must be found, and nothing else.
//!
//! Run: `cargo run --release --example video_index_throughput -- 100000` (N videos; default
//! 10,000; 100,000 is 6M codes and needs about 2 GB).

use std::time::Instant;

use referral_dedup::hashes::Pdq;
use referral_dedup::video::{ClipRule, FrameHash, VideoHash, VideoIndex};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn code(&mut self) -> Pdq {
        Pdq([self.next(), self.next(), self.next(), self.next()])
    }
}

fn video(codes: impl IntoIterator<Item = Pdq>) -> VideoHash {
    VideoHash {
        frames: codes
            .into_iter()
            .enumerate()
            .map(|(i, pdq)| FrameHash {
                frame_number: i as u64,
                quality: 90,
                pdq,
                timestamp: i as f64,
            })
            .collect(),
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.replace('_', "").parse().expect("N is a number"))
        .unwrap_or(10_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let known: Vec<VideoHash> = (0..n).map(|_| video((0..60).map(|_| rng.code()))).collect();
    let t = Instant::now();
    let index = VideoIndex::build(&known);
    let build = t.elapsed().as_secs_f64();

    // The query: 600 random frames with seconds 200..260 replaced by known video n/2, each frame
    // with 8 bits flipped (a re-encode).
    let target = n / 2;
    let mut codes: Vec<Pdq> = (0..600).map(|_| rng.code()).collect();
    for (i, frame) in known[target].frames.iter().enumerate() {
        let mut c = frame.pdq;
        for b in 0..8 {
            c.0[b % 4] ^= 1 << (rng.next() % 64);
        }
        codes[200 + i] = c;
    }
    let query = video(codes);
    let rule = ClipRule::default();
    let mut times = Vec::new();
    let mut hits = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        hits = index.query(&query, &rule);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    assert_eq!(hits.len(), 1, "only the embedded video matches: {hits:?}");
    assert_eq!(hits[0].0, target);
    println!(
        "command: cargo run --release --example video_index_throughput -- {n}\n\
         {n} videos x 60 codes = {} codes indexed in {build:.2} s; query of 600 codes at radius {}: \
         median {:.1} ms (min {:.1}, max {:.1}, 5 runs) = {:.0} query codes/s; found video {} at \
         query {:.0}-{:.0} s = known {:.0}-{:.0} s",
        index.frame_count(),
        rule.distance,
        times[2] * 1e3,
        times[0] * 1e3,
        times[4] * 1e3,
        600.0 / times[2],
        hits[0].0,
        hits[0].1.query_start,
        hits[0].1.query_end,
        hits[0].1.known_start,
        hits[0].1.known_end,
    );
}
