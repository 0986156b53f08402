//! TMK+PDQF: Meta's temporal-match-kernel video hash over PDQ float features, as GIFCT's
//! hash-sharing database and NCMEC's lists carry it.
//!
//! Written here because no crate reads or scores it. A `.tmk` file is little-endian: a 32-byte
//! header (magics `TMK1`, `FVEC`, the frame-feature algorithm `PDQF`; frames per second; the
//! number of periods P, of Fourier coefficients m, the feature dimension d, the frame count), then
//! `i32 periods[P]`, `f32 coefficients[m]`, `f32 average[d]`, `f32 cos[P][m][d]`, `f32
//! sin[P][m][d]`. Scores follow the reference's definitions: level 1 is the cosine similarity of
//! the average features; level 2 is the temporal kernel maximised over time offsets modulo each
//! period, normalised so that a video scores 1 against itself.
//!
//! ```
//! use referral_dedup::video::TmkFeatures;
//! let a = TmkFeatures::from_frame_features(15, (0..45).map(|t| {
//!     let mut f = [0f32; 256];
//!     f[t % 7] = 1.0;
//!     f[200] = 0.5;
//!     f
//! }));
//! assert!((a.level1_score(&a).unwrap() - 1.0).abs() < 1e-5);
//! assert!((a.level2_score(&a).unwrap() - 1.0).abs() < 1e-3);
//! let bytes = a.to_bytes();
//! assert_eq!(TmkFeatures::from_bytes(&bytes).unwrap(), a);
//! ```

use super::VideoError;

/// The frame-feature dimension of PDQF.
pub const PDQF_DIMENSION: usize = 256;
/// The reference's frame rate for TMK (frames are resampled to it before hashing).
pub const TMK_FRAMES_PER_SECOND: u32 = 15;
/// The reference's four periods, in frames.
pub const TMK_PERIODS: [i32; 4] = [2731, 4391, 9767, 14653];
/// The reference's 32 Fourier coefficients (Poullot's kernel weights).
pub const TMK_COEFFICIENTS: [f32; 32] = [
    0.070_804_19,
    0.139_377_9,
    0.132_897_26,
    0.122_765_736,
    0.109_878_68,
    0.095_296_06,
    0.080_098_66,
    0.065_259_07,
    0.051_547_825,
    0.039_485_153,
    0.029_337_425,
    0.021_149_263,
    0.014_797_307,
    0.010_051_282,
    0.006_630_641,
    0.004_249_471,
    0.002_646_761_6,
    0.001_602_709_6,
    0.000_943_882_6,
    0.000_540_841_6,
    0.000_301_633_18,
    0.000_163_800_16,
    8.664_548e-5,
    4.466_263e-5,
    2.244_294_4e-5,
    1.099_821_4e-5,
    5.258_235e-6,
    2.453_582_3e-6,
    1.117_814_7e-6,
    4.974_065e-7,
    2.162_654_9e-7,
    9.190_87e-8,
];

/// Largest period count, coefficient count and dimension a file may declare (bounded allocation).
const MAX_PERIODS: usize = 64;
const MAX_COEFFICIENTS: usize = 256;
const MAX_DIMENSION: usize = 4096;

/// Default level-1 and level-2 thresholds of the reference's two-level scorer.
pub const TMK_DEFAULT_THRESHOLDS: (f32, f32) = (0.7, 0.7);

/// A TMK+PDQF hash: the average frame feature and the cos/sin kernel features per period and
/// Fourier coefficient.
#[derive(Clone, Debug, PartialEq)]
pub struct TmkFeatures {
    /// Frames per second the frame features were sampled at (15 in the reference).
    pub frames_per_second: i32,
    /// Number of frame features that went in.
    pub frame_count: i32,
    /// Periods, in frames.
    pub periods: Vec<i32>,
    /// Fourier coefficients (kernel weights).
    pub coefficients: Vec<f32>,
    /// Average frame feature.
    pub average: Vec<f32>,
    /// `cos[p][j]`: the j-th cosine feature for period p, `dimension` floats each.
    pub cos: Vec<Vec<Vec<f32>>>,
    /// `sin[p][j]`: the j-th sine feature for period p.
    pub sin: Vec<Vec<Vec<f32>>>,
}

