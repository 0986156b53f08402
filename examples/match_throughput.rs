//! Radius-query throughput of the Hamming index on synthetic PDQ-like data.
//!
//! Builds an index of `--n` codes shaped like real hash sets (families of near-duplicates around
//! random centres, not uniform random codes), runs `--queries` radius queries (half near a
//! stored code, so with true matches, half uniform random) on `--threads` threads, checks recall
//! against a brute-force scan on a sample, and prints one JSON line:
//! `{"n":..,"queries":..,"radius":..,"threads":..,"qps":..,"recall":..,"build_s":..,"bytes_per_code":..,...}`.
//!
//! - `qps` is [`HammingIndex::range_batch`] over all queries (in calls of `--batch-size`
//!   queries) on a pool of `--threads` threads; `qps_single` is one [`HammingIndex::range`]
//!   call per query, `--threads` threads each taking every `threads`-th query, and
//!   `single_latency_us` the mean time of one such call.
//! - `qps_per_cpu_s` and `single_per_cpu_s` divide the same query counts by the process's CPU
//!   seconds instead (steadier than wall time on a shared machine).
//! - `batch_s_max` is the slowest `range_batch` call (a video of 600 frames is one call of 600).
//! - `candidates_per_query` and `random_reads_per_query` ([`HammingIndex::search_work`]) count
//!   the codes verified and the reads at random addresses (bucket reads plus candidates, each
//!   about one DRAM miss at this size) per query.
//! - `peak_rss_mb` is the process's peak resident memory after the build (`VmHWM`), the codes
//!   being generated on the fly rather than held by the example.
//!
//! `--dump DIR` also writes the codes and queries for `benches/peers/index_peers.py` (FAISS on
//! the same data); `benches/peers/index_compare.sh` runs both and prints the ratios.
//! `--index-file PATH` writes the built index there, or loads it when the file exists (then
//! `build_s` is the load time: tables are read, not rebuilt).
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
    /// Queries checked against a brute-force scan for recall (0: skip).
    #[arg(long, default_value_t = 200)]
    recall_sample: usize,
    /// Queries per `range_batch` call (0: all in one call).
    #[arg(long, default_value_t = 0)]
    batch_size: usize,
    /// Queries timed one call each (`qps_single`); 0 skips the single-query run.
    #[arg(long, default_value_t = 2_000)]
    single_queries: usize,
    /// Force a table layout `TABLESxBITS` (for example `12x20`) instead of the cost model's.
    #[arg(long)]
    layout: Option<String>,
    /// Force the low substring bits kept inline in the table entries.
    #[arg(long)]
    inline_bits: Option<u32>,
    /// `HammingConfig::join_min_queries` (batch calls of at least this many queries use the
    /// joined search; 0 never); default: the library's.
    #[arg(long)]
    join_min: Option<usize>,
    /// Write `codes.bin`, `queries.bin` and `meta.json` here for the FAISS comparison.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Load the index from this file when it exists (timed against nothing: the load replaces
    /// the build), else build it and write it there (`HammingIndex::write_to`, timed).
    #[arg(long)]
    index_file: Option<PathBuf>,
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
/// `spread` bits of it (spread is 40 of 256 bits, scaled for shorter codes). Generated on the
/// fly, so the example never holds the codes itself (the same seed gives the same codes).
struct Clustered<C> {
    rng: SplitMix,
    centre: Option<C>,
    members_left: u64,
}

fn clustered<C: Code>(seed: u64) -> Clustered<C> {
    Clustered {
        rng: SplitMix(seed),
        centre: None,
        members_left: 0,
    }
}

impl<C: Code> Iterator for Clustered<C> {
    type Item = C;
    fn next(&mut self) -> Option<C> {
        let spread = u64::from(40 * C::BITS / 256);
        if self.members_left == 0 || self.centre.is_none() {
            self.centre = Some(random_code(&mut self.rng));
            self.members_left = 1 + self.rng.below(9);
        }
        self.members_left -= 1;
        let centre = self.centre?;
        let flips = self.rng.below(spread + 1) as u32;
        Some(flip_bits(&centre, flips, &mut self.rng))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None) // endless: `take(n)` then reports exactly n, and the index reserves it
    }
}

