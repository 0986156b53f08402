//! Media hashes: safe decoding with limits, BLAKE3/SHA-256/MD5 digests, PDQ (bit-compatible with
//! Meta's reference), dHash and pHash.
//!
//! Everything here is a pure function of its input (bytes or pixels): no index, store or policy.
//!
//! | module | what |
//! |---|---|
//! | [`digest`] | BLAKE3, SHA-256 and MD5 in one streaming pass |
//! | [`decode`](mod@decode) | `image`-crate decoding behind explicit [`Limits`] |
//! | [`luma`] | the float luma every pixel hash starts from, and its area-averaged reduction |
//! | [`pdq`] | PDQ, written here to match the reference C++ core bit for bit, plus the 8 dihedral variants (its blur and decimation in `pdq_blur`, its DCT table in `pdq_dct`) |
//! | [`perceptual`] | dHash and pHash through `image_hasher` with a pinned configuration |
//!
//! [`hash_bytes`] and [`hash_file`] decode once and return every hash as a [`MediaHashes`];
//! [`hash_files`] does the same for many files in parallel.
//!
//! ## Colour modes, and a difference from the Python pipeline
//! Every image is converted to true RGB before PDQ (CMYK via the decoder, palette expanded,
//! 16-bit scaled to 8 bits, greyscale replicated, alpha dropped without compositing). Meta's
//! python-threatexchange / HMA pipeline does not: it hands most Pillow modes to the reference core
//! as raw arrays, so there a **CMYK JPEG hashes to roughly the bitwise complement** of the
//! picture (C, M, Y read as R, G, B), a palette PNG hashes its palette indices, and a 1-bit image
//! gets quality 0. Pillow's own `convert("RGB")` also clips 16-bit (`I;16`) values at 255 instead
//! of scaling them. For those modes our hashes are the hashes of the picture, and may therefore
//! differ from hashes an HMA bank computed from the same file; for 8-bit RGB, RGBA, greyscale and
//! grey+alpha images they are the same bits.
//!
//! ## EXIF orientation
//! Off by default ([`HashOptions::apply_exif_orientation`]): Meta's reference tools, HMA and
//! python-threatexchange all ignore EXIF orientation, so shared PDQ lists hold the hashes of the
//! stored pixel order. Turning it on hashes the picture as displayed; [`HashOptions::dihedral`]
//! covers rotated and mirrored re-uploads either way.
//!
//! ```
//! use referral_dedup::media::{hash_bytes, HashOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let img = image::RgbImage::from_fn(120, 90, |x, y| image::Rgb([((x / 15 + y / 15) % 2 * 200) as u8, (y * 2) as u8, 128]));
//! let mut png = Vec::new();
//! img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
//! let h = hash_bytes(&png, &HashOptions::default())?;
//! assert_eq!((h.width, h.height, h.bytes), (120, 90, png.len() as u64));
//! assert!(h.pdq.quality >= 50); // a checkerboard has strong gradients
//! # Ok(()) }
//! ```

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::hashes::{Blake3, Hash64, HashBundle, Md5, Pdq, Sha256};

pub mod decode;
pub mod digest;
pub mod luma;
pub mod pdq;
mod pdq_blur;
mod pdq_dct;
pub mod perceptual;

pub use decode::{decode, Limits};
pub use digest::{digest_bytes, digest_file, digest_reader, Digests};
pub use luma::{LumaImage, REDUCED_MAX_SIDE};
pub use pdq::{
    luma_from_image, pdq_dihedral_from_image, pdq_dihedral_from_luma, pdq_from_image,
    pdq_from_luma, pdqf_from_luma, PdqHash, DIHEDRAL_NAMES,
};
pub use perceptual::{
    dhash, dhash_gray, dhash_phash, dhash_phash_gray, dhash_phash_luma, phash, phash_gray,
    PERCEPTUAL_MAX_SIDE,
};

