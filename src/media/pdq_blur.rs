//! PDQ's blur and decimation: the "Jarosz" tent filter (two rounds of a box filter along every
//! row, then along every column, windows `ceil(cols/128)` and `ceil(rows/128)`) and point
//! sampling to 64×64 at the cell centres, each running float32 sum in the reference's exact
//! add/subtract order ([`super::pdq`] step 3 and 4).
//!
//! Speed comes from running every pass across many rows or columns at once (plain arrays the
//! compiler vectorises) while each individual running sum keeps the reference's order of float
//! operations, so the result is bit-identical.

/// Side of the decimated square PDQ computes its quality and DCT from.
pub(super) const SIDE: usize = 64;

/// The decimated luma.
pub(super) type Square64 = Box<[[f32; SIDE]; SIDE]>;

/// Jarosz window size for a vector of `n` samples decimated to 64.
fn window(n: usize) -> usize {
    n.div_ceil(2 * SIDE)
}

/// Blurs (two rounds of row box, column box) and point-samples the luma to 64×64.
pub(super) fn blur_and_decimate(luma: &[f32], width: usize, height: usize) -> Square64 {
    let (rows, cols) = (height, width);
    let win_rows = window(cols); // window used when filtering along each row
    let win_cols = window(rows); // window used when filtering along each column
                                 // Row strides of the two layouts, padded by one cache line so that rows whose length is a
                                 // multiple of 4 KiB (1024-pixel images) do not all map to the same cache set when a
                                 // transpose writes down a column.
    let sr = rows + PAD; // transposed layout: cols × rows
    let sc = cols + PAD; // natural layout: rows × cols
    let len = (cols * sr).max(rows * sc).max(SIDE * rows);
    // Every value read from the two planes below is written first, so reused planes need no
    // clearing: only growth is zero-filled.
    let (mut buf_a, mut buf_b) = PLANES.with(|p| std::mem::take(&mut *p.borrow_mut()));
    buf_a.resize(len, 0.0);
    buf_b.resize(len, 0.0);
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
    if len <= KEEP_PLANES_UP_TO {
        PLANES.with(|p| *p.borrow_mut() = (buf_a, buf_b));
    }
    a
}

thread_local! {
    /// The two planes of this thread's last blur, kept for its next one: a video hashes
    /// hundreds of frames of one size, and fresh planes cost page faults and zeroing each time
    /// (a fifth of hashing a frame).
    static PLANES: std::cell::RefCell<(Vec<f32>, Vec<f32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Largest plane (floats) kept between blurs: 16 MiB, pictures up to about 4 megapixels.
const KEEP_PLANES_UP_TO: usize = 1 << 22;

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
}
