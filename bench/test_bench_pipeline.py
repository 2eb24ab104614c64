"""The per-image work of score embedding, end to end (DESIGN §1 step 2).

Group end_to_end: one CIFAR-size image, 3 channels of 32×32 (image-like log-densities), VESDE(σ = 2),
N = 20, T = 1, h = 1, zero BC, central scheme, Picard to tol = 1e-8:
- fpscore_image: `fpscore.solve_log_density` on the (3, 32, 32) batch, one thread;
- scipy_image: the scipy reference (scipy.sparse assembly + spsolve per fixed-point iterate) on each
  channel. The two final levels must agree to 1e-7 (both reach the same fixed point).
Group throughput: 64 images × 3 channels in one call on all cores; extra_info holds images/s and the
projected time for 50,000 images.
Group machine: the practical single-thread peak of this CPU, a numpy float64 matrix product run in a
subprocess limited to one BLAS thread.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import N_STEPS, fpscore_solve, image_log_density, scipy_solve

THROUGHPUT_IMAGES = 64
DATASET_IMAGES = 50_000


def _image(size: int = 32, seed: int = 0) -> np.ndarray:
    return np.stack([image_log_density(size, seed=seed * 3 + c) for c in range(3)])


@pytest.fixture(scope="module")
def reference_final() -> dict[str, np.ndarray]:
    return {}


@pytest.mark.benchmark(group="end_to_end")
def test_scipy_image(benchmark, reference_final):
    m0 = _image()
    finals = benchmark.pedantic(
        lambda: np.stack([scipy_solve(c)[-1] for c in m0]),
        rounds=3,
        iterations=1,
        warmup_rounds=0,
    )
    reference_final["m"] = finals
    benchmark.extra_info.update(channels=3, size=32, n_steps=N_STEPS)


@pytest.mark.benchmark(group="end_to_end")
def test_fpscore_image(benchmark, reference_final):
    m0 = _image()
    sol = benchmark(fpscore_solve, m0)
    reference = reference_final.get("m")
    if reference is None:
        reference = np.stack([scipy_solve(c)[-1] for c in m0])
    diff = float(np.max(np.abs(sol.m[-1] - reference)))
    assert diff <= 1e-7, f"fpscore and the scipy reference differ by {diff:.3e}"
    benchmark.extra_info.update(
        channels=3, size=32, n_steps=N_STEPS, iterations=int(sol.iterations.sum()), max_abs_diff_vs_scipy=diff
    )


@pytest.mark.benchmark(group="throughput")
def test_fpscore_throughput(benchmark):
    m0 = np.stack([_image(seed=k) for k in range(THROUGHPUT_IMAGES)])
    sol = benchmark.pedantic(fpscore_solve, args=(m0,), kwargs={"threads": None}, rounds=3, iterations=1)
    assert np.all(np.isfinite(sol.m))
    if benchmark.stats:
        per_image = benchmark.stats.stats.median / THROUGHPUT_IMAGES
        benchmark.extra_info.update(
            images=THROUGHPUT_IMAGES,
            threads=os.cpu_count(),
            images_per_s=1 / per_image,
            projected_50k_s=per_image * DATASET_IMAGES,
        )


PEAK_SCRIPT = """
import time, numpy as np
a = np.random.default_rng(0).random((2000, 2000)); b = a.copy(); a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
print(2 * 2000**3 / best / 1e9)
"""


@pytest.mark.benchmark(group="machine")
def test_single_thread_peak(benchmark):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def measure() -> float:
        out = subprocess.run(
            [sys.executable, "-c", PEAK_SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        return float(out.stdout.strip())

    gflops = benchmark.pedantic(measure, rounds=1, iterations=1)
    assert gflops > 0
    benchmark.extra_info["matmul_gflops_one_thread"] = gflops
