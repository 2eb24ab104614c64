"""A picture of a cache (`fpscore show`): embedded images, log-densities and score fields over time.

The cache stores the embedded trajectories (and optionally the scores), not m. For the few images
shown, m and ∇m are recomputed from bin 0 of the cache (the input image) with the parameters in
the manifest: exact for float32/float64 caches, from the rounded image for float16 ones.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .._validation import choice, positive_int
from ..data.images import write_png
from .cache import open_cache
from .precompute import solve_images

FIELDS = ("quiver", "magnitude")


def _pick(n: int, choice: int | Sequence[int], what: str) -> list[int]:
    """`choice` evenly spaced values of range(n), or the given ones."""
    if isinstance(choice, int) and not isinstance(choice, bool):
        if choice < 1:
            raise ValueError(f"{what} must be >= 1, got {choice}")
        return sorted({int(v) for v in np.round(np.linspace(0, n - 1, min(choice, n)))})
    picked = [int(v) for v in choice]
    bad = [v for v in picked if not 0 <= v < n]
    if not picked or bad:
        raise ValueError(f"{what} must lie in 0..{n - 1}, got {picked}")
    return picked


def _as_rgb(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """(C, H, W) -> (H, W, 3) or (H, W) for display, clipped to [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x[0] if x.shape[0] == 1 else np.moveaxis(x[:3], 0, -1)


def show_cache(
    cache_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    images: int | Sequence[int] = 3,
    times: int | Sequence[int] = 5,
    field: str = "quiver",
    dpi: int = 80,
    palette: bool = False,
) -> Path:
    """Write a PNG of a finished cache to `out` and return its path.

    For each shown image (`images`: how many, evenly spaced over the cache, or a list of indices)
    three rows over the time bins (`times`: how many, evenly spaced from 0 to N, or a list of bins):
      1. the embedded image xⁿ (clipped to [0, 1] for display; the title gives its actual range),
      2. m = log p (mean over the channels), one colour scale per row,
      3. the score ∇m (mean over the channels): its magnitude |∇m| in gray, with arrows
         (field="quiver", x along columns, y down the rows) or without (field="magnitude").
    dpi: resolution; palette=True writes a 256-colour PNG (about half the size, for documentation).
    """
    # A Figure on its own Agg canvas: no pyplot, so the caller's backend and figures are untouched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    field = choice("field", field, FIELDS)
    dpi = positive_int("dpi", dpi)
    cache = open_cache(cache_dir)
    which = _pick(len(cache), images, "images")
    bins = _pick(cache.num_bins, times, "times")
    traj = np.stack([np.asarray(cache.trajectory(i), dtype=np.float64) for i in which])  # (k, N+1, C, H, W)
    sol = solve_images(np.clip(traj[:, 0], 0.0, 1.0), cache.parameters)
    m = sol.m  # (N+1, k, C, H, W)
    grad = sol.score.mean(axis=2)  # (N+1, k, 2, H, W)
    H, W = cache.image_shape[1:]

    rows, cols = 3 * len(which), len(bins)
    panel = 1.45
    fig = Figure(figsize=(panel * cols + 1.6, panel * rows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    params = cache.parameters
    fig.suptitle(
        f"{cache.sde!r}, N = {params['n_steps']}, T = {params['T']:g}, "
        f"h = {params['h']:g}, bc = {params['bc']}, {params['scheme']}, init = {params['init']}, "
        f"reduce = {params['reduce']}",
        fontsize=9,
    )
    step = max(1, min(H, W) // 8)
    yy, xx = np.mgrid[0:H:step, 0:W:step]
    for r, i in enumerate(which):
        m_row = m[bins, r].mean(axis=1)  # (len(bins), H, W)
        m_lo, m_hi = float(m_row.min()), float(m_row.max())
        g_row = np.hypot(grad[bins, r, 0], grad[bins, r, 1])
        g_hi = float(g_row.max()) or 1.0
        # One arrow scale per row: the 98th percentile of the drawn magnitudes spans 1.5 arrow spacings.
        g_typ = float(np.percentile(g_row[:, ::step, ::step], 98)) or g_hi
        arrow_scale = g_typ / (1.5 * step)
        for c, n in enumerate(bins):
            t = cache.times[n]
            ax_x, ax_m, ax_s = axes[3 * r, c], axes[3 * r + 1, c], axes[3 * r + 2, c]
            xn = traj[r, n]
            ax_x.imshow(_as_rgb(xn), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax_x.set_title(f"t={t:.2f} x∈[{xn.min():.2f},{xn.max():.2f}]", fontsize=7)
            im_m = ax_m.imshow(m_row[c], cmap="viridis", vmin=m_lo, vmax=m_hi, interpolation="nearest")
            im_s = ax_s.imshow(g_row[c], cmap="gray_r", vmin=0.0, vmax=g_hi, interpolation="nearest")
            if field == "quiver":
                gx, gy = grad[n, r, 0][::step, ::step], grad[n, r, 1][::step, ::step]
                ax_s.quiver(
                    xx,
                    yy,
                    gx,
                    gy,
                    color="tab:red",
                    angles="xy",
                    scale_units="xy",
                    scale=arrow_scale,
                    pivot="mid",
                    width=0.01,
                )
            for ax in (ax_x, ax_m, ax_s):
                ax.set_xticks([])
                ax.set_yticks([])
        axes[3 * r, 0].set_ylabel(f"image {i}\nembedded x", fontsize=8)
        axes[3 * r + 1, 0].set_ylabel("m = log p\n(mean over C)", fontsize=8)
        axes[3 * r + 2, 0].set_ylabel("score ∇m\n|∇m| + arrows" if field == "quiver" else "|∇m|", fontsize=8)
        fig.colorbar(im_m, ax=axes[3 * r + 1, :].tolist(), shrink=0.9, pad=0.01).ax.tick_params(labelsize=7)
        fig.colorbar(im_s, ax=axes[3 * r + 2, :].tolist(), shrink=0.9, pad=0.01).ax.tick_params(labelsize=7)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    image = Image.open(buffer).convert("RGB")  # no alpha channel: smaller files
    if palette:
        image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    return write_png(image, out)
