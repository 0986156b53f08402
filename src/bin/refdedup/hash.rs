//! `refdedup hash PATH...`: every hash of every image file, one JSON object per line.
//!
//! Directories are walked recursively (entries in name order). Each file yields
//! `{"path", "bytes", "width", "height", "blake3", "sha256", "md5", "pdq", "pdq_quality", "dhash",
//! "phash"}` (plus `"pdq_dihedral"`, 8 hashes, with `--dihedral`); `{"path", "bytes", "blake3",
//! "sha256", "md5", "error"}` for a readable file that is not a picture (or too large to
//! decode); or `{"path", "error"}` when it cannot be read (then the command exits with status 1 after
//! printing every other line). Files are hashed in parallel and printed in walk order; a progress
//! bar goes to stderr only when stderr is a terminal.
//!
//! A video (detected by its first bytes) yields `{"path", "bytes", "blake3", "sha256", "md5",
//! "width", "height", "frame_rate", "duration", "frames", "seconds_per_hash", "vpdq"}` with its
//! sampled frames (`frame_number`, `quality`, `pdq`, `timestamp`), or its digests and an
//! `"error"` when it cannot be decoded. `--format vpdq FILE` prints the vPDQ reference CLI's
//! lines for one video, `--format vpdq-json FILE` python-threatexchange's list
//! (`video::write_vpdq`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use rayon::prelude::*;
use referral_dedup::hashes::{Blake3, HashBundle, Md5, Pdq, Sha256};
use referral_dedup::media::{digest_file, hash_file, HashOptions, Limits, MediaError, MediaHashes};
use serde::Serialize;

use crate::CliError;

/// Arguments of `refdedup hash`.
#[derive(Debug, Args)]
pub struct HashArgs {
    /// Files or directories (walked recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Also output the 8 dihedral PDQ hashes (orig, rot90, rot180, rot270, flipx, flipy,
    /// flipplus1, flipminus1).
    #[arg(long)]
    dihedral: bool,
    /// Rotate/flip images to their EXIF orientation before hashing (off by default, like Meta's
    /// reference tools and HMA).
    #[arg(long)]
    exif_orientation: bool,
    /// Refuse images with more pixels than this.
    #[arg(long, default_value_t = Limits::default().max_pixels)]
    max_pixels: u64,
    /// Refuse files larger than this many bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    max_file_bytes: u64,
    /// Output: `json` (a line per file), `vpdq` (one video's vPDQ as the reference CLI's
    /// `frameNumber,quality,pdqhex,timestamp` lines) or `vpdq-json` (python-threatexchange's
    /// list of `"pdqhex,quality,timestamp"`).
    #[arg(long, default_value = "json", value_parser = ["json", "vpdq", "vpdq-json"])]
    format: String,
    /// Seconds between hashed video frames (0: every frame).
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    seconds_per_hash: f64,
}

/// One output line for a hashed file: every hash of the bundle, keys named as in the kind
/// table (`pdq_quality` after `pdq`).
#[derive(Serialize)]
struct HashLine<'a> {
    path: &'a str,
    bytes: u64,
    width: u32,
    height: u32,
    #[serde(flatten)]
    hashes: HashBundle,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq_dihedral: Option<[Pdq; 8]>,
}

impl<'a> HashLine<'a> {
    fn new(path: &'a str, h: &MediaHashes) -> Self {
        HashLine {
            path,
            bytes: h.bytes,
            width: h.width,
            height: h.height,
            hashes: h.bundle(),
            pdq_dihedral: h.pdq_dihedral,
        }
    }
}

/// One output line for a file that failed.
#[derive(Serialize)]
struct ErrorLine<'a> {
    path: &'a str,
    error: String,
}

/// One output line for a readable file that is not a picture: its digests still count (hash
/// lists carry MD5/SHA-256 of videos and documents), with why it has no perceptual hashes.
#[derive(Serialize)]
pub(crate) struct DigestLine {
    pub(crate) path: String,
    pub(crate) bytes: u64,
    pub(crate) blake3: Blake3,
    pub(crate) sha256: Sha256,
    pub(crate) md5: Md5,
    pub(crate) error: String,
}

/// The digest line for a file that could be read but not decoded as a picture; `None` when the
/// file itself could not be read (or is not a regular file).
fn digests_of_non_picture(path: &Path, e: &MediaError) -> Option<DigestLine> {
    if matches!(e, MediaError::Io(_)) {
        return None;
    }
    let (d, bytes) = digest_file(path).ok()?;
    Some(DigestLine {
        path: path.to_string_lossy().into_owned(),
        bytes,
        blake3: d.blake3,
        sha256: d.sha256,
        md5: d.md5,
        error: e.to_string(),
    })
}

