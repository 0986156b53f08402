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
const SIDE: usize = 64;
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

type Square64 = Box<[[f32; SIDE]; SIDE]>;
type Block16 = [[f32; DCT_SIDE]; DCT_SIDE];

/// Jarosz window size for a vector of `n` samples decimated to 64.
fn window(n: usize) -> usize {
    n.div_ceil(2 * SIDE)
}

/// Blurs (two rounds of row box, column box) and point-samples the luma to 64×64.
fn blur_and_decimate(luma: &[f32], width: usize, height: usize) -> Square64 {
    let (rows, cols) = (height, width);
    let win_rows = window(cols); // window used when filtering along each row
    let win_cols = window(rows); // window used when filtering along each column
                                 // Row strides of the two layouts, padded by one cache line so that rows whose length is a
                                 // multiple of 4 KiB (1024-pixel images) do not all map to the same cache set when a
                                 // transpose writes down a column.
    let sr = rows + PAD; // transposed layout: cols × rows
    let sc = cols + PAD; // natural layout: rows × cols
    let len = (cols * sr).max(rows * sc).max(SIDE * rows);
    let mut buf_a = vec![0f32; len];
    let mut buf_b = vec![0f32; len];
    let mut sums = vec![0f32; rows.max(cols).max(SIDE)];

    // Round 1. Rows are filtered in the transposed layout (cols × rows) so that every running
    // sum advances across a contiguous vector of rows.
    transpose(luma, cols, &mut buf_a, sr, rows, cols); // a: cols × rows
    box_along_outer(&buf_a, sr, &mut buf_b, sr, cols, rows, win_rows, &mut sums); // b: cols × rows
    transpose(&buf_b, sr, &mut buf_a, sc, cols, rows); // a: rows × cols
    box_along_outer(&buf_a, sc, &mut buf_b, sc, rows, cols, win_cols, &mut sums); // b: rows × cols

    // Round 2. Only the 64 sampled columns and rows of the result are used, so each pass
    // still runs every running sum over the whole vector but divides and stores only at the
    // sample positions.
    let col_idx = sample_indices(cols);
    let row_idx = sample_indices(rows);
    transpose(&buf_b, sc, &mut buf_a, sr, rows, cols); // a: cols × rows
                                                       // Rows pass, output only at the sampled columns: b holds 64 × rows (stride rows).
    box_along_outer_sampled(
        &buf_a, sr, &mut buf_b, cols, rows, win_rows, &mut sums, &col_idx,
    );
    // Bring it to rows × 64 for the final columns pass.
    transpose(&buf_b, rows, &mut buf_a, SIDE, SIDE, rows);
    let mut a_flat = [0f32; SIDE * SIDE];
    box_along_outer_sampled(
        &buf_a,
        SIDE,
        &mut a_flat,
        rows,
        SIDE,
        win_cols,
        &mut sums,
        &row_idx,
    );

    let mut a = Box::new([[0f32; SIDE]; SIDE]);
    for (out_row, src) in a.iter_mut().zip(a_flat.chunks_exact(SIDE)) {
        out_row.copy_from_slice(src);
    }
    a
}

/// Cell-centre sample positions `floor((i + 0.5) * n / 64)` for `i` in `0..64`.
fn sample_indices(n: usize) -> [usize; SIDE] {
    let mut idx = [0usize; SIDE];
    for (i, slot) in idx.iter_mut().enumerate() {
        *slot = ((2 * i + 1) * n) / (2 * SIDE);
    }
    idx
}

/// Padding (in floats, one cache line) added to the row stride of intermediate planes.
const PAD: usize = 16;

