//! The video side of the commands: `hash` lines and vPDQ output for videos, `known import` of
//! vPDQ lists and `.tmk` files, `known export --videos DIR`.
//!
//! Exchange files are one video per file: `NAME.vpdq` (or `.txt`/`.csv`) holds the vPDQ
//! reference CLI's lines `frameNumber,quality,pdqhex,timestamp`, `NAME.json` python-threatexchange's
//! list of `"pdqhex,quality,timestamp"`, `NAME.tmk` a TMK+PDQF file; the video's id is `NAME`
//! unless `--id` says otherwise. Export writes `ID.vpdq` for every known video with frame
//! codes and `ID.tmk` for every one with TMK+PDQF.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use referral_dedup::engine::{looks_like_video, Engine};
use referral_dedup::hashes::{Blake3, Md5, Sha256};
use referral_dedup::media::{digest_file, open_regular_file};
use referral_dedup::video::{
    parse_vpdq, probe, vpdq_from_animation, vpdq_from_file, vpdq_from_probed_file, FrameHash,
    StoredVideo, VideoError, VideoHash, VideoInfo, VpdqOptions,
};
use serde::Serialize;

use crate::CliError;

/// Largest vPDQ list or `.tmk` file read by `known import` (64 MiB).
const MAX_IMPORT_BYTES: u64 = 64 << 20;

/// Largest animation read into memory for `hash --format vpdq` (the picture limit's default).
const MAX_ANIMATION_BYTES: u64 = 256 << 20;