/// Files hashed in parallel per chunk; output is written after each chunk, in order.
const CHUNK: usize = 64;

/// Runs the command; fails only when stdout cannot be written (unreadable files are lines).
pub fn run(args: HashArgs) -> Result<(), CliError> {
    if !(args.seconds_per_hash.is_finite() && args.seconds_per_hash >= 0.0) {
        return Err(CliError::Usage(
            "--seconds-per-hash must be a number of seconds, at least 0".into(),
        ));
    }
    if args.format != "json" {
        let [path] = &args.paths[..] else {
            return Err(CliError::Usage(format!(
                "--format {} takes exactly one video file",
                args.format
            )));
        };
        let json = args.format == "vpdq-json";
        return crate::video::write_vpdq(path, json, args.seconds_per_hash);
    }
    match write_hashes(args).map_err(CliError::stdout)? {
        0 => Ok(()),
        n => Err(CliError::Partial(format!(
            "{n} path(s) could not be read (see their \"error\" lines)"
        ))),
    }
}

/// Writes one line per file; returns how many paths could not be read at all (their lines
/// carry only `"error"`; a readable non-picture still gets its digests and is not counted).
fn write_hashes(args: HashArgs) -> std::io::Result<usize> {
    let opts = HashOptions {
        limits: Limits {
            max_pixels: args.max_pixels,
            max_file_bytes: args.max_file_bytes,
            ..Limits::default()
        },
        apply_exif_orientation: args.exif_orientation,
        dihedral: args.dihedral,
    };
    let mut files = Vec::new();
    let mut walk_errors = Vec::new();
    for p in &args.paths {
        collect_files(p, &mut files, &mut walk_errors);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut unreadable = walk_errors.len();
    for (path, err) in &walk_errors {
        write_line(
            &mut out,
            &ErrorLine {
                path: &path.to_string_lossy(),
                error: err.clone(),
            },
        )?;
    }
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(files.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    for chunk in files.chunks(CHUNK) {
        let results: Vec<_> = chunk
            .par_iter()
            .map(|p| {
                let r = if crate::video::is_video_file(p) {
                    Err(crate::video::hash_line(p, args.seconds_per_hash))
                } else {
                    Ok(hash_file(p, &opts))
                };
                progress.inc(1);
                r
            })
            .collect();
        for (path, result) in chunk.iter().zip(results) {
            let path = path.to_string_lossy();
            let result = match result {
                Ok(picture) => picture,
                Err(video) => {
                    write_line(&mut out, &video)?;
                    continue;
                }
            };
            match result {
                Ok(h) => write_line(&mut out, &HashLine::new(&path, &h))?,
                Err(e) => match digests_of_non_picture(Path::new(&*path), &e) {
                    Some(line) => write_line(&mut out, &line)?,
                    None => {
                        unreadable += 1;
                        write_line(
                            &mut out,
                            &ErrorLine {
                                path: &path,
                                error: e.to_string(),
                            },
                        )?
                    }
                },
            }
        }
        out.flush()?;
    }
    progress.finish_and_clear();
    out.flush()?;
    Ok(unreadable)
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Appends `path` (a file) or every file below it (a directory, in name order) to `files`;
/// unreadable paths go to `errors`.
///
/// Paths given on the command line are followed if they are symbolic links. Inside a directory,
/// a symbolic link to a file is hashed but a symbolic link to a directory is not followed
/// (reported instead), so a link cycle cannot make the walk run forever. Devices, FIFOs and
/// sockets are reported, never opened.
pub(crate) fn collect_files(
    path: &Path,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<(PathBuf, String)>,
) {
    walk(path, true, files, errors);
}

fn walk(path: &Path, top: bool, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, String)>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push((path.to_path_buf(), format!("reading media: {e}")));
            return;
        }
    };
    if meta.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    if !meta.is_dir() {
        errors.push((
            path.to_path_buf(),
            "not a regular file (a device, FIFO or socket); refused before reading".into(),
        ));
        return;
    }
    if !top
        && std::fs::symlink_metadata(path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false)
    {
        errors.push((
            path.to_path_buf(),
            "symbolic link to a directory: not followed inside a walk (name it on the command line to include it)".into(),
        ));
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push((path.to_path_buf(), format!("reading directory: {e}")));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        walk(&child, false, files, errors);
    }
}
