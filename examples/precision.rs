//! Precision harness: backlogs in which many *different* pictures share one frame, deduplicated
//! through the real batch path (`referral_dedup::batch::dedup_backlog`, what `refdedup dedup`
//! runs), scored by pair precision and pair recall against the ground truth.
//!
//! Frames (one backlog per kind, every picture of a style drawn through the identical frame):
//! - `page`: a drawn social-media page (header, sidebar, avatars, text lines, navigation bar;
//!   five layouts, light and dark, the picture taking 15-60% of the page);
//! - `meme`: caption bands with identical text above and below;
//! - `pad_caption`: padding to a square in one colour plus one caption;
//! - `logo`: the same logo or emoji at the same place;
//! - `stripes`: semi-transparent stripes over the picture;
//! - `poster`: posters on one layout (logo, title bar and colours shared; photo and body text
//!   differ);
//! - `low_detail`: text on a flat colour (different text, same colour and layout);
//! - `dim_meme`, `dim_pad_caption`, `dim_poster`: the meme, padding and poster frames around
//!   dim, low-contrast pictures ([`dim`]: each style its own contrast and brightness; the
//!   held-out styles darker or more washed out than any tuned on).
//!
//! Every framed picture is uploaded three times (true re-uploads through the same frame:
//! re-encoded, re-compressed, rescaled), so recall is measured as well. Styles 0-2 with the
//! `tune` seeds are the set the rule was designed on; styles 3-4, other pictures, other seeds
//! and other re-upload settings are the `held_out` set, reported beside it. A last section
//! checks low-quality originals (PDQ quality under 50): re-encoded, greyscale and blurred
//! copies against low-detail distractors; and known templates ([`known_template`]): one framed
//! picture per style added as known content, other pictures through its frame checked
//! against it.
//!
//! Pictures: scikit-image's photographs (exported by `benches/peers/export_skimage.py` through
//! the venv of `benches/peers/setup.sh`, never committed) plus generated scenes.
//!
//! Run (one command, from the repository root):
//! ```text
//! cargo run --release --example precision
//! ```
//! Options: `--quick` (small generated-only run, as the tests use), `--photos DIR`,
//! `--per-style N` (pictures per frame style), `--known-per-style N` (other pictures per known
//! template, 6), `--json FILE`, `--only KIND` (a kind, `low_quality` or `known_template`).
//! Diagnostics: `--diag FILE` (tuning pairs' grid disagreements as JSON lines), `--pairs KIND`
//! (every pair of different pictures the default rule matches, both splits, with each
//! alignment's distance and disagreement; `PAIRS_GRIDS=1` prints the grids, `PAIRS_WASH=C`
//! uses `tests/precision.rs`'s washed-out scenes), `--known-stats` (against known content:
//! smallest disagreement and shared structure for template pictures and the match-quality
//! harness's edits); `PAIRS_MISSED=1` with `--pairs` also prints missed pairs of copies;
//! `--known-diag KIND|all` (every known template's copies and other pictures with the
//! decision, the whole grids' disagreement, shared structure and rank order; `DIAG_ALIGN=1`
//! prints each alignment), `--known-edits` (the match-quality edits of the photographs and 20
//! scenes against their originals, with and without the whole-picture template gate, and
//! each copy that changed). `DIAG_WS`, `DIAG_WD`, `DIAG_WDO`, `DIAG_OD` set the
//! known-template settings of the rule those two use (`ContentCheck::template_whole_*`,
//! `template_order_distance`).

#[allow(dead_code)]
#[path = "match_quality.rs"]
pub mod match_quality;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::imageops::{self, FilterType};
use image::{DynamicImage, Rgb, RgbImage};
use match_quality::{clamp8, draw_text, export_skimage, jpeg, load_photos, scene, Rng};
use rayon::prelude::*;
use referral_dedup::batch::{dedup_backlog, BatchOptions, BatchReport};
use referral_dedup::engine::{EngineConfig, MatchRule};

/// The frame kinds measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A social-media page around the picture.
    Page,
    /// Identical caption bands above and below.
    Meme,
    /// Square padding of one colour with one caption.
    PadCaption,
    /// The same logo or emoji at the same place.
    Logo,
    /// Semi-transparent stripes.
    Stripes,
    /// One poster layout, different photo and text.
    Poster,
    /// Text on a flat colour.
    LowDetail,
    /// Dim, low-contrast pictures under identical caption bands ([`dim`]).
    DimMeme,
    /// Dim, low-contrast pictures padded in one colour with one caption ([`dim`]).
    DimPadCaption,
    /// Dim, low-contrast photos on one poster layout ([`dim`]).
    DimPoster,
}

/// Every kind, in report order.
pub const KINDS: [Kind; 10] = [
    Kind::Page,
    Kind::Meme,
    Kind::PadCaption,
    Kind::Logo,
    Kind::Stripes,
    Kind::Poster,
    Kind::LowDetail,
    Kind::DimMeme,
    Kind::DimPadCaption,
    Kind::DimPoster,
];

