"""Time the landmark warp (similarity + thin-plate correction) at the crop sizes in use.

The reference photo is warped onto the target face's landmarks once per restored face
(core.idfsr.conditioning.warp_reference). Prints JSON: milliseconds per warp by size.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_landmark_warp.py [--sizes 64 128 256 512]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.faces.align import canonical_template, landmark_warp  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    timings: dict[str, float] = {}
    for size in args.sizes:
        image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        dst = canonical_template(size)
        src = dst * 0.9 + rng.normal(0, size * 0.02, dst.shape) + size * 0.05
        landmark_warp(image, src, dst, size)  # imports and first-call costs
        n = max(3, 20 * 128 * 128 // (size * size))
        started = time.perf_counter()
        for _ in range(n):
            landmark_warp(image, src, dst, size)
        timings[str(size)] = round((time.perf_counter() - started) / n * 1000, 2)
    print(json.dumps({"ms_per_warp": timings}))


if __name__ == "__main__":
    main()
