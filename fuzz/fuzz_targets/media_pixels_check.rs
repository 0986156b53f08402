// The check shared by the `media_pixels` fuzz target and its corpus replay test
// (`tests/fuzz_corpus_media_pixels.rs`), included into both with `include!`.

use referral_dedup::media::{pdq_dihedral_from_luma, pdq_from_luma};

/// PDQ and its dihedral variants on a small luma buffer built from `data` (bytes 0 and 1 give
/// the size, from 0x0 up; byte 255 sometimes stands for NaN): never a panic, quality in range,
/// dihedral index 0 equal to the plain hash except on the 64x64 shortcut.
fn check_media_pixels(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let width = usize::from(data[0] % 160);
    let height = usize::from(data[1] % 160);
    let pixels = &data[2..];
    let luma: Vec<f32> = (0..width * height)
        .map(|i| {
            let b = pixels.get(i % pixels.len().max(1)).copied().unwrap_or(0);
            // Mostly 0..=255 like real luma; byte 255 stands for a non-finite value.
            if b == 255 && i % 7 == 0 {
                f32::NAN
            } else {
                f32::from(b)
            }
        })
        .collect();
    let plain = pdq_from_luma(&luma, width, height);
    let all = pdq_dihedral_from_luma(&luma, width, height);
    assert!(plain.quality <= 100);
    if !(width == 64 && height == 64) {
        assert_eq!(plain, all[0]);
    }
}