impl Kind {
    /// Report name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Page => "page",
            Kind::Meme => "meme",
            Kind::PadCaption => "pad_caption",
            Kind::Logo => "logo",
            Kind::Stripes => "stripes",
            Kind::Poster => "poster",
            Kind::LowDetail => "low_detail",
            Kind::DimMeme => "dim_meme",
            Kind::DimPadCaption => "dim_pad_caption",
            Kind::DimPoster => "dim_poster",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing.

fn fill_rect(img: &mut RgbImage, x0: i64, y0: i64, w: i64, h: i64, c: [u8; 3]) {
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    for y in y0.max(0)..(y0 + h).min(ih) {
        for x in x0.max(0)..(x0 + w).min(iw) {
            img.put_pixel(x as u32, y as u32, Rgb(c));
        }
    }
}

fn fill_disc(img: &mut RgbImage, cx: f32, cy: f32, r: f32, c: [u8; 3]) {
    let (iw, ih) = (img.width() as f32, img.height() as f32);
    let (x0, x1) = ((cx - r).max(0.0) as u32, (cx + r + 1.0).min(iw) as u32);
    let (y0, y1) = ((cy - r).max(0.0) as u32, (cy + r + 1.0).min(ih) as u32);
    for y in y0..y1 {
        for x in x0..x1 {
            if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= r * r {
                img.put_pixel(x, y, Rgb(c));
            }
        }
    }
}

/// Lines of glyph-like text filling a box, the same for the same seed.
fn text_block(
    img: &mut RgbImage,
    (x, y, w, h): (f32, f32, f32, f32),
    line_h: f32,
    seed: u64,
    c: [u8; 3],
) {
    let mut r = Rng::new(seed);
    let lines = (h / (line_h * 1.6)).floor().max(1.0) as u32;
    for l in 0..lines {
        let max_glyphs = (w / (line_h * 0.6 * 1.35)).max(1.0) as u32;
        let glyphs = (max_glyphs / 2 + r.below(max_glyphs / 2 + 1)).max(1);
        draw_text(
            img,
            x,
            y + l as f32 * line_h * 1.6,
            line_h,
            glyphs,
            &mut r,
            c,
        );
    }
}

/// `picture` scaled to fit inside `w` x `h` (aspect kept).
fn fit(picture: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (pw, ph) = picture.dimensions();
    let s = (w as f32 / pw as f32).min(h as f32 / ph as f32);
    let (nw, nh) = (
        ((pw as f32 * s) as u32).max(8),
        ((ph as f32 * s) as u32).max(8),
    );
    imageops::resize(picture, nw, nh, FilterType::Triangle)
}

/// `picture` scaled and centre-cropped to fill `w` x `h` exactly.
fn cover(picture: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (pw, ph) = picture.dimensions();
    let s = (w as f32 / pw as f32).max(h as f32 / ph as f32);
    let (nw, nh) = (
        ((pw as f32 * s).ceil() as u32).max(w),
        ((ph as f32 * s).ceil() as u32).max(h),
    );
    let big = imageops::resize(picture, nw, nh, FilterType::Triangle);
    imageops::crop_imm(&big, (nw - w) / 2, (nh - h) / 2, w, h).to_image()
}

fn paste_centred(canvas: &mut RgbImage, img: &RgbImage, x: u32, y: u32, w: u32, h: u32) {
    let (iw, ih) = img.dimensions();
    imageops::replace(
        canvas,
        img,
        i64::from(x + (w - iw.min(w)) / 2),
        i64::from(y + (h - ih.min(h)) / 2),
    );
}

/// A social-media page: five layouts (phone, desktop with a sidebar, dark themes, tablet).
/// Returns the page with the picture fitted into the layout's picture area.
fn page(style: u32, picture: &RgbImage) -> RgbImage {
    // (page w, h, dark, sidebar width (negative: right), picture area w, h)
    let layouts: [(u32, u32, bool, i32, u32, u32); 5] = [
        (480, 900, false, 0, 480, 400),
        (1000, 700, false, 220, 380, 300),
        (450, 950, true, 0, 450, 560),
        (1100, 760, true, -260, 500, 380),
        (800, 1000, false, 0, 620, 460),
    ];
    let (w, h, dark, side, pw, ph) = layouts[style as usize % 5];
    let seed = 0x9a9e_0000 + u64::from(style);
    let (bg, fg, bar, muted, accent) = if dark {
        (
            [21, 32, 43],
            [230, 233, 236],
            [15, 20, 25],
            [120, 130, 140],
            [29, 155, 240],
        )
    } else {
        (
            [255, 255, 255],
            [20, 20, 20],
            [248, 248, 250],
            [110, 118, 125],
            [66, 103, 178],
        )
    };
    let mut img = RgbImage::from_pixel(w, h, Rgb(bg));
    let header = 56;
    fill_rect(&mut img, 0, 0, i64::from(w), header, accent);
    fill_disc(&mut img, 28.0, 28.0, 16.0, [255, 255, 255]);
    text_block(
        &mut img,
        (60.0, 18.0, 160.0, 20.0),
        18.0,
        seed,
        [255, 255, 255],
    );
    fill_rect(&mut img, i64::from(w) - 220, 14, 180, 28, [255, 255, 255]);
    // Sidebar with avatars and names.
    let (col0, col_w) = match side {
        s if s > 0 => (s as u32, w - s as u32),
        s if s < 0 => (0, w - (-s) as u32),
        _ => (0, w),
    };
    if side != 0 {
        let sx = if side > 0 { 0 } else { w - (-side) as u32 };
        let sw = side.unsigned_abs();
        fill_rect(
            &mut img,
            i64::from(sx),
            header,
            i64::from(sw),
            i64::from(h),
            bar,
        );
        for k in 0..8u32 {
            let y = header as f32 + 30.0 + k as f32 * 70.0;
            fill_disc(
                &mut img,
                sx as f32 + 30.0,
                y + 12.0,
                18.0,
                [(60 + k * 20) as u8, 120, (200 - k * 15) as u8],
            );
            text_block(
                &mut img,
                (sx as f32 + 60.0, y, sw as f32 - 80.0, 30.0),
                11.0,
                seed + 10 + u64::from(k),
                fg,
            );
        }
    }
    // Post: avatar, name, handle, text, picture, counters.
    let mx = col0 + (col_w - pw.min(col_w)) / 2;
    let mut y = header as u32 + 16;
    fill_disc(
        &mut img,
        mx as f32 + 24.0,
        y as f32 + 22.0,
        20.0,
        [200, 140, 60],
    );
    text_block(
        &mut img,
        (mx as f32 + 56.0, y as f32 + 6.0, 200.0, 14.0),
        13.0,
        seed + 1,
        fg,
    );
    text_block(
        &mut img,
        (mx as f32 + 56.0, y as f32 + 26.0, 140.0, 12.0),
        10.0,
        seed + 2,
        muted,
    );
    y += 56;
    text_block(
        &mut img,
        (mx as f32 + 8.0, y as f32, pw as f32 - 16.0, 44.0),
        12.0,
        seed + 3,
        fg,
    );
    y += 56;
    let fitted = fit(picture, pw, ph);
    fill_rect(
        &mut img,
        i64::from(mx),
        i64::from(y),
        i64::from(pw),
        i64::from(ph),
        bar,
    );
    paste_centred(&mut img, &fitted, mx, y, pw, ph);
    y += ph + 12;
    for k in 0..4u32 {
        let x = mx as f32 + 20.0 + k as f32 * pw as f32 / 4.0;
        fill_disc(&mut img, x, y as f32 + 10.0, 8.0, muted);
        text_block(
            &mut img,
            (x + 14.0, y as f32 + 4.0, 40.0, 12.0),
            10.0,
            seed + 20 + u64::from(k),
            muted,
        );
    }
    y += 36;
    // Replies under the post, down to the navigation bar.
    let mut k = 0u32;
    while y + 90 < h - 60 {
        fill_disc(
            &mut img,
            mx as f32 + 20.0,
            y as f32 + 18.0,
            14.0,
            [(90 + k * 30 % 150) as u8, 90, 160],
        );
        text_block(
            &mut img,
            (mx as f32 + 44.0, y as f32 + 4.0, pw as f32 - 60.0, 50.0),
            11.0,
            seed + 40 + u64::from(k),
            fg,
        );
        y += 74;
        k += 1;
    }
    fill_rect(&mut img, 0, i64::from(h) - 56, i64::from(w), 56, bar);
    for k in 0..5u32 {
        fill_disc(
            &mut img,
            (w as f32 / 5.0) * (k as f32 + 0.5),
            h as f32 - 28.0,
            11.0,
            muted,
        );
    }
    img
}

/// A meme: identical caption bands (five styles of band colour, height and sides).
fn meme(style: u32, picture: &RgbImage) -> RgbImage {
    let (band_c, text_c, band_frac, top, bottom) = match style % 5 {
        0 => ([255, 255, 255], [0, 0, 0], 0.18, true, true),
        1 => ([0, 0, 0], [255, 255, 255], 0.15, true, true),
        2 => ([255, 255, 255], [10, 10, 10], 0.25, true, false),
        3 => ([250, 250, 250], [20, 20, 20], 0.2, false, true),
        _ => ([15, 15, 15], [250, 250, 90], 0.22, true, true),
    };
    let body = cover(picture, 500, 400);
    let band = (400.0 * band_frac) as u32;
    let h = 400 + band * (u32::from(top) + u32::from(bottom));
    let mut img = RgbImage::from_pixel(500, h, Rgb(band_c));
    let y0 = if top { band } else { 0 };
    imageops::replace(&mut img, &body, 0, i64::from(y0));
    let seed = 0x3e3e_0000 + u64::from(style);
    let gh = band as f32 * 0.3;
    if top {
        text_block(
            &mut img,
            (30.0, band as f32 * 0.2, 440.0, band as f32 * 0.7),
            gh,
            seed,
            text_c,
        );
    }
    if bottom {
        let by = (y0 + 400) as f32;
        text_block(
            &mut img,
            (30.0, by + band as f32 * 0.2, 440.0, band as f32 * 0.7),
            gh,
            seed + 1,
            text_c,
        );
    }
    img
}

/// Square padding of one colour around the picture, with one caption in the padding.
fn pad_caption(style: u32, picture: &RgbImage) -> RgbImage {
    let colours = [
        [255, 255, 255],
        [0, 0, 0],
        [30, 60, 120],
        [235, 225, 200],
        [200, 30, 40],
    ];
    let c = colours[style as usize % 5];
    let text_c = if c[0] as u32 + c[1] as u32 + c[2] as u32 > 380 {
        [15, 15, 15]
    } else {
        [245, 245, 245]
    };
    let side = 600;
    let mut img = RgbImage::from_pixel(side, side, Rgb(c));
    let caption = 110 + 20 * (style % 3);
    text_block(
        &mut img,
        (40.0, 30.0, 520.0, caption as f32 - 40.0),
        20.0,
        0x7a7a_0000 + u64::from(style),
        text_c,
    );
    let fitted = fit(picture, side - 40, side - caption - 20);
    paste_centred(
        &mut img,
        &fitted,
        20,
        caption,
        side - 40,
        side - caption - 20,
    );
    img
}

/// The same logo or emoji at the same place.
fn logo(style: u32, picture: &RgbImage) -> RgbImage {
    let mut img = cover(picture, 520, 400);
    let (cx, cy, r) = match style % 5 {
        0 => (110.0, 110.0, 95.0),
        1 => (400.0, 100.0, 90.0),
        2 => (260.0, 200.0, 120.0),
        3 => (420.0, 300.0, 95.0),
        _ => (120.0, 290.0, 105.0),
    };
    if style.is_multiple_of(2) {
        // An emoji: a yellow face.
        fill_disc(&mut img, cx, cy, r, [250, 205, 40]);
        fill_disc(
            &mut img,
            cx - r * 0.35,
            cy - r * 0.25,
            r * 0.14,
            [60, 40, 10],
        );
        fill_disc(
            &mut img,
            cx + r * 0.35,
            cy - r * 0.25,
            r * 0.14,
            [60, 40, 10],
        );
        fill_rect(
            &mut img,
            (cx - r * 0.45) as i64,
            (cy + r * 0.35) as i64,
            (r * 0.9) as i64,
            (r * 0.12).max(2.0) as i64,
            [60, 40, 10],
        );
    } else {
        // A channel logo: a dark plate with a white mark and a name.
        fill_rect(
            &mut img,
            (cx - r) as i64,
            (cy - r * 0.6) as i64,
            (2.0 * r) as i64,
            (1.2 * r) as i64,
            [20, 20, 20],
        );
        fill_disc(&mut img, cx - r * 0.5, cy, r * 0.35, [255, 255, 255]);
        text_block(
            &mut img,
            (cx - r * 0.05, cy - r * 0.3, r, r * 0.6),
            r * 0.25,
            0x10a0 + u64::from(style),
            [255, 255, 255],
        );
    }
    img
}

/// Semi-transparent stripes over the picture.
fn stripes(style: u32, picture: &RgbImage) -> RgbImage {
    let mut img = cover(picture, 520, 400);
    let (c, alpha, period, diagonal): ([u8; 3], f32, f32, bool) = match style % 5 {
        0 => ([0, 0, 0], 0.65, 40.0, false),
        1 => ([255, 255, 255], 0.6, 32.0, true),
        2 => ([220, 30, 30], 0.6, 50.0, false),
        3 => ([0, 0, 0], 0.7, 28.0, true),
        _ => ([255, 255, 255], 0.65, 60.0, false),
    };
    for (x, y, p) in img.enumerate_pixels_mut() {
        let t = if diagonal { (x + y) as f32 } else { y as f32 };
        if (t / period).fract() < 0.5 {
            for (v, &s) in p.0.iter_mut().zip(&c) {
                *v = clamp8(f32::from(*v) * (1.0 - alpha) + f32::from(s) * alpha);
            }
        }
    }
    img
}

/// A poster on one layout: background, title bar with logo, photo, body text (per item), footer.
fn poster(style: u32, picture: &RgbImage, item_seed: u64) -> RgbImage {
    let palettes = [
        ([12, 12, 12], [190, 20, 20], [240, 240, 240]),
        ([240, 235, 220], [20, 60, 40], [20, 20, 20]),
        ([20, 40, 80], [240, 200, 40], [250, 250, 250]),
        ([60, 10, 10], [0, 0, 0], [240, 220, 200]),
        ([250, 250, 250], [30, 30, 30], [30, 30, 30]),
    ];
    let (bg, bar, text_c) = palettes[style as usize % 5];
    let (w, h) = (600, 850);
    let mut img = RgbImage::from_pixel(w, h, Rgb(bg));
    fill_rect(&mut img, 0, 0, i64::from(w), 110, bar);
    fill_disc(&mut img, 60.0, 55.0, 38.0, text_c);
    fill_disc(&mut img, 60.0, 55.0, 24.0, bar);
    text_block(
        &mut img,
        (120.0, 30.0, 440.0, 60.0),
        22.0,
        0x5e5e + u64::from(style),
        text_c,
    );
    let photo_h = 380 + 40 * (style % 3);
    let photo = cover(picture, 520, photo_h);
    imageops::replace(&mut img, &photo, 40, 140);
    let body_y = 140 + photo_h + 30;
    text_block(
        &mut img,
        (50.0, body_y as f32, 500.0, (h - 90 - body_y) as f32),
        16.0,
        item_seed,
        text_c,
    );
    fill_rect(&mut img, 0, i64::from(h) - 70, i64::from(w), 70, bar);
    text_block(
        &mut img,
        (150.0, h as f32 - 50.0, 300.0, 24.0),
        14.0,
        0x5f5f + u64::from(style),
        text_c,
    );
    img
}

/// Text on a flat colour: one colour and layout per style, different text per item.
pub fn low_detail(style: u32, item_seed: u64) -> RgbImage {
    let styles = [
        ([250, 250, 250], [20, 20, 20], 26.0),
        ([10, 10, 10], [240, 240, 240], 30.0),
        ([200, 30, 30], [255, 255, 255], 34.0),
        ([30, 60, 140], [250, 250, 250], 24.0),
        ([245, 230, 170], [60, 30, 10], 28.0),
    ];
    let (bg, fg, size) = styles[style as usize % 5];
    let mut img = RgbImage::from_pixel(640, 480, Rgb(bg));
    let mut r = Rng::new(item_seed);
    let lines = 2 + r.below(3);
    let top = r.range(80.0, 200.0);
    text_block(
        &mut img,
        (60.0, top, 520.0, lines as f32 * size * 1.6),
        size,
        item_seed ^ 0x7e47,
        fg,
    );
    img
}

/// The framed picture of one item.
pub fn framed(kind: Kind, style: u32, picture: &RgbImage, item_seed: u64) -> RgbImage {
    match kind {
        Kind::Page => page(style, picture),
        Kind::Meme => meme(style, picture),
        Kind::PadCaption => pad_caption(style, picture),
        Kind::Logo => logo(style, picture),
        Kind::Stripes => stripes(style, picture),
        Kind::Poster => poster(style, picture, item_seed),
        Kind::LowDetail => low_detail(style, item_seed),
        Kind::DimMeme => meme(style, &dim(style, picture)),
        Kind::DimPadCaption => pad_caption(style, &dim(style, picture)),
        Kind::DimPoster => poster(style, &dim(style, picture), item_seed),
    }
}

/// A dim, low-contrast version of a picture (under a high-contrast frame, the frame carries
/// most of the PDQ energy). Each style has its own setting; styles 3-4 (the held-out split)
/// use settings never tuned on: darker and more washed out.
pub fn dim(style: u32, picture: &RgbImage) -> RgbImage {
    // (contrast change in percent, brightness change in levels)
    let (contrast, brightness) = match style % 5 {
        0 => (-45.0, 0),
        1 => (-40.0, -25),
        2 => (-50.0, 15),
        3 => (-60.0, -45),
        _ => (-55.0, 35),
    };
    imageops::brighten(&imageops::contrast(picture, contrast), brightness)
}

// ---------------------------------------------------------------------------------------------
// Uploads.

/// One re-upload of a framed picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Upload {
    /// JPEG at this quality.
    Jpeg(u8),
    /// Rescaled by the factor, then JPEG.
    Resize(f32, u8),
    /// Brightened, then JPEG.
    Brighten(i32, u8),
    /// Greyscale, then JPEG.
    Grey(u8),
    /// Gaussian blur of this sigma, then JPEG.
    Blur(f32, u8),
}

