//! Content over frame: a perceptual match must rest on the picture, not on the frame around it.
//!
//! Two *different* pictures put through the same frame (a social-media page, meme caption bands,
//! padding with a caption, a poster layout, a logo, semi-transparent stripes) share most of
//! their pixels, so their whole-image PDQ hashes can be close although their content differs.
//! What tells them apart is *where* they differ: the frame agrees, the content region does not.
//!
//! Every region a code is computed from (the whole picture, its trimmed and framed boxes, the
//! stored crops and rotations of known content) also keeps a [`LumaGrid`]: the mean luma of a
//! 16x16 grid of cells over the region (squashed to a square, as PDQ squashes it). For a
//! candidate pair, [`ContentCheck::closest_agreeing`] looks at every alignment whose PDQ codes
//! are within the tier's bound (query region and dihedral variant against stored region),
//! brings the grids into that alignment, tone maps one onto the other by rank (histogram
//! matching: brightness, contrast, gamma and greyscale edits cancel) and counts the cells that
//! disagree: a cell disagrees when no cell of the other grid within one cell of it is within
//! [`ContentCheck::cell_tolerance`] luma levels. The alignment counts only when at most
//! [`ContentCheck::max_disagreement`] of the cells disagree (5%; on the harness, different
//! pictures in one frame disagreed on at least 7% of the cells at this tolerance, copies of
//! one picture on none). A shared frame cannot hide a
//! content region: however much of the picture the frame covers, the cells of the content
//! region disagree when the content differs. Edits that keep the picture (re-encoding,
//! rescaling, tone changes, mirrors through the matching dihedral variant, small shifts) leave
//! the cells in place.
//!
//! Levels are not all a copy keeps: a greyscale copy made with other luma weights moves each
//! cell by its colour, which no tone map undoes; its cells keep their *order* instead, which
//! [`ContentCheck::closest_agreeing_in_level_or_order`] also accepts (the rule uses it within
//! the strict tier where the levels-only check is not asked for; [`super::RankOrderCheck`]).
//! Against known content, a query that shares the known item's detail around its own
//! content box sits in the known item's template ([`ContentCheck::in_known_template`]) and
//! must agree with it in content ([`ContentCheck::closest_agreeing_known`]); without a box,
//! a query whose whole picture shares the known item's detail in place while its content
//! disagrees sits there too ([`ContentCheck::in_known_whole_template`],
//! [`ContentCheck::closest_agreeing_known_whole`]).
//!
//! Thresholds: measured on the precision harness (`examples/precision.rs`, `BENCHMARKS.md`).
//!
//! ```
//! use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage};
//! // A picture lit from the left and one lit from the top: same tones, different places.
//! let across = LumaImage::new(64, 64, (0..64 * 64).map(|i| (i % 64 * 4) as f32).collect()).unwrap();
//! let down = LumaImage::new(64, 64, (0..64 * 64).map(|i| (i / 64 * 4) as f32).collect()).unwrap();
//! let (a, b) = (LumaGrid::of(&across).unwrap(), LumaGrid::of(&down).unwrap());
//! let check = ContentCheck::default();
//! assert!(check.agrees(&a, &a));
//! assert!(!check.agrees(&a, &b));
//! ```

use super::order::RankOrderCheck;
use super::LumaImage;
use crate::hashes::Pdq;

/// Cells per side of a [`LumaGrid`].
pub const GRID: usize = 16;

/// Mean luma of a 16x16 grid of cells over a picture or region (row-major, 0..=255).
///
/// ```
/// use referral_dedup::matching::{LumaGrid, LumaImage};
/// let g = LumaGrid::of(&LumaImage::new(32, 32, vec![200.0; 32 * 32]).unwrap()).unwrap();
/// assert!(g.cells().iter().all(|&c| c == 200));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LumaGrid([u8; GRID * GRID]);

impl std::fmt::Debug for LumaGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LumaGrid(mean {})",
            self.0.iter().map(|&c| u32::from(c)).sum::<u32>() / 256
        )
    }
}

