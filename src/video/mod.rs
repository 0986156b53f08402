//! Video: decoding through `ffmpeg`, vPDQ frame hashes, clip-aware matching and TMK+PDQF.
//!
//! - [`decode`](mod@decode): `ffmpeg`/`ffprobe` as bounded child processes (time limit, frame
//!   budget, pixel cap, `file` protocol only, no auto-rotation, passthrough timing).
//! - [`vpdq`]: [`VideoHash`], one PDQ per sampled frame, compatible with Meta's vPDQ; both
//!   exchange forms; the reference's bag-of-frames rule ([`VpdqRule`]).
//! - [`align`]: [`ClipRule`], the time-aware rule that finds an aligned segment, so excerpts and
//!   videos with an added intro or outro match while a shared intro card never does.
//! - [`fingerprint`]: [`VideoFingerprint`], the plain, border-trimmed and mirrored codes of every
//!   sampled frame from one decode, for matching edited copies.
//! - [`index`](mod@index): [`VideoIndex`], many known videos' frame codes in one Hamming index,
//!   candidates aligned by the clip rule.
//! - [`stored`]: [`StoredVideo`], what the engine and the store keep of a video entry.
//! - [`tmk`]: [`TmkFeatures`], TMK+PDQF files read, written, computed from video and scored.
//! - [`animation`]: animated GIF, APNG and WebP hashed in-process, frame by frame.
//!
//! Frames are hashed by the same PDQ as pictures ([`crate::media::pdq_from_luma`]) on the
//! reference's float luma of each frame at its coded size, so a frame hash and a picture hash are
//! comparable codes.
//!
//! ```no_run
//! use referral_dedup::video::{vpdq_from_file, VpdqOptions};
//! # fn main() -> Result<(), referral_dedup::video::VideoError> {
//! let hash = vpdq_from_file("speech.mp4".as_ref(), &VpdqOptions::default())?; // 1 frame/s
//! print!("{}", hash.to_reference()); // frameNumber,quality,pdqhex,timestamp
//! # Ok(()) }
//! ```

pub mod align;
pub mod animation;
pub mod area;
pub mod decode;
pub mod fingerprint;
pub mod index;
pub mod stored;
pub mod tmk;
pub mod vpdq;

use std::ops::ControlFlow;
use std::path::Path;

pub use align::{ClipMatch, ClipRule, RATES};
pub use animation::vpdq_from_animation;
pub use decode::{decode_frames, probe, DecodeLimits, Frame, FrameRequest, VideoInfo};
pub use fingerprint::{
    fingerprint_file, fingerprint_known_file, fingerprint_query_file, FrameVariant,
    VideoFingerprint, CENTRE_KEEP, CROP_KEEPS, QUERY_CROP_KEEPS,
};
pub use index::{VideoIndex, WIDE_SEARCH_CANDIDATES, WIDE_SEARCH_DISTANCE, WIDE_SEARCH_FRAMES};
pub use stored::{parse_vpdq, StoredVideo};
pub use tmk::{TmkFeatures, PDQF_DIMENSION, TMK_DEFAULT_THRESHOLDS, TMK_FRAMES_PER_SECOND};
pub use vpdq::{DistanceConvention, FrameHash, VideoHash, VpdqRule, VpdqScore};

use crate::media::pdq::rgb_to_luma;
use crate::media::{pdq_from_luma, pdqf_from_luma, LumaImage};

