//! `refdedup known add | import | export`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use referral_dedup::engine::{EngineConfig, EngineError, ImportProgress, ImportStage, ListFormat};
use serde_json::json;

use crate::output::Tracked;
use crate::{open_engine, open_engine_read_only, print_json, CliError, DbArgs};

#[derive(Debug, Subcommand)]
pub(crate) enum KnownCommand {
    /// Hash media files and record them as known content (id: the file name unless --id).
    /// Videos get their frame codes (ten a second, with central crops) besides their digests.
    Add(AddArgs),
    /// Import a hash list (CSV/TSV with a header among pdq, md5, sha256, blake3, dhash, phash
    /// (every hash kind), id, label, quality; or JSONL). Bad rows are reported on stderr and
    /// skipped. One video's hashes, one video per file: a vPDQ list (`.vpdq` reference lines,
    /// `.json` python-threatexchange list) or a `.tmk` file; its id is the file name without the
    /// extension unless --id.
    Import(ImportArgs),
    /// Export the known content as a hash list on stdout (with --videos DIR, also every known
    /// video as DIR/ID.vpdq and DIR/ID.tmk).
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
    /// Media files or directories (walked recursively, as `hash` does).
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
    /// List format (default: from the file extension, else from the content): a hash list
    /// (csv, tsv, jsonl) or one video's hashes (vpdq, vpdq-json, tmk).
    #[arg(long, value_parser = ["csv", "tsv", "jsonl", "vpdq", "vpdq-json", "tmk"])]
    format: Option<String>,
    /// Id of an imported video (default: the file name without its extension).
    #[arg(long)]
    id: Option<String>,
    /// Label stored with an imported video.
    #[arg(long)]
    label: Option<String>,
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
    /// Also write every known video's hashes into this directory: ID.vpdq (reference lines)
    /// and ID.tmk.
    #[arg(long, value_name = "DIR")]
    videos: Option<PathBuf>,
}

pub(crate) fn run(cmd: KnownCommand) -> Result<(), CliError> {
    match cmd {
        KnownCommand::Add(args) => add(args),
        KnownCommand::Import(args) => import(args),
        KnownCommand::Export(args) => export(args),
    }
}

fn add(args: AddArgs) -> Result<(), CliError> {
    if args.id.is_some() && args.paths.len() != 1 {
        // A usage error: clap reports it with status 2.
        clap::Error::raw(
            clap::error::ErrorKind::ArgumentConflict,
            "--id can only be used with a single PATH\n",
        )
        .exit();
    }
    let mut files = Vec::new();
    let mut walk_errors = Vec::new();
    for p in &args.paths {
        crate::hash::collect_files(p, &mut files, &mut walk_errors);
    }
    if args.id.is_some() && files.len() != 1 {
        return Err(CliError::Usage(format!(
            "--id needs exactly one file; the paths hold {}",
            files.len()
        )));
    }
    let engine = open_engine(&args.db, EngineConfig::default(), true)?;
    let mut failed = walk_errors.len();
    for (path, e) in &walk_errors {
        eprintln!("refdedup: {}: {e}", path.display());
    }
    // The lines on standard output only report what was added: if their reader goes away
    // (`refdedup known add DIR | head -1`), every item is still added and committed, and the
    // failed write decides the status only at the end (a closed pipe: 0).
    let mut output_failed: Option<CliError> = None;
    for path in &files {
        match engine.add_known_file(path, args.id.as_deref(), args.label.as_deref()) {
            Ok(id) if output_failed.is_none() => {
                let entry = engine.entry(id);
                let printed = print_json(&json!({
                    "path": path,
                    "id": entry.as_ref().map(|e| e.external_id.clone()),
                    "entry": id,
                    "pdq": entry.as_ref().and_then(|e| e.hashes.pdq),
                    "quality": entry.as_ref().and_then(|e| e.hashes.pdq_quality),
                    "md5": entry.as_ref().and_then(|e| e.hashes.md5),
                    "video_frames": entry.as_ref().and_then(|e| e.video.as_ref()).map(|v| v.plain.frames.len()),
                }));
                output_failed = printed.err();
            }
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                eprintln!("refdedup: {}: {e}", path.display());
            }
        }
    }
    engine
        .sync()
        .map_err(|e| CliError::lib(format_args!("database {}", args.db.db.display()), e))?;
    if failed > 0 {
        return Err(CliError::Partial(format!(
            "{failed} file(s) could not be added"
        )));
    }
    output_failed.map_or(Ok(()), Err)
}

