//! Crash-safe persistence: journal and snapshots. (Being built: see issue 4.)

mod record;

pub use record::{EntryRecord, EntrySource, Record};

/// Why persistence failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O operation failed.
    #[error("store I/O: {0}")]
    Io(#[from] std::io::Error),
}