/// Why a video could not be decoded or hashed, or a video hash could not be read.
///
/// ```
/// use referral_dedup::video::VideoError;
/// assert_eq!(VideoError::ToolMissing("ffmpeg").to_string(),
///     "ffmpeg is not installed (Debian: apt-get install ffmpeg)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// `ffmpeg` or `ffprobe` is not on the `PATH`.
    #[error("{0} is not installed (Debian: apt-get install ffmpeg)")]
    ToolMissing(&'static str),
    /// Reading the file or talking to the child process failed.
    #[error("video I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The path is a directory, device, FIFO or socket.
    #[error("not a regular file: {0}")]
    NotAFile(String),
    /// The file is over the size cap.
    #[error("video file too large: {bytes} bytes exceeds the limit {limit}")]
    TooLarge {
        /// File size.
        bytes: u64,
        /// The configured cap.
        limit: u64,
    },
    /// The file has no video stream.
    #[error("no video stream")]
    NoVideoStream,
    /// The decoder failed; the message is the tool's own last line.
    #[error("decoding video: {0}")]
    Decode(String),
    /// The child ran past the time limit and was killed.
    #[error("{program} ran past the {seconds} s limit and was stopped")]
    Timeout {
        /// Which program.
        program: &'static str,
        /// The limit.
        seconds: f64,
    },
    /// The video has more frames than the frame budget.
    #[error("video has more than {limit} frames")]
    TooManyFrames {
        /// The budget.
        limit: u64,
    },
    /// A vPDQ hash list line could not be read.
    #[error("vPDQ hash line {line}: {reason}")]
    Format {
        /// 1-based line (or list position); 0 for the document as a whole.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A TMK file could not be read, or two TMK hashes are not comparable.
    #[error("TMK: {0}")]
    Tmk(String),
}

/// Seconds between the frames hashed for a video stored as known content (0.1: ten a second).
///
/// Queries are sampled once a second (the [`VpdqOptions`] default, HMA's setting), at whatever
/// phase their first frame falls; a known video sampled only once a second would then be up to
/// half a second off every query frame, which in moving footage is more than PDQ's distance 31
/// (the video harness, `examples/video_quality.rs`: middle excerpts matched 0 of 10 known videos at
/// 1 s, 5 of 10 at 0.2 s; at 0.2 s a 10 fps scrolling automaton cut at an odd frame is one
/// frame, one scrolled row, off every known frame). Denser known frames keep one within 0.05 s
/// of any query frame, for ten times the index size of one frame a second.
pub const KNOWN_SECONDS_PER_HASH: f64 = 0.1;

/// Videos shorter than this many seconds are sampled as densely as known videos
/// ([`KNOWN_SECONDS_PER_HASH`]) when they are queries ([`VpdqOptions::for_query`]): a 4-second
/// clip at one frame a second leaves two or three usable frames, too few to tell a clip from a
/// coincidence. (It follows from [`QUERY_MIN_FRAMES`]: 100 frames in 10 seconds.)
pub const SHORT_VIDEO_SECONDS: f64 = 10.0;

/// Fewest frames a query is sampled at when its sampling allows ([`VpdqOptions::for_query`]):
/// a query under 100 seconds is sampled every `duration / 100` seconds (never denser than
/// [`KNOWN_SECONDS_PER_HASH`]). A 4-second known clip inside a 24-second query (an intro and an
/// outro added) then shows 16 query frames instead of 4, half of them too dark to use in a dark
/// clip; the extra cost is bounded by 100 frames, whatever the video.
pub const QUERY_MIN_FRAMES: f64 = 100.0;

/// How to sample and size frames for vPDQ.
///
/// ```
/// use referral_dedup::video::VpdqOptions;
/// let every_frame = VpdqOptions { seconds_per_hash: 0.0, ..VpdqOptions::default() };
/// assert_eq!(VpdqOptions::default().seconds_per_hash, 1.0);
/// # let _ = every_frame;
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpdqOptions {
    /// Seconds between hashed frames: frame `i` is hashed when `i % step == 0` with
    /// `step = floor(seconds_per_hash * frame_rate)` (python-threatexchange's sampling); 0 hashes
    /// every frame (the reference CLI's sample files).
    pub seconds_per_hash: f64,
    /// Hash frames resized to this size (the reference's `-128x128` files) instead of the coded
    /// size.
    pub size: Option<(u32, u32)>,
    /// Decoding limits.
    pub limits: DecodeLimits,
}

impl Default for VpdqOptions {
    fn default() -> Self {
        VpdqOptions {
            seconds_per_hash: 1.0,
            size: None,
            limits: DecodeLimits::default(),
        }
    }
}

impl VpdqOptions {
    /// The sampling for a query of this duration: unchanged, except that a video too short
    /// for [`QUERY_MIN_FRAMES`] frames at these options' interval is sampled every
    /// `duration / QUERY_MIN_FRAMES` seconds, never denser than [`KNOWN_SECONDS_PER_HASH`]
    /// (a video of unknown duration, or under [`SHORT_VIDEO_SECONDS`], at that interval).
    ///
    /// ```
    /// use referral_dedup::video::{VpdqOptions, KNOWN_SECONDS_PER_HASH};
    /// let o = VpdqOptions::default();
    /// assert_eq!(o.for_query(Some(600.0)).seconds_per_hash, 1.0);
    /// assert_eq!(o.for_query(Some(60.0)).seconds_per_hash, 0.6);
    /// assert_eq!(o.for_query(Some(4.0)).seconds_per_hash, KNOWN_SECONDS_PER_HASH);
    /// ```
    #[must_use]
    pub fn for_query(self, duration: Option<f64>) -> VpdqOptions {
        let wanted = duration
            .filter(|d| d.is_finite() && *d > 0.0)
            .map_or(KNOWN_SECONDS_PER_HASH, |d| {
                (d / QUERY_MIN_FRAMES).max(KNOWN_SECONDS_PER_HASH)
            });
        if self.seconds_per_hash > wanted {
            VpdqOptions {
                seconds_per_hash: wanted,
                ..self
            }
        } else {
            self
        }
    }
}

/// vPDQ of a video file: the PDQ of every sampled frame.
///
/// # Errors
/// Any [`VideoError`] from decoding.
pub fn vpdq_from_file(path: &Path, options: &VpdqOptions) -> Result<VideoHash, VideoError> {
    let mut frames = Vec::new();
    hash_frames(path, options, |luma, frame| {
        frames.push(vpdq_frame(luma, frame))
    })?;
    Ok(VideoHash { frames })
}

/// [`vpdq_from_file`] for a video already probed: `info` must be what [`probe`] said of `path`
/// (each `ffprobe` run costs about a tenth of decoding a short video; a caller that needs the
/// probe's answer anyway saves the second run).
///
/// ```no_run
/// use referral_dedup::video::{probe, vpdq_from_probed_file, VpdqOptions};
/// # fn main() -> Result<(), referral_dedup::video::VideoError> {
/// let options = VpdqOptions::default();
/// let info = probe("clip.mp4".as_ref(), &options.limits)?;
/// let hash = vpdq_from_probed_file("clip.mp4".as_ref(), &info, &options)?;
/// println!("{} frames of {}x{}", hash.frames.len(), info.width, info.height);
/// # Ok(()) }
/// ```
///
/// # Errors
/// Any [`VideoError`] from decoding.
pub fn vpdq_from_probed_file(
    path: &Path,
    info: &VideoInfo,
    options: &VpdqOptions,
) -> Result<VideoHash, VideoError> {
    let mut frames = Vec::new();
    hash_probed_frames(path, info, options, |luma, frame| {
        frames.push(vpdq_frame(luma, frame));
    })?;
    Ok(VideoHash { frames })
}

/// The vPDQ frame hash of one decoded frame.
fn vpdq_frame(luma: &LumaImage, frame: FrameHash) -> FrameHash {
    let pdq = pdq_from_luma(luma.pixels(), luma.width(), luma.height());
    FrameHash {
        quality: pdq.quality,
        pdq: pdq.hash,
        ..frame
    }
}

/// Decodes the sampled frames of a video and hands each one's reference luma and a
/// [`FrameHash`] carrying its number and timestamp (hash fields zero) to `on_frame`.
fn hash_frames(
    path: &Path,
    options: &VpdqOptions,
    on_frame: impl FnMut(&LumaImage, FrameHash),
) -> Result<(), VideoError> {
    let info = probe(path, &options.limits)?;
    hash_probed_frames(path, &info, options, on_frame)
}

/// [`hash_frames`] for a video already probed (`info` is what [`probe`] said of `path`): each
/// `ffprobe` run costs about a tenth of decoding a short video (it loads every libav library).
fn hash_probed_frames(
    path: &Path,
    info: &VideoInfo,
    options: &VpdqOptions,
    mut on_frame: impl FnMut(&LumaImage, FrameHash),
) -> Result<(), VideoError> {
    let step = (options.seconds_per_hash * info.frame_rate).floor();
    let every = if step >= 1.0 { step as u64 } else { 1 };
    let request = FrameRequest {
        size: options.size,
        resample_fps: None,
        every,
        scaler: "area",
    };
    let mut luma = Vec::new();
    decode::decode_probed(path, info, &request, &options.limits, |frame| {
        let (w, h) = (frame.width as usize, frame.height as usize);
        // One plane for the whole video, lent to each frame's image and taken back.
        let mut pixels = std::mem::take(&mut luma);
        pixels.resize(w * h, 0.0);
        rgb_to_luma::<3>(frame.rgb, &mut pixels);
        let image = LumaImage::new(w, h, pixels).expect("the decoder gives w*h pixels");
        let stamp = FrameHash {
            frame_number: frame.index,
            quality: 0,
            pdq: crate::hashes::Pdq::default(),
            timestamp: frame.index as f64 / info.frame_rate,
        };
        on_frame(&image, stamp);
        luma = image.into_pixels();
        ControlFlow::Continue(())
    })?;
    Ok(())
}

/// TMK+PDQF of a video file, computed as the reference does: frames resampled to 15 per second
/// and scaled to 64×64 by ffmpeg, PDQF per frame, the reference's periods and coefficients.
///
/// # Errors
/// Any [`VideoError`] from decoding.
pub fn tmk_from_file(path: &Path, limits: &DecodeLimits) -> Result<TmkFeatures, VideoError> {
    let request = FrameRequest {
        size: Some((64, 64)),
        resample_fps: Some(TMK_FRAMES_PER_SECOND),
        every: 1,
        scaler: "bicubic",
    };
    let mut features = Vec::new();
    let mut luma = vec![0f32; 64 * 64];
    decode_frames(path, &request, limits, |frame| {
        rgb_to_luma::<3>(frame.rgb, &mut luma);
        features.push(pdqf_from_luma(&luma, 64, 64).0);
        ControlFlow::Continue(())
    })?;
    Ok(TmkFeatures::from_frame_features(
        TMK_FRAMES_PER_SECOND as i32,
        features,
    ))
}