impl TmkFeatures {
    /// Reads a `.tmk` file's bytes.
    ///
    /// # Errors
    /// [`VideoError::Tmk`] for a wrong magic, an unsupported algorithm, declared sizes out of range,
    /// a length that does not match the declared sizes, or non-finite values.
    pub fn from_bytes(bytes: &[u8]) -> Result<TmkFeatures, VideoError> {
        let bad = |reason: String| VideoError::Tmk(reason);
        if bytes.len() < 32 {
            return Err(bad(format!(
                "{} bytes is shorter than the 32-byte header",
                bytes.len()
            )));
        }
        if &bytes[0..4] != b"TMK1" || &bytes[4..8] != b"FVEC" {
            return Err(bad(
                "not a TMK feature-vector file (magic is not TMK1 FVEC)".into(),
            ));
        }
        if &bytes[8..12] != b"PDQF" {
            return Err(bad(format!(
                "frame-feature algorithm {:?} is not PDQF",
                String::from_utf8_lossy(&bytes[8..12])
            )));
        }
        let int_at = |i: usize| i32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        let fps = int_at(12);
        let (p, m, d, count) = (int_at(16), int_at(20), int_at(24), int_at(28));
        let in_range = |v: i32, max: usize| v > 0 && (v as usize) <= max;
        if !in_range(p, MAX_PERIODS)
            || !in_range(m, MAX_COEFFICIENTS)
            || !in_range(d, MAX_DIMENSION)
        {
            return Err(bad(format!(
                "declared sizes out of range: {p} periods, {m} coefficients, dimension {d}"
            )));
        }
        let (p, m, d) = (p as usize, m as usize, d as usize);
        let want = 32 + 4 * (p + m + d + 2 * p * m * d);
        if bytes.len() != want {
            return Err(bad(format!(
                "{} bytes, but the header's sizes need {want}",
                bytes.len()
            )));
        }
        let mut pos = 32;
        let periods: Vec<i32> = (0..p).map(|k| int_at(pos + 4 * k)).collect::<Vec<_>>();
        pos += 4 * p;
        if periods.iter().any(|&t| t <= 0) {
            return Err(bad(format!("non-positive period in {periods:?}")));
        }
        let mut floats = |n: usize| -> Result<Vec<f32>, VideoError> {
            let v: Vec<f32> = bytes[pos..pos + 4 * n]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            pos += 4 * n;
            if v.iter().all(|x| x.is_finite()) {
                Ok(v)
            } else {
                Err(VideoError::Tmk("non-finite value in the features".into()))
            }
        };
        let coefficients = floats(m)?;
        let average = floats(d)?;
        let mut rank3 = || -> Result<Vec<Vec<Vec<f32>>>, VideoError> {
            (0..p)
                .map(|_| (0..m).map(|_| floats(d)).collect())
                .collect()
        };
        let cos = rank3()?;
        let sin = rank3()?;
        Ok(TmkFeatures {
            frames_per_second: fps,
            frame_count: count,
            periods,
            coefficients,
            average,
            cos,
            sin,
        })
    }

