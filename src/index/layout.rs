//! How a segment cuts codes into substrings, and the cost model that chooses it.
//!
//! Multi-index hashing stores `m` tables, one per disjoint substring of `b` bits (substring `i`
//! is bits `i*b .. (i+1)*b`; when `m*b` is less than the code length the top bits are simply not
//! indexed, which keeps the search exact because the pigeonhole argument only needs the
//! substrings to be disjoint).
//!
//! **Per-table radii.** Write the query radius as `r = m*s + a` with `0 <= a < m`. If a stored
//! code is within `r` of the query, then one of the first `a + 1` substrings is within `s` of the
//! query's, or one of the others is within `s - 1` (otherwise the distances would add up to at
//! least `(a+1)(s+1) + (m-a-1)s = r + 1`). So tables `0..=a` are probed at radius `s` and the
//! rest at `s - 1` (not at all when `s = 0`): [`Layout::table_radius`]. This is the MIH paper's
//! refinement of the plain `floor(r / m)` rule and probes fewer buckets whenever `a < m - 1`.
//!
//! **Coarse buckets.** A table's bucket offsets cover only the top `b - k` bits of the substring;
//! the low `k` bits are kept inline in each table entry beside the slot number
//! ([`inline_bits`] chooses `k` so a coarse bucket holds about 8 entries), so the offsets are
//! `2^k` times smaller (they stay in cache), and all the neighbours that differ only in the low
//! bits are read in one scan.
//!
//! **The choice.** A query costs about `sum_t P(b - k, s_t) * c_probe + P(b, s_t) * n / 2^b *
//! c_candidate`, where `P(b, s) = sum_{j<=s} C(b, j)` counts the values within `s` flips and `n /
//! 2^b` is the expected bucket size; a linear scan costs `n * c_scan`. [`Layout::choose`] tries
//! every `m` with `b = min(32, bits / m, round(log2 n))` and keeps the cheapest, or none when a
//! linear scan is cheaper (small segments, very large radii). Capping `b` near `log2 n` is the
//! MIH paper's rule (substrings of about `log2 n` bits) and lesson 1 of the measurements in
//! `index-notes.md`.
//!
//! | codes | 256-bit, r = 31 | 256-bit, r = 52 | 64-bit, r = 10 | 64-bit, r = 16 |
//! |---|---|---|---|---|
//! | 1,000 | scan | scan | scan | scan |
//! | 100,000 | 16 x 16 | 15 x 17 | 4 x 16 | scan |
//! | 1M | 12 x 20 | 13 x 19 | 3 x 20 | scan |
//! | 10M | 11 x 23 | 11 x 23 | 3 x 21 | 3 x 21 |
//! | 60M | 10 x 25 | 10 x 25 | 3 x 21 | 3 x 21 |
//! | 100M | 9 x 27 | 9 x 27 | 2 x 27 | 3 x 21 |
//!
//! This is close to the MIH paper's settings for 256-bit codes (about 13 substrings at 1M, 11 at
//! 10M, 10 at 100M) and to the measurements in `index-notes.md` (11 x 23 at 10M).
//!
//! ```
//! use referral_dedup::index::Layout;
//! let l = Layout::choose(10_000_000, 31, 256).unwrap();
//! assert_eq!((l.tables, l.bits), (11, 23));
//! assert_eq!(l.per_table_radius(31), 2);
//! // 31 = 11 * 2 + 9: tables 0..=9 are probed at 2, table 10 at 1.
//! assert_eq!(l.table_radius(31, 9), Some(2));
//! assert_eq!(l.table_radius(31, 10), Some(1));
//! assert!(Layout::choose(100, 31, 256).is_none()); // a scan is cheaper
//! ```

/// Cost of probing one coarse bucket (reading its offsets and its entries), in the unit of one
/// candidate verification (a random read of a stored code plus popcounts).
const COST_PROBE: f64 = 1.0;
/// Cost of verifying one candidate.
const COST_CANDIDATE: f64 = 1.0;
/// Entries a coarse bucket should hold on average (see [`inline_bits`]).
const COARSE_BUCKET_TARGET: f64 = 8.0;

/// Cost of scanning one stored code linearly (sequential read, popcount), per 64-bit word.
fn cost_scan(bits: u32) -> f64 {
    0.02 + 0.01 * f64::from(bits.div_ceil(64))
}

/// Number of bit patterns within `s` flips of a `b`-bit value: `sum_{k<=s} C(b, k)`.
fn probes(b: u32, s: u32) -> f64 {
    let mut total = 0.0;
    let mut c = 1.0f64;
    for k in 0..=s.min(b) {
        if k > 0 {
            c = c * f64::from(b - k + 1) / f64::from(k);
        }
        total += c;
    }
    total
}