impl Upload {
    /// Report name.
    pub fn name(self) -> String {
        match self {
            Upload::Jpeg(q) => format!("jpeg_q{q}"),
            Upload::Resize(s, q) => format!("resize_{}_q{q}", (s * 100.0).round()),
            Upload::Brighten(d, q) => format!("brighten_{d:+}_q{q}"),
            Upload::Grey(q) => format!("greyscale_q{q}"),
            Upload::Blur(s, q) => format!("blur_{s}_q{q}"),
        }
    }

    /// The uploaded bytes.
    pub fn apply(self, img: &RgbImage) -> Vec<u8> {
        match self {
            Upload::Jpeg(q) => jpeg(img, q),
            Upload::Resize(s, q) => {
                let (w, h) = img.dimensions();
                let (nw, nh) = (
                    ((w as f32 * s) as u32).max(8),
                    ((h as f32 * s) as u32).max(8),
                );
                jpeg(&imageops::resize(img, nw, nh, FilterType::Triangle), q)
            }
            Upload::Brighten(d, q) => jpeg(&imageops::brighten(img, d), q),
            Upload::Grey(q) => jpeg(
                &DynamicImage::ImageLuma8(imageops::grayscale(img)).to_rgb8(),
                q,
            ),
            Upload::Blur(s, q) => jpeg(&imageops::blur(img, s), q),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Backlogs and scores.

/// One referral of a generated backlog and the item it shows.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Referral id.
    pub id: String,
    /// Ground-truth item.
    pub item: String,
    /// Uploaded bytes.
    pub bytes: Vec<u8>,
}

/// Writes the media and the backlog file into `dir`; returns the backlog path.
pub fn write_backlog(dir: &Path, referrals: &[Generated]) -> PathBuf {
    std::fs::create_dir_all(dir.join("m")).expect("creating the media directory");
    let mut lines = String::new();
    for r in referrals {
        let file = format!("m/{}.jpg", r.id);
        std::fs::write(dir.join(&file), &r.bytes).expect("writing media");
        lines.push_str(&serde_json::json!({"id": r.id, "media": file}).to_string());
        lines.push('\n');
    }
    let path = dir.join("backlog.jsonl");
    std::fs::write(&path, lines).expect("writing the backlog");
    path
}

/// Pair precision and recall of one clustering.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Score {
    /// Referrals in the backlog.
    pub referrals: usize,
    /// Different items among them.
    pub items: usize,
    /// Pairs of referrals showing the same item.
    pub true_pairs: u64,
    /// Pairs placed in one cluster.
    pub merged_pairs: u64,
    /// Merged pairs that show different items.
    pub wrong_pairs: u64,
    /// `1 - wrong / merged` (1 when nothing merged).
    pub precision: f64,
    /// Merged true pairs over all true pairs.
    pub recall: f64,
    /// Most different items in one cluster.
    pub worst_cluster_items: usize,
}

/// Scores clusters against `item_of` (referral id -> item).
pub fn score(report: &BatchReport, item_of: &HashMap<String, String>) -> Score {
    let c2 = |n: u64| n * n.saturating_sub(1) / 2;
    let mut per_item: HashMap<&str, u64> = HashMap::new();
    for item in item_of.values() {
        *per_item.entry(item).or_default() += 1;
    }
    let true_pairs = per_item.values().map(|&n| c2(n)).sum();
    let (mut merged, mut right, mut worst) = (0u64, 0u64, 0usize);
    for c in &report.clusters {
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for m in &c.members {
            *counts.entry(item_of[m].as_str()).or_default() += 1;
        }
        merged += c2(c.members.len() as u64);
        right += counts.values().map(|&n| c2(n)).sum::<u64>();
        worst = worst.max(counts.len());
    }
    Score {
        referrals: item_of.len(),
        items: per_item.len(),
        true_pairs,
        merged_pairs: merged,
        wrong_pairs: merged - right,
        precision: if merged == 0 {
            1.0
        } else {
            right as f64 / merged as f64
        },
        recall: if true_pairs == 0 {
            1.0
        } else {
            right as f64 / true_pairs as f64
        },
        worst_cluster_items: worst,
    }
}

/// Runs batch dedup on generated referrals under a rule and scores it.
pub fn dedup_and_score(referrals: &[Generated], rule: MatchRule) -> (Score, BatchReport) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = write_backlog(dir.path(), referrals);
    let config = EngineConfig {
        rule,
        ..EngineConfig::default()
    };
    let report = dedup_backlog(&path, None, &config, &BatchOptions::default())
        .expect("batch dedup of a generated backlog");
    let item_of = referrals
        .iter()
        .map(|r| (r.id.clone(), r.item.clone()))
        .collect();
    (score(&report, &item_of), report)
}

