//! `refdedup db check | repair`: report damage in a database, and set it aside.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use referral_dedup::engine::EngineConfig;
use referral_dedup::store::{Corruption, RecoveryReport, Store};
use serde_json::json;

use crate::{open_engine, print_json, CliError, DbArgs, Exit};

#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Read the whole database without changing anything and report every damaged or
    /// unfinished stretch (path, byte offset, what was kept), in the current generation and in
    /// the previous one kept as the fallback for a damaged snapshot. Exit status 0 when clean,
    /// 4 when damage was found.
    Check(CheckArgs),
    /// Set damage aside: write a snapshot of every record that checks out and a fresh
    /// MANIFEST, and put each damaged file whole into DIR/damaged/ (moved, or copied while it
    /// is still part of the previous generation; never deleted). Later checks report nothing.
    /// Takes the writer lock.
    Repair(RepairArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Database directory.
    #[arg(long, value_name = "DIR", default_value = "./refdedup-db")]
    db: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RepairArgs {
    #[command(flatten)]
    db: DbArgs,
}

pub(crate) fn run(cmd: DbCommand) -> Result<(), CliError> {
    match cmd {
        DbCommand::Check(args) => check(&args.db),
        DbCommand::Repair(args) => repair(&args.db),
    }
}

fn problem_json(c: &Corruption) -> serde_json::Value {
    json!({"path": c.path, "offset": c.offset, "problem": c.reason})
}

fn files_set_aside(db: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(db.join("damaged"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn report_json(db: &Path, report: &RecoveryReport, entries: usize) -> serde_json::Value {
    json!({
        "db": db,
        "clean": report.is_clean(),
        "entries": entries,
        "snapshot": report.snapshot,
        "snapshot_entries": report.snapshot_entries,
        "journal_records": report.journal_records,
        "problems": report.problems().map(problem_json).collect::<Vec<_>>(),
        "damaged_files": report.damaged_files,
        "set_aside": files_set_aside(db),
    })
}

fn check(db: &Path) -> Result<(), CliError> {
    let recovered = Store::check(db)
        .map_err(|e| CliError::lib(format_args!("checking database {}", db.display()), e))?;
    let report = &recovered.report;
    let printed = print_json(&report_json(db, report, recovered.entries.len()));
    if report.is_clean() {
        return printed;
    }
    // Damage found is the answer (status 4), even when the reader of the report has gone.
    match printed {
        Err(e) if e.exit() != Exit::Success => return Err(e),
        _ => {}
    }
    for p in report.problems() {
        eprintln!(
            "refdedup: {}, byte {}: {}",
            p.path.display(),
            p.offset,
            p.reason
        );
    }
    Err(CliError::Damaged {
        db: db.to_path_buf(),
        problems: report.problems().count(),
    })
}

fn repair(db: &DbArgs) -> Result<(), CliError> {
    let before = files_set_aside(&db.db);
    let engine = open_engine(db, EngineConfig::default(), false)?;
    let report = engine.recovery_report().cloned().unwrap_or_default();
    // The previous generation's damage too (read while this process holds the writer lock).
    let checked = Store::check(&db.db)
        .map_err(|e| CliError::lib(format_args!("checking database {}", db.db.display()), e))?;
    if report.is_clean() && checked.report.is_clean() {
        print_json(&json!({"db": db.db, "repaired": false, "problems": [], "set_aside": []}))?;
        eprintln!(
            "refdedup: database {} has no damage; nothing to do",
            db.db.display()
        );
        return Ok(());
    }
    // Files only the previous generation holds: compaction would delete them, so a copy goes
    // aside first.
    let mut previous_only: Vec<&Path> = checked
        .report
        .problems()
        .map(|p| p.path.as_path())
        .filter(|p| !report.problems().any(|c| c.path == *p) && p.is_file())
        .collect();
    previous_only.sort();
    previous_only.dedup();
    for path in previous_only {
        Store::keep_damaged_copy(&db.db, path)
            .map_err(|e| CliError::lib(format_args!("repairing {}", db.db.display()), e))?;
    }
    engine
        .snapshot()
        .map_err(|e| CliError::lib(format_args!("repairing {}", db.db.display()), e))?;
    let moved: Vec<PathBuf> = files_set_aside(&db.db)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    print_json(&json!({
        "db": db.db,
        "repaired": true,
        "entries": engine.len(),
        "problems": checked.report.problems().map(problem_json).collect::<Vec<_>>(),
        "set_aside": moved,
    }))?;
    eprintln!(
        "refdedup: database {} repaired: {} entries kept in a new snapshot; {} damaged file(s) \
         kept whole in {}",
        db.db.display(),
        engine.len(),
        moved.len(),
        db.db.join("damaged").display()
    );
    Ok(())
}