/// Why media could not be read, decoded or hashed.
///
/// ```
/// use referral_dedup::media::MediaError;
/// let e = MediaError::TooLarge { what: "pixels", value: 10, limit: 5 };
/// assert_eq!(e.to_string(), "image too large: pixels 10 exceeds the limit 5");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// Reading the input failed.
    #[error("reading media: {0}")]
    Io(#[from] std::io::Error),
    /// The input has no bytes.
    #[error("empty input")]
    Empty,
    /// The content is not a recognised image format.
    #[error("unknown image format")]
    UnknownFormat,
    /// A recognised format this crate does not decode (or a feature of it the decoder lacks).
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(String),
    /// The image declares zero width or height.
    #[error("image has zero size ({width}x{height})")]
    ZeroSize {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// A configured [`Limits`] value was exceeded (checked before the guarded work).
    #[error("image too large: {what} {value} exceeds the limit {limit}")]
    TooLarge {
        /// Which limit: `file bytes`, `width`, `height`, `pixels` or `decoded bytes`.
        what: &'static str,
        /// The input's value.
        value: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The decoder stopped at its own resource limit.
    #[error("decoder limit exceeded: {0}")]
    LimitExceeded(#[source] image::ImageError),
    /// The data is corrupt or truncated.
    #[error("decoding image: {0}")]
    Decode(#[source] image::ImageError),
    /// A decoder panicked on this input; the panic was caught.
    #[error("image decoder panicked on malformed input")]
    DecoderPanic,
}

/// Options for decoding and hashing.
///
/// Defaults: [`Limits::default`], EXIF orientation **not** applied (the reference tools and shared
/// PDQ lists ignore it; see the module docs), dihedral PDQ variants **not** computed (they cost one
/// extra threshold pass per variant and are only needed when matching rotated/mirrored copies).
///
/// ```
/// use referral_dedup::media::HashOptions;
/// let o = HashOptions { dihedral: true, ..HashOptions::default() };
/// assert!(!o.apply_exif_orientation && o.dihedral);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashOptions {
    /// Decoding limits.
    pub limits: Limits,
    /// Rotate/flip to the EXIF orientation before hashing. Default `false`.
    pub apply_exif_orientation: bool,
    /// Also compute the 8 dihedral PDQ variants ([`MediaHashes::pdq_dihedral`]). Default `false`.
    pub dihedral: bool,
}

/// Every hash of one media file: its size, decoded dimensions, digests and perceptual codes.
///
/// ```
/// use referral_dedup::media::{hash_bytes, HashOptions};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut png = Vec::new();
/// image::GrayImage::from_fn(64, 48, |x, y| image::Luma([(x ^ y) as u8 * 4]))
///     .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
/// let opts = HashOptions { dihedral: true, ..Default::default() };
/// let h = hash_bytes(&png, &opts)?;
/// let json = serde_json::to_value(&h)?;
/// assert_eq!(json["pdq"]["hash"], h.pdq.hash.to_string());
/// assert_eq!(h.pdq_dihedral.unwrap()[0], h.pdq.hash);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaHashes {
    /// Size of the input in bytes.
    pub bytes: u64,
    /// Decoded width in pixels (after EXIF orientation, if applied).
    pub width: u32,
    /// Decoded height in pixels.
    pub height: u32,
    /// BLAKE3 of the bytes.
    pub blake3: Blake3,
    /// SHA-256 of the bytes.
    pub sha256: Sha256,
    /// MD5 of the bytes.
    pub md5: Md5,
    /// PDQ hash and quality.
    pub pdq: PdqHash,
    /// 64-bit difference hash.
    pub dhash: Hash64,
    /// 64-bit DCT perceptual hash.
    pub phash: Hash64,
    /// The 8 dihedral PDQ hashes in [`DIHEDRAL_NAMES`] order, when [`HashOptions::dihedral`] is set.
    pub pdq_dihedral: Option<[Pdq; 8]>,
}

impl MediaHashes {
    /// Every hash as a [`HashBundle`] (all present; no extra PDQ codes): the form the other
    /// layers carry hashes in.
    ///
    /// ```
    /// use referral_dedup::media::{digest_bytes, hash_image, HashOptions};
    /// let img = image::DynamicImage::ImageRgb8(image::RgbImage::new(10, 10));
    /// let h = hash_image(3, digest_bytes(b"abc"), &img, &HashOptions::default());
    /// let b = h.bundle();
    /// assert_eq!((b.pdq, b.pdq_quality, b.md5), (Some(h.pdq.hash), Some(0), Some(h.md5)));
    /// ```
    pub fn bundle(&self) -> HashBundle {
        HashBundle {
            pdq: Some(self.pdq.hash),
            pdq_quality: Some(self.pdq.quality),
            dhash: Some(self.dhash),
            phash: Some(self.phash),
            ..self.digests().bundle()
        }
    }

    /// The digests of the bytes.
    ///
    /// ```
    /// use referral_dedup::media::{digest_bytes, hash_image, HashOptions};
    /// let img = image::DynamicImage::ImageRgb8(image::RgbImage::new(10, 10));
    /// let h = hash_image(3, digest_bytes(b"abc"), &img, &HashOptions::default());
    /// assert_eq!(h.digests(), digest_bytes(b"abc"));
    /// ```
    pub fn digests(&self) -> Digests {
        Digests {
            blake3: self.blake3,
            sha256: self.sha256,
            md5: self.md5,
        }
    }
}

impl Digests {
    /// The digests as a [`HashBundle`] with no perceptual codes.
    ///
    /// ```
    /// use referral_dedup::media::digest_bytes;
    /// let b = digest_bytes(b"x").bundle();
    /// assert!(b.blake3.is_some() && b.pdq.is_none());
    /// ```
    pub fn bundle(&self) -> HashBundle {
        HashBundle {
            blake3: Some(self.blake3),
            sha256: Some(self.sha256),
            md5: Some(self.md5),
            ..HashBundle::default()
        }
    }
}

/// Computes the pixel hashes of an already decoded image and combines them with its digests.
///
/// With `opts.dihedral`, PDQ and its 8 variants come from one blur and one DCT; index 0 then
/// is `pdq` except for exactly 64×64 images (see [`pdq_dihedral_from_image`]).
///
/// ```
/// use referral_dedup::media::{digest_bytes, hash_image, HashOptions};
/// let img = image::DynamicImage::ImageRgb8(image::RgbImage::new(10, 10));
/// let h = hash_image(3, digest_bytes(b"abc"), &img, &HashOptions::default());
/// assert_eq!((h.bytes, h.width, h.pdq.quality), (3, 10, 0));
/// ```
pub fn hash_image(
    bytes_len: u64,
    digests: Digests,
    img: &image::DynamicImage,
    opts: &HashOptions,
) -> MediaHashes {
    hash_image_with_luma(bytes_len, digests, img, opts).hashes
}

/// [`MediaHashes`] together with the reduced luma that dHash and pHash were computed from, for
/// callers that derive more hashes from the same picture (the matching layer's trimmed and
/// cropped variants) without converting and reducing it again.
///
/// ```
/// use referral_dedup::media::{digest_bytes, hash_image, hash_image_with_luma, HashOptions};
/// let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(700, 300, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 0])));
/// let opts = HashOptions::default();
/// let both = hash_image_with_luma(0, digest_bytes(b""), &img, &opts);
/// assert_eq!(both.hashes, hash_image(0, digest_bytes(b""), &img, &opts));
/// assert_eq!((both.reduced.width(), both.reduced.height()), (256, 110));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HashedImage {
    /// Every hash of the image.
    pub hashes: MediaHashes,
    /// The luma reduced to fit within [`REDUCED_MAX_SIDE`]² (the full luma when the image is
    /// that small already).
    pub reduced: LumaImage,
}

/// [`hash_image`], also returning the reduced luma (see [`HashedImage`]). The image is
/// converted to luma once; PDQ reads it at full resolution, dHash and pHash read its
/// reduction.
///
/// ```
/// use referral_dedup::media::{digest_bytes, hash_image_with_luma, HashOptions};
/// let img = image::DynamicImage::ImageRgb8(image::RgbImage::new(10, 10));
/// let h = hash_image_with_luma(3, digest_bytes(b"abc"), &img, &HashOptions::default());
/// assert_eq!((h.hashes.width, h.reduced.width()), (10, 10));
/// ```
pub fn hash_image_with_luma(
    bytes_len: u64,
    digests: Digests,
    img: &image::DynamicImage,
    opts: &HashOptions,
) -> HashedImage {
    let (width, height) = (img.width() as usize, img.height() as usize);
    let luma = LumaImage::from_image(img);
    let (pdq, pdq_dihedral) = if opts.dihedral {
        let all = pdq_dihedral_from_luma(luma.pixels(), width, height);
        let plain = if width == 64 && height == 64 {
            pdq_from_luma(luma.pixels(), width, height)
        } else {
            all[0]
        };
        (plain, Some(all.map(|h| h.hash)))
    } else {
        (pdq_from_luma(luma.pixels(), width, height), None)
    };
    let reduced = luma.reduced(REDUCED_MAX_SIDE as usize);
    drop(luma);
    let (dhash, phash) = dhash_phash_luma(&reduced);
    HashedImage {
        hashes: MediaHashes {
            bytes: bytes_len,
            width: img.width(),
            height: img.height(),
            blake3: digests.blake3,
            sha256: digests.sha256,
            md5: digests.md5,
            pdq,
            dhash,
            phash,
            pdq_dihedral,
        },
        reduced,
    }
}

/// Decodes `bytes` once (with `opts.limits`) and returns every hash.
///
/// # Errors
/// Any [`MediaError`] from [`decode`](fn@decode).
///
/// ```
/// use referral_dedup::media::{hash_bytes, HashOptions, MediaError};
/// let truncated = &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..];
/// assert!(matches!(hash_bytes(truncated, &HashOptions::default()), Err(MediaError::Decode(_))));
/// ```
pub fn hash_bytes(bytes: &[u8], opts: &HashOptions) -> Result<MediaHashes, MediaError> {
    let img = decode(bytes, opts)?;
    Ok(hash_image(
        bytes.len() as u64,
        digest_bytes(bytes),
        &img,
        opts,
    ))
}

/// Reads a file (refusing it before reading if it exceeds `opts.limits.max_file_bytes`) and
/// returns every hash.
///
/// # Errors
/// [`MediaError::Io`] if the file cannot be read, otherwise as [`hash_bytes`].
///
/// ```
/// use referral_dedup::media::{hash_bytes, hash_file, HashOptions};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.png");
/// image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3])).save(&path)?;
/// let opts = HashOptions::default();
/// assert_eq!(hash_file(&path, &opts)?, hash_bytes(&std::fs::read(&path)?, &opts)?);
/// # Ok(()) }
/// ```
pub fn hash_file(path: &Path, opts: &HashOptions) -> Result<MediaHashes, MediaError> {
    let bytes = read_limited(path, opts.limits.max_file_bytes)?;
    hash_bytes(&bytes, opts)
}

/// [`hash_file`] over many paths in parallel (rayon's global pool); results in input order.
///
/// ```
/// use referral_dedup::media::{hash_files, HashOptions, MediaError};
/// let out = hash_files(&["/nonexistent/x.png".into()], &HashOptions::default());
/// assert!(matches!(out[0], Err(MediaError::Io(_))));
/// ```
pub fn hash_files(paths: &[PathBuf], opts: &HashOptions) -> Vec<Result<MediaHashes, MediaError>> {
    paths.par_iter().map(|p| hash_file(p, opts)).collect()
}

/// The most bytes any media file is read for (a streamed digest included): 64 GiB. Larger
/// regular files are refused before reading, so no input makes a read run without end.
pub const MAX_MEDIA_FILE_BYTES: u64 = 64 << 30;

/// Opens `path` for reading only if it is a regular file (symlinks followed): directories,
/// devices (`/dev/zero`), FIFOs and sockets are refused *before* they are opened, since opening
/// a FIFO blocks and reading a device never ends. The opened handle is checked again.
///
/// # Errors
/// [`std::io::ErrorKind::InvalidInput`] naming what the path is, or the error of `metadata`
/// / `open`.
///
/// ```
/// use referral_dedup::media::open_regular_file;
/// assert!(open_regular_file("/dev/null".as_ref()).unwrap_err().to_string().contains("not a regular file"));
/// assert!(open_regular_file(std::env::temp_dir().as_path()).is_err());
/// ```
pub fn open_regular_file(path: &Path) -> std::io::Result<File> {
    let refuse = |meta: &std::fs::Metadata| -> std::io::Result<()> {
        if meta.is_file() {
            return Ok(());
        }
        let what = file_kind(meta);
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{}: not a regular file ({what}); refused before reading",
                path.display()
            ),
        ))
    };
    refuse(&std::fs::metadata(path)?)?;
    let file = File::open(path)?;
    refuse(&file.metadata()?)?;
    Ok(file)
}

/// What kind of file system object `meta` describes, in words.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// Reads a whole file, failing with [`MediaError::TooLarge`] instead of reading more than
/// `limit` bytes (checked on the metadata first, and again while reading in case it grows).
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, MediaError> {
    let file = open_regular_file(path)?;
    let len = file.metadata()?.len();
    let too_large = |value| MediaError::TooLarge {
        what: "file bytes",
        value,
        limit,
    };
    if len > limit {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}