/// Which settings a backlog is generated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Styles 0-2, tuning seeds, the first re-upload set.
    Tune,
    /// Styles 3-4, other seeds and pictures, other re-uploads: never looked at while tuning.
    HeldOut,
}

impl Split {
    fn name(self) -> &'static str {
        match self {
            Split::Tune => "tune",
            Split::HeldOut => "held_out",
        }
    }
    fn styles(self) -> &'static [u32] {
        match self {
            Split::Tune => &[0, 1, 2],
            Split::HeldOut => &[3, 4],
        }
    }
    /// The re-uploads of every framed picture.
    pub fn uploads(self) -> [Upload; 3] {
        match self {
            Split::Tune => [Upload::Jpeg(90), Upload::Jpeg(55), Upload::Resize(0.7, 80)],
            Split::HeldOut => [
                Upload::Jpeg(85),
                Upload::Resize(0.6, 70),
                Upload::Brighten(12, 88),
            ],
        }
    }
    fn seed(self) -> u64 {
        match self {
            Split::Tune => 0x7e57,
            Split::HeldOut => 0x0040_1d07,
        }
    }
}

/// The referrals of one kind's backlog: `per_style` pictures through every style's frame,
/// each uploaded with the split's re-uploads.
pub fn kind_backlog(
    kind: Kind,
    split: Split,
    pictures: &[RgbImage],
    per_style: usize,
) -> Vec<Generated> {
    let jobs: Vec<(u32, usize)> = split
        .styles()
        .iter()
        .flat_map(|&s| (0..per_style).map(move |p| (s, p)))
        .collect();
    jobs.par_iter()
        .flat_map_iter(|&(style, p)| {
            let item_seed = split.seed() * 1_000_003 + u64::from(style) * 7_919 + p as u64;
            // Different styles take different pictures where there are enough.
            let pic = &pictures[(p + style as usize * per_style) % pictures.len().max(1)];
            let img = framed(kind, style, pic, item_seed);
            let item = format!("{}-{}-s{style}-p{p}", kind.name(), split.name());
            split
                .uploads()
                .into_iter()
                .enumerate()
                .map(move |(u, up)| Generated {
                    id: format!("{item}-u{u}"),
                    item: item.clone(),
                    bytes: up.apply(&img),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The pictures of a split: photographs (alternating between the splits) and generated scenes.
pub fn pictures(split: Split, photos: &[RgbImage], scenes: usize) -> Vec<RgbImage> {
    let parity = usize::from(split == Split::HeldOut);
    let mut out: Vec<RgbImage> = photos.iter().skip(parity).step_by(2).cloned().collect();
    let base = split.seed() * 31;
    out.extend(
        (0..scenes as u64)
            .into_par_iter()
            .map(|i| scene(base + i, (360, 640)))
            .collect::<Vec<_>>(),
    );
    // Interleave so that small runs see both photographs and scenes.
    let photos_n = out.len() - scenes;
    let mut mixed = Vec::with_capacity(out.len());
    let (mut a, mut b) = (0, photos_n);
    while a < photos_n || b < out.len() {
        if a < photos_n {
            mixed.push(out[a].clone());
            a += 1;
        }
        if b < out.len() {
            mixed.push(out[b].clone());
            b += 1;
        }
    }
    mixed
}

/// Low-quality originals (PDQ quality under 50): text cards and dark, blurred scenes, with
/// re-encoded, greyscale and blurred copies, plus low-detail distractors (other text on the
/// same colours). Returns the referrals and the names of the edits.
pub fn low_quality_backlog(originals: usize, distractors: usize, seed: u64) -> Vec<Generated> {
    let mut cards: Vec<(String, RgbImage)> = Vec::new();
    let mut i = 0u64;
    while cards.len() < originals + distractors && i < 50 * (originals + distractors) as u64 {
        let s = seed * 7_777 + i;
        let img = if i % 3 == 2 {
            // A dark, blurred scene.
            let sc = scene(s, (300, 500));
            let dark = imageops::brighten(&imageops::contrast(&sc, -60.0), -70);
            imageops::blur(&dark, 3.0)
        } else {
            low_detail((i % 5) as u32, s)
        };
        i += 1;
        let q =
            referral_dedup::media::pdq_from_image(&DynamicImage::ImageRgb8(img.clone())).quality;
        if q < 50 {
            cards.push((format!("lq{}", cards.len()), img));
        }
    }
    let edits = [
        Upload::Jpeg(90),
        Upload::Jpeg(50),
        Upload::Grey(85),
        Upload::Blur(1.2, 85),
    ];
    let mut out = Vec::new();
    for (k, (name, img)) in cards.iter().enumerate() {
        let uploads: &[Upload] = if k < originals { &edits } else { &edits[..1] };
        for (u, up) in uploads.iter().enumerate() {
            out.push(Generated {
                id: format!(
                    "{name}-{}",
                    if u == 0 {
                        "orig".to_string()
                    } else {
                        up.name()
                    }
                ),
                item: name.clone(),
                bytes: up.apply(img),
            });
        }
    }
    out
}

/// Per-edit recall of the low-quality set: copies clustered with their original.
pub fn low_quality_recall(report: &BatchReport) -> BTreeMap<String, f64> {
    let mut cluster_of: HashMap<&str, usize> = HashMap::new();
    for (c, cl) in report.clusters.iter().enumerate() {
        for m in &cl.members {
            cluster_of.insert(m, c);
        }
    }
    let mut counts: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for m in cluster_of.keys() {
        let Some((item, edit)) = m.split_once('-') else {
            continue;
        };
        if edit == "orig" {
            continue;
        }
        let orig = format!("{item}-orig");
        let e = counts.entry(edit.to_string()).or_default();
        e.1 += 1;
        e.0 += u32::from(cluster_of.get(orig.as_str()) == cluster_of.get(m));
    }
    counts
        .into_iter()
        .map(|(k, (hit, n))| (k, f64::from(hit) / f64::from(n.max(1))))
        .collect()
}

/// Known templates: what one kind's frame does to *known* content.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct KnownTemplateScore {
    /// Referrals of other pictures through a known item's frame.
    pub others: usize,
    /// Of those, reported as known (wrong).
    pub false_known: usize,
    /// Re-uploads of the known items themselves.
    pub copies: usize,
    /// Of those, reported as known.
    pub caught: usize,
}

/// Known templates: per style, one framed picture is added as known content (from its bytes,
/// as `refdedup known add` does: [`Engine::add_known_media`](referral_dedup::engine::Engine::add_known_media),
/// so it carries luma grids), then checked against (a) `per_style` *other* pictures through
/// the identical frame, with the same text (a poster template with another photo), which must
/// not be reported as known, and (b) the known picture's own re-uploads (the split's), which
/// must.
pub fn known_template(
    kind: Kind,
    split: Split,
    pictures: &[RgbImage],
    per_style: usize,
    rule: MatchRule,
) -> KnownTemplateScore {
    use referral_dedup::engine::{Engine, Referral, VerdictKind};
    let engine = Engine::in_memory(EngineConfig {
        rule,
        ..EngineConfig::default()
    })
    .expect("in-memory engine");
    let n = pictures.len().max(1);
    let mut score = KnownTemplateScore::default();
    let is_known = |bytes: Vec<u8>| {
        let v = engine
            .check(&Referral::new("q").with_media_bytes(bytes))
            .expect("checking a generated referral");
        v.kind == VerdictKind::Known
    };
    for &style in split.styles() {
        let item_seed = split.seed() * 1_000_003 + u64::from(style) * 7_919;
        let first = style as usize * (per_style + 1);
        let known = framed(kind, style, &pictures[first % n], item_seed);
        if engine
            .add_known_media(&jpeg(&known, 92), &format!("known-s{style}"), None)
            .is_err()
        {
            continue; // an uninformative picture is refused as known content
        }
        for up in split.uploads() {
            score.copies += 1;
            score.caught += usize::from(is_known(up.apply(&known)));
        }
        for p in 1..=per_style {
            let other = framed(kind, style, &pictures[(first + p) % n], item_seed);
            for up in split.uploads().into_iter().take(1) {
                score.others += 1;
                score.false_known += usize::from(is_known(up.apply(&other)));
            }
        }
    }
    score
}

// ---------------------------------------------------------------------------------------------
// The run.

/// One row of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// Frame kind (or `low_quality`).
    pub kind: String,
    /// `tune` or `held_out`.
    pub split: String,
    /// Default rule.
    pub default: Score,
    /// `--plain-pdq`.
    pub plain_pdq: Score,
    /// Seconds the default rule's dedup took.
    pub default_seconds: f64,
    /// Seconds the plain rule's dedup took.
    pub plain_seconds: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut quick = false;
    let mut photos_dir: Option<PathBuf> = None;
    let mut per_style = 16;
    let mut json: Option<PathBuf> = None;
    let mut only: Option<String> = None;
    let mut diag: Option<PathBuf> = None;
    let mut pairs: Option<String> = None;
    let mut known_stats = false;
    let mut known_edits = false;
    let mut known_diag_kind: Option<String> = None;
    let mut known_per_style = 6;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--quick" => quick = true,
            "--photos" => photos_dir = Some(PathBuf::from(value())),
            "--per-style" => per_style = value().parse().expect("--per-style N"),
            "--json" => json = Some(PathBuf::from(value())),
            "--only" => only = Some(value()),
            "--diag" => diag = Some(PathBuf::from(value())),
            "--pairs" => pairs = Some(value()),
            "--known-stats" => known_stats = true,
            "--known-edits" => known_edits = true,
            "--known-diag" => known_diag_kind = Some(value()),
            "--known-per-style" => known_per_style = value().parse().expect("--known-per-style N"),
            other => panic!("unknown argument {other}"),
        }
    }
    if quick {
        per_style = per_style.min(6);
    }
    // The diagnostics use scikit-image's photographs when they can be exported.
    let skimage = || -> Vec<(String, RgbImage)> {
        export_skimage()
            .as_deref()
            .map(load_photos)
            .unwrap_or_default()
    };
    let plain = |named: Vec<(String, RgbImage)>| -> Vec<RgbImage> {
        named.into_iter().map(|(_, i)| i).collect()
    };
    if let Some(kind) = known_diag_kind {
        known_diag(
            &skimage(),
            Some(kind.as_str()).filter(|k| *k != "all"),
            per_style,
        );
        return;
    }
    if known_edits {
        known_edits_diag(&skimage());
        return;
    }
    if known_stats {
        known_pair_stats(&skimage(), per_style);
        return;
    }
    if let Some(kind) = pairs {
        wrong_pairs(&kind, &plain(skimage()), per_style);
        return;
    }
    if let Some(path) = diag {
        diagnose(&path, &plain(skimage()), per_style);
        return;
    }
    if photos_dir.is_none() && !quick {
        photos_dir = export_skimage();
        if photos_dir.is_none() {
            eprintln!("notice: scikit-image photos unavailable (see benches/peers/setup.sh); generated scenes only");
        }
    }
    let photos: Vec<RgbImage> = photos_dir
        .as_deref()
        .map(load_photos)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    type KnownRow = (
        String,
        String,
        KnownTemplateScore,
        KnownTemplateScore,
        KnownTemplateScore,
    );
    let mut known_rows: Vec<KnownRow> = Vec::new();
    let run = |kind: String, split: &str, refs: &[Generated], rows: &mut Vec<Row>| {
        let t = Instant::now();
        let (default, _) = dedup_and_score(refs, MatchRule::default());
        let default_seconds = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (plain_pdq, _) = dedup_and_score(refs, MatchRule::plain_pdq());
        let plain_seconds = t.elapsed().as_secs_f64();
        let row = Row {
            kind,
            split: split.to_string(),
            default,
            plain_pdq,
            default_seconds,
            plain_seconds,
        };
        print_row(&row);
        rows.push(row);
    };
    println!(
        "{:<12} {:<9} {:>5} {:>6} | {:>9} {:>7} {:>6} {:>5} | {:>9} {:>7} {:>6} {:>5}",
        "kind",
        "split",
        "refs",
        "items",
        "precision",
        "recall",
        "wrong",
        "worst",
        "precision",
        "recall",
        "wrong",
        "worst"
    );
    println!(
        "{:<35} | {:^31} | {:^31}",
        "", "default rule", "--plain-pdq"
    );
    for split in [Split::Tune, Split::HeldOut] {
        let pics = pictures(split, &photos, per_style.max(8) * 3);
        for kind in KINDS {
            if only.as_deref().is_some_and(|o| o != kind.name()) {
                continue;
            }
            let refs = kind_backlog(kind, split, &pics, per_style);
            run(kind.name().to_string(), split.name(), &refs, &mut rows);
        }
    }
    if only.as_deref().is_none_or(|o| o == "low_quality") {
        let (n, d) = if quick { (6, 12) } else { (40, 120) };
        let refs = low_quality_backlog(n, d, 0x10_9a);
        run("low_quality".into(), "tune", &refs, &mut rows);
        let (rep, _) = (dedup_and_score(&refs, MatchRule::default()).1, ());
        println!(
            "low-quality recall per edit (default rule): {:?}",
            low_quality_recall(&rep)
        );
        let rep = dedup_and_score(&refs, MatchRule::plain_pdq()).1;
        println!(
            "low-quality recall per edit (--plain-pdq):  {:?}",
            low_quality_recall(&rep)
        );
        let refs = low_quality_backlog(n, d, 0x0040_1d0a);
        run("low_quality".into(), "held_out", &refs, &mut rows);
        let rep = dedup_and_score(&refs, MatchRule::default()).1;
        println!(
            "held-out low-quality recall per edit (default rule): {:?}",
            low_quality_recall(&rep)
        );
    }
    if only.as_deref().is_none_or(|o| o == "known_template") {
        println!(
            "\nknown templates: one framed picture per style added as known content; other pictures \
             through its frame (must stay new) and its own re-uploads (must be known)"
        );
        println!(
            "{:<16} {:<9} {:>6} {:>6} | {:>11} {:>8} | {:>11} {:>8} | {:>11} {:>8}",
            "kind",
            "split",
            "others",
            "copies",
            "false known",
            "caught",
            "false known",
            "caught",
            "false known",
            "caught"
        );
        println!(
            "{:<30}    | {:^20} | {:^20} | {:^20}",
            "", "default rule", "no content check", "--plain-pdq"
        );
        for split in [Split::Tune, Split::HeldOut] {
            let pics = pictures(split, &photos, per_style.max(8) * 3);
            for kind in KINDS.into_iter().filter(|&k| k != Kind::LowDetail) {
                let unchecked = MatchRule {
                    content: None,
                    low_quality: None,
                    ..MatchRule::default()
                };
                let [d, u, p] = [MatchRule::default(), unchecked, MatchRule::plain_pdq()]
                    .map(|rule| known_template(kind, split, &pics, known_per_style, rule));
                println!(
                    "{:<16} {:<9} {:>6} {:>6} | {:>11} {:>8} | {:>11} {:>8} | {:>11} {:>8}",
                    kind.name(),
                    split.name(),
                    d.others,
                    d.copies,
                    d.false_known,
                    d.caught,
                    u.false_known,
                    u.caught,
                    p.false_known,
                    p.caught
                );
                known_rows.push((kind.name().to_string(), split.name().to_string(), d, u, p));
            }
        }
    }
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "backlogs": rows,
        "known_templates": known_rows,
    }))
    .expect("rows serialise");
    if let Some(path) = json {
        std::fs::write(&path, &text).expect("writing --json file");
    }
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
}

