"""Exact solutions of the log-density Fokker–Planck equation (DESIGN §2.5), the
references the solver is verified against.

With f = 0, p = eᵐ solves the heat equation p_t = ½g(t)²Δp (Cole–Hopf), so a Gaussian
mixture stays a mixture whose variances grow by τ(t) = ∫₀ᵗ g². With the VP grid drift
f = −½β(t)·pos, a Gaussian stays Gaussian with a known mean and variance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp


def gaussian_mixture_log_density(
    x: ArrayLike,
    y: ArrayLike,
    means: Sequence[tuple[float, float]],
    variances: Sequence[float],
    weights: Sequence[float],
    tau: float = 0.0,
) -> NDArray[np.float64]:
    """log Σₖ wₖ N((x, y); μₖ, (sₖ² + τ) I) for isotropic 2-D components."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    terms = []
    for (mx, my), s2, w in zip(means, variances, weights, strict=True):
        v = s2 + tau
        terms.append(np.log(w) - ((x - mx) ** 2 + (y - my) ** 2) / (2.0 * v) - np.log(2.0 * np.pi * v))
    return logsumexp(np.stack(terms), axis=0)


def ou_gaussian_moments(
    mean0: tuple[float, float], var0: float, beta_integral: float
) -> tuple[tuple[float, float], float]:
    """Mean and variance at time t of an isotropic Gaussian under dx = −½β(t)x dt + √β(t) dW.

    beta_integral = ∫₀ᵗ β: the mean decays by e^{−B/2}, the variance relaxes to 1 as
    1 + (var0 − 1)e^{−B}.
    """
    decay = np.exp(-0.5 * beta_integral)
    return (mean0[0] * decay, mean0[1] * decay), 1.0 + (var0 - 1.0) * np.exp(-beta_integral)
