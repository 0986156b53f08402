//! [`HashBundle`]: the digests and perceptual codes of one piece of media, the one type every
//! layer carries them in (media fingerprints, stored entries, hash-list items), and
//! [`StoredCode`], how each value is written to and read from bytes and text.
//!
//! Code that handles every kind alike (the store's encodings, hash-list columns, the CLI's
//! hash line) goes through [`HashBundle::text`], [`HashBundle::set_text`],
//! [`HashBundle::put_stored`] and [`HashBundle::set_stored`] over [`HashKind::in_bundle`], so
//! a new kind is its row in the kind table and its field here.

use serde::{Deserialize, Serialize};

use super::{Blake3, Hash64, HashKind, HexError, Md5, Pdq, Sha256};

/// A hash value as the store writes it: a fixed number of bytes per kind
/// ([`KindFacts::width`](super::KindFacts::width)), plus the hex text of lists and JSON.
///
/// ```
/// use referral_dedup::hashes::{Hash64, StoredCode};
/// let mut out = Vec::new();
/// Hash64(1).put_stored(&mut out);
/// assert_eq!(out, [1, 0, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(Hash64::from_stored(&out), Hash64(1));
/// ```
pub trait StoredCode: Copy + std::fmt::Display + std::str::FromStr<Err = HexError> {
    /// Appends the stored bytes (PDQ: four little-endian `u64` lanes; 64-bit codes: one
    /// little-endian `u64`; digests: their bytes).
    fn put_stored(&self, out: &mut Vec<u8>);
    /// Reads a value from exactly its stored width (the caller checks the length).
    fn from_stored(bytes: &[u8]) -> Self;
}

fn le_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(b)
}

impl StoredCode for Pdq {
    fn put_stored(&self, out: &mut Vec<u8>) {
        for lane in self.0 {
            out.extend_from_slice(&lane.to_le_bytes());
        }
    }
    fn from_stored(bytes: &[u8]) -> Self {
        Pdq(std::array::from_fn(|i| le_u64(&bytes[8 * i..])))
    }
}

impl StoredCode for Hash64 {
    fn put_stored(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }
    fn from_stored(bytes: &[u8]) -> Self {
        Hash64(le_u64(bytes))
    }
}

macro_rules! stored_digest {
    ($($ty:ident),*) => {$(
        impl StoredCode for $ty {
            fn put_stored(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
            fn from_stored(bytes: &[u8]) -> Self {
                let mut b = [0u8; $ty::LEN];
                b.copy_from_slice(&bytes[..$ty::LEN]);
                $ty(b)
            }
        }
    )*};
}
stored_digest!(Blake3, Sha256, Md5);

/// One optional value of a bundle, whatever its type.
trait Slot {
    fn present(&self) -> bool;
    fn put(&self, out: &mut Vec<u8>) -> bool;
    fn set_stored(&mut self, bytes: &[u8]);
    fn text(&self) -> Option<String>;
    fn set_text(&mut self, text: &str) -> Result<(), HexError>;
}

impl<T: StoredCode> Slot for Option<T> {
    fn present(&self) -> bool {
        self.is_some()
    }
    fn put(&self, out: &mut Vec<u8>) -> bool {
        self.map(|v| v.put_stored(out)).is_some()
    }
    fn set_stored(&mut self, bytes: &[u8]) {
        *self = Some(T::from_stored(bytes));
    }
    fn text(&self) -> Option<String> {
        self.map(|v| v.to_string())
    }
    fn set_text(&mut self, text: &str) -> Result<(), HexError> {
        *self = Some(text.trim().parse()?);
        Ok(())
    }
}

/// The digests and perceptual codes of one piece of media (every field optional: a hash list
/// may carry only an MD5, media that is not a picture has no perceptual codes).
///
/// Serialised (flattened into its holder) with the field names below, absent values left
/// out; `extra_pdq` is not serialised (no JSON or list format carries it).
///
/// ```
/// use referral_dedup::hashes::{HashBundle, HashKind, Hash64};
/// let mut b = HashBundle { dhash: Some(Hash64(0xff)), ..HashBundle::default() };
/// assert!(b.has(HashKind::Dhash) && !b.has(HashKind::Pdq));
/// b.set_text(HashKind::Md5, "d41d8cd98f00b204e9800998ecf8427e").unwrap();
/// let present: Vec<_> = b.present_kinds().collect();
/// assert_eq!(present, [HashKind::Md5, HashKind::Dhash]);
/// assert_eq!(b.text(HashKind::Dhash).as_deref(), Some("00000000000000ff"));
/// assert_eq!(serde_json::to_string(&b).unwrap(), r#"{"md5":"d41d8cd98f00b204e9800998ecf8427e","dhash":"00000000000000ff"}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HashBundle {
    /// BLAKE3 of the media bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<Blake3>,
    /// SHA-256 of the media bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    /// MD5 of the media bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<Md5>,
    /// PDQ hash of the picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<Pdq>,
    /// PDQ quality (0..=100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    /// 64-bit difference hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhash: Option<Hash64>,
    /// 64-bit DCT perceptual hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<Hash64>,
    /// Extra PDQ codes of the same picture (trimmed box, crops, small rotations), stored and
    /// looked up like `pdq`.
    #[serde(skip)]
    pub extra_pdq: Vec<Pdq>,
}

