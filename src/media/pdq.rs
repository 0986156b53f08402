//! PDQ, Meta's 256-bit perceptual photo hash, bit-compatible with the reference C++ core.
//!
//! Written here rather than taken from a crate: the `pdqhash` crate pins `image` 0.23, ships a DCT
//! table that differs from the reference, and reports an incompatible quality. This module follows
//! `pdqhashing.cpp` operation for operation:
//!
//! 1. luma `Y = (0.299·R + 0.587·G) + 0.114·B` in float32 ([`luma_from_image`]);
//! 2. inputs smaller than 5×5 give the all-zero hash with quality 0;
//! 3. a "Jarosz" tent blur: two rounds of (box filter along every row, then along every column)
//!    with windows `ceil(cols/128)` and `ceil(rows/128)`, each box one running float32 sum in the
//!    reference's exact add/subtract order;
//! 4. point-sampling to 64×64 at the cell centres (skipped for an exactly 64×64 input on the plain
//!    path, as in the reference);
//! 5. the quality metric from truncated float32 gradients;
//! 6. the 16×16 DCT (frequencies 1..=16) with the embedded float32 table, products added one at a
//!    time in ascending order, no FMA;
//! 7. thresholding at the lower median with a strict `>`.
//!
//! Speed comes from running every pass across many rows or columns at once (plain arrays the
//! compiler vectorises) while each individual running sum keeps the reference's order of float
//! operations, so the result is bit-identical.
//!
//! ```
//! use referral_dedup::media::pdq_from_luma;
//! // A 128×96 diagonal ramp.
//! let (w, h) = (128, 96);
//! let luma: Vec<f32> = (0..w * h).map(|i| ((i % w) + 2 * (i / w)) as f32).collect();
//! let pdq = pdq_from_luma(&luma, w, h);
//! assert_eq!(pdq.hash.0.iter().map(|l| l.count_ones()).sum::<u32>(), 128);
//! ```

use crate::hashes::Pdq;

use super::pdq_blur::{blur_and_decimate, SIDE};
use super::pdq_dct::DCT_BITS;

/// A PDQ hash with its quality score (0..=100, as the reference computes it).
///
/// Meta's guidance is to discard hashes with quality below 50 (near-blank images hash unstably)
/// and to treat Hamming distance ≤ 31 as a match.
///
/// ```
/// use referral_dedup::media::PdqHash;
/// let p = PdqHash { hash: Default::default(), quality: 0 };
/// assert_eq!(serde_json::to_string(&p).unwrap(),
///            format!("{{\"hash\":\"{}\",\"quality\":0}}", "0".repeat(64)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PdqHash {
    /// The 256-bit hash in the reference bit order.
    pub hash: Pdq,
    /// Reference quality metric, 0..=100.
    pub quality: u8,
}

/// Names of the eight dihedral variants, in the order [`pdq_dihedral_from_luma`] returns them
/// (the reference's order): original, 90° counter-clockwise, 180°, 270° counter-clockwise,
/// top–bottom flip, left–right mirror, transpose about the main diagonal, transpose about the
/// anti-diagonal.
///
/// ```
/// assert_eq!(referral_dedup::media::DIHEDRAL_NAMES[1], "rot90");
/// ```
pub const DIHEDRAL_NAMES: [&str; 8] = [
    "orig",
    "rot90",
    "rot180",
    "rot270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
];

/// Side of the decimated image.
/// Side of the retained DCT block.
const DCT_SIDE: usize = 16;
/// Smallest width and height the reference hashes; smaller inputs give the zero hash.
const MIN_SIDE: usize = 5;

/// Float32 luma coefficients of the reference (`0.299`, `0.587`, `0.114`).
const LUMA_R: f32 = 0.299;
const LUMA_G: f32 = 0.587;
const LUMA_B: f32 = 0.114;

