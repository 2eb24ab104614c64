"""DDPM (Ho et al. 2020) as trained and sampled in the paper, with DDIM sampling (Song et al. 2021).

Images arrive in [0, 1] and are mapped to y = 2x − 1 ∈ [−1, 1]. With a linear schedule βᵢ
(i = 0 … T−1), αᵢ = 1 − βᵢ and ᾱᵢ = ∏_{j≤i} αⱼ, the forward process is (eq. 4)

    xᵢ = √ᾱᵢ·y + √(1 − ᾱᵢ)·z,    z ~ N(0, I),

and the network predicts ε̂(xᵢ, i) ≈ z with the unweighted loss L_simple (eq. 14, Algorithm 1).
Sampling is the ancestral chain of Algorithm 2 or DDIM's update (Song et al., eq. 12). The network
sees the step index i as the float time i/T (`DDPMSchedule.model_time`); a `UNet` with
`time_scale = T` (1000, its default) then embeds the integer i, as Ho et al.'s network does.
Samplers return (y + 1)/2, in [0, 1] units and not clamped.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np

from ..._torch import torch
from ...sampling._common import progress_bar

__all__ = ["DDPMObjective", "DDPMSchedule", "ddim_indices", "ddim_sample", "ddpm_sample", "ddpm_start"]

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[dict], None]


def _check_images(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a (B, C, H, W) tensor, got {got}")


def _count(name: str, value: object, minimum: int = 1) -> int:
    try:
        n = operator.index(value)  # ints and numpy ints, not floats or bools
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if isinstance(value, bool) or n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return n


def _normal(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    # drawn on the CPU so that a seed gives the same noise on every device
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)


class DDPMSchedule:
    """The linear variance schedule βᵢ = linspace(beta_start, beta_end, T), i = 0 … T−1.

    Arrays (numpy float64, length T): `betas`, `alphas` = 1 − β, `alphas_cumprod` ᾱᵢ,
    `alphas_cumprod_prev` ᾱᵢ₋₁ (ᾱ₋₁ = 1), `posterior_variance` β̃ᵢ = βᵢ(1 − ᾱᵢ₋₁)/(1 − ᾱᵢ) (eq. 7)
    and `noise_ratios` √(1 − ᾱᵢ)/√ᾱᵢ, the noise-to-signal ratio of xᵢ (increasing in i).
    """

    def __init__(self, num_steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> None:
        self.num_steps = _count("num_steps", num_steps)
        self.beta_start, self.beta_end = float(beta_start), float(beta_end)
        if not 0.0 < self.beta_start <= self.beta_end < 1.0:
            raise ValueError(
                f"need 0 < beta_start <= beta_end < 1, got beta_start={beta_start!r}, beta_end={beta_end!r}"
            )
        # float64 throughout, as Ho et al.'s code: ᾱ near T−1 is ~4e-5, where float32 loses digits
        self.betas = np.linspace(self.beta_start, self.beta_end, self.num_steps, dtype=np.float64)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.alphas_cumprod_prev = np.concatenate([[1.0], self.alphas_cumprod[:-1]])
        self.posterior_variance = self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.noise_ratios = np.sqrt((1.0 - self.alphas_cumprod) / self.alphas_cumprod)

    def model_time(self, index: torch.Tensor) -> torch.Tensor:
        """The network's float time input for step indices i: i/T (so time_scale = T embeds i)."""
        return index.to(torch.float32) / self.num_steps

    def index_for_noise(self, sigma: float) -> int:
        """The first index i whose noise ratio √(1 − ᾱᵢ)/√ᾱᵢ reaches `sigma` ([−1, 1] units).

        So xᵢ holds at least as much noise as an image with noise of standard deviation sigma;
        `ddpm_start` adds the small remainder. ValueError if sigma is above the ratio at T−1.
        """
        sigma = float(sigma)
        top = float(self.noise_ratios[-1])
        if not (math.isfinite(sigma) and 0.0 <= sigma <= top * (1.0 + 1e-12)):
            raise ValueError(f"sigma must be in [0, {top:.6g}] (the noise ratio at step T−1), got {sigma!r}")
        # the relative slack maps a ratio read back from the schedule to its own index despite round-off
        index = int(np.searchsorted(self.noise_ratios, sigma * (1.0 - 1e-12), side="left"))
        return min(index, self.num_steps - 1)

    def __repr__(self) -> str:
        return (
            f"DDPMSchedule(num_steps={self.num_steps}, beta_start={self.beta_start}, "
            f"beta_end={self.beta_end})"
        )


