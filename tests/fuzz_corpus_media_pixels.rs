//! Replays the committed `fuzz/corpus/media_pixels/` through the fuzz target's code path
//! (PDQ and dihedral PDQ on arbitrary small luma buffers).

use referral_dedup::media::{pdq_dihedral_from_luma, pdq_from_luma};

#[test]
fn replay_media_pixels_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/media_pixels");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        n += 1;
        if data.len() < 2 {
            continue;
        }
        let width = usize::from(data[0] % 160);
        let height = usize::from(data[1] % 160);
        let pixels = &data[2..];
        let luma: Vec<f32> = (0..width * height)
            .map(|i| {
                let b = pixels.get(i % pixels.len().max(1)).copied().unwrap_or(0);
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
    assert!(n >= 5, "corpus has {n} files");
}
