"""Shared inputs of the benchmark suites: an image-like log-density and the FP system built from it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter

import fpscore

sys.path.insert(0, str(Path(__file__).resolve().parent))

SIGMA = 2.0  # VESDE(σ = 2)
N_STEPS, T_END, TOL = 20, 1.0, 1e-8  # the full solves: N = 20 steps on [0, 1], Picard to 1e-8
T_SYSTEM = 0.5  # the time whose g the single-system benchmarks use
DT = 1.0 / 20.0
H_GRID = 1.0


def image_log_density(size: int, seed: int = 0) -> NDArray[np.float64]:
    """m⁰ = log p⁰ of an image-like field: smoothed positive noise plus ε, normalised to mean 1."""
    rng = np.random.default_rng(seed)
    p = gaussian_filter(rng.random((size, size)), sigma=1.0, mode="reflect") + 1e-3
    p /= p.mean()
    return np.log(p)


def fpscore_solve(m0: NDArray[np.float64], threads: int | None = 1) -> fpscore.FPSolution:
    """fpscore's full solve of m0 (..., H, W): VESDE(σ), zero BC, central scheme, Picard."""
    return fpscore.solve_log_density(
        m0,
        fpscore.VESDE(SIGMA),
        n_steps=N_STEPS,
        T=T_END,
        h=H_GRID,
        bc="zero",
        scheme="central",
        iteration="picard",
        tol=TOL,
        max_iter=50,
        threads=threads,
    )


def scipy_solve(m0: NDArray[np.float64]) -> NDArray[np.float64]:
    """The scipy reference's trajectory (N+1, H, W) of one field, same settings."""
    from scipy_reference import solve_log_density_scipy

    times = np.linspace(0.0, T_END, N_STEPS + 1)
    return solve_log_density_scipy(
        m0, fpscore.VESDE(SIGMA).g(times), times, h=H_GRID, bc="zero", scheme="central", tol=TOL, max_iter=50
    )


@pytest.fixture(scope="session")
def log_density():
    """size -> the benchmark's image-like m⁰ (cached per size)."""
    cache: dict[int, NDArray[np.float64]] = {}

    def get(size: int) -> NDArray[np.float64]:
        if size not in cache:
            cache[size] = image_log_density(size)
        return cache[size]

    return get


@pytest.fixture(scope="session")
def fp_matrices(log_density):
    """size -> two FP systems [(A, b), (A', b')] on the same pattern: the first iterate of a step
    (lag = m) and a later one (lag = a perturbed m), VE σ = 2 at t = 0.5, Δt = 1/20, h = 1, zero BC."""
    cache: dict[int, list[tuple[sp.csr_matrix, NDArray[np.float64]]]] = {}
    g = float(fpscore.VESDE(SIGMA).g(T_SYSTEM))

    def get(size: int) -> list[tuple[sp.csr_matrix, NDArray[np.float64]]]:
        if size not in cache:
            m = log_density(size)
            lag = m + 0.05 * image_log_density(size, seed=1)
            cache[size] = [
                fpscore.fp_system(m, lag_k, g=g, dt=DT, h=H_GRID, bc="zero", scheme="central")
                for lag_k in (m, lag)
            ]
        return cache[size]

    return get
