//! Match-quality harness: how many edited re-uploads each matching method catches, and how many
//! unrelated pictures it wrongly matches.
//!
//! Originals are photo-like scenes the harness generates plus scikit-image's bundled photographs
//! (exported at run time by `benches/peers/export_skimage.py`, never committed). Every original
//! gets each listed edit (JPEG quality, resizes, crops, borders, letterbox/pillarbox, watermark,
//! tone changes, greyscale, mirror, rotations, screenshot framing, and pairs of them); each copy
//! is re-encoded as a JPEG, decoded and hashed like any upload. The distractors are other
//! pictures: further generated scenes and small tiles (at most half of each side) of the photos.
//!
//! Run (one command, from the repository root):
//! ```text
//! PEERS_VENV=/work/peers-venv cargo run --release --example match_quality
//! ```
//! Options: `--quick` (small generated-only run, used by the CI test), `--photos DIR` (PNG
//! photographs instead of exporting scikit-image's), `--distractors N`, `--generated N`,
//! `--json FILE`, `--dump-pairs FILE` (near pairs for threshold analysis).
//!
//! Image edits that need rotation by an arbitrary angle and glyph-like text are drawn here by
//! hand (a dozen lines each) rather than pulling in `imageproc` and its linear-algebra stack for
//! one example.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageEncoder, Rgb, RgbImage};
use rayon::prelude::*;
use referral_dedup::engine::{Engine, EngineConfig, Referral};
use referral_dedup::hashes::{Hash64, Pdq};
use referral_dedup::matching::{KnownHashes, MatchRule, QueryHashes, RobustOptions, VariantKind};
use referral_dedup::media;
use referral_dedup::store::EntrySource;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Small generated-only run.
    pub quick: bool,
    /// Directory of PNG photographs used as originals (and cut into distractor tiles).
    pub photos: Option<PathBuf>,
    /// Number of generated originals.
    pub generated: usize,
    /// Number of distractors.
    pub distractors: usize,
    /// Longest side range of generated scenes.
    pub scene_size: (u32, u32),
    /// Seed for everything random.
    pub seed: u64,
    /// Write near pairs (any method's distance under a loose bound) as JSON lines here.
    pub dump_pairs: Option<PathBuf>,
    /// Also measure hashing time.
    pub timing: bool,
    /// Store many candidate variants (crops at several sizes and places, rotations) so that
    /// `--dump-pairs` shows which ones earn their keep.
    pub diag: bool,
}

impl Config {
    /// The default (full) run.
    pub fn full() -> Config {
        Config {
            quick: false,
            photos: None,
            generated: 100,
            distractors: 5000,
            scene_size: (360, 720),
            seed: 6,
            dump_pairs: None,
            timing: true,
            diag: false,
        }
    }

