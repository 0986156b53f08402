//! `VideoIndex` throughput: one 10-minute query video (600 frame codes at one a second) against N
//! indexed videos of 60 seconds at one frame a second (60 codes each).
//!
//! Two kinds of codes (the query's excerpt must be found; any other video matched is reported,
//! and with realistic codes it must be the same footage as the query: at least 10 of the same
//! source frames under another mask, else the example fails):
//! - **uniform** (the default): random 256-bit codes; the query embeds a 60-second excerpt of one
//!   indexed video with 8 bits of noise per frame. Kind to the index: unrelated codes are about
//!   128 bits apart, so multi-index hashing finds almost no candidates.
//! - **realistic** (`--realistic`): codes clustered and correlated as real frame codes are. Every
//!   video walks through consecutive frames (one a second) of a real frame-code sequence: Meta's
//!   sample vPDQ files (`../shared/testdata/video/vpdq/*.txt` at coded size: every frame of 14
//!   sample videos of four scenes, 5,872 codes) when present, else random walks (each second flips 12 bits of
//!   the last code). Each video starts at a random frame and XORs its own mask of 32 random bits,
//!   so videos derived from the same scene sit about 56 bits apart (near, not within, 31) and
//!   consecutive frames of a video sit close together. The query walks another sequence under its
//!   own mask, with 8 bits of noise per frame, and embeds one indexed video at seconds 200..260.
//!
//! Run: `cargo run --release --example video_index_throughput -- 100000 [--realistic]` (N
//! videos; default 10,000; 100,000 is 6M codes and needs about 2 GB). `--strict-only` drops the
//! run tier (and with it the wide search), `--no-wide` the wide candidate search alone.

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

/// `code` with `bits` random bit positions flipped (a position may repeat).
fn noisy(rng: &mut Rng, mut code: Pdq, bits: u32) -> Pdq {
    for _ in 0..bits {
        let b = (rng.next() % 256) as usize;
        code.0[b / 64] ^= 1 << (b % 64);
    }
    code
}

/// Real frame-code sequences: every frame of the sample vPDQ files, one sequence per file, or
/// `None` when `../shared` is absent.
fn sample_sequences() -> Option<Vec<Vec<Pdq>>> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/video/vpdq");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "txt") && !p.to_string_lossy().contains("128x128")
        })
        .collect();
    names.sort();
    let sequences: Vec<Vec<Pdq>> = names
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            let hash = VideoHash::parse_reference(&text).ok()?;
            Some(hash.frames.iter().map(|f| f.pdq).collect())
        })
        .filter(|s: &Vec<Pdq>| s.len() >= 30)
        .collect();
    (!sequences.is_empty()).then_some(sequences)
}

/// `len` codes one second apart from a real sequence (30 frames a second, wrapping around,
/// starting at a random frame), each XORed with `mask`; or a random walk without samples.
/// Beside the codes, the source frame of each (sequence, frame number; none for random walks),
/// so a match can be told apart as the same footage under another mask.
fn walk(
    rng: &mut Rng,
    sequences: Option<&[Vec<Pdq>]>,
    mask: Pdq,
    len: usize,
) -> (Vec<Pdq>, Vec<(usize, usize)>) {
    let xor = |a: Pdq| {
        Pdq([
            a.0[0] ^ mask.0[0],
            a.0[1] ^ mask.0[1],
            a.0[2] ^ mask.0[2],
            a.0[3] ^ mask.0[3],
        ])
    };
    match sequences {
        Some(seqs) => {
            let which = (rng.next() % seqs.len() as u64) as usize;
            let seq = &seqs[which];
            let start = (rng.next() % seq.len() as u64) as usize;
            let sources: Vec<(usize, usize)> = (0..len)
                .map(|i| (which, (start + 30 * i) % seq.len()))
                .collect();
            (sources.iter().map(|&(_, f)| xor(seq[f])).collect(), sources)
        }
        None => {
            let mut c = rng.code();
            let codes = (0..len)
                .map(|_| {
                    c = noisy(rng, c, 12);
                    xor(c)
                })
                .collect();
            (codes, Vec::new())
        }
    }
}

