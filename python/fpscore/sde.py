"""The stochastic processes of score-based diffusion (DESIGN §2.4).

One object per process is the single source of g(t), the drift, α(t) and λ(t):
the Fokker–Planck solver, the embedding, the losses and the samplers all take it.
The methods accept floats or numpy arrays of times.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .grid import grid_coordinates


def _positive_finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return value


class SDE(ABC):
    """dx = f(x, t) dt + g(t) dW with marginal x_t = α(t) x_0 + λ(t) z."""

    @abstractmethod
    def g(self, t: ArrayLike) -> NDArray[np.float64]:
        """Diffusion coefficient g(t)."""

    @abstractmethod
    def diffusion_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        """τ(t) = ∫₀ᵗ g(s)² ds: the variance the heat flow adds by time t (Cole–Hopf)."""

    def alpha(self, t: ArrayLike) -> NDArray[np.float64]:
        """Marginal mean factor α(t) (1 without drift)."""
        return np.ones_like(np.asarray(t, dtype=np.float64))

    def marginal_std(self, t: ArrayLike) -> NDArray[np.float64]:
        """Marginal standard deviation λ(t) of x_t given x_0."""
        return np.sqrt(self.diffusion_integral(t))

    def grid_drift(self, t: float, shape: tuple[int, int], h: float) -> NDArray[np.float64] | None:
        """The drift f(pos, t) on the solver's grid, (2, H, W) with component 0 = x; None when f = 0."""
        return None


class VESDE(SDE):
    """Variance exploding: f = 0, g(t) = σᵗ, λ(t)² = (σ²ᵗ − 1) / (2 ln σ)."""

    def __init__(self, sigma: float) -> None:
        self.sigma = _positive_finite("sigma", sigma)
        if self.sigma == 1.0:
            raise ValueError("VESDE needs sigma != 1 (sigma = 1 is ConstantSDE(1.0))")

    def g(self, t: ArrayLike) -> NDArray[np.float64]:
        return np.power(self.sigma, np.asarray(t, dtype=np.float64))

    def diffusion_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=np.float64)
        return np.expm1(2.0 * t * math.log(self.sigma)) / (2.0 * math.log(self.sigma))

    def __repr__(self) -> str:
        return f"VESDE(sigma={self.sigma})"


class VPSDE(SDE):
    """Variance preserving: f = −½β(t)x, g² = β(t), β linear from beta_min to beta_max on [0, 1]."""

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0) -> None:
        self.beta_min = _positive_finite("beta_min", beta_min)
        self.beta_max = _positive_finite("beta_max", beta_max)
        if self.beta_max < self.beta_min:
            raise ValueError(f"beta_max ({beta_max}) must be >= beta_min ({beta_min})")

    def beta(self, t: ArrayLike) -> NDArray[np.float64]:
        return self.beta_min + np.asarray(t, dtype=np.float64) * (self.beta_max - self.beta_min)

    def beta_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        """∫₀ᵗ β(s) ds."""
        t = np.asarray(t, dtype=np.float64)
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def g(self, t: ArrayLike) -> NDArray[np.float64]:
        return np.sqrt(self.beta(t))

    def diffusion_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        return self.beta_integral(t)

    def alpha(self, t: ArrayLike) -> NDArray[np.float64]:
        return np.exp(-0.5 * self.beta_integral(t))

    def marginal_std(self, t: ArrayLike) -> NDArray[np.float64]:
        return np.sqrt(-np.expm1(-self.beta_integral(t)))

    def grid_drift(self, t: float, shape: tuple[int, int], h: float) -> NDArray[np.float64]:
        """The Ornstein–Uhlenbeck pull −½β(t)(pos − centre) towards the grid's centre."""
        x, y = grid_coordinates(shape, h)
        return -0.5 * float(self.beta(t)) * np.stack([x, y])

    def __repr__(self) -> str:
        return f"VPSDE(beta_min={self.beta_min}, beta_max={self.beta_max})"


class ConstantSDE(SDE):
    """f = 0 and a constant diffusion coefficient g."""

    def __init__(self, g: float) -> None:
        self.g_value = _positive_finite("g", g)

    def g(self, t: ArrayLike) -> NDArray[np.float64]:
        return np.full_like(np.asarray(t, dtype=np.float64), self.g_value)

    def diffusion_integral(self, t: ArrayLike) -> NDArray[np.float64]:
        return self.g_value**2 * np.asarray(t, dtype=np.float64)

    def __repr__(self) -> str:
        return f"ConstantSDE(g={self.g_value})"
