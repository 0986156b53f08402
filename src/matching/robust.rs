//! The hashes kept for a known item and the hashes looked up for a query.

use image::DynamicImage;

use super::content::{LumaGrid, QueryRegion, StoredRegion, GRID};
use super::trim::{frame_box, trim_box, TrimBox, TrimOptions};
use super::{pdq_variants, LumaImage, PdqVariants};
use crate::hashes::{Hash64, Pdq};
use crate::media::{self, HashedImage};

/// Which picture an extra stored hash was computed from.
///
/// ```
/// use referral_dedup::matching::VariantKind;
/// assert_eq!(VariantKind::Trimmed.to_string(), "trimmed");
/// assert_eq!(VariantKind::Crop { keep_permille: 900, anchor: (1, 1) }.to_string(), "crop900@11");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VariantKind {
    /// The content box inside detected borders.
    Trimmed,
    /// The box inside a uniform frame ([`crate::matching::frame_box`]), when it differs from
    /// the trimmed box.
    Framed,
    /// A crop keeping `keep_permille`/1000 of each side, placed at `anchor` (0 = left/top,
    /// 1 = centre, 2 = right/bottom).
    Crop {
        /// Fraction of each side kept, in thousandths.
        keep_permille: u16,
        /// Horizontal and vertical placement: 0 start, 1 centre, 2 end.
        anchor: (u8, u8),
    },
    /// The image rotated by `decidegrees`/10 degrees counter-clockwise on the same canvas:
    /// with `inner`, cropped to the central part the rotation keeps filled (a "straighten"
    /// edit); otherwise with the uncovered corners black (a plain rotate).
    Rotated {
        /// Angle in tenths of a degree.
        decidegrees: i16,
        /// Crop to the filled centre instead of keeping black corners.
        inner: bool,
    },
}

impl std::fmt::Display for VariantKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VariantKind::Trimmed => f.write_str("trimmed"),
            VariantKind::Framed => f.write_str("framed"),
            VariantKind::Crop {
                keep_permille,
                anchor,
            } => write!(f, "crop{keep_permille}@{}{}", anchor.0, anchor.1),
            VariantKind::Rotated { decidegrees, inner } => {
                write!(f, "rot{decidegrees:+}{}", if *inner { "in" } else { "" })
            }
        }
    }
}

/// What to compute besides the plain PDQ.
///
/// ```
/// use referral_dedup::matching::RobustOptions;
/// let o = RobustOptions::default();
/// assert_eq!(o.known_variants.len(), 16); // 14 crops, 2 rotations
/// ```
///
/// Extra variants are hashed from the media layer's reduced luma
/// ([`crate::media::HashedImage::reduced`], longest side 256, area average): PDQ keeps only
/// 64x64 samples of a blurred picture, so little is lost and much time is saved.
#[derive(Debug, Clone, PartialEq)]
pub struct RobustOptions {
    /// Border detection thresholds.
    pub trim: TrimOptions,
    /// Extra stored variants of known items (the trimmed picture is always added when borders
    /// are found).
    pub known_variants: Vec<VariantKind>,
}

impl Default for RobustOptions {
    fn default() -> Self {
        RobustOptions {
            trim: TrimOptions::default(),
            known_variants: default_known_variants(),
        }
    }
}

/// Crops keeping 95% and 90% of each side, centred and at the four corners, and rotations by
/// +-3 degrees: the variants the match-quality harness showed to earn their keep.
fn default_known_variants() -> Vec<VariantKind> {
    let mut v = Vec::new();
    for keep_permille in [950, 900] {
        for anchor in [(1, 1), (0, 0), (2, 2), (0, 2), (2, 0)] {
            v.push(VariantKind::Crop {
                keep_permille,
                anchor,
            });
        }
    }
    // 90% crops also at the four edge midpoints: a crop taken between two corners.
    for anchor in [(1, 0), (0, 1), (2, 1), (1, 2)] {
        v.push(VariantKind::Crop {
            keep_permille: 900,
            anchor,
        });
    }
    v.push(VariantKind::Rotated {
        decidegrees: 30,
        inner: false,
    });
    v.push(VariantKind::Rotated {
        decidegrees: -30,
        inner: false,
    });
    v
}

