//! Content agreement by rank order: the second opinion of the content check, for copies whose
//! levels moved in ways no tone map undoes.
//!
//! [`super::ContentCheck`] compares cell *levels* after a tone map by rank. A greyscale copy
//! made with other luma weights than PDQ's (`0.2126 R + 0.7152 G + 0.0722 B` where PDQ takes
//! `0.299 R + 0.587 G + 0.114 B`) moves each cell by an amount that depends on its colour, so
//! no one tone map brings the levels back, and clipped highlights of a contrast edit tie
//! many cells at one level. What such copies keep is the *order* of neighbouring cells: a
//! bright cell stays brighter than its darker neighbours. [`RankOrderCheck`] splits the grid
//! into 4x4 blocks of 4x4 cells and, in every block with detail on both sides, takes the rank
//! correlation (Spearman's) of the block's sixteen cells. Two different pictures under one
//! frame agree in the frame's blocks and disagree in the content's (on the precision
//! harness's dim meme pairs: 4 to 11 blocks under 0.5, mean at most 0.52); copies of one
//! picture, greyscale and clipped ones included, have at most two such blocks (bundled
//! backlog: 0 to 2, mean at least 0.83).
//!
//! ```
//! use referral_dedup::matching::{LumaGrid, LumaImage, RankOrderCheck};
//! let picture = |f: fn(usize) -> f32| LumaGrid::of(&LumaImage::new(64, 64, (0..64 * 64).map(f).collect()).unwrap()).unwrap();
//! let a = picture(|i| ((i % 64) * 3 + (i / 64) * 2) as f32 % 97.0);
//! // The same picture through a non-linear, clipping tone curve: same order everywhere.
//! let b = picture(|i| (((i % 64) * 3 + (i / 64) * 2) as f32 % 97.0 * 2.5).min(200.0));
//! let other = picture(|i| ((i % 64) * 5 + (i / 64) * 7) as f32 % 61.0);
//! let check = RankOrderCheck::default();
//! assert!(check.agrees(&a, &b));
//! assert!(!check.agrees(&a, &other));
//! ```

use super::content::{LumaGrid, GRID};

/// Cells per side of a block.
const BLOCK: usize = 4;
/// Blocks per side of a grid.
const BLOCKS: usize = GRID / BLOCK;

/// When two aligned grids agree in the rank order of their cells, block by block.
///
/// ```
/// use referral_dedup::matching::RankOrderCheck;
/// let c = RankOrderCheck::default();
/// assert!(c.max_low_blocks < 4 && c.min_mean_correlation > c.low_correlation);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankOrderCheck {
    /// A block counts only when its luma range (max - min of its 16 cells) is at least this
    /// many levels on both sides: flat blocks (padding, bands) carry no order.
    pub min_block_range: u8,
    /// A counted block whose rank correlation is under this is a disagreeing block.
    pub low_correlation: f32,
    /// Largest number of disagreeing blocks.
    pub max_low_blocks: usize,
    /// Smallest mean rank correlation over the counted blocks.
    pub min_mean_correlation: f32,
    /// Fewest counted blocks: with fewer, order says nothing and the grids do not agree.
    pub min_blocks: usize,
}

impl Default for RankOrderCheck {
    fn default() -> Self {
        RankOrderCheck {
            min_block_range: 3,
            low_correlation: 0.5,
            max_low_blocks: 2,
            min_mean_correlation: 0.75,
            min_blocks: 6,
        }
    }
}

/// What [`RankOrderCheck::measure`] found for a pair of grids.
///
/// ```
/// use referral_dedup::matching::{LumaGrid, LumaImage, RankOrderCheck};
/// let g = LumaGrid::of(&LumaImage::new(16, 16, (0..256).map(|i| (i * 37 % 101) as f32).collect()).unwrap()).unwrap();
/// let m = RankOrderCheck::default().measure(&g, &g);
/// assert_eq!((m.blocks, m.low_blocks), (16, 0));
/// assert!((m.mean_correlation - 1.0).abs() < 1e-5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankOrder {
    /// Blocks with detail on both sides.
    pub blocks: usize,
    /// Those whose rank correlation is under [`RankOrderCheck::low_correlation`].
    pub low_blocks: usize,
    /// Mean rank correlation over the counted blocks (0 when none).
    pub mean_correlation: f32,
}

