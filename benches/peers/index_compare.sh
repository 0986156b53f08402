#!/usr/bin/env bash
# One command: the Hamming index and FAISS on the same synthetic dump, same run, with ratios.
#
#   bash benches/peers/index_compare.sh [N] [RADIUS] [FAISS_QUERIES] [BITS]
#   (defaults: 10000000 31 200 256; THREADS=2, QUERIES=10000, DUMP=/tmp/idx-compare-N,
#    PEERS_VENV for the Python environment, SKIP_FLAT=1 / SKIP_MULTIHASH=1 to leave one out)
#
# Builds the release example, runs `match_throughput --dump` (Rust: range_batch and single
# queries, recall on a brute-force sample, work per query), then `index_peers.py` on the first
# FAISS_QUERIES queries of the same dump (FAISS IndexBinaryFlat and IndexBinaryMultiHash
# range_search), and prints the machine, the FAISS version and the qps ratios.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n="${1:-10000000}"
radius="${2:-31}"
faiss_queries="${3:-200}"
bits="${4:-256}"
threads="${THREADS:-2}"
queries="${QUERIES:-10000}"
dump="${DUMP:-/tmp/idx-compare-$n-$bits}"

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$root" && cargo build --release --example match_throughput >&2)
rust_json="$dump.rust.json"
mkdir -p "$dump"
"$root/target/release/examples/match_throughput" --n "$n" --queries "$queries" --radius "$radius" \
  --threads "$threads" --bits "$bits" --dump "$dump" | tee "$rust_json"
py="$(bash "$here/setup.sh")"
skip=()
[ "${SKIP_FLAT:-0}" = 1 ] && skip+=(--skip-flat)
[ "${SKIP_MULTIHASH:-0}" = 1 ] && skip+=(--skip-multihash)
"$py" "$here/index_peers.py" "$dump" --queries "$faiss_queries" --threads "$threads" \
  --rust "$rust_json" "${skip[@]}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
