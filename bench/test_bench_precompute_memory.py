"""Peak memory of `fpscore precompute` against the number of images: it reads, solves and writes
one shard at a time, so the peak must not grow with the data set.

Each run is a fresh `fpscore precompute` process (`python .ci/with_package.py PKG -m fpscore`, so
it imports the fpscore this benchmark imports); its peak resident set size (ru_maxrss of that child
from os.wait4, which counts mapped file pages that were resident too) goes to extra_info in MiB.
Settings: VESDE(σ = 2), n_steps 2, shard_size 128 (the default), one solver thread, uint8
images 1×16×16.

Group precompute_memory (one row per source; the timed run is the large one):
- npy: a generated .npy of SMALL and of LARGE images (read through a memory map);
- folder: a generated ImageNet-layout folder (10 class folders of PNG files), SMALL and LARGE files.
extra_info: startup_mib (the same command with --dry-run: interpreter, numpy, fpscore, no data),
small_mib, large_mib, growth_mib = large - small, and for npy eager_large_mib, the peak when the LARGE
images are loaded eagerly (`load_array(path)`, all of them in memory) and passed to
`fpscore.precompute`: what the lazy sources save.
Flat means large_mib <= max(1.15 × small_mib, small_mib + 30 MiB). SMALL, LARGE = 1,000, 20,000;
under --benchmark-disable (the CI smoke run) 200, 2,000.

Re-run: python -m pytest bench/test_bench_precompute_memory.py --benchmark-json=bench-memory.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fpscore

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(fpscore.__file__).resolve().parent.parent
COUNTS = {"full": (1_000, 20_000), "smoke": (200, 2_000)}
SHAPE = (1, 16, 16)
CLASSES = 10
OPTIONS = ["--n-steps", "2", "--threads", "1", "--no-progress", "--channels", "1"]
MARGIN_RATIO, MARGIN_MIB = 1.15, 30.0


def _child(args: list[str]) -> list[str]:
    """The command running `python -m fpscore ARGS` or `python -c CODE` on this fpscore."""
    return [sys.executable, str(REPO / ".ci" / "with_package.py"), str(PACKAGE_DIR), *args]


def _peak_mib(command: list[str], workdir: Path) -> tuple[float, float]:
    """Run `command` to completion: (its peak resident memory in MiB, wall seconds)."""
    with open(workdir / "stdout.txt", "wb") as out, open(workdir / "stderr.txt", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({proc.returncode}):\n{(workdir / 'stderr.txt').read_text()[-2000:]}"
        )
    kib = usage.ru_maxrss / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB on Linux
    return kib / 1024, seconds


def _pixels(n: int) -> np.ndarray:
    return np.random.default_rng(n).integers(0, 256, (n, *SHAPE), dtype=np.uint8)


def _npy(folder: Path, n: int) -> Path:
    path = folder / f"images_{n}.npy"
    np.save(path, _pixels(n))
    return path


def _png_folder(folder: Path, n: int) -> Path:
    root = folder / f"train_{n}"
    for k, image in enumerate(_pixels(n)):
        cls = root / f"n{k % CLASSES:08d}"
        cls.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[0]).save(cls / f"{k:07d}.png", compress_level=1)
    return root


def _precompute(source: Path, cache: Path, workdir: Path, *extra: str) -> tuple[float, float]:
    return _peak_mib(
        _child(["-m", "fpscore", "precompute", str(source), str(cache), *OPTIONS, *extra]), workdir
    )


EAGER = """
import sys
import fpscore
images = fpscore.data.load_array(sys.argv[1], channels=1)
fpscore.precompute(images, sys.argv[2], fpscore.VESDE(2.0), n_steps=2, threads=1, progress=False)
"""


@pytest.mark.benchmark(group="precompute_memory")
@pytest.mark.parametrize("kind", ["npy", "folder"])
def test_precompute_peak_memory_is_flat(benchmark, tmp_path: Path, kind: str) -> None:
    small, large = COUNTS["smoke" if benchmark.disabled else "full"]
    make = _npy if kind == "npy" else _png_folder
    sources = {n: make(tmp_path, n) for n in (small, large)}
    startup, _ = _precompute(sources[small], tmp_path / "dry", tmp_path, "--dry-run")
    small_mib, _ = _precompute(sources[small], tmp_path / "cache_small", tmp_path)
    peaks: dict[str, float] = {}

    def large_run() -> None:
        cache = tmp_path / "cache_large"
        peaks["large"], peaks["seconds"] = _precompute(sources[large], cache, tmp_path, "--overwrite")

    benchmark.pedantic(large_run, rounds=1, iterations=1, warmup_rounds=0)
    manifest = json.loads((tmp_path / "cache_large" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["num_images"] == large
    info = {
        "small_images": small,
        "large_images": large,
        "startup_mib": round(startup, 1),
        "small_mib": round(small_mib, 1),
        "large_mib": round(peaks["large"], 1),
        "growth_mib": round(peaks["large"] - small_mib, 1),
        "large_seconds": round(peaks["seconds"], 2),
    }
    if kind == "npy":
        script = ["-c", EAGER, str(sources[large]), str(tmp_path / "cache_eager")]
        info["eager_large_mib"] = round(_peak_mib(_child(script), tmp_path)[0], 1)
    benchmark.extra_info.update(info)
    limit = max(MARGIN_RATIO * small_mib, small_mib + MARGIN_MIB)
    assert peaks["large"] <= limit, (
        f"{kind}: peak memory grew from {small_mib:.1f} MiB ({small} images) to "
        f"{peaks['large']:.1f} MiB ({large} images), above the flat limit {limit:.1f} MiB"
    )