impl LumaGrid {
    /// The grid of a luma picture; `None` when a side is under 5 pixels (PDQ's minimum).
    ///
    /// ```
    /// use referral_dedup::matching::{LumaGrid, LumaImage};
    /// assert!(LumaGrid::of(&LumaImage::new(4, 40, vec![0.0; 160]).unwrap()).is_none());
    /// ```
    pub fn of(luma: &LumaImage) -> Option<LumaGrid> {
        let (w, h) = (luma.width(), luma.height());
        if w < 5 || h < 5 {
            return None;
        }
        let px = luma.pixels();
        let bounds = |n: usize, c: usize| {
            let a = c * n / GRID;
            (a, ((c + 1) * n / GRID).max(a + 1).min(n))
        };
        let mut cells = [0u8; GRID * GRID];
        for cy in 0..GRID {
            let (y0, y1) = bounds(h, cy);
            for cx in 0..GRID {
                let (x0, x1) = bounds(w, cx);
                let mut sum = 0f32;
                for y in y0..y1 {
                    sum += px[y * w + x0..y * w + x1].iter().sum::<f32>();
                }
                let mean = sum / ((y1 - y0) * (x1 - x0)) as f32;
                cells[cy * GRID + cx] = mean.round().clamp(0.0, 255.0) as u8;
            }
        }
        Some(LumaGrid(cells))
    }

    /// The cells, row-major.
    pub fn cells(&self) -> &[u8; GRID * GRID] {
        &self.0
    }

    /// The grid of the picture transformed like PDQ's dihedral variant `d` (the order of
    /// [`crate::media::DIHEDRAL_NAMES`]: original, rot90 (counter-clockwise), rot180, rot270,
    /// top-bottom flip, left-right mirror, main-diagonal and anti-diagonal transposes).
    ///
    /// ```
    /// use referral_dedup::matching::{LumaGrid, LumaImage};
    /// let l = LumaImage::new(16, 16, (0..256).map(|i| i as f32).collect()).unwrap();
    /// let g = LumaGrid::of(&l).unwrap();
    /// assert_eq!(g.dihedral(5).cells()[0], 15); // the mirror starts with the top-right cell
    /// assert_eq!(g.dihedral(1).dihedral(3), g);
    /// ```
    pub fn dihedral(&self, d: usize) -> LumaGrid {
        let n = GRID - 1;
        let g = &self.0;
        let at = |y: usize, x: usize| g[y * GRID + x];
        let mut out = [0u8; GRID * GRID];
        for y in 0..GRID {
            for x in 0..GRID {
                out[y * GRID + x] = match d % 8 {
                    0 => at(y, x),
                    1 => at(x, n - y),
                    2 => at(n - y, n - x),
                    3 => at(n - x, y),
                    4 => at(n - y, x),
                    5 => at(y, n - x),
                    6 => at(x, y),
                    _ => at(n - x, n - y),
                };
            }
        }
        LumaGrid(out)
    }
}

