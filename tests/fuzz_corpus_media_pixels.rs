//! Replays the committed `fuzz/corpus/media_pixels/` through the fuzz target's own check
//! (PDQ and dihedral PDQ on arbitrary small luma buffers).

include!("../fuzz/fuzz_targets/media_pixels_check.rs");

#[test]
fn replay_media_pixels_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/media_pixels");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        eprintln!("replaying {}", path.display());
        check_media_pixels(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n >= 5, "corpus has {n} files");
}
