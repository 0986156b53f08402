//! Video in the engine: a referral whose media is a video, and known videos (from a file, a
//! vPDQ list or a `.tmk` file), matched by their frame codes.
//!
//! - **Detection** ([`looks_like_video`]): the media's first bytes (MP4/MOV/3GP, Matroska/WebM,
//!   AVI, FLV, ASF/WMV, MPEG program and transport streams, Ogg). Pictures, including animated
//!   GIF, APNG and WebP, keep the picture path unchanged.
//! - **Fingerprint**: [`crate::video::fingerprint_query_file`] (plain, trimmed, mirrored,
//!   inside-the-bars and anchored-crop codes) sampled every [`VideoConfig::seconds_per_hash`] seconds (densely for
//!   short clips, [`crate::video::VpdqOptions::for_query`]); known videos with
//!   [`crate::video::fingerprint_known_file`] every [`VideoConfig::known_seconds_per_hash`]
//!   seconds, with central crops and the central region. The digests are computed as for any file and still match first.
//! - **Index**: every stored code list of every video entry (plain, trimmed, inside the bars,
//!   crops: [`StoredVideo`]) in one [`VideoIndex`](crate::video::VideoIndex) (`video_index`); a video number maps back to its entry and
//!   role. Deleted or replaced entries stop matching at once (their numbers are dropped from the
//!   live map; the codes are reclaimed when the engine is next opened).
//! - **Rule** ([`VideoRule`]): by default the clip-aware [`ClipRule`] (strict tier through the
//!   index; the run tier on every video the index finds a strict-distance frame pair in): the query's trimmed and mirrored codes against stored trimmed codes, plain against
//!   plain and crops, anchored crops against crops, inside-bars against inside-bars; the match covering most of the shorter
//!   video wins. [`VideoRule::Vpdq`] is the reference bag-of-frames rule on the plain codes
//!   (compared with every stored video: a scan). Known TMK+PDQF videos are compared with the
//!   query's TMK (computed only while the engine holds any) at the reference's level-1 and
//!   level-2 thresholds.
//! - **Evidence**: a [`Match`] of kind [`HashKind::Vpdq`] (or [`HashKind::Tmk`]) with
//!   [`Match::video`]: the matched time ranges on both sides, the rate and the codes.
//! - **Missing `ffmpeg`**: [`VideoError::ToolMissing`] for video input (a typed error, nothing
//!   is recorded); pictures are unaffected. A video ffmpeg cannot decode keeps its digests and
//!   says why in the fingerprint's `media_error`, as an undecodable picture does.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

pub(super) use super::video_index::VideoState;
use super::{Engine, EngineError, Fingerprint, Match};
use crate::hashes::{EntryId, HashKind};
use crate::media;
use crate::store::{EntryRecord, EntrySource};
use crate::video::{
    fingerprint_known_file, fingerprint_query_file, tmk_from_file, ClipMatch, ClipRule,
    DecodeLimits, StoredVideo, TmkFeatures, VideoError, VideoFingerprint, VpdqOptions, VpdqRule,
    VpdqScore, KNOWN_SECONDS_PER_HASH, TMK_DEFAULT_THRESHOLDS,
};

/// Which rule decides whether two videos are the same content.
///
/// ```
/// use referral_dedup::engine::VideoRule;
/// assert!(matches!(VideoRule::default(), VideoRule::Clip(_)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VideoRule {
    /// The time-aware rule: an aligned segment (default).
    Clip(ClipRule),
    /// The reference vPDQ rule: percentages of matched frames on both sides.
    Vpdq(VpdqRule),
}

impl Default for VideoRule {
    fn default() -> Self {
        VideoRule::Clip(ClipRule::default())
    }
}