/// Bits of the slot number of `n` stored codes (at least 1).
pub(crate) fn slot_bits(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// How many low bits `k` of each `bits`-bit substring a table keeps inline in its entries (beside
/// a slot number of `n` codes), so that its offsets cover `2^(bits - k)` coarse buckets of about
/// 8 entries each. Limited so that slot and low bits fit in 32 bits.
///
/// ```
/// use referral_dedup::index::inline_bits;
/// assert_eq!(inline_bits(10_000_000, 23), 3); // 1.2 codes per value, 9.5 per coarse bucket
/// assert_eq!(inline_bits(100, 16), 12); // 16 coarse buckets of about 6
/// assert_eq!(inline_bits(1 << 30, 32), 2); // 30 slot bits leave 2
/// ```
pub fn inline_bits(n: usize, bits: u32) -> u32 {
    let per_value = n.max(1) as f64 / 2f64.powi(bits as i32);
    let wanted = (COARSE_BUCKET_TARGET / per_value).log2().round().max(0.0) as u32;
    wanted.min(bits).min(32 - slot_bits(n))
}

/// A multi-index-hashing layout: `tables` disjoint substrings of `bits` bits each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Number of substrings (hash tables), `m`.
    pub tables: u32,
    /// Bits per substring, `b` (1..=32).
    pub bits: u32,
}

impl Layout {
    /// The layout with the lowest estimated query cost for `n` stored codes of `code_bits` bits
    /// queried at `radius`, or `None` when a linear scan is estimated cheaper.
    pub fn choose(n: usize, radius: u32, code_bits: u32) -> Option<Layout> {
        if n < 64 {
            return None;
        }
        let max_b = ((n as f64).log2().round() as u32).clamp(4, 32);
        let mut best: Option<(f64, Layout)> = None;
        for m in 1..=code_bits {
            let b = (code_bits / m).min(max_b);
            if b < 4 {
                break;
            }
            let layout = Layout { tables: m, bits: b };
            let cost = layout.query_cost(n, radius);
            if best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, layout));
            }
        }
        let (cost, layout) = best?;
        (cost < scan_cost(n, code_bits)).then_some(layout)
    }

    /// `floor(radius / tables)`: the largest radius any table is probed with for a query at
    /// `radius` (see [`Layout::table_radius`] for each table's).
    pub fn per_table_radius(&self, radius: u32) -> u32 {
        radius / self.tables.max(1)
    }

    /// The radius table `t` is probed with for a query at `radius`, or `None` when the table need
    /// not be probed at all: with `radius = tables * s + a`, tables `0..=a` use `s` and the
    /// others `s - 1` (see the module documentation for why this stays exact).
    pub fn table_radius(&self, radius: u32, t: u32) -> Option<u32> {
        let m = self.tables.max(1);
        let (s, a) = (radius / m, radius % m);
        if t <= a {
            Some(s)
        } else {
            s.checked_sub(1)
        }
    }

    /// Estimated cost of one query at `radius` over `n` codes (in candidate verifications).
    pub fn query_cost(&self, n: usize, radius: u32) -> f64 {
        let k = inline_bits(n, self.bits);
        let per_bucket = n as f64 / 2f64.powi(self.bits as i32);
        (0..self.tables)
            .filter_map(|t| self.table_radius(radius, t))
            .map(|s| {
                probes(self.bits - k, s) * COST_PROBE
                    + probes(self.bits, s) * per_bucket * COST_CANDIDATE
            })
            .sum()
    }
}

/// Estimated cost of a linear scan of `n` codes of `code_bits` bits.
pub(crate) fn scan_cost(n: usize, code_bits: u32) -> f64 {
    n as f64 * cost_scan(code_bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_counts_neighbours() {
        assert_eq!(probes(16, 0), 1.0);
        assert_eq!(probes(16, 1), 17.0);
        assert_eq!(probes(16, 2), 137.0);
        assert_eq!(probes(16, 3), 697.0);
        assert_eq!(probes(3, 5), 8.0);
    }

    #[test]
    fn layouts_follow_log2_n() {
        let at =
            |n: usize, r: u32, bits: u32| Layout::choose(n, r, bits).map(|l| (l.tables, l.bits));
        assert_eq!(at(10_000_000, 31, 256), Some((11, 23)));
        assert_eq!(at(1_000_000, 31, 256), Some((12, 20)));
        assert_eq!(at(100_000, 31, 256), Some((16, 16)));
        assert_eq!(at(60_000_000, 31, 256), Some((10, 25)));
        assert_eq!(at(100_000_000, 31, 256), Some((9, 27)));
        assert!(at(10_000_000, 10, 64).is_some());
        // Radius near the code length: nothing beats a scan.
        assert_eq!(at(1_000_000, 120, 256), None);
        assert_eq!(at(10, 0, 64), None);
    }

    #[test]
    fn table_radii_cover_the_radius() {
        // A code missed by every table differs by at least s_t + 1 bits on each probed table
        // (and by at least 0 on the others), which must add up to more than the radius; with
        // equality to r + 1 no table is probed more widely than needed.
        for m in 1..=16u32 {
            let l = Layout { tables: m, bits: 8 };
            for r in 0..=64u32 {
                let total: u32 = (0..m)
                    .map(|t| l.table_radius(r, t).map_or(0, |s| s + 1))
                    .sum();
                assert_eq!(total, r + 1, "m {m} r {r}");
            }
        }
    }
}