    /// The small CI run: generated images only.
    pub fn quick() -> Config {
        Config {
            quick: true,
            photos: None,
            generated: 10,
            distractors: 200,
            scene_size: (160, 256),
            seed: 6,
            dump_pairs: None,
            timing: false,
            diag: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness (splitmix64: deterministic across platforms and crate versions).

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f32()
    }
    pub fn below(&mut self, n: u32) -> u32 {
        (self.next_u64() % u64::from(n.max(1))) as u32
    }
    pub fn colour(&mut self) -> [f32; 3] {
        [
            self.range(0.0, 255.0),
            self.range(0.0, 255.0),
            self.range(0.0, 255.0),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// Generated photo-like scenes.

/// A structured synthetic scene: two-part gradient background with a tilted horizon, a noise
/// texture, and shaded shapes (discs, boxes with windows, mountains, poles).
pub fn scene(seed: u64, size: (u32, u32)) -> RgbImage {
    let mut r = Rng::new(seed);
    let long = size.0 + r.below(size.1 - size.0 + 1);
    let short = (long as f32 * r.range(0.55, 1.0)) as u32;
    let (w, h) = if r.below(3) == 0 {
        (short, long)
    } else {
        (long, short)
    };
    let (wf, hf) = (w as f32, h as f32);
    let (sky0, sky1, gr0, gr1) = (r.colour(), r.colour(), r.colour(), r.colour());
    let horizon = r.range(0.2, 0.85) * hf;
    let tilt = r.range(-0.3, 0.3);
    // Value noise: random grids at two scales, bilinearly interpolated.
    let octaves: Vec<(f32, usize, Vec<f32>)> = [r.range(12.0, 40.0), r.range(4.0, 12.0)]
        .into_iter()
        .map(|cell| {
            let gw = (wf / cell) as usize + 2;
            let gh = (hf / cell) as usize + 2;
            (cell, gw, (0..gw * gh).map(|_| r.range(-1.0, 1.0)).collect())
        })
        .collect();
    let amp = [r.range(8.0, 40.0), r.range(4.0, 16.0)];
    let mut px = vec![[0f32; 3]; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let (xf, yf) = (x as f32, y as f32);
            let hz = horizon + tilt * (xf - wf / 2.0);
            let c = if yf < hz {
                lerp3(sky0, sky1, yf / hz.max(1.0))
            } else {
                lerp3(gr0, gr1, (yf - hz) / (hf - hz).max(1.0))
            };
            let mut n = 0.0;
            for (k, (cell, gw, g)) in octaves.iter().enumerate() {
                let (gx, gy) = (xf / cell, yf / cell);
                let (ix, iy) = (gx as usize, gy as usize);
                let (fx, fy) = (gx - ix as f32, gy - iy as f32);
                let v = |a: usize, b: usize| g[b * gw + a];
                let top = v(ix, iy) * (1.0 - fx) + v(ix + 1, iy) * fx;
                let bot = v(ix, iy + 1) * (1.0 - fx) + v(ix + 1, iy + 1) * fx;
                n += amp[k] * (top * (1.0 - fy) + bot * fy);
            }
            px[(y * w + x) as usize] = [c[0] + n, c[1] + n, c[2] + n];
        }
    }
    let shapes = 4 + r.below(10);
    for _ in 0..shapes {
        let col = r.colour();
        let shade = r.range(-60.0, 60.0);
        match r.below(4) {
            0 => {
                let (cx, cy) = (r.range(0.0, wf), r.range(0.0, hf));
                let (rx, ry) = (r.range(0.03, 0.25) * wf, r.range(0.03, 0.25) * hf);
                fill(&mut px, w, h, |x, y| {
                    let d = ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2);
                    (d <= 1.0).then(|| add3(col, shade * d))
                });
            }
            1 => {
                let (x0, y0) = (r.range(0.0, wf * 0.9), r.range(0.0, hf * 0.9));
                let (bw, bh) = (r.range(0.05, 0.35) * wf, r.range(0.05, 0.5) * hf);
                let windows = r.below(2) == 0;
                let wc = r.colour();
                fill(&mut px, w, h, |x, y| {
                    if x < x0 || y < y0 || x > x0 + bw || y > y0 + bh {
                        return None;
                    }
                    let (u, v) = ((x - x0) / bw, (y - y0) / bh);
                    if windows && (u * 6.0).fract() > 0.55 && (v * 8.0).fract() > 0.5 {
                        Some(wc)
                    } else {
                        Some(add3(col, shade * u))
                    }
                });
            }
            2 => {
                let (bx, peak) = (r.range(-0.2, 1.0) * wf, r.range(0.1, 0.8) * hf);
                let half = r.range(0.1, 0.4) * wf;
                let base = r.range(0.6, 1.1) * hf;
                fill(&mut px, w, h, |x, y| {
                    let cx = bx + half;
                    let t = (y - peak) / (base - peak);
                    ((0.0..=1.0).contains(&t) && (x - cx).abs() <= t * half)
                        .then(|| add3(col, shade * (x - cx) / half))
                });
            }
            _ => {
                let (x0, thick) = (r.range(0.0, wf), r.range(0.005, 0.03) * wf);
                let slope = r.range(-0.5, 0.5);
                let (top, bottom) = (r.range(0.0, 0.5) * hf, r.range(0.5, 1.0) * hf);
                fill(&mut px, w, h, |x, y| {
                    let cx = x0 + slope * (y - top);
                    ((x - cx).abs() <= thick && y >= top && y <= bottom).then_some(col)
                });
            }
        }
    }
    RgbImage::from_fn(w, h, |x, y| {
        let p = px[(y * w + x) as usize];
        let noise = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40503) ^ seed as u32) % 9)
            as f32
            - 4.0;
        Rgb([
            clamp8(p[0] + noise),
            clamp8(p[1] + noise),
            clamp8(p[2] + noise),
        ])
    })
}

fn fill(px: &mut [[f32; 3]], w: u32, h: u32, f: impl Fn(f32, f32) -> Option<[f32; 3]>) {
    for y in 0..h {
        for x in 0..w {
            if let Some(c) = f(x as f32, y as f32) {
                px[(y * w + x) as usize] = c;
            }
        }
    }
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn add3(a: [f32; 3], d: f32) -> [f32; 3] {
    [a[0] + d, a[1] + d, a[2] + d]
}

pub fn clamp8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

// ---------------------------------------------------------------------------------------------
// Photographs.

pub fn load_photos(dir: &Path) -> Vec<(String, RgbImage)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "png"));
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let img = image::open(&p).ok()?.to_rgb8();
            let name = p.file_stem()?.to_string_lossy().into_owned();
            Some((format!("photo:{name}"), img))
        })
        .collect()
}

/// Exports scikit-image's photographs into `target/match_quality/skimage` with the peer
/// venv's python; `None` (with a notice) when python or scikit-image is not available.
pub fn export_skimage() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/match_quality/skimage");
    if out.join("astronaut.png").exists() {
        return Some(out);
    }
    let setup = root.join("benches/peers/setup.sh");
    let python = std::process::Command::new("bash")
        .arg(&setup)
        .output()
        .ok()?;
    let python = String::from_utf8(python.stdout).ok()?.trim().to_string();
    let status = std::process::Command::new(&python)
        .arg(root.join("benches/peers/export_skimage.py"))
        .arg(&out)
        .status()
        .ok()?;
    status.success().then_some(out)
}

/// A distractor tile: a crop of a photo keeping at most half of each side (a quarter of the
/// area or less), resized to a plausible upload size. A picture that small a part of another
/// is a different picture; the edits the harness expects to match crop at most 10%.
fn photo_tile(photo: &RgbImage, r: &mut Rng) -> RgbImage {
    let (w, h) = photo.dimensions();
    let tw = ((w as f32 * r.range(0.18, 0.5)) as u32).max(16);
    let th = ((h as f32 * r.range(0.18, 0.5)) as u32).max(16);
    let x = r.below(w - tw + 1);
    let y = r.below(h - th + 1);
    let tile = imageops::crop_imm(photo, x, y, tw, th).to_image();
    let target = r.range(200.0, 600.0) / tw.max(th) as f32;
    imageops::resize(
        &tile,
        (tw as f32 * target) as u32,
        (th as f32 * target) as u32,
        FilterType::Triangle,
    )
}

