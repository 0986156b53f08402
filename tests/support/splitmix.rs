//! SplitMix64: the small, well-known deterministic generator the tests, benches and examples
//! use for reproducible data (no `rand` dependency). Shared as a source file: each user
//! includes it with `#[path = ".../tests/support/splitmix.rs"] mod splitmix;` (Cargo does not
//! build files under `tests/support/` as tests of their own).

/// SplitMix64 seeded with the wrapped value.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A float in `[0, 1)` from the top 24 bits.
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A float in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` characters drawn from `alphabet`.
    pub fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| *self.pick(alphabet) as char).collect()
    }

    /// An `n`-digit decimal number without a leading zero.
    pub fn digits(&mut self, n: usize) -> String {
        let mut s = (1 + self.below(9)).to_string();
        s.push_str(&self.chars(b"0123456789", n - 1));
        s
    }
}