/// When the content of two aligned regions agrees.
///
/// ```
/// use referral_dedup::matching::ContentCheck;
/// let c = ContentCheck::default();
/// assert!(c.max_disagreement < 0.1 && c.cell_tolerance > 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContentCheck {
    /// Luma difference (0..=255 levels, after the tone map) above which a cell disagrees
    /// with every cell within one cell of it in the other grid.
    pub cell_tolerance: f32,
    /// Largest fraction of disagreeing cells for the regions to agree.
    pub max_disagreement: f32,
    /// Where the grids are locally flat, the tolerance shrinks to this share of the local
    /// contrast (the luma range of the cell and its neighbours, the larger of the two
    /// sides), down to [`ContentCheck::flat_tolerance`]: a dim, low-contrast picture spans
    /// only a few levels, so two different dim pictures under one bright frame differ by
    /// less than `cell_tolerance` almost everywhere.
    pub local_contrast_share: f32,
    /// The smallest tolerance (luma levels), in flat cells; `cell_tolerance` or more: a
    /// fixed tolerance.
    pub flat_tolerance: f32,
    /// Cells whose local contrast is under this many levels are compared with their own
    /// counterpart only, not with its neighbours: a shift of a fraction of a cell barely moves
    /// a flat cell, while among nine neighbours of washed-out, textureless content one is
    /// almost always within a couple of levels of any value (two different washed-out
    /// pictures under one frame agreed that way).
    pub shift_min_range: f32,
    /// The second opinion where levels cannot decide ([`RankOrderCheck`]: copies whose
    /// levels moved by colour, such as greyscale conversions with other luma weights), used
    /// by [`ContentCheck::closest_agreeing_in_level_or_order`]; `None`: levels only.
    pub order: Option<RankOrderCheck>,
    /// Against known content, a query sharing at least this share of detailed cells with
    /// the known item around one of its boxes sits in the known item's template and is
    /// checked by [`ContentCheck::closest_agreeing_known`]
    /// ([`ContentCheck::in_known_template`]); over 1: known content is decided on PDQ
    /// distances.
    pub template_frame_detail: f32,
    /// Against known content, a query whose *whole* picture shares at least this share of
    /// cells with detail at the same place and level with the known item's whole picture
    /// ([`ContentCheck::shared_structure`]) also sits in the known item's template, whether
    /// or not its trimmer found a box ([`ContentCheck::in_known_whole_template`]): dim content
    /// under caption bands is as flat as the bands, and a page or a logo may fill the whole
    /// picture, so no box separates frame from content, but the frame is where both whole
    /// pictures keep their detail at one level. Over 1: only boxes decide.
    pub template_whole_structure: f32,
    /// With [`ContentCheck::template_whole_structure`]: the whole pictures must also
    /// disagree on more than this share of cells for the query to sit in the template.
    pub template_whole_disagreement: f32,
    /// The same, when the whole pictures also disagree in rank order
    /// ([`ContentCheck::order`]): content that differs in levels and in order.
    pub template_whole_disagreement_out_of_order: f32,
    /// In a known item's template as a whole picture, an alignment within this PDQ distance
    /// also counts when its grids agree in rank order.
    pub template_order_distance: u32,
}

impl Default for ContentCheck {
    fn default() -> Self {
        ContentCheck {
            cell_tolerance: 6.0,
            max_disagreement: 0.05,
            local_contrast_share: 0.2,
            flat_tolerance: 2.0,
            shift_min_range: 18.0,
            order: Some(RankOrderCheck::default()),
            template_frame_detail: 0.09,
            template_whole_structure: 0.1,
            template_whole_disagreement: 0.3,
            template_whole_disagreement_out_of_order: 0.15,
            template_order_distance: 52,
        }
    }
}

/// A region of a query: its eight dihedral PDQ codes (identity first) and its grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryRegion {
    /// PDQ of the region and of its seven rotations and mirrors.
    pub dihedral: [Pdq; 8],
    /// The region's grid (untransformed).
    pub grid: LumaGrid,
    /// Where the region lies in the whole picture, in cells of the whole picture's grid:
    /// `[x0, y0, x1, y1]`, ends exclusive (`[0, 0, 16, 16]` for the whole picture; a box
    /// inside caption bands, padding or a page layout covers less).
    pub cells: [u8; 4],
}

/// A stored PDQ code and the grid of the picture it was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRegion {
    /// The stored code.
    pub code: Pdq,
    /// The grid of the region the code was computed from.
    pub grid: LumaGrid,
}

/// Which regions an alignment puts side by side, and their PDQ distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Alignment {
    pub(super) distance: u32,
    /// Index into the query's regions (0: the whole picture).
    pub(super) query_region: usize,
    /// Index into the stored regions (0: the whole picture).
    pub(super) stored_region: usize,
}

/// The closest alignment of two items whose content agrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContentMatch {
    /// PDQ distance of that alignment.
    pub distance: u32,
    /// Fraction of its grid cells that disagree.
    pub disagreement: f32,
}