// ---------------------------------------------------------------------------------------------
// Edits.

/// One edit a re-uploader makes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Edit {
    Jpeg(u8),
    Resize(f32),
    /// Keep `1 - f` of each side, at a random position.
    Crop(f32),
    Border([u8; 3]),
    /// Fit into a canvas of this aspect (w, h) with black bars.
    Pad(u32, u32),
    Watermark,
    Brightness(i32),
    Contrast(f32),
    Gamma(f32),
    Grey,
    Mirror,
    Rot90,
    Rot180,
    Rot270,
    /// Degrees counter-clockwise, same canvas, black corners.
    Rotate(f32),
    Screenshot,
}

impl Edit {
    fn name(self) -> String {
        match self {
            Edit::Jpeg(q) => format!("jpeg_q{q}"),
            Edit::Resize(s) => format!("resize_{}", (s * 100.0).round()),
            Edit::Crop(f) => format!("crop_{}", (f * 100.0).round()),
            Edit::Border(c) if c[0] == 0 => "border_black".into(),
            Edit::Border(_) => "border_white".into(),
            Edit::Pad(a, b) => format!("pad_{a}x{b}"),
            Edit::Watermark => "watermark".into(),
            Edit::Brightness(d) => format!("brightness_{d:+}"),
            Edit::Contrast(c) => format!("contrast_{c}"),
            Edit::Gamma(g) => format!("gamma_{g}"),
            Edit::Grey => "greyscale".into(),
            Edit::Mirror => "mirror".into(),
            Edit::Rot90 => "rot90".into(),
            Edit::Rot180 => "rot180".into(),
            Edit::Rot270 => "rot270".into(),
            Edit::Rotate(d) => format!("rotate_{d:+}"),
            Edit::Screenshot => "screenshot".into(),
        }
    }

    /// Applies the edit; returns the image and the JPEG quality it is uploaded at.
    pub fn apply(self, img: &RgbImage, r: &mut Rng) -> (RgbImage, u8) {
        let (w, h) = img.dimensions();
        let out = match self {
            Edit::Jpeg(q) => return (img.clone(), q),
            Edit::Resize(s) => {
                let (nw, nh) = (
                    ((w as f32 * s) as u32).max(8),
                    ((h as f32 * s) as u32).max(8),
                );
                let filter = if s < 1.0 {
                    FilterType::Triangle
                } else {
                    FilterType::CatmullRom
                };
                imageops::resize(img, nw, nh, filter)
            }
            Edit::Crop(f) => {
                let (cw, ch) = ((w as f32 * (1.0 - f)) as u32, (h as f32 * (1.0 - f)) as u32);
                let (x, y) = (r.below(w - cw + 1), r.below(h - ch + 1));
                imageops::crop_imm(img, x, y, cw, ch).to_image()
            }
            Edit::Border(c) => {
                let b = (w.min(h) as f32 * 0.06) as u32;
                let mut canvas = RgbImage::from_pixel(w + 2 * b, h + 2 * b, Rgb(c));
                imageops::replace(&mut canvas, img, i64::from(b), i64::from(b));
                canvas
            }
            Edit::Pad(aw, ah) => {
                // Fit into a 960-pixel-long canvas of the given aspect, bars black.
                let (cw, ch) = if aw >= ah {
                    (960, 960 * ah / aw)
                } else {
                    (960 * aw / ah, 960)
                };
                let s = (cw as f32 / w as f32).min(ch as f32 / h as f32);
                let (nw, nh) = (
                    ((w as f32 * s) as u32).max(1),
                    ((h as f32 * s) as u32).max(1),
                );
                let scaled = imageops::resize(img, nw, nh, FilterType::Triangle);
                let mut canvas = RgbImage::from_pixel(cw, ch, Rgb([0, 0, 0]));
                imageops::replace(
                    &mut canvas,
                    &scaled,
                    i64::from((cw - nw) / 2),
                    i64::from((ch - nh) / 2),
                );
                canvas
            }
            Edit::Watermark => {
                let mut out = img.clone();
                let gh = (h as f32 * 0.07).max(6.0);
                draw_text(
                    &mut out,
                    w as f32 * 0.05,
                    h as f32 * 0.88 - gh,
                    gh,
                    14,
                    r,
                    [255, 255, 255],
                );
                // A translucent logo in the top-right corner.
                let side = (w.min(h) as f32 * 0.15) as u32;
                let (x0, y0) = (w - side - w / 30, h / 30);
                for y in y0..(y0 + side).min(h) {
                    for x in x0..(x0 + side).min(w) {
                        let p = out.get_pixel_mut(x, y);
                        for c in p.0.iter_mut() {
                            *c = ((u16::from(*c) + 255) / 2) as u8;
                        }
                    }
                }
                out
            }
            Edit::Brightness(d) => imageops::brighten(img, d),
            Edit::Contrast(c) => imageops::contrast(img, c),
            Edit::Gamma(g) => {
                let lut: Vec<u8> = (0..256)
                    .map(|v| clamp8(255.0 * (v as f32 / 255.0).powf(g)))
                    .collect();
                RgbImage::from_fn(w, h, |x, y| {
                    let p = img.get_pixel(x, y).0;
                    Rgb([lut[p[0] as usize], lut[p[1] as usize], lut[p[2] as usize]])
                })
            }
            Edit::Grey => DynamicImage::ImageLuma8(imageops::grayscale(img)).to_rgb8(),
            Edit::Mirror => imageops::flip_horizontal(img),
            Edit::Rot90 => imageops::rotate90(img),
            Edit::Rot180 => imageops::rotate180(img),
            Edit::Rot270 => imageops::rotate270(img),
            Edit::Rotate(d) => rotate_rgb(img, d),
            Edit::Screenshot => screenshot(img, r),
        };
        (out, 85)
    }
}

