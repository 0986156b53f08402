//! A cache prefetch hint and the `popcnt` instruction: the only `unsafe` in the crate (see
//! `STYLE.md`, habit 14).
//!
//! The radius search reads thousands of stored codes and table entries at random addresses per
//! query. Asking for them a few dozen items before they are used keeps many DRAM reads in
//! flight at once instead of one after another (`BENCHMARKS.md`, index section, measures the
//! gain). A prefetch is only a hint: it never faults, returns nothing and changes no program
//! state, so a wrong address costs time, never correctness. On targets without the instruction
//! (and under Miri) it is a no-op.
//!
//! The crate is built for the x86-64 baseline, which has no `popcnt` instruction, so
//! `count_ones` compiles to a dozen shifts and masks; the radius search counts bits of every
//! candidate. [`with_popcnt`] runs a search compiled a second time with the instruction when the
//! CPU has it (checked once by the standard library, cached), and the baseline code otherwise.
#![allow(unsafe_code)]

/// Work whose bit counts should use the `popcnt` instruction when the CPU has it: see
/// [`with_popcnt`]. Implementations mark [`BitCountingTask::run`] `#[inline(always)]`, so that
/// the compiler copies the whole task into the `popcnt` variant.
pub(crate) trait BitCountingTask {
    /// What the task returns.
    type Output;
    /// Does the work.
    fn run(self) -> Self::Output;
}

/// Runs `task`, compiled with the `popcnt` instruction when the CPU has it (the same result
/// either way: only `count_ones` gets faster).
#[inline(always)]
pub(crate) fn with_popcnt<T: BitCountingTask>(task: T) -> T::Output {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: `run_with_popcnt` only enables the `popcnt` target feature, and the
            // check above just confirmed that this CPU has it.
            return unsafe { run_with_popcnt(task) };
        }
    }
    task.run()
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
#[target_feature(enable = "popcnt")]
unsafe fn run_with_popcnt<T: BitCountingTask>(task: T) -> T::Output {
    task.run()
}

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
