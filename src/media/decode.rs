//! Safe decoding with explicit resource limits.
//!
//! Limits are checked in this order, each before the work it guards: file size (before reading
//! or decoding anything), the format (only JPEG, PNG, GIF, WebP, BMP and TIFF are accepted, which
//! keeps rarely used decoders off hostile input), width, height and pixel count (from the header,
//! before any pixel buffer exists), then the decoder's own allocation budget. A decompression
//! bomb therefore fails on its header, quickly and with bounded memory.
//!
//! ```
//! use referral_dedup::media::{decode, HashOptions, MediaError};
//! assert!(matches!(decode(b"", &HashOptions::default()), Err(MediaError::Empty)));
//! assert!(matches!(decode(b"not an image", &HashOptions::default()), Err(MediaError::UnknownFormat)));
//! ```

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::{HashOptions, MediaError};

/// Resource limits for decoding untrusted media.
///
/// The defaults admit every ordinary photo and screenshot (up to 64 megapixels, e.g. a
/// 48-megapixel phone camera frame) and refuse anything larger; hashing a 64-megapixel image
/// needs roughly 1 GiB in total (decoded pixels plus PDQ's float32 planes).
///
/// ```
/// use referral_dedup::media::Limits;
/// let strict = Limits { max_pixels: 1_000_000, ..Limits::default() };
/// assert_eq!(strict.max_width, Limits::default().max_width);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Widest accepted image, in pixels. Default 32,768.
    pub max_width: u32,
    /// Tallest accepted image, in pixels. Default 32,768.
    pub max_height: u32,
    /// Most pixels (width × height) accepted. Default 64 Mi (67,108,864).
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate, including the decoded image. Default 512 MiB.
    pub max_alloc_bytes: u64,
    /// Largest accepted input, in bytes. Default 256 MiB.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_width: 32_768,
            max_height: 32_768,
            max_pixels: 64 << 20,
            max_alloc_bytes: 512 << 20,
            max_file_bytes: 256 << 20,
        }
    }
}

/// Formats [`decode`] accepts.
const ACCEPTED: [ImageFormat; 6] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::Gif,
    ImageFormat::WebP,
    ImageFormat::Bmp,
    ImageFormat::Tiff,
];

/// Decodes an image (JPEG, PNG, GIF first frame, WebP, BMP, TIFF) from its bytes, enforcing
/// `opts.limits` and applying the EXIF orientation only when `opts.apply_exif_orientation` is set.
///
/// The format is sniffed from the content, never from a file name. 16-bit, greyscale, alpha and
/// palette images decode to their natural [`DynamicImage`] variant; CMYK JPEGs are converted to
/// RGB by the decoder.
///
/// # Errors
/// [`MediaError::Empty`], [`MediaError::TooLarge`] (file size, dimensions, pixel count, decoder
/// allocation), [`MediaError::UnknownFormat`], [`MediaError::UnsupportedFormat`],
/// [`MediaError::Decode`] for corrupt or truncated data, and [`MediaError::DecoderPanic`] if a
/// decoder panicked on hostile input (caught, never propagated).
///
/// ```
/// use referral_dedup::media::{decode, HashOptions};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut png = Vec::new();
/// image::RgbImage::new(3, 2).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
/// let img = decode(&png, &HashOptions::default())?;
/// assert_eq!((img.width(), img.height()), (3, 2));
/// # Ok(()) }
/// ```
pub fn decode(bytes: &[u8], opts: &HashOptions) -> Result<DynamicImage, MediaError> {
    let limits = &opts.limits;
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(MediaError::TooLarge {
            what: "file bytes",
            value: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    let format = image::guess_format(bytes).map_err(|_| MediaError::UnknownFormat)?;
    if !ACCEPTED.contains(&format) {
        return Err(MediaError::UnsupportedFormat(format!("{format:?}")));
    }
    let apply_orientation = opts.apply_exif_orientation;
    let limits = *limits;
    // Decoders are third-party code facing hostile bytes: a panic there must become an error.
    let result =
        std::panic::catch_unwind(move || decode_checked(bytes, format, &limits, apply_orientation));
    result.unwrap_or(Err(MediaError::DecoderPanic))
}

fn decode_checked(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
    apply_orientation: bool,
) -> Result<DynamicImage, MediaError> {
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc_bytes);

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    let total = decoder.total_bytes();
    if total > limits.max_alloc_bytes {
        return Err(MediaError::TooLarge {
            what: "decoded bytes",
            value: total,
            limit: limits.max_alloc_bytes,
        });
    }
    let orientation = if apply_orientation {
        // A broken EXIF block must not make an otherwise good image undecodable.
        decoder.orientation().ok()
    } else {
        None
    };
    let mut img = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok(img)
}

fn check_dimensions(width: u32, height: u32, limits: &Limits) -> Result<(), MediaError> {
    let too_large = |what, value: u64, limit: u64| MediaError::TooLarge { what, value, limit };
    if width == 0 || height == 0 {
        return Err(MediaError::ZeroSize { width, height });
    }
    if width > limits.max_width {
        return Err(too_large("width", width.into(), limits.max_width.into()));
    }
    if height > limits.max_height {
        return Err(too_large("height", height.into(), limits.max_height.into()));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(too_large("pixels", pixels, limits.max_pixels));
    }
    Ok(())
}

fn map_image_error(e: image::ImageError) -> MediaError {
    match e {
        image::ImageError::Limits(_) => MediaError::LimitExceeded(e),
        image::ImageError::Unsupported(_) => MediaError::UnsupportedFormat(e.to_string()),
        image::ImageError::IoError(io) => match io.kind() {
            // Reading from memory only fails when the data ends early.
            std::io::ErrorKind::UnexpectedEof => MediaError::Decode(image::ImageError::IoError(io)),
            _ => MediaError::Io(io),
        },
        other => MediaError::Decode(other),
    }
}
