"""Peer timings for benches/media.rs: Meta's reference PDQ (PyPI pdqhash) and imagehash.

Usage: media_peers.py DIR REPEATS
Reads the images benches/media.rs wrote into DIR and prints one line per case,
`name<TAB>milliseconds per operation` (median of REPEATS timed runs, one core).
"""
import io
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import imagehash  # noqa: E402
import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
from PIL import Image  # noqa: E402


def median_ms(fn, repeats):
    fn()  # warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(times)


def full_pipeline(data):
    im = Image.open(io.BytesIO(data))
    rgb = im.convert("RGB")
    pdqhash.compute(np.asarray(rgb))
    imagehash.dhash(rgb)
    imagehash.phash(rgb)


def main():
    d, repeats = sys.argv[1], int(sys.argv[2])
    for side in (512, 1024):
        arr = np.asarray(Image.open(os.path.join(d, f"scene-{side}.png")).convert("RGB"))
        print(f"pdq_pixels_{side}\t{median_ms(lambda: pdqhash.compute(arr), repeats):.3f}")
    arr = np.asarray(Image.open(os.path.join(d, "scene-1024.png")).convert("RGB"))
    print(f"pdq_dihedral_pixels_1024\t{median_ms(lambda: pdqhash.compute_dihedral(arr), repeats):.3f}")
    im = Image.open(os.path.join(d, "scene-1024x768.png")).convert("RGB")
    im.load()
    print(f"dhash_1024x768\t{median_ms(lambda: imagehash.dhash(im), repeats):.3f}")
    print(f"phash_1024x768\t{median_ms(lambda: imagehash.phash(im), repeats):.3f}")
    for name in ("scene-1024x768.jpg", "scene-1024x768.png"):
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        ext = name.rsplit(".", 1)[1]
        print(f"full_{ext}_1024x768\t{median_ms(lambda: full_pipeline(data), repeats):.3f}")


if __name__ == "__main__":
    main()