/// The edits measured, single and in pairs.
pub fn edits() -> Vec<Vec<Edit>> {
    let singles = [
        Edit::Jpeg(20),
        Edit::Jpeg(50),
        Edit::Resize(0.25),
        Edit::Resize(0.5),
        Edit::Resize(1.5),
        Edit::Crop(0.05),
        Edit::Crop(0.10),
        Edit::Border([0, 0, 0]),
        Edit::Border([255, 255, 255]),
        Edit::Pad(16, 9),
        Edit::Pad(9, 16),
        Edit::Watermark,
        Edit::Brightness(40),
        Edit::Contrast(30.0),
        Edit::Gamma(0.6),
        Edit::Grey,
        Edit::Mirror,
        Edit::Rot90,
        Edit::Rot180,
        Edit::Rot270,
        Edit::Rotate(3.0),
        Edit::Rotate(-3.0),
        Edit::Screenshot,
    ];
    let pairs = [
        [Edit::Crop(0.05), Edit::Jpeg(50)],
        [Edit::Mirror, Edit::Border([0, 0, 0])],
        [Edit::Pad(16, 9), Edit::Watermark],
        [Edit::Rot90, Edit::Resize(0.5)],
        [Edit::Grey, Edit::Crop(0.10)],
        [Edit::Rotate(3.0), Edit::Jpeg(50)],
        [Edit::Brightness(40), Edit::Pad(9, 16)],
        [Edit::Mirror, Edit::Screenshot],
    ];
    singles
        .iter()
        .map(|&e| vec![e])
        .chain(pairs.iter().map(|p| p.to_vec()))
        .collect()
}

fn edit_name(chain: &[Edit]) -> String {
    chain.iter().map(|e| e.name()).collect::<Vec<_>>().join("+")
}

fn rotate_rgb(img: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let sx = c * dx + s * dy + cx;
        let sy = -s * dx + c * dy + cy;
        if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
            return Rgb([0, 0, 0]);
        }
        let (x0, y0) = (sx as u32, sy as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let mut out = [0u8; 3];
        for (k, o) in out.iter_mut().enumerate() {
            let p = |a: u32, b: u32| f32::from(img.get_pixel(a, b).0[k]);
            let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
            let bot = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
            *o = clamp8(top * (1.0 - fy) + bot * fy);
        }
        Rgb(out)
    })
}

/// Glyph-like text: each glyph is 2 to 4 strokes on a 3x5 grid, light with a dark shadow.
pub fn draw_text(
    img: &mut RgbImage,
    x0: f32,
    y0: f32,
    gh: f32,
    glyphs: u32,
    r: &mut Rng,
    colour: [u8; 3],
) {
    let gw = gh * 0.6;
    let t = (gh / 8.0).max(1.0);
    let segments: [(f32, f32, f32, f32); 7] = [
        (0.0, 0.0, 1.0, 0.0),
        (0.0, 0.5, 1.0, 0.5),
        (0.0, 1.0, 1.0, 1.0),
        (0.0, 0.0, 0.0, 1.0),
        (1.0, 0.0, 1.0, 1.0),
        (0.0, 0.0, 1.0, 1.0),
        (0.5, 0.0, 0.5, 1.0),
    ];
    for g in 0..glyphs {
        let gx = x0 + g as f32 * gw * 1.35;
        let strokes = 2 + r.below(3);
        for _ in 0..strokes {
            let (ax, ay, bx, by) = segments[r.below(7) as usize];
            for (off, col) in [(t * 0.7, [20, 20, 20]), (0.0, colour)] {
                let (p0, p1) = (
                    (gx + ax * gw + off, y0 + ay * gh + off),
                    (gx + bx * gw + off, y0 + by * gh + off),
                );
                stroke(img, p0, p1, t, col);
            }
        }
    }
}

fn stroke(img: &mut RgbImage, a: (f32, f32), b: (f32, f32), t: f32, colour: [u8; 3]) {
    let (w, h) = img.dimensions();
    let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt().max(1.0);
    let steps = (len * 2.0) as u32 + 1;
    for s in 0..=steps {
        let f = s as f32 / steps as f32;
        let (cx, cy) = (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f);
        let half = t / 2.0;
        for y in (cy - half).max(0.0) as u32..((cy + half).ceil() as u32).min(h) {
            for x in (cx - half).max(0.0) as u32..((cx + half).ceil() as u32).min(w) {
                img.put_pixel(x, y, Rgb(colour));
            }
        }
    }
}

