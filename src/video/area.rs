//! PDQ codes of frame regions, each averaged down to PDQ's 64x64 square by area from one shared
//! reduced frame.
//!
//! The reference PDQ blurs a whole picture with its "Jarosz" tent filter and samples 64x64
//! points; doing that for every crop of every frame cost several times the decoding
//! (`examples/video_quality.rs --speed-only`). A region's box average over its own fractional
//! pixel edges costs one multiply-add per pixel it covers, and it suppresses what the tent lets
//! through: detail at the sampling pitch itself (the 2-pixel cells of noise-like footage), which
//! the tent folds into the lowest DCT coefficients and so into every bit of the code, differently
//! for each sub-pixel shift of a crop. The codes are PDQ's DCT and median threshold of that
//! square (an exactly 64x64 input skips the blur), so they are compared with other PDQ codes as
//! usual; only the plain codes of a video stay the reference's own (they are exchanged as vPDQ).
//!
//! ```
//! use referral_dedup::media::LumaImage;
//! use referral_dedup::video::area::{region_pdq, Region};
//! let frame = LumaImage::new(320, 240, (0..320 * 240).map(|i| {
//!     let (x, y) = ((i % 320) as f32, (i / 320) as f32);
//!     128.0 + 100.0 * (x / 23.0).sin() * (y / 31.0).cos()
//! }).collect()).unwrap();
//! let whole = region_pdq(&frame, Region::whole(&frame));
//! let shifted = region_pdq(&frame, Region { x0: 1.5, y0: 0.5, x1: 318.5, y1: 239.0 });
//! assert!(whole.quality > 50 && whole.hash.distance(&shifted.hash) <= 8);
//! ```

use crate::hashes::Pdq;
use crate::media::{pdq_from_luma, LumaImage, PdqHash};

/// Side of the square PDQ's DCT reads.
const SIDE: usize = 64;

/// Fewest pixels a region must span on each side to be hashed (PDQ's own smallest picture).
const MIN_SIDE: f32 = 5.0;

/// A rectangle of a picture in pixel coordinates, `[x0, x1) x [y0, y1)`; edges may fall inside
/// a pixel, which then counts in proportion to its covered share.
///
/// ```
/// use referral_dedup::video::area::Region;
/// let r = Region::anchored(100, 50, 0.9, (2, 0));
/// assert_eq!((r.x0, r.y0, r.x1, r.y1), (10.0, 0.0, 100.0, 45.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    /// Left edge.
    pub x0: f32,
    /// Top edge.
    pub y0: f32,
    /// Right edge (exclusive).
    pub x1: f32,
    /// Bottom edge (exclusive).
    pub y1: f32,
}

impl Region {
    /// The whole of `image`.
    ///
    /// ```
    /// use referral_dedup::media::LumaImage;
    /// use referral_dedup::video::area::Region;
    /// let r = Region::whole(&LumaImage::new(4, 3, vec![0.0; 12]).unwrap());
    /// assert_eq!((r.x1, r.y1), (4.0, 3.0));
    /// ```
    pub fn whole(image: &LumaImage) -> Region {
        Region {
            x0: 0.0,
            y0: 0.0,
            x1: image.width() as f32,
            y1: image.height() as f32,
        }
    }

    /// The rectangle keeping `keep` of each side of a `width` x `height` picture, placed at
    /// `anchor`: 0 start, 1 centre, 2 end, horizontally then vertically.
    ///
    /// ```
    /// use referral_dedup::video::area::Region;
    /// let r = Region::anchored(200, 100, 0.5, (1, 1));
    /// assert_eq!((r.x0, r.y0, r.x1, r.y1), (50.0, 25.0, 150.0, 75.0));
    /// ```
    pub fn anchored(width: usize, height: usize, keep: f32, anchor: (u8, u8)) -> Region {
        let keep = keep.clamp(0.0, 1.0);
        let (w, h) = (width as f32, height as f32);
        let (cw, ch) = (keep * w, keep * h);
        let place = |slack: f32, a: u8| slack * f32::from(a.min(2)) / 2.0;
        let (x0, y0) = (place(w - cw, anchor.0), place(h - ch, anchor.1));
        Region {
            x0,
            y0,
            x1: x0 + cw,
            y1: y0 + ch,
        }
    }
}

/// For each of the 64 output samples, the input samples it averages with their weights
/// (covered share over the sample's span): output `o` owns `taps[spans[o]..spans[o + 1]]`.
struct AreaTaps {
    spans: [usize; SIDE + 1],
    taps: Vec<(usize, f32)>,
}

