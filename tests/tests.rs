//! The integration tests, folded into one test binary (ripgrep's `tests/tests.rs` layout): each
//! file beside this one is a module here, so the crate and its dependencies are linked once instead
//! of once per file, which keeps a cold CI build's time and disk use down. Run one file's tests with
//! `cargo test --test integration MODULE::` (for example `cargo test --test integration store_crash::`).

// examples/precision.rs includes examples/match_quality.rs itself, so that file is compiled
// twice here (once per harness); both copies are wanted.
#![allow(clippy::duplicate_mod)]

// Helpers shared by several modules.
#[allow(dead_code)]
#[path = "support/splitmix.rs"]
mod splitmix;

// The examples' harnesses, which some modules run on small inputs (the precision harness
// carries the match-quality harness as its `match_quality` module).
#[allow(dead_code)]
#[path = "../examples/precision.rs"]
mod precision_harness;

mod batch_dedup;
mod cli_safety;
mod cli_sample_data;
mod cli_video;
mod engine_api;
mod engine_intake_service;
mod engine_persisted_regions;
mod fuzz_corpus_media_decode;
mod fuzz_corpus_media_pixels;
mod fuzz_corpus_store_replay;
mod fuzz_corpus_url_key;
mod fuzz_corpus_video_hashes;
mod index_concurrency;
mod index_engine_file;
mod index_file;
mod index_hamming;
mod index_reference;
mod matching_quality;
mod media_cli_hash;
mod media_hostile;
mod media_modes;
mod media_pdq_generated;
mod media_pdq_reference;
mod precision;
mod store_compat;
mod store_corruption;
mod store_crash;
mod store_damage_exhaustive;
mod store_roundtrip;
mod store_safety;
mod url_cli;
mod url_hosts;
mod url_keys;
mod url_mix_keys;
mod url_props;
mod url_safebrowsing;
mod video_engine;
mod video_hostile;
mod video_reference;