/// How the engine hashes and matches videos ([`EngineConfig::video`](super::EngineConfig)).
///
/// ```
/// use referral_dedup::engine::EngineConfig;
/// let c = EngineConfig::default();
/// assert_eq!((c.video.seconds_per_hash, c.video.known_seconds_per_hash), (1.0, 0.1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoConfig {
    /// The match rule.
    pub rule: VideoRule,
    /// Seconds between hashed frames of a referral's video (1.0; clips under 10 s are
    /// sampled every 0.1 s).
    pub seconds_per_hash: f64,
    /// Seconds between hashed frames of a known video added from a file (0.1).
    pub known_seconds_per_hash: f64,
    /// Decoding limits (time, frames, pixels, file size).
    pub limits: DecodeLimits,
    /// TMK+PDQF level-1 and level-2 score thresholds (0.7, 0.7: the reference's).
    pub tmk_thresholds: (f32, f32),
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            rule: VideoRule::default(),
            seconds_per_hash: 1.0,
            known_seconds_per_hash: KNOWN_SECONDS_PER_HASH,
            limits: DecodeLimits::default(),
            tmk_thresholds: TMK_DEFAULT_THRESHOLDS,
        }
    }
}

/// What a referral's video contributed to its fingerprint. Serialised as
/// `{"frames", "duration"}`: the number of sampled frames and the seconds they span.
///
/// ```
/// use referral_dedup::engine::VideoMedia;
/// let v = VideoMedia::default();
/// assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"frames":0,"duration":0.0}"#);
/// ```
#[derive(Debug, Clone, Default)]
pub struct VideoMedia {
    /// The frame codes (plain, trimmed, mirrored, inside the bars).
    pub fingerprint: Arc<VideoFingerprint>,
    /// TMK+PDQF, computed only while the engine holds TMK-only known videos.
    pub tmk: Option<Arc<TmkFeatures>>,
}

impl Serialize for VideoMedia {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("VideoMedia", 2)?;
        st.serialize_field("frames", &self.fingerprint.plain.frames.len())?;
        st.serialize_field("duration", &self.fingerprint.plain.duration())?;
        st.end()
    }
}

/// The evidence of a video match ([`Match::video`]), tagged by the rule that made it.
///
/// ```
/// use referral_dedup::engine::VideoEvidence;
/// let e = VideoEvidence::Tmk { level1: 0.9, level2: 0.8 };
/// assert!(serde_json::to_string(&e).unwrap().starts_with(r#"{"rule":"tmk""#));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum VideoEvidence {
    /// An aligned segment: `query_start`..`query_end` of the referral is
    /// `known_start`..`known_end` of the entry (seconds), at `rate`.
    Clip(ClipMatch),
    /// The vPDQ rule's percentages.
    Vpdq(VpdqScore),
    /// TMK+PDQF scores.
    Tmk {
        /// Cosine similarity of the average frame features.
        level1: f32,
        /// The kernel score maximised over time offsets.
        level2: f32,
    },
}

// Every field is finite (decoded and computed values are checked), so equality is reflexive.
impl Eq for VideoEvidence {}

/// True when `head` (the first bytes of a file, 512 or more where available) starts like a
/// video container. Still pictures and animated GIF/PNG/WebP are not videos here.
///
/// ```
/// use referral_dedup::engine::looks_like_video;
/// assert!(looks_like_video(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"));
/// assert!(looks_like_video(b"\x1a\x45\xdf\xa3\x01\x00"));
/// assert!(!looks_like_video(b"\x00\x00\x00\x18ftypheic"));
/// assert!(!looks_like_video(b"\x89PNG\r\n\x1a\n"));
/// ```
pub fn looks_like_video(head: &[u8]) -> bool {
    let at = |i: usize, magic: &[u8]| head.get(i..i + magic.len()) == Some(magic);
    if at(4, b"ftyp") {
        // ISO base media: pictures (HEIF/AVIF) and camera raw files share the box.
        const PICTURE_BRANDS: [&[u8]; 9] = [
            b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis", b"crx ",
        ];
        return !PICTURE_BRANDS.iter().any(|b| at(8, b));
    }
    at(4, b"moov")
        || at(4, b"mdat")
        || at(4, b"wide")
        || at(0, b"\x1a\x45\xdf\xa3") // Matroska, WebM
        || (at(0, b"RIFF") && at(8, b"AVI "))
        || at(0, b"FLV\x01")
        || at(0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11") // ASF, WMV
        || at(0, b"\x00\x00\x01\xba") // MPEG program stream
        || at(0, b"\x00\x00\x01\xb3") // MPEG-1/2 video elementary stream
        || at(0, b"OggS")
        || (head.len() > 376 && head[0] == 0x47 && head[188] == 0x47 && head[376] == 0x47)
}

/// Reads up to 512 bytes from the start of a file.
fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = media::open_regular_file(path)?;
    let mut head = Vec::with_capacity(512);
    file.take(512).read_to_end(&mut head)?;
    Ok(head)
}

