//! What comes in (a [`Referral`]) and what the engine computes from it (a [`Fingerprint`]).

use std::path::PathBuf;

use serde::Serialize;

pub use crate::matching::MediaFingerprint;
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
    /// The frame codes, when the media is a video (serialised as its frame count and duration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<super::VideoMedia>,
}

/// The perceptual tier `rule` gives referral `a` against an earlier referral `b`, from their
/// fingerprints alone: [`crate::matching::pair_match`] on their media (`None` when either has
/// none). The same tier [`Engine::matches`](super::Engine::matches) reports for `a` when `b`
/// (fingerprinted by an engine with this rule) is its only entry.
///
/// ```
/// use referral_dedup::engine::{pair_match, Engine, EngineConfig, MatchRule, Referral};
/// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
/// let url_only = engine.fingerprint(&Referral::new("r").with_url("https://t.me/c/1")).unwrap();
/// assert_eq!(pair_match(&url_only, &url_only, &MatchRule::default()), None);
/// ```
pub fn pair_match(
    a: &Fingerprint,
    b: &Fingerprint,
    rule: &crate::matching::MatchRule,
) -> Option<crate::matching::MatchTier> {
    crate::matching::pair_match(a.media.as_ref()?, b.media.as_ref()?, rule)
}
