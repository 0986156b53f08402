#!/usr/bin/env python3
"""Write scikit-image's bundled photographs as PNG files, for the match-quality harness.

Usage: python export_skimage.py OUT_DIR

Only the images that ship inside the scikit-image wheel are used (nothing is downloaded). Near
duplicates among them are skipped (`chelsea` is `cat`; the right view of `stereo_motorcycle`
is almost the left one), as are binary masks, phantoms and tiny thumbnails, which are not
photographs. The harness (examples/match_quality.rs) cuts its crops and distractor tiles from
these files itself, so this script stays a plain exporter. Nothing written here is committed.
"""
import os
import sys

import numpy as np
from PIL import Image
import skimage.data as data

PHOTOS = [
    "astronaut", "camera", "cat", "clock", "coffee", "coins", "hubble_deep_field",
    "immunohistochemistry", "moon", "retina", "rocket", "brick", "grass", "gravel", "cell",
    "page", "text", "colorwheel", "logo",
]


def to_rgb8(a):
    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = np.clip(a * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    return a


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: export_skimage.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    written = 0
    for name in PHOTOS:
        try:
            img = getattr(data, name)()
        except Exception as e:  # data file not bundled in this build
            print(f"skip {name}: {e}", file=sys.stderr)
            continue
        Image.fromarray(to_rgb8(img)).save(os.path.join(out, f"{name}.png"))
        written += 1
    left, _right, _disp = data.stereo_motorcycle()
    Image.fromarray(to_rgb8(left)).save(os.path.join(out, "motorcycle.png"))
    written += 1
    print(written)


if __name__ == "__main__":
    main()
