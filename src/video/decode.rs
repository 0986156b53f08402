//! Video decoding through the `ffmpeg` and `ffprobe` programs, as child processes.
//!
//! A child process rather than linked libav libraries: a decoder crash on a hostile file kills
//! the child, not the service; the crate needs no C build dependencies; and the programs come from
//! the system's package manager (`apt-get install ffmpeg`). Every run is bounded: a wall-clock
//! limit (a watchdog kills the child), a frame budget, a pixel cap (larger frames are scaled down
//! by ffmpeg, so memory stays bounded whatever the resolution), input restricted to regular files
//! through the `file` protocol only, no auto-rotation, and passthrough frame timing (the raw video
//! muxer otherwise drops and duplicates frames). The child is killed and reaped on every path out,
//! including errors and early stops.
//!
//! ```no_run
//! use referral_dedup::video::{decode_frames, probe, DecodeLimits, FrameRequest};
//! # fn main() -> Result<(), referral_dedup::video::VideoError> {
//! let limits = DecodeLimits::default();
//! let info = probe("clip.mp4".as_ref(), &limits)?;
//! let mut n = 0;
//! decode_frames("clip.mp4".as_ref(), &FrameRequest::native(), &limits, |_frame| {
//!     n += 1;
//!     std::ops::ControlFlow::Continue(())
//! })?;
//! println!("{}x{} at {} fps: {n} frames", info.width, info.height, info.frame_rate);
//! # Ok(()) }
//! ```

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::VideoError;

/// Resource limits for one video.
///
/// ```
/// use referral_dedup::video::DecodeLimits;
/// let l = DecodeLimits::default();
/// assert_eq!(l.max_frames, 200_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Wall-clock limit for one ffprobe or ffmpeg run (default 300 s).
    pub time_limit: Duration,
    /// Most frames read from one video (default 200,000: over 1.8 hours at 30 fps).
    pub max_frames: u64,
    /// Frames with more pixels than this are scaled down by ffmpeg to fit (default 3840×2160).
    pub max_pixels: u64,
    /// Largest input file in bytes (default 8 GiB).
    pub max_file_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            time_limit: Duration::from_secs(300),
            max_frames: 200_000,
            max_pixels: 3840 * 2160,
            max_file_bytes: 8 << 30,
        }
    }
}

/// What `ffprobe` says of a video's first video stream.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct VideoInfo {
    /// Frame width in pixels (before any rotation metadata, which is ignored).
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Average frame rate (frames per second); timestamps are frame index / this rate.
    pub frame_rate: f64,
    /// Duration in seconds, where the container states it.
    pub duration: Option<f64>,
}

/// Which frames to decode and at what size.
///
/// ```
/// use referral_dedup::video::FrameRequest;
/// assert_eq!(FrameRequest::native().every, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameRequest {
    /// Scale every frame to this size (the TMK path uses 64×64); `None` keeps the coded size
    /// (scaled down only past [`DecodeLimits::max_pixels`]).
    pub size: Option<(u32, u32)>,
    /// Resample to this constant frame rate (ffmpeg's `-r`); `None` keeps every decoded frame.
    pub resample_fps: Option<u32>,
    /// Deliver only frames whose index is a multiple of this (1 = every frame).
    pub every: u64,
    /// libswscale's scaling algorithm for resizing and colour conversion: `"area"` (what the
    /// vPDQ reference uses) or `"bicubic"` (ffmpeg's default, what the TMK reference gets).
    pub scaler: &'static str,
}

impl FrameRequest {
    /// Every frame at its coded size.
    pub fn native() -> FrameRequest {
        FrameRequest {
            size: None,
            resample_fps: None,
            every: 1,
            scaler: "area",
        }
    }
}

/// One decoded frame: packed RGB24 rows.
#[derive(Debug)]
pub struct Frame<'a> {
    /// Index of the frame among all decoded frames (before sampling).
    pub index: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes, row-major RGB.
    pub rgb: &'a [u8],
}