fn import(args: ImportArgs) -> Result<(), CliError> {
    if crate::video::is_video_list(&args.list, args.format.as_deref()) {
        let engine = open_engine(&args.db, EngineConfig::default(), true)?;
        return crate::video::import(
            &engine,
            &args.list,
            args.format.as_deref(),
            args.id.as_deref(),
            args.label.as_deref(),
        );
    }
    if args.id.is_some() || args.label.is_some() {
        return Err(CliError::Usage(
            "--id and --label are for importing one video's hashes (vpdq, vpdq-json, tmk)".into(),
        ));
    }
    let format = match &args.format {
        Some(f) => f
            .parse::<ListFormat>()
            .map_err(|e| CliError::lib("--format", EngineError::from(e)))?,
        None => match ListFormat::from_path(&args.list) {
            Some(f) => f,
            None => {
                use std::io::Read;
                let mut head = Vec::new();
                std::fs::File::open(&args.list)
                    .and_then(|f| f.take(4096).read_to_end(&mut head))
                    .map_err(|source| CliError::Input {
                        path: args.list.clone(),
                        source,
                    })?;
                ListFormat::sniff(&head)
            }
        },
    };
    let file = std::fs::File::open(&args.list).map_err(|source| CliError::Input {
        path: args.list.clone(),
        source,
    })?;
    let engine = open_engine(&args.db, EngineConfig::default(), true)?;
    let bar = import_bar(file.metadata().map(|m| m.len()).unwrap_or(0));
    let report = engine
        .import_list_with_progress(file, format, args.strict, &mut |p| draw_import(&bar, p))
        .and_then(|r| {
            engine.sync()?;
            Ok(r)
        });
    bar.finish_and_clear();
    let report = report.map_err(|e| CliError::lib(args.list.display(), e))?;
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
    }))?;
    if !report.skipped.is_empty() {
        return Err(CliError::Partial(format!(
            "{}: {} row(s) skipped; the other rows were imported",
            args.list.display(),
            report.skipped.len()
        )));
    }
    Ok(())
}

/// A progress bar over the list's bytes on stderr (indicatif draws nothing when stderr is not
/// a terminal).
fn import_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} read ({bytes_per_sec}) {msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Moves the bar to an import's progress report.
fn draw_import(bar: &ProgressBar, p: ImportProgress) {
    match p.stage {
        ImportStage::Reading => bar.set_position(p.bytes_read),
        ImportStage::Storing => {
            bar.set_position(bar.length().unwrap_or(0));
            bar.set_message(format!("storing {} items as one group", p.items));
        }
        ImportStage::Done => bar.set_message(format!("{} items stored", p.items)),
    }
}

fn export(args: ExportArgs) -> Result<(), CliError> {
    let format: ListFormat = args
        .format
        .parse()
        .map_err(|e| CliError::lib("--format", EngineError::from(e)))?;
    let engine = open_engine_read_only(&args.db.db, EngineConfig::default())?;
    if let Some(dir) = &args.videos {
        let written = crate::video::export(&engine, dir)?;
        eprintln!(
            "refdedup: {written} video hash file(s) written to {}",
            dir.display()
        );
    }
    // Videos known only by their frame codes have no row in a hash list (--videos has them).
    let items: Vec<_> = engine
        .known_items()
        .into_iter()
        .filter(|i| i.has_hash())
        .collect();
    let mut stdout = Tracked::new(std::io::stdout().lock());
    referral_dedup::engine::hashlist::write_list(&mut stdout, format, &items).map_err(|e| {
        match stdout.failed() {
            // The list writer keeps only the text of a failed write: the tracked kind says
            // whether the reader went away.
            Some(kind) => CliError::stdout(std::io::Error::new(kind, e.to_string())),
            None => CliError::lib(
                format_args!("exporting the known content of {}", args.db.db.display()),
                EngineError::from(e),
            ),
        }
    })
}