/// Reference luma of one RGB pixel, in float32 with the reference's order of operations.
#[inline(always)]
pub(crate) fn luma_rgb(r: u8, g: u8, b: u8) -> f32 {
    (LUMA_R * f32::from(r) + LUMA_G * f32::from(g)) + LUMA_B * f32::from(b)
}

/// Converts an image to the reference's float32 luma, row-major.
///
/// Every colour mode goes through true RGB first: 8-bit RGB and RGBA use their channels directly
/// (alpha is dropped without compositing, as Meta's tools do), greyscale is replicated to R = G = B
/// (what Pillow's `convert("RGB")` followed by the reference core computes), and every other mode
/// (16-bit, float, CMYK already converted by the decoder) goes through [`image::DynamicImage::to_rgb8`].
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// use referral_dedup::media::luma_from_image;
/// let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(2, 1, image::Rgb([255, 0, 0])));
/// assert_eq!(luma_from_image(&img), vec![0.299f32 * 255.0; 2]);
/// ```
pub fn luma_from_image(img: &image::DynamicImage) -> Vec<f32> {
    use image::DynamicImage as D;
    let n = img.width() as usize * img.height() as usize;
    let mut out = vec![0f32; n];
    // Plain zipped loops over a pre-sized buffer: no per-element capacity checks, so the
    // conversion runs at memory speed.
    match img {
        D::ImageRgb8(buf) => rgb_to_luma::<3>(buf.as_raw(), &mut out),
        D::ImageRgba8(buf) => rgb_to_luma::<4>(buf.as_raw(), &mut out),
        D::ImageLuma8(buf) => {
            for (o, &v) in out.iter_mut().zip(buf.as_raw()) {
                *o = luma_rgb(v, v, v);
            }
        }
        D::ImageLumaA8(buf) => {
            for (o, p) in out.iter_mut().zip(buf.as_raw().chunks_exact(2)) {
                *o = luma_rgb(p[0], p[0], p[0]);
            }
        }
        other => rgb_to_luma::<3>(other.to_rgb8().as_raw(), &mut out),
    }
    out
}

/// Luma of interleaved pixels with `CHANNELS` bytes each (R, G, B first) into `out`.
///
/// Each of the three products is looked up in a 256-entry table of exactly the float32
/// products [`luma_rgb`] computes, then summed in the same order, so the result is bit for
/// bit `luma_rgb`'s while the loop does no conversions or multiplications.
pub(crate) fn rgb_to_luma<const CHANNELS: usize>(raw: &[u8], out: &mut [f32]) {
    let table = |k: f32| -> [f32; 256] { std::array::from_fn(|v| k * v as f32) };
    let (tr, tg, tb) = (table(LUMA_R), table(LUMA_G), table(LUMA_B));
    for (o, p) in out.iter_mut().zip(raw.chunks_exact(CHANNELS)) {
        *o = (tr[usize::from(p[0])] + tg[usize::from(p[1])]) + tb[usize::from(p[2])];
    }
}

/// PDQ of a decoded image at full resolution (no pre-resize, as HMA and python-threatexchange
/// hash), after a proper conversion of its colour mode to RGB (see [`luma_from_image`]).
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// use referral_dedup::media::pdq_from_image;
/// let img = DynamicImage::ImageRgb8(RgbImage::from_fn(100, 80, |x, y| {
///     image::Rgb([(x * 2) as u8, (y * 3) as u8, ((x * y) % 256) as u8])
/// }));
/// let a = pdq_from_image(&img);
/// let b = pdq_from_image(&DynamicImage::ImageRgb8(image::imageops::flip_horizontal(img.as_rgb8().unwrap())));
/// assert!(a.hash.distance(&b.hash) > 31); // a mirror is not the same picture to plain PDQ
/// ```
pub fn pdq_from_image(img: &image::DynamicImage) -> PdqHash {
    let luma = luma_from_image(img);
    pdq_from_luma(&luma, img.width() as usize, img.height() as usize)
}

