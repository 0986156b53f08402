//! `refdedup`: the command-line front end of referral-dedup.
//!
//! Every command writes JSON lines on stdout and diagnostics on stderr, and ends with one exit
//! status from the table in [`Exit`] (README "Exit status"): commands return a typed
//! [`CliError`], and [`CliError::exit`] is the one place that maps it to a status.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use referral_dedup::engine::{Engine, EngineConfig, MatchRule};
use referral_dedup::store::StoreOptions;

/// mimalloc instead of the system allocator: URL keying and JSON output allocate many short
/// strings, and glibc's malloc/free were about a quarter of `url-key`'s instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod check;
mod db;
mod dedup;
mod error;
mod hash;
mod known;
mod match_cmd;
mod output;
mod url_key;
mod video;

pub(crate) use error::{CliError, Exit};
pub(crate) use output::print_json;

/// Stops duplicate and already-removed content from reaching a reviewer twice.
#[derive(Debug, Parser)]
#[command(name = "refdedup", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Key URLs: reads one URL per line (stdin when no FILE), writes one JSON object per line:
    /// {"input","key","canonical","platform","rules"} or {"input","error"}.
    UrlKey {
        /// File with one URL per line; stdin when absent.
        file: Option<std::path::PathBuf>,
        /// Host rules to add to the built-in ones (format: docs/url-hosts.md); `--url-rules`
        /// is the same flag, as on `check`, `match` and `dedup`.
        #[arg(long, visible_alias = "url-rules", value_name = "FILE")]
        rules: Option<std::path::PathBuf>,
    },
    /// Hash image files (digests, PDQ, dHash, pHash) as JSON lines.
    Hash(hash::HashArgs),
    /// Manage known-removed content: add media files, import or export hash lists.
    #[command(subcommand)]
    Known(known::KnownCommand),
    /// Match media files against known content: one JSON line per file.
    Match(match_cmd::MatchArgs),
    /// Check one referral (URL and/or media): new, duplicate or known, with evidence.
    Check(check::CheckArgs),
    /// Deduplicate a backlog of referrals (JSON lines) into clusters, with a summary.
    Dedup(dedup::DedupArgs),
    /// Inspect or repair a database: `db check` reports damage, `db repair` sets it aside.
    #[command(subcommand)]
    Db(db::DbCommand),
}

/// The database directory.
#[derive(Debug, Clone, Args)]
pub(crate) struct DbArgs {
    /// Database directory. Commands that only read refuse a missing one; commands that add
    /// create it.
    #[arg(long, value_name = "DIR", default_value = "./refdedup-db")]
    pub db: PathBuf,
    /// When another process is writing to the database, wait for it to finish instead of
    /// failing with exit status 5.
    #[arg(long)]
    pub wait: bool,
}

/// Match-rule overrides shared by the commands that match.
#[derive(Debug, Clone, Args)]
pub(crate) struct RuleArgs {
    /// Largest PDQ Hamming distance that matches, under every tier of the rule: no PDQ match
    /// is ever farther than this (default: 31 on its own, 52 at good quality, 80 when dHash and
    /// pHash agree; with `--plain-pdq`, 31).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=256))]
    pub threshold: Option<u32>,
    /// Smallest PDQ quality for a PDQ match (default 50).
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub quality_floor: Option<u8>,
    /// Also match mirrored and rotated (90/180/270) copies (on by default; with
    /// `--plain-pdq`, adds them back).
    #[arg(long)]
    pub dihedral: bool,
    /// Plain reference PDQ matching for interop audits: the picture's own PDQ against stored
    /// PDQs within the threshold, both qualities at the floor; no mirrors/rotations, border
    /// trimming, stored crop/rotation variants or dHash/pHash-confirmed tier.
    #[arg(long)]
    pub plain_pdq: bool,
    /// URL host rules to add to the built-in ones, as `url-key --rules` (format:
    /// docs/url-hosts.md); a malformed file is refused with its line and the reason.
    #[arg(long, value_name = "FILE")]
    pub url_rules: Option<PathBuf>,
}

