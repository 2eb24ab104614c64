"""Conditional denoising: start a sampler from a noisy image at the time its noise level belongs to.

A clean image x₀ with Gaussian noise of standard deviation σ, y = x₀ + σ·z, is (up to the factor α)
a sample of the forward process at the time t* with λ(t*)/α(t*) = σ: α(t*)·y = α(t*)·x₀ + λ(t*)·z.
So the denoiser sets x = α(t*)·y, integrates over n_steps − 1 of n equal steps from t* towards 0
and takes the last step with Tweedie's formula x̂₀ = (x + λ²s)/α. σ is given or estimated from the
image (`estimate_noise`, Immerkær's estimator).
"""

from __future__ import annotations

import math

import numpy as np

from .._torch import torch
from ._common import Callback, Score, bcast, check_state, tweedie
from .ode import heun_ode


def noise_to_time(sde, sigma: float, T: float = 1.0, *, rtol: float = 1e-14) -> float:
    """The time t* ∈ (0, T] with λ(t*)/α(t*) = sigma (bisection; the ratio increases with t)."""
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be finite and > 0, got {sigma}")

    def ratio(t: float) -> float:
        return float(sde.marginal_std(t)) / float(sde.alpha(t))

    top = ratio(T)
    if sigma > top:
        raise ValueError(
            f"noise level sigma={sigma:g} is above what the process reaches by T={T} "
            f"(λ/α = {top:g}); use a larger T or an SDE with more noise"
        )
    lo, hi = 0.0, T
    for _ in range(200):
        if hi - lo <= rtol * hi:
            break
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ratio(mid) < sigma else (lo, mid)
    return hi


def estimate_noise(image: np.ndarray | torch.Tensor) -> float:
    """Noise standard deviation of one (C, H, W) or (H, W) image, averaged over channels.

    Immerkær's estimator ("Fast noise variance estimation", 1996): the image is filtered with the
    difference of two Laplacians, M = [[1, −2, 1], [−2, 4, −2], [1, −2, 1]], which cancels smooth
    structure up to second order, and σ = √(π/2) · mean|I ∗ M| / 6 over the interior pixels.
    """
    a = image.detach().cpu().double().numpy() if isinstance(image, torch.Tensor) else np.asarray(image, float)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or min(a.shape[-2:]) < 3:
        raise ValueError(f"estimate_noise takes one (C, H, W) or (H, W) image of at least 3x3, got {a.shape}")
    m = (
        a[:, :-2, :-2]
        - 2 * a[:, :-2, 1:-1]
        + a[:, :-2, 2:]
        - 2 * a[:, 1:-1, :-2]
        + 4 * a[:, 1:-1, 1:-1]
        - 2 * a[:, 1:-1, 2:]
        + a[:, 2:, :-2]
        - 2 * a[:, 2:, 1:-1]
        + a[:, 2:, 2:]
    )
    return float(math.sqrt(math.pi / 2.0) * np.abs(m).mean() / 6.0)


@torch.no_grad()
def denoise(
    model: Score,
    sde,
    y: torch.Tensor,
    sigma: float | None = None,
    *,
    n_steps: int = 50,
    T: float = 1.0,
    sampler=heun_ode,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Denoise a batch y (B, C, H, W) of images with noise level `sigma` (None: estimated per image).

    Runs `sampler` (any sampler of this package) over the times t*·(1 − k/n_steps), k < n_steps,
    then replaces the last step, to t = 0, with Tweedie's one-step denoiser.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    check_state(y, "y")
    if y.ndim != 4:
        raise ValueError(f"denoise takes a batch (B, C, H, W), got shape {tuple(y.shape)}")
    sigmas = [estimate_noise(img) if sigma is None else float(sigma) for img in y]
    out = torch.empty_like(y)
    groups: dict[float, list[int]] = {}
    for i, s in enumerate(sigmas):
        groups.setdefault(s, []).append(i)
    for s, idx in groups.items():
        t_star = noise_to_time(sde, s, T)
        times = np.linspace(t_star, 0.0, n_steps + 1)[:-1]
        x = bcast(sde.alpha(torch.full((len(idx),), t_star, dtype=y.dtype, device=y.device)), y[idx]) * y[idx]
        if len(times) > 1:
            x = sampler(model, sde, x, times, generator=generator, callback=callback, progress=progress)
        out[idx] = tweedie(model, sde, x, float(times[-1]))
    return out
