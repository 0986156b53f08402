//! [`HashKind`]: the kinds of key and hash a match can be made on, with every per-kind fact
//! (name, exact or perceptual, rank, bit width, stored presence bit) in one table,
//! [`HashKind::facts`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kinds of hash and key a match can be made on.
///
/// ```
/// use referral_dedup::hashes::HashKind;
/// assert_eq!(HashKind::Pdq.as_str(), "pdq");
/// assert_eq!("sha256".parse::<HashKind>().unwrap(), HashKind::Sha256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashKind {
    /// Platform-aware URL key.
    UrlKey,
    /// BLAKE3 of the media bytes.
    Blake3,
    /// SHA-256 of the media bytes.
    Sha256,
    /// MD5 of the media bytes.
    Md5,
    /// 256-bit PDQ perceptual hash.
    Pdq,
    /// 64-bit difference hash.
    Dhash,
    /// 64-bit DCT perceptual hash.
    Phash,
    /// A video's vPDQ frame codes (matched by the engine's video rule; stored with the
    /// entry's video, not in the bundle).
    Vpdq,
    /// A video's TMK+PDQF features (stored with the entry's video, not in the bundle).
    Tmk,
}

/// What the crate knows about one [`HashKind`]: one row of [`HashKind::facts`]'s table.
///
/// ```
/// use referral_dedup::hashes::HashKind;
/// let f = HashKind::Dhash.facts();
/// assert_eq!((f.name, f.exact, f.bits, f.stored_bit), ("dhash", false, 64, Some(7)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindFacts {
    /// The kind.
    pub kind: HashKind,
    /// Lowercase name used in JSON keys, hash-list columns and messages.
    pub name: &'static str,
    /// Matches on equality (URL keys, digests; such matches may chain in a cluster) rather
    /// than within a Hamming distance (perceptual codes).
    pub exact: bool,
    /// Width of a value in bits (0: variable, the URL key's text).
    pub bits: u32,
    /// The kind's presence bit in a stored entry (journal records and snapshot flags), for
    /// the kinds a [`HashBundle`](super::HashBundle) holds. Fixed once released. The kinds of
    /// the first formats hold bits 2 to 8; a kind added now takes a free bit from 16 to 30 and
    /// needs no new format version (the store refuses files with a kind bit it does not know
    /// as written by a newer build). Bits 0, 1 and 9 to 15 hold the entry's other fields and
    /// its source.
    pub stored_bit: Option<u8>,
}

impl KindFacts {
    /// Bytes of one stored value (`bits / 8`).
    ///
    /// ```
    /// use referral_dedup::hashes::HashKind;
    /// assert_eq!(HashKind::Md5.facts().width(), 16);
    /// ```
    pub const fn width(&self) -> usize {
        (self.bits / 8) as usize
    }
}

const fn facts(
    kind: HashKind,
    name: &'static str,
    exact: bool,
    bits: u32,
    stored_bit: Option<u8>,
) -> KindFacts {
    KindFacts {
        kind,
        name,
        exact,
        bits,
        stored_bit,
    }
}

/// Every kind's facts, strongest match first (the rank order). A new kind is one row here,
/// one variant above, and its field in [`HashBundle`](super::HashBundle).
const TABLE: [KindFacts; 9] = [
    facts(HashKind::UrlKey, "url_key", true, 0, None),
    facts(HashKind::Blake3, "blake3", true, 256, Some(2)),
    facts(HashKind::Sha256, "sha256", true, 256, Some(3)),
    facts(HashKind::Md5, "md5", true, 128, Some(4)),
    facts(HashKind::Pdq, "pdq", false, 256, Some(5)),
    facts(HashKind::Dhash, "dhash", false, 64, Some(7)),
    facts(HashKind::Phash, "phash", false, 64, Some(8)),
    facts(HashKind::Vpdq, "vpdq", false, 256, None),
    facts(HashKind::Tmk, "tmk", false, 0, None),
];

