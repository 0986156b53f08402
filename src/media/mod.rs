//! Media hashes: safe decoding, digests, PDQ, dHash and pHash. (Being built: see issue 3.)

/// Why media could not be read, decoded or hashed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// Reading the input failed.
    #[error("reading media: {0}")]
    Io(#[from] std::io::Error),
}
