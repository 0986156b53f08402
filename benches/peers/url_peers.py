#!/usr/bin/env python3
"""Times the peer URL normalisers on the list written by `cargo bench --bench url`.

Usage (after the Rust bench has written target/url-bench-urls.txt):
    PY=$(PEERS_VENV=/work/peers-venv bash benches/peers/setup.sh)
    $PY benches/peers/url_peers.py [target/url-bench-urls.txt]

Prints URLs per second (best of several rounds, one core) for w3lib's canonicalize_url and
url-normalize's url_normalize, and how many distinct outputs each produces on the list.
"""
import os
import sys
import time

from w3lib.url import canonicalize_url
from url_normalize import url_normalize


def rate(fn, urls, rounds=5):
    best = float("inf")
    out = None
    for _ in range(rounds):
        start = time.perf_counter()
        res = []
        for u in urls:
            try:
                res.append(fn(u))
            except Exception:  # a peer failing on an input counts as one processed URL
                res.append(None)
        best = min(best, time.perf_counter() - start)
        out = res
    return len(urls) / best, len(set(out))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "target", "url-bench-urls.txt")
    path = sys.argv[1] if len(sys.argv) > 1 else default
    with open(path, encoding="utf-8") as f:
        urls = [line.rstrip("\n") for line in f if line.strip()]
    print(f"urls: {len(urls)} from {path}")
    for name, fn in [("w3lib.canonicalize_url", canonicalize_url), ("url_normalize", url_normalize)]:
        per_s, distinct = rate(fn, urls)
        print(f"{name}: {per_s:,.0f} urls/s, {distinct} distinct outputs")


if __name__ == "__main__":
    main()
