//! The [`Code`] trait: what the Hamming index needs from a binary code.

use crate::hashes::{Hash64, Pdq};

/// A fixed-length binary code the [`HammingIndex`](super::HammingIndex) can store.
///
/// Bits are numbered `0..BITS`; multi-index hashing cuts the code into consecutive substrings
/// read with [`Code::substring`].
///
/// ```
/// use referral_dedup::hashes::{Hash64, Pdq};
/// use referral_dedup::index::Code;
/// assert_eq!(<Pdq as Code>::BITS, 256);
/// assert_eq!(Code::distance(&Hash64(0b1010), &Hash64(0)), 2);
/// assert_eq!(Hash64(0xabcd).substring(4, 8), 0xbc);
/// let p = Pdq([1 << 63, 1, 0, 0]);
/// assert_eq!(p.substring(63, 2), 0b11); // spans lanes 0 and 1
/// ```
pub trait Code: Copy + Send + Sync + Eq + std::fmt::Debug + 'static {
    /// Number of bits in the code.
    const BITS: u32;

    /// Hamming distance: the number of differing bits.
    fn distance(&self, other: &Self) -> u32;

    /// Bits `start .. start + len` as an integer (bit `start` is the least significant).
    /// Requires `1 <= len <= 32` and `start + len <= BITS`.
    fn substring(&self, start: u32, len: u32) -> u32;

    /// The `k`-th 64-bit word of the code (`k < BITS / 64`), bit `64k + j` at bit `j`.
    fn word(&self, k: usize) -> u64;

    /// The code whose words are `words` (the inverse of [`Code::word`]); missing words are 0.
    fn from_words(words: &[u64]) -> Self;
}

#[inline]
fn mask(len: u32) -> u64 {
    if len >= 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    }
}

impl Code for Pdq {
    const BITS: u32 = 256;

    #[inline]
    fn distance(&self, other: &Self) -> u32 {
        Pdq::distance(self, other)
    }

    #[inline]
    fn substring(&self, start: u32, len: u32) -> u32 {
        debug_assert!((1..=32).contains(&len) && start + len <= 256);
        let lane = (start / 64) as usize;
        let off = start % 64;
        let mut v = self.0[lane] >> off;
        if off + len > 64 {
            v |= self.0[lane + 1] << (64 - off);
        }
        (v & mask(len)) as u32
    }

    #[inline]
    fn word(&self, k: usize) -> u64 {
        self.0[k]
    }

    fn from_words(words: &[u64]) -> Self {
        let mut lanes = [0u64; 4];
        for (slot, w) in lanes.iter_mut().zip(words) {
            *slot = *w;
        }
        Pdq(lanes)
    }
}

impl Code for Hash64 {
    const BITS: u32 = 64;

    #[inline]
    fn distance(&self, other: &Self) -> u32 {
        Hash64::distance(self, other)
    }

    #[inline]
    fn substring(&self, start: u32, len: u32) -> u32 {
        debug_assert!((1..=32).contains(&len) && start + len <= 64);
        ((self.0 >> start) & mask(len)) as u32
    }

    #[inline]
    fn word(&self, _k: usize) -> u64 {
        self.0
    }

    fn from_words(words: &[u64]) -> Self {
        Hash64(words.first().copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_matches_bit_by_bit_reading() {
        let p = Pdq([
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
            0xdead_beef_f00d_cafe,
            0x1357_9bdf_2468_ace0,
        ]);
        for start in [0u32, 5, 40, 60, 63, 64, 100, 127, 200, 224] {
            for len in [1u32, 7, 23, 32] {
                if start + len > 256 {
                    continue;
                }
                let mut expect = 0u32;
                for j in 0..len {
                    if p.bit((start + j) as usize) {
                        expect |= 1 << j;
                    }
                }
                assert_eq!(p.substring(start, len), expect, "start {start} len {len}");
            }
        }
        let h = Hash64(0x8000_0000_0000_0001);
        assert_eq!(h.substring(0, 1), 1);
        assert_eq!(h.substring(32, 32), 0x8000_0000);
        assert_eq!(Pdq::from_words(&[1, 2]), Pdq([1, 2, 0, 0]));
        assert_eq!(Hash64::from_words(&[9]).word(0), 9);
    }
}
