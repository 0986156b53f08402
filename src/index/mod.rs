//! Exact and Hamming-radius indexes over hash codes. (Being built: see issue 4.)

/// Why an index operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The radius is larger than the code has bits.
    #[error("radius {radius} exceeds code length {bits}")]
    RadiusTooLarge {
        /// Requested radius.
        radius: u32,
        /// Bits in the code.
        bits: u32,
    },
}