/// `--diag FILE`: for every pair of referrals of the tuning set whose closest codes are within
/// 80 bits, JSON lines with the ground truth, the PDQ distance and the disagreement of the
/// closest alignment at several cell tolerances (for choosing the content check's thresholds).
fn diagnose(path: &Path, photos: &[RgbImage], per_style: usize) {
    use referral_dedup::matching::ContentCheck;
    use std::io::Write;
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(path).expect("creating --diag file"));
    let pics = pictures(Split::Tune, photos, per_style.max(8) * 3);
    let mut sets: Vec<(String, Vec<Generated>)> = KINDS
        .iter()
        .map(|&k| {
            (
                k.name().to_string(),
                kind_backlog(k, Split::Tune, &pics, per_style),
            )
        })
        .collect();
    sets.push(("low_quality".into(), low_quality_backlog(20, 40, 0x10_9a)));
    for (kind, refs) in sets {
        let prints: Vec<_> = refs
            .par_iter()
            .map(|r| referral_fingerprint(&r.bytes))
            .collect();
        for i in 0..refs.len() {
            for j in 0..i {
                let (a, b) = (&prints[i], &prints[j]);
                let lines: Vec<String> = [4.0f32, 6.0, 8.0, 12.0, 16.0, 24.0]
                    .iter()
                    .map(|&t| {
                        let c = ContentCheck {
                            cell_tolerance: t,
                            max_disagreement: 1.0,
                            ..ContentCheck::default()
                        };
                        match c.closest_agreeing(&a.query_regions, &b.stored_regions, 80, true) {
                            Some(m) => format!("[{},{:.4}]", m.distance, m.disagreement),
                            None => "null".into(),
                        }
                    })
                    .collect();
                let best = c_best(a, b);
                if best > 80 {
                    continue;
                }
                // The smallest disagreement among alignments within 80 bits, per tolerance.
                let mins: Vec<String> = [4.0f32, 6.0, 8.0, 12.0, 16.0, 24.0]
                    .iter()
                    .map(|&t| {
                        let c = ContentCheck {
                            cell_tolerance: t,
                            max_disagreement: 1.0,
                            ..ContentCheck::default()
                        };
                        let mut lo = f32::INFINITY;
                        for q in &a.query_regions {
                            for (d, code) in q.dihedral.iter().enumerate() {
                                for s in &b.stored_regions {
                                    if code.distance(&s.code) <= 80 {
                                        lo = lo.min(c.disagreement(&q.grid.dihedral(d), &s.grid));
                                    }
                                }
                            }
                        }
                        format!("{lo:.4}")
                    })
                    .collect();
                let full: Vec<String> = [4.0f32, 6.0, 8.0, 12.0, 16.0, 24.0]
                    .iter()
                    .map(|&t| {
                        let c = ContentCheck {
                            cell_tolerance: t,
                            max_disagreement: 1.0,
                            ..ContentCheck::default()
                        };
                        format!(
                            "{:.4}",
                            c.disagreement(&a.query_regions[0].grid, &b.stored_regions[0].grid)
                        )
                    })
                    .collect();
                let full_d = a.query_regions[0].dihedral[0].distance(&b.stored_regions[0].code);
                writeln!(out, "{{\"kind\":\"{kind}\",\"full_d\":{},\"full\":[{}],\"same\":{},\"best\":{best},\"qa\":{},\"qb\":{},\"closest\":[{}],\"min\":[{}]}}",
                    full_d, full.join(","), refs[i].item == refs[j].item, a.hashes.pdq_quality.unwrap_or(0), b.hashes.pdq_quality.unwrap_or(0), lines.join(","), mins.join(",")).expect("writing");
            }
        }
    }
}