/// True when the file starts like a video container (unreadable files, and anything but a
/// regular file, are not videos here: the picture path reports them).
pub(crate) fn is_video_file(path: &Path) -> bool {
    let mut head = Vec::with_capacity(512);
    open_regular_file(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .is_ok_and(|_| looks_like_video(&head))
}

/// `refdedup hash`'s JSON line for a video: digests, stream facts and the vPDQ frames.
#[derive(Serialize)]
pub(crate) struct VideoLine {
    path: String,
    bytes: u64,
    blake3: Blake3,
    sha256: Sha256,
    md5: Md5,
    width: u32,
    height: u32,
    frame_rate: f64,
    /// Seconds the container states, where it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<f64>,
    /// Sampled frames.
    frames: usize,
    /// Seconds between hashed frames (0: every frame).
    seconds_per_hash: f64,
    vpdq: Vec<FrameHash>,
}

/// One `hash` line for a video file: the frames, or the digests and the reason.
pub(crate) fn hash_line(path: &Path, seconds_per_hash: f64) -> serde_json::Value {
    let text = path.to_string_lossy().into_owned();
    let digests = match digest_file(path) {
        Ok(d) => d,
        Err(e) => return serde_json::json!({"path": text, "error": format!("reading media: {e}")}),
    };
    let ((d, bytes), options) = (
        digests,
        VpdqOptions {
            seconds_per_hash,
            ..VpdqOptions::default()
        },
    );
    let hashed = probe(path, &options.limits)
        .and_then(|info| Ok((info, vpdq_from_probed_file(path, &info, &options)?)));
    let value = match hashed {
        Ok((info, hash)) => {
            serde_json::to_value(video_line(text, bytes, d, info, seconds_per_hash, hash))
        }
        Err(e) => serde_json::to_value(crate::hash::DigestLine {
            path: text,
            bytes,
            blake3: d.blake3,
            sha256: d.sha256,
            md5: d.md5,
            error: format!("video: {e}"),
        }),
    };
    value.unwrap_or_else(|e| serde_json::json!({"path": path, "error": e.to_string()}))
}

fn video_line(
    path: String,
    bytes: u64,
    d: referral_dedup::media::Digests,
    info: VideoInfo,
    seconds_per_hash: f64,
    hash: VideoHash,
) -> VideoLine {
    VideoLine {
        path,
        bytes,
        blake3: d.blake3,
        sha256: d.sha256,
        md5: d.md5,
        width: info.width,
        height: info.height,
        frame_rate: info.frame_rate,
        duration: info.duration,
        frames: hash.frames.len(),
        seconds_per_hash,
        vpdq: hash.frames,
    }
}

/// `refdedup hash --format vpdq | vpdq-json FILE`: the vPDQ of one video (or animated GIF,
/// PNG or WebP) in an exchange form on stdout.
pub(crate) fn write_vpdq(path: &Path, json: bool, seconds_per_hash: f64) -> Result<(), CliError> {
    let options = VpdqOptions {
        seconds_per_hash,
        ..VpdqOptions::default()
    };
    let context = path.display();
    let hash = if is_video_file(path) {
        vpdq_from_file(path, &options).map_err(|e| CliError::lib(&context, e))?
    } else {
        let mut bytes = Vec::new();
        open_regular_file(path)
            .and_then(|f| f.take(MAX_ANIMATION_BYTES).read_to_end(&mut bytes))
            .map_err(|source| CliError::Input {
                path: path.to_path_buf(),
                source,
            })?;
        vpdq_from_animation(&bytes, &options).map_err(|e| CliError::lib(&context, e))?
    };
    let text = if json {
        hash.to_json() + "\n"
    } else {
        hash.to_reference()
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::stdout)
}

/// True when `known import` should read `path` as one video's hashes: by `--format`, else by
/// its extension (`.tmk`, `.vpdq`; a `.json` file whose content is a JSON list, `[`, while a
/// `.json` file of objects stays a JSONL hash list).
pub(crate) fn is_video_list(path: &Path, format: Option<&str>) -> bool {
    match format {
        Some(f) => matches!(f, "vpdq" | "vpdq-json" | "tmk"),
        None => match extension(path).as_deref() {
            Some("tmk" | "vpdq") => true,
            Some("json") => {
                let mut head = Vec::new();
                let _ = open_regular_file(path).and_then(|f| f.take(4096).read_to_end(&mut head));
                let text = String::from_utf8_lossy(&head);
                text.trim_start_matches('\u{feff}')
                    .trim_start()
                    .starts_with('[')
            }
            _ => false,
        },
    }
}

fn extension(path: &Path) -> Option<String> {
    Some(path.extension()?.to_string_lossy().to_ascii_lowercase())
}

/// `known import` of one video's vPDQ list or `.tmk` file; prints what it did.
pub(crate) fn import(
    engine: &Engine,
    path: &Path,
    format: Option<&str>,
    id: Option<&str>,
    label: Option<&str>,
) -> Result<(), CliError> {
    let input = |source| CliError::Input {
        path: path.to_path_buf(),
        source,
    };
    let file = open_regular_file(path).map_err(input)?;
    let mut bytes = Vec::new();
    file.take(MAX_IMPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(input)?;
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(CliError::lib(
            path.display(),
            VideoError::TooLarge {
                bytes: bytes.len() as u64,
                limit: MAX_IMPORT_BYTES,
            },
        ));
    }
    let tmk = match format {
        Some(f) => f == "tmk",
        None => extension(path).as_deref() == Some("tmk"),
    };
    let video = if tmk {
        StoredVideo::from_tmk(bytes)
    } else {
        std::str::from_utf8(&bytes)
            .map_err(|e| VideoError::Format {
                line: 0,
                reason: format!("not UTF-8 text: {e}"),
            })
            .and_then(parse_vpdq)
            .map(StoredVideo::from_vpdq)
    }
    .map_err(|e| CliError::lib(path.display(), e))?;
    let id = id.map(str::to_string).unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    });
    let frames = video.plain.frames.len();
    let has_tmk = video.tmk.is_some();
    let entry = engine
        .add_known_video(video, &id, label)
        .and_then(|e| {
            engine.sync()?;
            Ok(e)
        })
        .map_err(|e| CliError::lib(path.display(), e))?;
    crate::print_json(&serde_json::json!({
        "list": path,
        "id": id,
        "entry": entry,
        "video_frames": frames,
        "tmk": has_tmk,
    }))
}

/// A file name for an id: characters outside `[A-Za-z0-9._-]` become `_` (never empty, never
/// a dot file).
fn file_name_for(id: &str) -> String {
    let name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        format!("_{name}")
    } else {
        name
    }
}

/// `known export --videos DIR`: one `ID.vpdq` and/or `ID.tmk` per known video; prints a line
/// per file written to stderr and returns how many files were written.
pub(crate) fn export(engine: &Engine, dir: &Path) -> Result<usize, CliError> {
    let write_err = |path: PathBuf| {
        move |source| CliError::Output {
            to: path.display().to_string(),
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(write_err(dir.to_path_buf()))?;
    let mut written = 0;
    for (id, _label, video) in engine.known_videos() {
        let name = file_name_for(&id);
        if video.has_frames() {
            let path = dir.join(format!("{name}.vpdq"));
            std::fs::write(&path, video.plain.to_reference()).map_err(write_err(path.clone()))?;
            written += 1;
        }
        if let Some(tmk) = &video.tmk {
            let path = dir.join(format!("{name}.tmk"));
            std::fs::write(&path, tmk).map_err(write_err(path.clone()))?;
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_inside_the_directory() {
        assert_eq!(file_name_for("clip-7.mp4"), "clip-7.mp4");
        assert_eq!(file_name_for("../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_name_for(""), "_");
        assert_eq!(file_name_for("a/b c"), "a_b_c");
    }
}