impl ContentCheck {
    /// Fraction of cells of `a` and `b` (already aligned) that disagree: `a` is first tone
    /// mapped onto `b` by rank (so brightness, contrast and gamma edits do not count), then a
    /// cell disagrees when no cell within one cell of it on the other
    /// side comes within [`ContentCheck::cell_tolerance`] luma levels, either way (less where
    /// the grids are locally flat: [`ContentCheck::local_contrast_share`]; flat cells are
    /// compared with their own counterpart only: [`ContentCheck::shift_min_range`]). The same
    /// is done with `b` mapped onto `a`, and the larger fraction counts: mapped onto a
    /// near-flat picture, any picture turns flat.
    ///
    /// ```
    /// use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage};
    /// let g = LumaGrid::of(&LumaImage::new(16, 16, (0..256).map(|i| (i % 23 * 11) as f32).collect()).unwrap()).unwrap();
    /// assert_eq!(ContentCheck::default().disagreement(&g, &g), 0.0);
    /// ```
    pub fn disagreement(&self, a: &LumaGrid, b: &LumaGrid) -> f32 {
        self.one_way(a, b).max(self.one_way(b, a))
    }

    /// [`ContentCheck::disagreement`] with `a` tone mapped onto `b` only.
    fn one_way(&self, a: &LumaGrid, b: &LumaGrid) -> f32 {
        let n = (GRID * GRID) as f32;
        let fb: [f32; GRID * GRID] = b.0.map(f32::from);
        // Tone map a onto b by rank (histogram matching): the cell of a with the k-th
        // smallest value takes the k-th smallest value of b. Any monotone tone change
        // (brightness, contrast, gamma, greyscale) cancels; where the two differ in place,
        // the difference stays.
        let mut order: Vec<usize> = (0..GRID * GRID).collect();
        order.sort_by_key(|&i| (a.0[i], i));
        let mut sorted_b = b.0;
        sorted_b.sort_unstable();
        let mut mapped = [0f32; GRID * GRID];
        for (k, &i) in order.iter().enumerate() {
            mapped[i] = f32::from(sorted_b[k]);
        }
        let near = |x: &[f32; GRID * GRID], y: &[f32; GRID * GRID], cy: usize, cx: usize| {
            let v = x[cy * GRID + cx];
            let mut best = f32::INFINITY;
            for yy in cy.saturating_sub(1)..(cy + 2).min(GRID) {
                for xx in cx.saturating_sub(1)..(cx + 2).min(GRID) {
                    best = best.min((v - y[yy * GRID + xx]).abs());
                }
            }
            best
        };
        let range = local_range;
        let mut bad = 0usize;
        for cy in 0..GRID {
            for cx in 0..GRID {
                let local = range(&mapped, cy, cx).max(range(&fb, cy, cx));
                let tolerance = (self.local_contrast_share * local).clamp(
                    self.flat_tolerance.min(self.cell_tolerance),
                    self.cell_tolerance,
                );
                let e = if local < self.shift_min_range {
                    (mapped[cy * GRID + cx] - fb[cy * GRID + cx]).abs()
                } else {
                    near(&mapped, &fb, cy, cx).max(near(&fb, &mapped, cy, cx))
                };
                bad += usize::from(e > tolerance);
            }
        }
        bad as f32 / n
    }

    /// Fraction of cells where both aligned grids carry detail (a local luma range of at least
    /// [`ContentCheck::shift_min_range`] on each side) and hold the same level, untouched by
    /// any tone map (within half of [`ContentCheck::cell_tolerance`]): structure in the same
    /// place at the same level. A shared frame (caption text, page chrome, a poster's title
    /// bar) gives many such cells; a crop or a rotation moves the structure off its cells, a
    /// tone edit moves its levels.
    ///
    /// ```
    /// use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage};
    /// let g = LumaGrid::of(&LumaImage::new(16, 16, (0..256).map(|i| (i % 2 * 200) as f32).collect()).unwrap()).unwrap();
    /// let flat = LumaGrid::of(&LumaImage::new(16, 16, vec![90.0; 256]).unwrap()).unwrap();
    /// let c = ContentCheck::default();
    /// assert_eq!(c.shared_structure(&g, &g), 1.0);
    /// assert_eq!(c.shared_structure(&flat, &flat), 0.0);
    /// ```
    pub fn shared_structure(&self, a: &LumaGrid, b: &LumaGrid) -> f32 {
        let (fa, fb) = (a.0.map(f32::from), b.0.map(f32::from));
        let mut shared = 0usize;
        for cy in 0..GRID {
            for cx in 0..GRID {
                let i = cy * GRID + cx;
                let detailed =
                    local_range(&fa, cy, cx).min(local_range(&fb, cy, cx)) >= self.shift_min_range;
                shared +=
                    usize::from(detailed && (fa[i] - fb[i]).abs() <= self.cell_tolerance / 2.0);
            }
        }
        shared as f32 / (GRID * GRID) as f32
    }