/// Transposes a `rows × cols` matrix (row stride `in_stride`) into `out` (`cols × rows`, row
/// stride `out_stride`), in cache blocks.
fn transpose(
    input: &[f32],
    in_stride: usize,
    out: &mut [f32],
    out_stride: usize,
    rows: usize,
    cols: usize,
) {
    const BLOCK: usize = 16;
    for r0 in (0..rows).step_by(BLOCK) {
        let r1 = (r0 + BLOCK).min(rows);
        for c0 in (0..cols).step_by(BLOCK) {
            let c1 = (c0 + BLOCK).min(cols);
            if r1 - r0 == BLOCK && c1 - c0 == BLOCK {
                // A full tile: read 16 rows into registers-sized arrays, write 16 columns out.
                // Fixed sizes let the compiler drop the bounds checks and vectorise the shuffle,
                // whatever the inlining around it (it had varied by 15% between build profiles).
                let mut tile = [[0f32; BLOCK]; BLOCK];
                for (i, row) in tile.iter_mut().enumerate() {
                    let s = (r0 + i) * in_stride + c0;
                    row.copy_from_slice(&input[s..s + BLOCK]);
                }
                for j in 0..BLOCK {
                    let d = (c0 + j) * out_stride + r0;
                    for (v, row) in out[d..d + BLOCK].iter_mut().zip(&tile) {
                        *v = row[j];
                    }
                }
                continue;
            }
            for r in r0..r1 {
                let src = &input[r * in_stride..r * in_stride + cols];
                for c in c0..c1 {
                    out[c * out_stride + r] = src[c];
                }
            }
        }
    }
}

/// One box-filter pass along the outer axis of a row-major `n × m` matrix: every one of the `m`
/// inner positions is an independent vector of `n` samples filtered with window `w`, and all `m`
/// running sums advance together (which vectorises) while each keeps the reference's order.
///
/// Per vector, this is `box1DFloat` of `downscaling.cpp`: with `h = (w + 2) / 2`, add `h - 1`
/// samples silently; then `w - h + 1` times add and write; then `n - w` times add the right
/// sample, subtract the left one and write; then `h - 1` times subtract and write. Each write is
/// `sum / count` in float32. `emit(o, sums, count)` receives output position `o` (in order).
#[inline(always)]
fn box_pass(
    input: &[f32],
    stride: usize,
    n: usize,
    m: usize,
    w: usize,
    sums: &mut [f32],
    mut emit: impl FnMut(usize, &[f32], f32),
) {
    debug_assert!(w >= 1 && w <= n);
    let h = (w + 2) / 2;
    let sum = &mut sums[..m];
    sum.fill(0.0);
    let row = |r: usize| &input[r * stride..r * stride + m];
    let (mut ri, mut li, mut oi) = (0usize, 0usize, 0usize);
    let mut count = 0u32;

    for _ in 0..h - 1 {
        for (s, &x) in sum.iter_mut().zip(row(ri)) {
            *s += x;
        }
        ri += 1;
        count += 1;
    }
    for _ in 0..w - h + 1 {
        for (s, &x) in sum.iter_mut().zip(row(ri)) {
            *s += x;
        }
        count += 1;
        emit(oi, sum, count as f32);
        ri += 1;
        oi += 1;
    }
    for _ in 0..n - w {
        for ((s, &x), &y) in sum.iter_mut().zip(row(ri)).zip(row(li)) {
            *s += x;
            *s -= y;
        }
        emit(oi, sum, count as f32);
        ri += 1;
        li += 1;
        oi += 1;
    }
    for _ in 0..h - 1 {
        for (s, &y) in sum.iter_mut().zip(row(li)) {
            *s -= y;
        }
        count -= 1;
        emit(oi, sum, count as f32);
        li += 1;
        oi += 1;
    }
}

/// [`box_pass`] writing every output: `output` is `n × m` with row stride `out_stride`.
#[allow(clippy::too_many_arguments)] // two (matrix, stride) pairs plus the pass geometry
fn box_along_outer(
    input: &[f32],
    in_stride: usize,
    output: &mut [f32],
    out_stride: usize,
    n: usize,
    m: usize,
    w: usize,
    sums: &mut [f32],
) {
    box_pass(input, in_stride, n, m, w, sums, |o, sum, c| {
        for (out, &s) in output[o * out_stride..o * out_stride + m]
            .iter_mut()
            .zip(sum)
        {
            *out = s / c;
        }
    });
}

