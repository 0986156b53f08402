//! A cache prefetch hint: the only `unsafe` in the crate (see `STYLE.md`, habit 14).
//!
//! The radius search reads thousands of stored codes and table entries at random addresses per
//! query. Asking for them a few dozen items before they are used keeps many DRAM reads in
//! flight at once instead of one after another (`BENCHMARKS.md`, index section, measures the
//! gain). A prefetch is only a hint: it never faults, returns nothing and changes no program
//! state, so a wrong address costs time, never correctness. On targets without the instruction
//! (and under Miri) it is a no-op.
#![allow(unsafe_code)]

/// Hints that `slice[i]` will be read soon (no-op when `i` is out of bounds).
#[inline(always)]
pub(crate) fn prefetch<T>(slice: &[T], i: usize) {
    if let Some(item) = slice.get(i) {
        prefetch_ptr(std::ptr::from_ref(item).cast::<i8>());
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse", not(miri)))]
#[inline(always)]
fn prefetch_ptr(p: *const i8) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: `_mm_prefetch` needs the `sse` target feature, which the `cfg` above guarantees
    // (it is part of the x86_64 baseline). The instruction is a hint: it does not dereference
    // `p` architecturally, cannot fault, and `p` points into a live slice anyway.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p) }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse", not(miri))))]
#[inline(always)]
fn prefetch_ptr(_p: *const i8) {}
