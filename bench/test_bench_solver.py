"""The whole log-density FP solve of one image channel: fpscore against the scipy reference.

Group solver_{size}, H = W = size: m⁰ image-like (mean-1 density), VESDE(σ = 2), N = 20 steps on
[0, 1], h = 1, zero BC, central scheme, Picard to tol = 1e-8; fpscore runs on one thread.
The scipy reference (bench/scipy_reference.py) assembles with scipy.sparse and calls spsolve for
every fixed-point iterate. At 128² and 256² each side is timed for a single round (the reference
takes tens of seconds at 256²).

Every pair is cross-checked: the final levels must agree to 1e-7. The scipy benchmark runs first
and keeps its answer; the fpscore benchmark compares against it (computing the reference only
when it runs on its own).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy_reference import solve_log_density_scipy

import fpscore

SIZES = (32, 64, 128, 256)
SINGLE_ROUND_FROM = 128
N_STEPS = 20
T_END = 1.0
TOL = 1e-8
AGREEMENT = 1e-7
SDE = fpscore.VESDE(2.0)
_TIMES = np.linspace(0.0, T_END, N_STEPS + 1)


def _sizes():
    return [pytest.param(s, id=str(s), marks=pytest.mark.benchmark(group=f"solver_{s}")) for s in SIZES]


@pytest.fixture(scope="module")
def scipy_finals() -> dict[int, np.ndarray]:
    """Final level m(T) of the scipy reference, per size, as the scipy benchmark left it."""
    return {}


def _run(benchmark, size: int, fn, *args, **kwargs):
    if size >= SINGLE_ROUND_FROM:
        return benchmark.pedantic(fn, args=args, kwargs=kwargs, rounds=1, iterations=1, warmup_rounds=0)
    return benchmark(fn, *args, **kwargs)


def _scipy_solve(m0: np.ndarray) -> np.ndarray:
    return solve_log_density_scipy(
        m0, SDE.g(_TIMES), _TIMES, h=1.0, bc="zero", scheme="central", tol=TOL, max_iter=50
    )


def _fpscore_solve(m0: np.ndarray) -> fpscore.FPSolution:
    return fpscore.solve_log_density(
        m0,
        SDE,
        n_steps=N_STEPS,
        T=T_END,
        h=1.0,
        bc="zero",
        scheme="central",
        iteration="picard",
        tol=TOL,
        max_iter=50,
        threads=1,
    )


@pytest.mark.parametrize("size", _sizes())
def test_scipy_solve(benchmark, log_density, scipy_finals, size):
    m0 = log_density(size)
    traj = _run(benchmark, size, _scipy_solve, m0)
    assert traj.shape == (N_STEPS + 1, size, size)
    assert np.all(np.isfinite(traj))
    scipy_finals[size] = traj[-1].copy()
    benchmark.extra_info.update(n=size * size, n_steps=N_STEPS)


@pytest.mark.parametrize("size", _sizes())
def test_fpscore_solve(benchmark, log_density, scipy_finals, size):
    m0 = log_density(size)
    sol = _run(benchmark, size, _fpscore_solve, m0)
    assert sol.m.shape == (N_STEPS + 1, size, size)
    reference = scipy_finals.get(size)
    if reference is None:
        reference = _scipy_solve(m0)[-1]
    diff = float(np.max(np.abs(sol.m[-1] - reference)))
    assert diff <= AGREEMENT, f"fpscore and the scipy reference differ by {diff:.3e} at {size}²"
    benchmark.extra_info.update(
        n=size * size,
        n_steps=N_STEPS,
        picard_iterations=int(sol.iterations.sum()),
        max_abs_diff_vs_scipy=diff,
    )