/// Reads what `ffprobe` says of the first video stream.
///
/// # Errors
/// [`VideoError::ToolMissing`] when `ffprobe` is not installed, [`VideoError::NotAFile`] for
/// anything but a regular file, [`VideoError::TooLarge`], [`VideoError::NoVideoStream`],
/// [`VideoError::Timeout`], or [`VideoError::Decode`] with ffprobe's own message.
pub fn probe(path: &Path, limits: &DecodeLimits) -> Result<VideoInfo, VideoError> {
    check_input(path, limits)?;
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-protocol_whitelist", "file"])
        .args(["-select_streams", "v:0", "-show_streams", "-show_format"])
        .args(["-of", "json"])
        .arg(file_url(path));
    let mut out = Vec::new();
    run(cmd, "ffprobe", limits.time_limit, |stdout| {
        stdout
            .take(1 << 20)
            .read_to_end(&mut out)
            .map(|_| ControlFlow::Continue(()))
            .map_err(VideoError::Io)
    })?;
    let json: serde_json::Value = serde_json::from_slice(&out)
        .map_err(|e| VideoError::Decode(format!("ffprobe printed unreadable JSON: {e}")))?;
    let stream = json["streams"]
        .as_array()
        .and_then(|s| s.first())
        .ok_or(VideoError::NoVideoStream)?;
    let dim = |k: &str| stream[k].as_u64().filter(|&v| v > 0 && v <= 1 << 16);
    let (Some(width), Some(height)) = (dim("width"), dim("height")) else {
        return Err(VideoError::Decode(
            "the video stream has no valid size".into(),
        ));
    };
    let rate = |k: &str| stream[k].as_str().and_then(parse_rate);
    let frame_rate = rate("avg_frame_rate")
        .or_else(|| rate("r_frame_rate"))
        .ok_or_else(|| VideoError::Decode("the video stream has no frame rate".into()))?;
    let seconds = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
    let duration = seconds(&stream["duration"])
        .or_else(|| seconds(&json["format"]["duration"]))
        .filter(|d| d.is_finite() && *d >= 0.0);
    Ok(VideoInfo {
        width: width as u32,
        height: height as u32,
        frame_rate,
        duration,
    })
}