/// `--pairs KIND`: every pair of *different* pictures of KIND (both splits) that the default
/// rule matches ([`referral_dedup::matching::pair_match`]), with the tier, the qualities, the
/// regions of each side and every alignment within 52 bits with its disagreement.
fn wrong_pairs(kind: &str, photos: &[RgbImage], per_style: usize) {
    use referral_dedup::matching::{pair_match, ContentCheck};
    let kind = *KINDS
        .iter()
        .find(|k| k.name() == kind)
        .expect("--pairs KIND: a frame kind");
    let rule = MatchRule::default();
    let check = ContentCheck::default();
    for split in [Split::Tune, Split::HeldOut] {
        let mut pics = pictures(split, photos, per_style.max(8) * 3);
        let mut per_style = per_style;
        // PAIRS_WASH=C: tests/precision.rs's washed-out scenes (contrast C on every other one).
        if let Some(c) = std::env::var("PAIRS_WASH")
            .ok()
            .and_then(|c| c.parse::<f32>().ok())
        {
            pics = (0..12u64)
                .map(|i| {
                    let p = scene(31 * 1000 + i, (300, 420));
                    if i % 2 == 0 {
                        imageops::contrast(&p, c)
                    } else {
                        p
                    }
                })
                .collect();
            per_style = 6;
        }
        let refs = kind_backlog(kind, split, &pics, per_style);
        let prints: Vec<_> = refs
            .par_iter()
            .map(|r| referral_fingerprint(&r.bytes))
            .collect();
        let (mut wrong, mut missed) = (0, 0);
        for i in 0..refs.len() {
            for j in 0..refs.len() {
                if i == j {
                    continue;
                }
                let (a, b) = (&prints[i], &prints[j]);
                let same = refs[i].item == refs[j].item;
                let tier = pair_match(a, b, &rule);
                if same {
                    missed += usize::from(tier.is_none());
                    if tier.is_none() && std::env::var_os("PAIRS_MISSED").is_some() {
                        println!(
                            "missed {} {} -> {} q {:?}/{:?} regions {:?} / {}",
                            split.name(),
                            refs[i].id,
                            refs[j].id,
                            a.hashes.pdq_quality,
                            b.hashes.pdq_quality,
                            a.query_regions.iter().map(|r| r.cells).collect::<Vec<_>>(),
                            b.stored_regions.len()
                        );
                        print_alignments(a, b);
                    }
                    continue;
                }
                let Some(tier) = tier else { continue };
                wrong += 1;
                println!(
                    "{} {} -> {} {:?} q {:?}/{:?} regions {}/{}",
                    split.name(),
                    refs[i].id,
                    refs[j].id,
                    tier,
                    a.hashes.pdq_quality,
                    b.hashes.pdq_quality,
                    a.query_regions.len(),
                    b.stored_regions.len()
                );
                for (qi, q) in a.query_regions.iter().enumerate() {
                    for (d, code) in q.dihedral.iter().enumerate() {
                        for (si, s) in b.stored_regions.iter().enumerate() {
                            let distance = code.distance(&s.code);
                            if distance <= 52 {
                                println!(
                                    "    q{qi} d{d} s{si} distance {distance} disagreement {:.3}",
                                    check.disagreement(&q.grid.dihedral(d), &s.grid)
                                );
                                if std::env::var_os("PAIRS_GRIDS").is_some() {
                                    print_grids(&q.grid.dihedral(d), &s.grid);
                                }
                            }
                        }
                    }
                }
            }
        }
        println!(
            "{} {}: {wrong} wrong ordered pairs, {missed} missed",
            kind.name(),
            split.name()
        );
    }
}

