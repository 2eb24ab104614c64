"""The stochastic processes of score-based diffusion (DESIGN §2.4).

One object per process is the single source of g(t), the drift, α(t) and λ(t):
the Fokker–Planck solver, the embedding, the losses and the samplers all take it.
The methods accept floats or numpy arrays of times (and return float64 numpy values), or
torch tensors (and return tensors of the same floating dtype and device), so the numpy
solver and the torch losses and samplers read the same schedule. torch is never imported here.
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import positive_float
from .numerics.grid import grid_coordinates


def _is_tensor(x: object) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _times(t: ArrayLike, like: object = None):
    """(namespace, t): t as float64 numpy, or as a floating torch tensor when t or `like` is one."""
    if _is_tensor(t) or _is_tensor(like):
        torch = sys.modules["torch"]
        if _is_tensor(like):
            dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
            return torch, torch.as_tensor(t, dtype=dtype, device=like.device)
        return torch, t if t.is_floating_point() else t.to(torch.get_default_dtype())
    return np, np.asarray(t, dtype=np.float64)


def _namespace(x: object):
    return sys.modules["torch"] if _is_tensor(x) else np


class SDE(ABC):
    """dx = f(x, t) dt + g(t) dW with marginal x_t = α(t) x_0 + λ(t) z.

    Each process has a short `kind` (configs, the command line) and its constructor arguments
    `PARAMETERS`; `to_dict` / `sde_from_dict` are its JSON form (cache manifests), `make_sde` builds
    one from a kind and a mapping that holds its parameters (config sections, CLI options).
    """

    kind: ClassVar[str]
    PARAMETERS: ClassVar[tuple[str, ...]]

    def parameters(self) -> dict[str, float]:
        """The constructor arguments: `type(sde)(**sde.parameters())` is the same process."""
        return {name: getattr(self, name) for name in self.PARAMETERS}

    def to_dict(self) -> dict[str, Any]:
        """The SDE as JSON data: {"type": "VESDE", "sigma": 2.0} and so on."""
        return {"type": type(self).__name__, **self.parameters()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.parameters().items())
        return f"{type(self).__name__}({args})"

    @abstractmethod
    def g(self, t: ArrayLike) -> NDArray[np.float64]:
        """Diffusion coefficient g(t)."""

    @abstractmethod
    def diffusion_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        """τ(t) = ∫₀ᵗ g(s)² ds: the variance the heat flow adds by time t (Cole–Hopf)."""

    def alpha(self, t: ArrayLike) -> NDArray[np.float64]:
        """Marginal mean factor α(t) (1 without drift)."""
        xp, t = _times(t)
        return xp.ones_like(t)

    def marginal_std(self, t: ArrayLike) -> NDArray[np.float64]:
        """Marginal standard deviation λ(t) of x_t given x_0."""
        tau = self.diffusion_integral(t)
        return _namespace(tau).sqrt(tau)

    def drift(self, x: ArrayLike, t: float) -> NDArray[np.float64]:
        """The image drift f(x, t) of the SDE, elementwise on pixel values (0 without drift)."""
        if _is_tensor(x):
            return sys.modules["torch"].zeros_like(x)
        return np.zeros_like(np.asarray(x, dtype=np.float64))

    def prior_std(self, T: float = 1.0) -> float:
        """Standard deviation of the prior the samplers start from at time T (λ(T))."""
        return float(self.marginal_std(T))

    def prior_sample(self, shape, generator=None, *, T: float = 1.0, dtype=None, device=None):
        """A torch tensor of prior samples at time T: prior_std(T)·z, z ~ N(0, I), drawn from `generator`."""
        import torch

        z = torch.randn(tuple(shape), generator=generator, dtype=dtype, device=device)
        return self.prior_std(T) * z

    def grid_drift(self, t: float, shape: tuple[int, int], h: float) -> NDArray[np.float64] | None:
        """The drift f(pos, t) on the solver's grid, (2, H, W) with component 0 = x; None when f = 0."""
        return None


class VESDE(SDE):
    """Variance exploding: f = 0, g(t) = σᵗ, λ(t)² = (σ²ᵗ − 1) / (2 ln σ)."""

    kind = "ve"
    PARAMETERS = ("sigma",)

    def __init__(self, sigma: float) -> None:
        self.sigma = positive_float("sigma", sigma)
        if self.sigma == 1.0:
            raise ValueError("VESDE needs sigma != 1 (sigma = 1 is ConstantSDE(1.0))")

    def g(self, t: ArrayLike) -> NDArray[np.float64]:
        xp, t = _times(t)
        return xp.exp(t * math.log(self.sigma)) if xp is not np else np.power(self.sigma, t)

    def diffusion_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        xp, t = _times(t)
        return xp.expm1(2.0 * t * math.log(self.sigma)) / (2.0 * math.log(self.sigma))