impl RankOrderCheck {
    /// Block-by-block rank correlation of two aligned grids.
    ///
    /// ```
    /// use referral_dedup::matching::{LumaGrid, LumaImage, RankOrderCheck};
    /// let flat = LumaGrid::of(&LumaImage::new(16, 16, vec![90.0; 256]).unwrap()).unwrap();
    /// assert_eq!(RankOrderCheck::default().measure(&flat, &flat).blocks, 0); // no detail, no order
    /// ```
    pub fn measure(&self, a: &LumaGrid, b: &LumaGrid) -> RankOrder {
        let (mut blocks, mut low_blocks, mut sum) = (0usize, 0usize, 0f32);
        for by in 0..BLOCKS {
            for bx in 0..BLOCKS {
                let cell = |k: usize| (by * BLOCK + k / BLOCK) * GRID + bx * BLOCK + k % BLOCK;
                let take = |g: &LumaGrid| -> [u8; BLOCK * BLOCK] {
                    std::array::from_fn(|k| g.cells()[cell(k)])
                };
                let (va, vb) = (take(a), take(b));
                if range(&va) < self.min_block_range || range(&vb) < self.min_block_range {
                    continue;
                }
                let c = rank_correlation(&va, &vb);
                blocks += 1;
                low_blocks += usize::from(c < self.low_correlation);
                sum += c;
            }
        }
        RankOrder {
            blocks,
            low_blocks,
            mean_correlation: if blocks == 0 {
                0.0
            } else {
                sum / blocks as f32
            },
        }
    }

    /// True when the aligned grids agree in order: enough counted blocks, few disagreeing
    /// ones, a high mean.
    ///
    /// ```
    /// use referral_dedup::matching::{LumaGrid, LumaImage, RankOrderCheck};
    /// let g = |f: fn(usize) -> f32| LumaGrid::of(&LumaImage::new(16, 16, (0..256).map(f).collect()).unwrap()).unwrap();
    /// let a = g(|i| (i * 37 % 101) as f32);
    /// // Brighter and with more contrast: the same order.
    /// assert!(RankOrderCheck::default().agrees(&a, &g(|i| (i * 37 % 101) as f32 * 1.5 + 20.0)));
    /// ```
    pub fn agrees(&self, a: &LumaGrid, b: &LumaGrid) -> bool {
        let m = self.measure(a, b);
        m.blocks >= self.min_blocks
            && m.low_blocks <= self.max_low_blocks
            && m.mean_correlation >= self.min_mean_correlation
    }
}

/// Largest minus smallest value.
fn range(v: &[u8]) -> u8 {
    let (lo, hi) = v
        .iter()
        .fold((u8::MAX, u8::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    hi.saturating_sub(lo)
}

/// Ranks from 0, ties sharing their mean rank.
fn ranks(v: &[u8; BLOCK * BLOCK]) -> [f32; BLOCK * BLOCK] {
    let mut order: [usize; BLOCK * BLOCK] = std::array::from_fn(|i| i);
    order.sort_by_key(|&i| v[i]);
    let mut out = [0f32; BLOCK * BLOCK];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f32 / 2.0;
        for &k in &order[i..=j] {
            out[k] = mean;
        }
        i = j + 1;
    }
    out
}

/// Spearman's rank correlation (Pearson's of the ranks, ties at their mean rank).
fn rank_correlation(a: &[u8; BLOCK * BLOCK], b: &[u8; BLOCK * BLOCK]) -> f32 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f32;
    let (ma, mb) = (ra.iter().sum::<f32>() / n, rb.iter().sum::<f32>() / n);
    let (mut sab, mut saa, mut sbb) = (0f32, 0f32, 0f32);
    for (x, y) in ra.iter().zip(&rb) {
        let (x, y) = (x - ma, y - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(f: impl Fn(usize, usize) -> u8) -> LumaGrid {
        let cells = (0..GRID * GRID)
            .map(|i| f32::from(f(i / GRID, i % GRID)))
            .collect();
        LumaGrid::of(&crate::matching::LumaImage::new(GRID, GRID, cells).unwrap()).unwrap()
    }

    /// A colour-ish picture seen through two luma weightings: `w` weights a hue term that
    /// varies per cell.
    fn weighted(w: f32) -> LumaGrid {
        grid(|y, x| {
            let base = 40.0 + 9.0 * ((x * 7 + y * 3) % 17) as f32;
            let hue = ((x * 5 + y * 11) % 7) as f32 * 4.0;
            (base + w * hue).round() as u8
        })
    }

    #[test]
    fn a_greyscale_copy_with_other_weights_agrees_in_order() {
        let c = RankOrderCheck::default();
        assert!(c.agrees(&weighted(0.0), &weighted(1.0)));
    }

    #[test]
    fn different_content_under_one_frame_disagrees_in_order() {
        // A bright band over the top quarter (identical), different dim content below.
        let framed = |seed: usize| {
            grid(|y, x| {
                if y < 4 {
                    if x % 3 == 0 {
                        30
                    } else {
                        240
                    }
                } else {
                    (20 + (x * 13 + y * 7 + seed * 31) * (seed + 3) % 9) as u8
                }
            })
        };
        let c = RankOrderCheck::default();
        let (a, b) = (framed(1), framed(2));
        let m = c.measure(&a, &b);
        assert!(!c.agrees(&a, &b), "{m:?}");
        assert!(c.agrees(&a, &a));
    }

    #[test]
    fn flat_grids_never_agree_by_order() {
        let flat = grid(|_, _| 90);
        assert!(!RankOrderCheck::default().agrees(&flat, &flat));
    }
}
