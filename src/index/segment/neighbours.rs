//! The values within a few bit flips of a substring: the buckets a radius search probes.

/// Every value within `s` bit flips of `value` over its low `bits` bits, once each, with its
/// number of flips (`value` itself first). Depth-first over the flipped positions: a few
/// instructions per value, no division (the search lists thousands per query).
#[inline]
pub(super) fn for_each_neighbour(value: u32, bits: u32, s: u32, mut f: impl FnMut(u32, u32)) {
    f(value, 0);
    flip_from(value, 0, bits, s.min(bits), 0, &mut f);
}

/// Calls `f` for `value` with one more flip at each position `from..bits`, then recurses for
/// further flips at higher positions (at most `left` more), so each subset of positions is
/// visited exactly once.
#[inline]
fn flip_from(
    value: u32,
    from: u32,
    bits: u32,
    left: u32,
    flips: u32,
    f: &mut impl FnMut(u32, u32),
) {
    if left == 0 {
        return;
    }
    for i in from..bits {
        let v = value ^ (1 << i);
        f(v, flips + 1);
        flip_from(v, i + 1, bits, left - 1, flips + 1, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_exactly_the_ball() {
        for (bits, s) in [
            (5u32, 0u32),
            (5, 2),
            (8, 3),
            (6, 6),
            (0, 3),
            (10, 10),
            (7, 4),
        ] {
            let mut seen = Vec::new();
            for_each_neighbour(0b10110 & ((1 << bits) - 1), bits, s, |v, f| {
                assert_eq!((v ^ (0b10110 & ((1 << bits) - 1))).count_ones(), f);
                seen.push(v);
            });
            let mut expect: Vec<u32> = (0..1u32 << bits)
                .filter(|v| (v ^ (0b10110 & ((1 << bits) - 1))).count_ones() <= s)
                .collect();
            seen.sort_unstable();
            expect.sort_unstable();
            assert_eq!(seen, expect, "bits {bits} s {s}");
        }
    }
}