/// The hashes stored for a known item: its plain PDQ plus extra variants, all matched alike.
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// use referral_dedup::matching::{KnownHashes, RobustOptions};
/// let img = RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 5 % 256) as u8, (y * 9 % 256) as u8, ((x * y) % 256) as u8]));
/// let k = KnownHashes::compute(&DynamicImage::ImageRgb8(img), &RobustOptions::default()).unwrap();
/// assert_eq!(k.codes().len(), 1 + k.extra.len());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHashes {
    /// Plain PDQ of the whole image (the interoperable hash).
    pub pdq: Pdq,
    /// Its quality.
    pub quality: u8,
    /// Extra hashes and what they were computed from.
    pub extra: Vec<(VariantKind, Pdq)>,
    /// dHash and pHash of the whole image (from the reduced copy), the second opinion the
    /// rule asks for before accepting a loose PDQ distance.
    pub second: SecondHashes,
}

/// 64-bit dHash and pHash of the reduced luma of an image (media's fixed configuration).
///
/// ```
/// use referral_dedup::hashes::Hash64;
/// use referral_dedup::matching::SecondHashes;
/// let a = SecondHashes { dhash: Hash64(0), phash: Hash64(0) };
/// let b = SecondHashes { dhash: Hash64(0b1011), phash: Hash64(1) };
/// assert_eq!(a.distance(&b), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondHashes {
    /// Difference hash.
    pub dhash: Hash64,
    /// DCT perceptual hash.
    pub phash: Hash64,
}

impl SecondHashes {
    /// Hashes of a luma image ([`media::dhash_phash_luma`]: the media layer's dHash and pHash).
    ///
    /// ```
    /// use referral_dedup::matching::{LumaImage, SecondHashes};
    /// let l = LumaImage::new(16, 16, (0..256).map(|i| i as f32).collect()).unwrap();
    /// let s = SecondHashes::of_luma(&l);
    /// assert_eq!(s.distance(&s), 0);
    /// ```
    pub fn of_luma(luma: &LumaImage) -> SecondHashes {
        let (dhash, phash) = media::dhash_phash_luma(luma);
        SecondHashes { dhash, phash }
    }

    /// The smaller of the dHash and pHash distances.
    ///
    /// ```
    /// # use referral_dedup::{hashes::Hash64, matching::SecondHashes};
    /// let a = SecondHashes { dhash: Hash64(0), phash: Hash64(0b111) };
    /// assert_eq!(a.distance(&SecondHashes { dhash: Hash64(0b11), phash: Hash64(0) }), 2);
    /// ```
    pub fn distance(&self, other: &SecondHashes) -> u32 {
        self.dhash
            .distance(&other.dhash)
            .min(self.phash.distance(&other.phash))
    }
}

/// The hashes looked up for a query: all eight dihedral variants of the plain PDQ and, when
/// borders were found, of the trimmed picture.
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// use referral_dedup::matching::{QueryHashes, RobustOptions};
/// let img = RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 5 % 256) as u8, (y * 9 % 256) as u8, 0]));
/// let q = QueryHashes::compute(&DynamicImage::ImageRgb8(img), &RobustOptions::default()).unwrap();
/// assert!(q.trimmed.is_none());
/// assert_eq!(q.codes().len(), 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryHashes {
    /// Dihedral variants of the whole image; `full.dihedral[0]` is the plain PDQ.
    pub full: PdqVariants,
    /// Dihedral variants of the content box inside detected borders.
    pub trimmed: Option<PdqVariants>,
    /// dHash and pHash of the whole image, as in [`KnownHashes::second`].
    pub second: SecondHashes,
    /// dHash and pHash of the trimmed box, when borders were found.
    pub second_trimmed: Option<SecondHashes>,
    /// Dihedral variants of the box inside a uniform frame ([`crate::matching::frame_box`]),
    /// when one was found and differs from the trimmed box.
    pub framed: Option<PdqVariants>,
    /// dHash and pHash of the framed box.
    pub second_framed: Option<SecondHashes>,
}

