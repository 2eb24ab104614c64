"""Many FP systems with one pattern (DESIGN §4 "batched"): fpscore's BatchedLU against spsolve.

Group batched_{size}: B matrices of one grid (different lagged iterates, hence different values),
VE σ = 2 at t = 0.5, Δt = 1/20, h = 1, zero BC, central scheme; one thread. B is a whole number
of full 8-lane packs at every size (64, 16, 8, 8), so no pack runs part-empty.
- fpscore_batched_refactor_solve: numeric factorisation + solve of all B systems on the pattern
  analysed once, by `BatchedLU.factor_solve` (each pack solved right after its factorisation, as
  the FP solver does); extra_info["per_system_s"] is the time per system.
- fpscore_batched_factor: the numeric factorisation alone, for the flop rate.
- scipy_spsolve_per_system: spsolve on one of the systems (from scratch, as SuperLU must).
Every member's answer is checked: relative residual ≤ 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DT, H_GRID, SIGMA, T_SYSTEM, image_log_density
from scipy.sparse.linalg import spsolve

import fpscore

SIZES = (32, 64, 128, 256)
BATCH = {32: 64, 64: 16, 128: 8, 256: 8}
RESIDUAL_TOL = 1e-10


def _sizes():
    return [pytest.param(s, id=str(s), marks=pytest.mark.benchmark(group=f"batched_{s}")) for s in SIZES]


@pytest.fixture(scope="module")
def batches():
    """size -> (pattern matrix, values (B, nnz), right-hand sides (B, n), matrices)."""
    cache: dict[int, tuple] = {}
    g = float(fpscore.VESDE(SIGMA).g(T_SYSTEM))

    def get(size: int):
        if size not in cache:
            m = image_log_density(size)
            mats, rhs = [], []
            for k in range(BATCH[size]):
                lag = m + 0.05 * image_log_density(size, seed=k + 1)
                A, b = fpscore.fp_system(m, lag, g=g, dt=DT, h=H_GRID, bc="zero", scheme="central")
                A = sp.csr_matrix(A)
                A.sort_indices()
                mats.append(A)
                rhs.append(b)
            cache[size] = (mats[0], np.stack([A.data for A in mats]), np.stack(rhs), mats)
        return cache[size]

    return get


def _max_residual(mats, x, b) -> float:
    return max(
        float(np.max(np.abs(A @ xk - bk)) / np.max(np.abs(bk))) for A, xk, bk in zip(mats, x, b, strict=True)
    )


def _record(benchmark, lu, batch: int) -> None:
    benchmark.extra_info.update(
        batch=batch,
        lanes=lu.lanes,
        fill=lu.nnz,
        factor_flops=lu.factor_flops,
        factor_bytes_per_system=8 * lu.nnz,
    )


@pytest.mark.parametrize("size", _sizes())
def test_fpscore_batched_refactor_solve(benchmark, batches, size):
    pattern, data, b, mats = batches(size)
    lu = fpscore.BatchedLU(pattern, len(data), threads=1)

    x = benchmark(lu.factor_solve, data, b)
    assert _max_residual(mats, x, b) <= RESIDUAL_TOL
    _record(benchmark, lu, len(data))
    benchmark.extra_info["per_system_s"] = (
        benchmark.stats.stats.median / len(data) if benchmark.stats else None
    )


@pytest.mark.parametrize("size", _sizes())
def test_fpscore_batched_factor(benchmark, batches, size):
    pattern, data, _, _ = batches(size)
    lu = fpscore.BatchedLU(pattern, len(data), threads=1)
    benchmark(lu.factor, data)
    _record(benchmark, lu, len(data))
    if benchmark.stats:
        per_system = benchmark.stats.stats.median / len(data)
        benchmark.extra_info.update(per_system_s=per_system, gflops=lu.factor_flops / per_system / 1e9)


@pytest.mark.parametrize("size", _sizes())
def test_scipy_spsolve_per_system(benchmark, batches, size):
    _, _, b, mats = batches(size)
    x = benchmark(spsolve, mats[0], b[0])
    assert _max_residual(mats[:1], [x], b[:1]) <= RESIDUAL_TOL
