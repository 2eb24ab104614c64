"""Images that are decoded only when asked for: an array-like (N, C, H, W) float32 in [0, 1] whose
slices are read from their source on demand, so a pre-computation that walks it chunk by chunk
never holds more than one chunk of pixels.

`LazyImages` is what `ImageSet.images` is when a loader is called with lazy=True. It supports
`len`, `shape`, `dtype`, `ndim`, indexing by an int, a slice, a list or array of positions or a
boolean mask (optionally followed by more indices, applied to the result), `chunks`, and
`np.asarray` (which materialises every image: meant for small sets). Each read returns a new
ndarray; nothing is cached between reads.
"""

from __future__ import annotations

import hashlib
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Chunk size of `chunks` and the fingerprint: bounded bytes of float32 pixels per read.
CHUNK_BYTES = 4 << 20


class LazyImages(ABC):
    """Images (N, C, H, W) float32 in [0, 1], decoded slice by slice from their source."""

    dtype = np.dtype(np.float32)
    ndim = 4

    def __init__(self, shape: tuple[int, int, int, int]) -> None:
        self._shape = tuple(int(s) for s in shape)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    def __len__(self) -> int:
        return self._shape[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self._shape}, dtype=float32)"

    @abstractmethod
    def _read(self, start: int, stop: int) -> NDArray[np.float32]:
        """Images start..stop-1 (0 <= start < stop <= N) as a new array (stop - start, C, H, W)."""

    def __getitem__(self, key: Any) -> NDArray[np.float32]:
        rest: tuple[Any, ...] = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        n = len(self)
        if key is Ellipsis:  # the rest may index any axis: decode all, then let numpy index
            return self[:][(Ellipsis, *rest)]
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1:
                out = self._read(start, stop) if stop > start else self._empty()
            else:
                out = self._take(np.arange(start, stop, step, dtype=np.int64))
        elif isinstance(key, numbers.Integral) and not isinstance(key, bool):
            if not -n <= key < n:
                raise IndexError(f"image index {key} out of range for {n} images")
            i = int(key) % n
            return self._read(i, i + 1)[(0, *rest)]
        else:
            out = self._take(self._key_positions(key))
        return out[(slice(None), *rest)] if rest else out

    def _key_positions(self, key: Any) -> NDArray[np.int64]:
        """A list/array of positions or a boolean mask as non-negative positions."""
        n = len(self)
        idx = np.asarray(key)
        if idx.dtype == np.bool_:
            if idx.shape != (n,):
                raise IndexError(f"a boolean mask must have shape ({n},), got {idx.shape}")
            return np.flatnonzero(idx).astype(np.int64)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise TypeError(f"images are indexed by an int, a slice or a list of ints, got {key!r}")
        bad = idx[(idx < -n) | (idx >= n)]
        if bad.size:
            raise IndexError(f"image indices {bad[:5].tolist()} out of range for {n} images")
        return np.where(idx < 0, idx + n, idx).astype(np.int64)

    def _take(self, positions: NDArray[np.int64]) -> NDArray[np.float32]:
        """Images at `positions`, in that order: one read per run of consecutive positions."""
        if positions.size == 0:
            return self._empty()
        breaks = np.flatnonzero(np.diff(positions) != 1) + 1
        runs = np.split(positions, breaks)
        return np.concatenate([self._read(int(r[0]), int(r[-1]) + 1) for r in runs])

    def _empty(self) -> NDArray[np.float32]:
        return np.empty((0, *self._shape[1:]), dtype=np.float32)

    def chunk_length(self, max_bytes: int | None = None) -> int:
        """Images per chunk so that a chunk holds at most max_bytes (default `CHUNK_BYTES`) of
        pixels, and at least one image."""
        per_image = 4 * int(np.prod(self._shape[1:]))
        return max(1, (CHUNK_BYTES if max_bytes is None else max_bytes) // max(1, per_image))

    def chunks(self, length: int | None = None) -> Iterator[tuple[int, NDArray[np.float32]]]:
        """(start, images start..start+len-1) in order, `length` images each (default: `chunk_length`)."""
        step = self.chunk_length() if length is None else int(length)
        if step < 1:
            raise ValueError(f"chunk length must be >= 1, got {length!r}")
        for start in range(0, len(self), step):
            yield start, self._read(start, min(start + step, len(self)))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray[Any]:
        if copy is False:
            raise ValueError("lazy images cannot be viewed as an array without decoding them (a copy)")
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    def fingerprint(self) -> str:
        """The SHA-256 `pixel_fingerprint` gives, computed chunk by chunk."""
        return pixel_fingerprint(self)


def pixel_fingerprint(images: NDArray[np.float32] | LazyImages) -> str:
    """SHA-256 of repr(shape) and then the float32 pixels in C order.

    Hashed chunk by chunk, so an eager array and the lazy images of the same data give the same
    digest while at most one chunk is decoded at a time.
    """
    shape = tuple(int(s) for s in images.shape)
    digest = hashlib.sha256(repr(shape).encode())
    if isinstance(images, LazyImages):
        for _, chunk in images.chunks():
            digest.update(np.ascontiguousarray(chunk, dtype=np.float32))
    else:
        per_image = 4 * int(np.prod(shape[1:]))
        step = max(1, CHUNK_BYTES // max(1, per_image))
        for start in range(0, shape[0], step):
            digest.update(np.ascontiguousarray(images[start : start + step], dtype=np.float32))
    return digest.hexdigest()