/// A temporary copy of media bytes for `ffmpeg` (which reads files only), removed on drop.
struct TempMedia(PathBuf);

impl TempMedia {
    fn write(bytes: &[u8]) -> std::io::Result<TempMedia> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "refdedup-video-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let guard = TempMedia(path);
        // No fsync: ffmpeg reads it back through the page cache, and it is deleted on drop.
        file.write_all(bytes)?;
        Ok(guard)
    }
}

impl Drop for TempMedia {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Engine {
    /// Adds the video fingerprint of a media file to `fp` when the file is a video.
    pub(super) fn fingerprint_video_path(
        &self,
        path: &Path,
        fp: &mut Fingerprint,
    ) -> crate::Result<()> {
        let Ok(head) = read_head(path) else {
            return Ok(());
        };
        if !looks_like_video(&head) {
            return Ok(());
        }
        match self.video_media(path) {
            Ok(video) => {
                fp.video = Some(video);
                fp.media_error = None;
                Ok(())
            }
            Err(e @ VideoError::ToolMissing(_)) => Err(e.into()),
            Err(e) => {
                fp.media_error = Some(format!("video: {e}"));
                Ok(())
            }
        }
    }

    /// [`Engine::fingerprint_video_path`] for media bytes (through a temporary file).
    pub(super) fn fingerprint_video_bytes(
        &self,
        bytes: &[u8],
        fp: &mut Fingerprint,
    ) -> crate::Result<()> {
        if !looks_like_video(&bytes[..bytes.len().min(512)]) {
            return Ok(());
        }
        let temp = TempMedia::write(bytes).map_err(EngineError::Io)?;
        self.fingerprint_video_path(&temp.0, fp)
    }

    /// The video fingerprint of a referral's video (and its TMK when known TMK videos exist).
    fn video_media(&self, path: &Path) -> Result<VideoMedia, VideoError> {
        let v = &self.config.video;
        let options = VpdqOptions {
            seconds_per_hash: v.seconds_per_hash,
            size: None,
            limits: v.limits,
        };
        // One ffprobe run for the duration and the decode (each run loads every libav library).
        let fingerprint = fingerprint_query_file(path, &options)?;
        let tmk = if self.videos.has_tmk() {
            Some(Arc::new(tmk_from_file(path, &v.limits)?))
        } else {
            None
        };
        Ok(VideoMedia {
            fingerprint: Arc::new(fingerprint),
            tmk,
        })
    }