impl RuleArgs {
    /// The engine configuration these options give.
    ///
    /// # Errors
    /// The `--url-rules` file cannot be read, or is refused.
    pub fn config(&self) -> Result<EngineConfig, CliError> {
        let mut config = EngineConfig::default();
        if self.plain_pdq {
            config.rule = MatchRule::plain_pdq();
        }
        if let Some(t) = self.threshold {
            // The bound holds for the loose and confirmed tiers too, not only the strict one.
            config.rule.pdq_threshold = t;
            config.rule.loose_threshold = config.rule.loose_threshold.map(|l| l.min(t));
            if let Some(c) = &mut config.rule.confirm {
                c.pdq_threshold = c.pdq_threshold.min(t);
            }
        }
        if let Some(q) = self.quality_floor {
            config.rule.quality_floor = q;
        }
        config.rule.dihedral |= self.dihedral;
        if let Some(path) = &self.url_rules {
            config.url_rules = Some(url_key::load_rules(path)?);
        }
        Ok(config)
    }
}

/// Prints every problem recovery found, in plain words, on stderr. Called on every open, so
/// damage is reported until `refdedup db repair` sets it aside.
pub(crate) fn report_recovery(db: &Path, engine: &Engine) {
    // An index file that exists but could not be used (damaged, another generation's): the
    // index was rebuilt, which is safe but slow on a large database. A missing one (a database
    // from before index files, or never snapshotted) is not worth a word.
    if let referral_dedup::engine::PdqIndexFile::Rebuilt { path, reason } = engine.pdq_index_file()
    {
        if path.exists() {
            eprintln!(
                "refdedup: note: {} was not used ({reason}); the PDQ index was rebuilt from the \
                 entries, and the next snapshot writes a fresh file",
                path.display()
            );
        }
    }
    let Some(report) = engine.recovery_report() else {
        return;
    };
    if report.is_clean() {
        return;
    }
    let problems: Vec<_> = report.problems().collect();
    eprintln!(
        "refdedup: warning: database {} has {} damaged or unfinished stretch(es); every record \
         whose own checksum holds was kept ({} journal records replayed{}). Nothing was changed; \
         see `refdedup db check --db {0}`, and `refdedup db repair --db {0}` to set the damage aside:",
        db.display(),
        problems.len(),
        report.journal_records,
        if report.snapshot_entries > 0 {
            format!(" on top of {} snapshot entries", report.snapshot_entries)
        } else {
            String::new()
        },
    );
    for p in problems {
        eprintln!(
            "refdedup:   {}, byte {}: {}",
            p.path.display(),
            p.offset,
            p.reason
        );
    }
}

/// Opens the database for writing (creating it when `create`), reporting recovery problems.
pub(crate) fn open_engine(
    db: &DbArgs,
    config: EngineConfig,
    create: bool,
) -> Result<Engine, CliError> {
    let existed = db.db.join("MANIFEST").exists();
    let options = StoreOptions::default()
        .with_wait_for_lock(db.wait)
        .with_create(create);
    let engine = Engine::open_with(&db.db, config, options)
        .map_err(|e| CliError::lib(format_args!("opening database {}", db.db.display()), e))?;
    if !existed && engine.is_empty() {
        eprintln!("refdedup: created a new database at {}", db.db.display());
    }
    report_recovery(&db.db, &engine);
    Ok(engine)
}

/// Opens an existing database for reading only (nothing on disk is created or changed).
pub(crate) fn open_engine_read_only(db: &Path, config: EngineConfig) -> Result<Engine, CliError> {
    let engine = Engine::open_read_only(db, config).map_err(|e| {
        let hint = match &e {
            referral_dedup::Error::Store(referral_dedup::store::StoreError::NotADatabase {
                ..
            }) => " (check the --db path; `refdedup known import --db DIR LIST` or `known add` creates one)",
            _ => "",
        };
        CliError::lib(format_args!("opening database {}{hint}", db.display()), e)
    })?;
    report_recovery(db, &engine);
    Ok(engine)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::UrlKey { file, rules } => url_key::run(file.as_deref(), rules.as_deref()),
        Command::Hash(args) => hash::run(args),
        Command::Known(cmd) => known::run(cmd),
        Command::Match(args) => match_cmd::run(args),
        Command::Check(args) => check::run(args),
        Command::Dedup(args) => dedup::run(args),
        Command::Db(cmd) => db::run(cmd),
    };
    let exit = match result {
        Ok(()) => Exit::Success,
        Err(e) => {
            let exit = e.exit();
            if exit != Exit::Success {
                eprintln!("refdedup: {e}");
            }
            exit
        }
    };
    ExitCode::from(exit as u8)
}
