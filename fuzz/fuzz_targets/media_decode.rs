//! Decode + hash arbitrary bytes with tight limits: must return Ok or a typed error, never panic,
//! never allocate beyond the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("media_decode_check.rs");

fuzz_target!(|data: &[u8]| {
    check_media_decode(data);
});