def _check_schedule(schedule: object) -> DDPMSchedule:
    if not isinstance(schedule, DDPMSchedule):
        raise ValueError(f"schedule must be a DDPMSchedule, got {type(schedule).__name__}")
    return schedule


def _start_index(schedule: DDPMSchedule, start_index: int | None) -> int:
    if start_index is None:
        return schedule.num_steps - 1
    i = _count("start_index", start_index, minimum=0)
    if i >= schedule.num_steps:
        raise ValueError(f"start_index must be in [0, {schedule.num_steps - 1}], got {start_index}")
    return i


def _index_batch(i: int, x: torch.Tensor) -> torch.Tensor:
    return torch.full((x.shape[0],), i, dtype=torch.long, device=x.device)


class DDPMObjective:
    """Ho et al.'s L_simple (eq. 14): mean over batch and pixels of (ε̂(√ᾱᵢ·y + √(1−ᾱᵢ)·z, i) − z)².

    Follows the trainer's objective protocol `objective(model, sde, x, t, generator) -> (loss,
    {"ddpm": value})` with x the images in [0, 1]. `sde` and `t` are ignored: each call draws, from
    `generator` (on the CPU, then moved to x's device), one index i ~ Uniform{0 … T−1} per sample
    and then z ~ N(0, I), as Algorithm 1 does.
    """

    spec = "ddpm"

    def __init__(self, schedule: DDPMSchedule | None = None) -> None:
        self.schedule = _check_schedule(schedule if schedule is not None else DDPMSchedule())

    @property
    def names(self) -> list[str]:
        return ["ddpm"]

    def __call__(
        self, model: EpsModel, sde, x: torch.Tensor, t=None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        _check_images("x", x)
        s = self.schedule
        index = torch.randint(s.num_steps, (x.shape[0],), generator=generator)
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        abar = torch.from_numpy(s.alphas_cumprod)[index].to(x.device, x.dtype).reshape(-1, 1, 1, 1)
        y = 2.0 * x - 1.0
        x_i = abar.sqrt() * y + (1.0 - abar).sqrt() * z
        eps_hat = model(x_i, s.model_time(index.to(x.device)))
        loss = ((eps_hat - z) ** 2).mean()
        return loss, {"ddpm": float(loss.detach())}

    def __repr__(self) -> str:
        return f"DDPMObjective({self.schedule!r})"


@torch.no_grad()
def ddpm_sample(
    eps_model: EpsModel,
    schedule: DDPMSchedule,
    x: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    start_index: int | None = None,
    callback: Callback | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Ancestral sampling (Algorithm 2) from x at index T−1 (or `start_index`) down to 0.

    x: standard normal noise (B, C, H, W) in [−1, 1] units, or a `ddpm_start` state. Each step

        xᵢ₋₁ = (xᵢ − βᵢ/√(1 − ᾱᵢ)·ε̂(xᵢ, i))/√αᵢ + σᵢ·z,    σᵢ² = β̃ᵢ (the posterior variance),

    with no noise at i = 0. As in Algorithm 2, x̂₀ is not clipped to [−1, 1] (Ho et al.'s released
    code clips it). The noise comes from `generator` only (drawn on the CPU). callback gets
    {"i": step count, "index": i, "x": xᵢ₋₁, "denoised": x̂₀ from ε̂} in [−1, 1] units after each
    step. Returns (x₀ + 1)/2, not clamped.
    """
    s = _check_schedule(schedule)
    _check_images("x", x)
    start = _start_index(s, start_index)
    x = x.to(torch.float32)
    with progress_bar(start + 1, progress, "ddpm") as bar:
        for k, i in enumerate(range(start, -1, -1)):
            eps = eps_model(x, s.model_time(_index_batch(i, x)))
            abar, beta = float(s.alphas_cumprod[i]), float(s.betas[i])
            x0_hat = (x - math.sqrt(1.0 - abar) * eps) / math.sqrt(abar)
            x = (x - beta / math.sqrt(1.0 - abar) * eps) / math.sqrt(float(s.alphas[i]))
            if i > 0:
                x = x + math.sqrt(float(s.posterior_variance[i])) * _normal(x, generator)
            if callback is not None:
                callback({"i": k, "index": i, "x": x, "denoised": x0_hat})
            bar.update()
    return (x + 1.0) / 2.0


def ddim_indices(schedule: DDPMSchedule, steps: int, start_index: int | None = None) -> np.ndarray:
    """`steps` indices evenly spaced from `start_index` (default T−1) down to 0, rounded; every
    index when there are fewer than `steps` of them."""
    s = _check_schedule(schedule)
    steps = _count("steps", steps)
    start = _start_index(s, start_index)
    n = min(steps, start + 1)
    # the spacing is >= 1, so the rounded indices are distinct
    return np.round(np.linspace(start, 0, n)).astype(np.int64)


@torch.no_grad()
def ddim_sample(
    eps_model: EpsModel,
    schedule: DDPMSchedule,
    x: torch.Tensor,
    steps: int = 50,
    *,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    start_index: int | None = None,
    callback: Callback | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """DDIM (Song et al. 2021) on `ddim_indices(schedule, steps, start_index)`: `steps` network
    evaluations. From index τ to the next τ' (ᾱ at τ' = −1 is 1), with x̂₀ = (x − √(1 − ᾱ_τ)·ε̂)/√ᾱ_τ
    (eq. 12, 16):

        x_τ' = √ᾱ_τ'·x̂₀ + √(1 − ᾱ_τ' − σ²)·ε̂ + σ·z,
        σ = eta·√((1 − ᾱ_τ')/(1 − ᾱ_τ))·√(1 − ᾱ_τ/ᾱ_τ').

    eta = 0 is the deterministic DDIM; eta = 1 has DDPM's posterior variance. The last step returns
    x̂₀. x, generator, callback ({"i", "index", "x", "denoised"}) and the result as in `ddpm_sample`.
    """
    s = _check_schedule(schedule)
    _check_images("x", x)
    eta = float(eta)
    if not (math.isfinite(eta) and eta >= 0.0):
        raise ValueError(f"eta must be finite and >= 0, got {eta!r}")
    seq = ddim_indices(s, steps, start_index)
    x = x.to(torch.float32)
    with progress_bar(len(seq), progress, "ddim") as bar:
        for k, i in enumerate(seq):
            i = int(i)
            abar = float(s.alphas_cumprod[i])
            abar_next = float(s.alphas_cumprod[seq[k + 1]]) if k + 1 < len(seq) else 1.0
            eps = eps_model(x, s.model_time(_index_batch(i, x)))
            x0_hat = (x - math.sqrt(1.0 - abar) * eps) / math.sqrt(abar)
            sigma = eta * math.sqrt((1.0 - abar_next) / (1.0 - abar) * (1.0 - abar / abar_next))
            x = math.sqrt(abar_next) * x0_hat + math.sqrt(max(1.0 - abar_next - sigma**2, 0.0)) * eps
            if sigma > 0:
                x = x + sigma * _normal(x, generator)
            if callback is not None:
                callback({"i": k, "index": i, "x": x, "denoised": x0_hat})
            bar.update()
    return (x + 1.0) / 2.0


def ddpm_start(
    schedule: DDPMSchedule,
    images: torch.Tensor,
    sigma: float,
    generator: torch.Generator | None = None,
) -> tuple[int, torch.Tensor]:
    """The start (start_index, x_start) of `ddpm_sample`/`ddim_sample` for denoising `images`.

    images: y₀ = x + sigma·z (B, C, H, W) in [0, 1] units, i.e. noise of standard deviation 2·sigma
    in [−1, 1] units. start_index = `index_for_noise(2·sigma)`, the first index whose noise ratio
    rᵢ = √(1 − ᾱᵢ)/√ᾱᵢ reaches 2·sigma, and

        x_start = √ᾱᵢ·(2y₀ − 1 + √(rᵢ² − 4·sigma²)·z'),    z' ~ N(0, I) from `generator`,

    which is √ᾱᵢ·y + √(1 − ᾱᵢ)·(unit noise): an exact draw of the forward process at that index.
    The top-up noise z' is small (the ratios of neighbouring indices are close) and is zero when
    2·sigma is a ratio of the schedule.
    """
    s = _check_schedule(schedule)
    _check_images("images", images)
    sigma = float(sigma)
    if not (math.isfinite(sigma) and sigma >= 0.0):
        raise ValueError(f"sigma must be finite and >= 0, got {sigma!r}")
    index = s.index_for_noise(2.0 * sigma)
    y = 2.0 * images.to(torch.float32) - 1.0
    top_up = max(float(s.noise_ratios[index]) ** 2 - 4.0 * sigma**2, 0.0)
    if top_up > 0:
        y = y + math.sqrt(top_up) * _normal(y, generator)
    return index, math.sqrt(float(s.alphas_cumprod[index])) * y
