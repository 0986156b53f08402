#!/usr/bin/env bash
# The main job on the bundled sample data (README "Run it"): builds refdedup, loads the bundled
# known-content list into a fresh database and deduplicates the bundled backlog of referrals.
# Clusters go to target/demo/clusters.jsonl; the summary (reviews saved, known-content hits)
# is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin refdedup
bin=target/release/refdedup
out=target/demo
rm -rf "$out" && mkdir -p "$out"
"$bin" known import --db "$out/db" examples/data/known.csv > "$out/import.jsonl"
"$bin" dedup examples/data/backlog.jsonl --db "$out/db" --out "$out/clusters.jsonl"