    /// True when the aligned grids agree ([`ContentCheck::disagreement`] at most
    /// [`ContentCheck::max_disagreement`]).
    pub fn agrees(&self, a: &LumaGrid, b: &LumaGrid) -> bool {
        self.disagreement(a, b) <= self.max_disagreement
    }

    /// The smallest PDQ distance, at most `max_distance`, of an alignment (query region and
    /// dihedral variant against stored region) whose content agrees; `None` when no
    /// alignment within the bound agrees. With `dihedral` false only the identity variant
    /// is tried.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage, QueryRegion, StoredRegion};
    /// let grid = |seed: usize| LumaGrid::of(&LumaImage::new(32, 32, (0..1024).map(|i| ((i * 31 + seed * 977) % 200) as f32).collect()).unwrap()).unwrap();
    /// let q = [QueryRegion { dihedral: [Pdq([0; 4]); 8], grid: grid(1), cells: [0, 0, 16, 16] }];
    /// let same = [StoredRegion { code: Pdq([1, 0, 0, 0]), grid: grid(1) }];
    /// let framed_other = [StoredRegion { code: Pdq([1, 0, 0, 0]), grid: grid(2) }];
    /// let c = ContentCheck::default();
    /// assert_eq!(c.closest_agreeing(&q, &same, 31, true).unwrap().distance, 1);
    /// assert!(c.closest_agreeing(&q, &framed_other, 31, true).is_none());
    /// ```
    pub fn closest_agreeing(
        &self,
        query: &[QueryRegion],
        stored: &[StoredRegion],
        max_distance: u32,
        dihedral: bool,
    ) -> Option<ContentMatch> {
        self.closest_by(query, stored, max_distance, dihedral, |_, _, _| false)
    }

    /// [`ContentCheck::closest_agreeing`], where an alignment within `order_distance` also
    /// counts when its grids agree in rank order ([`ContentCheck::order`], block by block)
    /// though not in levels: a greyscale copy made with other luma weights, whose levels
    /// moved by colour. Without [`ContentCheck::order`], the same as `closest_agreeing`.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage, QueryRegion, StoredRegion};
    /// // One cell per pixel: a base picture plus a per-cell "colour" term that two luma
    /// // weightings see differently.
    /// let grid = |hue_weight: f32| LumaGrid::of(&LumaImage::new(16, 16, (0..256).map(|i| {
    ///     let (x, y) = (i % 16, i / 16);
    ///     (40 + 9 * ((x * 7 + y * 3) % 17)) as f32 + hue_weight * ((x * 5 + y * 11) % 7) as f32
    /// }).collect()).unwrap()).unwrap();
    /// let (colour, grey) = (grid(4.0), grid(0.0));
    /// let q = [QueryRegion { dihedral: [Pdq([0; 4]); 8], grid: grey, cells: [0, 0, 16, 16] }];
    /// let s = [StoredRegion { code: Pdq([1, 0, 0, 0]), grid: colour }];
    /// let c = ContentCheck::default();
    /// assert!(c.closest_agreeing(&q, &s, 31, true).is_none());
    /// assert_eq!(c.closest_agreeing_in_level_or_order(&q, &s, 52, 31, true).unwrap().distance, 1);
    /// ```
    pub fn closest_agreeing_in_level_or_order(
        &self,
        query: &[QueryRegion],
        stored: &[StoredRegion],
        max_distance: u32,
        order_distance: u32,
        dihedral: bool,
    ) -> Option<ContentMatch> {
        self.closest_in_level_or_order_where(
            query,
            stored,
            [max_distance, order_distance],
            dihedral,
            |_| true,
        )
    }

