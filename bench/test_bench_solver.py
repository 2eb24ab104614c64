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
from conftest import N_STEPS, fpscore_solve, scipy_solve

SIZES = (32, 64, 128, 256)
SINGLE_ROUND_FROM = 128
AGREEMENT = 1e-7


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


@pytest.mark.parametrize("size", _sizes())
def test_scipy_solve(benchmark, log_density, scipy_finals, size):
    m0 = log_density(size)
    traj = _run(benchmark, size, scipy_solve, m0)
    assert traj.shape == (N_STEPS + 1, size, size)
    assert np.all(np.isfinite(traj))
    scipy_finals[size] = traj[-1].copy()
    benchmark.extra_info.update(n=size * size, n_steps=N_STEPS)


@pytest.mark.parametrize("size", _sizes())
def test_fpscore_solve(benchmark, log_density, scipy_finals, size):
    m0 = log_density(size)
    sol = _run(benchmark, size, fpscore_solve, m0)
    assert sol.m.shape == (N_STEPS + 1, size, size)
    reference = scipy_finals.get(size)
    if reference is None:
        reference = scipy_solve(m0)[-1]
    diff = float(np.max(np.abs(sol.m[-1] - reference)))
    assert diff <= AGREEMENT, f"fpscore and the scipy reference differ by {diff:.3e} at {size}²"
    benchmark.extra_info.update(
        n=size * size,
        n_steps=N_STEPS,
        picard_iterations=int(sol.iterations.sum()),
        max_abs_diff_vs_scipy=diff,
    )