impl KnownHashes {
    /// Hashes of a known item; `None` when the image is under PDQ's 5-pixel minimum.
    ///
    /// ```
    /// use image::{DynamicImage, RgbImage};
    /// use referral_dedup::matching::{KnownHashes, RobustOptions};
    /// let tiny = DynamicImage::ImageRgb8(RgbImage::new(3, 3));
    /// assert!(KnownHashes::compute(&tiny, &RobustOptions::default()).is_none());
    /// ```
    pub fn compute(image: &DynamicImage, opts: &RobustOptions) -> Option<KnownHashes> {
        KnownHashes::from_hashed(&hashed(image, false), opts)
    }

    /// Hashes of a known item from what the media layer already computed for it (plain PDQ,
    /// quality, dHash, pHash and the reduced luma); `None` when the image is under PDQ's
    /// 5-pixel minimum.
    ///
    /// ```
    /// use image::{DynamicImage, RgbImage};
    /// use referral_dedup::matching::{KnownHashes, RobustOptions};
    /// use referral_dedup::media::{digest_bytes, hash_image_with_luma, HashOptions};
    /// let img = DynamicImage::ImageRgb8(RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 5 % 256) as u8, (y * 9 % 256) as u8, 7])));
    /// let h = hash_image_with_luma(0, digest_bytes(b""), &img, &HashOptions::default());
    /// let opts = RobustOptions::default();
    /// assert_eq!(KnownHashes::from_hashed(&h, &opts), KnownHashes::compute(&img, &opts));
    /// ```
    pub fn from_hashed(hashed: &HashedImage, opts: &RobustOptions) -> Option<KnownHashes> {
        let h = &hashed.hashes;
        if h.width < 5 || h.height < 5 {
            return None;
        }
        let small = &hashed.reduced;
        let (trimmed, framed) = boxes(small, &opts.trim);
        let box_code =
            |b: Option<TrimBox>| b.and_then(|b| pdq_plain(&small.crop(b.x0, b.y0, b.x1, b.y1)));
        Some(known_with_boxes(
            hashed,
            [box_code(trimmed), box_code(framed)],
            opts,
        ))
    }

    /// [`KnownHashes::from_hashed`] for a picture whose [`QueryHashes`] are already computed:
    /// the trimmed and framed boxes' codes are taken from the query (variant 0 of each, the
    /// plain PDQ of the box) instead of detecting and hashing the boxes again. Equal to
    /// `from_hashed`; `None` under the same conditions.
    ///
    /// ```
    /// use image::{DynamicImage, RgbImage};
    /// use referral_dedup::matching::{KnownHashes, QueryHashes, RobustOptions};
    /// use referral_dedup::media::{digest_bytes, hash_image_with_luma, HashOptions};
    /// let mut img = RgbImage::from_pixel(140, 100, image::Rgb([0, 0, 0]));
    /// for (x, y, p) in img.enumerate_pixels_mut() {
    ///     if (15..125).contains(&x) && (12..88).contains(&y) {
    ///         *p = image::Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, ((x / 9 + y / 7) * 30 % 256) as u8]);
    ///     }
    /// }
    /// let opts = HashOptions { dihedral: true, ..HashOptions::default() };
    /// let h = hash_image_with_luma(0, digest_bytes(b""), &DynamicImage::ImageRgb8(img), &opts);
    /// let robust = RobustOptions::default();
    /// let q = QueryHashes::from_hashed(&h, &robust).unwrap();
    /// assert!(q.trimmed.is_some());
    /// assert_eq!(KnownHashes::from_query(&h, &q, &robust), KnownHashes::from_hashed(&h, &robust));
    /// ```
    pub fn from_query(
        hashed: &HashedImage,
        query: &QueryHashes,
        opts: &RobustOptions,
    ) -> Option<KnownHashes> {
        let h = &hashed.hashes;
        if h.width < 5 || h.height < 5 {
            return None;
        }
        let box_code = |v: &Option<PdqVariants>| v.map(|v| v.dihedral[0]);
        Some(known_with_boxes(
            hashed,
            [box_code(&query.trimmed), box_code(&query.framed)],
            opts,
        ))
    }