/// The eight dihedral PDQ hashes of a decoded image, from one blur and one DCT.
///
/// The order is [`DIHEDRAL_NAMES`]; index 0 is the original. Like the reference's dihedral entry
/// point this path always blurs, so for an exactly 64×64 image index 0 differs from
/// [`pdq_from_image`] (which skips the blur there).
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// use referral_dedup::media::{pdq_dihedral_from_image, pdq_from_image};
/// let img = RgbImage::from_fn(90, 70, |x, y| image::Rgb([(x * 3) as u8, (y * 2) as u8, (x ^ y) as u8]));
/// let all = pdq_dihedral_from_image(&DynamicImage::ImageRgb8(img.clone()));
/// let rot90 = DynamicImage::ImageRgb8(image::imageops::rotate270(&img)); // 90° counter-clockwise
/// assert_eq!(all[0], pdq_from_image(&DynamicImage::ImageRgb8(img)));
/// assert_eq!(all[1].hash, pdq_from_image(&rot90).hash);
/// ```
pub fn pdq_dihedral_from_image(img: &image::DynamicImage) -> [PdqHash; 8] {
    let luma = luma_from_image(img);
    pdq_dihedral_from_luma(&luma, img.width() as usize, img.height() as usize)
}

/// PDQ of a row-major float32 luma plane (`width × height`, values 0..=255).
///
/// This is the reference's plain entry point: an exactly 64×64 input skips the blur.
///
/// # Panics
/// If `luma.len() != width * height`.
///
/// ```
/// use referral_dedup::media::pdq_from_luma;
/// let tiny = pdq_from_luma(&[1.0; 16], 4, 4);
/// assert_eq!((tiny.hash, tiny.quality), (Default::default(), 0)); // below 5×5
/// ```
pub fn pdq_from_luma(luma: &[f32], width: usize, height: usize) -> PdqHash {
    match plain_dct(luma, width, height) {
        Some((b, quality)) => PdqHash {
            hash: threshold(&b),
            quality,
        },
        None => PdqHash {
            hash: Pdq::default(),
            quality: 0,
        },
    }
}

/// The reference's plain path up to the DCT: the 16×16 block and the quality, or `None` below
/// 5×5. An exactly 64×64 input is used as it is (no blur).
fn plain_dct(luma: &[f32], width: usize, height: usize) -> Option<(Block16, u8)> {
    check_len(luma, width, height);
    if width < MIN_SIDE || height < MIN_SIDE {
        return None;
    }
    let a = if width == SIDE && height == SIDE {
        let mut a = Box::new([[0f32; SIDE]; SIDE]);
        for (row, src) in a.iter_mut().zip(luma.chunks_exact(SIDE)) {
            row.copy_from_slice(src);
        }
        a
    } else {
        blur_and_decimate(luma, width, height)
    };
    Some((dct16(&a), quality(&a)))
}

/// PDQF: PDQ's 256 float DCT coefficients before binarisation (row-major 16×16), with the quality.
///
/// This is the per-frame feature of Meta's TMK+PDQF video hash, which feeds it 64×64 frames
/// (so the blur is skipped, as in [`pdq_from_luma`]). Thresholding the result at its lower
/// median gives exactly [`pdq_from_luma`]'s hash.
///
/// # Panics
/// If `luma.len() != width * height`.
///
/// ```
/// use referral_dedup::media::{pdq_from_luma, pdqf_from_luma};
/// let luma: Vec<f32> = (0..64 * 64).map(|i| ((i * 7919) % 251) as f32).collect();
/// let (pdqf, quality) = pdqf_from_luma(&luma, 64, 64);
/// assert_eq!(quality, pdq_from_luma(&luma, 64, 64).quality);
/// assert!(pdqf.iter().any(|&v| v != 0.0));
/// ```
pub fn pdqf_from_luma(luma: &[f32], width: usize, height: usize) -> ([f32; 256], u8) {
    let Some((b, quality)) = plain_dct(luma, width, height) else {
        return ([0.0; 256], 0);
    };
    let mut out = [0f32; 256];
    for (o, v) in out.iter_mut().zip(b.iter().flatten()) {
        *o = *v;
    }
    (out, quality)
}

