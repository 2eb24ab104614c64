"""Training losses on embedded images (DESIGN §1 step 4, §5).

At a time t with embedded image xⁿ (the image moved along the probability-flow transport to the
bin n nearest to t) the network sees

    x̃ = α(t)·xⁿ + λ(t)·z,    z ~ N(0, I),

and predicts ε̂ = ε̂(x̃, t); its score is s = −ε̂/λ(t). The losses:

- "dsm": denoising score matching, ε-form: w(t)·mean((ε̂ − z)²). With `weighting="paper"`
  w(t) = 1/(2g(t)²), the paper's final loss; with `"unit"` w = 1 (the DDPM "simple" loss).
- "ssm": sliced score matching (Song et al. 2019), variance-reduced form, written in ε:
  λ²·(½‖s‖² + vᵀ∇ₓ(vᵀs)) = ½‖ε̂‖² − λ·vᵀ∇ₓ(vᵀε̂) with v ~ N(0, I), the Jacobian–vector product by
  autograd, times w(t). Its minimum is negative (it equals the Fisher divergence up to a constant).
- "sw": sliced Wasserstein between the batch of one-step denoised estimates
  x̂₀ = (x̃ − λ·ε̂)/α and the batch of embedded targets xⁿ, flattened, through POT with the torch
  backend: SW₂² = mean over projections θ of W₂²(θ·x̂₀, θ·xⁿ). The *squared* distance is used: POT's
  SW₂ takes a square root, whose gradient is infinite (NaN) where the two batches coincide; its square
  has gradient zero there. The projections are drawn by the caller's generator, fresh for each call.

Every per-sample loss is a mean over pixels, so values do not grow with the image size. Losses add
up as "dsm+0.1*sw" (`parse_loss`). The functions here are pure: noise, projections and generators
come from the caller (the trainer owns one torch.Generator).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from .._torch import torch
from .._validation import positive_int
from .config import LOSS_NAMES, WEIGHTINGS, parse_loss

__all__ = [
    "LOSS_NAMES",
    "WEIGHTINGS",
    "LossNoise",
    "Objective",
    "dsm_loss",
    "parse_loss",
    "perturb",
    "random_projections",
    "ssm_loss",
    "sw_loss",
    "time_weight",
]


EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class LossNoise(NamedTuple):
    """The random numbers of one loss evaluation: z (B, C, H, W), the SSM vectors v (P, B, C, H, W)
    or None, the SW projections (D, P) or None."""

    z: torch.Tensor
    v: torch.Tensor | None
    projections: torch.Tensor | None


def _per_sample(v: torch.Tensor) -> torch.Tensor:
    return v.reshape(v.shape[0], -1)


def _bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, *([1] * (x.ndim - 1)))


def time_weight(sde, t: torch.Tensor, weighting: str = "unit") -> torch.Tensor:
    """w(t): 1 for "unit", 1/(2g(t)²) for "paper"."""
    if weighting == "unit":
        return torch.ones_like(t)
    if weighting == "paper":
        return 1.0 / (2.0 * sde.g(t) ** 2)
    raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")


def perturb(sde, x_n: torch.Tensor, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """x̃ = α(t)·xⁿ + λ(t)·z."""
    return _bcast(sde.alpha(t), x_n) * x_n + _bcast(sde.marginal_std(t), x_n) * z


def random_projections(
    dim: int, n: int, generator: torch.Generator | None = None, *, dtype=None, device=None
):
    """(dim, n) directions uniform on the unit sphere, drawn from `generator` (on the CPU)."""
    theta = torch.randn(dim, n, generator=generator, dtype=dtype or torch.float32)
    return (theta / theta.norm(dim=0, keepdim=True)).to(device)


# -- the terms, from one forward pass ------------------------------------------------------------


def _dsm_term(eps_hat, z, w):
    return (w * _per_sample((eps_hat - z) ** 2).mean(1)).mean()


def _ssm_term(eps_hat, x_tilde, lam, v, w):
    d = eps_hat[0].numel()
    per = 0.5 * _per_sample(eps_hat**2).sum(1)
    for vk in v:  # one vector-Jacobian product per projection
        (jvp,) = torch.autograd.grad((vk * eps_hat).sum(), x_tilde, create_graph=True)
        per = per - lam * _per_sample(vk * jvp).sum(1) / len(v)
    return (w * per / d).mean()


def _sw_term(x0_hat, x_n, projections):
    import ot

    _, log = ot.sliced_wasserstein_distance(
        x0_hat.reshape(x0_hat.shape[0], -1), x_n.reshape(x_n.shape[0], -1), projections=projections, log=True
    )
    return log["projected_emds"].mean()


def _forward(eps_model: EpsModel, sde, x_n, t, z, *, needs_input_grad=False):
    x_tilde = perturb(sde, x_n.detach(), t, z)
    if needs_input_grad:
        x_tilde = x_tilde.detach().requires_grad_(True)
    return x_tilde, eps_model(x_tilde, t)


def dsm_loss(eps_model: EpsModel, sde, x_n, t, z, *, weighting: str = "unit") -> torch.Tensor:
    """Denoising score matching in ε-form: mean over the batch of w(t)·mean((ε̂(x̃, t) − z)²)."""
    _, eps_hat = _forward(eps_model, sde, x_n, t, z)
    return _dsm_term(eps_hat, z, time_weight(sde, t, weighting))


def ssm_loss(eps_model: EpsModel, sde, x_n, t, z, v, *, weighting: str = "unit") -> torch.Tensor:
    """Sliced score matching (variance-reduced) at x̃; v: (P, *x_n.shape) projection vectors."""
    x_tilde, eps_hat = _forward(eps_model, sde, x_n, t, z, needs_input_grad=True)
    lam = sde.marginal_std(t)
    return _ssm_term(eps_hat, x_tilde, lam, v, time_weight(sde, t, weighting))


def sw_loss(eps_model: EpsModel, sde, x_n, t, z, projections) -> torch.Tensor:
    """SW₂² between x̂₀ = (x̃ − λε̂)/α and xⁿ over the batch; projections: (D, P) unit columns."""
    x_tilde, eps_hat = _forward(eps_model, sde, x_n, t, z)
    x0_hat = (x_tilde - _bcast(sde.marginal_std(t), x_n) * eps_hat) / _bcast(sde.alpha(t), x_n)
    return _sw_term(x0_hat, x_n, projections)


class Objective:
    """A weighted sum of losses, e.g. Objective("dsm+0.1*sw"); one network evaluation per call.

    Calling it draws z ~ N(0, I), then (if used) the SSM vectors, then the SW projections, in that
    order, from the given generator, and returns (total, {name: value}); `draw` and `evaluate` are
    those two halves (a process that trains on a part of a batch draws the whole batch's noise).
    """

    def __init__(
        self,
        spec: str = "dsm",
        *,
        weighting: str = "unit",
        sw_projections: int = 64,
        ssm_projections: int = 1,
    ) -> None:
        if not isinstance(spec, str):
            raise TypeError(f"spec must be a string such as 'dsm' or 'dsm+0.1*sw', got {type(spec).__name__}")
        self.terms = parse_loss(spec)
        bad = [coef for coef, _ in self.terms if not math.isfinite(coef)]
        if bad:
            raise ValueError(f"loss coefficients must be finite, got {bad} in {spec!r}")
        if not isinstance(weighting, str) or weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        sw_projections = positive_int("sw_projections", sw_projections)
        ssm_projections = positive_int("ssm_projections", ssm_projections)
        self.spec, self.weighting = spec, weighting
        self.sw_projections, self.ssm_projections = sw_projections, ssm_projections

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.terms]

    def __call__(self, eps_model: EpsModel, sde, x_n, t, generator: torch.Generator | None = None):
        noise = self.draw(tuple(x_n.shape), generator, dtype=x_n.dtype, device=x_n.device)
        return self.evaluate(eps_model, sde, x_n, t, noise)

    def draw(self, shape: tuple[int, ...], generator: torch.Generator | None, *, dtype, device) -> LossNoise:
        """The random numbers of one call for a batch of `shape`: z, then the SSM vectors, then the
        SW projections, drawn from `generator` on the CPU in that order and moved to `device`."""
        z = torch.randn(shape, generator=generator, dtype=dtype).to(device)
        v = projections = None
        if "ssm" in self.names:
            v = torch.randn((self.ssm_projections, *shape), generator=generator, dtype=dtype).to(device)
        if "sw" in self.names:
            dim = math.prod(shape[1:])
            projections = random_projections(dim, self.sw_projections, generator, dtype=dtype).to(device)
        return LossNoise(z, v, projections)

    def evaluate(
        self,
        eps_model: EpsModel,
        sde,
        x_n,
        t,
        noise: LossNoise,
        *,
        gather: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        """(total, {name: value}) for drawn `noise`. gather: maps a part of the batch to the whole
        batch (across processes, with autograd) for the terms that compare whole batches (SW)."""
        z, v, projections = noise
        x_tilde, eps_hat = _forward(eps_model, sde, x_n, t, z, needs_input_grad=v is not None)
        w = time_weight(sde, t, self.weighting)
        parts: dict[str, torch.Tensor] = {}
        for _, name in self.terms:
            if name == "dsm":
                parts[name] = _dsm_term(eps_hat, z, w)
            elif name == "ssm":
                parts[name] = _ssm_term(eps_hat, x_tilde, sde.marginal_std(t), v, w)
            else:
                lam, alpha = _bcast(sde.marginal_std(t), x_n), _bcast(sde.alpha(t), x_n)
                x0_hat = (x_tilde - lam * eps_hat) / alpha
                if gather is not None:
                    x0_hat, targets = gather(x0_hat), gather(x_n)
                else:
                    targets = x_n
                parts[name] = _sw_term(x0_hat, targets, projections)
        total = sum(coef * parts[name] for coef, name in self.terms)
        return total, {name: float(value.detach()) for name, value in parts.items()}

    def __repr__(self) -> str:
        return f"Objective({self.spec!r}, weighting={self.weighting!r})"
