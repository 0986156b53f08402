//! Crash-safe persistence in a directory: a checksummed append-only journal of [`Record`]s plus
//! compacted snapshots of the live state.
//!
//! ```text
//! DIR/MANIFEST               names the current snapshot and the first journal to replay
//! DIR/snapshot-NNNNNN.bin    compacted live state; replay continues at journal NNNNNN
//! DIR/journal-NNNNNN.log     records appended since, each length-prefixed and checksummed
//! DIR/LOCK                   the writer lock: pid and command of the process holding it
//! DIR/damaged/               damaged journals set aside whole by compaction (never deleted)
//! ```
//!
//! - [`Store::open`] takes the writer lock, loads the snapshot the MANIFEST names and replays
//!   the journals after it. [`Store::read_only`] loads the same state without the lock and
//!   without changing any file, consistently even while a writer appends or compacts.
//! - [`Store::append`] / [`Store::append_all`] return once the record is durable under the
//!   [`FsyncPolicy`]: fsynced ([`FsyncPolicy::EveryWrite`]), in the OS and fsynced by a
//!   background flusher within the period ([`FsyncPolicy::EveryMillis`]), or handed to the OS
//!   only ([`FsyncPolicy::Never`]: survives a process crash, not a power cut). Several records
//!   appended together are one group: replay counts all of them or none.
//! - [`Store::snapshot`] starts a new journal, writes the live state to a temp file, fsyncs and
//!   renames it, points the MANIFEST at it (same dance), then deletes the older journals and
//!   snapshots, except damaged journals, which it moves into `DIR/damaged/`.
//!
//! ## One writer
//! A writer holds an exclusive lock on `DIR/LOCK` for its lifetime; a second writer fails with
//! [`StoreError::Locked`] (naming the holder's pid and command) or waits
//! ([`StoreOptions::wait_for_lock`]). The kernel drops the lock when the process ends, however
//! it ends. Readers take no lock.
//!
//! ## Damage is reported, never resolved by deleting valid data
//! Every journal frame carries its own length and checksum. Replay keeps every frame that checks
//! out: after a damaged frame it searches forward for the next intact frame and resumes there.
//! Files are never cut in place: a torn tail (a write cut short by a crash) stays where it is
//! and the writer starts a new journal after it. Everything skipped is listed in the
//! [`RecoveryReport`] (path, byte offset, what was kept) on every open until compaction
//! (`refdedup db repair`) sets the damaged journal aside. A damaged MANIFEST is replaced by what
//! the files present say. A damaged snapshot, a missing file the MANIFEST needs, or a newer
//! format version is a typed [`StoreError`]: open never falls back to an older snapshot (its
//! journals are gone once a newer snapshot is in place).
//!
//! ## Format versions
//! Journals: version 2 (this build) adds group markers to version 1; both are read, and a
//! writer never appends to a version-1 journal (it starts a version-2 one). Snapshots and the
//! MANIFEST: version 1. `tests/data/store/v1` and `v2` are committed fixtures of each.
//!
//! ```
//! use referral_dedup::hashes::EntryId;
//! use referral_dedup::store::{EntryRecord, EntrySource, Record, Store, StoreOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let (store, recovered) = Store::open(dir.path(), StoreOptions::default())?;
//! assert!(recovered.entries.is_empty());
//! let e = EntryRecord::new(EntryId(1), EntrySource::Known, "list-7");
//! store.append(&Record::Insert(e.clone()))?;
//! store.snapshot([&e], &[])?;
//! store.append(&Record::Delete(EntryId(1)))?;
//! drop(store);
//!
//! let (_store, recovered) = Store::open(dir.path(), StoreOptions::default())?;
//! assert!(recovered.entries.is_empty()); // snapshot had it, the journal deleted it
//! assert_eq!(recovered.report.snapshot_entries, 1);
//! assert_eq!(recovered.report.journal_records, 1);
//! # Ok(()) }
//! ```

mod codec;
mod directory;
mod journal;
mod lock;
mod manifest;
mod record;
mod snapshot;

use std::fmt;
use std::path::PathBuf;

use crate::hashes::EntryId;

pub use directory::Store;
pub use journal::{
    encode_journal, encode_journal_append, scan_journal, JournalScan, JOURNAL_VERSION,
    MAX_RECORD_LEN, MIN_JOURNAL_VERSION,
};
pub use record::{EntryRecord, EntrySource, Record};
pub use snapshot::{encode_snapshot, SnapshotColumns, SNAPSHOT_VERSION};

/// Where and why stored bytes were found damaged.
///
/// ```
/// use referral_dedup::store::Corruption;
/// let c = Corruption { path: "j.log".into(), offset: 40, reason: "checksum mismatch".into() };
/// assert_eq!(c.to_string(), "j.log at byte 40: checksum mismatch");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// The damaged file.
    pub path: PathBuf,
    /// Byte offset in the file where the damaged record, section or header starts.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {}: {}",
            self.path.display(),
            self.offset,
            self.reason
        )
    }
}

