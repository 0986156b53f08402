//! Exact and Hamming-radius indexes over hash codes.
//!
//! - [`ExactIndex`]: digest or URL key -> entry ids, a concurrent map (many readers and writers).
//! - [`HammingIndex`]: every stored 64- or 256-bit code within a Hamming radius of a query,
//!   exactly (recall 1.0), by multi-index hashing over flat sorted arrays; inserts and deletes
//!   run concurrently with queries.
//!
//! The index knows codes and [`EntryId`]s only: no images, URLs or files (the store persists,
//! the engine decides).
//!
//! ```
//! use referral_dedup::hashes::{EntryId, Pdq};
//! use referral_dedup::index::{HammingIndex, Hit};
//!
//! let index = HammingIndex::<Pdq>::new();
//! index.insert(EntryId(1), Pdq([0, 0, 0, 0]));
//! index.insert(EntryId(2), Pdq([u64::MAX, 0, 0, 0]));
//! let hits = index.range(&Pdq([0b111, 0, 0, 0]), 31);
//! assert_eq!(hits, vec![Hit { id: EntryId(1), distance: 3 }]);
//! ```
//!
//! # Why the Hamming index is written by hand
//! No maintained Rust crate answers *exact* radius queries over binary codes at 10M+ entries with
//! concurrent inserts and deletes: the approximate-nearest-neighbour crates (HNSW and friends)
//! trade recall for speed and answer k-NN, not "everything within r"; BK-trees and VP-trees
//! degrade to a near-linear scan at PDQ's useful radii (~31 of 256 bits). Multi-index hashing
//! (Norouzi, Punjani, Fleet: "Fast Exact Search in Hamming Space with Multi-Index Hashing") is
//! exact and touches a tiny fraction of the data; the design details (flat arrays, first-table
//! candidate de-duplication, layout from the stored count) are in [`HammingIndex`].

mod code;
mod column;
mod exact;
mod file_io;
mod hamming;
mod layout;
mod prefetch;
mod radix;
mod segment;

pub use code::Code;
pub use exact::ExactIndex;
pub use hamming::{HammingConfig, HammingIndex};
pub use layout::{inline_bits, Layout};

use crate::hashes::EntryId;

/// One match of a radius query: the stored entry and its Hamming distance to the query.
///
/// ```
/// use referral_dedup::hashes::EntryId;
/// use referral_dedup::index::Hit;
/// let h = Hit { id: EntryId(3), distance: 0 };
/// assert_eq!(h.distance, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// The stored entry.
    pub id: EntryId,
    /// Hamming distance between the query and the entry's nearest stored code.
    pub distance: u32,
}

/// The work of a radius search, summed over its queries ([`HammingIndex::search_work`]).
///
/// Every bucket read and every candidate is a read at a random address, usually a DRAM miss at
/// 10M+ codes: `bucket_reads + candidates` (plus the `probes`' offset reads when the offsets do
/// not fit in the cache) estimates the misses of a search.
///
/// ```
/// use referral_dedup::index::SearchWork;
/// let w = SearchWork { probes: 10, bucket_reads: 7, entries: 60, candidates: 5 };
/// assert_eq!(w.random_reads(), 12);
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SearchWork {
    /// Coarse buckets looked up (reads of the bucket offsets).
    pub probes: u64,
    /// Non-empty buckets whose entries were read.
    pub bucket_reads: u64,
    /// Table entries read from those buckets.
    pub entries: u64,
    /// Stored codes compared with a query by a full popcount (including linear scans).
    pub candidates: u64,
}

impl SearchWork {
    /// Reads at random addresses outside the bucket offsets: bucket reads plus candidates.
    pub fn random_reads(&self) -> u64 {
        self.bucket_reads + self.candidates
    }
}

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
    /// An index file is not one this build wrote for this code type, or is damaged.
    #[error("index file damaged at byte {offset}: {reason}")]
    Corrupt {
        /// Byte offset in the file where the problem was found.
        offset: u64,
        /// What is wrong, in words.
        reason: String,
    },
    /// Reading or writing an index file failed.
    #[error("index file: {message}")]
    Io {
        /// The I/O error's kind.
        kind: std::io::ErrorKind,
        /// The I/O error's message.
        message: String,
    },
}