impl HashKind {
    /// Every kind, in rank order (strongest first).
    pub const ALL: [HashKind; TABLE.len()] = {
        let mut out = [HashKind::UrlKey; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            out[i] = TABLE[i].kind;
            i += 1;
        }
        out
    };

    /// This kind's row of the kind table.
    ///
    /// ```
    /// use referral_dedup::hashes::HashKind;
    /// assert_eq!(HashKind::Pdq.facts().bits, 256);
    /// ```
    pub fn facts(self) -> &'static KindFacts {
        // Rows are in declaration order (checked by a test), so the discriminant is the row.
        &TABLE[self as usize]
    }

    /// The kinds a [`HashBundle`](super::HashBundle) holds (every kind but the URL key), in
    /// rank order: the order they are stored, listed and printed in.
    ///
    /// ```
    /// use referral_dedup::hashes::HashKind;
    /// assert_eq!(HashKind::in_bundle().next(), Some(HashKind::Blake3));
    /// ```
    pub fn in_bundle() -> impl Iterator<Item = HashKind> {
        TABLE
            .iter()
            .filter(|f| f.stored_bit.is_some())
            .map(|f| f.kind)
    }

    /// True for URL keys and digests: they match on equality (no distance), and matches on them
    /// may chain in a cluster; perceptual codes match within a distance.
    ///
    /// ```
    /// use referral_dedup::hashes::HashKind;
    /// assert!(HashKind::Md5.is_exact() && !HashKind::Pdq.is_exact());
    /// ```
    pub fn is_exact(self) -> bool {
        self.facts().exact
    }

    /// Strength rank of a match on this kind, 0 strongest: the order of [`HashKind::ALL`]
    /// (URL key, digests, then PDQ, dHash, pHash). Verdicts and batch clusters both order
    /// evidence by it.
    ///
    /// ```
    /// use referral_dedup::hashes::HashKind;
    /// assert!(HashKind::UrlKey.rank() < HashKind::Pdq.rank());
    /// assert!(HashKind::Pdq.rank() < HashKind::Phash.rank());
    /// ```
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// Width of a value in bits (0 for the URL key's text).
    ///
    /// ```
    /// use referral_dedup::hashes::HashKind;
    /// assert_eq!(HashKind::Phash.bits(), 64);
    /// ```
    pub fn bits(self) -> u32 {
        self.facts().bits
    }

    /// Lowercase name used in JSON and hash-list headers.
    ///
    /// ```
    /// use referral_dedup::hashes::HashKind;
    /// assert_eq!(HashKind::UrlKey.as_str(), "url_key");
    /// ```
    pub fn as_str(self) -> &'static str {
        self.facts().name
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HashKind {
    type Err = UnknownHashKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HashKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownHashKind(s.to_string()))
    }
}

/// A hash kind name that is not one of [`HashKind::ALL`].
///
/// ```
/// use referral_dedup::hashes::HashKind;
/// assert!("crc32".parse::<HashKind>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hash kind {0:?}")]
pub struct UnknownHashKind(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_declaration_order_with_distinct_names_and_bits() {
        for (i, f) in TABLE.iter().enumerate() {
            assert_eq!(f.kind as usize, i, "{}", f.name);
            assert_eq!(f.kind.facts().name, f.name);
            assert_eq!(f.name.parse::<HashKind>(), Ok(f.kind));
            assert_eq!(f.bits % 8, 0);
            // Video kinds live in the entry's video record, not in the bundle.
            let video = matches!(f.kind, HashKind::Vpdq | HashKind::Tmk);
            assert_eq!(f.stored_bit.is_some(), f.bits > 0 && !video, "{}", f.name);
        }
        let mut bits = 0u32;
        for b in TABLE.iter().filter_map(|f| f.stored_bit) {
            assert!(
                (2..=8).contains(&b) && b != 6 || (16..31).contains(&b),
                "bit {b} is taken"
            );
            assert_eq!(bits & (1 << b), 0, "bit {b} twice");
            bits |= 1 << b;
        }
        let names: std::collections::HashSet<_> = TABLE.iter().map(|f| f.name).collect();
        assert_eq!(names.len(), TABLE.len());
    }
}
