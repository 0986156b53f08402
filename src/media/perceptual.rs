//! dHash and pHash (64-bit) through `image_hasher`, with the configuration pinned here so the
//! codes stay stable across versions of that crate's defaults.
//!
//! | hash | `image_hasher` configuration |
//! |---|---|
//! | dHash | `HashAlg::Gradient` (each pixel compared with its right neighbour), hash size 8×8 (the image is resized to 9×8), `FilterType::Lanczos3`, `BitOrder::MsbFirst` |
//! | pHash | `HashAlg::Median` on `preproc_dct()` (resize to 16×16, DCT, keep the low 8×8 block), `FilterType::Lanczos3`, `BitOrder::MsbFirst` |
//!
//! Both hash 8-bit luma made the way PDQ makes it (`0.299 R + 0.587 G + 0.114 B`, see
//! [`LumaImage`]), first reduced by area averaging to fit within 256×256 and then 128×128 when
//! it is larger (aspect ratio kept; see [`dhash_phash_luma`]), then rounded to 8 bits. The crate pins this conversion itself rather
//! than calling `image`'s `to_luma8`, whose arithmetic changed within the 0.25 series (it now
//! goes through a float colour-space path), so the codes do not move when `image` is updated.
//! Sharing PDQ's luma buffer also makes the whole pipeline one colour conversion, and the
//! reduction keeps `image_hasher`'s Lanczos3 resize from reading hundreds of taps per output
//! pixel of a full photo. The 8 bytes of each code are read big-endian into [`Hash64`], so the
//! hex text is `image_hasher`'s byte order. The codes resemble, but are not bit-identical to,
//! Python `imagehash` (different luma weights and resampling).
//!
//! ```
//! use image::{DynamicImage, GrayImage};
//! use referral_dedup::media::{dhash, phash};
//! let img = DynamicImage::ImageLuma8(GrayImage::from_fn(64, 64, |x, _| image::Luma([(x * 4) as u8])));
//! assert_eq!(dhash(&img).0, u64::MAX); // brightness rises left to right everywhere
//! assert_eq!(phash(&img), phash(&img));
//! ```

use std::borrow::Cow;
use std::sync::LazyLock;

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage};
use image_hasher::{BitOrder, HashAlg, Hasher, HasherConfig};

use super::luma::REDUCED_MAX_SIDE;
use super::LumaImage;
use crate::hashes::Hash64;

static DHASHER: LazyLock<Hasher<[u8; 8]>> = LazyLock::new(|| {
    HasherConfig::with_bytes_type::<[u8; 8]>()
        .hash_alg(HashAlg::Gradient)
        .hash_size(8, 8)
        .resize_filter(FilterType::Lanczos3)
        .bit_order(BitOrder::MsbFirst)
        .to_hasher()
});

static PHASHER: LazyLock<Hasher<[u8; 8]>> = LazyLock::new(|| {
    HasherConfig::with_bytes_type::<[u8; 8]>()
        .hash_alg(HashAlg::Median)
        .preproc_dct()
        .hash_size(8, 8)
        .resize_filter(FilterType::Lanczos3)
        .bit_order(BitOrder::MsbFirst)
        .to_hasher()
});

fn to_hash64(bytes: &[u8]) -> Hash64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    Hash64::from_bytes(b)
}

/// 64-bit difference hash (dHash) of an image; configuration in the module docs.
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// let img = DynamicImage::ImageRgb8(RgbImage::from_fn(40, 30, |x, y| image::Rgb([(x * 6) as u8, (y * 8) as u8, 0])));
/// let d = referral_dedup::media::dhash(&img);
/// assert_eq!(d, referral_dedup::media::dhash_phash(&img).0);
/// ```
pub fn dhash(img: &DynamicImage) -> Hash64 {
    dhash_phash(img).0
}

/// 64-bit DCT perceptual hash (pHash) of an image; configuration in the module docs.
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// let img = DynamicImage::ImageRgb8(RgbImage::from_fn(40, 30, |x, y| image::Rgb([(x * 6) as u8, (y * 8) as u8, 0])));
/// assert_eq!(referral_dedup::media::phash(&img), referral_dedup::media::dhash_phash(&img).1);
/// ```
pub fn phash(img: &DynamicImage) -> Hash64 {
    dhash_phash(img).1
}