    /// Video matches of a fingerprint: one per matched entry, under the configured rule.
    pub(super) fn video_matches(
        &self,
        fp: &Fingerprint,
    ) -> Vec<(EntryId, HashKind, VideoEvidence)> {
        let Some(video) = &fp.video else {
            return Vec::new();
        };
        let mut out = Vec::new();
        match &self.config.video.rule {
            VideoRule::Clip(rule) => {
                for (id, m) in self.videos.clip_matches(&video.fingerprint, rule) {
                    out.push((id, HashKind::Vpdq, VideoEvidence::Clip(m)));
                }
            }
            VideoRule::Vpdq(rule) => {
                for e in self.entries.iter() {
                    let Some(stored) = &e.video else { continue };
                    if !stored.has_frames() {
                        continue;
                    }
                    let score = rule.score(&video.fingerprint.plain, &stored.plain);
                    if rule.matches(&video.fingerprint.plain, &stored.plain) {
                        out.push((e.id, HashKind::Vpdq, VideoEvidence::Vpdq(score)));
                    }
                }
            }
        }
        if let Some(tmk) = &video.tmk {
            for (id, level1, level2) in self
                .videos
                .tmk_matches(tmk, self.config.video.tmk_thresholds)
            {
                out.push((id, HashKind::Tmk, VideoEvidence::Tmk { level1, level2 }));
            }
        }
        out
    }

    /// Adds a known video from a file (digests, and frame codes every
    /// [`VideoConfig::known_seconds_per_hash`] seconds with central crops). `Ok(None)` when the
    /// file is not a video (the caller takes the picture path).
    pub(super) fn add_known_video_file_if_video(
        &self,
        path: &Path,
        id: Option<&str>,
        label: Option<&str>,
    ) -> crate::Result<Option<EntryId>> {
        let head = read_head(path).map_err(|e| {
            EngineError::Io(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            ))
        })?;
        if !looks_like_video(&head) {
            return Ok(None);
        }
        let id = id.map(str::to_string).unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string())
        });
        self.add_known_video_path(path, &id, label).map(Some)
    }

    /// [`Engine::add_known_video_file_if_video`] for media bytes.
    pub(super) fn add_known_video_bytes_if_video(
        &self,
        bytes: &[u8],
        id: &str,
        label: Option<&str>,
    ) -> crate::Result<Option<EntryId>> {
        if !looks_like_video(&bytes[..bytes.len().min(512)]) {
            return Ok(None);
        }
        let temp = TempMedia::write(bytes).map_err(EngineError::Io)?;
        self.add_known_video_path(&temp.0, id, label).map(Some)
    }

    fn add_known_video_path(
        &self,
        path: &Path,
        id: &str,
        label: Option<&str>,
    ) -> crate::Result<EntryId> {
        let (digests, len) = media::digest_file(path).map_err(|e| {
            EngineError::Io(std::io::Error::other(format!("{}: {e}", path.display())))
        })?;
        if len == 0 {
            return Err(EngineError::Empty(format!(
                "{}: the file is empty; not added as known content",
                path.display()
            ))
            .into());
        }
        let v = &self.config.video;
        let options = VpdqOptions {
            seconds_per_hash: v.known_seconds_per_hash,
            size: None,
            limits: v.limits,
        };
        let fingerprint = fingerprint_known_file(path, &options)?;
        let stored = StoredVideo::from_fingerprint(&fingerprint);
        let mut e = EntryRecord::new(EntryId(0), EntrySource::Known, id);
        e.label = label.map(str::to_string);
        e.hashes.blake3 = Some(digests.blake3);
        e.hashes.sha256 = Some(digests.sha256);
        e.hashes.md5 = Some(digests.md5);
        self.add_known_video_entry(e, stored)
    }

    /// Adds a known video from its stored codes: a vPDQ list ([`StoredVideo::from_vpdq`]) or
    /// a `.tmk` file ([`StoredVideo::from_tmk`]). Adding the same id with the same codes and
    /// label again changes nothing and returns the existing id.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig};
    /// use referral_dedup::video::{parse_vpdq, StoredVideo};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// let code = |i: u64| i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    /// let line = |i: u64| format!("{i},90,{:016x}{:016x}{:016x}{:016x},{i}.000\n", code(i), !code(i), code(i + 99), i);
    /// let list: String = (0..20).map(line).collect();
    /// let video = StoredVideo::from_vpdq(parse_vpdq(&list).unwrap());
    /// let id = engine.add_known_video(video.clone(), "clip-7", Some("list-a")).unwrap();
    /// assert_eq!(engine.add_known_video(video, "clip-7", Some("list-a")).unwrap(), id);
    /// assert_eq!(engine.known_videos().len(), 1);
    /// ```
    ///
    /// # Errors
    /// [`EngineError::Empty`] when the video has neither frame codes nor TMK; a store error
    /// when journaling fails.
    pub fn add_known_video(
        &self,
        video: StoredVideo,
        id: &str,
        label: Option<&str>,
    ) -> crate::Result<EntryId> {
        let mut e = EntryRecord::new(EntryId(0), EntrySource::Known, id);
        e.label = label.map(str::to_string);
        self.add_known_video_entry(e, video)
    }

    fn add_known_video_entry(
        &self,
        mut e: EntryRecord,
        video: StoredVideo,
    ) -> crate::Result<EntryId> {
        if !video.has_frames() && video.tmk.is_none() {
            return Err(EngineError::Empty(format!(
                "{}: the video has no frames; not added as known content",
                e.external_id
            ))
            .into());
        }
        e.video = Some(Box::new(video));
        let mut w = self.writer.lock();
        w.check_writable()?;
        for existing in self.entries_by_external_id(EntrySource::Known, &e.external_id) {
            if let Some(old) = self.entry(existing) {
                let mut same = e.clone();
                same.id = old.id;
                if *old == same {
                    return Ok(old.id);
                }
            }
        }
        e.id = self.allocate_id()?;
        let id = e.id;
        self.commit(&mut w, vec![e])?;
        Ok(id)
    }

    /// Every live known video as `(id, label, codes)`, in entry id order (for export).
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig};
    /// assert!(Engine::in_memory(EngineConfig::default()).unwrap().known_videos().is_empty());
    /// ```
    pub fn known_videos(&self) -> Vec<(String, Option<String>, StoredVideo)> {
        let mut entries: Vec<Arc<EntryRecord>> = self
            .entries
            .iter()
            .filter(|e| e.source == EntrySource::Known && e.video.is_some())
            .map(|e| Arc::clone(e.value()))
            .collect();
        entries.sort_by_key(|e| e.id);
        entries
            .into_iter()
            .filter_map(|e| {
                let video = e.video.as_deref()?.clone();
                Some((e.external_id.clone(), e.label.clone(), video))
            })
            .collect()
    }
}

