//! `refdedup`: the command-line front end of referral-dedup.
//!
//! Every command writes JSON lines on stdout and diagnostics on stderr, and exits non-zero only
//! on usage or I/O failure.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Stops duplicate and already-removed content from reaching a reviewer twice.
#[derive(Debug, Parser)]
#[command(name = "refdedup", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {}
}
