//! The engine's error type and what an import did.

use crate::hashlist::{HashListError, RowError};

/// Why the engine refused an operation.
///
/// ```
/// use referral_dedup::engine::{Engine, EngineConfig, EngineError};
/// let mut config = EngineConfig::default();
/// config.max_evidence = 0;
/// let err = Engine::in_memory(config).unwrap_err();
/// assert!(matches!(err, referral_dedup::Error::Engine(EngineError::Config(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A hash list could not be imported (strict mode, or no usable header).
    #[error("hash list: {0}")]
    List(RowError),
    /// Reading input failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The entry id space (2^32 entries) is exhausted.
    #[error("entry id space exhausted")]
    Full,
    /// An item to add has nothing to match on.
    #[error("nothing to match on: {0}")]
    Empty(String),
    /// The engine was opened read-only ([`Engine::open_read_only`](super::Engine::open_read_only)): it cannot record.
    #[error("the database was opened read-only; this command cannot change it")]
    ReadOnly,
    /// A media path is not a regular file (a directory, device, FIFO or socket), or is larger
    /// than the limit for any media read.
    #[error("{0}")]
    NotMedia(String),
}

/// What an import did.
///
/// ```
/// use referral_dedup::engine::{Engine, EngineConfig, ListFormat};
/// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
/// let list = "id,md5\na,d41d8cd98f00b204e9800998ecf8427e\nb,xyz\n";
/// let report = engine.import_list(list.as_bytes(), ListFormat::Csv, false).unwrap();
/// assert_eq!((report.imported, report.skipped.len()), (1, 1));
/// ```
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    /// Items added.
    pub imported: usize,
    /// Items already present with the same id and hashes (not added again).
    pub unchanged: usize,
    /// Rows skipped, with line numbers and reasons.
    pub skipped: Vec<RowError>,
    /// Header columns that were ignored.
    pub ignored_columns: Vec<String>,
}

impl From<HashListError> for EngineError {
    /// A list error as the engine reports it: a bad list or row stays [`EngineError::List`],
    /// a read failure [`EngineError::Io`], an unknown format name [`EngineError::Config`].
    fn from(e: HashListError) -> EngineError {
        match e {
            HashListError::List(row) => EngineError::List(row),
            HashListError::Io(io) => EngineError::Io(io),
            HashListError::UnknownFormat(name) => EngineError::Config(format!(
                "unknown list format {name:?} (expected csv, tsv or jsonl)"
            )),
        }
    }
}
