//! Replays the committed `fuzz/corpus/media_decode/` through the fuzz target's own check
//! (decode + every hash, tight limits, dihedral on): no panic, typed errors only.

include!("../fuzz/fuzz_targets/media_decode_check.rs");

#[test]
fn replay_media_decode_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/media_decode");
    let mut n = 0;
    let mut decoded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        eprintln!("replaying {}", path.display());
        if check_media_decode(&std::fs::read(&path).unwrap()) {
            decoded += 1;
        }
        n += 1;
    }
    assert!(n >= 10, "corpus has {n} files");
    assert!(decoded >= 10, "only {decoded} corpus files decode");
}
