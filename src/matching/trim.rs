//! Border and letterbox detection: the content box of an image framed by uniform margins.
//!
//! Re-uploads often add a frame: a black or white border, letterbox or pillarbox bars to fit a
//! video aspect ratio, or the margins and bars of a screenshot. PDQ sees the frame as image
//! content, so the hash of the framed copy is far from the original's. Trimming finds the box
//! inside the frame so the box can be hashed instead.
//!
//! A row (or column) is *flat* when nearly all its pixels ([`TrimOptions::flat_fraction`]) lie
//! within [`TrimOptions::flat_tolerance`] of the line's median: JPEG noise in a bar stays well
//! inside the tolerance, and a caption or logo drawn on the bar covers too few pixels of the
//! line to count, while textured content spreads far wider. The content box is first the span from the first to the last non-flat row; when
//! that span holds several non-flat runs separated by flat gaps (a picture in a screenshot
//! with captions under it) and one run is clearly dominant, the box narrows to that run.
//! Columns are measured only inside the chosen rows, and rows are measured again inside the
//! chosen columns, so bars of one axis do not hide the edges of the other.
//!
//! Written here rather than taken from a crate: image crates offer trimming of exactly one
//! colour (no noise tolerance) and nothing for screenshot framing.

use super::LumaImage;

/// Thresholds of the border detector.
///
/// ```
/// use referral_dedup::matching::TrimOptions;
/// let o = TrimOptions::default();
/// assert!(o.flat_tolerance > 0.0 && o.min_keep < 1.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrimOptions {
    /// Luma distance from a line's median within which a pixel counts as margin colour.
    pub flat_tolerance: f32,
    /// A row or column is flat (a margin candidate) when at least this fraction of its pixels
    /// lie within [`flat_tolerance`](Self::flat_tolerance) of its median. Below 1, so that a
    /// caption or logo drawn on a bar does not make the bar content.
    pub flat_fraction: f32,
    /// The box must keep at least this fraction of each side; otherwise nothing is trimmed.
    pub min_keep: f32,
    /// Cuts smaller than this fraction of the side in total are ignored (no trim).
    pub min_cut: f32,
    /// A dominant run must cover at least this fraction of the non-flat span to be chosen.
    pub dominant_run: f32,
    /// [`frame_box`]: a line continues a margin when at least this fraction of its pixels lie
    /// within [`flat_tolerance`](Self::flat_tolerance) of the colour of that side's outermost
    /// line. Lower than [`flat_fraction`](Self::flat_fraction): a caption or logo drawn over
    /// a letterbox bar may cover a fifth of a bar's line without ending the bar.
    pub frame_fraction: f32,
}

impl Default for TrimOptions {
    fn default() -> Self {
        TrimOptions {
            flat_tolerance: 10.0,
            flat_fraction: 0.9,
            min_keep: 0.3,
            min_cut: 0.02,
            dominant_run: 0.6,
            frame_fraction: 0.8,
        }
    }
}

/// A content box `[x0, x1) x [y0, y1)` in pixels of the measured image.
///
/// ```
/// use referral_dedup::matching::TrimBox;
/// let b = TrimBox { x0: 1, y0: 2, x1: 5, y1: 4 };
/// assert_eq!((b.width(), b.height()), (4, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimBox {
    /// First column kept.
    pub x0: usize,
    /// First row kept.
    pub y0: usize,
    /// One past the last column kept.
    pub x1: usize,
    /// One past the last row kept.
    pub y1: usize,
}

impl TrimBox {
    /// Width of the box.
    ///
    /// ```
    /// # use referral_dedup::matching::TrimBox;
    /// assert_eq!(TrimBox { x0: 2, y0: 0, x1: 3, y1: 1 }.width(), 1);
    /// ```
    pub fn width(&self) -> usize {
        self.x1 - self.x0
    }

    /// Height of the box.
    ///
    /// ```
    /// # use referral_dedup::matching::TrimBox;
    /// assert_eq!(TrimBox { x0: 0, y0: 1, x1: 3, y1: 4 }.height(), 3);
    /// ```
    pub fn height(&self) -> usize {
        self.y1 - self.y0
    }
}

