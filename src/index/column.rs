//! Large flat arrays of plain numbers (the codes, table entries and bucket offsets), backed by
//! transparent huge pages where the OS offers them.
//!
//! A radius search reads thousands of entries and codes at random addresses. With 4 KiB pages
//! nearly every such read also misses the TLB, and the page walk (two-dimensional in a virtual
//! machine) costs more than the read itself: on the project's VM, independent random reads over
//! 1 GiB took 128 ns each with 4 KiB pages and 41 ns with 2 MiB pages (`BENCHMARKS.md`, index
//! section). Columns of at least 2 MiB are therefore anonymous maps advised `MADV_HUGEPAGE`
//! (Linux; a plain `Vec` elsewhere, for small columns, or when mapping fails).

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use bytemuck::Pod;

/// Columns at least this large are mapped (one huge page).
const MAP_AT_LEAST: usize = 2 << 20;

/// A fixed-length array of `T`, in huge pages when large.
pub(crate) enum Column<T> {
    /// On the heap.
    Heap(Vec<T>),
    /// In an anonymous map advised to use huge pages, holding `len` items.
    Mapped {
        map: memmap2::MmapMut,
        len: usize,
        item: PhantomData<T>,
    },
}

impl<T: Pod> Column<T> {
    /// `len` zeroes.
    pub(crate) fn zeroed(len: usize) -> Column<T> {
        let bytes = len.saturating_mul(std::mem::size_of::<T>());
        if bytes >= MAP_AT_LEAST {
            if let Ok(map) = memmap2::MmapOptions::new().len(bytes).map_anon() {
                #[cfg(target_os = "linux")]
                let _ = map.advise(memmap2::Advice::HugePage); // a hint; without it, 4 KiB pages
                return Column::Mapped {
                    map,
                    len,
                    item: PhantomData,
                };
            }
        }
        Column::Heap(vec![T::zeroed(); len])
    }

    /// A copy of `items`.
    pub(crate) fn from_slice(items: &[T]) -> Column<T> {
        let mut column = Column::zeroed(items.len());
        column.copy_from_slice(items);
        column
    }
}

impl<T: Pod> Deref for Column<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Column::Heap(v) => v,
            Column::Mapped { map, len, .. } => {
                // A map is page-aligned and `len * size_of::<T>()` bytes long.
                &bytemuck::cast_slice(&map[..])[..*len]
            }
        }
    }
}

impl<T: Pod> DerefMut for Column<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Column::Heap(v) => v,
            Column::Mapped { map, len, .. } => &mut bytemuck::cast_slice_mut(&mut map[..])[..*len],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_columns_hold_their_items() {
        for len in [0usize, 3, 1 << 20] {
            let items: Vec<u32> = (0..len as u32).collect();
            let mut c = Column::from_slice(&items);
            assert_eq!(&c[..], &items[..]);
            if len > 0 {
                c[len - 1] = 7;
                assert_eq!(c[len - 1], 7);
            }
        }
        assert!(matches!(
            Column::<u64>::zeroed(1 << 20),
            Column::Mapped { .. }
        ));
        assert!(Column::<u16>::zeroed(5).iter().all(|&x| x == 0));
    }
}
