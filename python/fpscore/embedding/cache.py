"""Reading an embedding cache (the folder `precompute` writes; its layout is described there):
the manifest, and the trajectories through memory maps."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._atomic import sha256_file
from ..sde import sde_from_dict

FORMAT = "fpscore-embedding-cache"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def read_manifest(cache_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a cache folder (ValueError when missing or not a cache manifest)."""
    path = Path(cache_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{cache_dir} is not an fpscore cache: no {MANIFEST}") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not an fpscore embedding cache manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has cache format version {manifest.get('format_version')}, this fpscore reads "
            f"{FORMAT_VERSION}: compute the cache again with overwrite=True"
        )
    return manifest




class EmbeddingCache:
    """A finished cache, read through memory maps (`np.load(..., mmap_mode="r")`).

    manifest: the JSON manifest; parameters: its "parameters"; sde: the SDE it was computed with;
    times: (L,) the times of the L stored bins; levels: their time levels n of the solve (0..N; all
    of them unless the cache was made with store_every or store_levels); image_shape: (C, H, W);
    len(): number of images. trajectory(i): (L, C, H, W) embedded trajectory of image i (bin 0 is the
    image itself, in the cache's dtype); score(i): (L, C, 2, H, W) when the cache stores scores.
    """

    def __init__(self, cache_dir: str | os.PathLike[str], *, verify: bool = False) -> None:
        self.cache_dir = Path(cache_dir)
        self.manifest = read_manifest(self.cache_dir)
        part = self.manifest.get("slice")
        if isinstance(part, dict):
            raise ValueError(
                f"the cache {self.cache_dir} holds part {part.get('index')} of {part.get('count')} of a "
                "pre-computation (precompute --shard): join the parts with `fpscore merge-caches`"
            )
        if not self.manifest.get("complete"):
            done = len(self.manifest.get("shards", []))
            raise ValueError(
                f"the cache {self.cache_dir} is incomplete ({done} of {self.manifest.get('num_shards')} "
                "shards): run the same pre-computation again to finish it"
            )
        parameters = self.manifest.get("parameters")
        spec = parameters.get("sde") if isinstance(parameters, dict) else None
        if not isinstance(spec, dict):
            raise ValueError(
                f"the cache {self.cache_dir} records no SDE (parameters.sde in {MANIFEST}): not a cache "
                "fpscore wrote; compute it again with `fpscore precompute` (overwrite=True)"
            )
        self.parameters: dict[str, Any] = parameters
        self.sde = sde_from_dict(spec)
        try:  # a damaged manifest is a ValueError, not a KeyError or AttributeError from deep inside
            self.times = np.asarray(self.manifest["times"], dtype=np.float64)
            self.levels = [int(n) for n in self.manifest.get("levels", range(self.times.size))]
            self.image_shape = tuple(int(v) for v in self.manifest["data"]["image_shape"])
            self._shards = sorted(self.manifest["shards"], key=lambda e: int(e["start"]))
            self._starts = np.array([int(e["start"]) for e in self._shards], dtype=np.int64)
            self._num_images = int(self.manifest["num_images"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as err:
            raise ValueError(f"the manifest of the cache {self.cache_dir} is damaged: {err!r}") from err
        named = all(isinstance(e.get("embedded"), str) for e in self._shards)
        if self.times.ndim != 1 or len(self.levels) != self.times.size or not named:
            raise ValueError(f"the manifest of the cache {self.cache_dir} is damaged")
        if verify:
            for e in self._shards:
                for kind in ("embedded", "score"):
                    if kind in e and sha256_file(self.cache_dir / e[kind]) != e[f"{kind}_sha256"]:
                        raise ValueError(f"{self.cache_dir / e[kind]} does not match its checksum")
        self._maps: dict[tuple[str, int], NDArray[Any]] = {}

    def __len__(self) -> int:
        return self._num_images

    @property
    def num_bins(self) -> int:
        return int(self.times.size)

    def __getstate__(self) -> dict[str, Any]:  # memory maps are reopened in the receiving process
        state = self.__dict__.copy()
        state["_maps"] = {}
        return state

    def _locate(self, i: int, kind: str) -> tuple[NDArray[Any], int]:
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"image index must be an integer, got {i!r}")
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"image index {i} out of range for {n} images")
        i %= n
        k = int(np.searchsorted(self._starts, i, side="right") - 1)
        entry = self._shards[k]
        if kind not in entry:
            raise ValueError(
                f"the cache {self.cache_dir} stores no scores (computed with store_scores=False)"
            )
        key = (kind, k)
        if key not in self._maps:
            self._maps[key] = np.load(self.cache_dir / entry[kind], mmap_mode="r")
        return self._maps[key], i - int(entry["start"])

    def trajectory(self, i: int) -> NDArray[Any]:
        arr, j = self._locate(i, "embedded")
        return arr[j]

    def score(self, i: int) -> NDArray[Any]:
        arr, j = self._locate(i, "score")
        return arr[j]


def open_cache(cache_dir: str | os.PathLike[str], *, verify: bool = False) -> EmbeddingCache:
    """Open a finished cache for reading; verify=True also checks every shard's SHA-256."""
    return EmbeddingCache(cache_dir, verify=verify)