    /// Writes the `.tmk` form [`from_bytes`](Self::from_bytes) reads.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            32 + 4 * (self.periods.len() + self.coefficients.len() + self.average.len())
                + 8 * self.periods.len() * self.coefficients.len() * self.average.len(),
        );
        out.extend_from_slice(b"TMK1FVECPDQF");
        for v in [
            self.frames_per_second,
            self.periods.len() as i32,
            self.coefficients.len() as i32,
            self.average.len() as i32,
            self.frame_count,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for t in &self.periods {
            out.extend_from_slice(&t.to_le_bytes());
        }
        let all = self
            .coefficients
            .iter()
            .chain(&self.average)
            .chain(self.cos.iter().flatten().flatten())
            .chain(self.sin.iter().flatten().flatten());
        for x in all {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Builds the hash from per-frame PDQF features sampled at `frames_per_second`, frame `t`
    /// at time index `t`, with the reference's periods and coefficients.
    pub fn from_frame_features(
        frames_per_second: i32,
        features: impl IntoIterator<Item = [f32; PDQF_DIMENSION]>,
    ) -> TmkFeatures {
        let (p, m, d) = (TMK_PERIODS.len(), TMK_COEFFICIENTS.len(), PDQF_DIMENSION);
        let mut average = vec![0f32; d];
        let mut cos = vec![vec![vec![0f32; d]; m]; p];
        let mut sin = vec![vec![vec![0f32; d]; m]; p];
        let mut count = 0i32;
        for (t, feature) in features.into_iter().enumerate() {
            for (a, &x) in average.iter_mut().zip(&feature) {
                *a += x;
            }
            let mut normalized = feature;
            l2_normalize(&mut normalized);
            for (i, &period) in TMK_PERIODS.iter().enumerate() {
                for (c, &x) in cos[i][0].iter_mut().zip(&normalized) {
                    *c += x;
                }
                for j in 1..m {
                    let arg = 2.0 * std::f64::consts::PI * j as f64 * t as f64 / f64::from(period);
                    let (s, c) = (arg.sin() as f32, arg.cos() as f32);
                    for k in 0..d {
                        cos[i][j][k] += normalized[k] * c;
                        sin[i][j][k] += normalized[k] * s;
                    }
                }
            }
            count += 1;
        }
        if count > 0 {
            for a in &mut average {
                *a /= count as f32;
            }
            for i in 0..p {
                for (j, &coefficient) in TMK_COEFFICIENTS.iter().enumerate() {
                    let scale = coefficient.sqrt();
                    for v in [&mut cos[i][j], &mut sin[i][j]] {
                        l2_normalize(v);
                        v.iter_mut().for_each(|x| *x *= scale);
                    }
                }
            }
        }
        TmkFeatures {
            frames_per_second,
            frame_count: count,
            periods: TMK_PERIODS.to_vec(),
            coefficients: TMK_COEFFICIENTS.to_vec(),
            average,
            cos,
            sin,
        }
    }

    /// Level-1 score: the cosine similarity of the two average features.
    ///
    /// # Errors
    /// [`VideoError::Tmk`] when the two hashes are not comparable (different frame rates, periods,
    /// coefficients or dimensions).
    pub fn level1_score(&self, other: &TmkFeatures) -> Result<f32, VideoError> {
        self.check_compatible(other)?;
        Ok(cosine(&self.average, &other.average))
    }

    /// Level-2 score: the temporal kernel at its best offset, over the periods, divided by the
    /// score of a video with itself (`a₀ + 2 Σ aⱼ`).
    ///
    /// # Errors
    /// As [`level1_score`](Self::level1_score).
    pub fn level2_score(&self, other: &TmkFeatures) -> Result<f32, VideoError> {
        self.check_compatible(other)?;
        let m = self.coefficients.len();
        let normalizer = self.coefficients[0] + 2.0 * self.coefficients[1..].iter().sum::<f32>();
        let mut best = f32::NEG_INFINITY;
        for (i, &period) in self.periods.iter().enumerate() {
            let dots = |a: &[Vec<f32>], b: &[Vec<f32>]| -> Vec<f32> {
                a.iter().zip(b).map(|(u, v)| dot(u, v)).collect()
            };
            let cc = dots(&self.cos[i], &other.cos[i]);
            let ss = dots(&self.sin[i], &other.sin[i]);
            let sc = dots(&self.sin[i], &other.cos[i]);
            let cs = dots(&self.cos[i], &other.sin[i]);
            let even: Vec<f32> = (0..m).map(|j| cc[j] + ss[j]).collect();
            let odd: Vec<f32> = (0..m).map(|j| sc[j] - cs[j]).collect();
            for offset in 0..period {
                let delta = 2.0 * std::f32::consts::PI * offset as f32 / period as f32;
                let mut k = cc[0];
                for j in 1..m {
                    let (s, c) = (j as f32 * delta).sin_cos();
                    k += c * even[j] + s * odd[j];
                }
                best = best.max(k);
            }
        }
        Ok(best / normalizer)
    }

    fn check_compatible(&self, other: &TmkFeatures) -> Result<(), VideoError> {
        let same_coefficients = self.coefficients.len() == other.coefficients.len()
            && self
                .coefficients
                .iter()
                .zip(&other.coefficients)
                .all(|(a, b)| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()));
        if self.frames_per_second != other.frames_per_second
            || self.periods != other.periods
            || !same_coefficients
            || self.average.len() != other.average.len()
            || self.coefficients.is_empty()
        {
            return Err(VideoError::Tmk(
                "the two TMK hashes are not comparable (frame rate, periods, coefficients or dimension differ)"
                    .into(),
            ));
        }
        Ok(())
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (na, nb) = (dot(a, a).sqrt(), dot(b, b).sqrt());
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot(a, b) / (na * nb)
    }
}

fn l2_normalize(v: &mut [f32]) {
    let n = dot(v, v).sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_hostile_headers_are_errors() {
        let a = TmkFeatures::from_frame_features(15, (0..5).map(|_| [1f32; 256]));
        let bytes = a.to_bytes();
        for cut in [0, 31, 32, 100, bytes.len() - 1] {
            assert!(TmkFeatures::from_bytes(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut huge = bytes.clone();
        huge[24..28].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(TmkFeatures::from_bytes(&huge).is_err());
        let mut nan = bytes.clone();
        let at = bytes.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(TmkFeatures::from_bytes(&nan).is_err());
        let mut magic = bytes;
        magic[8] = b'X';
        assert!(TmkFeatures::from_bytes(&magic).is_err());
    }
}
