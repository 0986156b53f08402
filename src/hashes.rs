//! Hash value types shared by every layer: the 256-bit PDQ code, 64-bit perceptual codes
//! (dHash/pHash), the cryptographic digests (BLAKE3, SHA-256, MD5) and entry ids.
//!
//! These are plain values: `Copy`, hashable, comparable, with lowercase hex `Display`/`FromStr`
//! and serde as hex strings. The media layer produces them, the index stores them, the store
//! persists them and the engine compares them, so they live below all of those layers.
//!
//! ```
//! use referral_dedup::hashes::{Pdq, Hash64};
//! # fn main() -> Result<(), referral_dedup::hashes::HexError> {
//! let a: Pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
//! let b: Pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23".parse()?;
//! assert_eq!(a.distance(&b), 1);
//! assert_eq!(a.to_string(), "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22");
//! let d: Hash64 = "00000000000000ff".parse()?;
//! assert_eq!(d.distance(&Hash64(0)), 8);
//! # Ok(()) }
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a hex string could not be read as a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// The string has the wrong number of hex digits.
    #[error("expected {expected} hex digits, found {found}")]
    Length {
        /// Digits the hash type needs.
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A character is not a hex digit.
    #[error("invalid hex digit at position {position}")]
    Digit {
        /// Zero-based character position.
        position: usize,
    },
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

/// Decodes `s` (upper or lower case) into `out`, which fixes the expected length.
fn decode_hex_into(s: &str, out: &mut [u8]) -> Result<(), HexError> {
    let bytes = s.as_bytes();
    if bytes.len() != out.len() * 2 {
        return Err(HexError::Length {
            expected: out.len() * 2,
            found: bytes.len(),
        });
    }
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = hex_value(pair[0]).ok_or(HexError::Digit { position: 2 * i })?;
        let lo = hex_value(pair[1]).ok_or(HexError::Digit {
            position: 2 * i + 1,
        })?;
        out[i] = (hi << 4) | lo;
    }
    Ok(())
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 128];
    let n = bytes.len() * 2;
    debug_assert!(n <= buf.len());
    for (i, b) in bytes.iter().enumerate() {
        buf[2 * i] = DIGITS[(b >> 4) as usize];
        buf[2 * i + 1] = DIGITS[(b & 15) as usize];
    }
    // The buffer holds only ASCII hex digits.
    f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
}

/// Implements hex Display/Debug/FromStr and serde-as-hex for a type with
/// `to_bytes() -> [u8; N]` and `from_bytes([u8; N]) -> Self`.
macro_rules! hex_codec {
    ($ty:ident, $n:expr, $name:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.to_bytes())
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($name, "("))?;
                write_hex(f, &self.to_bytes())?;
                write!(f, ")")
            }
        }

        impl FromStr for $ty {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                let mut bytes = [0u8; $n];
                decode_hex_into(s, &mut bytes)?;
                Ok(Self::from_bytes(bytes))
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A 256-bit PDQ hash.
///
/// Bit `k` (0..=255) of the reference hash is bit `k % 64` of lane `k / 64`. The text form is
/// the reference's: 64 lowercase hex digits reading the hash as a big-endian 256-bit integer in
/// which bit `k` has weight `2^k` (so lane 3 is printed first).
///
/// ```
/// use referral_dedup::hashes::Pdq;
/// let mut lanes = [0u64; 4];
/// lanes[0] = 1; // bit 0: the last hex digit
/// let p = Pdq(lanes);
/// assert!(p.to_string().ends_with("01"));
/// assert!(p.bit(0) && !p.bit(1));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pdq(pub [u64; 4]);

impl Pdq {
    /// Number of bits in the code.
    pub const BITS: u32 = 256;

    /// Hamming distance: the number of differing bits (0..=256).
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// assert_eq!(Pdq([0; 4]).distance(&Pdq([u64::MAX; 4])), 256);
    /// ```
    #[inline]
    pub fn distance(&self, other: &Pdq) -> u32 {
        (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones()
    }

    /// Value of bit `k` (0..=255) in the reference numbering.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// assert!(Pdq([0, 0, 0, 1 << 63]).bit(255));
    /// ```
    #[inline]
    pub fn bit(&self, k: usize) -> bool {
        (self.0[k / 64] >> (k % 64)) & 1 == 1
    }

    /// Sets bit `k` (0..=255) in the reference numbering.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// let mut p = Pdq::default();
    /// p.set_bit(200, true);
    /// assert!(p.bit(200));
    /// ```
    #[inline]
    pub fn set_bit(&mut self, k: usize, value: bool) {
        let mask = 1u64 << (k % 64);
        if value {
            self.0[k / 64] |= mask;
        } else {
            self.0[k / 64] &= !mask;
        }
    }

    /// The 32 bytes of the text form (byte 0 = the first two hex digits).
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// assert_eq!(Pdq([0, 0, 0, 0xab << 56]).to_bytes()[0], 0xab);
    /// ```
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for lane in 0..4 {
            out[(3 - lane) * 8..(4 - lane) * 8].copy_from_slice(&self.0[lane].to_be_bytes());
        }
        out
    }

    /// Inverse of [`Pdq::to_bytes`].
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// let p = Pdq([1, 2, 3, 4]);
    /// assert_eq!(Pdq::from_bytes(p.to_bytes()), p);
    /// ```
    pub fn from_bytes(bytes: [u8; 32]) -> Pdq {
        let mut lanes = [0u64; 4];
        for (lane, slot) in lanes.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[(3 - lane) * 8..(4 - lane) * 8]);
            *slot = u64::from_be_bytes(b);
        }
        Pdq(lanes)
    }
}
hex_codec!(Pdq, 32, "Pdq");