/// The content box inside uniform margins, or `None` when there is nothing worth trimming
/// (no margins, margins thinner than [`TrimOptions::min_cut`], or a box smaller than
/// [`TrimOptions::min_keep`], which is more likely a nearly blank picture than a frame).
///
/// ```
/// use referral_dedup::matching::{trim_box, LumaImage, TrimOptions};
/// // A 40x30 textured picture inside a 10-pixel black frame.
/// let (w, h) = (60, 50);
/// let px = (0..w * h)
///     .map(|i| {
///         let (x, y) = (i % w, i / w);
///         let inside = (10..50).contains(&x) && (10..40).contains(&y);
///         if inside { ((x * 37 + y * 91) % 200) as f32 } else { 0.0 }
///     })
///     .collect();
/// let b = trim_box(&LumaImage::new(w, h, px).unwrap(), &TrimOptions::default()).unwrap();
/// assert_eq!((b.x0, b.y0, b.x1, b.y1), (10, 10, 50, 40));
/// ```
pub fn trim_box(luma: &LumaImage, opts: &TrimOptions) -> Option<TrimBox> {
    let (w, h) = (luma.width(), luma.height());
    if w < 8 || h < 8 {
        return None;
    }
    let mut b = TrimBox {
        x0: 0,
        y0: 0,
        x1: w,
        y1: h,
    };
    for _ in 0..2 {
        let rows: Vec<bool> = (b.y0..b.y1)
            .map(|y| {
                is_flat(
                    luma.pixels()[y * w + b.x0..y * w + b.x1].iter().copied(),
                    opts,
                )
            })
            .collect();
        let (r0, r1) = content_span(&rows, opts)?;
        let (y0, y1) = (b.y0 + r0, b.y0 + r1);
        let cols: Vec<bool> = (b.x0..b.x1)
            .map(|x| is_flat((y0..y1).map(|y| luma.pixels()[y * w + x]), opts))
            .collect();
        let (c0, c1) = content_span(&cols, opts)?;
        b = TrimBox {
            x0: b.x0 + c0,
            y0,
            x1: b.x0 + c1,
            y1,
        };
    }
    let keep_ok = b.width() as f32 >= opts.min_keep * w as f32
        && b.height() as f32 >= opts.min_keep * h as f32;
    let cut = (w - b.width()) as f32 / w as f32 >= opts.min_cut
        || (h - b.height()) as f32 / h as f32 >= opts.min_cut;
    (keep_ok && cut).then_some(b)
}

fn is_flat(values: impl Iterator<Item = f32>, opts: &TrimOptions) -> bool {
    let mut v: Vec<f32> = values.collect();
    if v.is_empty() {
        return true;
    }
    let mid = v.len() / 2;
    let median = *v.select_nth_unstable_by(mid, f32::total_cmp).1;
    let near = v
        .iter()
        .filter(|&&x| (x - median).abs() <= opts.flat_tolerance)
        .count();
    near as f32 >= opts.flat_fraction * v.len() as f32
}

/// The kept span `[a, b)` of a line of flat flags: from the first to the last non-flat entry,
/// narrowed to a dominant non-flat run when one exists.
fn content_span(flat: &[bool], opts: &TrimOptions) -> Option<(usize, usize)> {
    let first = flat.iter().position(|f| !f)?;
    let last = flat.iter().rposition(|f| !f)? + 1;
    // Runs of non-flat entries, split by flat gaps of at least 2 entries (1-entry gaps are
    // noise inside content).
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = first;
    while i < last {
        let start = i;
        let mut end = i;
        let mut j = i;
        while j < last {
            if !flat[j] {
                end = j + 1;
                j += 1;
            } else {
                let gap_end = (j..last).find(|&k| !flat[k]).unwrap_or(last);
                if gap_end - j >= 2 {
                    break;
                }
                j = gap_end;
            }
        }
        runs.push((start, end));
        i = (end..last).find(|&k| !flat[k]).unwrap_or(last);
    }
    let span = (last - first) as f32;
    let best = runs.iter().copied().max_by_key(|(a, b)| b - a)?;
    if runs.len() > 1 && (best.1 - best.0) as f32 >= opts.dominant_run * span {
        Some(best)
    } else {
        Some((first, last))
    }
}

