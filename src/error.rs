//! The crate-wide error type joining each layer's own error enum.
//!
//! ```
//! use referral_dedup::Error;
//! let e: Error = referral_dedup::url::UrlError::Empty.into();
//! assert!(e.to_string().contains("empty"));
//! ```

/// Any error the crate can return; each variant wraps one layer's typed error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL could not be keyed.
    #[error(transparent)]
    Url(#[from] crate::url::UrlError),
    /// Media could not be read, decoded or hashed.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    /// An index operation failed.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    /// Persistence failed or found corruption.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A video could not be decoded, hashed or read as a hash list.
    #[error(transparent)]
    Video(#[from] crate::video::VideoError),
    /// The engine refused an operation.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
}

/// `Result` with the crate-wide [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
