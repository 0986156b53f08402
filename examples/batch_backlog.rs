//! The batch API from code: load a known-content list, deduplicate a backlog, print the
//! clusters that need review and the summary.
//!
//! ```text
//! cargo run --release --example batch_backlog -- examples/data/backlog.jsonl examples/data/known.csv
//! ```

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use referral_dedup::batch::{dedup_backlog, BatchOptions, Progress};
use referral_dedup::engine::{Engine, EngineConfig, ListFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let backlog = args
        .next()
        .unwrap_or_else(|| "examples/data/backlog.jsonl".into());
    let known_list = args
        .next()
        .unwrap_or_else(|| "examples/data/known.csv".into());

    // 1. Known content: an in-memory engine loaded from a hash list (bad rows are reported).
    let config = EngineConfig::default();
    let known = Engine::in_memory(config.clone())?;
    let format = ListFormat::from_path(&known_list).unwrap_or(ListFormat::Csv);
    let report = known.import_list(std::fs::File::open(&known_list)?, format, false)?;
    println!(
        "known list: {} items, {} rows skipped",
        report.imported,
        report.skipped.len()
    );

    // 2. The backlog, fingerprinted in parallel and clustered; progress on a terminal.
    let options = BatchOptions {
        progress: std::io::stderr()
            .is_terminal()
            .then(|| Arc::new(show_progress) as _),
        ..BatchOptions::default()
    };
    let result = dedup_backlog(&backlog, Some(&known), &config, &options)?;
    if options.progress.is_some() {
        eprintln!();
    }

    // 3. What a reviewer still has to look at: one representative per cluster not already known.
    let to_review: Vec<_> = result
        .clusters
        .iter()
        .filter(|c| c.known_match.is_none())
        .collect();
    println!(
        "{} referrals -> {} clusters; {} already known, {} to review",
        result.summary.referrals_in,
        result.summary.clusters_out,
        result.summary.known_clusters,
        to_review.len()
    );
    for c in to_review.iter().filter(|c| c.members.len() > 1).take(5) {
        let kinds: Vec<String> = c.reasons.iter().map(|r| r.kind.to_string()).collect();
        println!(
            "  review {} (covers {} referrals; matched on {})",
            c.representative,
            c.members.len(),
            kinds.join(", ")
        );
    }
    println!("{}", serde_json::to_string_pretty(&result.summary)?);
    Ok(())
}

/// Draws "read N of M lines" on one stderr line, every 100 lines and at the end.
fn show_progress(p: Progress) {
    let total = p.total_lines.unwrap_or(0);
    if p.lines_read.is_multiple_of(100) || p.lines_read == total {
        eprint!("\rread {} of {total} backlog lines", p.lines_read);
    }
}
