"""fpscore's solver against the benchmarks' independent numpy + scipy.sparse implementation.

bench/scipy_reference.py assembles the same scheme (DESIGN §2.2) with vectorised numpy and solves
each fixed-point iterate with scipy's spsolve; fpscore assembles in C++ and solves with its own
sparse LU. Agreement to round-off on the matrices and to ~1e-9 on whole trajectories validates both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import fpscore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from scipy_reference import fp_matrix_scipy, solve_log_density_scipy

BOUNDARIES = ("zero", "neumann", "periodic")


def _image_like(shape: tuple[int, int], seed: int) -> np.ndarray:
    """log of a smooth positive field with mean 1: bumps of several widths over a floor."""
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    p = np.full(shape, 0.05)
    for _ in range(4):
        ci, cj = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        width = rng.uniform(1.0, 3.0)
        p += rng.uniform(0.5, 2.0) * np.exp(-((i - ci) ** 2 + (j - cj) ** 2) / (2 * width**2))
    p *= 1.0 + 0.1 * rng.random(shape)
    return np.log(p / p.mean())


@pytest.mark.parametrize("scheme", ["central", "upwind"])
@pytest.mark.parametrize("bc", BOUNDARIES)
def test_fp_matrix_matches_fp_system(bc, scheme):
    m_prev, m_lag = _image_like((7, 9), 1), _image_like((7, 9), 2)
    A, b = fpscore.fp_system(m_prev, m_lag, g=1.7, dt=0.05, h=0.8, bc=bc, scheme=scheme)
    B, c = fp_matrix_scipy(m_prev, m_lag, g=1.7, dt=0.05, h=0.8, bc=bc, scheme=scheme)
    assert B.shape == A.shape == (63, 63)
    scale = float(np.max(np.abs(A.data)))
    assert float(abs(A - B).max()) <= 1e-14 * scale
    np.testing.assert_allclose(c, b, rtol=1e-14, atol=0.0)


@pytest.mark.parametrize("bc", BOUNDARIES)
def test_scipy_reference_matches_solve_log_density(bc):
    m0 = _image_like((12, 10), 0)
    sde = fpscore.VESDE(2.0)
    sol = fpscore.solve_log_density(m0, sde, n_steps=10, T=1.0, h=1.0, bc=bc, scheme="central",
                                    iteration="picard", tol=1e-12, max_iter=50, threads=1)
    ref = solve_log_density_scipy(m0, sde.g(sol.times), sol.times, h=1.0, bc=bc, scheme="central",
                                  tol=1e-12, max_iter=50)
    assert ref.shape == sol.m.shape == (11, 12, 10)
    np.testing.assert_allclose(ref, sol.m, rtol=0.0, atol=1e-9)
    # The solution moved: the comparison is not between two copies of m0.
    assert float(np.max(np.abs(sol.m[-1] - m0))) > 1e-2


def test_unit_mass_batch_matches_scipy_reference():
    """A batch normalised to mass 1 (m ≈ −6 against the zero boundary): Picard contracts slowly
    there, so the solver keeps a factorisation across iterations; the trajectory must still be the
    reference's, for every member."""
    fields = np.stack([_image_like((12, 10), seed) for seed in range(3)])
    m0 = fields - np.log(np.exp(fields).sum(axis=(1, 2), keepdims=True))
    assert np.all(m0 < -3.0)
    sde = fpscore.VESDE(2.0)
    sol = fpscore.solve_log_density(m0, sde, n_steps=10, T=1.0, h=1.0, bc="zero", scheme="central",
                                    iteration="picard", tol=1e-12, max_iter=50, threads=1)
    for b in range(3):
        ref = solve_log_density_scipy(m0[b], sde.g(sol.times), sol.times, h=1.0, bc="zero", scheme="central",
                                      tol=1e-12, max_iter=50)
        np.testing.assert_allclose(ref, sol.m[:, b], rtol=0.0, atol=1e-9)
