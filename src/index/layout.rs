//! How a segment cuts codes into substrings, and the cost model that chooses it.
//!
//! Multi-index hashing stores `m` tables, one per disjoint substring of `b` bits (substring `i`
//! is bits `i*b .. (i+1)*b`; when `m*b` is less than the code length the top bits are simply not
//! indexed, which keeps the search exact because the pigeonhole argument only needs the
//! substrings to be disjoint). If a stored code is within `r` of the query, at least one
//! substring is within `s = floor(r / m)` of the query's substring, so a query probes every
//! bucket within `s` bit flips of each query substring and verifies what it finds.
//!
//! **The choice.** A query costs about `m * P(b, s) * (c_probe + n / 2^b * c_candidate)`, where
//! `P(b, s) = sum_{k<=s} C(b, k)` is the number of buckets probed per table and `n / 2^b` the
//! expected bucket size; a linear scan costs `n * c_scan`. [`Layout::choose`] tries every `m`
//! with `b = min(32, bits / m, round(log2 n))` and keeps the cheapest, or none when a linear
//! scan is cheaper (small segments, very large radii). Capping `b` near `log2 n` keeps bucket
//! offsets at about one per stored code (lesson 1 of the measurements in `index-notes.md`).
//!
//! | codes | 256-bit, r = 31 | 256-bit, r = 47 | 256-bit, r = 63 | 64-bit, r = 10 |
//! |---|---|---|---|---|
//! | 1,000 | scan | scan | scan | scan |
//! | 16,384 | 16 x 14 | scan | scan | scan |
//! | 1M | 16 x 16 | 12 x 20 | scan | 3 x 20 |
//! | 10M | 11 x 23 | 12 x 21 | scan | 3 x 21 |
//! | 100M | 11 x 23 | 10 x 25 | scan | 3 x 21 |
//!
//! This agrees with the measurements in `index-notes.md` (16 x 16 is right at 1M, 11 x 23 at
//! 10M) and with the MIH paper's settings for 256-bit codes.
//!
//! ```
//! use referral_dedup::index::Layout;
//! let l = Layout::choose(10_000_000, 31, 256).unwrap();
//! assert_eq!((l.tables, l.bits), (11, 23));
//! assert_eq!(l.per_table_radius(31), 2);
//! assert!(Layout::choose(100, 31, 256).is_none()); // a scan is cheaper
//! ```

/// Cost of probing one bucket (random reads of its offsets and positions), in the unit of one
/// candidate verification (a random read of a stored code plus popcounts).
const COST_PROBE: f64 = 1.0;
/// Cost of verifying one candidate.
const COST_CANDIDATE: f64 = 1.0;

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

    /// The radius each table is probed with for a query at `radius`: `floor(radius / tables)`.
    pub fn per_table_radius(&self, radius: u32) -> u32 {
        radius / self.tables
    }

    /// Estimated cost of one query at `radius` over `n` codes (in candidate verifications).
    pub fn query_cost(&self, n: usize, radius: u32) -> f64 {
        let s = self.per_table_radius(radius);
        let per_bucket = n as f64 / 2f64.powi(self.bits as i32);
        f64::from(self.tables) * probes(self.bits, s) * (COST_PROBE + per_bucket * COST_CANDIDATE)
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
        assert_eq!(at(1_000_000, 31, 256), Some((16, 16)));
        assert_eq!(at(10_000_000, 47, 256), Some((12, 21)));
        assert!(at(10_000_000, 10, 64).is_some());
        // Radius near the code length: nothing beats a scan.
        assert_eq!(at(1_000_000, 120, 256), None);
        assert_eq!(at(10, 0, 64), None);
    }
}
