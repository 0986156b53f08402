//! `refdedup`: the command-line front end of referral-dedup.
//!
//! Every command writes JSON lines on stdout and diagnostics on stderr, and exits non-zero only
//! on usage or I/O failure.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod hash;
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
    },
    /// Hash image files (digests, PDQ, dHash, pHash) as JSON lines.
    Hash(hash::HashArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Command::UrlKey { file } => ("url-key", url_key::run(file.as_deref())),
        Command::Hash(args) => ("hash", hash::run(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("refdedup {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
