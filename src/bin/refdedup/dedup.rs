//! `refdedup dedup`: a backlog into clusters.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use referral_dedup::batch::{
    dedup_backlog, dedup_backlog_recording, BatchOptions, BatchReport, BatchSummary, Progress,
    ProgressFn,
};
use serde_json::json;

use crate::{open_engine, open_engine_read_only, CliError, DbArgs, RuleArgs};

/// The database used when `--db` is not given (and only if it exists).
const DEFAULT_DB: &str = "./refdedup-db";

#[derive(Debug, Args)]
pub(crate) struct DedupArgs {
    /// The backlog: JSON lines {"id", "url", "media" (path relative to the file, or null),
    /// "received_at"}.
    #[arg(value_name = "BACKLOG.jsonl")]
    backlog: PathBuf,
    /// Database with the known content to flag. When given it must exist (a mistyped path
    /// must not silently skip the known-content check); when absent, ./refdedup-db is used if
    /// it exists.
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
    /// Also record every referral of the backlog into the database (created if missing), so
    /// later `check` calls see them as earlier referrals. All or nothing; a referral already
    /// recorded with the same id and keys is not recorded twice.
    #[arg(long)]
    record: bool,
    /// With --record: wait for another writer instead of failing with exit status 5.
    #[arg(long)]
    wait: bool,
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

pub(crate) fn run(args: DedupArgs) -> Result<(), CliError> {
    let config = args.rule.config()?;
    // The output is checked (and created) before any work: never one of the inputs.
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => {
            if same_file(path, &args.backlog) {
                return Err(CliError::Usage(format!(
                    "--out {} is the backlog itself; choose another file",
                    path.display()
                )));
            }
            let file = std::fs::File::create(path).map_err(|source| CliError::Output {
                to: format!("--out {}", path.display()),
                source,
            })?;
            Box::new(std::io::BufWriter::new(file))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let db_path = args.db.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DB));
    let db = if args.record {
        let db_args = DbArgs {
            db: db_path.clone(),
            wait: args.wait,
        };
        Some(open_engine(&db_args, config.clone(), true)?)
    } else if args.db.is_some() || db_path.is_dir() {
        Some(open_engine_read_only(&db_path, config.clone())?)
    } else {
        eprintln!(
            "refdedup: no database at {} (known content not checked; add some with `refdedup known import`)",
            db_path.display()
        );
        None
    };
    let bar = (!args.no_progress && std::io::stderr().is_terminal()).then(progress_bar);
    let options = BatchOptions {
        chunk_size: args.chunk_size as usize,
        progress: bar
            .clone()
            .map(|bar| Arc::new(move |p: Progress| draw_progress(&bar, p)) as ProgressFn),
    };
    let report = match (&db, args.record) {
        (Some(db), true) => dedup_backlog_recording(&args.backlog, db, &config, &options),
        (db, _) => dedup_backlog(&args.backlog, db.as_ref(), &config, &options),
    }
    .map_err(|e| CliError::lib(args.backlog.display(), e));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = report?;
    if let (Some(db), true) = (&db, args.record) {
        db.sync()
            .map_err(|e| CliError::lib(format_args!("database {}", db_path.display()), e))?;
    }

    let written = write_clusters(&mut out, &report).map_err(|source| CliError::Output {
        to: match &args.out {
            Some(path) => format!("--out {}", path.display()),
            None => "standard output".into(),
        },
        source,
    });
    drop(out);
    written?;

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
    if report.summary.lines_skipped > 0 {
        return Err(CliError::Partial(format!(
            "{} backlog line(s) skipped (see above)",
            report.summary.lines_skipped
        )));
    }
    Ok(())
}

/// A hidden progress bar, shown on stderr once the backlog's length is known.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} referrals ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Moves the bar to `p`; drawn only when the batch counted the backlog's lines (as before the
/// progress callback: a recording run reads the backlog once and shows no bar).
fn draw_progress(bar: &ProgressBar, p: Progress) {
    if bar.length().is_none() {
        let Some(total) = p.total_lines else {
            return;
        };
        bar.set_length(total);
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    bar.set_position(p.lines_read);
}

/// The clusters, then the summary line, as JSON lines.
fn write_clusters(out: &mut impl Write, report: &BatchReport) -> std::io::Result<()> {
    for cluster in &report.clusters {
        serde_json::to_writer(&mut *out, cluster)?;
        out.write_all(b"\n")?;
    }
    serde_json::to_writer(&mut *out, &json!({ "summary": report.summary }))?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Whether `a` and `b` name the same existing file.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
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
