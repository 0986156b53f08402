//! The entries the engine indexes: one [`EntryRecord`] per earlier referral or item of known
//! content, with every key and hash it is matched by.
//!
//! The store persists them ([`crate::store`]), the engine indexes them ([`crate::engine`]); this
//! module knows nothing of either, so both can depend on it.

use serde::{Deserialize, Serialize};

use crate::hashes::{Blake3, EntryId, Hash64, Md5, Pdq, Sha256};

/// Where an entry came from.
///
/// ```
/// use referral_dedup::entry::EntrySource;
/// assert_ne!(EntrySource::Referral, EntrySource::Known);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntrySource {
    /// An earlier referral (a match makes the new one a duplicate).
    Referral,
    /// Known-removed content from a hash list or a media file (a match makes it "known").
    Known,
}

/// One stored entry: every key and hash the engine indexes for it.
///
/// ```
/// use referral_dedup::hashes::EntryId;
/// use referral_dedup::entry::{EntryRecord, EntrySource};
/// let e = EntryRecord::new(EntryId(1), EntrySource::Known, "poster-17");
/// assert!(e.pdq.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    /// Index-wide id.
    pub id: EntryId,
    /// Referral or known content.
    pub source: EntrySource,
    /// The referral id, or the hash-list id / file name of known content.
    pub external_id: String,
    /// Free-text label (for example the hash list or campaign name).
    pub label: Option<String>,
    /// Platform-aware URL key.
    pub url_key: Option<String>,
    /// BLAKE3 of the media bytes.
    pub blake3: Option<Blake3>,
    /// SHA-256 of the media bytes.
    pub sha256: Option<Sha256>,
    /// MD5 of the media bytes.
    pub md5: Option<Md5>,
    /// PDQ hash of the media.
    pub pdq: Option<Pdq>,
    /// PDQ quality (0..=100).
    pub pdq_quality: Option<u8>,
    /// 64-bit difference hash.
    pub dhash: Option<Hash64>,
    /// 64-bit DCT perceptual hash.
    pub phash: Option<Hash64>,
    /// Extra PDQ hashes of the same item (for example of the border-trimmed image or of
    /// central crops), matched like `pdq`.
    pub extra_pdq: Vec<Pdq>,
    /// When the referral was received (free text, as given).
    pub received_at: Option<String>,
    /// The frame codes (and TMK+PDQF) of a video entry: a known video or a referral whose
    /// media is a video ([`crate::video::StoredVideo`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<Box<crate::video::StoredVideo>>,
}

impl EntryRecord {
    /// An entry with no keys or hashes yet.
    pub fn new(id: EntryId, source: EntrySource, external_id: impl Into<String>) -> Self {
        EntryRecord {
            id,
            source,
            external_id: external_id.into(),
            label: None,
            url_key: None,
            blake3: None,
            sha256: None,
            md5: None,
            pdq: None,
            pdq_quality: None,
            dhash: None,
            phash: None,
            extra_pdq: Vec::new(),
            received_at: None,
            video: None,
        }
    }
}
