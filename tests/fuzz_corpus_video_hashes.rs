//! Replays the committed `fuzz/corpus/video_hashes/` through the fuzz target's own check: vPDQ
//! lines and JSON, TMK files and animations give a value or a typed error, and round-trip.

include!("../fuzz/fuzz_targets/video_hashes_check.rs");

#[test]
fn replay_video_hashes_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/video_hashes");
    let (mut n, mut accepted) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        eprintln!("replaying {}", path.display());
        accepted += check_video_hashes(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n >= 8, "corpus has {n} files");
    assert!(accepted >= 7, "only {accepted} corpus inputs parse");
}
