// The check shared by the `media_decode` fuzz target and its corpus replay test
// (`tests/fuzz_corpus_media_decode.rs`), included into both with `include!`.

use referral_dedup::media::{hash_bytes, HashOptions, Limits, MediaError};

/// Decodes and hashes `data` with tight limits (EXIF orientation chosen by the first byte,
/// dihedral on): `Ok` must respect the limits, errors must be typed, and the decoder must never
/// panic. Returns true when the bytes decoded.
fn check_media_decode(data: &[u8]) -> bool {
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
            true
        }
        Err(MediaError::DecoderPanic) => panic!("decoder panicked"),
        Err(_) => false,
    }
}