/// `(dhash, phash)` of an image, converting and reducing it once for both.
///
/// ```
/// use image::{DynamicImage, GrayImage};
/// use referral_dedup::media::{dhash_phash, dhash_phash_gray};
/// let g = GrayImage::from_fn(600, 400, |x, y| image::Luma([((x / 7 + y / 5) % 256) as u8]));
/// assert_eq!(dhash_phash(&DynamicImage::ImageLuma8(g.clone())), dhash_phash_gray(&g));
/// ```
pub fn dhash_phash(img: &DynamicImage) -> (Hash64, Hash64) {
    dhash_phash_luma(&LumaImage::from_image(img))
}

/// Longest side the luma is reduced to before the perceptual hashers run.
pub const PERCEPTUAL_MAX_SIDE: u32 = 128;

/// `(dhash, phash)` of a luma image: reduced by area averaging to fit within
/// [`REDUCED_MAX_SIDE`]² and then within [`PERCEPTUAL_MAX_SIDE`]² (each step only when the
/// image is larger), rounded to 8 bits and hashed. The first step is the reduction
/// [`HashedImage::reduced`](super::HashedImage::reduced) holds, so hashing that reduction or
/// the full luma gives the same codes.
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// use referral_dedup::media::{dhash_phash, dhash_phash_luma, LumaImage, REDUCED_MAX_SIDE};
/// let img = DynamicImage::ImageRgb8(RgbImage::from_fn(900, 500, |x, y| image::Rgb([(x % 256) as u8, (y % 200) as u8, 9])));
/// let luma = LumaImage::from_image(&img);
/// let small = luma.reduced(REDUCED_MAX_SIDE as usize);
/// assert_eq!(dhash_phash_luma(&small), dhash_phash(&img));
/// assert_eq!(dhash_phash_luma(&luma), dhash_phash(&img));
/// ```
pub fn dhash_phash_luma(luma: &LumaImage) -> (Hash64, Hash64) {
    let fits = |l: &LumaImage, side: u32| l.width().max(l.height()) <= side as usize;
    let first = if fits(luma, REDUCED_MAX_SIDE) {
        Cow::Borrowed(luma)
    } else {
        Cow::Owned(luma.reduced(REDUCED_MAX_SIDE as usize))
    };
    let gray = if fits(&first, PERCEPTUAL_MAX_SIDE) {
        first.to_gray()
    } else {
        first.reduced(PERCEPTUAL_MAX_SIDE as usize).to_gray()
    };
    (
        to_hash64(DHASHER.hash_image(&gray).as_bytes()),
        to_hash64(PHASHER.hash_image(&gray).as_bytes()),
    )
}

/// [`dhash`] of an 8-bit grey image.
///
/// ```
/// let g = image::GrayImage::from_pixel(20, 20, image::Luma([9]));
/// assert_eq!(referral_dedup::media::dhash_gray(&g).0, 0); // flat: no rising gradient
/// ```
pub fn dhash_gray(gray: &GrayImage) -> Hash64 {
    dhash_phash_gray(gray).0
}

/// [`phash`] of an 8-bit grey image.
///
/// ```
/// let g = image::GrayImage::from_fn(32, 32, |x, y| image::Luma([((x * y) % 256) as u8]));
/// let p = referral_dedup::media::phash_gray(&g);
/// assert_eq!(p, referral_dedup::media::dhash_phash_gray(&g).1);
/// ```
pub fn phash_gray(gray: &GrayImage) -> Hash64 {
    dhash_phash_gray(gray).1
}

/// `(dhash, phash)` of an 8-bit grey image (equal to [`dhash_phash`] of it as `ImageLuma8`).
///
/// ```
/// use referral_dedup::media::{dhash_gray, dhash_phash_gray, phash_gray};
/// let g = image::GrayImage::from_fn(600, 400, |x, y| image::Luma([((x / 7 + y / 5) % 256) as u8]));
/// assert_eq!(dhash_phash_gray(&g), (dhash_gray(&g), phash_gray(&g)));
/// ```
pub fn dhash_phash_gray(gray: &GrayImage) -> (Hash64, Hash64) {
    dhash_phash_luma(&LumaImage::from_gray(gray))
}
