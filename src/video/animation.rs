//! Animated GIF, APNG and animated WebP, decoded in-process through the `image` crate's frame
//! iterators (no `ffmpeg` needed), with the same frame budget as videos.
//!
//! Each frame is the fully composited canvas; its timestamp is the sum of the delays before it.
//! Sampling follows [`VpdqOptions::seconds_per_hash`]: a frame is hashed when it is the first
//! shown at or after the next sampling time (animations have uneven delays), every frame for 0.
//!
//! ```
//! use image::{codecs::gif::GifEncoder, Delay, Frame, Rgba, RgbaImage};
//! use referral_dedup::video::{vpdq_from_animation, VpdqOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut bytes = Vec::new();
//! {
//!     let mut enc = GifEncoder::new(&mut bytes);
//!     for i in 0..4u32 {
//!         let img = RgbaImage::from_fn(64, 64, |x, y| Rgba([((x * (i + 1)) % 256) as u8, (y * 3) as u8, 90, 255]));
//!         enc.encode_frame(Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(500, 1)))?;
//!     }
//! }
//! let every = VpdqOptions { seconds_per_hash: 0.0, ..VpdqOptions::default() };
//! let hash = vpdq_from_animation(&bytes, &every)?;
//! assert_eq!(hash.frames.len(), 4);
//! assert_eq!(hash.frames[3].timestamp, 1.5);
//! assert_eq!(vpdq_from_animation(&bytes, &VpdqOptions::default())?.frames.len(), 2);
//! # Ok(()) }
//! ```

use std::io::Cursor;

use image::{AnimationDecoder, ImageDecoder, ImageFormat};

use super::{FrameHash, VideoError, VideoHash, VpdqOptions};
use crate::media::pdq::rgb_to_luma;
use crate::media::pdq_from_luma;

/// vPDQ of an animated GIF, APNG or WebP held in memory (a still picture gives one frame).
///
/// # Errors
/// [`VideoError::Decode`] for an unrecognised or corrupt file, [`VideoError::TooLarge`] past the
/// byte cap, [`VideoError::TooManyFrames`] past the frame budget; the canvas size is checked
/// against [`DecodeLimits::max_pixels`](super::DecodeLimits::max_pixels) before any frame is
/// decoded.
pub fn vpdq_from_animation(bytes: &[u8], options: &VpdqOptions) -> Result<VideoHash, VideoError> {
    let limits = &options.limits;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(VideoError::TooLarge {
            bytes: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    let format = image::guess_format(bytes)
        .map_err(|e| VideoError::Decode(format!("not a recognised animation: {e}")))?;
    let decode_error = |e: image::ImageError| VideoError::Decode(e.to_string());
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(512 << 20);
    let check = |(w, h): (u32, u32)| -> Result<(), VideoError> {
        let pixels = u64::from(w) * u64::from(h);
        if pixels > limits.max_pixels || w == 0 || h == 0 {
            return Err(VideoError::Decode(format!(
                "canvas {w}x{h} is empty or over the {} pixel limit",
                limits.max_pixels
            )));
        }
        Ok(())
    };
    let frames: image::Frames<'_> = match format {
        ImageFormat::Gif => {
            let mut d =
                image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            check(d.dimensions())?;
            d.set_limits(image_limits).map_err(decode_error)?;
            d.into_frames()
        }
        ImageFormat::Png => {
            let mut d =
                image::codecs::png::PngDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            check(d.dimensions())?;
            d.set_limits(image_limits).map_err(decode_error)?;
            d.apng().map_err(decode_error)?.into_frames()
        }
        ImageFormat::WebP => {
            let mut d =
                image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            // image-webp asserts (panics) when frames are read from a WebP whose header does
            // not flag an animation, even one carrying ANMF chunks (found by fuzzing).
            if !d.has_animation() {
                return Err(VideoError::Decode(
                    "WebP without the animation flag is a still picture, not an animation".into(),
                ));
            }
            check(d.dimensions())?;
            d.set_limits(image_limits).map_err(decode_error)?;
            d.into_frames()
        }
        other => {
            return Err(VideoError::Decode(format!(
                "{other:?} is not an animation format (GIF, APNG, WebP)"
            )))
        }
    };
    let mut out = Vec::new();
    let mut luma = Vec::new();
    let mut clock_ms = 0f64;
    let mut next_sample = 0f64;
    for (index, frame) in frames.enumerate() {
        if index as u64 >= limits.max_frames {
            return Err(VideoError::TooManyFrames {
                limit: limits.max_frames,
            });
        }
        let frame = frame.map_err(decode_error)?;
        let (numer, denom) = frame.delay().numer_denom_ms();
        let timestamp = clock_ms / 1000.0;
        clock_ms += f64::from(numer) / f64::from(denom.max(1));
        if timestamp + 1e-9 < next_sample {
            continue;
        }
        if options.seconds_per_hash > 0.0 {
            while next_sample <= timestamp + 1e-9 {
                next_sample += options.seconds_per_hash;
            }
        }
        let canvas = frame.into_buffer();
        let (w, h) = (canvas.width() as usize, canvas.height() as usize);
        luma.resize(w * h, 0.0);
        rgb_to_luma::<4>(canvas.as_raw(), &mut luma);
        let pdq = pdq_from_luma(&luma, w, h);
        out.push(FrameHash {
            frame_number: index as u64,
            quality: pdq.quality,
            pdq: pdq.hash,
            timestamp,
        });
    }
    Ok(VideoHash { frames: out })
}
