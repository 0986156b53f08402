//! Replays the committed `fuzz/corpus/media_decode/` through the fuzz target's code path
//! (decode + every hash, tight limits, dihedral on): no panic, typed errors only.

use referral_dedup::media::{hash_bytes, HashOptions, Limits, MediaError};

#[test]
fn replay_media_decode_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/media_decode");
    let mut n = 0;
    let mut decoded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
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
        match hash_bytes(&data, &opts) {
            Ok(h) => {
                assert!(u64::from(h.width) * u64::from(h.height) <= 1 << 20);
                assert!(h.pdq.quality <= 100);
                assert_eq!(h.bytes, data.len() as u64);
                decoded += 1;
            }
            Err(MediaError::DecoderPanic) => panic!("{}: decoder panicked", path.display()),
            Err(_) => {}
        }
        n += 1;
    }
    assert!(n >= 10, "corpus has {n} files");
    assert!(decoded >= 10, "only {decoded} corpus files decode");
}
