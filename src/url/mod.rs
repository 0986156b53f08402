//! URL keys: canonicalisation, tracking-parameter removal, redirect unwrapping and
//! platform-aware content keys. (Being built: see issue 2.)

/// Why a URL could not be keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The input is empty after trimming whitespace.
    #[error("empty URL")]
    Empty,
}
