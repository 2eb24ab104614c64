"""Checks at the public boundary: every bad input gets a message that says what was
expected and what arrived."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

# Counts (steps, iterations, batch sizes, threads) go to the C++ core as 32-bit ints: a larger
# value is a ValueError here, not pybind11's "incompatible function arguments" TypeError.
MAX_COUNT = 2**31 - 1


def real_array(name: str, value: object, *, min_ndim: int = 0, finite: bool = True) -> NDArray[np.float64]:
    """`value` as a finite float64 array.

    TypeError for a non-real dtype; ValueError for NaN/inf or fewer than `min_ndim` dimensions.
    finite=False leaves the NaN/inf check to the caller (the C++ core makes it on large arrays
    that it reads anyway).
    """
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be a real (float or integer) array, got dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64, order="C")  # keeps 0-d arrays 0-d
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or inf value(s)")
    return arr


def positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return value


def positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be <= 2^31 - 1, got {value}")
    return int(value)


def optional_count(name: str, value: object) -> int:
    """A non-negative integer, None meaning 0 ("all")."""
    return 0 if value is None else non_negative_int(name, value, none_allowed=True)


def non_negative_int(name: str, value: object, *, none_allowed: bool = False) -> int:
    or_none = " or None" if none_allowed else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 0{or_none}, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0{or_none}, got {value}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be <= 2^31 - 1, got {value}")
    return int(value)


def non_negative_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return value


def choice(name: str, value: object, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"unknown {name} {value!r}: expected one of {', '.join(map(repr, options))}")
    return value
