//! Batch deduplication of a referral backlog into clusters of the same item.
//!
//! Input: JSON lines `{"id": ..., "url": ..., "media": "path or null", "received_at": ...}`
//! (media paths relative to the backlog file's directory). The backlog is read in chunks; each
//! chunk's referrals are fingerprinted (URL key, media digests and perceptual hashes) in parallel
//! with rayon, then matched in backlog order against the referrals before them and against the
//! known content of an optional [`Engine`]. Every match joins two referrals in a union-find
//! (URL key, exact digest, PDQ within the rule; two referrals that match the same known item or
//! the same earlier referral in the database are joined too). Only fingerprints are kept, never
//! images, so memory is bounded by the index, not by the media.
//!
//! Output: one [`Cluster`] per item (members in backlog order, the first is the representative,
//! the reasons that joined them, the known content they match), plus a [`BatchSummary`].
//!
//! ```
//! use referral_dedup::batch::{dedup_reader, BatchOptions};
//! use referral_dedup::engine::EngineConfig;
//! # fn main() -> referral_dedup::Result<()> {
//! let backlog = r#"{"id":"a","url":"https://youtu.be/dQw4w9WgXcQ","media":null}
//! {"id":"b","url":"https://www.youtube.com/watch?v=dQw4w9WgXcQ&feature=share"}
//! {"id":"c","url":"https://t.me/news/7"}
//! "#;
//! let report = dedup_reader(backlog.as_bytes(), ".".as_ref(), None, &EngineConfig::default(), &BatchOptions::default())?;
//! assert_eq!(report.clusters.len(), 2);
//! assert_eq!(report.clusters[0].members, ["a", "b"]);
//! assert_eq!(report.summary.duplicates_removed, 1);
//! # Ok(()) }
//! ```

mod media_cache;
mod report;
mod run;
mod union_find;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::engine::{Engine, EngineConfig, EngineError, Fingerprint, Match, Referral};
use crate::hashes::{EntryId, HashKind};
use crate::store::EntrySource;

pub use report::{
    BacklogReferral, BatchReport, BatchSummary, Cluster, KnownHit, LineProblem, Reason,
};
use run::run;
pub use union_find::UnionFind;

/// How a batch runs.
///
/// ```
/// use std::sync::Arc;
/// use referral_dedup::batch::{BatchOptions, Progress};
/// let o = BatchOptions {
///     progress: Some(Arc::new(|p: Progress| eprintln!("{} lines read", p.lines_read))),
///     ..BatchOptions::default()
/// };
/// assert!(o.chunk_size > 0);
/// ```
#[derive(Clone)]
pub struct BatchOptions {
    /// Referrals fingerprinted in parallel per step (bounds the media held in memory).
    pub chunk_size: usize,
    /// Called after every backlog line read, on the thread running the batch (a front end
    /// draws its progress bar from it; the library itself never writes to the terminal).
    /// Setting it also makes [`dedup_backlog`] count the backlog's lines first, for
    /// [`Progress::total_lines`].
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for BatchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchOptions")
            .field("chunk_size", &self.chunk_size)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            chunk_size: 256,
            progress: None,
        }
    }
}

/// A progress callback for [`BatchOptions::progress`].
///
/// ```
/// use referral_dedup::batch::{Progress, ProgressFn};
/// let report: ProgressFn = std::sync::Arc::new(|p: Progress| {
///     if let Some(total) = p.total_lines {
///         eprintln!("{}/{total}", p.lines_read);
///     }
/// });
/// report(Progress { lines_read: 1, total_lines: Some(2) });
/// ```
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How far a batch has got, as passed to [`BatchOptions::progress`].
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use referral_dedup::batch::{dedup_reader, BatchOptions, Progress};
/// use referral_dedup::engine::EngineConfig;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let options = BatchOptions {
///     progress: Some(Arc::new(move |p: Progress| log.lock().unwrap().push(p.lines_read))),
///     ..BatchOptions::default()
/// };
/// let backlog = "{\"id\":\"a\",\"url\":\"https://t.me/c/1\"}\n{\"id\":\"b\",\"url\":\"https://t.me/c/2\"}\n";
/// dedup_reader(backlog.as_bytes(), ".".as_ref(), None, &EngineConfig::default(), &options).unwrap();
/// assert_eq!(*seen.lock().unwrap(), [1, 2]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Backlog lines read so far (blank and skipped lines included).
    pub lines_read: u64,
    /// Lines in the backlog, when counted before the run ([`dedup_backlog`] with a progress
    /// callback); `None` for [`dedup_reader`] and [`dedup_backlog_recording`].
    pub total_lines: Option<u64>,
}