impl HashBundle {
    /// The field holding `kind` (`None` for the URL key, which is no media hash).
    fn slot(&self, kind: HashKind) -> Option<&dyn Slot> {
        Some(match kind {
            HashKind::UrlKey | HashKind::Vpdq | HashKind::Tmk => return None,
            HashKind::Blake3 => &self.blake3,
            HashKind::Sha256 => &self.sha256,
            HashKind::Md5 => &self.md5,
            HashKind::Pdq => &self.pdq,
            HashKind::Dhash => &self.dhash,
            HashKind::Phash => &self.phash,
        })
    }

    fn slot_mut(&mut self, kind: HashKind) -> Option<&mut dyn Slot> {
        Some(match kind {
            HashKind::UrlKey | HashKind::Vpdq | HashKind::Tmk => return None,
            HashKind::Blake3 => &mut self.blake3,
            HashKind::Sha256 => &mut self.sha256,
            HashKind::Md5 => &mut self.md5,
            HashKind::Pdq => &mut self.pdq,
            HashKind::Dhash => &mut self.dhash,
            HashKind::Phash => &mut self.phash,
        })
    }

    /// True when the bundle has a value of `kind`.
    ///
    /// ```
    /// use referral_dedup::hashes::{HashBundle, HashKind};
    /// assert!(!HashBundle::default().has(HashKind::Pdq));
    /// ```
    pub fn has(&self, kind: HashKind) -> bool {
        self.slot(kind).is_some_and(|s| s.present())
    }

    /// True when the bundle has any hash at all (an item with none can never match).
    ///
    /// ```
    /// use referral_dedup::hashes::HashBundle;
    /// assert!(!HashBundle::default().has_any());
    /// ```
    pub fn has_any(&self) -> bool {
        self.present_kinds().next().is_some()
    }