/// [`box_pass`] writing only the outputs at the 64 positions `wanted` (ascending, possibly
/// repeated): `output` is `64 × m`, row `k` holding output position `wanted[k]`.
#[allow(clippy::too_many_arguments)] // a (matrix, stride) pair, the output and the pass geometry
fn box_along_outer_sampled(
    input: &[f32],
    in_stride: usize,
    output: &mut [f32],
    n: usize,
    m: usize,
    w: usize,
    sums: &mut [f32],
    wanted: &[usize; SIDE],
) {
    let mut next = 0usize;
    box_pass(input, in_stride, n, m, w, sums, |o, sum, c| {
        while next < SIDE && wanted[next] == o {
            for (out, &s) in output[next * m..(next + 1) * m].iter_mut().zip(sum) {
                *out = s / c;
            }
            next += 1;
        }
    });
}

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

    /// The reference `box1DFloat`, scalar and strided, written straight from the description.
    fn box_1d_reference(x: &[f32], w: usize) -> Vec<f32> {
        let n = x.len();
        let h = (w + 2) / 2;
        let mut y = vec![0f32; n];
        let (mut sum, mut count) = (0f32, 0u32);
        let (mut li, mut ri, mut oi) = (0, 0, 0);
        for _ in 0..h - 1 {
            sum += x[ri];
            ri += 1;
            count += 1;
        }
        for _ in 0..w - h + 1 {
            sum += x[ri];
            ri += 1;
            count += 1;
            y[oi] = sum / count as f32;
            oi += 1;
        }
        for _ in 0..n - w {
            sum += x[ri];
            sum -= x[li];
            ri += 1;
            li += 1;
            y[oi] = sum / count as f32;
            oi += 1;
        }
        for _ in 0..h - 1 {
            sum -= x[li];
            li += 1;
            count -= 1;
            y[oi] = sum / count as f32;
            oi += 1;
        }
        y
    }

    #[test]
    fn vectorised_box_equals_scalar_reference() {
        let (n, m) = (37, 11);
        let input: Vec<f32> = (0..n * m)
            .map(|i| ((i * 2654435761usize) % 1000) as f32 / 3.7)
            .collect();
        for w in 1..=n {
            let mut out = vec![0f32; n * m];
            let mut sums = vec![0f32; m];
            box_along_outer(&input, m, &mut out, m, n, m, w, &mut sums);
            for col in 0..m {
                let x: Vec<f32> = (0..n).map(|r| input[r * m + col]).collect();
                let want = box_1d_reference(&x, w);
                let got: Vec<f32> = (0..n).map(|r| out[r * m + col]).collect();
                assert_eq!(
                    got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "w = {w}, column {col}"
                );
            }
        }
    }

    #[test]
    fn transpose_round_trips() {
        let (r, c) = (19, 33);
        let x: Vec<f32> = (0..r * c).map(|i| i as f32).collect();
        let mut t = vec![0f32; r * c];
        let mut back = vec![0f32; r * c];
        transpose(&x, c, &mut t, r, r, c);
        assert_eq!(t[5 * r + 3], x[3 * c + 5]);
        transpose(&t, r, &mut back, c, c, r);
        assert_eq!(back, x);
    }

    #[test]
    fn window_and_sampling_match_reference_examples() {
        assert_eq!((window(1600), window(1004)), (13, 8));
        assert_eq!(
            (window(512), window(256), window(128), window(5)),
            (4, 2, 1, 1)
        );
        let idx = sample_indices(32);
        assert_eq!((idx[0], idx[1], idx[63]), (0, 0, 31));
        assert_eq!(sample_indices(1004)[10], (21 * 1004) / 128);
    }

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