/// `--known-stats`: for pairs against known content (known templates' other pictures and
/// copies; the match-quality harness's edits of photos and scenes), the smallest
/// disagreement and the largest shared structure among alignments within 52 bits.
fn known_pair_stats(photos: &[(String, RgbImage)], per_style: usize) {
    use referral_dedup::engine::media_fingerprint_with;
    use referral_dedup::matching::{ContentCheck, RobustOptions};
    use referral_dedup::media::HashOptions;
    let opts = HashOptions {
        dihedral: true,
        ..HashOptions::default()
    };
    let robust = RobustOptions::default();
    let check = ContentCheck::default();
    let print = |a: &referral_dedup::engine::MediaFingerprint,
                 b: &referral_dedup::engine::MediaFingerprint|
     -> Option<(u32, f32, f32)> {
        let mut best: Option<(u32, f32, f32)> = None;
        for q in &a.query_regions {
            for (d, code) in q.dihedral.iter().enumerate() {
                for s in &b.stored_regions {
                    let distance = code.distance(&s.code);
                    if distance <= 52 {
                        let g = q.grid.dihedral(d);
                        let dis = check.disagreement(&g, &s.grid);
                        let sh = check.shared_structure(&g, &s.grid);
                        let e = best.get_or_insert((distance, dis, sh));
                        e.0 = e.0.min(distance);
                        e.1 = e.1.min(dis);
                        e.2 = e.2.max(sh);
                    }
                }
            }
        }
        best
    };
    let fp = |bytes: &[u8]| media_fingerprint_with(bytes, &opts, Some(&robust)).0;
    // Known templates.
    for kind in KINDS {
        for split in [Split::Tune, Split::HeldOut] {
            let plain: Vec<RgbImage> = photos.iter().map(|(_, i)| i.clone()).collect();
            let pics: Vec<RgbImage> = pictures(split, &plain, per_style.max(8) * 3);
            let n = pics.len();
            for &style in split.styles() {
                let item_seed = split.seed() * 1_000_003 + u64::from(style) * 7_919;
                let first = style as usize * (6 + 1);
                let known = fp(&jpeg(&framed(kind, style, &pics[first % n], item_seed), 92));
                for up in split.uploads() {
                    let q = fp(&up.apply(&framed(kind, style, &pics[first % n], item_seed)));
                    println!(
                        "template-copy {} {} {:?}",
                        kind.name(),
                        up.name(),
                        print(&q, &known)
                    );
                }
                for p in 1..=6 {
                    let other = framed(kind, style, &pics[(first + p) % n], item_seed);
                    let q = fp(&split.uploads()[0].apply(&other));
                    let whole_shared = q
                        .query_regions
                        .first()
                        .zip(known.stored_regions.first())
                        .map(|(a, b)| check.shared_structure(&a.grid, &b.grid));
                    println!(
                        "template-other {} {:?} query regions {} stored {} whole shared {:?}",
                        kind.name(),
                        print(&q, &known),
                        q.query_regions.len(),
                        known.stored_regions.len(),
                        whole_shared
                    );
                }
            }
        }
    }
    if std::env::var_os("KNOWN_STATS_TEMPLATES_ONLY").is_some() {
        return;
    }
    // The match-quality harness's edits.
    let mut originals: Vec<RgbImage> = photos.iter().map(|(_, i)| i.clone()).collect();
    originals.extend((0..20u64).map(|i| scene(0x5eed + i, (360, 640))));
    let lines: Vec<String> = edited_copies(&originals, &fp, &|_, name, q, known| {
        format!("edit {name} {:?}", print(q, known))
    });
    for l in lines {
        println!("{l}");
    }
}

/// The fingerprint a referral gets in batch dedup: dihedral codes and boxes, no stored crops.
fn referral_fingerprint(bytes: &[u8]) -> referral_dedup::engine::MediaFingerprint {
    use referral_dedup::engine::media_fingerprint_with;
    use referral_dedup::matching::RobustOptions;
    use referral_dedup::media::HashOptions;
    let opts = HashOptions {
        dihedral: true,
        ..HashOptions::default()
    };
    let robust = RobustOptions {
        known_variants: Vec::new(),
        ..RobustOptions::default()
    };
    media_fingerprint_with(bytes, &opts, Some(&robust)).0
}

fn c_best(
    a: &referral_dedup::engine::MediaFingerprint,
    b: &referral_dedup::engine::MediaFingerprint,
) -> u32 {
    let mut best = 256;
    for q in &a.query_regions {
        for code in &q.dihedral {
            for s in &b.stored_regions {
                best = best.min(code.distance(&s.code));
            }
        }
    }
    best
}

fn print_row(r: &Row) {
    let items = r.default.items;
    let s = |x: &Score| {
        format!(
            "{:>9.3} {:>7.3} {:>6} {:>5}",
            x.precision, x.recall, x.wrong_pairs, x.worst_cluster_items
        )
    };
    println!(
        "{:<12} {:<9} {:>5} {:>6} | {} | {}",
        r.kind,
        r.split,
        r.default.referrals,
        items,
        s(&r.default),
        s(&r.plain_pdq)
    );
}

/// `--known-diag`: per known template (kind, split, style), every copy and other picture with
/// the default rule's decision against the known item, the closest distance, the regions of
/// each side, the shared frame detail and the whole grids' disagreement and rank order.
fn known_diag(photos: &[(String, RgbImage)], only: Option<&str>, per_style: usize) {
    use referral_dedup::engine::media_fingerprint_with;
    use referral_dedup::matching::{
        ContentCheck, PairFacts, PairRegions, RankOrderCheck, RobustOptions,
    };
    use referral_dedup::media::HashOptions;
    let opts = HashOptions {
        dihedral: true,
        ..HashOptions::default()
    };
    let robust = RobustOptions::default();
    let rule = diag_rule();
    let check = ContentCheck::default();
    let order = RankOrderCheck::default();
    let fp = |bytes: &[u8]| media_fingerprint_with(bytes, &opts, Some(&robust)).0;
    let plain: Vec<RgbImage> = photos.iter().map(|(_, i)| i.clone()).collect();
    for kind in KINDS {
        if only.is_some_and(|o| o != kind.name()) {
            continue;
        }
        for split in [Split::Tune, Split::HeldOut] {
            let pics = pictures(split, &plain, per_style.max(8) * 3);
            let n = pics.len();
            for &style in split.styles() {
                let item_seed = split.seed() * 1_000_003 + u64::from(style) * 7_919;
                let first = style as usize * (6 + 1);
                let known_img = framed(kind, style, &pics[first % n], item_seed);
                let known = fp(&jpeg(&known_img, 92));
                let mut queries: Vec<(String, RgbImage)> = split
                    .uploads()
                    .iter()
                    .map(|up| (format!("copy {}", up.name()), known_img.clone()))
                    .collect();
                for p in 1..=6 {
                    queries.push((
                        format!("other {p}"),
                        framed(kind, style, &pics[(first + p) % n], item_seed),
                    ));
                }
                println!(
                    "== {} {} style {style}: known q {:?} stored regions {}",
                    kind.name(),
                    split.name(),
                    known.hashes.pdq_quality,
                    known.stored_regions.len()
                );
                for (qi, (name, img)) in queries.iter().enumerate() {
                    let up = if qi < 3 {
                        split.uploads()[qi]
                    } else {
                        split.uploads()[0]
                    };
                    let q = fp(&up.apply(img));
                    let queries_codes = q.lookup_codes(&rule);
                    let seconds = q.second_distances(known.hashes.dhash, known.hashes.phash);
                    let regions = PairRegions {
                        query: &q.query_regions,
                        stored: &known.stored_regions,
                        stored_is_known: true,
                    };
                    let facts = PairFacts {
                        closest: referral_dedup::matching::closest_distance(
                            &queries_codes,
                            known.stored_codes(),
                        ),
                        query_quality: q.hashes.pdq_quality,
                        stored_quality: known.hashes.pdq_quality,
                        seconds: &seconds,
                        regions: Some(regions),
                    };
                    let decision = rule.decide_pair(&facts);
                    let show = std::env::var_os("DIAG_ALIGN").is_some()
                        && name.starts_with("other")
                        && decision.is_some();
                    let (wq, wk) = (&q.query_regions[0].grid, &known.stored_regions[0].grid);
                    let o = order.measure(wq, wk);
                    println!(
                        "  {name:<22} {:?} closest {:?} q {:?} qregions {:?} detail {:.3} whole: dis {:.3} shared {:.3} order {}/{} {:.2}",
                        decision.map(|d| (d.tier, d.distance)),
                        facts.closest,
                        q.hashes.pdq_quality,
                        q.query_regions.iter().map(|r| r.cells).collect::<Vec<_>>(),
                        check.shared_frame_detail(&q.query_regions, &known.stored_regions),
                        check.disagreement(wq, wk),
                        check.shared_structure(wq, wk),
                        o.low_blocks,
                        o.blocks,
                        o.mean_correlation,
                    );
                    if show {
                        print_alignments(&q, &known);
                    }
                    if std::env::var_os("DIAG_GRIDS").is_some() {
                        print_grids(wq, wk);
                    }
                }
            }
        }
    }
}

