//! Known content that is itself a template: a poster layout, caption bands, a page, a logo.
//!
//! Against known content the rule keeps the plain PDQ tiers (clean originals), except where
//! the query sits in the known item's template: around a box of the query, the whole pictures
//! share detail at the same level ([`ContentCheck::in_known_template`]), or, box or not, the
//! whole pictures share detail in place while their content disagrees
//! ([`ContentCheck::in_known_whole_template`]). Such a query must match through its content
//! ([`ContentCheck::closest_agreeing_known`], [`ContentCheck::closest_agreeing_known_whole`]):
//! another picture put through the known item's frame shares the frame, not the content.
//!
//! ```
//! use referral_dedup::matching::ContentCheck;
//! // Without regions (a hash-list item) nothing is shared: PDQ distances decide.
//! let c = ContentCheck::default();
//! assert!(!c.in_known_template(&[], &[]) && !c.in_known_whole_template(&[], &[]));
//! ```

use super::content::{local_range, ContentCheck, ContentMatch, QueryRegion, StoredRegion, GRID};

impl ContentCheck {
    /// Against **known content** when the query sits in the known item's template
    /// ([`ContentCheck::in_known_template`]): the closest alignment within `max_distance`
    /// that is a box of the query against the known item's whole picture within
    /// `box_distance` (a framed copy of a clean original), or the query's whole picture
    /// against a stored crop or rotation (or box) of the known item within `crop_distance`
    /// (a cropped copy), where the PDQ distance decides as for any known item; or else
    /// whose grids agree in levels. The query's whole picture, frame included, against the known item
    /// (or a box against a box or a crop of it) is where a known item that is itself a
    /// template (a poster layout, caption bands) matches *other* pictures in that template:
    /// the frame agrees, the content does not.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage, QueryRegion, StoredRegion};
    /// let grid = |seed: usize| LumaGrid::of(&LumaImage::new(32, 32, (0..1024).map(|i| ((i * 31 + seed * 977) % 200) as f32).collect()).unwrap()).unwrap();
    /// let region = |code: u64, seed: usize, cells: [u8; 4]| QueryRegion { dihedral: [Pdq([code; 4]); 8], grid: grid(seed), cells };
    /// let known = [StoredRegion { code: Pdq([0; 4]), grid: grid(0) }];
    /// let c = ContentCheck::default();
    /// // Another picture in the known template: the whole pictures are close, the content is not.
    /// assert!(c.closest_agreeing_known(&[region(1, 1, [0, 0, 16, 16]), region(!0, 2, [0, 4, 16, 12])], &known, 52, [52, 31], true).is_none());
    /// // A padded copy of the known picture: its box is the known picture.
    /// assert_eq!(c.closest_agreeing_known(&[region(!0, 1, [0, 0, 16, 16]), region(1, 3, [0, 4, 16, 12])], &known, 52, [52, 31], true).unwrap().distance, 4);
    /// ```
    pub fn closest_agreeing_known(
        &self,
        query: &[QueryRegion],
        stored: &[StoredRegion],
        max_distance: u32,
        [box_distance, crop_distance]: [u32; 2],
        dihedral: bool,
    ) -> Option<ContentMatch> {
        self.closest_by(query, stored, max_distance, dihedral, |at, _, _| {
            let box_on_whole = at.query_region > 0 && at.stored_region == 0;
            let whole_on_crop = at.query_region == 0 && at.stored_region > 0;
            (box_on_whole && at.distance <= box_distance)
                || (whole_on_crop && at.distance <= crop_distance)
        })
    }