    /// Every stored code: the plain PDQ first, then the extras.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::KnownHashes;
    /// # use referral_dedup::{hashes::Hash64, matching::SecondHashes};
    /// let second = SecondHashes { dhash: Hash64(0), phash: Hash64(0) };
    /// let k = KnownHashes { pdq: Pdq([1, 0, 0, 0]), quality: 90, extra: vec![], second };
    /// assert_eq!(k.codes(), vec![Pdq([1, 0, 0, 0])]);
    /// ```
    pub fn codes(&self) -> Vec<Pdq> {
        std::iter::once(self.pdq)
            .chain(self.extra.iter().map(|(_, p)| *p))
            .collect()
    }
}

impl QueryHashes {
    /// Hashes of a query image; `None` when the image is under PDQ's 5-pixel minimum.
    ///
    /// ```
    /// use image::{DynamicImage, RgbImage};
    /// use referral_dedup::matching::{QueryHashes, RobustOptions};
    /// let tiny = DynamicImage::ImageRgb8(RgbImage::new(4, 40));
    /// assert!(QueryHashes::compute(&tiny, &RobustOptions::default()).is_none());
    /// ```
    pub fn compute(image: &DynamicImage, opts: &RobustOptions) -> Option<QueryHashes> {
        QueryHashes::from_hashed(&hashed(image, true), opts)
    }

    /// Hashes of a query from what the media layer already computed for it; needs the dihedral
    /// variants ([`media::HashOptions::dihedral`]) and returns `None` without them or when the
    /// image is under PDQ's 5-pixel minimum.
    ///
    /// ```
    /// use image::{DynamicImage, RgbImage};
    /// use referral_dedup::matching::{QueryHashes, RobustOptions};
    /// use referral_dedup::media::{digest_bytes, hash_image_with_luma, HashOptions};
    /// let img = DynamicImage::ImageRgb8(RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 5 % 256) as u8, (y * 9 % 256) as u8, 7])));
    /// let opts = RobustOptions::default();
    /// let plain = hash_image_with_luma(0, digest_bytes(b""), &img, &HashOptions::default());
    /// assert!(QueryHashes::from_hashed(&plain, &opts).is_none());
    /// let dihedral = HashOptions { dihedral: true, ..HashOptions::default() };
    /// let h = hash_image_with_luma(0, digest_bytes(b""), &img, &dihedral);
    /// assert_eq!(QueryHashes::from_hashed(&h, &opts), QueryHashes::compute(&img, &opts));
    /// ```
    pub fn from_hashed(hashed: &HashedImage, opts: &RobustOptions) -> Option<QueryHashes> {
        let h = &hashed.hashes;
        if h.width < 5 || h.height < 5 {
            return None;
        }
        let mut dihedral = h.pdq_dihedral?;
        dihedral[0] = h.pdq.hash;
        let full = PdqVariants {
            dihedral,
            quality: h.pdq.quality,
        };
        let small = &hashed.reduced;
        let (trimmed_box, framed_box) = boxes(small, &opts.trim);
        let hash_box = |b: Option<TrimBox>| {
            let luma = b.map(|b| small.crop(b.x0, b.y0, b.x1, b.y1));
            let variants = luma.as_ref().and_then(pdq_variants);
            let second = variants.and(luma.as_ref()).map(SecondHashes::of_luma);
            (variants, second)
        };
        let (trimmed, second_trimmed) = hash_box(trimmed_box);
        let (framed, second_framed) = hash_box(framed_box);
        Some(QueryHashes {
            full,
            trimmed,
            second: SecondHashes {
                dhash: h.dhash,
                phash: h.phash,
            },
            second_trimmed,
            framed,
            second_framed,
        })
    }

