"""Reading CIFAR-10 batch files: the python-pickle format (a dict with b"data" (N, 3072) uint8 and
b"labels") and the binary format (records of 1 label byte + 3072 pixel bytes). Both store each image
as 1024 red, 1024 green, 1024 blue bytes in row-major order."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .convert import finish

# The pickled batches hold only a dict, bytes, lists and numpy arrays: nothing else may be built
# while reading them (unpickling runs code otherwise).
_PICKLE_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of a CIFAR batch")


CIFAR_RECORD = 1 + 3072


def read_cifar_pickle(path: Path) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """All pixels (n, 3072) and labels (n,) of a pickled batch (only arrays may be unpickled)."""
    with open(path, "rb") as f:
        batch = _ArrayUnpickler(f, encoding="bytes").load()
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: not a CIFAR batch (a pickled dict), got {type(batch).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(
            f"{path}: a CIFAR-10 batch needs the keys b'data' and b'labels', got {sorted(batch)}"
        )
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],):
        raise ValueError(
            f"{path}: expected b'data' (N, 3072) uint8 and N labels, got data {data.shape} {data.dtype} "
            f"and {labels.shape[0]} labels"
        )
    return data, labels


def read_cifar_binary(path: Path) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """All pixels (n, 3072) and labels (n,) of a binary batch, in memory."""
    records = cifar_binary_records(path)
    return np.array(records[:, 1:]), records[:, 0].astype(np.int64)


def cifar_binary_records(path: Path) -> np.memmap:
    """The records (n, 3073) of a binary batch, memory-mapped (nothing is read until indexed)."""
    size = path.stat().st_size
    if size == 0 or size % CIFAR_RECORD:
        raise ValueError(
            f"{path}: a CIFAR-10 binary batch is a sequence of {CIFAR_RECORD}-byte records "
            f"(1 label + 3072 pixels); {size} bytes is not a whole number of them"
        )
    return np.memmap(path, dtype=np.uint8, mode="r", shape=(size // CIFAR_RECORD, CIFAR_RECORD))


def cifar_images(
    pixels: NDArray[np.uint8], size: tuple[int, int] | None, channels: int | None, what: str
) -> NDArray[np.float32]:
    """Rows of 3072 bytes -> (n, C, H, W) float32 in [0, 1], resized and converted."""
    images = pixels.reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255.0)
    return finish(list(images), size, channels, what)
