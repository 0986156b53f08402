//! `refdedup`: the command-line front end of referral-dedup.
//!
//! Every command writes JSON lines on stdout and diagnostics on stderr, and exits non-zero only
//! on usage or I/O failure.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod hash;

/// Stops duplicate and already-removed content from reaching a reviewer twice.
#[derive(Debug, Parser)]
#[command(name = "refdedup", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Hash image files (digests, PDQ, dHash, pHash) as JSON lines.
    Hash(hash::HashArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Hash(args) => match hash::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("refdedup hash: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
