// Shared by the `video_hashes` fuzz target and its corpus replay test
// (tests/fuzz_corpus_video_hashes.rs): arbitrary bytes as a vPDQ hash file in both exchange
// forms, as a TMK file and as an animation must give a value or a typed error, never a panic or an
// unbounded allocation; whatever parses must round-trip.

use referral_dedup::video::{
    vpdq_from_animation, DecodeLimits, TmkFeatures, VideoHash, VpdqOptions,
};

/// Returns how many of the four readers accepted the input.
pub fn check_video_hashes(data: &[u8]) -> usize {
    let mut accepted = 0;
    let text = String::from_utf8_lossy(data);
    if let Ok(v) = VideoHash::parse_reference(&text) {
        let back = VideoHash::parse_reference(&v.to_reference()).expect("written lines parse");
        assert_eq!(back.frames.len(), v.frames.len());
        for (a, b) in v.frames.iter().zip(&back.frames) {
            assert_eq!((a.frame_number, a.quality, a.pdq), (b.frame_number, b.quality, b.pdq));
        }
        accepted += 1;
    }
    if let Ok(v) = VideoHash::parse_json(&text) {
        let back = VideoHash::parse_json(&v.to_json()).expect("a written list parses");
        assert_eq!(back.frames.len(), v.frames.len());
        accepted += 1;
    }
    if let Ok(t) = TmkFeatures::from_bytes(data) {
        assert_eq!(t.to_bytes(), data, "a TMK file round-trips byte for byte");
        let _ = t.level1_score(&t);
        accepted += 1;
    }
    let tight = VpdqOptions {
        seconds_per_hash: 0.0,
        size: None,
        limits: DecodeLimits {
            max_frames: 64,
            max_pixels: 1 << 20,
            max_file_bytes: 1 << 20,
            ..DecodeLimits::default()
        },
    };
    if vpdq_from_animation(data, &tight).is_ok() {
        accepted += 1;
    }
    accepted
}
