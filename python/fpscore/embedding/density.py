"""Step 1 of the method (DESIGN §1, §3): the initial log-density of an image.

p⁰ ∝ G_σs * x_c + ε   (mean 1 over the grid),   m⁰ = log p⁰                   init="intensity"
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import choice, non_negative_float, positive_float, real_array
from .value_kde import KDE_METHODS, kernel_sums

INITS = ("intensity", "value-kde")


def image_array(images: object) -> NDArray[np.float64]:
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


# A Gaussian this many times wider than the axis leaves its mean: the slowest mode of the
# reflected signal (period 2L) keeps a factor exp(-σ²π²/2L²) < 1e-200 of its amplitude.
_FLAT_SIGMA = 10.0


def _smooth(x: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
    """Gaussian smoothing of the last two axes (edges reflected). An axis much shorter than σ is
    replaced by its mean: scipy's kernel has 8σ + 1 taps, so σ = 1e6 takes over a second even on
    a 5×7 image (time and kernel memory grow with σ) and σ = 1e300 fails with "Maximum allowed
    size exceeded"."""
    from scipy.ndimage import gaussian_filter

    flat = [sigma > _FLAT_SIGMA * n for n in x.shape[-2:]]
    sigmas = [0.0 if f else sigma for f in flat]
    if any(s > 0.0 for s in sigmas):
        x = gaussian_filter(x, sigma=(0.0,) * (x.ndim - 2) + tuple(sigmas), mode="reflect")
    for axis, f in zip((-2, -1), flat, strict=True):
        if f:
            x = np.broadcast_to(x.mean(axis=axis, keepdims=True), x.shape)
    return np.array(x)


def initial_log_density(
    images: ArrayLike,
    init: str = "intensity",
    *,
    sigma_s: float = 1.0,
    eps: float = 1e-2,
    bandwidth: float | None = None,
    kde_method: str = "binned",
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
        `kde_method`: "binned" (default) sums the kernels through a grid of spacing bandwidth/4 in
        work close to O(H·W), within 1e-4 of "exact" in m⁰ as measured (docs/value-kde.md); a
        bandwidth too small for a grid falls back to the exact sum. "exact" sums all (H·W)²
        kernel pairs.
    Either way p⁰ is normalised to mean 1 over the grid (density relative to uniform), so m⁰
    averages about 0 and nothing depends on the grid spacing h.

    Returns m⁰ with the shape of `images` (float64). ValueError for values outside [0, 1],
    NaN/inf, fewer than 3 dimensions, or a density that is zero somewhere (log would be -inf).
    """
    x = image_array(images)
    init = choice("init", init, INITS)
    eps = non_negative_float("eps", eps)
    kde_method = choice("kde_method", kde_method, KDE_METHODS)
    _check_unit_range(x)
    if init == "intensity":
        sigma_s = non_negative_float("sigma_s", sigma_s)
        if sigma_s > 0.0:
            x = _smooth(x, sigma_s)
        return _normalise_log(x + eps, "intensity")
    H, W = x.shape[-2:]
    if H != W:
        raise ValueError(
            f"init='value-kde' pairs the value at (i, j) with the value at (j, i), so it needs square "
            f"images (H == W); got H×W = {H}×{W}: resize or crop the images to a square first"
        )
    if bandwidth is not None:
        bandwidth = positive_float("bandwidth", bandwidth)
    k = kernel_sums(x, bandwidth, kde_method)
    if eps > 0.0:
        k = k / k.mean(axis=(-2, -1), keepdims=True) + eps
    return _normalise_log(k, "value-KDE")