/// A 64-bit perceptual code (dHash or pHash), printed as 16 hex digits of the big-endian value.
///
/// ```
/// use referral_dedup::hashes::Hash64;
/// assert_eq!(Hash64(0xff).to_string(), "00000000000000ff");
/// assert_eq!(Hash64(0b1011).distance(&Hash64(0)), 3);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash64(pub u64);

impl Hash64 {
    /// Number of bits in the code.
    pub const BITS: u32 = 64;

    /// Hamming distance (0..=64).
    ///
    /// ```
    /// use referral_dedup::hashes::Hash64;
    /// assert_eq!(Hash64(u64::MAX).distance(&Hash64(0)), 64);
    /// ```
    #[inline]
    pub fn distance(&self, other: &Hash64) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    /// Big-endian bytes (the text order).
    ///
    /// ```
    /// use referral_dedup::hashes::Hash64;
    /// assert_eq!(Hash64(1).to_bytes()[7], 1);
    /// ```
    pub fn to_bytes(&self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// Inverse of [`Hash64::to_bytes`].
    ///
    /// ```
    /// use referral_dedup::hashes::Hash64;
    /// assert_eq!(Hash64::from_bytes([0, 0, 0, 0, 0, 0, 0, 7]), Hash64(7));
    /// ```
    pub fn from_bytes(bytes: [u8; 8]) -> Hash64 {
        Hash64(u64::from_be_bytes(bytes))
    }
}
hex_codec!(Hash64, 8, "Hash64");

macro_rules! digest_type {
    ($(#[$doc:meta])* $ty:ident, $n:expr, $name:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(pub [u8; $n]);

        impl $ty {
            /// Length of the digest in bytes.
            pub const LEN: usize = $n;

            /// The digest bytes.
            pub fn to_bytes(&self) -> [u8; $n] {
                self.0
            }

            /// Wraps digest bytes.
            pub fn from_bytes(bytes: [u8; $n]) -> Self {
                Self(bytes)
            }
        }
        hex_codec!($ty, $n, $name);
    };
}

digest_type!(
    /// A BLAKE3 digest (32 bytes): the crate's primary exact key for media bytes.
    ///
    /// ```
    /// use referral_dedup::hashes::Blake3;
    /// let d = Blake3([0xab; 32]);
    /// assert_eq!(d.to_string().len(), 64);
    /// assert_eq!(d.to_string().parse::<Blake3>().unwrap(), d);
    /// ```
    Blake3,
    32,
    "Blake3"
);
digest_type!(
    /// A SHA-256 digest (32 bytes), for interop with shared hash lists.
    ///
    /// ```
    /// use referral_dedup::hashes::Sha256;
    /// let d: Sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".parse().unwrap();
    /// assert_eq!(d.0[0], 0xe3);
    /// ```
    Sha256,
    32,
    "Sha256"
);
digest_type!(
    /// An MD5 digest (16 bytes), for interop with shared hash lists.
    ///
    /// ```
    /// use referral_dedup::hashes::Md5;
    /// let d: Md5 = "d41d8cd98f00b204e9800998ecf8427e".parse().unwrap();
    /// assert_eq!(d.to_string(), "d41d8cd98f00b204e9800998ecf8427e");
    /// ```
    Md5,
    16,
    "Md5"
);

/// Identifier of one stored entry in the index and journal. The engine maps ids to referral ids
/// and known-list labels.
///
/// ```
/// use referral_dedup::hashes::EntryId;
/// assert_eq!(EntryId(7).to_string(), "7");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct EntryId(pub u32);

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

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
    /// A video's vPDQ frame codes (matched by the engine's video rule).
    Vpdq,
    /// A video's TMK+PDQF features.
    Tmk,
}

impl HashKind {
    /// Every kind, in a fixed order.
    pub const ALL: [HashKind; 9] = [
        HashKind::UrlKey,
        HashKind::Blake3,
        HashKind::Sha256,
        HashKind::Md5,
        HashKind::Pdq,
        HashKind::Dhash,
        HashKind::Phash,
        HashKind::Vpdq,
        HashKind::Tmk,
    ];

