"""The clean image behind each training sample (DESIGN §1 step 4): the data side of the trainer.

A sample at time t uses image i's embedded trajectory at the time bin n whose tₙ is nearest to t on
the dataset's own time grid (any increasing grid, not only a uniform one). From xⁿ it forms

    x̂ⁿ = x⁰ + s·(xⁿ/aₙ − x⁰),

where aₙ = `fpscore.embedding.transport.drift_factor` removes the drift's own pull that the embedding already
applied (VP: xⁿ ≈ α(tₙ)x⁰ with a zero score; the loss multiplies by α(t) itself, once), and s is
the embedding *strength*: s = 1 is the embedding as computed, s = 0 the control (x⁰ at every time),
other values scale the displacement the score causes. The loss then noises x̂ⁿ as α(t)·x̂ⁿ + λ(t)·z.

Datasets follow the protocol of `fpscore.training.trainer`: items (xⁿ (C, H, W), n, image index),
in the layout of `fpscore.EmbeddedDataset` when they have `bins`, else indexed by reading every
item once. `TrainingImages.batch` draws a step's times and images (the trainer only trains).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._torch import torch
from ..embedding.transport import drift_factor


def _time_grid(dataset: Any, times: Any) -> np.ndarray:
    """The times t₀ … t_N of the dataset's bins, checked to increase from t₀ = 0."""
    if times is None:
        times = getattr(dataset, "times", None)
    if times is None:
        bins = getattr(dataset, "bins", None)
        times = np.linspace(0.0, 1.0, (max(bins) if bins else 1) + 1)
    grid = np.asarray(times, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 1 or np.any(np.diff(grid) <= 0) or grid[0] != 0:
        raise ValueError(f"times must increase from t₀ = 0, got {grid}")
    return grid


class ItemLocator:
    """(image, bin) → dataset item, for datasets in the EmbeddedDataset layout or any other."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        bins = getattr(dataset, "bins", None)
        if bins is not None:
            self.bins = [int(b) for b in bins]
            if len(dataset) % len(self.bins):
                raise ValueError(
                    f"a dataset of {len(dataset)} items cannot serve {len(self.bins)} bins per image"
                )
            self.n_images = len(dataset) // len(self.bins)
            pos = {b: j for j, b in enumerate(self.bins)}
            self._item = lambda i, n: i * len(self.bins) + pos[n]
        else:  # read every item once
            table: dict[tuple[int, int], int] = {}
            for k in range(len(dataset)):
                _, n, i = dataset[k]
                table[(int(i), int(n))] = k
            self.bins = sorted({n for _, n in table})
            images = sorted({i for i, _ in table})
            if images != list(range(len(images))) or len(table) != len(images) * len(self.bins):
                raise ValueError("the dataset must hold every time bin for every image 0..M-1")
            self.n_images = len(images)
            self._item = lambda i, n: table[(i, n)]

    def __call__(self, image: int, n: int) -> int:
        return self._item(image, n)

    def image(self, image: int, n: int) -> torch.Tensor:
        return torch.as_tensor(self.dataset[self._item(image, n)][0])


def nearest_bins(times: np.ndarray | torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """For each t, the index n of the grid time tₙ nearest to it (ties to the earlier bin)."""
    grid = torch.as_tensor(times, dtype=torch.float64)
    t = t.detach().to(torch.float64).cpu()
    upper = torch.searchsorted(grid, t).clamp(1, len(grid) - 1)
    lower = upper - 1
    return torch.where(t - grid[lower] <= grid[upper] - t, lower, upper)


class TrainingImages:
    """The data side of a training step: times, images and x̂ⁿ (see the module docstring).

    dataset: embedded trajectories (the trainer's protocol); times: (N+1,) increasing from 0 (default:
    the dataset's `times`, else linspace(0, 1, N+1) for its bins); sde: the SDE the trajectories were
    embedded with; strength: s (0: the control, x⁰ at every time); times t ∈ [t_min, T] are drawn
    "stratified" (one per stratum of [t_min, T] split in B equal parts) or "uniform".
    """

    def __init__(
        self,
        dataset: Any,
        times: Any,
        sde: Any,
        strength: float = 1.0,
        *,
        t_min: float = 0.0,
        time_sampling: str = "stratified",
    ) -> None:
        self.times = _time_grid(dataset, times)
        self.strength = float(strength)
        if not np.isfinite(self.strength):
            raise ValueError(f"the embedding strength must be finite, got {strength}")
        if self.times.size < 2 and self.strength != 0.0:
            raise ValueError("a single time bin (the images alone) trains only with data.scores_zero")
        self.T = float(self.times[-1]) if self.times.size > 1 else 1.0
        if not t_min < self.T:
            raise ValueError(f"data.t_min ({t_min}) must be below T = {self.T}")
        self.t_min, self.time_sampling = float(t_min), time_sampling
        self.dataset = dataset
        self.locate = ItemLocator(dataset)
        self._next_step = 0
        self.factor = drift_factor(sde, self.times)
        self._grid = torch.as_tensor(self.times)
        missing = sorted(set(range(len(self.times))) - set(self.locate.bins))
        if missing and not (self.strength == 0.0 and 0 in self.locate.bins):
            raise ValueError(f"the dataset lacks time bins {missing} (it serves {self.locate.bins})")

    def sample_times(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """B times in [t_min, T] (float64), drawn from `generator`."""
        u = torch.rand(batch, generator=generator, dtype=torch.float64)
        if self.time_sampling == "stratified":
            u = (torch.arange(batch, dtype=torch.float64) + u) / batch
        return self.t_min + (self.T - self.t_min) * u

    def batch(
        self, batch: int, generator: torch.Generator, part: slice | None = None, *, step: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch (x̂ⁿ (B, C, H, W) float32, t (B,) float64): B times, then B image indices,
        drawn from `generator` in that order. part: only those samples of the drawn batch (only
        their images are read), as one of several processes that share a batch.

        A dataset that embeds on the fly (with a `draw_batch(step, batch)` method, `OnTheFlyDataset`)
        gives the image indices of training step `step` from its own stream instead (default: the
        step after the last one drawn here), and the trajectories of the part's images at once."""
        t = self.sample_times(batch, generator)
        draw = getattr(self.dataset, "draw_batch", None)
        if draw is None:
            images = torch.randint(self.n_images, (batch,), generator=generator)
            if part is not None:
                images, t = images[part], t[part]
            return self(images, t), t
        step = self._next_step if step is None else step
        self._next_step = step + 1
        if part is not None:
            t = t[part]
        drawn = draw(step, batch, embed=self.embeds, part=part)
        bins = self.bins(t).tolist()
        x = [self._x_hat(drawn.image(j, n), drawn.image(j, 0), n) for j, n in enumerate(bins)]
        return torch.stack(x), t

    @property
    def embeds(self) -> bool:
        """Whether samples read trajectories past bin 0 (so the SDE of the embedding matters)."""
        return self.strength != 0.0 and any(n > 0 for n in self.locate.bins)

    @property
    def n_images(self) -> int:
        return self.locate.n_images

    def bins(self, t: torch.Tensor) -> torch.Tensor:
        """The time bin of each t (bin 0 for the control, which never reads xⁿ)."""
        if self.strength == 0.0:
            return torch.zeros(t.shape, dtype=torch.long)
        return nearest_bins(self._grid, t)

    def __call__(self, images: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x̂ⁿ as float32, (B, C, H, W) for B image indices and times."""
        out = []
        for i, n in zip(images.tolist(), self.bins(t).tolist(), strict=True):
            x = self.locate.image(i, n).to(torch.float32)
            if self._scaled(n):
                x = self._x_hat(x, self.locate.image(i, 0), n)
            out.append(x)
        return torch.stack(out)

    def _scaled(self, n: int) -> bool:
        """Whether x̂ⁿ differs from xⁿ (else xⁿ is used as stored, bit for bit)."""
        return n > 0 and (self.strength != 1.0 or self.factor[n] != 1.0)

    def _x_hat(self, x: torch.Tensor, x0: torch.Tensor, n: int) -> torch.Tensor:
        """x̂ⁿ = x⁰ + s·(xⁿ/aₙ − x⁰) in float32 from xⁿ and x⁰."""
        x = x.to(torch.float32)
        if not self._scaled(n):
            return x
        x0 = x0.to(torch.float32)
        return x0 + self.strength * (x / float(self.factor[n]) - x0)


__all__ = ["ItemLocator", "TrainingImages", "nearest_bins"]
