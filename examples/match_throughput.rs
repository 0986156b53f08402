//! Radius-query throughput of the Hamming index on synthetic PDQ-like data.
//!
//! Builds an index of `--n` codes shaped like real hash sets (families of near-duplicates around
//! random centres, not uniform random codes), runs `--queries` radius queries (half near a
//! stored code, so with true matches, half uniform random) on `--threads` threads, checks recall
//! against a brute-force scan on a sample, and prints one JSON line:
//! `{"n":..,"queries":..,"radius":..,"threads":..,"qps":..,"recall":..,"build_s":..,"bytes_per_code":..}`.
//!
//! `--dump DIR` also writes the codes and queries for `benches/peers/index_peers.py` (FAISS on
//! the same data).
//!
//! ```text
//! cargo run --release --example match_throughput -- --n 1000000 --queries 20000 --radius 31 --threads 2
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use rayon::prelude::*;
use referral_dedup::hashes::{EntryId, Hash64, Pdq};
use referral_dedup::index::{Code, HammingConfig, HammingIndex, Layout};

#[allow(dead_code)]
#[path = "../tests/support/splitmix.rs"]
mod splitmix;
use splitmix::SplitMix;

#[derive(Parser, Debug)]
#[command(about = "Radius-query throughput of the Hamming index")]
struct Args {
    /// Number of stored codes.
    #[arg(long, default_value_t = 1_000_000)]
    n: usize,
    /// Number of timed queries.
    #[arg(long, default_value_t = 10_000)]
    queries: usize,
    /// Query radius (at most this many differing bits).
    #[arg(long, default_value_t = 31)]
    radius: u32,
    /// Query threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Code length: 256 (PDQ) or 64 (dHash/pHash).
    #[arg(long, default_value_t = 256)]
    bits: u32,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Queries checked against a brute-force scan for recall.
    #[arg(long, default_value_t = 200)]
    recall_sample: usize,
    /// Force a table layout `TABLESxBITS` (for example `12x20`) instead of the cost model's.
    #[arg(long)]
    layout: Option<String>,
    /// Write `codes.bin`, `queries.bin` and `meta.json` here for the FAISS comparison.
    #[arg(long)]
    dump: Option<PathBuf>,
}

fn random_code<C: Code>(rng: &mut SplitMix) -> C {
    let words: Vec<u64> = (0..C::BITS / 64).map(|_| rng.next()).collect();
    C::from_words(&words)
}

fn flip_bits<C: Code>(code: &C, flips: u32, rng: &mut SplitMix) -> C {
    let mut words: Vec<u64> = (0..(C::BITS / 64) as usize).map(|k| code.word(k)).collect();
    let mut done = 0;
    while done < flips {
        let bit = rng.below(u64::from(C::BITS)) as usize;
        let mask = 1u64 << (bit % 64);
        // Distinct positions, so the distance is exactly `flips`.
        let seen = words[bit / 64] & mask != code.word(bit / 64) & mask;
        if !seen {
            words[bit / 64] ^= mask;
            done += 1;
        }
    }
    C::from_words(&words)
}

/// Families of near-duplicates: a random centre and 1..=9 members (5 on average) each within
/// `spread` bits of it (spread is 40 of 256 bits, scaled for shorter codes).
fn clustered_codes<C: Code>(n: usize, rng: &mut SplitMix) -> Vec<C> {
    let spread = u64::from(40 * C::BITS / 256);
    let mut codes = Vec::with_capacity(n);
    while codes.len() < n {
        let centre: C = random_code(rng);
        let members = 1 + rng.below(9);
        for _ in 0..members {
            let flips = rng.below(spread + 1) as u32;
            codes.push(flip_bits(&centre, flips, rng));
        }
    }
    codes.truncate(n);
    codes
}

fn write_codes<C: Code>(path: &std::path::Path, codes: &[C]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for c in codes {
        for k in 0..(C::BITS / 64) as usize {
            out.write_all(&c.word(k).to_le_bytes())?;
        }
    }
    out.flush()
}