    /// The closest alignment within `max_distance` agreeing in levels or, when `orderable`
    /// and within `order_distance`, in rank order ([`ContentCheck::order`]; levels only
    /// without it).
    fn closest_in_level_or_order_where(
        &self,
        query: &[QueryRegion],
        stored: &[StoredRegion],
        [max_distance, order_distance]: [u32; 2],
        dihedral: bool,
        orderable: impl Fn(Alignment) -> bool,
    ) -> Option<ContentMatch> {
        let Some(order) = self.order else {
            return self.closest_agreeing(query, stored, max_distance, dihedral);
        };
        self.closest_by(query, stored, max_distance, dihedral, |at, a, b| {
            orderable(at) && at.distance <= order_distance && order.agrees(a, b)
        })
    }

    /// [`ContentCheck::closest_agreeing`] for two framed pictures, where an alignment of a
    /// box of the query with a box of the stored side within `order_distance` also counts
    /// when their grids agree in rank order ([`ContentCheck::order`]). Two uploads of one
    /// picture in a page layout, brightened or rescaled, can have boxes cut a cell apart by
    /// the trimmer whose levels miss by a few cells (held-out page re-uploads: 5-11% of
    /// cells off, every block in order); the boxes of two different pictures in one layout
    /// hold different content, whose order differs. Whole pictures are not asked for order:
    /// a page or poster layout that fills most blocks keeps its order around any picture.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage, QueryRegion, StoredRegion};
    /// let grid = |f: &dyn Fn(usize) -> f32| LumaGrid::of(&LumaImage::new(16, 16, (0..256).map(f).collect()).unwrap()).unwrap();
    /// let base = grid(&|i| ((i % 16) * 7 + (i / 16) * 5) as f32 % 90.0);
    /// // The same content with every other block of 4x4 cells brightened: no one tone map
    /// // brings the levels back, every block keeps its order.
    /// let clipped = grid(&|i| ((i % 16) * 7 + (i / 16) * 5) as f32 % 90.0 + 60.0 * ((i % 16 / 4 + i / 64) % 2) as f32);
    /// let whole = grid(&|i| (i * 37 % 101) as f32);
    /// let q = [QueryRegion { dihedral: [Pdq([0; 4]); 8], grid: whole, cells: [0, 0, 16, 16] }, QueryRegion { dihedral: [Pdq([0; 4]); 8], grid: clipped, cells: [1, 0, 13, 16] }];
    /// let s = [StoredRegion { code: Pdq([!0; 4]), grid: whole }, StoredRegion { code: Pdq([1, 0, 0, 0]), grid: base }];
    /// let c = ContentCheck::default();
    /// assert!(c.closest_agreeing(&q[1..], &s[1..], 31, false).is_none());
    /// assert_eq!(c.closest_agreeing_in_level_or_box_order(&q, &s, 31, 31, false).unwrap().distance, 1);
    /// ```
    pub fn closest_agreeing_in_level_or_box_order(
        &self,
        query: &[QueryRegion],
        stored: &[StoredRegion],
        max_distance: u32,
        order_distance: u32,
        dihedral: bool,
    ) -> Option<ContentMatch> {
        self.closest_in_level_or_order_where(
            query,
            stored,
            [max_distance, order_distance],
            dihedral,
            |at| at.query_region > 0 && at.stored_region > 0,
        )
    }