/// A phone-screenshot look: the picture scaled to 75% on a light page under a dark status bar,
/// with caption lines beneath.
fn screenshot(img: &RgbImage, r: &mut Rng) -> RgbImage {
    let (w, h) = img.dimensions();
    let (sw, sh) = (((w as f32) * 0.75) as u32, ((h as f32) * 0.75) as u32);
    let scaled = imageops::resize(img, sw.max(8), sh.max(8), FilterType::Triangle);
    let bar = (h as f32 * 0.06) as u32 + 4;
    let gap = (h as f32 * 0.04) as u32 + 2;
    let caption = (h as f32 * 0.22) as u32 + 10;
    let (cw, ch) = (w, bar + gap + sh + caption);
    let mut canvas = RgbImage::from_pixel(cw, ch, Rgb([244, 244, 246]));
    for y in 0..bar {
        for x in 0..cw {
            canvas.put_pixel(x, y, Rgb([28, 28, 30]));
        }
    }
    let gh = bar as f32 * 0.5;
    draw_text(
        &mut canvas,
        cw as f32 * 0.04,
        bar as f32 * 0.25,
        gh,
        5,
        r,
        [235, 235, 235],
    );
    imageops::replace(
        &mut canvas,
        &scaled,
        i64::from((cw - sw) / 2),
        i64::from(bar + gap),
    );
    let line_h = (caption as f32 / 5.0).max(4.0);
    for l in 0..3 {
        let y = (bar + gap + sh) as f32 + line_h * (0.6 + 1.3 * l as f32);
        let glyphs = 8 + r.below(10);
        draw_text(
            &mut canvas,
            cw as f32 * 0.12,
            y,
            line_h * 0.7,
            glyphs,
            r,
            [90, 90, 96],
        );
    }
    canvas
}

/// JPEG bytes of an image.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encoding an in-memory RGB image");
    out
}

pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encoding an in-memory RGB image");
    out
}

// ---------------------------------------------------------------------------------------------
// Hashing, the way an upload is hashed: bytes in, decode, hashes.

/// Decodes upload bytes.
pub fn decode(bytes: &[u8]) -> Option<DynamicImage> {
    media::decode(bytes, &media::HashOptions::default()).ok()
}

/// Hashes of an original as the index stores them.
#[derive(Debug, Clone)]
struct Stored {
    name: String,
    robust: KnownHashes,
    dhash: Hash64,
    phash: Hash64,
}

/// Hashes of an upload.
#[derive(Debug, Clone)]
struct Query {
    robust: QueryHashes,
    dhash: Hash64,
    phash: Hash64,
}

fn stored(name: String, bytes: &[u8], opts: &RobustOptions) -> Option<Stored> {
    let img = decode(bytes)?;
    Some(Stored {
        name,
        robust: KnownHashes::compute(&img, opts)?,
        dhash: media::dhash(&img),
        phash: media::phash(&img),
    })
}

fn query(bytes: &[u8], opts: &RobustOptions) -> Option<Query> {
    let img = decode(bytes)?;
    Some(Query {
        robust: QueryHashes::compute(&img, opts)?,
        dhash: media::dhash(&img),
        phash: media::phash(&img),
    })
}

// ---------------------------------------------------------------------------------------------
// Methods compared.

/// Thresholds of the baselines: PDQ's reference 31; 10 of 64 bits for dHash and pHash (the
/// usual `imagehash` cut-off).
const PDQ_RADIUS: u32 = 31;
const HASH64_RADIUS: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Pdq,
    PdqDihedral,
    DHash,
    PHash,
    Improved,
}

const METHODS: [Method; 5] = [
    Method::Pdq,
    Method::PdqDihedral,
    Method::DHash,
    Method::PHash,
    Method::Improved,
];

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Pdq => "pdq",
            Method::PdqDihedral => "pdq_dihedral",
            Method::DHash => "dhash",
            Method::PHash => "phash",
            Method::Improved => "improved",
        }
    }

    fn matches(self, q: &Query, s: &Stored, rule: &MatchRule) -> bool {
        match self {
            Method::Pdq => q.robust.full.dihedral[0].distance(&s.robust.pdq) <= PDQ_RADIUS,
            Method::PdqDihedral => q
                .robust
                .full
                .dihedral
                .iter()
                .any(|p| p.distance(&s.robust.pdq) <= PDQ_RADIUS),
            Method::DHash => q.dhash.distance(&s.dhash) <= HASH64_RADIUS,
            Method::PHash => q.phash.distance(&s.phash) <= HASH64_RADIUS,
            Method::Improved => rule.decide(&q.robust, &s.robust).is_some(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run.

/// Recall of one edit under each method.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EditRow {
    /// Edit name (pairs joined by `+`).
    pub edit: String,
    /// Copies hashed.
    pub copies: usize,
    /// Recall per method name.
    pub recall: BTreeMap<String, f64>,
}

/// Everything the harness measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Originals indexed.
    pub originals: usize,
    /// Of which photographs.
    pub photos: usize,
    /// Distractors matched against the originals.
    pub distractors: usize,
    /// Per-edit recall.
    pub edits: Vec<EditRow>,
    /// Recall over all copies, per method.
    pub overall_recall: BTreeMap<String, f64>,
    /// Lowest per-edit recall, per method.
    pub min_edit_recall: BTreeMap<String, f64>,
    /// Distractors that matched any original, per method.
    pub false_matches: BTreeMap<String, usize>,
    /// Copies that matched an original other than their own, per method.
    pub wrong_matches: BTreeMap<String, usize>,
    /// Mean hashing time per upload in ms (decode + hashes, one thread), when measured.
    pub timing_ms: BTreeMap<String, f64>,
}

fn parse_args() -> (Config, Option<PathBuf>) {
    let args = std::env::args().skip(1);
    let mut cfg = Config::full();
    let mut json = None;
    let mut rest = Vec::new();
    for a in args {
        match a.as_str() {
            "--quick" => {
                let keep = cfg.photos.take();
                cfg = Config::quick();
                cfg.photos = keep;
            }
            _ => rest.push(a),
        }
    }
    let mut it = rest.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--photos" => cfg.photos = Some(PathBuf::from(value())),
            "--distractors" => cfg.distractors = value().parse().expect("--distractors N"),
            "--generated" => cfg.generated = value().parse().expect("--generated N"),
            "--seed" => cfg.seed = value().parse().expect("--seed N"),
            "--json" => json = Some(PathBuf::from(value())),
            "--dump-pairs" => cfg.dump_pairs = Some(PathBuf::from(value())),
            "--no-timing" => cfg.timing = false,
            "--diag" => cfg.diag = true,
            other => panic!("unknown argument {other}"),
        }
    }
    (cfg, json)
}

