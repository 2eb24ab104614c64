"""The files of an embedding cache as `precompute` and `merge_caches` write them: atomic .npy shards
and manifest, the writer's lock, which files a cache owns, and whether a listed shard is intact."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._atomic import TMP_SUFFIX, atomic_write, sha256_file
from .cache import MANIFEST

SHARD_KINDS = ("embedded", "score")


def manifest_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """'key: cached → now' for every leaf that differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                out.append(f"{name}: (absent) → {new[key]!r}")
            elif key not in new:
                out.append(f"{name}: {old[key]!r} → (absent)")
            else:
                out.extend(manifest_differences(old[key], new[key], name))
        return out
    return [] if old == new else [f"{prefix}: {old!r} → {new!r}"]


def save_npy(path: Path, array: NDArray[Any]) -> str:
    """Write `array` atomically as .npy; returns the SHA-256 of the file."""
    with atomic_write(path, per_process=True) as f:
        np.save(f, array, allow_pickle=False)
    return sha256_file(path)


def write_manifest(cache: Path, manifest: Mapping[str, Any]) -> None:
    with atomic_write(cache / MANIFEST, per_process=True) as f:
        f.write((json.dumps(manifest, indent=1) + "\n").encode())


class ManifestWriter:
    """Writes the manifest after a shard unless that would spend more than 1/(1 + `ratio`) of the
    run's time on manifests: the next write waits `ratio` times as long as the last one took.
    `flush` writes what is pending.

    A manifest that lists K shards (and, for a folder source, every file's name) grows with K, so
    rewriting it after each of K shards would cost O(K²) bytes: at ImageNet scale, terabytes. A small
    manifest is still written after every shard; a shard finished but not yet listed when the run
    dies is computed again on resume (its file name is fixed, so the new file replaces it).
    """

    def __init__(self, cache: Path, ratio: float = 20.0) -> None:
        self.cache, self.ratio = cache, ratio
        self._next = -float("inf")
        self._pending: Mapping[str, Any] | None = None

    def write(self, manifest: Mapping[str, Any]) -> None:
        self._pending = manifest
        if time.monotonic() >= self._next:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, None  # a failed write is not retried by a later flush
        if pending is not None:
            started = time.monotonic()
            write_manifest(self.cache, pending)
            now = time.monotonic()
            self._next = now + self.ratio * (now - started)


@contextlib.contextmanager
def writer_lock(cache: Path) -> Iterator[None]:
    """Keep a second writer off the same cache (released by the OS if this process dies)."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: run unguarded
        yield
        return
    with open(cache / ".lock", "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError(f"another pre-computation is writing the cache {cache}") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def shard_name(kind: str, index: int) -> str:
    return f"{kind}_{index:05d}.npy"


def is_tmp(name: str) -> bool:
    """A temporary file of `atomic_write` for one of the cache's files."""
    return name.startswith((".embedded_", ".score_", f".{MANIFEST}.")) and name.endswith(TMP_SUFFIX)


def owned_files(cache: Path) -> list[Path]:
    """The files a pre-computation writes in `cache` (what overwrite removes)."""
    out = []
    for p in cache.iterdir():
        n = p.name
        if n == MANIFEST or (n.startswith(("embedded_", "score_")) and n.endswith(".npy")) or is_tmp(n):
            out.append(p)
    return out


def shard_shapes(
    entry: Mapping[str, Any], bins: int, image_shape: tuple[int, ...], params: Mapping[str, Any]
) -> dict[str, tuple[int, ...]]:
    """The array shape of each file kind of a shard entry: (n, L, C, H, W), scores (n, L, C, 2, H, W)."""
    n = int(entry["stop"]) - int(entry["start"])
    C, H, W = image_shape
    shapes = {"embedded": (n, bins, C, H, W)}
    if params["store_scores"]:
        shapes["score"] = (n, bins, C, 2, H, W)
    return shapes


def shard_ok(
    cache: Path,
    entry: Mapping[str, Any],
    bins: int,
    image_shape: tuple[int, ...],
    params: Mapping[str, Any],
) -> bool:
    """A listed shard whose files exist with the expected headers (shape, dtype) and sizes."""
    for kind, shape in shard_shapes(entry, bins, image_shape, params).items():
        if not isinstance(entry.get(kind), str):
            return False
        try:  # np.load checks that the file is as long as its header says
            arr = np.load(cache / entry[kind], mmap_mode="r")
        except (OSError, ValueError):
            return False
        if arr.shape != shape or arr.dtype != np.dtype(params["dtype"]):
            return False
    return True
