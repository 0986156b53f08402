//! Fuzz target: arbitrary bytes as a journal and as a snapshot never panic, never allocate
//! out of proportion to the input, and what decodes re-encodes to the same bytes or state.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("store_replay_check.rs");

fuzz_target!(|data: &[u8]| check_store_bytes(data));
