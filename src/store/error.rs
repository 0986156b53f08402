//! Why persistence failed ([`StoreError`]) and where stored bytes were found damaged
//! ([`Corruption`]).

use std::fmt;
use std::path::PathBuf;

use crate::hashes::EntryId;

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
    /// A file was written by a format version this build cannot read (a newer one, or one
    /// older than the oldest it still reads).
    #[error("{path}: format version {found}, this build reads versions {oldest} to {supported}", path = path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        found: u32,
        /// The version this build writes (the newest it reads).
        supported: u32,
        /// The oldest version this build reads.
        oldest: u32,
    },
    /// An intact file holds data a newer build wrote (a hash kind this build does not know):
    /// the whole store is refused rather than read without it, so nothing is dropped.
    #[error("{path}: written by a newer build of referral-dedup ({reason}); open it with that build", path = path.display())]
    NewerFeature {
        /// The file.
        path: PathBuf,
        /// What this build does not know.
        reason: String,
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
