"""The CUDA backend against the CPU path and NVIDIA cuDSS (skipped without a GPU and a CUDA build).

Groups cuda_{size}, size = 32, 64, 128, 256, one batch of B single-channel image-like fields
(B = 4096, 1024, 256, 64), VE σ = 2, N = 20, Picard tol 1e-8, zero BC, central scheme:
- fpscore_cuda_solve: solve_log_density(..., backend="cuda") of the whole batch;
- fpscore_cpu_solve: the same on the CPU, all cores;
- cudss_refactor_solve: cuDSS (bench/peer_cudss.py) factorising and solving B FP systems of the
  batch's pattern (the first iterate of step 10), analysis done once outside the timing.
extra_info: fields/s, and FP systems/s = B × the Picard iterations of all steps / time for the
solves (each iteration assembles and solves one system per field, with a refactorisation when
the kept factors go stale), B / time for cuDSS (one refactorisation + solve per system: less work
than an FP iteration, so the comparison favours cuDSS). The answers are checked: the CUDA
solve against the CPU's within 1e-6, cuDSS's residuals within 1e-10.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import fpscore

pytestmark = pytest.mark.skipif(
    not fpscore.has_cuda(), reason="needs a CUDA build of fpscore and a CUDA device"
)

BATCH = {32: 4096, 64: 1024, 128: 256, 256: 64}
SIZES = [pytest.param(s, id=str(s), marks=pytest.mark.benchmark(group=f"cuda_{s}")) for s in BATCH]
SDE = fpscore.VESDE(2.0)


def fields(size: int) -> np.ndarray:
    rng = np.random.default_rng(size)
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    return -3.0 * ((x - 0.5) ** 2 + (y - 0.4) ** 2) + 0.3 * rng.standard_normal((BATCH[size], size, size))


def _record(benchmark, size: int, sol: fpscore.FPSolution) -> None:
    benchmark.extra_info.update(size=size, batch=BATCH[size], picard_iterations=int(sol.iterations.sum()))
    if benchmark.stats is not None:
        t = benchmark.stats.stats.median
        benchmark.extra_info["fields_per_s"] = BATCH[size] / t
        benchmark.extra_info["systems_per_s"] = BATCH[size] * int(sol.iterations.sum()) / t


@pytest.mark.parametrize("size", SIZES)
def test_fpscore_cuda_solve(benchmark, size: int) -> None:
    m0 = fields(size)
    sol = benchmark(fpscore.solve_log_density, m0, SDE, backend="cuda")
    reference = fpscore.solve_log_density(m0[:8], SDE, backend="cpu")
    assert np.max(np.abs(sol.m[:, :8] - reference.m) / np.maximum(1.0, np.abs(reference.m))) <= 1e-6
    benchmark.extra_info["device"] = fpscore.build_info()["cuda"]["devices"][0]
    _record(benchmark, size, sol)


@pytest.mark.parametrize("size", SIZES)
def test_fpscore_cpu_solve(benchmark, size: int) -> None:
    m0 = fields(size)
    sol = benchmark.pedantic(fpscore.solve_log_density, (m0, SDE), {"backend": "cpu"}, rounds=3, iterations=1)
    _record(benchmark, size, sol)


@pytest.mark.parametrize("size", SIZES)
def test_cudss_refactor_solve(benchmark, size: int) -> None:
    try:
        peer = importlib.import_module("peer_cudss")
    except ImportError as error:
        pytest.skip(f"cuDSS through nvmath-python and CuPy is not installed ({error})")
    m0 = fields(size)
    g = float(SDE.g(0.5))
    systems = [fpscore.fp_system(m, m, g=g, dt=1 / 20) for m in m0]
    batch = peer.CudssBatch(systems)
    try:
        xs = benchmark(batch.refactor_solve)
        for (A, b), x in zip(systems[:8], xs[:8], strict=True):
            xh = x.get()
            assert np.max(np.abs(A @ xh - b)) <= 1e-10 * np.max(np.abs(b))
    finally:
        batch.close()
    benchmark.extra_info.update(size=size, batch=BATCH[size])
    if benchmark.stats is not None:
        benchmark.extra_info["systems_per_s"] = BATCH[size] / benchmark.stats.stats.median
