"""Pre-computation throughput on one machine, by scale-out path (docs/scale-out.md).

IMAGES images of 3×64×64 (random, seeded), VESDE(σ = 2), N = 20, the defaults of `precompute`,
shards of 32 images (8 shards: enough tasks for two workers, each long enough to hide a task's
overhead), each shard solved with one solver thread unless said:
- one_process: `precompute` in this process, threads=1 (the reference of every ratio);
- one_process_threads: the same with the solver on every core (threads=None);
- parts: os.cpu_count() processes `fpscore precompute --shard i/n` at once, then `merge-caches`
  (process start-up and the merge included);
- dask_1 / dask_k: a `LocalCluster` of 1 or os.cpu_count() worker processes (one task thread each),
  started before the timing, `precompute(scheduler="dask")`.
extra_info: images/s and speed_up against one_process from the same run (when it ran first).
Every path's cache equals one_process's, bit for bit (checked). Under --benchmark-disable (the CI
smoke run) each path runs once on fewer images.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import fpscore

IMAGES, SMOKE_IMAGES = 256, 16
OPTIONS = {"shard_size": 32, "progress": False}
SDE = fpscore.VESDE(2.0)
CORES = os.cpu_count() or 1


@pytest.fixture(scope="module")
def shared() -> dict[str, object]:
    return {}


def _images(benchmark) -> np.ndarray:
    n = SMOKE_IMAGES if benchmark.disabled else IMAGES
    return np.random.default_rng(0).random((n, 3, 64, 64)).astype(np.float32)


def _shards(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cache.glob("embedded_*.npy"))}


def _run(benchmark, shared, name: str, compute) -> None:
    """Time compute(images, folder) on fresh folders (it returns where the cache is, when not the
    folder itself); check the cache against one_process's."""
    images = _images(benchmark)
    work = Path(tempfile.mkdtemp(prefix=f"fpscore-bench-{name}-"))
    counter = iter(range(1000))

    def once() -> Path:
        cache = work / f"c{next(counter)}"
        return compute(images, cache) or cache

    try:
        cache = benchmark.pedantic(once, rounds=1 if benchmark.disabled else 3, iterations=1)
        files = _shards(cache)
        if "reference_files" in shared and shared["reference_n"] == len(images):
            assert files == shared["reference_files"], f"{name}: the cache differs from one process's"
        if name == "one_process":
            shared.update(reference_files=files, reference_n=len(images))
        if benchmark.stats:
            seconds = benchmark.stats.stats.median
            if name == "one_process":
                shared["reference_s"] = seconds
            benchmark.extra_info.update(images=len(images), images_per_s=len(images) / seconds, cores=CORES)
            if "reference_s" in shared:
                benchmark.extra_info["speed_up"] = shared["reference_s"] / seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _local(images: np.ndarray, cache: Path, **options: object) -> None:
    fpscore.precompute(images, cache, SDE, **OPTIONS, **options)


@pytest.mark.benchmark(group="precompute_scale_out")
def test_one_process(benchmark, shared):
    _run(benchmark, shared, "one_process", lambda x, c: _local(x, c, threads=1))


@pytest.mark.benchmark(group="precompute_scale_out")
def test_one_process_threads(benchmark, shared):
    _run(benchmark, shared, "one_process_threads", lambda x, c: _local(x, c, threads=None))


@pytest.mark.benchmark(group="precompute_scale_out")
def test_parts(benchmark, shared):
    code = (
        "import sys, numpy as np, fpscore\n"
        "fpscore.precompute(np.load(sys.argv[1]), sys.argv[2], fpscore.VESDE(2.0), shard=sys.argv[3],\n"
        "                   threads=1, shard_size=32, progress=False)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def parts(images: np.ndarray, cache: Path) -> Path:
        cache.mkdir(parents=True)
        np.save(cache / "images.npy", images)
        n = CORES
        folders = [cache / f"part{i}" for i in range(n)]
        children = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(cache / "images.npy"), str(f), f"{i}/{n}"], env=env
            )
            for i, f in enumerate(folders)
        ]
        if any(c.wait() != 0 for c in children):
            raise RuntimeError("a part failed")
        fpscore.merge_caches(cache / "merged", folders)
        return cache / "merged"

    _run(benchmark, shared, "parts", parts)


def _dask(benchmark, shared, name: str, workers: int) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        _run(
            benchmark,
            shared,
            name,
            lambda x, c: _local(x, c, threads=1, scheduler="dask", dask_address=client),
        )


@pytest.mark.benchmark(group="precompute_scale_out")
def test_dask_1(benchmark, shared):
    _dask(benchmark, shared, "dask_1", 1)


@pytest.mark.benchmark(group="precompute_scale_out")
def test_dask_k(benchmark, shared):
    _dask(benchmark, shared, "dask_k", CORES)