#[allow(dead_code)]
fn main() {
    let (mut cfg, json) = parse_args();
    if cfg.photos.is_none() && !cfg.quick {
        cfg.photos = export_skimage();
        if cfg.photos.is_none() {
            eprintln!(
                "notice: scikit-image photos unavailable (set PEERS_VENV); generated images only"
            );
        }
    }
    let started = Instant::now();
    let opts = if cfg.diag {
        diagnostic_options()
    } else {
        RobustOptions::default()
    };
    let report = run(&cfg, &MatchRule::harness(), &opts);
    print_table(&report);
    let text = serde_json::to_string_pretty(&report).expect("report serialises");
    println!("{text}");
    if let Some(path) = json {
        std::fs::write(&path, &text).expect("writing --json file");
    }
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
}

/// Candidate stored variants for threshold analysis (`--diag`).
fn diagnostic_options() -> RobustOptions {
    let mut known_variants = Vec::new();
    for keep_permille in [950, 900, 850] {
        for anchor in [(1, 1), (0, 0), (2, 2), (0, 2), (2, 0)] {
            known_variants.push(VariantKind::Crop {
                keep_permille,
                anchor,
            });
        }
    }
    for decidegrees in [-40, -30, -20, 20, 30, 40] {
        for inner in [false, true] {
            known_variants.push(VariantKind::Rotated { decidegrees, inner });
        }
    }
    RobustOptions {
        known_variants,
        ..RobustOptions::default()
    }
}

/// Builds the originals, copies and distractors, hashes them, and measures every method.
/// Adds one method's per-copy outcomes `(edit, own original found, other original found)`
/// and its distractor false matches to the report.
fn record_method(
    report: &mut Report,
    name: &str,
    chains: &[Vec<Edit>],
    per_copy: &[(usize, bool, bool)],
    false_matches: usize,
) {
    let mut hits = vec![(0usize, 0usize); chains.len()];
    for &(e, hit, _) in per_copy {
        hits[e].1 += 1;
        hits[e].0 += usize::from(hit);
    }
    let total: usize = hits.iter().map(|h| h.1).sum();
    let caught: usize = hits.iter().map(|h| h.0).sum();
    report
        .overall_recall
        .insert(name.into(), caught as f64 / total.max(1) as f64);
    report.false_matches.insert(name.into(), false_matches);
    report
        .wrong_matches
        .insert(name.into(), per_copy.iter().filter(|c| c.2).count());
    for (e, &(c, n)) in hits.iter().enumerate() {
        if report.edits.len() <= e {
            report.edits.push(EditRow {
                edit: edit_name(&chains[e]),
                copies: n,
                recall: BTreeMap::new(),
            });
        }
        report.edits[e]
            .recall
            .insert(name.into(), c as f64 / n.max(1) as f64);
    }
    let min = report
        .edits
        .iter()
        .map(|r| r.recall[name])
        .fold(1.0, f64::min);
    report.min_edit_recall.insert(name.into(), min);
}

/// Checks an upload with the engine: `(matched the named original, matched another one)`.
fn engine_hits(engine: &Engine, bytes: &[u8], own: &str) -> (bool, bool) {
    let verdict = engine
        .check(&Referral::new("upload").with_media_bytes(bytes.to_vec()))
        .expect("in-memory check of bytes cannot fail");
    let known = verdict
        .evidence
        .iter()
        .filter(|m| m.source == EntrySource::Known);
    let (mut hit, mut other) = (false, false);
    for m in known {
        if m.external_id == own {
            hit = true;
        } else {
            other = true;
            eprintln!(
                "engine: {} matched {} ({:?} {:?}, distance {}, confirmed by {:?})",
                if own.is_empty() { "a distractor" } else { own },
                m.external_id,
                m.kind,
                m.tier,
                m.distance,
                m.confirmed_by
            );
        }
    }
    (hit, other)
}