    /// Whether the *content boxes* of two framed pictures (query regions and stored regions
    /// after the first: trimmed and framed boxes) clearly disagree: their closest alignment
    /// is within `max_distance` and its grids disagree in levels on more than twice
    /// [`ContentCheck::max_disagreement`] of their cells and do not agree in rank order
    /// ([`ContentCheck::order`]). Two copies' boxes cut a cell apart by the trimmer
    /// disagree on a few cells (7% on a held-out page re-upload), not on a quarter. Padding or bands that fill most of both pictures let the
    /// whole pictures agree in levels (held-out padded captions around washed-out pictures:
    /// at most 5% of cells off) while the boxes inside disagree on a quarter of their cells;
    /// copies of one picture agree in their boxes too.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage, QueryRegion, StoredRegion};
    /// let grid = |seed: usize| LumaGrid::of(&LumaImage::new(32, 32, (0..1024).map(|i| ((i * 31 + seed * 977) % 200) as f32).collect()).unwrap()).unwrap();
    /// let whole = grid(0);
    /// let q = [QueryRegion { dihedral: [Pdq([0; 4]); 8], grid: whole, cells: [0, 0, 16, 16] }, QueryRegion { dihedral: [Pdq([0; 4]); 8], grid: grid(1), cells: [0, 3, 16, 13] }];
    /// let same = [StoredRegion { code: Pdq([0; 4]), grid: whole }, StoredRegion { code: Pdq([1, 0, 0, 0]), grid: grid(1) }];
    /// let other = [same[0], StoredRegion { code: Pdq([1, 0, 0, 0]), grid: grid(2) }];
    /// let c = ContentCheck::default();
    /// assert!(!c.boxes_disagree(&q, &same, 31, true));
    /// assert!(c.boxes_disagree(&q, &other, 31, true));
    /// ```
    pub fn boxes_disagree(
        &self,
        query: &[QueryRegion],
        stored: &[StoredRegion],
        max_distance: u32,
        dihedral: bool,
    ) -> bool {
        let variants = if dihedral { 8 } else { 1 };
        let mut closest: Option<(u32, usize, usize, usize)> = None;
        for (qi, q) in query.iter().enumerate().skip(1) {
            for (d, code) in q.dihedral.iter().enumerate().take(variants) {
                for (si, s) in stored.iter().enumerate().skip(1) {
                    let candidate = (code.distance(&s.code), qi, d, si);
                    if candidate.0 <= max_distance && closest.is_none_or(|c| candidate < c) {
                        closest = Some(candidate);
                    }
                }
            }
        }
        closest.is_some_and(|(_, qi, d, si)| {
            let (a, b) = (query[qi].grid.dihedral(d), stored[si].grid);
            self.disagreement(&a, &b) > 2.0 * self.max_disagreement
                && !self.order.is_some_and(|o| o.agrees(&a, &b))
        })
    }

    /// The closest alignment within `max_distance` whose grids agree in levels or, failing
    /// that, by `also(alignment, query grid, stored grid)`.
    pub(super) fn closest_by(
        &self,
        query: &[QueryRegion],
        stored: &[StoredRegion],
        max_distance: u32,
        dihedral: bool,
        also: impl Fn(Alignment, &LumaGrid, &LumaGrid) -> bool,
    ) -> Option<ContentMatch> {
        let variants = if dihedral { 8 } else { 1 };
        let mut candidates: Vec<(u32, usize, usize, usize)> = Vec::new();
        for (qi, q) in query.iter().enumerate() {
            for (d, code) in q.dihedral.iter().enumerate().take(variants) {
                for (si, s) in stored.iter().enumerate() {
                    let distance = code.distance(&s.code);
                    if distance <= max_distance {
                        candidates.push((distance, qi, d, si));
                    }
                }
            }
        }
        candidates.sort_unstable();
        candidates.into_iter().find_map(|(distance, qi, d, si)| {
            let grid = query[qi].grid.dihedral(d);
            let disagreement = self.disagreement(&grid, &stored[si].grid);
            let alignment = Alignment {
                distance,
                query_region: qi,
                stored_region: si,
            };
            (disagreement <= self.max_disagreement || also(alignment, &grid, &stored[si].grid))
                .then_some(ContentMatch {
                    distance,
                    disagreement,
                })
        })
    }
}