impl AreaTaps {
    /// Taps of the interval `[start, end)` of `n` input samples cut into 64 equal spans.
    fn over(start: f32, end: f32, n: usize) -> AreaTaps {
        let (start, end) = (f64::from(start), f64::from(end));
        let step = (end - start) / SIDE as f64;
        let mut spans = [0usize; SIDE + 1];
        let mut taps = Vec::with_capacity(n.min((step.ceil() as usize + 1) * SIDE));
        for (o, span_end) in spans.iter_mut().skip(1).enumerate() {
            let (lo, hi) = (start + o as f64 * step, start + (o + 1) as f64 * step);
            let first = lo.floor().max(0.0) as usize;
            for i in first..n {
                let (a, b) = (i as f64, i as f64 + 1.0);
                if a >= hi {
                    break;
                }
                let cover = b.min(hi) - a.max(lo);
                if cover > 0.0 {
                    taps.push((i, (cover / step) as f32));
                }
            }
            *span_end = taps.len();
        }
        AreaTaps { spans, taps }
    }

    fn of(&self, o: usize) -> &[(usize, f32)] {
        &self.taps[self.spans[o]..self.spans[o + 1]]
    }
}

/// PDQ of `region` of `image` (clamped to the image), averaged to 64x64 by area; quality 0 and
/// a zero code for a region under 5 pixels on a side.
///
/// ```
/// use referral_dedup::media::LumaImage;
/// use referral_dedup::video::area::{region_pdq, Region};
/// let flat = LumaImage::new(40, 30, vec![7.0; 1200]).unwrap();
/// assert_eq!(region_pdq(&flat, Region::whole(&flat)).quality, 0);
/// ```
pub fn region_pdq(image: &LumaImage, region: Region) -> PdqHash {
    let (w, h) = (image.width(), image.height());
    let x0 = region.x0.clamp(0.0, w as f32);
    let x1 = region.x1.clamp(x0, w as f32);
    let y0 = region.y0.clamp(0.0, h as f32);
    let y1 = region.y1.clamp(y0, h as f32);
    if x1 - x0 < MIN_SIDE || y1 - y0 < MIN_SIDE {
        return PdqHash {
            hash: Pdq::default(),
            quality: 0,
        };
    }
    let cols = AreaTaps::over(x0, x1, w);
    let rows = AreaTaps::over(y0, y1, h);
    // Columns the region touches: each output row first sums its weighted input rows over
    // them (a contiguous multiply-add), then each output sample its weighted columns.
    let first = x0.floor() as usize;
    let last = (x1.ceil() as usize).min(w);
    let mut line = vec![0f32; last - first];
    let mut square = vec![0f32; SIDE * SIDE];
    let pixels = image.pixels();
    for (oy, out_row) in square.chunks_exact_mut(SIDE).enumerate() {
        line.fill(0.0);
        for &(iy, weight) in rows.of(oy) {
            let src = &pixels[iy * w + first..iy * w + last];
            for (d, &s) in line.iter_mut().zip(src) {
                *d += s * weight;
            }
        }
        for (ox, out) in out_row.iter_mut().enumerate() {
            *out = cols
                .of(ox)
                .iter()
                .map(|&(ix, weight)| line[ix - first] * weight)
                .sum();
        }
    }
    pdq_from_luma(&square, SIDE, SIDE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texture(w: usize, h: usize) -> LumaImage {
        LumaImage::new(
            w,
            h,
            (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as f32, (i / w) as f32);
                    128.0 + 60.0 * (x / 17.0).sin() + 60.0 * (y / 13.0 + x / 41.0).cos()
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn weights_of_every_output_sum_to_one() {
        for (start, end, n) in [(0.0, 64.0, 64), (3.5, 250.25, 300), (0.0, 700.0, 700)] {
            let taps = AreaTaps::over(start, end, n);
            for o in 0..SIDE {
                let sum: f32 = taps.of(o).iter().map(|t| t.1).sum();
                assert!((sum - 1.0).abs() < 1e-4, "{start} {end} {o}: {sum}");
            }
        }
    }

    #[test]
    fn an_exact_64_square_is_the_pixels_themselves() {
        let img = texture(64, 64);
        let direct = pdq_from_luma(img.pixels(), 64, 64);
        assert_eq!(region_pdq(&img, Region::whole(&img)), direct);
    }

    #[test]
    fn a_crop_of_a_reduced_frame_matches_the_same_crop_at_full_size() {
        // The region codes do not depend on the resolution they are cut from.
        let full = texture(640, 480);
        let small = full.reduced(320);
        let a = region_pdq(&full, Region::anchored(640, 480, 0.9, (2, 0)));
        let b = region_pdq(&small, Region::anchored(320, 240, 0.9, (2, 0)));
        assert!(
            a.hash.distance(&b.hash) <= 4,
            "{}",
            a.hash.distance(&b.hash)
        );
        // A different crop of the same frame is a different code.
        let c = region_pdq(&full, Region::anchored(640, 480, 0.5, (0, 0)));
        assert!(a.hash.distance(&c.hash) > 31);
    }

    #[test]
    fn tiny_or_outside_regions_are_unusable() {
        let img = texture(40, 30);
        let outside = Region {
            x0: 50.0,
            y0: 0.0,
            x1: 90.0,
            y1: 30.0,
        };
        assert_eq!(region_pdq(&img, outside).quality, 0);
        let thin = Region {
            x1: 4.0,
            ..Region::whole(&img)
        };
        assert_eq!(region_pdq(&img, thin).quality, 0);
    }
}