/// The eight dihedral PDQ hashes of a float32 luma plane, from one blur and one DCT; see
/// [`pdq_dihedral_from_image`] for the order.
///
/// # Panics
/// If `luma.len() != width * height`.
///
/// ```
/// use referral_dedup::media::pdq_dihedral_from_luma;
/// let luma: Vec<f32> = (0..40 * 30).map(|i| ((i * 7919) % 251) as f32).collect();
/// let all = pdq_dihedral_from_luma(&luma, 40, 30);
/// assert!(all.iter().all(|h| h.quality == all[0].quality));
/// ```
pub fn pdq_dihedral_from_luma(luma: &[f32], width: usize, height: usize) -> [PdqHash; 8] {
    check_len(luma, width, height);
    let zero = PdqHash {
        hash: Pdq::default(),
        quality: 0,
    };
    if width < MIN_SIDE || height < MIN_SIDE {
        return [zero; 8];
    }
    let a = blur_and_decimate(luma, width, height);
    let quality = quality(&a);
    let b = dct16(&a);
    let mut out = [zero; 8];
    for (slot, variant) in out.iter_mut().zip(dihedral_variants(&b)) {
        *slot = PdqHash {
            hash: threshold(&variant),
            quality,
        };
    }
    out
}

fn check_len(luma: &[f32], width: usize, height: usize) {
    assert_eq!(
        Some(luma.len()),
        width.checked_mul(height),
        "luma length must equal width * height"
    );
}

type Block16 = [[f32; DCT_SIDE]; DCT_SIDE];

/// Reference quality: the sum of truncated `|Δ| * 100 / 255` over all vertical then horizontal
/// neighbour pairs of the 64×64 image, divided by 90 and capped at 100.
fn quality(a: &[[f32; SIDE]; SIDE]) -> u8 {
    let grad = |u: f32, v: f32| -> i64 { (((u - v) * 100.0) / 255.0) as i32 as i64 };
    let mut sum: i64 = 0;
    for pair in a.windows(2) {
        for (&u, &v) in pair[0].iter().zip(pair[1].iter()) {
            sum += grad(u, v).abs();
        }
    }
    for row in a.iter() {
        for j in 0..SIDE - 1 {
            sum += grad(row[j], row[j + 1]).abs();
        }
    }
    (sum / 90).min(100) as u8
}

/// The 16×16 DCT block `B = D · A · Dᵀ`, each sum over `k` ascending with one float32 rounding
/// per product and per addition.
fn dct16(a: &[[f32; SIDE]; SIDE]) -> Block16 {
    let d: [[f32; SIDE]; DCT_SIDE] = DCT_BITS.map(|row| row.map(f32::from_bits));
    // T = D · A (16 × 64): T[i][j] = Σ_k D[i][k] · A[k][j], vectorised over j.
    let mut t = [[0f32; SIDE]; DCT_SIDE];
    for (t_row, d_row) in t.iter_mut().zip(d.iter()) {
        for (&dik, a_row) in d_row.iter().zip(a.iter()) {
            for (tv, &av) in t_row.iter_mut().zip(a_row.iter()) {
                *tv += dik * av;
            }
        }
    }
    // B = T · Dᵀ (16 × 16): B[i][j] = Σ_k T[i][k] · D[j][k], vectorised over j via Dᵀ.
    let mut dt = [[0f32; DCT_SIDE]; SIDE];
    for (j, d_row) in d.iter().enumerate() {
        for (k, &v) in d_row.iter().enumerate() {
            dt[k][j] = v;
        }
    }
    let mut b = [[0f32; DCT_SIDE]; DCT_SIDE];
    for (b_row, t_row) in b.iter_mut().zip(t.iter()) {
        for (&tik, dt_row) in t_row.iter().zip(dt.iter()) {
            for (bv, &dv) in b_row.iter_mut().zip(dt_row.iter()) {
                *bv += tik * dv;
            }
        }
    }
    b
}

