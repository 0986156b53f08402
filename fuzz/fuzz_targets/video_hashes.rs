//! vPDQ lines, vPDQ JSON, TMK files and animations from arbitrary bytes: a value or a typed
//! error, never a panic; whatever parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("video_hashes_check.rs");

fuzz_target!(|data: &[u8]| {
    check_video_hashes(data);
});
