"""EDM (Karras et al. 2022, "Elucidating the design space of diffusion-based generative models") as
trained and sampled in the paper.

Images arrive in [0, 1] and are mapped to y = 2x − 1 ∈ [−1, 1]. The denoiser is the preconditioned
network of eq. 7 and Table 1,

    D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x, c_noise(σ)),
    c_skip = σ_d²/(σ² + σ_d²),  c_out = σ·σ_d/√(σ² + σ_d²),  c_in = 1/√(σ² + σ_d²),  c_noise = ln(σ)/4,

trained with the loss of eq. 8, E λ(σ)·‖D(y + n; σ) − y‖², n ~ N(0, σ²I), ln σ ~ N(P_mean, P_std²),
λ(σ) = (σ² + σ_d²)/(σ·σ_d)², and sampled with the deterministic Heun solver of Algorithm 1 on the
time steps of eq. 5. Samplers return (y + 1)/2, in [0, 1] units and not clamped.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..._torch import torch
from ...sampling._common import progress_bar
from .ddpm import _check_images, _count

__all__ = ["EDMDenoiser", "EDMObjective", "edm_sample", "edm_sigmas", "edm_start"]

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[dict], None]


def _positive(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


class EDMDenoiser(torch.nn.Module):
    """D(x; σ) = c_skip·x + c_out·F(c_in·x, c_noise) (eq. 7, Table 1) around the network F = `net`.

    `net(x, t)` gets c_noise = ln(σ)/4 as its time input. Karras et al. embed c_noise itself
    (positional embedding, no scaling), which is `UNet(..., time_scale=1.0)`. forward(x, σ): x
    (B, C, H, W) in [−1, 1] units, σ a number or a (B,) tensor of noise levels > 0.
    """

    def __init__(self, net: torch.nn.Module, sigma_data: float = 0.5) -> None:
        super().__init__()
        self.net = net
        self.sigma_data = _positive("sigma_data", sigma_data)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        _check_images("x", x)
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        if sigma.shape != (x.shape[0],):
            raise ValueError(
                f"sigma must be a number or of shape ({x.shape[0]},) for x of shape {tuple(x.shape)}, "
                f"got shape {tuple(sigma.shape)}"
            )
        s = sigma.reshape(-1, 1, 1, 1)
        sd = self.sigma_data
        c_skip = sd**2 / (s**2 + sd**2)
        c_out = s * sd / (s**2 + sd**2).sqrt()
        c_in = 1.0 / (s**2 + sd**2).sqrt()
        c_noise = sigma.log() / 4.0
        return c_skip * x + c_out * self.net(c_in * x, c_noise)

    def extra_repr(self) -> str:
        return f"sigma_data={self.sigma_data}"


class EDMObjective:
    """EDM's loss (eq. 8): mean over the batch of λ(σ)·mean over pixels of (D(y + n; σ) − y)².

    Follows the trainer's objective protocol `objective(model, sde, x, t, generator) -> (loss,
    {"edm": value})` with `model` a denoiser D(x, σ) (an `EDMDenoiser`) and x the images in [0, 1].
    `sde` and `t` are ignored: each call draws, from `generator` (on the CPU, then moved to x's
    device), ln σ ~ N(P_mean, P_std²) per sample and then n = σ·z, z ~ N(0, I).
    """

    spec = "edm"

    def __init__(self, P_mean: float = -1.2, P_std: float = 1.2, sigma_data: float = 0.5) -> None:
        P_mean = float(P_mean)
        if not math.isfinite(P_mean):
            raise ValueError(f"P_mean must be finite, got {P_mean!r}")
        self.P_mean, self.P_std = P_mean, _positive("P_std", P_std)
        self.sigma_data = _positive("sigma_data", sigma_data)

    @property
    def names(self) -> list[str]:
        return ["edm"]

    def __call__(
        self, model: Denoiser, sde, x: torch.Tensor, t=None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        _check_images("x", x)
        ln_sigma = torch.randn(x.shape[0], generator=generator, dtype=x.dtype) * self.P_std + self.P_mean
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        sigma = ln_sigma.exp().to(x.device)
        s = sigma.reshape(-1, 1, 1, 1)
        y = 2.0 * x - 1.0
        denoised = model(y + s * z.to(x.device), sigma)
        weight = (sigma**2 + self.sigma_data**2) / (sigma * self.sigma_data) ** 2
        loss = (weight * ((denoised - y) ** 2).reshape(x.shape[0], -1).mean(1)).mean()
        return loss, {"edm": float(loss.detach())}

    def __repr__(self) -> str:
        return f"EDMObjective(P_mean={self.P_mean}, P_std={self.P_std}, sigma_data={self.sigma_data})"


def edm_sigmas(
    steps: int = 18, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0
) -> np.ndarray:
    """The time steps of eq. 5: σᵢ = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ for
    i < N = steps, then σ_N = 0; N + 1 values (float64), from sigma_max down to 0."""
    n = _count("steps", steps)
    sigma_min, sigma_max = _positive("sigma_min", sigma_min), _positive("sigma_max", sigma_max)
    rho = _positive("rho", rho)
    if not sigma_min < sigma_max:
        raise ValueError(f"need sigma_min < sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}")
    frac = np.arange(n, dtype=np.float64) / max(n - 1, 1)  # one step: σ₀ = sigma_max only
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    return np.append((hi + frac * (lo - hi)) ** rho, 0.0)


@torch.no_grad()
def edm_sample(
    denoiser: Denoiser,
    x: torch.Tensor,
    *,
    steps: int = 18,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    generator: torch.Generator | None = None,
    start_sigma: float | None = None,
    callback: Callback | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """EDM's deterministic Heun sampler (Algorithm 1 with S_churn = 0) on `edm_sigmas(...)`.

    x: standard normal noise (B, C, H, W); the sampler scales it by σ₀ = sigma_max, so it starts from
    N(0, σ₀²I). Each step: d = (x − D(x; σᵢ))/σᵢ, the Euler step x' = x + (σᵢ₊₁ − σᵢ)·d and, when
    σᵢ₊₁ > 0, Heun's correction x' = x + (σᵢ₊₁ − σᵢ)·(d + d')/2 with d' = (x' − D(x'; σᵢ₊₁))/σᵢ₊₁.
    18 steps make 35 evaluations of D.

    start_sigma ([−1, 1] units): start from a noisy image instead. x is then that image, y + noise of
    standard deviation start_sigma, in [−1, 1] units and not rescaled (`edm_start` makes it); the
    schedule keeps its σ < start_sigma, after start_sigma itself. generator: unused (the sampler is
    deterministic), taken for the samplers' common call shape. callback gets {"i", "sigma": σᵢ₊₁,
    "x", "denoised": D(x; σᵢ)} in [−1, 1] units after each step. Returns (x + 1)/2, not clamped.
    """
    _check_images("x", x)
    sigmas = edm_sigmas(steps, sigma_min, sigma_max, rho)
    x = x.to(torch.float32)
    if start_sigma is None:
        x = x * float(sigmas[0])
    else:
        start = _positive("start_sigma", start_sigma)
        sigmas = np.concatenate([[start], sigmas[sigmas < start]])

    def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
        return denoiser(x, torch.full((x.shape[0],), sigma, dtype=x.dtype, device=x.device))

    with progress_bar(len(sigmas) - 1, progress, "edm") as bar:
        for i in range(len(sigmas) - 1):
            s_cur, s_next = float(sigmas[i]), float(sigmas[i + 1])
            denoised = denoise(x, s_cur)
            d = (x - denoised) / s_cur
            x_next = x + (s_next - s_cur) * d
            if s_next > 0:
                d_next = (x_next - denoise(x_next, s_next)) / s_next
                x_next = x + (s_next - s_cur) * (0.5 * d + 0.5 * d_next)
            x = x_next
            if callback is not None:
                callback({"i": i, "sigma": s_next, "x": x, "denoised": denoised})
            bar.update()
    return (x + 1.0) / 2.0


def edm_start(
    images: torch.Tensor, sigma: float, generator: torch.Generator | None = None
) -> tuple[float, torch.Tensor]:
    """The start (start_sigma, x_start) of `edm_sample` for denoising `images`.

    images: y₀ = x + sigma·z (B, C, H, W) in [0, 1] units. In [−1, 1] units that is 2y₀ − 1 =
    y + 2·sigma·z, exactly the noisy input D sees at noise level 2·sigma (σ is continuous, so no
    rounding to a schedule step is needed): start_sigma = 2·sigma, x_start = 2y₀ − 1. generator is
    unused, taken for the same call shape as `ddpm_start`.
    """
    _check_images("images", images)
    start_sigma = 2.0 * _positive("sigma", sigma)
    return start_sigma, 2.0 * images.to(torch.float32) - 1.0
