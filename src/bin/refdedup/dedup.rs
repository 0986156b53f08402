//! `refdedup dedup`: a backlog into clusters.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use referral_dedup::batch::{dedup_backlog, BatchOptions, BatchSummary};
use serde_json::json;

use crate::{open_engine, DbArgs, Failure, RuleArgs};

#[derive(Debug, Args)]
pub(crate) struct DedupArgs {
    /// The backlog: JSON lines {"id", "url", "media" (path relative to the file, or null),
    /// "received_at"}.
    #[arg(value_name = "BACKLOG.jsonl")]
    backlog: PathBuf,
    /// Database with the known content to flag (used when the directory exists).
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    rule: RuleArgs,
    /// Write the clusters (and the summary line) here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Referrals hashed in parallel per step.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    chunk_size: u64,
    /// Never draw the progress bar.
    #[arg(long)]
    no_progress: bool,
}

pub(crate) fn run(args: DedupArgs) -> Result<(), Failure> {
    let config = args.rule.config();
    let db = if args.db.db.is_dir() {
        Some(open_engine(&args.db.db, config.clone())?)
    } else {
        eprintln!(
            "refdedup: no database at {} (known content not checked; add some with `refdedup known import`)",
            args.db.db.display()
        );
        None
    };
    let options = BatchOptions {
        chunk_size: args.chunk_size as usize,
        progress: !args.no_progress && std::io::stderr().is_terminal(),
    };
    let report = dedup_backlog(&args.backlog, db.as_ref(), &config, &options)
        .map_err(|e| Failure(format!("{}: {e}", args.backlog.display())))?;

    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for cluster in &report.clusters {
        serde_json::to_writer(&mut out, cluster)?;
        out.write_all(b"\n")?;
    }
    serde_json::to_writer(&mut out, &json!({ "summary": report.summary }))?;
    out.write_all(b"\n")?;
    out.flush()?;
    drop(out);

    const SHOWN: usize = 20;
    for p in report.problems.iter().take(SHOWN) {
        let what = if p.skipped { "skipped" } else { "note" };
        let id =
            p.id.as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
        eprintln!(
            "refdedup: {}:{}{id}: {what}: {}",
            args.backlog.display(),
            p.line,
            p.problem
        );
    }
    if report.problems.len() > SHOWN {
        eprintln!(
            "refdedup: ... and {} more problems",
            report.problems.len() - SHOWN
        );
    }
    eprint!("{}", summary_text(&report.summary, args.out.as_ref()));
    Ok(())
}

fn summary_text(s: &BatchSummary, out: Option<&PathBuf>) -> String {
    let mut t = String::new();
    t.push_str("\nBacklog summary\n");
    t.push_str(&format!("  referrals in        {}\n", s.referrals_in));
    if s.lines_skipped > 0 {
        t.push_str(&format!("  lines skipped       {}\n", s.lines_skipped));
    }
    t.push_str(&format!("  clusters out        {}\n", s.clusters_out));
    t.push_str(&format!(
        "  duplicates removed  {} (reviews saved)\n",
        s.duplicates_removed
    ));
    t.push_str(&format!(
        "  known content       {} referrals in {} clusters (no review needed)\n",
        s.known_hits, s.known_clusters
    ));
    t.push_str(&format!(
        "  media               {} pictures hashed, {} other files digested, {} unreadable\n",
        s.images_hashed, s.media_digest_only, s.media_errors
    ));
    t.push_str(&format!(
        "  time                {:.2} s ({:.0} referrals/s, {:.0} images/s)\n",
        s.seconds, s.referrals_per_s, s.images_per_s
    ));
    if let Some(path) = out {
        t.push_str(&format!("  clusters written to {}\n", path.display()));
    }
    t
}