pub fn run(cfg: &Config, rule: &MatchRule, opts: &RobustOptions) -> Report {
    let t0 = Instant::now();
    let photos = cfg.photos.as_deref().map(load_photos).unwrap_or_default();
    let mut originals: Vec<(String, RgbImage)> = photos.clone();
    originals.extend((0..cfg.generated as u64).map(|i| {
        (
            format!("scene:{i}"),
            scene(cfg.seed * 1_000_003 + i, cfg.scene_size),
        )
    }));
    let stored_all: Vec<Stored> = originals
        .par_iter()
        .filter_map(|(name, img)| stored(name.clone(), &png(img), opts))
        .collect();
    let engine = Engine::in_memory(EngineConfig {
        robust: opts.clone(),
        ..EngineConfig::default()
    })
    .expect("default engine configuration is valid");
    for (name, img) in &originals {
        engine
            .add_known_media(&png(img), name, None)
            .expect("in-memory add cannot fail");
    }
    eprintln!(
        "{} originals hashed in {:.1} s",
        stored_all.len(),
        t0.elapsed().as_secs_f64()
    );

    let chains = edits();
    // Copies: (edit index, original index, query hashes).
    let jobs: Vec<(usize, usize)> = (0..chains.len())
        .flat_map(|e| (0..originals.len()).map(move |o| (e, o)))
        .collect();
    let copies: Vec<(usize, usize, Query, Vec<u8>)> = jobs
        .par_iter()
        .filter_map(|&(e, o)| {
            let mut r = Rng::new(cfg.seed ^ ((e as u64) << 32) ^ o as u64);
            let mut img = originals[o].1.clone();
            let mut quality = 85;
            for edit in &chains[e] {
                let (next, q) = edit.apply(&img, &mut r);
                img = next;
                quality = quality.min(q);
            }
            let bytes = jpeg(&img, quality);
            let q = query(&bytes, opts)?;
            Some((e, o, q, bytes))
        })
        .collect();
    eprintln!(
        "{} copies hashed in {:.1} s",
        copies.len(),
        t0.elapsed().as_secs_f64()
    );

    let n_tiles = if photos.is_empty() {
        0
    } else {
        cfg.distractors / 2
    };
    let checked: Vec<(Query, bool)> = (0..cfg.distractors)
        .into_par_iter()
        .filter_map(|i| {
            let mut r = Rng::new(cfg.seed.wrapping_mul(31) ^ (0xd157 << 40) ^ i as u64);
            let img = if i < n_tiles {
                photo_tile(&photos[r.below(photos.len() as u32) as usize].1, &mut r)
            } else {
                scene(0xd15_7ac7 + cfg.seed * 7_919 + i as u64, cfg.scene_size)
            };
            let bytes = jpeg(&img, 85);
            let (_, any) = engine_hits(&engine, &bytes, "");
            Some((query(&bytes, opts)?, any))
        })
        .collect();
    let distractor_engine_false = checked.iter().filter(|c| c.1).count();
    let distractors: Vec<Query> = checked.into_iter().map(|c| c.0).collect();
    eprintln!(
        "{} distractors hashed in {:.1} s",
        distractors.len(),
        t0.elapsed().as_secs_f64()
    );

    let mut report = Report {
        originals: stored_all.len(),
        photos: photos.len(),
        distractors: distractors.len(),
        edits: Vec::new(),
        overall_recall: BTreeMap::new(),
        min_edit_recall: BTreeMap::new(),
        false_matches: BTreeMap::new(),
        wrong_matches: BTreeMap::new(),
        timing_ms: BTreeMap::new(),
    };
    let name_of = |o: usize| &originals[o].0;
    let index_of: BTreeMap<&str, usize> = stored_all
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    for m in METHODS {
        let per_copy: Vec<(usize, bool, bool)> = copies
            .par_iter()
            .map(|(e, o, q, _)| {
                let own = index_of.get(name_of(*o).as_str()).copied();
                let hit = own.is_some_and(|i| m.matches(q, &stored_all[i], rule));
                let wrong = stored_all
                    .iter()
                    .enumerate()
                    .any(|(i, s)| Some(i) != own && m.matches(q, s, rule));
                (*e, hit, wrong)
            })
            .collect();
        let false_matches = distractors
            .par_iter()
            .filter(|q| stored_all.iter().any(|s| m.matches(q, s, rule)))
            .count();
        record_method(&mut report, m.name(), &chains, &per_copy, false_matches);
    }
    // The same copies and distractors through the engine's default rule (what `refdedup
    // match` and `dedup` apply): the originals added as known content, each upload checked
    // with `Engine::check`, the index doing the search.
    let engine_copies: Vec<(usize, bool, bool)> = copies
        .par_iter()
        .map(|(e, o, _, bytes)| {
            let (own, other) = engine_hits(&engine, bytes, name_of(*o));
            (*e, own, other)
        })
        .collect();
    record_method(
        &mut report,
        "engine",
        &chains,
        &engine_copies,
        distractor_engine_false,
    );
    if let Some(path) = &cfg.dump_pairs {
        dump_pairs(
            path,
            &chains,
            &copies,
            &distractors,
            &stored_all,
            &originals,
        );
    }
    if cfg.timing {
        report.timing_ms = timing(
            &copies
                .iter()
                .take(300)
                .map(|c| c.3.clone())
                .collect::<Vec<_>>(),
            opts,
        );
    }
    report
}