    /// True for URL keys and digests: they match on equality (no distance), and matches on them
    /// may chain in a cluster; perceptual codes match within a distance.
    ///
    /// ```
    /// use referral_dedup::hashes::HashKind;
    /// assert!(HashKind::Md5.is_exact() && !HashKind::Pdq.is_exact());
    /// ```
    pub fn is_exact(self) -> bool {
        matches!(
            self,
            HashKind::UrlKey | HashKind::Blake3 | HashKind::Sha256 | HashKind::Md5
        )
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
        HashKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(HashKind::ALL.len()) as u8
    }

    /// Lowercase name used in JSON and hash-list headers.
    pub fn as_str(self) -> &'static str {
        match self {
            HashKind::UrlKey => "url_key",
            HashKind::Blake3 => "blake3",
            HashKind::Sha256 => "sha256",
            HashKind::Md5 => "md5",
            HashKind::Pdq => "pdq",
            HashKind::Dhash => "dhash",
            HashKind::Phash => "phash",
            HashKind::Vpdq => "vpdq",
            HashKind::Tmk => "tmk",
        }
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hash kind {0:?}")]
pub struct UnknownHashKind(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pdq_hex_order_matches_reference() {
        // Bit 255 is the top bit of the first hex digit; bit 0 the low bit of the last.
        let mut p = Pdq::default();
        p.set_bit(255, true);
        assert_eq!(
            p.to_string(),
            "8000000000000000000000000000000000000000000000000000000000000000"
        );
        let mut q = Pdq::default();
        q.set_bit(0, true);
        assert_eq!(
            q.to_string(),
            "0000000000000000000000000000000000000000000000000000000000000001"
        );
        // Bit 16*i + j is word i bit j; word 1 prints as hex digits 57..60.
        let mut r = Pdq::default();
        r.set_bit(16 + 3, true);
        assert_eq!(&r.to_string()[56..60], "0008");
    }

    #[test]
    fn rejects_bad_hex() {
        assert_eq!(
            "abc".parse::<Hash64>(),
            Err(HexError::Length {
                expected: 16,
                found: 3
            })
        );
        assert_eq!(
            "000000000000000g".parse::<Hash64>(),
            Err(HexError::Digit { position: 15 })
        );
        assert!("é0000000000000000".parse::<Md5>().is_err());
    }

    #[test]
    fn serde_round_trip_as_hex() {
        let p = Pdq([1, 2, 3, u64::MAX]);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!("\"{p}\""));
        assert_eq!(serde_json::from_str::<Pdq>(&json).unwrap(), p);
        assert!(serde_json::from_str::<Pdq>("\"zz\"").is_err());
    }

    proptest! {
        #[test]
        fn pdq_text_round_trip(lanes in any::<[u64; 4]>()) {
            let p = Pdq(lanes);
            prop_assert_eq!(p.to_string().parse::<Pdq>().unwrap(), p);
            prop_assert_eq!(p.to_string().to_uppercase().parse::<Pdq>().unwrap(), p);
            prop_assert_eq!(Pdq::from_bytes(p.to_bytes()), p);
        }

        #[test]
        fn pdq_distance_matches_bitwise(a in any::<[u64; 4]>(), b in any::<[u64; 4]>()) {
            let (a, b) = (Pdq(a), Pdq(b));
            let naive = (0..256).filter(|&k| a.bit(k) != b.bit(k)).count() as u32;
            prop_assert_eq!(a.distance(&b), naive);
        }

        #[test]
        fn hex_parse_never_panics(s in ".{0,80}") {
            let _ = s.parse::<Pdq>();
            let _ = s.parse::<Hash64>();
            let _ = s.parse::<Sha256>();
        }
    }
}
