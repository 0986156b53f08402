//! What comes in (a [`Referral`]) and what the engine computes from it (a [`Fingerprint`]).

use std::path::PathBuf;

use serde::Serialize;

use crate::hashes::{Blake3, Hash64, Md5, Pdq, Sha256};
use crate::matching::{QueryRegion, StoredRegion};
use crate::media::{Digests, MediaHashes};
use crate::url::UrlKey;

/// One referral: a URL, media, or both.
///
/// ```
/// use referral_dedup::engine::Referral;
/// let r = Referral::new("r-1").with_url("https://youtu.be/dQw4w9WgXcQ").with_media_bytes(vec![1, 2, 3]);
/// assert!(r.url.is_some() && r.media.is_some());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Referral {
    /// The referral's own id (ticket number, form id).
    pub id: String,
    /// The referred URL, as reported.
    pub url: Option<String>,
    /// The media bytes or a path to them.
    pub media: Option<MediaInput>,
    /// When it was received (free text, kept as given).
    pub received_at: Option<String>,
}

impl Referral {
    /// A referral with an id and nothing else.
    pub fn new(id: impl Into<String>) -> Referral {
        Referral {
            id: id.into(),
            ..Referral::default()
        }
    }

    /// Sets the URL.
    #[must_use]
    pub fn with_url(mut self, url: impl Into<String>) -> Referral {
        self.url = Some(url.into());
        self
    }

    /// Sets the media bytes.
    #[must_use]
    pub fn with_media_bytes(mut self, bytes: Vec<u8>) -> Referral {
        self.media = Some(MediaInput::Bytes(bytes));
        self
    }

    /// Sets a path to the media.
    #[must_use]
    pub fn with_media_path(mut self, path: impl Into<PathBuf>) -> Referral {
        self.media = Some(MediaInput::Path(path.into()));
        self
    }

    /// Sets the receipt time.
    #[must_use]
    pub fn with_received_at(mut self, at: impl Into<String>) -> Referral {
        self.received_at = Some(at.into());
        self
    }
}

/// Media attached to a referral.
///
/// ```
/// use referral_dedup::engine::MediaInput;
/// let m = MediaInput::Path("photo.jpg".into());
/// assert!(matches!(m, MediaInput::Path(_)));
/// ```
#[derive(Debug, Clone)]
pub enum MediaInput {
    /// The bytes themselves.
    Bytes(Vec<u8>),
    /// A file to read.
    Path(PathBuf),
}

/// The hashes of one piece of media, as the engine matches them.
///
/// Media that is not a decodable picture still has its digests; its perceptual fields are
/// `None`.
///
/// ```
/// use referral_dedup::engine::MediaFingerprint;
/// let m = MediaFingerprint::from_digests(&referral_dedup::media::digest_bytes(b"not an image"), 12);
/// assert!(m.pdq.is_none());
/// assert_eq!(m.bytes, 12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaFingerprint {
    /// Size of the media in bytes.
    pub bytes: u64,
    /// Picture width (decoded pictures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Picture height (decoded pictures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// BLAKE3 of the bytes.
    pub blake3: Blake3,
    /// SHA-256 of the bytes.
    pub sha256: Sha256,
    /// MD5 of the bytes.
    pub md5: Md5,
    /// PDQ hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq: Option<Pdq>,
    /// PDQ quality (0..=100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    /// dHash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhash: Option<Hash64>,
    /// pHash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phash: Option<Hash64>,
    /// PDQ hashes of the 7 non-identity dihedral variants, when computed.
    #[serde(skip)]
    pub pdq_variants: Vec<Pdq>,
    /// Extra PDQ hashes of the same media (trimmed box, crops, small rotations; see
    /// [`crate::matching::KnownHashes`]), stored with the entry and looked up like `pdq`.
    #[serde(skip)]
    pub extra_pdq: Vec<Pdq>,
    /// Query-only PDQ hashes: the 8 dihedral variants (identity first) of the content box
    /// inside detected borders, then the 8 of the box inside a uniform frame, when found
    /// (not stored).
    #[serde(skip)]
    pub query_pdq: Vec<Pdq>,
    /// Query-only `(dHash, pHash)` of those boxes, second opinions for the confirmed tier
    /// (not stored).
    #[serde(skip)]
    pub query_second: Vec<(Hash64, Hash64)>,
    /// Query-only regions for the content check (whole picture and boxes, each with its 8
    /// dihedral codes and its luma grid; [`crate::matching::content`]).
    #[serde(skip)]
    pub query_regions: Vec<QueryRegion>,
    /// Every stored code with the luma grid of the picture it was computed from (kept by
    /// the engine beside the entry for the content check).
    #[serde(skip)]
    pub stored_regions: Vec<StoredRegion>,
}

impl MediaFingerprint {
    /// The fingerprint of a decoded picture.
    pub fn from_hashes(h: &MediaHashes) -> MediaFingerprint {
        let pdq_variants = h
            .pdq_dihedral
            .as_ref()
            .map(|v| v.iter().copied().filter(|p| *p != h.pdq.hash).collect())
            .unwrap_or_default();
        MediaFingerprint {
            bytes: h.bytes,
            width: Some(h.width),
            height: Some(h.height),
            blake3: h.blake3,
            sha256: h.sha256,
            md5: h.md5,
            pdq: Some(h.pdq.hash),
            pdq_quality: Some(h.pdq.quality),
            dhash: Some(h.dhash),
            phash: Some(h.phash),
            pdq_variants,
            extra_pdq: Vec::new(),
            query_pdq: Vec::new(),
            query_second: Vec::new(),
            query_regions: Vec::new(),
            stored_regions: Vec::new(),
        }
    }

    /// The fingerprint of media that is not a decodable picture: digests only.
    pub fn from_digests(d: &Digests, bytes: u64) -> MediaFingerprint {
        MediaFingerprint {
            bytes,
            width: None,
            height: None,
            blake3: d.blake3,
            sha256: d.sha256,
            md5: d.md5,
            pdq: None,
            pdq_quality: None,
            dhash: None,
            phash: None,
            pdq_variants: Vec::new(),
            extra_pdq: Vec::new(),
            query_pdq: Vec::new(),
            query_second: Vec::new(),
            query_regions: Vec::new(),
            stored_regions: Vec::new(),
        }
    }
}

/// Everything the engine matches for one referral: its URL key and its media hashes. Computing
/// it is the expensive, pure part of a check (no index access), so batch jobs compute
/// fingerprints in parallel and match them in order.
///
/// ```
/// use referral_dedup::engine::{Engine, EngineConfig, Referral};
/// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
/// let fp = engine.fingerprint(&Referral::new("r").with_url("https://x.com/a/status/1")).unwrap();
/// assert!(fp.url.is_some() && fp.media.is_none());
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fingerprint {
    /// The URL key, when the URL could be keyed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<UrlKey>,
    /// Why the URL could not be keyed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_error: Option<String>,
    /// The media hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaFingerprint>,
    /// Why the media could not be decoded as a picture (its digests are still used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_error: Option<String>,
}
