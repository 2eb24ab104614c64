"""Grid geometry shared by the solver, the SDE drifts and the tests."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .._validation import positive_float, positive_int


def _grid(shape: object, h: object) -> tuple[int, int, float]:
    """(H, W, h) checked: two integers >= 1 and a finite spacing > 0."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) != 2:
        raise ValueError(f"shape must be (H, W), got {shape!r}")
    H, W = shape
    return positive_int("H", H), positive_int("W", W), positive_float("h", h)


def grid_coordinates(
    shape: tuple[int, int], h: float = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Positions (x, y), each (H, W), of the grid nodes relative to the grid's centre.

    x follows the column index j and y the row index i: x_j = (j − (W−1)/2)·h.
    shape: two integers >= 1 and h finite > 0, else ValueError (TypeError for non-numbers).
    """
    H, W, h = _grid(shape, h)
    y, x = np.meshgrid((np.arange(H) - (H - 1) / 2.0) * h, (np.arange(W) - (W - 1) / 2.0) * h, indexing="ij")
    return x, y


def padded_coordinates(
    shape: tuple[int, int], h: float = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Positions (x, y), each (H+2, W+2), of the grid with its ghost ring (for Dirichlet values)."""
    H, W, h = _grid(shape, h)
    y, x = np.meshgrid(
        (np.arange(-1, H + 1) - (H - 1) / 2.0) * h, (np.arange(-1, W + 1) - (W - 1) / 2.0) * h, indexing="ij"
    )
    return x, y


def divergence(field: NDArray[np.float64], h: float) -> NDArray[np.float64]:
    """Divergence of a (..., 2, H, W) vector field.

    Central differences inside, second-order one-sided differences on the edges.
    """
    return np.gradient(field[..., 0, :, :], h, axis=-1, edge_order=2) + np.gradient(
        field[..., 1, :, :], h, axis=-2, edge_order=2
    )