class VPSDE(SDE):
    """Variance preserving: f = −½β(t)x, g² = β(t), β linear from beta_min to beta_max on [0, 1]."""

    kind = "vp"
    PARAMETERS = ("beta_min", "beta_max")

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0) -> None:
        self.beta_min = positive_float("beta_min", beta_min)
        self.beta_max = positive_float("beta_max", beta_max)
        if self.beta_max < self.beta_min:
            raise ValueError(f"beta_max ({beta_max}) must be >= beta_min ({beta_min})")

    def beta(self, t: ArrayLike) -> NDArray[np.float64]:
        _, t = _times(t)
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def beta_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        """∫₀ᵗ β(s) ds."""
        _, t = _times(t)
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def g(self, t: ArrayLike) -> NDArray[np.float64]:
        beta = self.beta(t)
        return _namespace(beta).sqrt(beta)

    def diffusion_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        return self.beta_integral(t)

    def alpha(self, t: ArrayLike) -> NDArray[np.float64]:
        b = self.beta_integral(t)
        return _namespace(b).exp(-0.5 * b)

    def marginal_std(self, t: ArrayLike) -> NDArray[np.float64]:
        b = self.beta_integral(t)
        xp = _namespace(b)
        return xp.sqrt(-xp.expm1(-b))

    def prior_std(self, T: float = 1.0) -> float:
        """The VP prior is the standard normal."""
        return 1.0

    def drift(self, x: ArrayLike, t: float) -> NDArray[np.float64]:
        """The image drift f(x, t) = −½β(t)x (t a scalar, or one time per leading entry of x)."""
        if _is_tensor(x):
            _, t = _times(t, like=x)
            beta = self.beta(t)
            return -0.5 * beta.reshape(beta.shape + (1,) * (x.ndim - beta.ndim)) * x
        return -0.5 * self.beta(t) * np.asarray(x, dtype=np.float64)

    def grid_drift(self, t: float, shape: tuple[int, int], h: float) -> NDArray[np.float64]:
        """The Ornstein–Uhlenbeck pull −½β(t)(pos − centre) towards the grid's centre."""
        x, y = grid_coordinates(shape, h)
        return -0.5 * float(self.beta(t)) * np.stack([x, y])


class ConstantSDE(SDE):
    """f = 0 and a constant diffusion coefficient g."""

    kind = "constant"
    PARAMETERS = ("g",)

    def __init__(self, g: float) -> None:
        self.g_value = positive_float("g", g)
        if not math.isfinite(self.g_value * self.g_value):
            # g² (the diffusion integral, the losses' weights) would overflow, and `g**2` raises
            # OverflowError on a Python float.
            raise ValueError(f"g must be at most sqrt(max float) ≈ 1.34e154 (g² finite), got {g!r}")

    def g(self, t: ArrayLike) -> NDArray[np.float64]:
        xp, t = _times(t)
        return xp.full_like(t, self.g_value)

    def diffusion_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        _, t = _times(t)
        return self.g_value**2 * t

    def parameters(self) -> dict[str, float]:
        return {"g": self.g_value}


SDES: tuple[type[SDE], ...] = (VESDE, VPSDE, ConstantSDE)
SDE_KINDS = tuple(cls.kind for cls in SDES)  # ("ve", "vp", "constant")


def make_sde(kind: str, values: Mapping[str, Any]) -> SDE:
    """The SDE of a short kind ("ve", "vp", "constant") with its parameters read from `values`
    (a config section or the command line's options; other entries are ignored)."""
    for cls in SDES:
        if cls.kind == kind:
            return cls(**{name: values[name] for name in cls.PARAMETERS})
    raise ValueError(f"sde.kind must be one of {SDE_KINDS}, got {kind!r}")


def sde_from_dict(spec: Mapping[str, Any]) -> SDE:
    """The inverse of `SDE.to_dict`."""
    kind = spec.get("type")
    for cls in SDES:
        if cls.__name__ == kind:
            return cls(**{k: v for k, v in spec.items() if k != "type"})
    raise ValueError(f"unknown SDE type {kind!r} (known: {', '.join(c.__name__ for c in SDES)})")