/// CPU seconds of this process, all threads (utime + stime from /proc/self/stat, 10 ms ticks;
/// 0 where /proc is absent): steadier than wall time on a loaded machine.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let realistic = args.iter().any(|a| a == "--realistic");
    let n: usize = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(|a| a.replace('_', "").parse().expect("N is a number"))
        .unwrap_or(10_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sequences = if realistic { sample_sequences() } else { None };
    let kind = match (realistic, &sequences) {
        (false, _) => "uniform random codes".to_owned(),
        (true, Some(s)) => format!(
            "realistic codes: walks through {} sample vPDQ sequences ({} codes), 32-bit mask per video",
            s.len(),
            s.iter().map(Vec::len).sum::<usize>()
        ),
        (true, None) => {
            "realistic codes: random walks (12 bits a second; ../shared absent), 32-bit mask per video"
                .to_owned()
        }
    };
    let mut known_sources: Vec<Vec<(usize, usize)>> = Vec::with_capacity(n);
    let known: Vec<VideoHash> = (0..n)
        .map(|_| {
            if realistic {
                let mask = noisy(&mut rng, Pdq([0; 4]), 32);
                let (codes, sources) = walk(&mut rng, sequences.as_deref(), mask, 60);
                known_sources.push(sources);
                video(codes)
            } else {
                known_sources.push(Vec::new());
                video((0..60).map(|_| rng.code()))
            }
        })
        .collect();
    let t = Instant::now();
    let mut index = VideoIndex::build(&known);
    // `--no-wide`: without the wide candidate search, for a same-run baseline.
    let wide = !args.iter().any(|a| a == "--no-wide");
    index.set_wide_search(wide);
    let build = t.elapsed().as_secs_f64();

    // The query: 600 frames (random, or a masked walk with 8 bits of noise per frame) with
    // seconds 200..260 replaced by known video n/2, each frame with 8 bits flipped (a
    // re-encode).
    let target = n / 2;
    let (mut codes, query_sources): (Vec<Pdq>, Vec<(usize, usize)>) = if realistic {
        let mask = noisy(&mut rng, Pdq([0; 4]), 32);
        let (codes, sources) = walk(&mut rng, sequences.as_deref(), mask, 600);
        let codes = codes.into_iter().map(|c| noisy(&mut rng, c, 8)).collect();
        (codes, sources)
    } else {
        ((0..600).map(|_| rng.code()).collect(), Vec::new())
    };
    for (i, frame) in known[target].frames.iter().enumerate() {
        codes[200 + i] = noisy(&mut rng, frame.pdq, 8);
    }
    let query = video(codes);
    // `--strict-only`: the strict tier alone (no run tier on candidates), for a same-run baseline.
    let rule = if args.iter().any(|a| a == "--strict-only") {
        ClipRule {
            run_distance: 0,
            ..ClipRule::default()
        }
    } else {
        ClipRule::default()
    };
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut hits = Vec::new();
    for _ in 0..5 {
        let (t, c) = (Instant::now(), cpu_seconds());
        hits = index.query(&query, &rule);
        times.push(t.elapsed().as_secs_f64());
        cpu_times.push(cpu_seconds() - c);
    }
    times.sort_by(f64::total_cmp);
    cpu_times.sort_by(f64::total_cmp);
    let found = hits
        .iter()
        .find(|h| h.0 == target)
        .unwrap_or_else(|| panic!("the embedded video is found: {hits:?}"));
    let others: Vec<usize> = hits.iter().map(|h| h.0).filter(|&v| v != target).collect();
    // Another video that samples at least 10 of the same source frames as the query (outside
    // the embedded excerpt) is the same footage under another mask, about 56 bits away: a copy
    // by construction, not an unrelated video.
    let outside_excerpt: std::collections::HashSet<(usize, usize)> = query_sources
        .iter()
        .enumerate()
        .filter(|&(i, _)| !(200..260).contains(&i))
        .map(|(_, &s)| s)
        .collect();
    let same_footage = others
        .iter()
        .filter(|&&v| {
            known_sources[v]
                .iter()
                .filter(|s| outside_excerpt.contains(s))
                .count()
                >= 10
        })
        .count();
    if !realistic {
        assert!(
            others.is_empty(),
            "only the embedded video matches: {hits:?}"
        );
    }
    let realistic_flag = if realistic { " --realistic" } else { "" };
    let strict_flag = if rule.run_distance == 0 {
        " --strict-only"
    } else {
        ""
    };
    let wide_flag = if wide { "" } else { " --no-wide" };
    println!(
        "command: cargo run --release --example video_index_throughput -- {n}{realistic_flag}{strict_flag}{wide_flag}\n\
         {kind}\n\
         {n} videos x 60 codes = {} codes indexed in {build:.2} s; query of 600 codes at radius {}: \
         median {:.1} ms (min {:.1}, max {:.1}, 5 runs; CPU median {:.0} ms, all threads) = {:.0} \
         query codes/s; found video {} at \
         query {:.0}-{:.0} s = known {:.0}-{:.0} s; other videos matched: {} ({} of them the same \
         footage as the query under another mask)",
        index.frame_count(),
        rule.distance,
        times[2] * 1e3,
        times[0] * 1e3,
        times[4] * 1e3,
        cpu_times[2] * 1e3,
        600.0 / times[2],
        found.0,
        found.1.query_start,
        found.1.query_end,
        found.1.known_start,
        found.1.known_end,
        others.len(),
        same_footage,
    );
    assert_eq!(
        same_footage,
        others.len(),
        "a video unrelated to the query matched: {hits:?}"
    );
}