/// Decodes the first video stream and hands each requested frame to `on_frame`, which may stop
/// early with [`ControlFlow::Break`]. Returns the index one past the last frame read (when
/// sampling, frames after the last sampled one are not counted).
///
/// # Errors
/// As [`probe`], plus [`VideoError::TooManyFrames`] past the frame budget.
pub fn decode_frames(
    path: &Path,
    request: &FrameRequest,
    limits: &DecodeLimits,
    on_frame: impl FnMut(&Frame<'_>) -> ControlFlow<()>,
) -> Result<u64, VideoError> {
    let info = probe(path, limits)?;
    decode_probed(path, &info, request, limits, on_frame)
}

/// [`decode_frames`] for a video already probed: `info` must be what [`probe`] said of `path`
/// (ffprobe costs a tenth of decoding a short SD video; hashing needs its answer first).
pub(crate) fn decode_probed(
    path: &Path,
    info: &VideoInfo,
    request: &FrameRequest,
    limits: &DecodeLimits,
    mut on_frame: impl FnMut(&Frame<'_>) -> ControlFlow<()>,
) -> Result<u64, VideoError> {
    check_input(path, limits)?;
    let (width, height) = output_size(info, request, limits);
    let frame_bytes = width as usize * height as usize * 3;
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error"])
        .args(["-protocol_whitelist", "file", "-noautorotate"])
        .arg("-i")
        .arg(file_url(path))
        .args(["-map", "0:v:0", "-an", "-sn", "-dn"]);
    let every = request.every.max(1);
    let mut filters = Vec::new();
    // Sampling inside ffmpeg: skipped frames are never converted or piped, so hashing one frame
    // per second costs little more than decoding.
    let selecting = every > 1 && request.resample_fps.is_none();
    if selecting {
        filters.push(format!("select='not(mod(n,{every}))'"));
    }
    if (width, height) != (info.width, info.height) {
        filters.push(format!("scale={width}:{height}:flags={}", request.scaler));
    }
    if let Some(fps) = request.resample_fps {
        cmd.args(["-r", &fps.to_string()]);
    } else {
        cmd.args(["-fps_mode", "passthrough"]);
    }
    if !filters.is_empty() {
        cmd.args(["-vf", &filters.join(",")]);
    }
    cmd.args(["-sws_flags", request.scaler])
        .args(["-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]);
    let (stride, mut index) = if selecting { (every, 0) } else { (1, 0u64) };
    let mut buffer = vec![0u8; frame_bytes];
    run(cmd, "ffmpeg", limits.time_limit, |stdout| loop {
        if !read_frame(stdout, &mut buffer)? {
            return Ok(ControlFlow::Continue(()));
        }
        if index >= limits.max_frames {
            return Err(VideoError::TooManyFrames {
                limit: limits.max_frames,
            });
        }
        if index % every == 0 {
            let frame = Frame {
                index,
                width,
                height,
                rgb: &buffer,
            };
            if on_frame(&frame).is_break() {
                index += stride;
                return Ok(ControlFlow::Break(()));
            }
        }
        index += stride;
    })?;
    Ok(index)
}

/// The frame size ffmpeg is asked for: the request's, or the coded size scaled down (keeping the
/// aspect ratio, even sides) until it fits the pixel cap.
fn output_size(info: &VideoInfo, request: &FrameRequest, limits: &DecodeLimits) -> (u32, u32) {
    if let Some(size) = request.size {
        return size;
    }
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels <= limits.max_pixels {
        return (info.width, info.height);
    }
    let scale = (limits.max_pixels as f64 / pixels as f64).sqrt();
    let side = |v: u32| (((f64::from(v) * scale) as u32) & !1).max(2);
    (side(info.width), side(info.height))
}

/// Fills `buffer` with one frame; `false` at a clean end of stream.
fn read_frame(r: &mut impl Read, buffer: &mut [u8]) -> Result<bool, VideoError> {
    let mut filled = 0;
    while filled < buffer.len() {
        match r.read(&mut buffer[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                return Err(VideoError::Decode(
                    "ffmpeg's output ended inside a frame".into(),
                ))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(VideoError::Io(e)),
        }
    }
    Ok(true)
}

fn parse_rate(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
    let r = n / d;
    (r.is_finite() && r > 0.0 && r <= 10_000.0).then_some(r)
}

/// `file:` URL for a path, so that a name with a colon is never read as another protocol.
fn file_url(path: &Path) -> std::ffi::OsString {
    let mut s = std::ffi::OsString::from("file:");
    s.push(path.as_os_str());
    s
}

/// Regular files only, within the size cap.
fn check_input(path: &Path, limits: &DecodeLimits) -> Result<(), VideoError> {
    let meta = std::fs::metadata(path).map_err(VideoError::Io)?;
    if !meta.is_file() {
        return Err(VideoError::NotAFile(path.display().to_string()));
    }
    if meta.len() > limits.max_file_bytes {
        return Err(VideoError::TooLarge {
            bytes: meta.len(),
            limit: limits.max_file_bytes,
        });
    }
    if meta.len() == 0 {
        return Err(VideoError::Decode("the file is empty".into()));
    }
    Ok(())
}

/// Kills and reaps the child when dropped, whatever path leaves [`run`].
struct ChildGuard(Arc<Mutex<Child>>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let mut child = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// Runs `cmd` with its stdout handed to `read`, its stderr kept (last 4 KiB) for the error
/// message, and a watchdog that kills it after `limit`.
fn run(
    mut cmd: Command,
    program: &'static str,
    limit: Duration,
    read: impl FnOnce(&mut std::process::ChildStdout) -> Result<ControlFlow<()>, VideoError>,
) -> Result<(), VideoError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => VideoError::ToolMissing(program),
        _ => VideoError::Io(e),
    })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let child = Arc::new(Mutex::new(child));
    let guard = ChildGuard(Arc::clone(&child));
    let timed_out = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (child, timed_out, done) = (
            Arc::clone(&child),
            Arc::clone(&timed_out),
            Arc::clone(&done),
        );
        std::thread::spawn(move || {
            let deadline = Instant::now() + limit;
            while !done.load(Ordering::Acquire) {
                if Instant::now() >= deadline {
                    timed_out.store(true, Ordering::Release);
                    let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let stderr_reader = std::thread::spawn(move || {
        let mut tail = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut stderr = stderr;
        while let Ok(n) = stderr.read(&mut chunk) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&chunk[..n]);
            if tail.len() > 8192 {
                tail.drain(..tail.len() - 4096);
            }
        }
        tail
    });
    let outcome = read(&mut stdout);
    let stopped_early = matches!(outcome, Ok(ControlFlow::Break(())));
    if outcome.is_err() || stopped_early {
        let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
    }
    drop(stdout);
    let status = child.lock().unwrap_or_else(|p| p.into_inner()).wait();
    done.store(true, Ordering::Release);
    let _ = watchdog.join();
    let tail = stderr_reader.join().unwrap_or_default();
    drop(guard);
    if timed_out.load(Ordering::Acquire) {
        return Err(VideoError::Timeout {
            program,
            seconds: limit.as_secs_f64(),
        });
    }
    let _: ControlFlow<()> = outcome?;
    let status = status.map_err(VideoError::Io)?;
    if !status.success() && !stopped_early {
        let message = String::from_utf8_lossy(&tail);
        let mut message = message.trim().to_owned();
        if message.is_empty() {
            message = format!("{program} exited with {status}");
        }
        let last = message.lines().last().unwrap_or("");
        return Err(VideoError::Decode(format!("{program}: {last}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_parse_strictly() {
        assert_eq!(
            parse_rate("30000/1001").map(|r| (r * 1000.0).round()),
            Some(29970.0)
        );
        assert_eq!(parse_rate("25"), Some(25.0));
        for bad in ["0/0", "1/0", "-5/1", "x/1", "", "1e9/1"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn oversized_frames_are_scaled_to_fit() {
        let info = VideoInfo {
            width: 7680,
            height: 4320,
            frame_rate: 30.0,
            duration: None,
        };
        let (w, h) = output_size(&info, &FrameRequest::native(), &DecodeLimits::default());
        assert!(u64::from(w) * u64::from(h) <= 3840 * 2160 && w % 2 == 0 && h % 2 == 0);
        assert_eq!(
            output_size(
                &info,
                &FrameRequest {
                    size: Some((64, 64)),
                    ..FrameRequest::native()
                },
                &DecodeLimits::default()
            ),
            (64, 64)
        );
    }

    #[test]
    fn special_files_are_refused_before_running_anything() {
        let limits = DecodeLimits::default();
        assert!(matches!(
            probe(Path::new("/dev/zero"), &limits),
            Err(VideoError::NotAFile(_))
        ));
        assert!(matches!(
            probe(Path::new("/"), &limits),
            Err(VideoError::NotAFile(_))
        ));
    }
}
