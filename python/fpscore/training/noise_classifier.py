"""The noise-level classifier of Denoising MCMC (Kim & Ye, arXiv 2209.14593): a small CNN that tells
which of K noise levels a noisy image carries, so that the DLG sampler (`fpscore.samplers.dlg`) can
run Gibbs steps over the noise level.

Level σ_k means the forward process at the time t_k with λ(t_k)/α(t_k) = σ_k (`noise_to_time`): the
classifier sees α(t_k)·x₀ + λ(t_k)·z, the state a sampler holds at t_k. For a VESDE (α = 1) that is
x₀ + σ_k·z. The levels are geometric and ascending: index 0 is the least noise.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._atomic import atomic_write
from .._torch import torch
from .._validation import positive_float, positive_int, real_array

CHECKPOINT_NAME = "noise_classifier.pt"
WIDTHS = (32, 64, 128, 256)


def noise_levels(sigma_min: float, sigma_max: float, K: int) -> np.ndarray:
    """K geometric noise levels from sigma_min up to sigma_max (ascending, float64)."""
    sigma_min, sigma_max = positive_float("sigma_min", sigma_min), positive_float("sigma_max", sigma_max)
    K = positive_int("K", K)
    if K < 2:
        raise ValueError(f"K must be >= 2 (one level leaves nothing to classify), got {K}")
    if not sigma_min < sigma_max:
        raise ValueError(f"need sigma_min < sigma_max, got {sigma_min} and {sigma_max}")
    return np.geomspace(sigma_min, sigma_max, K)


def check_levels(levels: Any) -> np.ndarray:
    """levels as a float64 array of at least two finite, positive, strictly ascending values."""
    arr = real_array("levels", levels)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"levels must be a 1-D array of at least 2 noise levels, got shape {arr.shape}")
    if np.any(arr <= 0) or np.any(np.diff(arr) <= 0):
        raise ValueError(f"levels must be > 0 and strictly ascending, got {arr}")
    return arr


class NoiseLevelClassifier(torch.nn.Module):
    """Image (B, C, H, W) → K logits, one per noise level of `levels` (ascending).

    Four 3×3 convolutions (32, 64, 128, 256 channels) with ReLU, stride 2 from the second one on,
    global average pooling and a linear layer: small enough to cost far less than a score network.
    """

    def __init__(self, image_channels: int, levels: Any) -> None:
        super().__init__()
        self.image_channels = positive_int("image_channels", image_channels)
        lv = check_levels(levels)
        self.register_buffer("levels", torch.tensor(lv, dtype=torch.float64), persistent=True)
        layers: list[torch.nn.Module] = []
        c_in = self.image_channels
        for i, c_out in enumerate(WIDTHS):
            layers += [torch.nn.Conv2d(c_in, c_out, 3, stride=1 if i == 0 else 2, padding=1), torch.nn.ReLU()]
            c_in = c_out
        self.features = torch.nn.Sequential(*layers)
        self.head = torch.nn.Linear(c_in, lv.size)

    @property
    def K(self) -> int:
        return int(self.levels.numel())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.image_channels:
            raise ValueError(
                f"the classifier takes (B, {self.image_channels}, H, W) images, got shape {tuple(x.shape)}"
            )
        weight = self.head.weight
        h = self.features(x.to(dtype=weight.dtype, device=weight.device))
        return self.head(h.mean(dim=(2, 3)))


def _level_times(sde, levels: np.ndarray, T: float) -> np.ndarray:
    from ..sampling.conditional import noise_to_time

    return np.array([noise_to_time(sde, float(s), T) for s in levels])


def noised_batch(
    images: torch.Tensor, sde, levels: np.ndarray, k: torch.Tensor, generator: torch.Generator, T: float = 1.0
) -> torch.Tensor:
    """α(t_k)·x₀ + λ(t_k)·z for each image x₀ and level index k (the forward marginal at t_k)."""
    t = torch.as_tensor(_level_times(sde, levels, T), dtype=images.dtype)[k]
    shape = (-1,) + (1,) * (images.ndim - 1)
    alpha, lam = sde.alpha(t).reshape(shape), sde.marginal_std(t).reshape(shape)
    z = torch.randn(images.shape, generator=generator, dtype=images.dtype)
    return alpha * images + lam * z


def train_noise_classifier(
    images: Any,
    sde,
    levels: Any,
    *,
    steps: int = 2000,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    T: float = 1.0,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> NoiseLevelClassifier:
    """Train a `NoiseLevelClassifier` by cross-entropy on the clean `images` (N, C, H, W), noised to a
    level drawn uniformly from `levels` for each example (`noised_batch`), with Adam.

    With `out_dir`, writes `out_dir/noise_classifier.pt` (`save_noise_classifier`).
    """
    x0 = torch.as_tensor(real_array("images", images, min_ndim=4), dtype=torch.float32)
    if x0.ndim != 4 or x0.shape[0] < 1:
        raise ValueError(f"images must be (N, C, H, W) with N >= 1, got shape {tuple(x0.shape)}")
    lv = check_levels(levels)
    steps, batch_size = positive_int("steps", steps), positive_int("batch_size", batch_size)
    lr, T = positive_float("lr", lr), positive_float("T", T)
    _level_times(sde, lv, T)  # every level must be reachable by T: a clear error now, not mid-run
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = NoiseLevelClassifier(x0.shape[1], lv)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    from ..sampling._common import progress_bar

    loss = float("nan")
    with progress_bar(steps, progress, "noise classifier") as bar:
        for _ in range(steps):
            idx = torch.randint(x0.shape[0], (batch_size,), generator=gen)
            k = torch.randint(lv.size, (batch_size,), generator=gen)
            logits = model(noised_batch(x0[idx], sde, lv, k, gen, T))
            batch_loss = loss_fn(logits, k)
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
            loss = float(batch_loss.detach())
            bar.update()
            bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
    if not math.isfinite(loss):
        raise RuntimeError(f"the classifier's loss is {loss} after {steps} steps: try a smaller lr")
    model.eval()
    if out_dir is not None:
        save_noise_classifier(model, Path(out_dir) / CHECKPOINT_NAME, sde=sde, steps=steps, loss=loss)
    return model


def save_noise_classifier(model: NoiseLevelClassifier, path: str | os.PathLike[str], **extra: Any) -> Path:
    """Write the classifier's weights and config (channels, levels) to `path`, atomically.

    `extra` (plain data: the SDE's `to_dict()`, step count, last loss) is stored alongside.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "sde" in extra and hasattr(extra["sde"], "to_dict"):
        extra["sde"] = extra["sde"].to_dict()
    state = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": {"image_channels": model.image_channels, "levels": [float(s) for s in model.levels]},
        "fpscore_version": __version__,
        **extra,
    }
    with atomic_write(path) as f:
        torch.save(state, f)
    return path


def load_noise_classifier(path: str | os.PathLike[str], map_location: Any = "cpu") -> NoiseLevelClassifier:
    """The classifier saved at `path` (a file, or a folder holding noise_classifier.pt), in eval mode."""
    p = Path(path)
    if p.is_dir():
        p = p / CHECKPOINT_NAME
    if not p.is_file():
        raise FileNotFoundError(f"no noise classifier at {p}")
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as err:
        raise ValueError(f"{p}: torch.load(weights_only=True) failed: {err}") from err
    if not isinstance(state, dict) or "state_dict" not in state or "config" not in state:
        raise ValueError(f"{p} is not a noise-classifier checkpoint (needs state_dict and config)")
    cfg = state["config"]
    model = NoiseLevelClassifier(int(cfg["image_channels"]), cfg["levels"])
    model.load_state_dict(state["state_dict"])
    return model.eval()


__all__ = [
    "CHECKPOINT_NAME",
    "NoiseLevelClassifier",
    "load_noise_classifier",
    "noise_levels",
    "noised_batch",
    "save_noise_classifier",
    "train_noise_classifier",
]