/// A video match as [`Match`] evidence for `entry`.
pub(super) fn video_match(entry: &EntryRecord, kind: HashKind, evidence: VideoEvidence) -> Match {
    let distance = match evidence {
        VideoEvidence::Clip(m) => m.radius,
        VideoEvidence::Vpdq(_) | VideoEvidence::Tmk { .. } => 0,
    };
    Match {
        video: Some(evidence),
        ..Match::on(entry, kind, distance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_video_containers_and_leaves_pictures_alone() {
        let mut ts = vec![0u8; 400];
        ts[0] = 0x47;
        ts[188] = 0x47;
        ts[376] = 0x47;
        assert!(looks_like_video(&ts));
        assert!(looks_like_video(b"RIFF\x00\x00\x00\x00AVI LIST"));
        assert!(!looks_like_video(b"RIFF\x00\x00\x00\x00WEBPVP8 "));
        assert!(looks_like_video(b"FLV\x01\x05"));
        assert!(looks_like_video(b"\x00\x00\x00\x14ftypqt  "));
        assert!(!looks_like_video(b"\x00\x00\x00\x1cftypavif"));
        assert!(!looks_like_video(b"GIF89a"));
        assert!(!looks_like_video(b"\xff\xd8\xff\xe0"));
        assert!(!looks_like_video(b""));
        assert!(!looks_like_video(b"ftyp"));
    }

    #[test]
    fn temporary_media_is_removed() {
        let temp = TempMedia::write(b"abc").unwrap();
        let path = temp.0.clone();
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        drop(temp);
        assert!(!path.exists());
    }
}
