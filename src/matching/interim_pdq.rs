//! Interim PDQ on a luma buffer, used until the media layer's reference-compatible PDQ is merged.
//!
//! Follows `pdq-algorithm.md` (§4 to §8b) with run-time cosines; it is replaced by
//! `crate::media::pdq_from_luma` once that lands, so nothing outside this module depends on it.

use crate::hashes::Pdq;

/// The 16x16 DCT block (row = vertical frequency) and the quality of one luma image.
pub(crate) struct PdqDct {
    pub(crate) coeffs: [f32; 256],
    pub(crate) quality: u8,
}

fn box_1d(src: &[f32], dst: &mut [f32], w: usize) {
    let n = src.len();
    let h = (w + 2) / 2;
    let mut sum = 0f32;
    let mut count = 0f32;
    let mut ri = 0usize;
    let mut li = 0usize;
    let mut out = 0usize;
    for _ in 0..h - 1 {
        sum += src[ri];
        ri += 1;
        count += 1.0;
    }
    for _ in 0..(w - h + 1) {
        sum += src[ri];
        ri += 1;
        count += 1.0;
        dst[out] = sum / count;
        out += 1;
    }
    for _ in 0..(n - w) {
        sum += src[ri];
        ri += 1;
        sum -= src[li];
        li += 1;
        dst[out] = sum / count;
        out += 1;
    }
    for _ in 0..h - 1 {
        sum -= src[li];
        li += 1;
        count -= 1.0;
        dst[out] = sum / count;
        out += 1;
    }
}

fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static TABLE: std::sync::OnceLock<[[f32; 64]; 16]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut d = [[0f32; 64]; 16];
        let s = (2.0f64 / 64.0).sqrt() as f32 as f64;
        for (i, row) in d.iter_mut().enumerate() {
            for (k, v) in row.iter_mut().enumerate() {
                let arg =
                    (std::f64::consts::PI / 2.0 / 64.0) * (i as f64 + 1.0) * (2.0 * k as f64 + 1.0);
                *v = (s * arg.cos()) as f32;
            }
        }
        d
    })
}

/// DCT block and quality of a `w` x `h` luma buffer; `None` below 5 pixels a side.
pub(crate) fn pdq_dct(luma: &[f32], w: usize, h: usize) -> Option<PdqDct> {
    if w < 5 || h < 5 || luma.len() != w * h {
        return None;
    }
    let mut a = luma.to_vec();
    let mut b = vec![0f32; w * h];
    let win_h = w.div_ceil(128);
    let win_v = h.div_ceil(128);
    let mut col_in = vec![0f32; h];
    let mut col_out = vec![0f32; h];
    for _ in 0..2 {
        for y in 0..h {
            box_1d(&a[y * w..(y + 1) * w], &mut b[y * w..(y + 1) * w], win_h);
        }
        for x in 0..w {
            for y in 0..h {
                col_in[y] = b[y * w + x];
            }
            box_1d(&col_in, &mut col_out, win_v);
            for y in 0..h {
                a[y * w + x] = col_out[y];
            }
        }
    }
    let mut m = [[0f32; 64]; 64];
    for (i, row) in m.iter_mut().enumerate() {
        let ri = ((2 * i + 1) * h) / 128;
        for (j, v) in row.iter_mut().enumerate() {
            let cj = ((2 * j + 1) * w) / 128;
            *v = a[ri * w + cj];
        }
    }
    let mut sum = 0i64;
    for i in 0..63 {
        for j in 0..64 {
            sum += (((m[i][j] - m[i + 1][j]) * 100.0 / 255.0) as i64).abs();
        }
    }
    for row in &m {
        for j in 0..63 {
            sum += (((row[j] - row[j + 1]) * 100.0 / 255.0) as i64).abs();
        }
    }
    let quality = (sum / 90).min(100) as u8;
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for i in 0..16 {
        for j in 0..64 {
            let mut s = 0f32;
            for k in 0..64 {
                s += d[i][k] * m[k][j];
            }
            t[i][j] = s;
        }
    }
    let mut coeffs = [0f32; 256];
    for i in 0..16 {
        for j in 0..16 {
            let mut s = 0f32;
            for k in 0..64 {
                s += t[i][k] * d[j][k];
            }
            coeffs[16 * i + j] = s;
        }
    }
    Some(PdqDct { coeffs, quality })
}

/// Median-threshold a DCT block into a hash.
pub(crate) fn threshold(coeffs: &[f32; 256]) -> Pdq {
    let mut sorted = *coeffs;
    sorted.sort_by(f32::total_cmp);
    let median = sorted[127];
    let mut p = Pdq([0; 4]);
    for (k, &c) in coeffs.iter().enumerate() {
        if c > median {
            p.0[k / 64] |= 1 << (k % 64);
        }
    }
    p
}

/// The eight dihedral hashes (reference order) of a DCT block.
pub(crate) fn dihedral(coeffs: &[f32; 256]) -> [Pdq; 8] {
    let b = |i: usize, j: usize| coeffs[16 * i + j];
    let mut out = [Pdq([0; 4]); 8];
    for (v, slot) in out.iter_mut().enumerate() {
        let mut c = [0f32; 256];
        for i in 0..16 {
            for j in 0..16 {
                let x = b(i, j);
                let (ni, nj, neg) = match v {
                    0 => (i, j, false),
                    1 => (j, i, j % 2 == 0),
                    2 => (i, j, (i + j) % 2 == 1),
                    3 => (j, i, i % 2 == 0),
                    4 => (i, j, i % 2 == 0),
                    5 => (i, j, j % 2 == 0),
                    6 => (j, i, false),
                    _ => (j, i, (i + j) % 2 == 1),
                };
                c[16 * ni + nj] = if neg { -x } else { x };
            }
        }
        *slot = threshold(&c);
    }
    out
}
