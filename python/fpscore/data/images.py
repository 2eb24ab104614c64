"""Image arrays (C, H, W) with values in [0, 1] to and from Pillow: resizing (`fit`), tiles and
grids, PNG files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


def fit(image: NDArray[np.float32], size: tuple[int, int] | None) -> NDArray[np.float32]:
    """(C, H, W) float32 -> (C, *size): centred crop to the target aspect, then Lanczos resize."""
    from PIL import Image

    if size is None or image.shape[-2:] == size:
        return image
    H, W = image.shape[-2:]
    th, tw = size
    if H * tw > W * th:  # too tall: crop rows
        h = max(1, round(W * th / tw))
        top = (H - h) // 2
        image = image[:, top : top + h, :]
    elif H * tw < W * th:  # too wide: crop columns
        w = max(1, round(H * tw / th))
        left = (W - w) // 2
        image = image[:, :, left : left + w]
    out = np.empty((image.shape[0], th, tw), dtype=np.float32)
    for c in range(image.shape[0]):
        pil = Image.fromarray(np.ascontiguousarray(image[c], dtype=np.float32))  # mode "F"
        out[c] = np.asarray(pil.resize((tw, th), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)


def to_image(x: ArrayLike, scale: int = 1) -> Any:
    """A Pillow image of x (C, H, W) in [0, 1] (clipped): gray for C = 1, else RGB of the first three
    channels; enlarged `scale` times without smoothing."""
    from PIL import Image

    a = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    a = a[0] if a.shape[0] == 1 else np.moveaxis(a[:3], 0, -1)
    im = Image.fromarray(np.round(a * 255).astype(np.uint8))
    return im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST) if scale != 1 else im


def grid(images: Sequence[ArrayLike] | NDArray[Any], cols: int = 8, pad: int = 2) -> NDArray[np.float64]:
    """Images (n, C, H, W) in rows of `cols` with `pad` white pixels after each, as one RGB array
    (3, rows·(H + pad), cols·(W + pad))."""
    a = np.clip(np.asarray(images, dtype=np.float64), 0.0, 1.0)
    n, c, h, w = a.shape
    cols = min(cols, n)
    rows = -(-n // cols)
    canvas = np.ones((3, rows * (h + pad), cols * (w + pad)))
    for k in range(n):
        r, q = divmod(k, cols)
        canvas[:, r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = (
            np.repeat(a[k], 3, axis=0) if c == 1 else a[k, :3]
        )
    return canvas


def write_png(image: Any, path: str | os.PathLike[str], *, optimize: bool = True) -> Path:
    """Save a Pillow image as PNG, creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", optimize=optimize)
    return path


__all__ = ["fit", "grid", "to_image", "write_png"]
