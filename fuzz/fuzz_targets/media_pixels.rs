//! PDQ and its dihedral variants on arbitrary small luma buffers: any size from 0×0 up, any
//! values (including NaN and infinities), never a panic; quality in range; dihedral index 0 equals
//! the plain hash except on the 64×64 shortcut.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("media_pixels_check.rs");

fuzz_target!(|data: &[u8]| check_media_pixels(data));
