"""PyTorch datasets of embedded trajectories (training, DESIGN §1.4): over a finished embedding cache
(`EmbeddedDataset`) or over arrays in memory (`InMemoryDataset`). Needs torch."""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    import torch
    from torch.utils.data import Dataset
except ImportError as err:  # torch is optional for fpscore
    raise ImportError(
        "fpscore.EmbeddedDataset and InMemoryDataset need PyTorch, which is not installed: "
        "pip install torch==2.13.0"
    ) from err

from .._validation import positive_float, real_array
from ..embedding.cache import EmbeddingCache
from ..sde import SDE


class EmbeddedDataset(Dataset):
    """The (image, time bin) pairs of an embedding cache, read from memory-mapped shards.

    cache_dir: a finished `fpscore.precompute` cache. bins: the time bins n to serve (default all
    0..N). Item k is image i = k // len(bins) at bin n = bins[k % len(bins)] and yields
    (xⁿ as a float32 tensor (C, H, W), n, i). `times`, `sde` and `manifest` describe the cache, so a
    training loop can noise xⁿ with α(tₙ) and λ(tₙ) of the very SDE it was embedded with.
    Memory maps are opened lazily in each process, so DataLoader workers share nothing but paths.
    """

    def __init__(self, cache_dir: str | os.PathLike[str], bins: Sequence[int] | None = None) -> None:
        self.cache = EmbeddingCache(cache_dir)
        n_bins = self.cache.num_bins
        if bins is None:
            chosen = list(range(n_bins))
        elif isinstance(bins, (str, bytes)) or not isinstance(bins, Sequence | np.ndarray):
            raise TypeError(f"bins must be a sequence of integers, got {type(bins).__name__}")
        else:
            if not all(isinstance(b, numbers.Integral) and not isinstance(b, bool) for b in bins):
                raise TypeError(f"bins must be integers, got {list(bins)!r}")
            chosen = [int(b) for b in bins]
        bad = [b for b in chosen if not 0 <= b < n_bins]
        if not chosen or bad:
            raise ValueError(f"bins must be a non-empty list of time bins in 0..{n_bins - 1}, got {chosen}")
        self.bins = chosen

    @property
    def times(self) -> np.ndarray:
        return self.cache.times

    @property
    def sde(self) -> Any:
        return self.cache.sde

    @property
    def manifest(self) -> dict[str, Any]:
        return self.cache.manifest

    def __len__(self) -> int:
        return len(self.cache) * len(self.bins)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, int, int]:
        k = _item_index(k, len(self))
        i, b = divmod(k, len(self.bins))
        n = self.bins[b]
        x = np.array(self.cache.trajectory(i)[n], dtype=np.float32)  # a copy out of the memory map
        return torch.from_numpy(x), n, i


def _item_index(k: object, n: int) -> int:
    """k as an index into n items (negative from the end): IndexError out of range, TypeError for
    a non-integer (a float would be truncated, True taken as 1)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"an item index must be an integer, got {type(k).__name__} {k!r}")
    if not -n <= k < n:
        raise IndexError(f"index {k} out of range for {n} items")
    return int(k) % n


class InMemoryDataset(Dataset):
    """Embedded trajectories in memory, in the layout of `fpscore.EmbeddedDataset`.

    trajectories: (N+1, B, C, H, W) as `fpscore.embed` returns them (bin 0 = the images).
    times: (N+1,) the times tₙ (default linspace(0, T, N+1)); sde: recorded for the trainer.
    """

    def __init__(self, trajectories, times=None, *, sde=None, T: float = 1.0) -> None:
        if isinstance(trajectories, torch.Tensor):
            trajectories = trajectories.detach().cpu().numpy()
        values = real_array("trajectories", trajectories)
        if values.ndim != 5 or 0 in values.shape:
            raise ValueError(
                f"trajectories must be (N+1, B, C, H, W), none of them 0, got shape {values.shape}"
            )
        if not np.all(np.isfinite(values.astype(np.float32))):
            raise ValueError("trajectories hold values beyond float32's range (about 3.4e38)")
        traj = torch.from_numpy(values.astype(np.float32))
        self.data = traj.transpose(0, 1).contiguous()  # (B, N+1, C, H, W)
        n_bins = traj.shape[0]
        if times is None:
            self.times = np.linspace(0.0, positive_float("T", T), n_bins)
        else:
            if isinstance(times, torch.Tensor):
                times = times.detach().cpu().numpy()
            self.times = real_array("times", times)
        if self.times.shape != (n_bins,):
            raise ValueError(f"times must have N+1 = {n_bins} entries, got shape {self.times.shape}")
        if sde is not None and not isinstance(sde, SDE):
            raise TypeError(f"sde must be an fpscore SDE or None, got {type(sde).__name__}")
        self.bins = list(range(n_bins))
        self.sde = sde

    def __len__(self) -> int:
        return self.data.shape[0] * len(self.bins)

    def __getitem__(self, k: int):
        k = _item_index(k, len(self))
        i, b = divmod(k, len(self.bins))
        return self.data[i, self.bins[b]], self.bins[b], i
