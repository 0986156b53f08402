//! A float luminance image: the one conversion every hash of a picture starts from.
//!
//! PDQ works on luma (`0.299 R + 0.587 G + 0.114 B` in float32). The media layer converts a
//! decoded image once: PDQ reads the full-resolution buffer, dHash and pHash read its
//! area-averaged reduction ([`LumaImage::reduced`]), and the matching layer cuts borders, crops
//! and rotations from that same reduction instead of converting again for every variant.

use image::DynamicImage;

/// Longest side of the reduced luma the media layer keeps beside the hashes
/// ([`super::HashedImage::reduced`]), from which dHash, pHash and the matching layer's extra
/// variants are computed.
pub const REDUCED_MAX_SIDE: u32 = 256;

/// A row-major float32 luminance image.
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// use referral_dedup::media::LumaImage;
/// let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(4, 3, image::Rgb([255, 0, 0])));
/// let luma = LumaImage::from_image(&img);
/// assert_eq!((luma.width(), luma.height()), (4, 3));
/// assert!((luma.pixels()[0] - 76.245).abs() < 1e-3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LumaImage {
    width: usize,
    height: usize,
    pixels: Vec<f32>,
}

impl LumaImage {
    /// Wraps a buffer of `width * height` luma values; `None` when the length does not fit.
    ///
    /// ```
    /// use referral_dedup::media::LumaImage;
    /// assert!(LumaImage::new(2, 2, vec![0.0; 4]).is_some());
    /// assert!(LumaImage::new(2, 2, vec![0.0; 3]).is_none());
    /// ```
    pub fn new(width: usize, height: usize, pixels: Vec<f32>) -> Option<LumaImage> {
        (width.checked_mul(height) == Some(pixels.len())).then_some(LumaImage {
            width,
            height,
            pixels,
        })
    }

    /// Converts a decoded image to luma exactly as PDQ does ([`crate::media::luma_from_image`]).
    ///
    /// ```
    /// use image::{DynamicImage, GrayImage};
    /// use referral_dedup::media::LumaImage;
    /// let img = DynamicImage::ImageLuma8(GrayImage::from_pixel(2, 2, image::Luma([9])));
    /// assert_eq!(LumaImage::from_image(&img).pixels(), &[9.0; 4]);
    /// ```
    pub fn from_image(image: &DynamicImage) -> LumaImage {
        let (width, height) = (image.width() as usize, image.height() as usize);
        LumaImage {
            width,
            height,
            pixels: crate::media::pdq::luma_from_image(image),
        }
    }

    /// Converts 8-bit grey pixels to luma, as [`LumaImage::from_image`] does for an
    /// `ImageLuma8` image.
    ///
    /// ```
    /// use image::{DynamicImage, GrayImage};
    /// use referral_dedup::media::LumaImage;
    /// let g = GrayImage::from_fn(3, 2, |x, y| image::Luma([(x * 40 + y) as u8]));
    /// assert_eq!(LumaImage::from_gray(&g), LumaImage::from_image(&DynamicImage::ImageLuma8(g)));
    /// ```
    pub fn from_gray(gray: &image::GrayImage) -> LumaImage {
        LumaImage {
            width: gray.width() as usize,
            height: gray.height() as usize,
            pixels: gray
                .as_raw()
                .iter()
                .map(|&v| super::pdq::luma_rgb(v, v, v))
                .collect(),
        }
    }

    /// The luma rounded to 8 bits (clamped to 0..=255).
    ///
    /// ```
    /// use referral_dedup::media::LumaImage;
    /// let l = LumaImage::new(3, 1, vec![-4.0, 127.5, 300.0]).unwrap();
    /// assert_eq!(l.to_gray().as_raw(), &[0, 128, 255]);
    /// ```
    pub fn to_gray(&self) -> image::GrayImage {
        let px = self
            .pixels
            .iter()
            // Round half up after clamping (the values are non-negative, so this is `round`),
            // written so that it vectorises instead of calling `roundf` per pixel.
            .map(|&v| (v.clamp(0.0, 255.0) + 0.5) as u8)
            .collect();
        // The buffer has exactly width * height bytes, so `from_raw` cannot refuse it.
        image::GrayImage::from_raw(self.width as u32, self.height as u32, px)
            .unwrap_or_else(|| image::GrayImage::new(0, 0))
    }

    /// Width in pixels.
    ///
    /// ```
    /// # use referral_dedup::media::LumaImage;
    /// assert_eq!(LumaImage::new(3, 1, vec![0.0; 3]).unwrap().width(), 3);
    /// ```
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    ///
    /// ```
    /// # use referral_dedup::media::LumaImage;
    /// assert_eq!(LumaImage::new(3, 1, vec![0.0; 3]).unwrap().height(), 1);
    /// ```
    pub fn height(&self) -> usize {
        self.height
    }

    /// The luma values, row-major.
    ///
    /// ```
    /// # use referral_dedup::media::LumaImage;
    /// assert_eq!(LumaImage::new(1, 1, vec![5.0]).unwrap().pixels(), &[5.0]);
    /// ```
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// The pixels, row-major, taken out of the image (to reuse the allocation).
    ///
    /// ```
    /// use referral_dedup::media::LumaImage;
    /// let image = LumaImage::new(2, 1, vec![1.0, 2.0]).unwrap();
    /// assert_eq!(image.into_pixels(), vec![1.0, 2.0]);
    /// ```
    pub fn into_pixels(self) -> Vec<f32> {
        self.pixels
    }

