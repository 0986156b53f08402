//! `refdedup`: the command-line front end of referral-dedup.
//!
//! Every command writes JSON lines on stdout and diagnostics on stderr, and exits non-zero only
//! on usage or I/O failure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use referral_dedup::engine::{Engine, EngineConfig, MatchRule};

mod check;
mod dedup;
mod hash;
mod known;
mod match_cmd;
mod url_key;

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
        /// Host rules to add to the built-in ones (format: docs/url-hosts.md).
        #[arg(long, value_name = "FILE")]
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
}

/// The database directory.
#[derive(Debug, Clone, Args)]
pub(crate) struct DbArgs {
    /// Database directory (created on first use).
    #[arg(long, value_name = "DIR", default_value = "./refdedup-db")]
    pub db: PathBuf,
}

/// Match-rule overrides shared by the commands that match.
#[derive(Debug, Clone, Args)]
pub(crate) struct RuleArgs {
    /// Largest PDQ Hamming distance that matches (default 31).
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
}

impl RuleArgs {
    pub fn config(&self) -> EngineConfig {
        let mut config = EngineConfig::default();
        if self.plain_pdq {
            config.rule = MatchRule::plain_pdq();
        }
        if let Some(t) = self.threshold {
            config.rule.pdq_threshold = t;
        }
        if let Some(q) = self.quality_floor {
            config.rule.quality_floor = q;
        }
        config.rule.dihedral |= self.dihedral;
        config
    }
}

/// A failure that ends the command with exit status 1.
#[derive(Debug)]
pub(crate) struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Opens the database directory, reporting recovery notes on stderr.
pub(crate) fn open_engine(db: &Path, config: EngineConfig) -> Result<Engine, Failure> {
    let engine = Engine::open(db, config)
        .map_err(|e| Failure(format!("opening database {}: {e}", db.display())))?;
    if let Some(torn) = engine.recovery_report().and_then(|r| r.torn.as_ref()) {
        eprintln!(
            "refdedup: {}: a torn or corrupt journal tail was cut off during recovery: {torn:?}",
            db.display()
        );
    }
    Ok(engine)
}

/// Writes one JSON value as a line on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::UrlKey { file, rules } => match url_key::run(file.as_deref(), rules.as_deref()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(Failure::from),
        },
        Command::Hash(args) => hash::run(args).map_err(|e| Failure(format!("hash: {e}"))),
        Command::Known(cmd) => known::run(cmd),
        Command::Match(args) => match_cmd::run(args),
        Command::Check(args) => check::run(args),
        Command::Dedup(args) => dedup::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("refdedup: {message}");
            ExitCode::FAILURE
        }
    }
}
