//! [`StoredVideo`]: what the engine keeps of a video entry (a known video or a referral whose
//! media is a video), so that later videos can be matched against it after a restart.
//!
//! The frame codes a clip match can rest on ([`VideoFingerprint`] without the query-only
//! mirror), plus, for a known video imported from a `.tmk` file, its TMK+PDQF bytes. The store
//! persists it as an entry field (`store::video_record`); the engine rebuilds its
//! [`VideoIndex`](super::VideoIndex) from it on open.
//!
//! ```
//! use referral_dedup::video::{FrameHash, StoredVideo, VideoHash};
//! let plain = VideoHash { frames: vec![FrameHash { frame_number: 0, quality: 90, pdq: Default::default(), timestamp: 0.0 }] };
//! let stored = StoredVideo::from_vpdq(plain.clone());
//! assert_eq!(stored.plain, plain);
//! assert!(stored.has_frames() && stored.tmk.is_none());
//! ```

use super::{TmkFeatures, VideoError, VideoFingerprint, VideoHash};

/// The stored side of a video entry (see the [module docs](self)).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredVideo {
    /// The reference vPDQ codes (what `known export` writes back).
    pub plain: VideoHash,
    /// Borders trimmed frame by frame (empty for a video imported from a vPDQ list).
    #[serde(default)]
    pub trimmed: VideoHash,
    /// Frames inside the video-wide bars (empty when imported).
    #[serde(default)]
    pub inside_bars: VideoHash,
    /// Central crops of each frame, one list per crop (known videos hashed from a file only).
    #[serde(default)]
    pub crops: Vec<VideoHash>,
    /// A `.tmk` file's bytes (TMK+PDQF), for a known video imported from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmk: Option<Vec<u8>>,
}

// Timestamps are finite (every reader refuses NaN and infinities), so equality is reflexive.
impl Eq for StoredVideo {}

impl StoredVideo {
    /// The stored codes of a fingerprinted video: everything but the query-only mirror.
    ///
    /// ```
    /// use referral_dedup::video::{StoredVideo, VideoFingerprint};
    /// let s = StoredVideo::from_fingerprint(&VideoFingerprint::default());
    /// assert!(!s.has_frames());
    /// ```
    pub fn from_fingerprint(fp: &VideoFingerprint) -> StoredVideo {
        StoredVideo {
            plain: fp.plain.clone(),
            trimmed: fp.trimmed.clone(),
            inside_bars: fp.inside_bars.clone(),
            crops: fp.crops.clone(),
            tmk: None,
        }
    }

    /// A video known only by its vPDQ frame list (a reference file or a JSON list).
    ///
    /// ```
    /// use referral_dedup::video::{StoredVideo, VideoHash};
    /// assert!(!StoredVideo::from_vpdq(VideoHash::default()).has_frames());
    /// ```
    pub fn from_vpdq(plain: VideoHash) -> StoredVideo {
        StoredVideo {
            plain,
            ..StoredVideo::default()
        }
    }

    /// A video known only by its TMK+PDQF file; the bytes are checked to be a readable `.tmk`.
    ///
    /// # Errors
    /// [`VideoError::Tmk`] when the bytes are not a `.tmk` file this crate reads.
    ///
    /// ```
    /// use referral_dedup::video::StoredVideo;
    /// assert!(StoredVideo::from_tmk(b"not a tmk file".to_vec()).is_err());
    /// ```
    pub fn from_tmk(bytes: Vec<u8>) -> Result<StoredVideo, VideoError> {
        TmkFeatures::from_bytes(&bytes)?;
        Ok(StoredVideo {
            tmk: Some(bytes),
            ..StoredVideo::default()
        })
    }

    /// True when it has frame codes to align (false for a TMK-only video).
    ///
    /// ```
    /// use referral_dedup::video::StoredVideo;
    /// assert!(!StoredVideo::default().has_frames());
    /// ```
    pub fn has_frames(&self) -> bool {
        !self.plain.frames.is_empty()
    }

    /// The TMK+PDQF features, when it has readable ones.
    ///
    /// ```
    /// use referral_dedup::video::StoredVideo;
    /// assert!(StoredVideo::default().tmk_features().is_none());
    /// ```
    pub fn tmk_features(&self) -> Option<TmkFeatures> {
        TmkFeatures::from_bytes(self.tmk.as_deref()?).ok()
    }

    /// Every frame-code list with the role it is matched in, for indexing: the plain codes,
    /// the trimmed codes (the plain ones stand in when there are none), the codes inside the
    /// bars, and each crop.
    pub(crate) fn lists(&self) -> Vec<(StoredRole, &VideoHash)> {
        let mut out = vec![(StoredRole::Plain, &self.plain)];
        let trimmed = if self.trimmed.frames.is_empty() {
            &self.plain
        } else {
            &self.trimmed
        };
        out.push((StoredRole::Trimmed, trimmed));
        if !self.inside_bars.frames.is_empty() {
            out.push((StoredRole::InsideBars, &self.inside_bars));
        }
        out.extend(self.crops.iter().map(|c| (StoredRole::Cropped, c)));
        out.retain(|(_, list)| !list.frames.is_empty());
        out
    }
}

/// Which of a stored video's code lists an indexed video is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoredRole {
    /// The reference vPDQ codes.
    Plain,
    /// Borders trimmed (or the plain codes when none were stored).
    Trimmed,
    /// Inside the video-wide bars.
    InsideBars,
    /// A central crop.
    Cropped,
}

/// Reads a vPDQ list in either exchange form: python-threatexchange's JSON list (the text
/// starts with `[`) or the reference CLI's `frameNumber,quality,pdqhex,timestamp` lines.
///
/// # Errors
/// [`VideoError::Format`] from the form's reader.
///
/// ```
/// use referral_dedup::video::parse_vpdq;
/// let hex = "f".repeat(64);
/// let lines = parse_vpdq(&format!("0,90,{hex},0.000\n")).unwrap();
/// let json = parse_vpdq(&format!("[\"{hex},90,0.0\"]")).unwrap();
/// assert_eq!(lines.frames[0].pdq, json.frames[0].pdq);
/// ```
pub fn parse_vpdq(text: &str) -> Result<VideoHash, VideoError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim_start().starts_with('[') {
        VideoHash::parse_json(body)
    } else {
        VideoHash::parse_reference(body)
    }
}