/// Why persistence failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O operation failed.
    #[error("store I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Stored bytes are damaged where a crash cannot have torn them.
    #[error("corrupt store file {0}")]
    Corruption(Corruption),
    /// A file was written by a format version this build cannot read.
    #[error("{path}: format version {found}, this build reads version {supported}", path = path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The directory holds journals or snapshots but no MANIFEST saying which are current.
    #[error("{dir}: store files without a MANIFEST", dir = dir.display())]
    MissingManifest {
        /// The store directory.
        dir: PathBuf,
    },
    /// A file the MANIFEST depends on does not exist.
    #[error("{path}: named by the MANIFEST but missing", path = path.display())]
    MissingFile {
        /// The missing file.
        path: PathBuf,
    },
    /// A record (or one string in it) is larger than the format allows.
    #[error("record of {len} bytes exceeds the limit of {max}")]
    RecordTooLarge {
        /// Encoded size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Two entries given to a snapshot share an id.
    #[error("entry id {0} appears twice in the snapshot input")]
    DuplicateId(EntryId),
    /// Another process holds the store open for writing.
    #[error("{dir} is in use by another writer ({holder}); wait for it to finish, or pass --wait to queue behind it", dir = dir.display())]
    Locked {
        /// The store directory.
        dir: PathBuf,
        /// Who holds the lock, as its `LOCK` file says (`pid ..., command ...`).
        holder: String,
    },
    /// The directory is missing, or holds no store, and the open may not create one.
    #[error("no database at {dir}: {why}", dir = dir.display())]
    NotADatabase {
        /// The directory asked for.
        dir: PathBuf,
        /// Why it is not one (missing directory, no MANIFEST).
        why: String,
    },
    /// An earlier write or fsync failed, so what is on disk is uncertain; reopen the store.
    #[error("store refuses writes after an earlier failure: {reason}")]
    Poisoned {
        /// The earlier failure.
        reason: String,
    },
}

/// When appended records are fsynced.
///
/// ```
/// use referral_dedup::store::{FsyncPolicy, StoreOptions};
/// assert_eq!(StoreOptions::default().fsync, FsyncPolicy::EveryWrite);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Every append is fsynced before it returns: an acknowledged record survives a power cut.
    #[default]
    EveryWrite,
    /// Appends are written to the OS at once and fsynced by a background flusher at most this
    /// many milliseconds later (0 is treated as 1): a power cut loses at most that window.
    EveryMillis(u64),
    /// Appends are written to the OS but never fsynced by the store (only by
    /// [`Store::sync`], snapshots and dropping the store): survives a process crash, not a
    /// power cut.
    Never,
}

/// How a [`Store`] is opened.
///
/// ```
/// use referral_dedup::store::{FsyncPolicy, StoreOptions};
/// let opts = StoreOptions::default().with_fsync(FsyncPolicy::EveryMillis(50));
/// assert_eq!(opts.fsync, FsyncPolicy::EveryMillis(50));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct StoreOptions {
    /// When appends are fsynced. Default: [`FsyncPolicy::EveryWrite`].
    pub fsync: FsyncPolicy,
    /// When another process holds the store, wait for it instead of failing with
    /// [`StoreError::Locked`]. Default: false.
    pub wait_for_lock: bool,
    /// Create the directory and an empty store when there is none. Default: true; when false, a
    /// missing store is [`StoreError::NotADatabase`].
    pub create: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            fsync: FsyncPolicy::default(),
            wait_for_lock: false,
            create: true,
        }
    }
}

impl StoreOptions {
    /// Sets the fsync policy.
    pub fn with_fsync(mut self, fsync: FsyncPolicy) -> Self {
        self.fsync = fsync;
        self
    }

    /// Waits for another writer instead of failing.
    pub fn with_wait_for_lock(mut self, wait: bool) -> Self {
        self.wait_for_lock = wait;
        self
    }

    /// Whether a missing store is created.
    pub fn with_create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }
}

/// The live state found by [`Store::open`], and how it was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Live entries after the snapshot and journal replay, in id order.
    pub entries: Vec<EntryRecord>,
    /// Short-link resolutions `(short_key, target)`, in short-key order, latest target winning.
    pub resolutions: Vec<(String, String)>,
    /// What was loaded and where replay stopped.
    pub report: RecoveryReport,
}

/// What [`Store::open`] loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The snapshot loaded, if any.
    pub snapshot: Option<PathBuf>,
    /// Entries in that snapshot.
    pub snapshot_entries: u64,
    /// Journal records replayed on top of it.
    pub journal_records: u64,
    /// The stretch at the end of the last journal that holds no complete record (a write cut
    /// short by a crash, or damage), if any. It is left in place, not replayed, and a writer
    /// appends to a new journal after it.
    pub torn: Option<Corruption>,
    /// Every other damaged stretch that was skipped (each with path, offset and what was kept):
    /// damaged records in any journal (replay resumed after them), torn ends of earlier
    /// journals, a damaged journal header, a damaged or missing MANIFEST. Reported on every open
    /// until [`Store::snapshot`] (`refdedup db repair`) sets the damaged files aside.
    pub damaged: Vec<Corruption>,
    /// Damaged journals, by path: left in place until compaction moves them into
    /// `DIR/damaged/` (never deleted).
    pub damaged_files: Vec<PathBuf>,
}

impl RecoveryReport {
    /// True when nothing was skipped or left unreplayed.
    ///
    /// ```
    /// assert!(referral_dedup::store::RecoveryReport::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.torn.is_none() && self.damaged.is_empty()
    }

    /// Every problem found: the damaged stretches, then the torn tail.
    pub fn problems(&self) -> impl Iterator<Item = &Corruption> {
        self.damaged.iter().chain(self.torn.iter())
    }
}