    /// Every query code: the eight full-image variants, then the eight trimmed ones and the
    /// eight framed ones, if any.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::{PdqVariants, QueryHashes};
    /// let v = PdqVariants { dihedral: [Pdq([0; 4]); 8], quality: 100 };
    /// # use referral_dedup::{hashes::Hash64, matching::SecondHashes};
    /// let second = SecondHashes { dhash: Hash64(0), phash: Hash64(0) };
    /// let q = QueryHashes { full: v, trimmed: Some(v), second, second_trimmed: None, framed: None, second_framed: None };
    /// assert_eq!(q.codes().len(), 16);
    /// ```
    pub fn codes(&self) -> Vec<Pdq> {
        let mut out = self.full.dihedral.to_vec();
        for t in self.trimmed.iter().chain(self.framed.iter()) {
            out.extend_from_slice(&t.dihedral);
        }
        out
    }
}

/// The stored hashes given the trimmed and framed boxes' codes: those, then every configured
/// crop and rotation of the reduced luma.
fn known_with_boxes(
    hashed: &HashedImage,
    [trimmed, framed]: [Option<Pdq>; 2],
    opts: &RobustOptions,
) -> KnownHashes {
    let h = &hashed.hashes;
    let mut extra: Vec<(VariantKind, Pdq)> = [
        (VariantKind::Trimmed, trimmed),
        (VariantKind::Framed, framed),
    ]
    .into_iter()
    .filter_map(|(kind, code)| code.map(|c| (kind, c)))
    .collect();
    for &kind in &opts.known_variants {
        if let Some(v) = variant_image(&hashed.reduced, kind)
            .as_ref()
            .and_then(pdq_plain)
        {
            extra.push((kind, v));
        }
    }
    KnownHashes {
        pdq: h.pdq.hash,
        quality: h.pdq.quality,
        extra,
        second: SecondHashes {
            dhash: h.dhash,
            phash: h.phash,
        },
    }
}

/// The regions of a picture for the content check ([`crate::matching::content`]): the query
/// regions (the whole picture and its trimmed and framed boxes, each with its eight dihedral
/// codes from `query`) and the stored regions (every code of `known`, each with the grid of
/// the picture it was computed from). `query` and `known` must come from `hashed` and `opts`.
///
/// ```
/// use image::{DynamicImage, RgbImage};
/// use referral_dedup::matching::{regions, KnownHashes, QueryHashes, RobustOptions};
/// use referral_dedup::media::{digest_bytes, hash_image_with_luma, HashOptions};
/// let img = DynamicImage::ImageRgb8(RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 5 % 256) as u8, (y * 9 % 256) as u8, 7])));
/// let h = hash_image_with_luma(0, digest_bytes(b""), &img, &HashOptions { dihedral: true, ..HashOptions::default() });
/// let opts = RobustOptions::default();
/// let q = QueryHashes::from_hashed(&h, &opts).unwrap();
/// let k = KnownHashes::from_query(&h, &q, &opts).unwrap();
/// let (query, stored) = regions(&h, Some(&q), Some(&k), &opts);
/// assert_eq!(query.len(), 1); // no borders: the whole picture only
/// assert_eq!(stored.len(), k.codes().len());
/// ```
pub fn regions(
    hashed: &HashedImage,
    query: Option<&QueryHashes>,
    known: Option<&KnownHashes>,
    opts: &RobustOptions,
) -> (Vec<QueryRegion>, Vec<StoredRegion>) {
    let small = &hashed.reduced;
    let Some(full) = LumaGrid::of(small) else {
        return (Vec::new(), Vec::new());
    };
    let (trimmed_box, framed_box) = boxes(small, &opts.trim);
    let box_grid =
        |b: Option<TrimBox>| b.and_then(|b| LumaGrid::of(&small.crop(b.x0, b.y0, b.x1, b.y1)));
    let (trimmed, framed) = (box_grid(trimmed_box), box_grid(framed_box));
    let (w, h) = (small.width().max(1), small.height().max(1));
    // The box in cells of the whole picture's grid (cells it touches).
    let cells = |b: Option<TrimBox>| -> [u8; 4] {
        let g = GRID;
        b.map_or([0, 0, g as u8, g as u8], |b| {
            let lo = |v: usize, n: usize| (v * g / n).min(g) as u8;
            let hi = |v: usize, n: usize| v.saturating_mul(g).div_ceil(n).min(g) as u8;
            [lo(b.x0, w), lo(b.y0, h), hi(b.x1, w), hi(b.y1, h)]
        })
    };
    let mut query_regions = Vec::new();
    if let Some(q) = query {
        query_regions.push(QueryRegion {
            dihedral: q.full.dihedral,
            grid: full,
            cells: cells(None),
        });
        for (codes, grid, cells) in [
            (q.trimmed, trimmed, cells(trimmed_box)),
            (q.framed, framed, cells(framed_box)),
        ] {
            if let (Some(codes), Some(grid)) = (codes, grid) {
                query_regions.push(QueryRegion {
                    dihedral: codes.dihedral,
                    grid,
                    cells,
                });
            }
        }
    }
    let mut stored = Vec::new();
    if let Some(k) = known {
        stored.push(StoredRegion {
            code: k.pdq,
            grid: full,
        });
        for &(kind, code) in &k.extra {
            let grid = match kind {
                VariantKind::Trimmed => trimmed,
                VariantKind::Framed => framed,
                other => variant_image(small, other).as_ref().and_then(LumaGrid::of),
            };
            if let Some(grid) = grid {
                stored.push(StoredRegion { code, grid });
            }
        }
    }
    (query_regions, stored)
}

