"""A PyTorch dataset over a finished embedding cache (training, DESIGN §1.4). Needs torch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    import torch
    from torch.utils.data import Dataset
except ImportError as err:  # torch is optional for fpscore
    raise ImportError(
        "fpscore.EmbeddedDataset needs PyTorch, which is not installed: pip install torch==2.13.0"
    ) from err

from ..embedding.cache import EmbeddingCache


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
        chosen = list(range(n_bins)) if bins is None else [int(b) for b in bins]
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
        if not -len(self) <= k < len(self):
            raise IndexError(f"index {k} out of range for {len(self)} items")
        k %= len(self)
        i, b = divmod(int(k), len(self.bins))
        n = self.bins[b]
        x = np.array(self.cache.trajectory(i)[n], dtype=np.float32)  # a copy out of the memory map
        return torch.from_numpy(x), n, i