    /// The kinds present, in rank order.
    ///
    /// ```
    /// use referral_dedup::hashes::{HashBundle, Hash64, HashKind};
    /// let b = HashBundle { phash: Some(Hash64(1)), ..HashBundle::default() };
    /// assert_eq!(b.present_kinds().collect::<Vec<_>>(), [HashKind::Phash]);
    /// ```
    pub fn present_kinds(&self) -> impl Iterator<Item = HashKind> + '_ {
        HashKind::in_bundle().filter(|k| self.has(*k))
    }

    /// The value of `kind` as lowercase hex, when present.
    ///
    /// ```
    /// use referral_dedup::hashes::{HashBundle, Hash64, HashKind};
    /// let b = HashBundle { dhash: Some(Hash64(10)), ..HashBundle::default() };
    /// assert_eq!(b.text(HashKind::Dhash).unwrap(), "000000000000000a");
    /// ```
    pub fn text(&self, kind: HashKind) -> Option<String> {
        self.slot(kind)?.text()
    }

    /// Sets `kind` from hex text (surrounding spaces ignored).
    ///
    /// # Errors
    /// [`HexError`] when the text is not a value of the kind (also for the URL key, which a
    /// bundle does not hold).
    ///
    /// ```
    /// use referral_dedup::hashes::{HashBundle, HashKind};
    /// let mut b = HashBundle::default();
    /// assert!(b.set_text(HashKind::Dhash, "zz").is_err());
    /// assert!(b.set_text(HashKind::Dhash, " 00000000000000ff ").is_ok());
    /// ```
    pub fn set_text(&mut self, kind: HashKind, text: &str) -> Result<(), HexError> {
        match self.slot_mut(kind) {
            Some(slot) => slot.set_text(text),
            None => Err(HexError::Length {
                expected: 0,
                found: text.len(),
            }),
        }
    }

    /// Appends the stored bytes of `kind` ([`StoredCode::put_stored`], exactly
    /// [`KindFacts::width`](super::KindFacts::width) bytes) and returns true, or returns false
    /// when the value is absent.
    ///
    /// ```
    /// use referral_dedup::hashes::{HashBundle, Hash64, HashKind};
    /// let b = HashBundle { dhash: Some(Hash64(2)), ..HashBundle::default() };
    /// let mut out = Vec::new();
    /// assert!(b.put_stored(HashKind::Dhash, &mut out) && !b.put_stored(HashKind::Pdq, &mut out));
    /// assert_eq!(out.len(), 8);
    /// ```
    pub fn put_stored(&self, kind: HashKind, out: &mut Vec<u8>) -> bool {
        self.slot(kind).is_some_and(|s| s.put(out))
    }

    /// Sets `kind` from its stored bytes. `bytes` must be exactly the kind's width; anything
    /// else (or the URL key) is refused with `false` and changes nothing.
    ///
    /// ```
    /// use referral_dedup::hashes::{HashBundle, Hash64, HashKind};
    /// let mut b = HashBundle::default();
    /// assert!(b.set_stored(HashKind::Phash, &[3, 0, 0, 0, 0, 0, 0, 0]));
    /// assert_eq!(b.phash, Some(Hash64(3)));
    /// assert!(!b.set_stored(HashKind::Phash, &[3]));
    /// ```
    pub fn set_stored(&mut self, kind: HashKind, bytes: &[u8]) -> bool {
        if bytes.len() != kind.facts().width() {
            return false;
        }
        match self.slot_mut(kind) {
            Some(slot) => {
                slot.set_stored(bytes);
                true
            }
            None => false,
        }
    }

    /// The value of a 64-bit perceptual kind (dHash, pHash, ...) as a [`Hash64`]; `None` for
    /// other kinds or when absent.
    ///
    /// ```
    /// use referral_dedup::hashes::{HashBundle, Hash64, HashKind};
    /// let b = HashBundle { phash: Some(Hash64(5)), ..HashBundle::default() };
    /// assert_eq!(b.code64(HashKind::Phash), Some(Hash64(5)));
    /// assert_eq!(b.code64(HashKind::Md5), None);
    /// ```
    pub fn code64(&self, kind: HashKind) -> Option<Hash64> {
        if kind.is_exact() || kind.bits() != 64 {
            return None;
        }
        let mut bytes = Vec::with_capacity(8);
        self.put_stored(kind, &mut bytes)
            .then(|| Hash64::from_stored(&bytes))
    }

    /// Every stored PDQ code: the plain one, then the extra codes.
    ///
    /// ```
    /// use referral_dedup::hashes::{HashBundle, Pdq};
    /// let b = HashBundle { pdq: Some(Pdq([1; 4])), extra_pdq: vec![Pdq([2; 4])], ..HashBundle::default() };
    /// assert_eq!(b.pdq_codes().count(), 2);
    /// ```
    pub fn pdq_codes(&self) -> impl Iterator<Item = &Pdq> {
        self.pdq.iter().chain(self.extra_pdq.iter())
    }
}

#[cfg(test)]
impl HashBundle {
    /// A bundle with a value of every kind in the table (bytes derived from the kind's
    /// position) and `quality`: the crate's round-trip tests (bundle, hash lists, store).
    pub(crate) fn with_every_kind(quality: u8) -> HashBundle {
        let mut b = HashBundle {
            pdq_quality: Some(quality),
            ..HashBundle::default()
        };
        for (i, kind) in HashKind::in_bundle().enumerate() {
            let bytes: Vec<u8> = (0..kind.facts().width())
                .map(|j| (i + 3 * j) as u8)
                .collect();
            assert!(b.set_stored(kind, &bytes), "{kind}");
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> HashBundle {
        HashBundle::with_every_kind(90)
    }

    #[test]
    fn every_kind_round_trips_through_stored_bytes_and_text() {
        let b = full();
        let mut back = HashBundle {
            pdq_quality: Some(90),
            ..HashBundle::default()
        };
        let mut text = back.clone();
        for kind in HashKind::in_bundle() {
            let mut out = Vec::new();
            assert!(b.put_stored(kind, &mut out), "{kind}");
            assert_eq!(out.len(), kind.facts().width(), "{kind}");
            assert!(back.set_stored(kind, &out));
            text.set_text(kind, &b.text(kind).unwrap()).unwrap();
        }
        assert_eq!(back, b);
        assert_eq!(text, b);
        assert!(!back.set_stored(HashKind::UrlKey, &[]));
        assert!(back.set_text(HashKind::UrlKey, "x").is_err());
        assert_eq!(b.present_kinds().count(), HashKind::in_bundle().count());
        let typed = HashBundle {
            md5: Some(Md5([3; 16])),
            ..HashBundle::default()
        };
        assert_eq!(typed.text(HashKind::Md5).unwrap(), "03".repeat(16));
    }

    #[test]
    fn stored_pdq_bytes_are_the_lanes_little_endian() {
        let mut out = Vec::new();
        Pdq([1, 0, 0, 2]).put_stored(&mut out);
        assert_eq!(out[0], 1);
        assert_eq!(out[24], 2);
    }
}
