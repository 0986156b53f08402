//! PDQ against the reference core on images this project generated itself
//! (`tests/data/media/`, expected values from PyPI `pdqhash`; see that folder's README).
//! PNGs must match bit for bit with the same quality; JPEGs (a different decoder than Pillow's
//! libjpeg-turbo) within 4 bits.

use std::path::Path;

use referral_dedup::hashes::Pdq;
use referral_dedup::media::{decode, hash_file, pdq_from_image, HashOptions};

#[test]
fn generated_images_match_reference_core() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/media");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut checked = 0;
    for line in table.lines().skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, want, want_q): (&str, Pdq, u8) =
            (cols[0], cols[1].parse().unwrap(), cols[2].parse().unwrap());
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let img = decode(&bytes, &HashOptions::default()).unwrap();
        let got = pdq_from_image(&img);
        let d = got.hash.distance(&want);
        if file.ends_with(".png") {
            assert_eq!(
                (got.hash, got.quality),
                (want, want_q),
                "{file}: {d} bits off"
            );
        } else {
            assert!(d <= 4, "{file}: {d} bits off");
        }
        // The one-call path gives the same PDQ.
        assert_eq!(
            hash_file(&dir.join(file), &HashOptions::default())
                .unwrap()
                .pdq,
            got
        );
        checked += 1;
    }
    assert_eq!(checked, 10);
}
