//! # referral-dedup
//!
//! Stops duplicate and already-removed online content from reaching a human reviewer twice.
//!
//! Each incoming referral (a URL, and media bytes where present) is turned into keys and hashes
//! and checked against an in-memory index of earlier referrals and known-removed content before a
//! person sees it.
//!
//! ## Core concepts
//! - [`url`]: platform-aware URL keys. Every spelling of one video/post maps to one key; different
//!   items never merge.
//! - [`media`]: safe decoding with limits, BLAKE3/SHA-256/MD5 digests, PDQ (bit-compatible with
//!   Meta's reference), dHash and pHash.
//! - [`hashes`]: the hash value types every layer shares.
//! - [`entry`]: the entries the engine indexes (one per earlier referral or known item).
//! - [`index`]: exact lookups and Hamming-radius search (multi-index hashing) over 64- and 256-bit
//!   codes.
//! - [`store`]: crash-safe persistence: a checksummed journal plus compacted snapshots.
//! - [`engine`]: one verdict per referral (new / duplicate / known) with evidence.
//! - [`video`]: video decoding through `ffmpeg`, vPDQ frame hashes, clip-aware matching and
//!   TMK+PDQF.
//! - [`batch`]: deduplicate a backlog in parallel into clusters, with a report.
//!
//! Layers depend downwards only: `url` and `media` are pure functions of their input, `index`
//! holds codes and entry ids, `store` persists index records, `engine` owns the policy.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub mod batch;
pub mod engine;
pub mod entry;
pub mod error;
pub mod hashes;
pub mod hashlist;
pub mod index;
pub mod matching;
pub mod media;
pub mod store;
pub mod url;
pub mod video;

pub use error::{Error, Result};