/// The trimmed box and, when it differs, the framed box of a reduced luma.
fn boxes(small: &LumaImage, opts: &TrimOptions) -> (Option<TrimBox>, Option<TrimBox>) {
    let trimmed = trim_box(small, opts);
    let framed = frame_box(small, opts).filter(|f| Some(*f) != trimmed);
    (trimmed, framed)
}

/// The media layer's hashes and reduced luma of an image (digests left empty: unused here).
fn hashed(image: &DynamicImage, dihedral: bool) -> HashedImage {
    let opts = media::HashOptions {
        dihedral,
        ..media::HashOptions::default()
    };
    media::hash_image_with_luma(0, media::digest_bytes(b""), image, &opts)
}

/// Plain PDQ of a luma image; `None` when a side is under 5 pixels.
fn pdq_plain(luma: &LumaImage) -> Option<Pdq> {
    (luma.width() >= 5 && luma.height() >= 5)
        .then(|| media::pdq_from_luma(luma.pixels(), luma.width(), luma.height()).hash)
}

/// The picture a stored variant is hashed from, cut from the reduced luma.
fn variant_image(small: &LumaImage, kind: VariantKind) -> Option<LumaImage> {
    let (w, h) = (small.width(), small.height());
    match kind {
        VariantKind::Trimmed | VariantKind::Framed => None,
        VariantKind::Crop {
            keep_permille,
            anchor,
        } => {
            let keep = f32::from(keep_permille.min(1000)) / 1000.0;
            let (cw, ch) = (
                (w as f32 * keep).round() as usize,
                (h as f32 * keep).round() as usize,
            );
            let place = |free: usize, a: u8| match a {
                0 => 0,
                1 => free / 2,
                _ => free,
            };
            let (x0, y0) = (place(w - cw, anchor.0), place(h - ch, anchor.1));
            Some(small.crop(x0, y0, x0 + cw, y0 + ch))
        }
        VariantKind::Rotated { decidegrees, inner } => {
            let deg = f32::from(decidegrees) / 10.0;
            if !inner {
                return Some(small.rotated(deg, 0.0));
            }
            let rotated = small.rotated(deg, mean(small.pixels()));
            // Keep the centre that the rotation leaves filled: shrink each side by
            // |sin| of the angle times the other side.
            let s = deg.to_radians().sin().abs();
            let (dx, dy) = (
                (h as f32 * s).ceil() as usize,
                (w as f32 * s).ceil() as usize,
            );
            if 2 * dx >= w || 2 * dy >= h {
                return None;
            }
            Some(rotated.crop(dx, dy, w - dx, h - dy))
        }
    }
}

fn mean(px: &[f32]) -> f32 {
    if px.is_empty() {
        0.0
    } else {
        px.iter().sum::<f32>() / px.len() as f32
    }
}