/// The luma range of a cell and its neighbours.
pub(super) fn local_range(x: &[f32; GRID * GRID], cy: usize, cx: usize) -> f32 {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for yy in cy.saturating_sub(1)..(cy + 2).min(GRID) {
        for xx in cx.saturating_sub(1)..(cx + 2).min(GRID) {
            lo = lo.min(x[yy * GRID + xx]);
            hi = hi.max(x[yy * GRID + xx]);
        }
    }
    hi - lo
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid with a bright caption band in its bottom three rows (the frame) and `content`
    /// (row, column) above it.
    fn framed(content: impl Fn(usize, usize) -> f32) -> LumaGrid {
        let mut cells = [0u8; GRID * GRID];
        for y in 0..GRID {
            for x in 0..GRID {
                cells[y * GRID + x] = if y >= GRID - 3 {
                    if y == GRID - 2 && x % 3 == 0 {
                        20
                    } else {
                        250
                    }
                } else {
                    content(y, x).round().clamp(0.0, 255.0) as u8
                };
            }
        }
        LumaGrid(cells)
    }

    /// Deterministic texture noise of +-3 levels.
    fn noise(y: usize, x: usize, seed: usize) -> f32 {
        let h = ((y * GRID + x) as u64 + ((seed as u64) << 16)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        ((h >> 32) % 7) as f32 - 3.0
    }

    #[test]
    fn a_flat_picture_does_not_absorb_another_through_the_tone_map() {
        // A dim picture with a gradient and a near-flat one under the same band: tone mapped
        // onto the flat one, the gradient becomes flat; the other way round it does not.
        let structured = framed(|y, x| 70.0 + 2.0 * x as f32 + y as f32);
        let flat = framed(|y, x| 80.0 + noise(y, x, 1) / 3.0);
        let c = ContentCheck::default();
        assert!(!c.agrees(&structured, &flat));
        assert!(!c.agrees(&flat, &structured));
    }

    #[test]
    fn two_washed_out_pictures_at_different_levels_disagree() {
        // Textureless content at 160 and at 140 under one frame: the tone map brings the
        // levels together; the remaining texture is different and must not be matched
        // against the best of nine neighbours.
        let a = framed(|y, x| 160.0 + noise(y, x, 1));
        let b = framed(|y, x| 140.0 + noise(y, x, 2));
        let c = ContentCheck::default();
        assert!(c.disagreement(&a, &b) > c.max_disagreement);
        // With every cell matched against its neighbours, as before, they agreed.
        let everywhere = ContentCheck {
            shift_min_range: 0.0,
            ..c
        };
        assert!(everywhere.agrees(&a, &b));
    }

    #[test]
    fn copies_of_a_washed_out_picture_agree() {
        // The same texture, brightened by 12 levels and re-encoded (+-1 level).
        let a = framed(|y, x| 140.0 + noise(y, x, 1));
        let b = framed(|y, x| 152.0 + noise(y, x, 1) + ((y + x) % 3) as f32 / 2.0 - 0.5);
        let c = ContentCheck::default();
        assert!(c.agrees(&a, &b), "{}", c.disagreement(&a, &b));
        assert!(c.agrees(&b, &a));
    }

    #[test]
    fn another_picture_in_a_known_frame_sits_in_its_template_a_copy_does_not() {
        let c = ContentCheck::default();
        let whole = |grid| QueryRegion {
            dihedral: [Pdq([0; 4]); 8],
            grid,
            cells: [0, 0, 16, 16],
        };
        let stored = |grid| StoredRegion {
            code: Pdq([0; 4]),
            grid,
        };
        let known = framed(|y, x| 60.0 + 9.0 * ((x + y) % 5) as f32);
        let other = framed(|y, x| 200.0 - 9.0 * ((x * 3 + y) % 7) as f32);
        let copy = framed(|y, x| 61.0 + 9.0 * ((x + y) % 5) as f32);
        assert!(c.in_known_whole_template(&[whole(other)], &[stored(known)]));
        assert!(!c.in_known_whole_template(&[whole(copy)], &[stored(known)]));
        // No alignment of the other picture agrees: it is not the known item.
        assert!(c
            .closest_agreeing_known_whole(&[whole(other)], &[stored(known)], 52, [52, 31, 52], true)
            .is_none());
        // Without the frame (nothing shared in place), the query is not in the template.
        let plain = LumaGrid([90; GRID * GRID]);
        assert!(!c.in_known_whole_template(&[whole(plain)], &[stored(known)]));
    }

    #[test]
    fn shared_structure_counts_detail_at_the_same_place_and_level() {
        let c = ContentCheck::default();
        let a = framed(|y, x| 60.0 + 9.0 * ((x + y) % 5) as f32);
        let other = framed(|y, x| 200.0 - 9.0 * ((x * 3 + y) % 7) as f32);
        // Only the band (three rows with a dark mark every third cell) is shared detail.
        let shared = c.shared_structure(&a, &other);
        assert!(shared > 0.05 && shared < 0.2, "{shared}");
        assert!(c.shared_structure(&a, &a) > 0.8);
    }
}