/// The box inside a uniform *frame*: on each side, the run of lines (from the edge inward)
/// that stay the colour of that side's outermost line, allowing [`TrimOptions::frame_fraction`]
/// of each line for captions or logos drawn over the frame. Unlike [`trim_box`] it does not
/// ask whether the picture inside is flat, only whether the frame's colour continues, so a
/// letterbox bar carrying part of a caption is still cut, and flat picture content of another
/// colour ends the frame. A second pass strips a nested frame (a status bar, then a
/// background); a uniform band at the picture's own edge therefore goes too, alike in an
/// original and its copies. `None` when there is no frame, it is thinner than [`TrimOptions::min_cut`], or the box
/// would keep less than [`TrimOptions::min_keep`] of a side.
///
/// ```
/// use referral_dedup::matching::{frame_box, LumaImage, TrimOptions};
/// // A picture with a flat grey wall inside it, pillarboxed by black bars 20 px wide; a white
/// // caption runs across the bottom, from the left bar into the picture.
/// let (w, h) = (100, 60);
/// let px = (0..w * h)
///     .map(|i| {
///         let (x, y) = (i % w, i / w);
///         if (50..56).contains(&y) && (5..60).contains(&x) && x % 3 != 0 {
///             255.0 // caption glyphs
///         } else if x < 20 || x >= 80 {
///             0.0 // bars
///         } else if (30..45).contains(&x) {
///             120.0 // flat wall
///         } else {
///             ((x * 37 + y * 91) % 200) as f32
///         }
///     })
///     .collect();
/// let luma = LumaImage::new(w, h, px).unwrap();
/// let b = frame_box(&luma, &TrimOptions::default()).unwrap();
/// assert_eq!((b.x0, b.y0, b.x1, b.y1), (20, 0, 80, 60));
/// ```
pub fn frame_box(luma: &LumaImage, opts: &TrimOptions) -> Option<TrimBox> {
    let (w, h) = (luma.width(), luma.height());
    if w < 8 || h < 8 {
        return None;
    }
    let px = luma.pixels();
    let mut b = TrimBox {
        x0: 0,
        y0: 0,
        x1: w,
        y1: h,
    };
    let row = |y: usize, b: &TrimBox| px[y * w + b.x0..y * w + b.x1].to_vec();
    let col = |x: usize, b: &TrimBox| (b.y0..b.y1).map(|y| px[y * w + x]).collect::<Vec<f32>>();
    for _ in 0..2 {
        // Top and bottom over the current columns, then left and right over the kept rows.
        b.y0 += frame_run((b.y0..b.y1).map(|y| row(y, &b)), opts);
        b.y1 -= frame_run((b.y0..b.y1).rev().map(|y| row(y, &b)), opts);
        if b.y1 <= b.y0 {
            return None;
        }
        b.x0 += frame_run((b.x0..b.x1).map(|x| col(x, &b)), opts);
        b.x1 -= frame_run((b.x0..b.x1).rev().map(|x| col(x, &b)), opts);
        if b.x1 <= b.x0 {
            return None;
        }
    }
    let keep_ok = b.width() as f32 >= opts.min_keep * w as f32
        && b.height() as f32 >= opts.min_keep * h as f32;
    let cut = (w - b.width()) as f32 / w as f32 >= opts.min_cut
        || (h - b.height()) as f32 / h as f32 >= opts.min_cut;
    (keep_ok && cut).then_some(b)
}

/// How many lines, from the first, belong to a frame of the first line's colour.
fn frame_run(lines: impl Iterator<Item = Vec<f32>>, opts: &TrimOptions) -> usize {
    let mut colour = None;
    let mut n = 0;
    for mut line in lines {
        if line.is_empty() {
            break;
        }
        let c = *colour.get_or_insert_with(|| {
            let mid = line.len() / 2;
            *line.select_nth_unstable_by(mid, f32::total_cmp).1
        });
        let near = line
            .iter()
            .filter(|&&v| (v - c).abs() <= opts.flat_tolerance)
            .count();
        if (near as f32) < opts.frame_fraction * line.len() as f32 {
            break;
        }
        n += 1;
    }
    n
}
