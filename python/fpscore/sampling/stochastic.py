"""Stochastic samplers: the reverse-time SDE and ancestral sampling. Same signature as the ODE ones;
the noise comes from `generator` only (drawn on the CPU, then moved to x's device)."""

from __future__ import annotations

import math

import numpy as np

from .._torch import torch
from ._common import Score, Step, batch_time, bcast, g2, stepping_sampler


def _normal(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)


@stepping_sampler("euler-maruyama")
def euler_maruyama(model: Score, sde, t: np.ndarray, generator: torch.Generator | None) -> Step:
    """Euler–Maruyama on the reverse SDE dx = [f(x, t) − g(t)²·s(x, t)] dt + g(t) dw̄.

    With Δ = tᵢ − tᵢ₊₁ > 0: x ← x − [f − g²s]·Δ + g·√Δ·z. The last step adds no noise (it returns
    the mean, as score_sde does).
    """

    def step(i: int, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        delta = t[i] - t[i + 1]
        tb = batch_time(t[i], x)
        x = x - (sde.drift(x, tb) - g2(sde, tb, x) * model(x, tb)) * delta
        if i < len(t) - 2:
            x = x + bcast(sde.g(tb), x) * math.sqrt(delta) * _normal(x, generator)
        return x, {}

    return step


@stepping_sampler("ancestral")
def ddpm_ancestral(model: Score, sde, t: np.ndarray, generator: torch.Generator | None) -> Step:
    """Ancestral sampling (DDPM): draw x_s from the Gaussian posterior q(x_s | x_t, x̂₀), s < t.

    With x_t = α_t·x₀ + λ_t·z, a = α_t/α_s, b² = λ_t² − a²λ_s² and Tweedie's x̂₀ = (x + λ_t²·s)/α_t:

        mean = (a·λ_s²/λ_t²)·x + (α_s·b²/λ_t²)·x̂₀,   var = b²·λ_s²/λ_t².

    For the VP SDE this is DDPM's sampler with βᵢ = 1 − (α_t/α_s)² (posterior variance β̃); for VE it
    is score_sde's ancestral step x + (λ_t² − λ_s²)·s + noise. A step to s = 0 returns α₀·x̂₀.
    """

    def step(i: int, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        tb, sb = batch_time(t[i], x), batch_time(t[i + 1], x)
        alpha_t, alpha_s = bcast(sde.alpha(tb), x), bcast(sde.alpha(sb), x)
        lam2_t, lam2_s = bcast(sde.marginal_std(tb), x) ** 2, bcast(sde.marginal_std(sb), x) ** 2
        x0_hat = (x + lam2_t * model(x, tb)) / alpha_t
        a = alpha_t / alpha_s
        b2 = lam2_t - a**2 * lam2_s
        mean = (a * lam2_s / lam2_t) * x + (alpha_s * b2 / lam2_t) * x0_hat
        var = (b2 * lam2_s / lam2_t).clamp_min(0.0)
        x = mean + var.sqrt() * _normal(x, generator) if t[i + 1] > 0 else mean
        return x, {"denoised": x0_hat}

    return step