/// CPU seconds used by this process so far (user + system), from `/proc/self/stat` (Linux,
/// where USER_HZ is 100); `None` elsewhere. On a shared machine, queries per CPU-second are
/// steadier than queries per wall-clock second.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn run<C: Code>(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = SplitMix(args.seed);
    let codes: Vec<C> = clustered_codes(args.n, &mut rng);
    let queries: Vec<C> = (0..args.queries)
        .map(|i| {
            if i % 2 == 0 {
                let stored = codes[rng.below(codes.len() as u64) as usize];
                let flips = rng.below(u64::from(args.radius.min(C::BITS)) + 1) as u32;
                flip_bits(&stored, flips, &mut rng)
            } else {
                random_code(&mut rng)
            }
        })
        .collect();

    let force_layout = match &args.layout {
        Some(text) => {
            let (m, b) = text.split_once('x').ok_or("--layout is TABLESxBITS")?;
            Some(Layout {
                tables: m.parse()?,
                bits: b.parse()?,
            })
        }
        None => None,
    };
    let cfg = HammingConfig {
        force_layout,
        ..HammingConfig::default()
    };
    let start = Instant::now();
    let index = HammingIndex::build_with_config(
        codes
            .iter()
            .enumerate()
            .map(|(i, c)| (EntryId(i as u32), *c)),
        cfg,
    );
    let build_s = start.elapsed().as_secs_f64();
    let bytes_per_code = index.memory_bytes() as f64 / args.n.max(1) as f64;
    eprintln!("layouts (codes, layout): {:?}", index.layouts());

    // Timed queries on `threads` threads, each taking every `threads`-th query.
    let threads = args.threads.max(1);
    let cpu_before = process_cpu_seconds();
    let start = Instant::now();
    let total_hits: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let index = &index;
                let queries = &queries;
                let radius = args.radius;
                s.spawn(move || {
                    queries
                        .iter()
                        .skip(t)
                        .step_by(threads)
                        .map(|q| index.range(q, radius).len())
                        .sum::<usize>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let qps = args.queries as f64 / elapsed;
    let cpu = process_cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    eprintln!(
        "{total_hits} hits in {elapsed:.3} s wall, {} CPU s ({} queries per CPU-second)",
        cpu.map_or("?".into(), |c| format!("{c:.2}")),
        cpu.map_or("?".into(), |c| format!("{:.0}", args.queries as f64 / c)),
    );

    // Recall (and exactness) against a brute-force scan on a sample of the queries.
    let sample: Vec<&C> = queries
        .iter()
        .step_by((args.queries / args.recall_sample.max(1)).max(1))
        .take(args.recall_sample)
        .collect();
    let (expected, found, extra) = sample
        .par_iter()
        .map(|q| {
            let truth: Vec<(u32, u32)> = codes
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let d = c.distance(q);
                    (d <= args.radius).then_some((i as u32, d))
                })
                .collect();
            let got: Vec<(u32, u32)> = index
                .range(q, args.radius)
                .iter()
                .map(|h| (h.id.0, h.distance))
                .collect();
            let found = truth.iter().filter(|t| got.contains(t)).count();
            (truth.len(), found, got.len() - found)
        })
        .reduce(|| (0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    let recall = if expected == 0 {
        1.0
    } else {
        found as f64 / expected as f64
    };
    eprintln!(
        "recall sample: {} queries, {expected} true pairs, {found} found, {extra} wrong",
        sample.len()
    );
    if extra > 0 {
        return Err(format!("{extra} hits outside the radius").into());
    }

    if let Some(dir) = &args.dump {
        std::fs::create_dir_all(dir)?;
        write_codes(&dir.join("codes.bin"), &codes)?;
        write_codes(&dir.join("queries.bin"), &queries)?;
        // Hits per query (untimed), so the peer script can compare counts on its subset.
        let hits_per_query: Vec<usize> = queries
            .par_iter()
            .map(|q| index.range(q, args.radius).len())
            .collect();
        let meta = serde_json::json!({
            "n": args.n, "queries": args.queries, "radius": args.radius, "bits": C::BITS,
            "threads": threads, "total_hits": total_hits, "qps": qps,
            "hits_per_query": hits_per_query,
        });
        std::fs::write(dir.join("meta.json"), meta.to_string())?;
        eprintln!("dumped codes and queries to {}", dir.display());
    }

    // Keys in the documented order (serde_json would sort them).
    let line = format!(
        "{{\"n\":{},\"queries\":{},\"radius\":{},\"threads\":{},\"qps\":{:.1},\"recall\":{:.4},\"build_s\":{:.3},\"bytes_per_code\":{:.1}}}",
        args.n, args.queries, args.radius, threads, qps, recall, build_s, bytes_per_code
    );
    println!("{line}");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    match args.bits {
        256 => run::<Pdq>(&args),
        64 => run::<Hash64>(&args),
        other => Err(format!("--bits must be 256 or 64, not {other}").into()),
    }
}