/// The queries: even ones a stored code with 0..=radius bits flipped, odd ones uniform random.
fn make_queries<C: Code>(args: &Args) -> Vec<C> {
    let mut rng = SplitMix(args.seed ^ 0x005e_ed0f_9e3e);
    let mut wanted: Vec<(usize, usize)> = (0..args.queries)
        .step_by(2)
        .map(|i| (rng.below(args.n as u64) as usize, i))
        .collect();
    wanted.sort_unstable();
    let mut sources: Vec<(usize, C)> = Vec::with_capacity(wanted.len());
    let mut next = wanted.iter().peekable();
    for (pos, code) in clustered::<C>(args.seed).take(args.n).enumerate() {
        while let Some(&&(p, i)) = next.peek() {
            if p != pos {
                break;
            }
            sources.push((i, code));
            next.next();
        }
        if next.peek().is_none() {
            break;
        }
    }
    sources.sort_unstable_by_key(|s| s.0);
    let mut near = sources.into_iter().map(|s| s.1);
    (0..args.queries)
        .map(|i| {
            if i % 2 == 0 {
                let stored = near.next().unwrap_or_else(|| random_code(&mut rng));
                let flips = rng.below(u64::from(args.radius.min(C::BITS)) + 1) as u32;
                flip_bits(&stored, flips, &mut rng)
            } else {
                random_code(&mut rng)
            }
        })
        .collect()
}

fn write_codes<C: Code>(
    path: &std::path::Path,
    codes: impl Iterator<Item = C>,
) -> std::io::Result<()> {
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

/// Peak resident memory of this process in MiB (`VmHWM`, Linux), 0 elsewhere.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Brute-force recall on `sample`: (true pairs, found, wrong), streaming the codes again.
fn recall<C: Code>(args: &Args, index: &HammingIndex<C>, sample: &[C]) -> (usize, usize, usize) {
    let mut truth: Vec<Vec<(u32, u32)>> = vec![Vec::new(); sample.len()];
    let mut stream = clustered::<C>(args.seed).take(args.n);
    let mut base = 0usize;
    loop {
        let chunk: Vec<C> = stream.by_ref().take(1 << 20).collect();
        if chunk.is_empty() {
            break;
        }
        let found: Vec<Vec<(u32, u32)>> = sample
            .par_iter()
            .map(|q| {
                chunk
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        let d = c.distance(q);
                        (d <= args.radius).then_some(((base + i) as u32, d))
                    })
                    .collect()
            })
            .collect();
        for (t, f) in truth.iter_mut().zip(found) {
            t.extend(f);
        }
        base += chunk.len();
    }
    let got = index.range_batch(sample, args.radius);
    let mut totals = (0, 0, 0);
    for (t, g) in truth.iter().zip(&got) {
        let g: Vec<(u32, u32)> = g.iter().map(|h| (h.id.0, h.distance)).collect();
        let found = t.iter().filter(|x| g.contains(x)).count();
        totals.0 += t.len();
        totals.1 += found;
        totals.2 += g.len() - found;
    }
    totals
}

