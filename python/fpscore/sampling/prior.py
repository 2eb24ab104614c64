"""Prior noise to images: one sampler from times[0] down to times[-1], then Tweedie's one-step
denoiser at times[-1] (the score is never evaluated at t = 0)."""

from __future__ import annotations

from .._torch import torch
from ._common import Sampler, Score, check_state, check_times, tweedie
from .stochastic import ddpm_ancestral


def generate(
    model: Score,
    sde,
    x: torch.Tensor,
    times,
    *,
    sampler: Sampler = ddpm_ancestral,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """x̂₀ from the state x at times[0] (e.g. prior noise): `sampler` over `times`, then Tweedie."""
    t = check_times(times, positive_end=True)
    check_state(x)
    x = sampler(model, sde, x, t, generator=generator, progress=progress)
    return tweedie(model, sde, x, float(t[-1]))
