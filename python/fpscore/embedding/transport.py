"""Steps 1 and 3 of the method (DESIGN §1, §3): the initial log-density of an image and the
score embedding of the image along the probability-flow transport equation.

    p⁰ ∝ G_σs * x_c + ε   (mean 1 over the grid),   m⁰ = log p⁰                   init="intensity"
    xⁿ = xⁿ⁻¹ + (f(xⁿ⁻¹, tₙ) − ½ g(tₙ)² S(∇mⁿ)) Δt,   x⁰ = x                          embed
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import choice, non_negative_float, positive_float, real_array
from ..sde import SDE

INITS = ("intensity", "value-kde")
REDUCTIONS = ("sum", "x", "y")

# Pairwise kernel evaluations per block of the value-KDE (bounds its memory to ~32 MiB).
_KDE_BLOCK = 1 << 22


class SolutionLike(Protocol):
    """What `embed` reads from a solution: `FPSolution` or any object with these attributes."""

    times: NDArray[np.float64]
    score: NDArray[np.float64]


def _images(images: object) -> NDArray[np.float64]:
    x = real_array("images", images, min_ndim=3)
    if x.size == 0:
        raise ValueError(f"images is empty (shape {x.shape})")
    return x


def _check_unit_range(x: NDArray[np.float64]) -> None:
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        hint = " (8-bit images: divide by 255)" if hi > 1.0 and hi <= 255.0 and lo >= 0.0 else ""
        raise ValueError(f"images must have values in [0, 1], got values in [{lo:g}, {hi:g}]{hint}")


def _normalise_log(p: NDArray[np.float64], what: str) -> NDArray[np.float64]:
    """log of p / mean(p) over the grid of each field; zero or negative density is an error."""
    bad = ~(p > 0.0)
    if np.any(bad):
        fields = np.flatnonzero(bad.reshape(-1, p.shape[-2] * p.shape[-1]).any(axis=1))
        raise ValueError(
            f"the {what} density is zero or negative at {int(bad.sum())} pixel(s) "
            f"(in {fields.size} channel field(s), the first at flat index {int(fields[0])}): "
            "its log would be -inf; use a floor eps > 0"
        )
    p = p / p.mean(axis=(-2, -1), keepdims=True)
    return np.log(p)


def _value_kde(fields: NDArray[np.float64], bandwidth: float | None) -> NDArray[np.float64]:
    """Gaussian KDE of the pairs (x[i, j], x[j, i]) of each (H, H) field, at each pixel's own pair.

    Returns the kernel sums Σ_k exp(−|z_p − z_k|² / 2b²) (up to the constant factor that the
    mean-1 normalisation removes), shape like `fields`.
    """
    out = np.empty_like(fields)
    n = fields.shape[-2] * fields.shape[-1]
    block = max(1, _KDE_BLOCK // n)
    for index in np.ndindex(fields.shape[:-2]):
        x = fields[index]
        a, c = x.ravel(), x.T.ravel()
        if bandwidth is None:
            spread = float(np.std(a))  # the pairs are a permutation of one set of values
            b = spread * n ** (-1.0 / 6.0) if spread > 0.0 else 1.0  # Scott's rule in d = 2
        else:
            b = bandwidth
        k = np.empty(n)
        for start in range(0, n, block):
            stop = min(start + block, n)
            d2 = (a[start:stop, None] - a[None, :]) ** 2 + (c[start:stop, None] - c[None, :]) ** 2
            k[start:stop] = np.exp(d2 * (-0.5 / (b * b))).sum(axis=1)
        out[index] = k.reshape(x.shape)
    return out


def initial_log_density(
    images: ArrayLike,
    init: str = "intensity",
    *,
    sigma_s: float = 1.0,
    eps: float = 1e-2,
    bandwidth: float | None = None,
) -> NDArray[np.float64]:
    """The initial log-density m⁰ = log p⁰ of every channel of every image (DESIGN §3).

    images: (..., C, H, W) with values in [0, 1]; every (H, W) field is treated on its own.
    init:
      "intensity" (default): p⁰ ∝ G_σs * x_c + ε, the channel smoothed by a Gaussian of standard
        deviation `sigma_s` pixels (0: no smoothing; edges reflected) plus the floor `eps` (in image
        value units).
      "value-kde" (the 2024 paper): p⁰ at pixel (i, j) is a Gaussian kernel density estimate over
        the H·W value pairs (x[i, j], x[j, i]), evaluated at the pixel's own pair. The pairing with
        the transposed position needs square images (H == W). `bandwidth` is the kernel's standard
        deviation in image value units (None: Scott's rule, std(x_c)·(H·W)^(-1/6)). The floor `eps`
        is added after the normalisation below (units of the uniform density). `sigma_s` is unused.
    Either way p⁰ is normalised to mean 1 over the grid (density relative to uniform), so m⁰
    averages about 0 and nothing depends on the grid spacing h.

    Returns m⁰ with the shape of `images` (float64). ValueError for values outside [0, 1],
    NaN/inf, fewer than 3 dimensions, or a density that is zero somewhere (log would be -inf).
    """
    x = _images(images)
    init = choice("init", init, INITS)
    eps = non_negative_float("eps", eps)
    _check_unit_range(x)
    if init == "intensity":
        sigma_s = non_negative_float("sigma_s", sigma_s)
        if sigma_s > 0.0:
            from scipy.ndimage import gaussian_filter

            x = gaussian_filter(x, sigma=(0.0,) * (x.ndim - 2) + (sigma_s, sigma_s), mode="reflect")
        return _normalise_log(x + eps, "intensity")
    H, W = x.shape[-2:]
    if H != W:
        raise ValueError(
            f"init='value-kde' pairs the value at (i, j) with the value at (j, i), so it needs square "
            f"images (H == W); got H×W = {H}×{W}: resize or crop the images to a square first"
        )
    if bandwidth is not None:
        bandwidth = positive_float("bandwidth", bandwidth)
    k = _value_kde(x, bandwidth)
    if eps > 0.0:
        k = k / k.mean(axis=(-2, -1), keepdims=True) + eps
    return _normalise_log(k, "value-KDE")


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
    x0 = _images(images)
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
