//! The decision engine: one verdict per referral. (Being built: see issue 5.)

/// Why the engine refused an operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}
