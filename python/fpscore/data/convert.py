"""Pixel conversions shared by the eager loaders and the lazy image sources: integer or float
arrays to float32 in [0, 1], channel conversion, resizing and stacking, and decoding one image file.
Every function works image by image, so converting a slice gives the same bits as converting all
images and slicing afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .images import fit

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)


def to_unit_float(arr: NDArray[Any], what: str) -> NDArray[np.float32]:
    """uint8 (or integers in 0..255) / 255, or floats that must already lie in [0, 1]."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        if lo < 0 or hi > 255:
            raise ValueError(f"{what}: integer images must hold 0..255, got values in [{lo}, {hi}]")
        return (arr.astype(np.float32) / np.float32(255.0)).astype(np.float32)
    if np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float32)
        if out.size and not np.all(np.isfinite(out)):
            raise ValueError(f"{what}: images contain NaN or inf")
        lo, hi = (float(out.min()), float(out.max())) if out.size else (0.0, 0.0)
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"{what}: float images must hold values in [0, 1], got [{lo:g}, {hi:g}]")
        return out
    raise TypeError(f"{what}: images must be integer or float arrays, got dtype {arr.dtype}")


def convert_channels(x: NDArray[np.float32], channels: int | None, what: str) -> NDArray[np.float32]:
    """(..., C, H, W) -> (..., channels, H, W); C = 4 loses its alpha channel."""
    c = x.shape[-3]
    if c == 4:
        x, c = x[..., :3, :, :], 3
    elif c == 2:  # gray + alpha
        x, c = x[..., :1, :, :], 1
    if c not in (1, 3):
        raise ValueError(f"{what}: images must have 1 (gray) or 3 (RGB) channels, got {c}")
    if channels is None or channels == c:
        return np.ascontiguousarray(x)
    if channels == 3:
        return np.ascontiguousarray(np.repeat(x, 3, axis=-3))
    luma = np.tensordot(x.astype(np.float64), _LUMA, axes=([-3], [0]))[..., None, :, :]
    return np.clip(luma, 0.0, 1.0).astype(np.float32)


def finish(
    images: Sequence[NDArray[np.float32]] | NDArray[np.float32],
    size: tuple[int, int] | None,
    channels: int | None,
    what: str,
) -> NDArray[np.float32]:
    """Stack (C, H, W) images after resizing and channel conversion into (N, C, H, W)."""
    fitted = [convert_channels(fit(np.asarray(im, dtype=np.float32), size), channels, what) for im in images]
    if not fitted:
        raise ValueError(f"{what}: no images selected")
    shapes = sorted({im.shape for im in fitted})
    if len(shapes) > 1:
        raise ValueError(
            f"{what}: images have different shapes {shapes[:4]}; pass size=(H, W) (and channels) to unify"
        )
    return np.ascontiguousarray(np.stack(fitted), dtype=np.float32)


def read_image(path: Path, channels: int) -> NDArray[np.float32]:
    """One image file as (channels, H, W) float32 in [0, 1] (16-bit and integer modes scaled)."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im, dtype=np.float64)
            arr = arr / (65535.0 if im.mode.startswith("I;16") else max(1.0, float(arr.max())))
            arr = arr[None].astype(np.float32)
            return convert_channels(np.clip(arr, 0.0, 1.0), channels, str(path))
        arr = np.asarray(im.convert("RGB" if channels == 3 else "L"))
    arr = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    return arr.astype(np.float32) / np.float32(255.0)