/// The default rule's decision for a query fingerprint against a known item's fingerprint
/// (as the engine decides against known content added from media).
fn known_decision(
    q: &referral_dedup::engine::MediaFingerprint,
    known: &referral_dedup::engine::MediaFingerprint,
    rule: &MatchRule,
) -> Option<(referral_dedup::matching::MatchTier, u32)> {
    use referral_dedup::matching::{closest_distance, PairFacts, PairRegions};
    let codes = q.lookup_codes(rule);
    let seconds = q.second_distances(known.hashes.dhash, known.hashes.phash);
    let facts = PairFacts {
        closest: closest_distance(&codes, known.stored_codes()),
        query_quality: q.hashes.pdq_quality,
        stored_quality: known.hashes.pdq_quality,
        seconds: &seconds,
        regions: (!q.query_regions.is_empty() && !known.stored_regions.is_empty()).then_some(
            PairRegions {
                query: &q.query_regions,
                stored: &known.stored_regions,
                stored_is_known: true,
            },
        ),
    };
    rule.decide_pair(&facts).map(|d| (d.tier, d.distance))
}

/// `--known-edits`: the match-quality harness's edits of the photographs and 20 scenes,
/// decided against their clean originals by the default rule and by the rule without the
/// whole-picture template gate (`template_whole_structure` over 1): per edit, copies caught
/// by each, and every copy the default rule loses with its whole grids' statistics.
fn known_edits_diag(photos: &[(String, RgbImage)]) {
    use referral_dedup::engine::media_fingerprint_with;
    use referral_dedup::matching::{ContentCheck, RankOrderCheck, RobustOptions};
    use referral_dedup::media::HashOptions;
    let opts = HashOptions {
        dihedral: true,
        ..HashOptions::default()
    };
    let robust = RobustOptions::default();
    let rule = diag_rule();
    let check = rule.content.unwrap_or_default();
    let before = MatchRule {
        content: Some(ContentCheck {
            template_whole_structure: 2.0,
            ..ContentCheck::default()
        }),
        ..MatchRule::default()
    };
    let order = RankOrderCheck::default();
    let fp = |bytes: &[u8]| media_fingerprint_with(bytes, &opts, Some(&robust)).0;
    let mut originals: Vec<RgbImage> = photos.iter().map(|(_, i)| i.clone()).collect();
    originals.extend((0..20u64).map(|i| scene(0x5eed + i, (360, 640))));
    let rows: Vec<(String, bool, bool, String)> = edited_copies(
        &originals,
        &fp,
        &|o, name, q, known| {
            let new = known_decision(q, known, &rule);
            let old = known_decision(q, known, &before);
            let (wq, wk) = (&q.query_regions[0].grid, &known.stored_regions[0].grid);
            let m = order.measure(wq, wk);
            let info = format!(
            "original {o} known regions {} old {old:?} new {new:?} detail {:.3} whole: dis {:.3} shared {:.3} order {}/{} {:.2} regions {:?}",
            known.stored_regions.len(),
            check.shared_frame_detail(&q.query_regions, &known.stored_regions),
            check.disagreement(wq, wk),
            check.shared_structure(wq, wk),
            m.low_blocks,
            m.blocks,
            m.mean_correlation,
            q.query_regions.iter().map(|r| r.cells).collect::<Vec<_>>(),
        );
            let info = if old != new && std::env::var_os("DIAG_ALIGN").is_some() {
                info + &alignments_text(q, known)
            } else {
                info
            };
            (name, old.is_some(), new.is_some(), info)
        },
    );
    let mut per_edit: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (name, old, new, info) in &rows {
        let e = per_edit.entry(name.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(*old);
        e.2 += usize::from(*new);
        if old != new {
            println!("changed {name} {info}");
        }
    }
    for (name, (n, old, new)) in &per_edit {
        println!("edit {name:<40} {n:>4} copies, caught before {old:>4}, now {new:>4}");
    }
    let (n, old, new) = per_edit
        .values()
        .fold((0, 0, 0), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
    println!("all {n} copies, caught before {old}, now {new}");
}

/// Every alignment of `q`'s regions against `known`'s within 52 bits: regions, variant,
/// distance, disagreement in levels and rank order (for `DIAG_ALIGN`), a line each.
fn alignments_text(
    q: &referral_dedup::engine::MediaFingerprint,
    known: &referral_dedup::engine::MediaFingerprint,
) -> String {
    use referral_dedup::matching::{ContentCheck, RankOrderCheck};
    let check = ContentCheck::default();
    let order = RankOrderCheck::default();
    let mut out = String::new();
    for (qi, r) in q.query_regions.iter().enumerate() {
        for (d, code) in r.dihedral.iter().enumerate() {
            for (si, s) in known.stored_regions.iter().enumerate() {
                let distance = code.distance(&s.code);
                if distance <= 52 {
                    let g = r.grid.dihedral(d);
                    let m = order.measure(&g, &s.grid);
                    out += &format!(
                        "\n      q{qi} {:?} d{d} s{si} distance {distance} dis {:.3} order {}/{} {:.2}",
                        r.cells,
                        check.disagreement(&g, &s.grid),
                        m.low_blocks,
                        m.blocks,
                        m.mean_correlation
                    );
                }
            }
        }
    }
    out
}

/// Prints [`alignments_text`].
fn print_alignments(
    q: &referral_dedup::engine::MediaFingerprint,
    known: &referral_dedup::engine::MediaFingerprint,
) {
    println!("{}", alignments_text(q, known).trim_start_matches('\n'));
}

/// The default rule with the known-template settings from `DIAG_WS`, `DIAG_WD`, `DIAG_OD`
/// (whole structure, whole disagreement, order distance) where set, for the diagnostics.
fn diag_rule() -> MatchRule {
    let mut check = referral_dedup::matching::ContentCheck::default();
    let env = |k: &str| std::env::var(k).ok();
    if let Some(v) = env("DIAG_WS") {
        check.template_whole_structure = v.parse().expect("DIAG_WS");
    }
    if let Some(v) = env("DIAG_WD") {
        check.template_whole_disagreement = v.parse().expect("DIAG_WD");
    }
    if let Some(v) = env("DIAG_WDO") {
        check.template_whole_disagreement_out_of_order = v.parse().expect("DIAG_WDO");
    }
    if let Some(v) = env("DIAG_OD") {
        check.template_order_distance = v.parse().expect("DIAG_OD");
    }
    MatchRule {
        content: Some(check),
        ..MatchRule::default()
    }
}

/// Every match-quality edit chain applied to every original (the harness's seeds), each copy
/// fingerprinted by `fp` as a JPEG at the chain's quality, the original at quality 95; `f`
/// gets the original's number, the chain's name, the copy and the original.
fn edited_copies<T: Send>(
    originals: &[RgbImage],
    fp: &(dyn Fn(&[u8]) -> referral_dedup::engine::MediaFingerprint + Sync),
    f: &(dyn Fn(
        usize,
        String,
        &referral_dedup::engine::MediaFingerprint,
        &referral_dedup::engine::MediaFingerprint,
    ) -> T
          + Sync),
) -> Vec<T> {
    let chains = match_quality::edits();
    originals
        .par_iter()
        .enumerate()
        .flat_map_iter(|(o, img)| {
            let known = fp(&jpeg(img, 95));
            chains
                .iter()
                .enumerate()
                .map(|(e, chain)| {
                    let mut r = Rng::new(0x77 ^ ((e as u64) << 32) ^ o as u64);
                    let mut edited = img.clone();
                    let mut quality = 85;
                    for edit in chain {
                        let (next, q) = edit.apply(&edited, &mut r);
                        edited = next;
                        quality = quality.min(q);
                    }
                    let q = fp(&jpeg(&edited, quality));
                    let name: Vec<String> = chain.iter().map(|e| format!("{e:?}")).collect();
                    f(o, name.join("+"), &q, &known)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Prints two grids side by side, a row of cells a line.
fn print_grids(a: &referral_dedup::matching::LumaGrid, b: &referral_dedup::matching::LumaGrid) {
    for row in 0..16 {
        let line = |g: &[u8; 256]| {
            g[row * 16..row * 16 + 16]
                .iter()
                .map(|c| format!("{c:4}"))
                .collect::<String>()
        };
        println!("      {} | {}", line(a.cells()), line(b.cells()));
    }
}
