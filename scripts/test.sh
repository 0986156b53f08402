#!/usr/bin/env bash
# The project's test command (README "Run the tests"). CI runs exactly this via .ci/run.
# Long fuzz, crash and soak runs are opt-in: REFDEDUP_LONG=1 bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --all-targets -- -D warnings
echo "== tests"
cargo test --all-targets
echo "== doctests"
cargo test --doc
echo "== benches and examples compile"
cargo bench --no-run