/// Deduplicates the backlog file at `path` (media paths relative to its directory).
///
/// ```
/// use referral_dedup::batch::{dedup_backlog, BatchOptions};
/// use referral_dedup::engine::EngineConfig;
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("clip.mp4"), b"video bytes").unwrap();
/// std::fs::write(dir.path().join("clip-again.mp4"), b"video bytes").unwrap();
/// let backlog = dir.path().join("backlog.jsonl");
/// std::fs::write(&backlog, "{\"id\":\"a\",\"media\":\"clip.mp4\"}\n{\"id\":\"b\",\"media\":\"clip-again.mp4\"}\n").unwrap();
/// let report = dedup_backlog(&backlog, None, &EngineConfig::default(), &BatchOptions::default()).unwrap();
/// assert_eq!(report.clusters[0].members, ["a", "b"]);
/// assert_eq!(report.clusters[0].reasons[0].kind.as_str(), "blake3");
/// ```
///
/// # Errors
/// [`EngineError::Io`] when the backlog cannot be read; [`EngineError::Config`] for an invalid
/// configuration.
pub fn dedup_backlog(
    path: &Path,
    known: Option<&Engine>,
    config: &EngineConfig,
    options: &BatchOptions,
) -> crate::Result<BatchReport> {
    let (file, base) = open_backlog(path)?;
    let total = if options.progress.is_some() {
        count_lines(path).ok()
    } else {
        None
    };
    run(file, base, known, config, options, total, false)
}

/// [`dedup_backlog`] that also records every referral of the backlog into `db` (one journal
/// group: all or none), so later checks against `db` see them as earlier referrals. A referral
/// already recorded with the same id and the same keys is not recorded again.
///
/// ```
/// use referral_dedup::batch::{dedup_backlog_recording, BatchOptions};
/// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
/// let dir = tempfile::tempdir().unwrap();
/// let backlog = dir.path().join("backlog.jsonl");
/// std::fs::write(&backlog, "{\"id\":\"a\",\"url\":\"https://t.me/chan/7\"}\n").unwrap();
/// let db = Engine::in_memory(EngineConfig::default()).unwrap();
/// dedup_backlog_recording(&backlog, &db, &EngineConfig::default(), &BatchOptions::default()).unwrap();
/// let later = db.check(&Referral::new("b").with_url("https://t.me/chan/7")).unwrap();
/// assert_eq!(later.kind, VerdictKind::Duplicate);
/// ```
///
/// # Errors
/// As [`dedup_backlog`]; a store error when recording fails (then nothing is recorded).
pub fn dedup_backlog_recording(
    path: &Path,
    db: &Engine,
    config: &EngineConfig,
    options: &BatchOptions,
) -> crate::Result<BatchReport> {
    let (file, base) = open_backlog(path)?;
    run(file, base, Some(db), config, options, None, true)
}

/// Opens a backlog file (the error names it) and the folder its relative media paths start from.
fn open_backlog(path: &Path) -> crate::Result<(std::fs::File, &Path)> {
    let file = std::fs::File::open(path).map_err(|e| {
        EngineError::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })?;
    Ok((file, path.parent().unwrap_or(Path::new("."))))
}

/// Deduplicates a backlog read from `reader`; relative media paths are resolved against `base`.
///
/// # Errors
/// As [`dedup_backlog`].
pub fn dedup_reader<R: Read>(
    reader: R,
    base: &Path,
    known: Option<&Engine>,
    config: &EngineConfig,
    options: &BatchOptions,
) -> crate::Result<BatchReport> {
    run(reader, base, known, config, options, None, false)
}

fn count_lines(path: &Path) -> std::io::Result<u64> {
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut n = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(n);
        }
        n += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let len = buf.len();
        reader.consume(len);
    }
}
