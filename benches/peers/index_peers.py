#!/usr/bin/env python3
"""FAISS on the same codes and queries as `examples/match_throughput.rs --dump DIR`.

Runs IndexBinaryFlat and IndexBinaryMultiHash range_search (the HMA / python-threatexchange
setup: 16 hashes of 16 bits, nflip = radius // 16 for 256-bit codes) and prints one JSON line
per index with its queries per second and total hits, for comparison with the Rust index in
the same run. FAISS range_search returns distances strictly below the radius, so radius + 1 is
passed for "at most radius".

    PEERS_VENV=/work/peers-venv
    py=$(bash benches/peers/setup.sh)
    $py benches/peers/index_peers.py DIR [--queries 1000] [--threads 2] [--skip-flat]
        [--rust RUST_JSON_FILE]

With `--rust FILE` (the JSON line `match_throughput` printed for the same dump) it also prints
one line per index with the Rust index's queries per second divided by FAISS's (`ratio`), and
whether both returned the same hits on the timed queries. `benches/peers/index_compare.sh` runs
the whole comparison in one command.
"""

import argparse
import json
import os
import sys
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--queries", type=int, default=1000, help="queries timed per index")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--skip-flat", action="store_true")
    ap.add_argument("--skip-multihash", action="store_true")
    ap.add_argument("--rust", help="file holding match_throughput's JSON line for this dump")
    args = ap.parse_args()

    import faiss

    meta = json.load(open(os.path.join(args.dir, "meta.json")))
    bits = meta["bits"]
    radius = meta["radius"]
    threads = args.threads or meta["threads"]
    faiss.omp_set_num_threads(threads)
    nbytes = bits // 8
    codes = np.fromfile(os.path.join(args.dir, "codes.bin"), dtype=np.uint8).reshape(-1, nbytes)
    queries = np.fromfile(os.path.join(args.dir, "queries.bin"), dtype=np.uint8).reshape(-1, nbytes)
    queries = queries[: args.queries]
    nq = len(queries)
    print(f"faiss {faiss.__version__}: {len(codes)} codes, {nq} queries, radius {radius}, "
          f"{threads} threads", file=sys.stderr)

    indexes = []
    if not args.skip_flat:
        indexes.append(("IndexBinaryFlat", lambda: faiss.IndexBinaryFlat(bits)))
    if not args.skip_multihash:
        b = 16 if bits >= 64 else 8
        nhash = bits // b

        def multihash():
            idx = faiss.IndexBinaryMultiHash(bits, nhash, b)
            idx.nflip = radius // nhash if bits == 64 else radius // 16
            return idx

        indexes.append((f"IndexBinaryMultiHash({bits},{nhash},{b})", multihash))

    rust = None
    if args.rust:
        lines = [l for l in open(args.rust) if l.startswith("{")]
        rust = json.loads(lines[-1])

    for name, make in indexes:
        t0 = time.perf_counter()
        idx = make()
        idx.add(codes)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        c0 = time.process_time()
        lims, _dist, _ids = idx.range_search(queries, radius + 1)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - c0
        hits = int(lims[-1])
        rust_hits = sum(meta["hits_per_query"][:nq])
        qps = nq / elapsed
        print(json.dumps({
            "index": name, "faiss": faiss.__version__, "n": len(codes), "queries": nq,
            "radius": radius, "threads": threads, "qps": round(qps, 1),
            "queries_per_cpu_s": round(nq / max(cpu, 1e-9), 1), "total_hits": hits,
            "rust_hits": rust_hits, "same_hits": hits == rust_hits, "build_s": round(build_s, 3),
        }), flush=True)
        if rust is not None:
            print(json.dumps({
                "ratio": f"referral-dedup range_batch / FAISS {name}",
                "rust_qps": rust["qps"], "faiss_qps": round(qps, 1),
                "ratio_batch": round(rust["qps"] / qps, 1),
                "ratio_single": round(rust.get("qps_single", 0) / qps, 1),
                "same_hits": hits == rust_hits,
            }), flush=True)
        del idx
    return 0


if __name__ == "__main__":
    sys.exit(main())
