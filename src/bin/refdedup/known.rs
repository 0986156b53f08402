//! `refdedup known add | import | export`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use referral_dedup::engine::{EngineConfig, ListFormat};
use serde_json::json;

use crate::{open_engine, print_json, DbArgs, Failure};

#[derive(Debug, Subcommand)]
pub(crate) enum KnownCommand {
    /// Hash media files and record them as known content (id: the file name unless --id).
    Add(AddArgs),
    /// Import a hash list (CSV/TSV with a header among pdq, md5, sha256, blake3, dhash, phash,
    /// id, label, quality; or JSONL). Bad rows are reported on stderr and skipped.
    Import(ImportArgs),
    /// Export the known content as a hash list on stdout.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Label stored with every added item (for example the list or campaign name).
    #[arg(long)]
    label: Option<String>,
    /// Id of the item (only with a single PATH; default: the file name).
    #[arg(long)]
    id: Option<String>,
    /// Media files to add.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Fail on the first bad row and import nothing from the list.
    #[arg(long)]
    strict: bool,
    /// List format (default: from the file extension, else from the content).
    #[arg(long, value_parser = ["csv", "tsv", "jsonl"])]
    format: Option<String>,
    /// The hash list.
    #[arg(value_name = "LIST")]
    list: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Output format.
    #[arg(long, default_value = "csv", value_parser = ["csv", "tsv", "jsonl"])]
    format: String,
}

pub(crate) fn run(cmd: KnownCommand) -> Result<(), Failure> {
    match cmd {
        KnownCommand::Add(args) => add(args),
        KnownCommand::Import(args) => import(args),
        KnownCommand::Export(args) => export(args),
    }
}

fn add(args: AddArgs) -> Result<(), Failure> {
    if args.id.is_some() && args.paths.len() != 1 {
        // A usage error: clap reports it with status 2.
        clap::Error::raw(
            clap::error::ErrorKind::ArgumentConflict,
            "--id can only be used with a single PATH\n",
        )
        .exit();
    }
    let engine = open_engine(&args.db.db, EngineConfig::default())?;
    let mut failed = 0;
    for path in &args.paths {
        match engine.add_known_file(path, args.id.as_deref(), args.label.as_deref()) {
            Ok(id) => {
                let entry = engine.entry(id);
                print_json(&json!({
                    "path": path,
                    "id": entry.as_ref().map(|e| e.external_id.clone()),
                    "entry": id,
                    "pdq": entry.as_ref().and_then(|e| e.pdq),
                    "quality": entry.as_ref().and_then(|e| e.pdq_quality),
                    "md5": entry.as_ref().and_then(|e| e.md5),
                }))?;
            }
            Err(e) => {
                failed += 1;
                eprintln!("refdedup: {}: {e}", path.display());
            }
        }
    }
    engine.sync()?;
    if failed > 0 {
        return Err(Failure(format!("{failed} file(s) could not be added")));
    }
    Ok(())
}

fn import(args: ImportArgs) -> Result<(), Failure> {
    let format = match &args.format {
        Some(f) => f.parse::<ListFormat>()?,
        None => match ListFormat::from_path(&args.list) {
            Some(f) => f,
            None => {
                let head = std::fs::read(&args.list)
                    .map_err(|e| Failure(format!("{}: {e}", args.list.display())))?;
                ListFormat::sniff(&head[..head.len().min(4096)])
            }
        },
    };
    let file = std::fs::File::open(&args.list)
        .map_err(|e| Failure(format!("{}: {e}", args.list.display())))?;
    let engine = open_engine(&args.db.db, EngineConfig::default())?;
    let report = engine
        .import_list(file, format, args.strict)
        .map_err(|e| Failure(format!("{}: {e}", args.list.display())))?;
    engine.sync()?;
    for row in &report.skipped {
        eprintln!("refdedup: {}: skipped {row}", args.list.display());
    }
    if !report.ignored_columns.is_empty() {
        eprintln!(
            "refdedup: {}: ignored columns: {}",
            args.list.display(),
            report.ignored_columns.join(", ")
        );
    }
    print_json(&json!({
        "list": args.list,
        "imported": report.imported,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
    }))
}

fn export(args: ExportArgs) -> Result<(), Failure> {
    let format: ListFormat = args.format.parse()?;
    let engine = open_engine(&args.db.db, EngineConfig::default())?;
    let items = engine.known_items();
    let stdout = std::io::stdout().lock();
    referral_dedup::engine::hashlist::write_list(stdout, format, &items)?;
    Ok(())
}
