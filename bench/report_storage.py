"""Bytes per image and the error of float16 for each storage choice of `precompute` (docs/precompute.md).

    python bench/report_storage.py [--size 64] [--count 13]

Images: the photographs scikit-image ships (`fpscore.data.load("samples")`), resized, 3 channels.
Method: the defaults of `precompute` (VESDE(σ = 2) here, N = 20). For each choice it writes a cache
and prints its size per image (the manifest included) and, for float16, the largest error against
the float64 cache: absolute, and relative to the largest embedding displacement |xⁿ − x⁰| (what the
training signal is made of).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import fpscore


def cache_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--count", type=int, default=13)
    args = parser.parse_args()
    images = fpscore.data.load("samples", size=args.size, count=args.count, channels=3).images
    sde = fpscore.VESDE(2.0)
    choices = {
        "all 21 levels, float64": {"dtype": "float64"},
        "all 21 levels, float32 (default)": {},
        "all 21 levels, float16": {"dtype": "float16"},
        "every 4th level (6), float32": {"store_every": 4},
        "every 4th level (6), float16": {"store_every": 4, "dtype": "float16"},
        "levels 0, 10, 20, float16": {"store_levels": [0, 10, 20], "dtype": "float16"},
        "all levels + scores, float32": {"store_scores": True},
    }
    print(f"{len(images)} images 3x{args.size}x{args.size}, VESDE(2), N = 20")
    print("| choice | bytes per image | vs float32 all levels |\n|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        sizes, caches = {}, {}
        for name, options in choices.items():
            folder = Path(tmp) / f"c{len(caches)}"
            fpscore.precompute(images, folder, sde, progress=False, **options)
            sizes[name], caches[name] = cache_bytes(folder) / len(images), folder
        base = sizes["all 21 levels, float32 (default)"]
        for name, size in sizes.items():
            print(f"| {name} | {size:,.0f} | {size / base:.3f} |")

        exact = fpscore.open_cache(caches["all 21 levels, float64"])
        half = fpscore.open_cache(caches["all 21 levels, float16"])
        single = fpscore.open_cache(caches["all 21 levels, float32 (default)"])
        for label, cache in (("float16", half), ("float32", single)):
            abs_err = disp = rel_disp = 0.0
            for i in range(len(images)):
                x = np.asarray(exact.trajectory(i))
                y = np.asarray(cache.trajectory(i), dtype=np.float64)
                d = np.abs(x - x[0])
                abs_err = max(abs_err, float(np.max(np.abs(y - x))))
                disp = max(disp, float(np.max(d)))
                err_disp = np.abs((y - y[0]) - (x - x[0]))
                rel_disp = max(rel_disp, float(np.max(err_disp)) / float(np.max(d)))
            print(
                f"{label}: max |x - x64| = {abs_err:.3g}; largest displacement |xn - x0| = {disp:.3g}; "
                f"max error of the displacement / its largest value = {rel_disp:.3g}"
            )


if __name__ == "__main__":
    main()
