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

# Video: a known clip, then a trimmed, resized, re-encoded copy of it is caught with the time
# ranges it shares (skipped when ffmpeg cannot be installed).
scripts/ensure_ffmpeg.sh
if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
  life="life=s=160x120:mold=10:r=10:ratio=0.1:death_color=#C83232:life_color=#00ff00:seed=7"
  ffmpeg -nostdin -loglevel error -y -f lavfi -i "$life" -t 12 -pix_fmt yuv420p "$out/clip.mp4"
  ffmpeg -nostdin -loglevel error -y -i "$out/clip.mp4" -ss 2 -t 8 -vf scale=128:96 \
    -c:v libx264 -crf 32 "$out/clip-copy.mp4"
  "$bin" known add --db "$out/db" --label demo-videos "$out/clip.mp4" > "$out/video-add.jsonl"
  echo "== a trimmed, resized, re-encoded copy of a known video:"
  "$bin" match --db "$out/db" "$out/clip-copy.mp4"
fi
