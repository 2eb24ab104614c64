"""The lazy image sources behind `load_array`, `load_cifar10` and `load_folder` with lazy=True.

Each reads only the images of the slice asked for and converts them exactly as the eager loader
does (the same functions, image by image), so a lazy slice equals the eager images bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .cifar_batches import cifar_binary_records, cifar_images, read_cifar_pickle
from .convert import finish, read_image, to_unit_float
from .lazy import LazyImages

# What a broken image file raises in Pillow (UnidentifiedImageError is an OSError).
IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError)


def arrange(arr: NDArray[Any], layout: str) -> NDArray[Any]:
    """(n, ...) in `layout` ("NCHW", "NHWC", "NHW") -> (n, C, H, W)."""
    if layout == "NHW":
        return arr[:, None]
    return np.moveaxis(arr, -1, 1) if layout == "NHWC" else arr


class ArrayImages(LazyImages):
    """Selected images of an array, converted slice by slice.

    open_array: returns the whole array: for a lazy .npy a fresh read-only memory map, so the pages
    a read touched are unmapped with it (mapped pages count as the process's resident memory for as
    long as the map lives); else the array in memory. positions: the selected indices into it.
    """

    def __init__(
        self,
        open_array: Callable[[], NDArray[Any]],
        positions: NDArray[np.int64],
        layout: str,
        size: tuple[int, int] | None,
        channels: int | None,
        what: str,
    ) -> None:
        self._open, self._positions, self._layout = open_array, positions, layout
        self._size, self._channels, self._what = size, channels, what
        first = self._read_positions(positions[:1], 0)  # one image gives C, H, W
        super().__init__((len(positions), *first.shape[1:]))

    def _read(self, start: int, stop: int) -> NDArray[np.float32]:
        return self._read_positions(self._positions[start:stop], start)

    def _read_positions(self, positions: NDArray[np.int64], first: int) -> NDArray[np.float32]:
        arr = self._open()
        raw = arrange(arr[positions], self._layout)  # a copy of just these images
        del arr
        try:
            unit = to_unit_float(raw, self._what)
        except ValueError:
            for k in range(raw.shape[0]):  # name the first image that is out of range
                try:
                    to_unit_float(raw[k], self._what)
                except ValueError as err:
                    raise ValueError(
                        f"image {first + k} of the selection (index {int(positions[k])} in the array): {err}"
                    ) from err
            raise
        return finish(list(unit), self._size, self._channels, self._what)


class CifarImages(LazyImages):
    """Selected images of CIFAR-10 batch files, read on demand.

    Binary batches are memory-mapped for each read; a pickled batch is read whole (about 30 MB)
    when one of its images is asked for, and kept until an image of another batch is.
    """

    def __init__(
        self,
        files: Sequence[Path],
        counts: Sequence[int],
        positions: NDArray[np.int64],
        size: tuple[int, int] | None,
        channels: int | None,
        what: str,
    ) -> None:
        self._files = list(files)
        self._offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._positions, self._size, self._channels, self._what = positions, size, channels, what
        self._cached: tuple[int, NDArray[np.uint8]] | None = None
        first = self._read(0, 1)
        super().__init__((len(positions), *first.shape[1:]))

    def _rows(self, batch: int, rows: NDArray[np.int64]) -> NDArray[np.uint8]:
        file = self._files[batch]
        if file.suffix == ".bin":
            return np.array(cifar_binary_records(file)[rows, 1:])
        if self._cached is None or self._cached[0] != batch:
            self._cached = None  # let the previous batch go before the next is read
            self._cached = (batch, read_cifar_pickle(file)[0])
        return self._cached[1][rows]

    def _read(self, start: int, stop: int) -> NDArray[np.float32]:
        pos = self._positions[start:stop]
        batch = np.searchsorted(self._offsets, pos, side="right") - 1
        breaks = np.flatnonzero(np.diff(batch) != 0) + 1
        parts = [
            self._rows(int(b[0]), p - self._offsets[b[0]])
            for b, p in zip(np.split(batch, breaks), np.split(pos, breaks), strict=True)
        ]
        return cifar_images(np.concatenate(parts), self._size, self._channels, self._what)


class FolderImages(LazyImages):
    """Image files decoded on demand. files: the selected files, relative to `root` (their headers
    were read when the folder was loaded); shape: (N, C, H, W) they decode to."""

    def __init__(
        self,
        root: Path,
        files: Sequence[str],
        shape: tuple[int, int, int, int],
        size: tuple[int, int] | None,
        skip_corrupt: bool,
        what: str,
    ) -> None:
        super().__init__(shape)
        self._root, self._files, self._size = root, files, size
        self._skip_corrupt, self._what = skip_corrupt, what

    def _read(self, start: int, stop: int) -> NDArray[np.float32]:
        channels, height, width = self.shape[1:]
        raw = []
        for k in range(start, stop):
            file = self._root / self._files[k]
            try:
                image = read_image(file, channels)
            except IMAGE_ERRORS as err:
                raise ValueError(self._failure(file, k, err)) from err
            if self._size is None and image.shape[-2:] != (height, width):
                raise ValueError(
                    f"{self._what}: image {k} ({file}) decodes to {image.shape[-2]}×{image.shape[-1]}, "
                    f"but its header said {height}×{width}"
                )
            raw.append(image)
        return finish(raw, self._size, channels, self._what)

    def _failure(self, file: Path, index: int, err: BaseException) -> str:
        message = f"cannot read image {file} (image {index}): {err}"
        if self._skip_corrupt:
            message += (
                "; it passed the header check when the folder was loaded, and skip_corrupt "
                "(--skip-corrupt) cannot skip it now: image positions are fixed once the run has "
                "started. Remove or repair the file and start again (a new cache or --overwrite)"
            )
        return message
