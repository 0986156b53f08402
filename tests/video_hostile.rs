//! Hostile and broken video input: every case ends in a typed error (or a bounded result), never a
//! hang, a panic or an unbounded allocation. Files are made here with `ffmpeg` itself; the tests
//! skip with a notice when it is absent (scripts/test.sh installs it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use referral_dedup::video::{
    probe, vpdq_from_animation, vpdq_from_file, DecodeLimits, VideoError, VpdqOptions,
};

fn ffmpeg_present() -> bool {
    let ok = Command::new("ffmpeg").arg("-version").output().is_ok()
        && Command::new("ffprobe").arg("-version").output().is_ok();
    if !ok {
        eprintln!("skipping: ffmpeg/ffprobe not installed (scripts/test.sh installs them)");
    }
    ok
}

/// Runs ffmpeg to make a small file in `dir`.
fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg could not make {name}");
    out
}

fn test_clip(dir: &Path) -> PathBuf {
    make(
        dir,
        "clip.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=4:size=160x120:rate=10",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

#[test]
fn a_generated_clip_hashes_one_frame_per_second() {
    if !ffmpeg_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = test_clip(dir.path());
    let info = probe(&clip, &DecodeLimits::default()).unwrap();
    assert_eq!((info.width, info.height, info.frame_rate), (160, 120, 10.0));
    let hash = vpdq_from_file(&clip, &VpdqOptions::default()).unwrap();
    let numbers: Vec<u64> = hash.frames.iter().map(|f| f.frame_number).collect();
    assert_eq!(numbers, [0, 10, 20, 30]);
    assert_eq!(hash.frames[2].timestamp, 2.0);
}

#[test]
fn special_files_and_directories_are_refused_before_decoding() {
    let options = VpdqOptions::default();
    for path in ["/dev/zero", "/dev/null", "/"] {
        match vpdq_from_file(Path::new(path), &options) {
            Err(VideoError::NotAFile(_)) => {}
            other => panic!("{path}: {other:?}"),
        }
    }
    #[cfg(unix)]
    {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        if Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(matches!(
                vpdq_from_file(&fifo, &options),
                Err(VideoError::NotAFile(_))
            ));
        }
    }
    assert!(matches!(
        vpdq_from_file(Path::new("/no/such/video.mp4"), &options),
        Err(VideoError::Io(_))
    ));
}

#[test]
fn garbage_truncated_and_audio_only_files_are_typed_errors() {
    if !ffmpeg_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let options = VpdqOptions::default();
    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(
        &garbage,
        (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(vpdq_from_file(&garbage, &options).is_err());
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    assert!(vpdq_from_file(&empty, &options).is_err());
    let audio = make(
        dir.path(),
        "audio.m4a",
        &["-f", "lavfi", "-i", "sine=duration=1"],
    );
    assert!(matches!(
        vpdq_from_file(&audio, &options),
        Err(VideoError::NoVideoStream)
    ));
    // Every truncation of a real clip either hashes fewer frames or fails cleanly.
    let clip = std::fs::read(test_clip(dir.path())).unwrap();
    let cut = dir.path().join("cut.mp4");
    for keep in [16, 100, clip.len() / 3, clip.len() / 2, clip.len() - 10] {
        std::fs::write(&cut, &clip[..keep]).unwrap();
        if let Ok(h) = vpdq_from_file(&cut, &options) {
            assert!(h.frames.len() <= 4);
        }
    }
    // A name with a protocol prefix is read as a file, never fetched.
    let odd = dir.path().join("http:example.com");
    std::fs::write(&odd, b"not a video").unwrap();
    assert!(vpdq_from_file(&odd, &options).is_err());
}

#[test]
fn the_frame_budget_and_the_time_limit_stop_the_child() {
    if !ffmpeg_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = test_clip(dir.path());
    let every = VpdqOptions {
        seconds_per_hash: 0.0,
        ..VpdqOptions::default()
    };
    let budget = VpdqOptions {
        limits: DecodeLimits {
            max_frames: 5,
            ..DecodeLimits::default()
        },
        ..every
    };
    assert!(matches!(
        vpdq_from_file(&clip, &budget),
        Err(VideoError::TooManyFrames { limit: 5 })
    ));
    let hurried = VpdqOptions {
        limits: DecodeLimits {
            time_limit: Duration::from_millis(1),
            ..DecodeLimits::default()
        },
        ..every
    };
    assert!(matches!(
        vpdq_from_file(&clip, &hurried),
        Err(VideoError::Timeout { .. })
    ));
    let small = VpdqOptions {
        limits: DecodeLimits {
            max_file_bytes: 10,
            ..DecodeLimits::default()
        },
        ..every
    };
    assert!(matches!(
        vpdq_from_file(&clip, &small),
        Err(VideoError::TooLarge { .. })
    ));
}

#[test]
fn hostile_animations_are_bounded() {
    let options = VpdqOptions::default();
    // Not an animation, garbage, truncated GIF header, absurd canvas.
    assert!(vpdq_from_animation(b"", &options).is_err());
    assert!(vpdq_from_animation(b"\xff\xd8\xff\xe0 jpeg", &options).is_err());
    assert!(vpdq_from_animation(b"GIF89a\x10\x00", &options).is_err());
    let mut huge = b"GIF89a".to_vec();
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0]);
    assert!(vpdq_from_animation(&huge, &options).is_err());
    // The frame budget holds for animations too.
    let mut bytes = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut bytes);
        for i in 0..12u8 {
            let img = image::RgbaImage::from_pixel(8, 8, image::Rgba([i * 20, 0, 0, 255]));
            enc.encode_frame(image::Frame::new(img)).unwrap();
        }
    }
    let budget = VpdqOptions {
        limits: DecodeLimits {
            max_frames: 10,
            ..DecodeLimits::default()
        },
        seconds_per_hash: 0.0,
        ..options
    };
    assert!(matches!(
        vpdq_from_animation(&bytes, &budget),
        Err(VideoError::TooManyFrames { limit: 10 })
    ));
}
