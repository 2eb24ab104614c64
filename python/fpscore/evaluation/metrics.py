"""Image metrics of the paper: SSIM, PSNR and MSE (scikit-image), on images in [0, 1].

Images are (C, H, W) (channel first, as everywhere in fpscore) or (H, W), numpy arrays or torch
tensors. Samples are clipped to [0, 1] before scoring (data_range = 1). With several training images,
each sample is scored against its best match: the training image with the highest SSIM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

METRICS = ("ssim", "psnr", "mse")


def _as_image(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor; no torch import needed
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim not in (2, 3):
        raise ValueError(f"{name} must be one (C, H, W) or (H, W) image, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has non-finite values")
    return a


def _pair(image: Any, reference: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.clip(_as_image(image, "image"), 0.0, 1.0)
    b = _as_image(reference, "reference")
    if a.shape != b.shape:
        raise ValueError(f"image {a.shape} and reference {b.shape} must have the same shape")
    return a, b


def ssim(image: Any, reference: Any) -> float:
    """Structural similarity (skimage, 7×7 window or the largest odd one that fits, data_range 1)."""
    from skimage.metrics import structural_similarity

    a, b = _pair(image, reference)
    side = min(a.shape[-2:])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        raise ValueError(f"SSIM needs images of at least 3×3 pixels, got {a.shape}")
    channel_axis = 0 if a.ndim == 3 else None
    return float(structural_similarity(a, b, data_range=1.0, channel_axis=channel_axis, win_size=win))


def psnr(image: Any, reference: Any) -> float:
    """Peak signal-to-noise ratio in dB for data_range 1 (inf for identical images)."""
    from skimage.metrics import peak_signal_noise_ratio

    a, b = _pair(image, reference)
    if np.array_equal(a, b):
        return float("inf")
    return float(peak_signal_noise_ratio(b, a, data_range=1.0))


def mse(image: Any, reference: Any) -> float:
    """Mean squared error."""
    from skimage.metrics import mean_squared_error

    a, b = _pair(image, reference)
    return float(mean_squared_error(b, a))


def image_metrics(image: Any, reference: Any) -> dict[str, float]:
    return {"ssim": ssim(image, reference), "psnr": psnr(image, reference), "mse": mse(image, reference)}


def best_matches(samples: Sequence[Any], references: Sequence[Any]) -> list[dict[str, float]]:
    """For each sample, the metrics against the reference of highest SSIM, with its `index`."""
    if len(references) == 0:
        raise ValueError("best_matches needs at least one reference image")
    out = []
    for sample in samples:
        scores = [ssim(sample, ref) for ref in references]
        k = int(np.argmax(scores))
        out.append({"index": k, **image_metrics(sample, references[k])})
    return out


def summarize(samples: Sequence[Any], references: Sequence[Any]) -> dict[str, float]:
    """Mean (and best) SSIM, PSNR, MSE of the samples against their best-matching references."""
    rows = best_matches(samples, references)
    summary: dict[str, float] = {"n": float(len(rows))}
    for key in METRICS:
        values = np.array([r[key] for r in rows])
        summary[key] = float(values.mean())
        summary[f"{key}_best"] = float(values.min() if key == "mse" else values.max())
    return summary
