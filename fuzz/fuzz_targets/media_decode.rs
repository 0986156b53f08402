//! Decode + hash arbitrary bytes with tight limits: must return Ok or a typed error, never panic,
//! never allocate beyond the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use referral_dedup::media::{hash_bytes, HashOptions, Limits, MediaError};

fuzz_target!(|data: &[u8]| {
    let opts = HashOptions {
        limits: Limits {
            max_width: 4096,
            max_height: 4096,
            max_pixels: 1 << 20,
            max_alloc_bytes: 64 << 20,
            max_file_bytes: 1 << 20,
        },
        apply_exif_orientation: data.first().is_some_and(|b| b & 1 == 1),
        dihedral: true,
    };
    match hash_bytes(data, &opts) {
        Ok(h) => {
            assert!(u64::from(h.width) * u64::from(h.height) <= 1 << 20);
            assert!(h.pdq.quality <= 100);
            assert_eq!(h.bytes, data.len() as u64);
        }
        Err(MediaError::DecoderPanic) => panic!("decoder panicked"),
        Err(_) => {}
    }
});