    /// Against **known content** when the query's whole picture sits in the known item's
    /// template ([`ContentCheck::in_known_whole_template`]): as
    /// [`ContentCheck::closest_agreeing_known`], where a box of the query counts against
    /// the known whole picture only when it leaves an eighth of the grid outside it (a box
    /// cut a few pixels inside the edges is the whole picture again), and an alignment
    /// within `order_distance` also counts when its grids agree in rank order
    /// ([`ContentCheck::order`]: a cropped or watermarked copy keeps the order of its cells,
    /// another picture under the same bands does not).
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage, QueryRegion, StoredRegion};
    /// let grid = |seed: usize| LumaGrid::of(&LumaImage::new(32, 32, (0..1024).map(|i| ((i * 31 + seed * 977) % 200) as f32).collect()).unwrap()).unwrap();
    /// let region = |code: u64, seed: usize, cells: [u8; 4]| QueryRegion { dihedral: [Pdq([code; 4]); 8], grid: grid(seed), cells };
    /// let known = [StoredRegion { code: Pdq([0; 4]), grid: grid(0) }];
    /// let c = ContentCheck::default();
    /// // Another picture, its "box" the whole picture: not a framed copy.
    /// assert!(c.closest_agreeing_known_whole(&[region(!0, 1, [0, 0, 16, 16]), region(1, 2, [0, 0, 16, 16])], &known, 52, [52, 31, 31], true).is_none());
    /// // A padded copy: its box inside the padding is the known picture.
    /// assert_eq!(c.closest_agreeing_known_whole(&[region(!0, 1, [0, 0, 16, 16]), region(1, 3, [0, 4, 16, 12])], &known, 52, [52, 31, 31], true).unwrap().distance, 4);
    /// ```
    pub fn closest_agreeing_known_whole(
        &self,
        query: &[QueryRegion],
        stored: &[StoredRegion],
        max_distance: u32,
        [box_distance, crop_distance, order_distance]: [u32; 3],
        dihedral: bool,
    ) -> Option<ContentMatch> {
        self.closest_by(query, stored, max_distance, dihedral, |at, a, b| {
            let box_on_whole = at.stored_region == 0
                && at.query_region > 0
                && query
                    .get(at.query_region)
                    .is_some_and(|r| is_inner_box(r.cells));
            let whole_on_crop = at.query_region == 0 && at.stored_region > 0;
            (box_on_whole && at.distance <= box_distance)
                || (whole_on_crop && at.distance <= crop_distance)
                || (at.distance <= order_distance && self.order.is_some_and(|o| o.agrees(a, b)))
        })
    }

    /// The share of grid cells, outside a box of the query, where the query's whole picture
    /// and the stored whole picture carry the same detail: a local luma range of at least
    /// [`ContentCheck::shift_min_range`] on both sides and levels within half of
    /// [`ContentCheck::cell_tolerance`], untouched by any tone map (the largest over the
    /// query's boxes; 0 without a box). Caption text, a poster's title bar, a page's chrome
    /// around the box: the query sits in the same template as the stored picture. A box
    /// the trimmer cut from a photo's flat border has no detail around it, and an edited
    /// copy (cropped, tone-mapped) does not keep its levels in place.
    ///
    /// ```
    /// use referral_dedup::hashes::Pdq;
    /// use referral_dedup::matching::{ContentCheck, LumaGrid, LumaImage, QueryRegion, StoredRegion};
    /// // Text-like detail in the top and bottom 3 rows of cells, a flat picture between.
    /// let framed = LumaGrid::of(&LumaImage::new(64, 64, (0..4096).map(|i| if (i / 64) < 12 || (i / 64) >= 52 { ((i % 64) / 4 % 2 * 200) as f32 } else { 90.0 }).collect()).unwrap()).unwrap();
    /// let region = |cells| QueryRegion { dihedral: [Pdq([0; 4]); 8], grid: framed, cells };
    /// let query = [region([0, 0, 16, 16]), region([0, 3, 16, 13])];
    /// let stored = [StoredRegion { code: Pdq([0; 4]), grid: framed }];
    /// let c = ContentCheck::default();
    /// assert!(c.shared_frame_detail(&query, &stored) > 0.3);
    /// assert_eq!(c.shared_frame_detail(&query[..1], &stored), 0.0);
    /// ```
    pub fn shared_frame_detail(&self, query: &[QueryRegion], stored: &[StoredRegion]) -> f32 {
        let (Some(whole), Some(known)) = (query.first(), stored.first()) else {
            return 0.0;
        };
        let (fa, fb) = (
            whole.grid.cells().map(f32::from),
            known.grid.cells().map(f32::from),
        );
        let detailed_and_same = |cy: usize, cx: usize| {
            let i = cy * GRID + cx;
            local_range(&fa, cy, cx).min(local_range(&fb, cy, cx)) >= self.shift_min_range
                && (fa[i] - fb[i]).abs() <= self.cell_tolerance / 2.0
        };
        query
            .iter()
            .skip(1)
            .map(|r| {
                let [x0, y0, x1, y1] = r.cells.map(usize::from);
                let mut shared = 0usize;
                for cy in 0..GRID {
                    for cx in 0..GRID {
                        let inside = (x0..x1).contains(&cx) && (y0..y1).contains(&cy);
                        shared += usize::from(!inside && detailed_and_same(cy, cx));
                    }
                }
                shared as f32 / (GRID * GRID) as f32
            })
            .fold(0.0, f32::max)
    }

    /// Whether a query against known content is checked by
    /// [`ContentCheck::closest_agreeing_known`]: around one of its boxes it shares detail
    /// with the known item ([`ContentCheck::shared_frame_detail`] at least
    /// [`ContentCheck::template_frame_detail`]): the known item is a template the query
    /// sits in.
    ///
    /// ```
    /// use referral_dedup::matching::ContentCheck;
    /// // Without regions (a hash-list item, or a query without boxes) nothing is shared.
    /// assert!(!ContentCheck::default().in_known_template(&[], &[]));
    /// ```
    pub fn in_known_template(&self, query: &[QueryRegion], stored: &[StoredRegion]) -> bool {
        self.template_frame_detail <= 1.0
            && self.shared_frame_detail(query, stored) >= self.template_frame_detail
    }

    /// Whether a query against known content sits in the known item's template as a whole
    /// picture, box or not (checked by [`ContentCheck::closest_agreeing_known_whole`]): the
    /// whole pictures share detail at the same place and level
    /// ([`ContentCheck::shared_structure`] at least
    /// [`ContentCheck::template_whole_structure`]: the frame) and still disagree on more
    /// than [`ContentCheck::template_whole_disagreement`] of their cells after the tone map
    /// (the content). Copies of the known item agree on nearly every cell; a crop or a
    /// watermark moves a few.
    ///
    /// ```
    /// use referral_dedup::matching::ContentCheck;
    /// assert!(!ContentCheck::default().in_known_whole_template(&[], &[]));
    /// ```
    pub fn in_known_whole_template(&self, query: &[QueryRegion], stored: &[StoredRegion]) -> bool {
        self.template_whole_structure <= 1.0
            && query.first().zip(stored.first()).is_some_and(|(q, s)| {
                let disagreement = self.disagreement(&q.grid, &s.grid);
                let out_of_order = || !self.order.is_some_and(|o| o.agrees(&q.grid, &s.grid));
                self.shared_structure(&q.grid, &s.grid) >= self.template_whole_structure
                    && (disagreement > self.template_whole_disagreement
                        || (disagreement > self.template_whole_disagreement_out_of_order
                            && out_of_order()))
            })
    }
}

/// Whether a query box (in cells of the whole picture's grid) leaves at least an eighth of
/// the grid outside it: a box the trimmer cut a few pixels from the edges (a thin border, a
/// page's margin) is the whole picture again, not a framed copy's content.
fn is_inner_box([x0, y0, x1, y1]: [u8; 4]) -> bool {
    let area = usize::from(x1.saturating_sub(x0)) * usize::from(y1.saturating_sub(y0));
    area * 8 <= GRID * GRID * 7
}
