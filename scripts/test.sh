#!/usr/bin/env bash
# The project's test command (README "Run the tests"). CI runs exactly this via .ci/run.
#
# Long fuzz, crash and soak runs are opt-in: `REFDEDUP_LONG=1 bash scripts/test.sh` runs every
# test in its long form (more crash rounds, longer stress) and also builds the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."

# A cold CI build gains nothing from incremental compilation, which would write gigabytes of
# session data beside the binaries.
if [ "${CI:-}" = "true" ]; then
  export CARGO_INCREMENTAL=0
fi

# Video tests need the ffmpeg programs; install them where missing (they skip if that fails).
bash scripts/ensure_ffmpeg.sh

echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy (lib, bin, tests, examples, benches)"
cargo clippy --all-targets -- -D warnings
echo "== library without the cli feature (no clap, no indicatif)"
cargo check --lib --no-default-features
echo "== unit, integration and example tests"
cargo test --all-targets
echo "== doctests"
cargo test --doc
if [ "${REFDEDUP_LONG:-0}" = "1" ]; then
  echo "== fuzz targets build (long mode)"
  if command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz; then
    (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build)
  fi
fi
echo "== disk used by target/: $(du -sh target 2>/dev/null | cut -f1)"
