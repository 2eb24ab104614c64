"""A self-check users can run (`fpscore verify`): the solver against the Cole–Hopf
solution of a Gaussian mixture, with the measured order of accuracy in h."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..sde import ConstantSDE
from .analytic import gaussian_mixture_log_density
from .grid import grid_coordinates, padded_coordinates
from .solver import solve_log_density

# Two overlapping bumps on [-3, 3]²: m is far from quadratic, so the stencils' spatial
# error shows. Time error is removed by Richardson extrapolation in Δt.
MIXTURE = {"means": [(-0.7, -0.3), (0.8, 0.5)], "variances": [0.35, 0.5], "weights": [0.4, 0.6]}
HALF_WIDTH = 3.0
T_END = 0.05


@dataclass(frozen=True)
class ConvergenceRow:
    scheme: str
    size: int
    h: float
    error: float
    order: float  # log2(previous error / error); NaN on the coarsest grid


def cole_hopf_error(size: int, scheme: str, g: float = 1.0, n_steps: int = 40) -> tuple[float, float]:
    """Max-norm error at T_END on a size×size grid; returns (h, error)."""
    h = 2.0 * HALF_WIDTH / (size - 1)
    sde = ConstantSDE(g)
    x, y = grid_coordinates((size, size), h)
    px, py = padded_coordinates((size, size), h)
    m0 = gaussian_mixture_log_density(x, y, **MIXTURE)

    def ghosts(t: float) -> np.ndarray:
        return gaussian_mixture_log_density(px, py, **MIXTURE, tau=float(sde.diffusion_integral(t)))

    def final(n: int) -> np.ndarray:
        sol = solve_log_density(
            m0, sde, n_steps=n, T=T_END, h=h, bc="dirichlet", bc_values=ghosts, scheme=scheme, tol=1e-12
        )
        return sol.m[-1]

    richardson = 2.0 * final(2 * n_steps) - final(n_steps)
    exact = gaussian_mixture_log_density(x, y, **MIXTURE, tau=float(sde.diffusion_integral(T_END)))
    return h, float(np.max(np.abs(richardson - exact)))


def spatial_convergence(
    sizes: Sequence[int] = (17, 33, 65), schemes: Sequence[str] = ("central", "upwind")
) -> list[ConvergenceRow]:
    rows = []
    for scheme in schemes:
        previous = math.nan
        for size in sizes:
            h, err = cole_hopf_error(size, scheme)
            rows.append(ConvergenceRow(scheme, size, h, err, math.log2(previous / err)))
            previous = err
    return rows


def format_table(rows: Sequence[ConvergenceRow]) -> str:
    lines = [
        "Cole-Hopf check: Gaussian mixture, g = 1, T = 0.05, Dirichlet ghosts from the exact",
        "solution, Richardson-extrapolated in time. Expected order in h: central 2, upwind 1.",
        "",
        f"{'scheme':<8} {'grid':>9} {'h':>8} {'max error':>11} {'order':>6}",
    ]
    for r in rows:
        order = "" if math.isnan(r.order) else f"{r.order:6.2f}"
        lines.append(f"{r.scheme:<8} {f'{r.size}x{r.size}':>9} {r.h:8.4f} {r.error:11.3e} {order:>6}")
    return "\n".join(lines)