fn run<C: Code>(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let queries: Vec<C> = make_queries(args);
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
        force_inline_bits: args.inline_bits,
        join_min_queries: args
            .join_min
            .unwrap_or(HammingConfig::default().join_min_queries),
        ..HammingConfig::default()
    };
    let threads = args.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let start = Instant::now();
    let existing = args.index_file.as_ref().filter(|p| p.exists());
    let index = match existing {
        Some(path) => {
            let file = std::fs::File::open(path)?;
            let index = pool.install(|| HammingIndex::read_from(file, cfg))?;
            eprintln!(
                "loaded {} ({:.1} GB) in {:.1} s instead of building",
                path.display(),
                std::fs::metadata(path)?.len() as f64 / 1e9,
                start.elapsed().as_secs_f64()
            );
            index
        }
        None => pool.install(|| {
            HammingIndex::build_with_config(
                clustered::<C>(args.seed)
                    .take(args.n)
                    .enumerate()
                    .map(|(i, c)| (EntryId(i as u32), c)),
                cfg,
            )
        }),
    };
    let build_s = start.elapsed().as_secs_f64();
    if let (Some(path), None) = (&args.index_file, existing) {
        let t = Instant::now();
        index.write_to(std::fs::File::create(path)?)?;
        eprintln!(
            "wrote {} in {:.1} s",
            path.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let peak_mb = peak_rss_mb();
    let bytes_per_code = index.memory_bytes() as f64 / args.n.max(1) as f64;
    let layouts = index.layouts();
    eprintln!(
        "layouts (codes, layout): {layouts:?}; build {build_s:.1} s, peak RSS {peak_mb:.0} MiB"
    );

    // Single queries: `threads` threads, each taking every `threads`-th query.
    let single_n = args.single_queries.min(queries.len());
    let single_cpu_before = process_cpu_seconds();
    let (qps_single, single_latency_us) = if single_n > 0 {
        let start = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                let (index, queries) = (&index, &queries[..single_n]);
                s.spawn(move || {
                    for q in queries.iter().skip(t).step_by(threads) {
                        std::hint::black_box(index.range(q, args.radius));
                    }
                });
            }
        });
        let elapsed = start.elapsed().as_secs_f64();
        (
            single_n as f64 / elapsed,
            elapsed * threads as f64 / single_n as f64 * 1e6,
        )
    } else {
        (0.0, 0.0)
    };
    let single_per_cpu_s = process_cpu_seconds()
        .zip(single_cpu_before)
        .map_or(0.0, |(a, b)| single_n as f64 / (a - b).max(1e-9));

    // Batches on the pool.
    let batch_size = if args.batch_size == 0 {
        queries.len().max(1)
    } else {
        args.batch_size
    };
    let cpu_before = process_cpu_seconds();
    let start = Instant::now();
    let mut batch_s_max = 0f64;
    let mut hits_per_query: Vec<usize> = Vec::with_capacity(queries.len());
    pool.install(|| {
        for batch in queries.chunks(batch_size) {
            let t = Instant::now();
            let hits = index.range_batch(batch, args.radius);
            batch_s_max = batch_s_max.max(t.elapsed().as_secs_f64());
            hits_per_query.extend(hits.iter().map(Vec::len));
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let qps = args.queries as f64 / elapsed;
    let cpu = process_cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    let total_hits: usize = hits_per_query.iter().sum();
    eprintln!(
        "{total_hits} hits in {elapsed:.3} s wall, {} CPU s ({} queries per CPU-second); single queries {qps_single:.0}/s ({single_per_cpu_s:.0} per CPU-second)",
        cpu.map_or("?".into(), |c| format!("{c:.2}")),
        cpu.map_or("?".into(), |c| format!("{:.0}", args.queries as f64 / c)),
    );

    // Work per query on up to 1,000 queries.
    let work_sample = &queries[..queries.len().min(1000)];
    let work = index.search_work(work_sample, args.radius);
    let per = |x: u64| x as f64 / work_sample.len().max(1) as f64;
    eprintln!(
        "per query: {:.0} probes, {:.0} bucket reads, {:.0} entries, {:.0} candidates, {:.0} random reads",
        per(work.probes),
        per(work.bucket_reads),
        per(work.entries),
        per(work.candidates),
        per(work.random_reads()),
    );

    // Recall (and exactness) against a brute-force scan on a sample of the queries.
    let sample: Vec<C> = queries
        .iter()
        .step_by((args.queries / args.recall_sample.max(1)).max(1))
        .take(args.recall_sample)
        .copied()
        .collect();
    let (expected, found, extra) = if sample.is_empty() {
        (0, 0, 0)
    } else {
        pool.install(|| recall(args, &index, &sample))
    };
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

    let layout = layouts
        .first()
        .and_then(|l| l.1)
        .map_or("scan".to_string(), |l| format!("{}x{}", l.tables, l.bits));
    if let Some(dir) = &args.dump {
        std::fs::create_dir_all(dir)?;
        write_codes(
            &dir.join("codes.bin"),
            clustered::<C>(args.seed).take(args.n),
        )?;
        write_codes(&dir.join("queries.bin"), queries.iter().copied())?;
        let meta = serde_json::json!({
            "n": args.n, "queries": args.queries, "radius": args.radius, "bits": C::BITS,
            "threads": threads, "total_hits": total_hits, "qps": qps, "layout": layout,
            "hits_per_query": hits_per_query,
        });
        std::fs::write(dir.join("meta.json"), meta.to_string())?;
        eprintln!("dumped codes and queries to {}", dir.display());
    }

    // Keys in the documented order (serde_json would sort them).
    let line = format!(
        concat!(
            "{{\"n\":{},\"queries\":{},\"radius\":{},\"threads\":{},\"qps\":{:.1},\"recall\":{:.4},",
            "\"build_s\":{:.3},\"bytes_per_code\":{:.1},\"layout\":\"{}\",\"qps_single\":{:.1},",
            "\"single_latency_us\":{:.1},\"batch_size\":{},\"batch_s_max\":{:.4},",
            "\"candidates_per_query\":{:.0},\"random_reads_per_query\":{:.0},\"peak_rss_mb\":{:.0},",
            "\"qps_per_cpu_s\":{:.1},\"single_per_cpu_s\":{:.1}}}"
        ),
        args.n,
        args.queries,
        args.radius,
        threads,
        qps,
        recall,
        build_s,
        bytes_per_code,
        layout,
        qps_single,
        single_latency_us,
        batch_size,
        batch_s_max,
        per(work.candidates),
        per(work.random_reads()),
        peak_mb,
        cpu.map_or(0.0, |c| args.queries as f64 / c.max(1e-9)),
        single_per_cpu_s,
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