/// Bit `16*i + j` is set when `B[i][j]` is strictly above the lower median (the 128th smallest).
fn threshold(b: &Block16) -> Pdq {
    let mut values: Vec<f32> = b.iter().flatten().copied().collect();
    let (_, &mut median, _) = values.select_nth_unstable_by(127, f32::total_cmp);
    // total_cmp orders -0.0 below +0.0; the reference's comparisons treat them as equal, and the
    // strict `>` below does too, so the selected value compares identically.
    let mut hash = Pdq::default();
    for (i, row) in b.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                hash.set_bit(DCT_SIDE * i + j, true);
            }
        }
    }
    hash
}

/// The eight dihedral coefficient blocks derived from `b`, in [`DIHEDRAL_NAMES`] order.
///
/// "Even index" (0-based) is an odd cosine frequency, the coefficients whose sign flips under a
/// reflection along that axis.
fn dihedral_variants(b: &Block16) -> [Block16; 8] {
    let mut out = [[[0f32; DCT_SIDE]; DCT_SIDE]; 8];
    for i in 0..DCT_SIDE {
        for j in 0..DCT_SIDE {
            let v = b[i][j];
            let neg = -v;
            let i_even = i % 2 == 0;
            let j_even = j % 2 == 0;
            let ij_odd = (i + j) % 2 == 1;
            out[0][i][j] = v;
            out[1][j][i] = if j_even { neg } else { v };
            out[2][i][j] = if ij_odd { neg } else { v };
            out[3][j][i] = if i_even { neg } else { v };
            out[4][i][j] = if i_even { neg } else { v };
            out[5][i][j] = if j_even { neg } else { v };
            out[6][j][i] = v;
            out[7][j][i] = if ij_odd { neg } else { v };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn dct_table_matches_shared_reference() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/testdata/pdq-reference/dct16x64-f32-bits.txt");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipping: ../shared absent");
            return;
        };
        let rows: Vec<Vec<u32>> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                l.split_whitespace()
                    .map(|h| u32::from_str_radix(h, 16).unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), 16);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.as_slice(), &DCT_BITS[i][..], "row {i}");
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // i and k are the formula's indices
    fn dct_table_close_to_formula() {
        // The embedded bits must be the formula to within one float32 ulp on any libm.
        let s = (2.0f64 / 64.0).sqrt() as f32 as f64;
        for i in 0..16 {
            for k in 0..64 {
                let want = (s
                    * ((std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * k + 1) as f64)
                        .cos()) as f32;
                let got = f32::from_bits(DCT_BITS[i][k]);
                assert!(
                    (got.to_bits() as i64 - want.to_bits() as i64).abs() <= 1,
                    "{i} {k}"
                );
            }
        }
    }

    #[test]
    fn constant_luma_has_quality_zero_and_rotation_rules_hold() {
        let luma = vec![77f32; 50 * 60];
        let h = pdq_from_luma(&luma, 50, 60);
        assert_eq!(h.quality, 0);
        // Dihedral rules applied twice give back the original for the involutions.
        let b: Block16 =
            std::array::from_fn(|i| std::array::from_fn(|j| (i * 16 + j) as f32 - 100.5));
        let v = dihedral_variants(&b);
        for idx in [2usize, 4, 5, 6, 7] {
            assert_eq!(
                dihedral_variants(&v[idx])[idx],
                b,
                "variant {idx} is an involution"
            );
        }
        // rot90 four times is the identity; rot90 then rot270 too.
        let r1 = dihedral_variants(&b)[1];
        let r2 = dihedral_variants(&r1)[1];
        assert_eq!(r2, v[2]);
        assert_eq!(dihedral_variants(&r1)[3], b);
    }
}