    /// The sub-image `[x0, x1) x [y0, y1)`, clamped to the image.
    ///
    /// ```
    /// # use referral_dedup::media::LumaImage;
    /// let l = LumaImage::new(3, 2, vec![0., 1., 2., 3., 4., 5.]).unwrap();
    /// assert_eq!(l.crop(1, 0, 3, 2).pixels(), &[1., 2., 4., 5.]);
    /// ```
    pub fn crop(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> LumaImage {
        let x1 = x1.min(self.width);
        let y1 = y1.min(self.height);
        let x0 = x0.min(x1);
        let y0 = y0.min(y1);
        let mut pixels = Vec::with_capacity((x1 - x0) * (y1 - y0));
        for y in y0..y1 {
            pixels.extend_from_slice(&self.pixels[y * self.width + x0..y * self.width + x1]);
        }
        LumaImage {
            width: x1 - x0,
            height: y1 - y0,
            pixels,
        }
    }

    /// A copy reduced by area averaging so that neither side exceeds `max_side` (aspect kept);
    /// an image already that small is returned unchanged.
    ///
    /// ```
    /// # use referral_dedup::media::LumaImage;
    /// let l = LumaImage::new(4, 2, vec![0., 2., 4., 6., 8., 10., 12., 14.]).unwrap();
    /// let r = l.reduced(2);
    /// assert_eq!((r.width(), r.height()), (2, 1));
    /// assert_eq!(r.pixels(), &[5.0, 9.0]);
    /// ```
    pub fn reduced(&self, max_side: usize) -> LumaImage {
        let max_side = max_side.max(1);
        let longest = self.width.max(self.height);
        if longest <= max_side || self.width == 0 || self.height == 0 {
            return self.clone();
        }
        let nw = (self.width * max_side).div_ceil(longest).clamp(1, max_side);
        let nh = (self.height * max_side)
            .div_ceil(longest)
            .clamp(1, max_side);
        // Separable box resampling with fractional edge weights: rows first (each output row
        // accumulates its weighted input rows, a contiguous multiply-add the compiler
        // vectorises), then columns of the much smaller intermediate.
        let rows = Taps::new(self.height, nh);
        let cols = Taps::new(self.width, nw);
        let mut tmp = vec![0f32; self.width * nh];
        for oy in 0..nh {
            let dst = &mut tmp[oy * self.width..(oy + 1) * self.width];
            for (iy, wgt) in rows.of(oy) {
                let src = &self.pixels[iy * self.width..(iy + 1) * self.width];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s * wgt;
                }
            }
        }
        let mut pixels = Vec::with_capacity(nw * nh);
        for src in tmp.chunks_exact(self.width) {
            pixels.extend((0..nw).map(|ox| cols.of(ox).map(|(i, wgt)| src[i] * wgt).sum::<f32>()));
        }
        LumaImage {
            width: nw,
            height: nh,
            pixels,
        }
    }

    /// A copy rotated by `degrees` (counter-clockwise) about the centre on the same canvas,
    /// bilinear, with uncovered corners filled by `fill`.
    ///
    /// ```
    /// # use referral_dedup::media::LumaImage;
    /// let l = LumaImage::new(3, 3, vec![1.0; 9]).unwrap();
    /// assert_eq!(l.rotated(0.0, 0.0).pixels(), l.pixels());
    /// ```
    pub fn rotated(&self, degrees: f32, fill: f32) -> LumaImage {
        let (w, h) = (self.width, self.height);
        let (s, c) = degrees.to_radians().sin_cos();
        let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
        let mut pixels = vec![fill; w * h];
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                // Inverse map: rotate the destination point back by the angle.
                let sx = c * dx - s * dy + cx;
                let sy = s * dx + c * dy + cy;
                if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
                    continue;
                }
                let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
                let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                let p = |xx: usize, yy: usize| self.pixels[yy * w + xx];
                let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
                let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
                pixels[y * w + x] = top * (1.0 - fy) + bottom * fy;
            }
        }
        LumaImage {
            width: w,
            height: h,
            pixels,
        }
    }
}

/// For each output sample of a box reduction, the input samples it averages and their
/// weights (summing to 1), stored flat: output `o` owns `taps[spans[o]..spans[o + 1]]`.
struct Taps {
    spans: Vec<usize>,
    taps: Vec<(usize, f32)>,
}

impl Taps {
    fn new(n_in: usize, n_out: usize) -> Taps {
        let scale = n_in as f64 / n_out as f64;
        let mut spans = Vec::with_capacity(n_out + 1);
        let mut taps = Vec::with_capacity(n_in + n_out);
        spans.push(0);
        for o in 0..n_out {
            let (start, end) = (o as f64 * scale, (o as f64 + 1.0) * scale);
            let mut i = start.floor() as usize;
            while (i as f64) < end && i < n_in {
                let cover = (end.min(i as f64 + 1.0) - start.max(i as f64)).max(0.0);
                if cover > 0.0 {
                    taps.push((i, (cover / scale) as f32));
                }
                i += 1;
            }
            spans.push(taps.len());
        }
        Taps { spans, taps }
    }

    fn of(&self, o: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        self.taps[self.spans[o]..self.spans[o + 1]].iter().copied()
    }
}
