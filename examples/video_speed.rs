//! Hashing cost of one video, one mode at a time, for profiling (`perf record` / `perf stat` on
//! this binary): CPU seconds of this process (user and system apart) and of its children
//! (`ffprobe`, `ffmpeg`), per run, and the same for `ffmpeg` decoding the file to nothing.
//!
//! Run: `cargo run --release --example video_speed -- MODE FILE [RUNS]`, MODE one of `decode`
//! (ffmpeg to null, the baseline of `video_quality --speed-only`), `probe`, `vpdq`, `query`
//! (`fingerprint_file`, as `video_quality` times it), `query-engine` (`fingerprint_query_file`),
//! `known`, `known-dense` (every 0.1 s); `query-json` and `known-json` print the query
//! fingerprint (`fingerprint_query_file`) or the known one (every 0.1 s) as JSON, once, to
//! compare with the fingerprints `video_quality --cache DIR` keeps.

use std::path::Path;
use std::process::Command;

use referral_dedup::video::{
    fingerprint_file, fingerprint_known_file, fingerprint_query_file, probe, vpdq_from_file,
    DecodeLimits, VpdqOptions, KNOWN_SECONDS_PER_HASH,
};

/// (user, system, children user + system) CPU seconds so far, from `/proc/self/stat`.
fn cpu() -> [f64; 3] {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: Vec<f64> = after_name
        .split_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|v| v.parse::<f64>().ok())
        .collect();
    if ticks.len() < 4 {
        return [0.0; 3];
    }
    [
        ticks[0] / 100.0,
        ticks[1] / 100.0,
        (ticks[2] + ticks[3]) / 100.0,
    ]
}

fn run_once(mode: &str, path: &Path) {
    let options = VpdqOptions::default();
    match mode {
        "decode" => {
            let status = Command::new("ffmpeg")
                .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
                .arg(path)
                .args(["-map", "0:v:0", "-f", "null", "-"])
                .status()
                .expect("ffmpeg is installed");
            assert!(status.success());
        }
        "probe" => {
            probe(path, &DecodeLimits::default()).expect("probe");
        }
        "vpdq" => {
            vpdq_from_file(path, &options).expect("vpdq");
        }
        "query" => {
            fingerprint_file(path, &options).expect("query");
        }
        "query-engine" => {
            fingerprint_query_file(path, &options).expect("query");
        }
        "known" => {
            fingerprint_known_file(path, &options).expect("known");
        }
        "known-dense" => {
            let dense = VpdqOptions {
                seconds_per_hash: KNOWN_SECONDS_PER_HASH,
                ..options
            };
            fingerprint_known_file(path, &dense).expect("known");
        }
        "query-json" => {
            let fp = fingerprint_query_file(path, &options).expect("query");
            println!("{}", serde_json::to_string(&fp).expect("serialises"));
        }
        "known-json" => {
            let dense = VpdqOptions {
                seconds_per_hash: KNOWN_SECONDS_PER_HASH,
                ..options
            };
            let fp = fingerprint_known_file(path, &dense).expect("known");
            println!("{}", serde_json::to_string(&fp).expect("serialises"));
        }
        other => panic!("unknown mode {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, file, rest @ ..] = &args[..] else {
        eprintln!("usage: video_speed MODE FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = rest.first().and_then(|r| r.parse().ok()).unwrap_or(3);
    if mode.ends_with("-json") {
        run_once(mode, Path::new(file));
        return;
    }
    for _ in 0..runs {
        let before = cpu();
        let t = std::time::Instant::now();
        run_once(mode, Path::new(file));
        let after = cpu();
        println!(
            "{mode}: wall {:.3} s; user {:.2} s, system {:.2} s, children {:.2} s; total {:.2} s",
            t.elapsed().as_secs_f64(),
            after[0] - before[0],
            after[1] - before[1],
            after[2] - before[2],
            (after[0] + after[1] + after[2]) - (before[0] + before[1] + before[2]),
        );
    }
}
