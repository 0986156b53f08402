//! The binary form of a video entry's field ([`StoredVideo`]), shared by the journal record
//! payload (presence bit `FIELD_VIDEO`, journal format 3) and the snapshot's `video lens` /
//! `video bytes` sections (snapshot format 2).
//!
//! ```text
//! video   = plain list, trimmed list, inside_bars list,
//!           crop count u32, crop count x list,
//!           tmk length u32 (0: none), tmk bytes (a .tmk file, checked readable)
//! list    = frame count u32, per frame: frame_number u64, quality u8 (0..=100),
//!           pdq 4 x u64 (lane order), timestamp f64 bits u64 (finite, >= 0)
//! ```
//! All integers little-endian; the bytes must be consumed exactly. Every count is checked
//! against the bytes that remain before anything is allocated.

use crate::hashes::Pdq;
use crate::video::{FrameHash, StoredVideo, VideoHash};

use super::codec::{put_pdq, put_u32, put_u64, ByteReader};

/// Bytes per stored frame: number, quality, PDQ, timestamp.
const FRAME_LEN: usize = 8 + 1 + 32 + 8;

/// Most crop lists a stored video may declare (the fingerprinter makes two).
const MAX_CROPS: usize = 16;

fn put_list(out: &mut Vec<u8>, list: &VideoHash) -> Result<(), usize> {
    let n = u32::try_from(list.frames.len()).map_err(|_| list.frames.len())?;
    put_u32(out, n);
    for f in &list.frames {
        put_u64(out, f.frame_number);
        out.push(f.quality);
        put_pdq(out, &f.pdq);
        put_u64(out, f.timestamp.to_bits());
    }
    Ok(())
}

/// The encoded bytes of `video`; `Err(len)` names a list or TMK too long for a `u32` count.
pub(crate) fn encode_video(video: &StoredVideo) -> Result<Vec<u8>, usize> {
    let mut out = Vec::new();
    put_list(&mut out, &video.plain)?;
    put_list(&mut out, &video.trimmed)?;
    put_list(&mut out, &video.inside_bars)?;
    let crops = u32::try_from(video.crops.len()).map_err(|_| video.crops.len())?;
    put_u32(&mut out, crops);
    for c in &video.crops {
        put_list(&mut out, c)?;
    }
    let tmk = video.tmk.as_deref().unwrap_or_default();
    put_u32(&mut out, u32::try_from(tmk.len()).map_err(|_| tmk.len())?);
    out.extend_from_slice(tmk);
    Ok(out)
}

fn read_list(r: &mut ByteReader<'_>) -> Result<VideoHash, String> {
    let n = r.u32()? as usize;
    if n > r.remaining() / FRAME_LEN {
        return Err(format!(
            "video frame count {n} exceeds the {} bytes that remain",
            r.remaining()
        ));
    }
    let mut frames = Vec::with_capacity(n);
    for _ in 0..n {
        let frame_number = r.u64()?;
        let quality = r.u8()?;
        if quality > 100 {
            return Err(format!("video frame quality {quality} is over 100"));
        }
        let pdq: Pdq = r.pdq()?;
        let timestamp = f64::from_bits(r.u64()?);
        if !(timestamp.is_finite() && timestamp >= 0.0) {
            return Err(format!(
                "video frame timestamp {timestamp} is negative or not finite"
            ));
        }
        frames.push(FrameHash {
            frame_number,
            quality,
            pdq,
            timestamp,
        });
    }
    Ok(VideoHash { frames })
}

/// Decodes [`encode_video`]'s bytes, which must be consumed exactly; the error is a reason text.
pub(crate) fn decode_video(bytes: &[u8]) -> Result<StoredVideo, String> {
    let mut r = ByteReader::new(bytes);
    let plain = read_list(&mut r)?;
    let trimmed = read_list(&mut r)?;
    let inside_bars = read_list(&mut r)?;
    let crop_count = r.u32()? as usize;
    if crop_count > MAX_CROPS {
        return Err(format!(
            "{crop_count} crop lists, at most {MAX_CROPS} are read"
        ));
    }
    let mut crops = Vec::with_capacity(crop_count);
    for _ in 0..crop_count {
        crops.push(read_list(&mut r)?);
    }
    let tmk_len = r.u32()? as usize;
    let tmk = if tmk_len == 0 {
        None
    } else {
        let bytes = r.take(tmk_len)?;
        crate::video::TmkFeatures::from_bytes(bytes).map_err(|e| e.to_string())?;
        Some(bytes.to_vec())
    };
    if r.remaining() != 0 {
        return Err(format!(
            "{} trailing bytes after the video field",
            r.remaining()
        ));
    }
    Ok(StoredVideo {
        plain,
        trimmed,
        inside_bars,
        crops,
        tmk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video() -> StoredVideo {
        let list = |seed: u64, n: u64| VideoHash {
            frames: (0..n)
                .map(|i| FrameHash {
                    frame_number: i * 3,
                    quality: (i * 37 % 101) as u8,
                    pdq: Pdq([seed, i, !i, seed ^ i]),
                    timestamp: i as f64 * 0.1,
                })
                .collect(),
        };
        StoredVideo {
            plain: list(1, 5),
            trimmed: list(2, 5),
            inside_bars: list(3, 4),
            crops: vec![list(4, 5), list(5, 5)],
            tmk: None,
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let v = video();
        let bytes = encode_video(&v).unwrap();
        assert_eq!(decode_video(&bytes).unwrap(), v);
        assert_eq!(
            decode_video(&StoredVideo::default().pipe(|v| encode_video(&v).unwrap())).unwrap(),
            StoredVideo::default()
        );
        // Every truncation and a trailing byte are errors, never panics.
        for cut in 0..bytes.len() {
            assert!(decode_video(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_video(&longer).is_err());
        // A huge count is refused before allocating.
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_video(&huge).unwrap_err().contains("exceeds"));
        // A NaN timestamp (the last 8 bytes of the first frame).
        let mut nan = bytes.clone();
        nan[4 + FRAME_LEN - 8..4 + FRAME_LEN].copy_from_slice(&f64::NAN.to_bits().to_le_bytes());
        assert!(decode_video(&nan).unwrap_err().contains("timestamp"));
        // A bad TMK blob.
        let mut bad_tmk = bytes[..bytes.len() - 4].to_vec();
        bad_tmk.extend_from_slice(&3u32.to_le_bytes());
        bad_tmk.extend_from_slice(b"abc");
        assert!(decode_video(&bad_tmk).is_err());
    }

    trait Pipe: Sized {
        fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
            f(self)
        }
    }
    impl<T> Pipe for T {}
}