/// Single-thread hashing cost per upload: decode + plain PDQ against decode + the improved
/// query hashes, and the stored (known-item) side.
fn timing(samples: &[Vec<u8>], opts: &RobustOptions) -> BTreeMap<String, f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    pool.install(|| {
        let mut out = BTreeMap::new();
        let per = |f: &dyn Fn(&DynamicImage)| {
            let t = Instant::now();
            for b in samples {
                if let Some(img) = decode(b) {
                    f(&img);
                }
            }
            t.elapsed().as_secs_f64() * 1e3 / samples.len().max(1) as f64
        };
        let plain_opts = RobustOptions {
            known_variants: Vec::new(),
            ..opts.clone()
        };
        out.insert(
            "decode_only".into(),
            per(&|img| {
                std::hint::black_box(img.width());
            }),
        );
        out.insert(
            "decode_pdq".into(),
            per(&|img| {
                std::hint::black_box(media::pdq_from_image(img));
            }),
        );
        out.insert(
            "decode_improved_query".into(),
            per(&|img| {
                std::hint::black_box(QueryHashes::compute(img, opts));
            }),
        );
        out.insert(
            "decode_improved_known".into(),
            per(&|img| {
                std::hint::black_box(KnownHashes::compute(img, opts));
            }),
        );
        out.insert(
            "decode_known_no_extras".into(),
            per(&|img| {
                std::hint::black_box(KnownHashes::compute(img, &plain_opts));
            }),
        );
        out
    })
}

/// Near pairs as JSON lines, for choosing thresholds: every copy against its own original, and
/// every (copy or distractor, other original) pair where some distance is small.
fn dump_pairs(
    path: &Path,
    chains: &[Vec<Edit>],
    copies: &[(usize, usize, Query, Vec<u8>)],
    distractors: &[Query],
    stored_all: &[Stored],
    originals: &[(String, RgbImage)],
) {
    let features = |q: &Query, s: &Stored| -> serde_json::Value {
        let full = &q.robust.full.dihedral;
        let mut qcodes: Vec<Pdq> = full.to_vec();
        if let Some(t) = &q.robust.trimmed {
            qcodes.extend_from_slice(&t.dihedral);
        }
        let min_to =
            |c: &Pdq, codes: &[Pdq]| codes.iter().map(|x| x.distance(c)).min().unwrap_or(256);
        let mut m = serde_json::Map::new();
        m.insert("plain".into(), full[0].distance(&s.robust.pdq).into());
        m.insert("dihedral".into(), min_to(&s.robust.pdq, full).into());
        m.insert("q_all_vs_pdq".into(), min_to(&s.robust.pdq, &qcodes).into());
        for (kind, code) in &s.robust.extra {
            m.insert(kind.to_string(), min_to(code, &qcodes).into());
        }
        m.insert("dhash".into(), q.dhash.distance(&s.dhash).into());
        m.insert("phash".into(), q.phash.distance(&s.phash).into());
        m.insert("q_quality".into(), q.robust.full.quality.into());
        m.insert("s_quality".into(), s.robust.quality.into());
        m.insert("q_trimmed".into(), q.robust.trimmed.is_some().into());
        serde_json::Value::Object(m)
    };
    let near = |v: &serde_json::Value| {
        let o = v.as_object().expect("object");
        o.iter().any(|(k, x)| match k.as_str() {
            "dhash" | "phash" => x.as_u64().is_some_and(|d| d <= 14),
            "q_quality" | "s_quality" | "q_trimmed" => false,
            _ => x.as_u64().is_some_and(|d| d <= 70),
        })
    };
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(path).expect("creating --dump-pairs file"));
    let index_of: BTreeMap<&str, usize> = stored_all
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    for (e, o, q, _) in copies {
        let own = index_of.get(originals[*o].0.as_str()).copied();
        for (i, s) in stored_all.iter().enumerate() {
            let f = features(q, s);
            let genuine = Some(i) == own;
            if genuine || near(&f) {
                let line = serde_json::json!({"kind": if genuine {"genuine"} else {"wrong"}, "edit": edit_name(&chains[*e]), "original": s.name, "f": f});
                writeln!(out, "{line}").expect("writing pairs");
            }
        }
    }
    for (d, q) in distractors.iter().enumerate() {
        for s in stored_all {
            let f = features(q, s);
            if near(&f) {
                let line = serde_json::json!({"kind": "distractor", "distractor": d, "original": s.name, "f": f});
                writeln!(out, "{line}").expect("writing pairs");
            }
        }
    }
}

/// Table columns: the brute-force methods, then the engine.
fn column_names() -> impl Iterator<Item = &'static str> {
    METHODS.iter().map(|m| m.name()).chain(["engine"])
}

fn print_table(r: &Report) {
    println!(
        "originals {} ({} photos), distractors {}, copies per edit {}",
        r.originals,
        r.photos,
        r.distractors,
        r.edits.first().map_or(0, |e| e.copies)
    );
    print!("{:<34}", "edit");
    for m in column_names() {
        print!("{:>13}", m);
    }
    println!();
    for row in &r.edits {
        print!("{:<34}", row.edit);
        for m in column_names() {
            print!("{:>13.3}", row.recall[m]);
        }
        println!();
    }
    let line = |label: &str, f: &dyn Fn(&str) -> String| {
        print!("{label:<34}");
        for m in column_names() {
            print!("{:>13}", f(m));
        }
        println!();
    };
    line("RECALL (all copies)", &|m| {
        format!("{:.3}", r.overall_recall[m])
    });
    line("lowest edit recall", &|m| {
        format!("{:.3}", r.min_edit_recall[m])
    });
    line("false matches (distractors)", &|m| {
        r.false_matches[m].to_string()
    });
    line("wrong-original matches", &|m| {
        r.wrong_matches[m].to_string()
    });
    for (k, v) in &r.timing_ms {
        println!("time {k:<28} {v:>8.2} ms/upload");
    }
}
