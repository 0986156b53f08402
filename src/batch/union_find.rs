//! Disjoint sets over `0..n` (union by size, path halving).
//!
//! Written here rather than taken from a crate: it is twenty lines, and the crates that offer it
//! (`petgraph`'s `UnionFind`, `union-find`) would add a dependency for less than this file.

/// Disjoint sets over the integers `0..len`.
///
/// ```
/// use referral_dedup::batch::UnionFind;
/// let mut sets = UnionFind::new(4);
/// sets.union(0, 2);
/// sets.union(2, 3);
/// assert_eq!(sets.find(3), sets.find(0));
/// assert_ne!(sets.find(1), sets.find(0));
/// ```
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `len` singleton sets.
    pub fn new(len: usize) -> UnionFind {
        let mut sets = UnionFind::default();
        sets.grow(len);
        sets
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Adds singleton sets until there are `len` elements.
    pub fn grow(&mut self, len: usize) {
        while self.parent.len() < len {
            self.parent.push(self.parent.len() as u32);
            self.size.push(1);
        }
    }

    /// The representative of `x`'s set.
    ///
    /// # Panics
    /// If `x` is out of range.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let grand = self.parent[self.parent[x] as usize];
            self.parent[x] = grand;
            x = grand as usize;
        }
        x
    }

    /// Merges the sets of `a` and `b`; returns false when they were already one set.
    ///
    /// # Panics
    /// If `a` or `b` is out of range.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return false;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a as u32;
        self.size[a] += self.size[b];
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_naive_labels(n in 1usize..40, pairs in proptest::collection::vec((0usize..40, 0usize..40), 0..60)) {
            let mut sets = UnionFind::new(n);
            let mut label: Vec<usize> = (0..n).collect();
            for (a, b) in pairs {
                let (a, b) = (a % n, b % n);
                sets.union(a, b);
                let (la, lb) = (label[a], label[b]);
                for l in label.iter_mut() {
                    if *l == lb { *l = la; }
                }
            }
            for i in 0..n {
                for j in 0..n {
                    prop_assert_eq!(sets.find(i) == sets.find(j), label[i] == label[j]);
                }
            }
        }
    }
}
