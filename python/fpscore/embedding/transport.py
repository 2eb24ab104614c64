"""Step 3 of the method (DESIGN §1): the score embedding of an image along the probability-flow
transport equation.

    xⁿ = xⁿ⁻¹ + (f(xⁿ⁻¹, tₙ) − ½ g(tₙ)² S(∇mⁿ)) Δt,   x⁰ = x                          embed
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import choice, real_array
from ..sde import SDE
from .density import image_array

REDUCTIONS = ("sum", "x", "y")


class SolutionLike(Protocol):
    """What `embed` reads from a solution: `FPSolution` or any object with these attributes."""

    times: NDArray[np.float64]
    score: NDArray[np.float64]


def _reduction(score: NDArray[np.float64], reduce: str) -> NDArray[np.float64]:
    """S(∇m): (..., 2, H, W) -> (..., H, W)."""
    if reduce == "sum":
        return score[..., 0, :, :] + score[..., 1, :, :]
    return score[..., 0 if reduce == "x" else 1, :, :]


def embed(images: ArrayLike, sol: SolutionLike, sde: SDE, reduce: str = "sum") -> NDArray[np.float64]:
    """The embedded trajectory of `images` along the probability-flow transport equation (DESIGN §1.3).

        x⁰ = images,   xⁿ = xⁿ⁻¹ + (f(xⁿ⁻¹, tₙ) − ½ g(tₙ)² S(∇mⁿ)) Δt,   Δt = tₙ − tₙ₋₁

    images: (..., C, H, W); sol: the solution of `solve_log_density(initial_log_density(images), sde,
    ...)`, whose fields have the batch shape (..., C) of the images; any object with `times` (N+1,)
    and `score` (N+1, ..., C, 2, H, W) will do. sde: the same SDE the solution was computed with;
    it gives g(t) and the image drift f (VESDE, ConstantSDE: 0; VPSDE: −½β(t)x).
    reduce: S(∇m) = ∂ₓm + ∂ᵧm ("sum", the paper's choice), ∂ₓm ("x", along columns) or ∂ᵧm ("y").

    Returns (N+1, ..., C, H, W) float64 with index 0 equal to the input.
    """
    x0 = image_array(images)
    if not isinstance(sde, SDE):
        raise TypeError(f"sde must be an fpscore SDE (VESDE, VPSDE, ConstantSDE), got {type(sde).__name__}")
    reduce = choice("reduce", reduce, REDUCTIONS)
    if not (hasattr(sol, "times") and hasattr(sol, "score")):
        raise TypeError(
            f"sol must be the result of solve_log_density (with .times and .score), got {type(sol).__name__}"
        )
    times = real_array("sol.times", sol.times)
    if times.ndim != 1 or times.size < 1 or np.any(np.diff(times) <= 0.0):
        raise ValueError(f"sol.times must be an increasing 1-D array of times, got shape {times.shape}")
    score = real_array("sol.score", sol.score)
    expected = (times.size, *x0.shape[:-2], 2, *x0.shape[-2:])
    if score.shape != expected:
        got = score.shape
        described = (
            f"fields of batch shape {got[1:-3]} on a {got[-2]}×{got[-1]} grid"
            if score.ndim >= 4 and got[-3] == 2
            else "no (N+1, ..., 2, H, W) score"
        )
        raise ValueError(
            f"sol.score has shape {got} ({described}), but images of shape {x0.shape} need "
            f"{expected}: one field per channel of every image, batch shape (..., C) = {x0.shape[:-2]} "
            f"and {times.size} time levels. Solve initial_log_density(images) of these very images."
        )
    S = _reduction(score, reduce)
    g = np.asarray(sde.g(times), dtype=np.float64)
    out = np.empty((times.size, *x0.shape))
    out[0] = x0
    for n in range(1, times.size):
        dt = times[n] - times[n - 1]
        out[n] = out[n - 1] + (sde.drift(out[n - 1], times[n]) - 0.5 * g[n] ** 2 * S[n]) * dt
    return out


def drift_factor(sde: SDE, times: ArrayLike) -> NDArray[np.float64]:
    """aₙ: the factor by which the transport of `embed` scales an image when the score is zero,
    aₙ = ∏ₖ≤ₙ (1 + f(1, tₖ)Δtₖ) for the linear drifts of fpscore's SDEs (1 for VE and constant g).

    Dividing xⁿ by aₙ takes the drift's own pull out of the embedded image, so that the trainer's
    α(t) is applied once: with a zero score, xⁿ/aₙ = x⁰ exactly.
    """
    t = real_array("times", times)
    if t.ndim != 1 or t.size < 1 or np.any(np.diff(t) <= 0.0):
        raise ValueError(f"times must be an increasing 1-D array, got shape {t.shape}")
    one = np.ones(1)
    factor = np.ones(t.size)
    for n in range(1, t.size):
        factor[n] = factor[n - 1] * (1.0 + float(sde.drift(one, t[n])[0]) * (t[n] - t[n - 1]))
        if not factor[n] > 0.0:
            raise ValueError(
                f"the explicit drift step flips the image's sign at t = {t[n]:g} (factor {factor[n]:g}): "
                "use more time steps"
            )
    return factor
