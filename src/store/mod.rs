//! Crash-safe persistence in a directory: a checksummed append-only journal of [`Record`]s plus
//! compacted snapshots of the live state.
//!
//! ```text
//! DIR/MANIFEST               names the current snapshot and the first journal to replay
//! DIR/snapshot-NNNNNN.bin    compacted live state; replay continues at journal NNNNNN
//! DIR/journal-NNNNNN.log     records appended since, each length-prefixed and checksummed
//! ```
//!
//! - [`Store::open`] loads the snapshot the MANIFEST names, replays the journals after it and
//!   stops at the first torn or corrupt record, which it reports (path, offset, reason) in
//!   [`RecoveryReport::torn`] and cuts off so later appends follow the last good record.
//! - [`Store::append`] / [`Store::append_all`] return once the record is durable under the
//!   [`FsyncPolicy`]: fsynced ([`FsyncPolicy::EveryWrite`]), in the OS and fsynced by a
//!   background flusher within the period ([`FsyncPolicy::EveryMillis`]), or handed to the OS
//!   only ([`FsyncPolicy::Never`]: survives a process crash, not a power cut).
//! - [`Store::snapshot`] starts a new journal, writes the live state to a temp file, fsyncs and
//!   renames it, points the MANIFEST at it (same dance) and then deletes the older journals and
//!   snapshots.
//!
//! ## What is refused rather than guessed
//! Only the tail of the *last* journal can be torn by a crash (every journal is fsynced before
//! the next one starts, and headers are fsynced on creation), so that is the only damage open
//! repairs. A damaged snapshot, a damaged record in an earlier journal, a missing file the
//! MANIFEST names, a missing MANIFEST beside store files, or a newer format version is a typed
//! [`StoreError`]: open never falls back to an older snapshot (its journals are deleted once a
//! newer snapshot is in place, so falling back would silently lose acknowledged records).
//!
//! One process may open a directory at a time (nothing enforces this yet).
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
mod manifest;
mod record;
mod snapshot;

use std::fmt;
use std::path::PathBuf;

use crate::hashes::EntryId;

pub use directory::Store;
pub use journal::{encode_journal, scan_journal, JournalScan, JOURNAL_VERSION, MAX_RECORD_LEN};
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct StoreOptions {
    /// When appends are fsynced. Default: [`FsyncPolicy::EveryWrite`].
    pub fsync: FsyncPolicy,
}

impl StoreOptions {
    /// Sets the fsync policy.
    pub fn with_fsync(mut self, fsync: FsyncPolicy) -> Self {
        self.fsync = fsync;
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
    /// The torn or corrupt record that ended replay of the last journal, if any; it and
    /// everything after it were cut off.
    pub torn: Option<Corruption>,
}
