//! dHash and pHash (64-bit) through `image_hasher`, with the configuration pinned here so the
//! codes stay stable across versions of that crate's defaults.
//!
//! | hash | `image_hasher` configuration |
//! |---|---|
//! | dHash | `HashAlg::Gradient` (each pixel compared with its right neighbour), hash size 8×8 (the image is resized to 9×8), `FilterType::Lanczos3`, `BitOrder::MsbFirst` |
//! | pHash | `HashAlg::Median` on `preproc_dct()` (resize to 16×16, DCT, keep the low 8×8 block), `FilterType::Lanczos3`, `BitOrder::MsbFirst` |
//!
//! Both hash the image's 8-bit luma (`DynamicImage::to_luma8`, Rec. 709 weights), first reduced
//! with `image::imageops::thumbnail` (area averaging) to fit within 256×256 when it is larger,
//! keeping the aspect ratio: a Lanczos3 reduction of a full photo to 9×8 reads hundreds of taps
//! per output pixel, and this pre-reduction makes both codes several times faster (measured in
//! `benches/media.rs`) without changing what they describe. The 8 bytes of
//! each code are read big-endian into [`Hash64`], so the hex text is `image_hasher`'s byte order.
//! The codes resemble, but are not bit-identical to, Python `imagehash` (different resampling).
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
/// assert_eq!(d, referral_dedup::media::dhash_gray(&img.to_luma8()));
/// ```
pub fn dhash(img: &DynamicImage) -> Hash64 {
    dhash_gray(&img.to_luma8())
}

/// 64-bit DCT perceptual hash (pHash) of an image; configuration in the module docs.
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// let img = DynamicImage::ImageRgb8(RgbImage::from_fn(40, 30, |x, y| image::Rgb([(x * 6) as u8, (y * 8) as u8, 0])));
/// assert_eq!(referral_dedup::media::phash(&img), referral_dedup::media::phash_gray(&img.to_luma8()));
/// ```
pub fn phash(img: &DynamicImage) -> Hash64 {
    phash_gray(&img.to_luma8())
}

/// Longest side the luma is reduced to before the perceptual hashers run.
pub const PERCEPTUAL_MAX_SIDE: u32 = 256;

/// The luma the hashers see: `gray` itself, or its area-averaged reduction to fit within
/// [`PERCEPTUAL_MAX_SIDE`]² (aspect ratio kept, each side at least 1).
fn reduced(gray: &GrayImage) -> Cow<'_, GrayImage> {
    let (w, h) = gray.dimensions();
    if w <= PERCEPTUAL_MAX_SIDE && h <= PERCEPTUAL_MAX_SIDE {
        return Cow::Borrowed(gray);
    }
    let scale = f64::from(PERCEPTUAL_MAX_SIDE) / f64::from(w.max(h));
    let nw = ((f64::from(w) * scale).round() as u32).clamp(1, PERCEPTUAL_MAX_SIDE);
    let nh = ((f64::from(h) * scale).round() as u32).clamp(1, PERCEPTUAL_MAX_SIDE);
    Cow::Owned(image::imageops::thumbnail(gray, nw, nh))
}

/// [`dhash`] of an image already converted to 8-bit luma.
///
/// ```
/// let g = image::GrayImage::from_pixel(20, 20, image::Luma([9]));
/// assert_eq!(referral_dedup::media::dhash_gray(&g).0, 0); // flat: no rising gradient
/// ```
pub fn dhash_gray(gray: &GrayImage) -> Hash64 {
    to_hash64(DHASHER.hash_image(reduced(gray).as_ref()).as_bytes())
}

/// [`phash`] of an image already converted to 8-bit luma.
///
/// ```
/// let g = image::GrayImage::from_fn(32, 32, |x, y| image::Luma([((x * y) % 256) as u8]));
/// let p = referral_dedup::media::phash_gray(&g);
/// assert!(p.0.count_ones() <= 64);
/// ```
pub fn phash_gray(gray: &GrayImage) -> Hash64 {
    to_hash64(PHASHER.hash_image(reduced(gray).as_ref()).as_bytes())
}

/// `(dhash, phash)` of 8-bit luma, reducing it once for both.
///
/// ```
/// use referral_dedup::media::{dhash_gray, dhash_phash_gray, phash_gray};
/// let g = image::GrayImage::from_fn(600, 400, |x, y| image::Luma([((x / 7 + y / 5) % 256) as u8]));
/// assert_eq!(dhash_phash_gray(&g), (dhash_gray(&g), phash_gray(&g)));
/// ```
pub fn dhash_phash_gray(gray: &GrayImage) -> (Hash64, Hash64) {
    let small = reduced(gray);
    (
        to_hash64(DHASHER.hash_image(small.as_ref()).as_bytes()),
        to_hash64(PHASHER.hash_image(small.as_ref()).as_bytes()),
    )
}
