"""Hypothesis strategies shared by the property-based tests (tests/test_fuzz_*.py)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

REAL_DTYPES = (np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8)
BAD_DTYPES = (np.complex128, np.bool_, np.str_, object)
SPARSE_FORMATS = ("csr", "csc", "coo", "lil", "dok", "bsr", "dia")

# Floats that are not valid for a "finite and > 0" parameter.
BAD_POSITIVE = (0.0, -0.0, -1.0, -1e-300, float("nan"), float("inf"), float("-inf"))
# Values of the wrong type for a number or a count.
WRONG_TYPES = ("1", b"1", None, [1.0], (1,), {"a": 1}, 1 + 0j, object())
STRANGE_STRINGS = st.one_of(
    st.sampled_from(["", " ", "AUTO", "Zero", "central ", "nan", "\x00", "é", "dirichlet\n"]),
    st.text(max_size=12),
)

# Values a stress test wants: tiny, huge and ordinary magnitudes of both signs.
nasty_floats = st.one_of(
    st.floats(-10, 10, allow_nan=False),
    st.sampled_from([0.0, -0.0, 5e-324, 1e-300, 1e-30, 1e30, 1e300, -1e300, 1.7976931348623157e308]),
)


def layout(arr: np.ndarray, kind: str) -> np.ndarray:
    """The same values as `arr` in another memory layout: C, Fortran, a strided view, a
    negative-stride view, or read-only. 0-d arrays stay 0-d."""
    arr = np.asarray(arr)
    if arr.ndim == 0:
        out = np.array(arr)
        out.setflags(write=kind != "readonly")
        return out
    if kind == "C":
        return np.ascontiguousarray(arr)
    if kind == "F":
        return np.asfortranarray(arr)
    if kind == "strided":
        big = np.zeros((*arr.shape[:-1], 2 * arr.shape[-1]), dtype=arr.dtype)
        big[..., ::2] = arr
        return big[..., ::2]
    if kind == "reversed":
        return np.flip(np.flip(arr, axis=0).copy(), axis=0)
    if kind == "readonly":
        out = np.array(arr)
        out.setflags(write=False)
        return out
    raise AssertionError(kind)


layouts = st.sampled_from(["C", "F", "strided", "reversed", "readonly"])


def as_dtype(arr: np.ndarray, dtype: type) -> np.ndarray:
    """`arr` in `dtype` (rounded for integer dtypes)."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(arr), info.min, info.max).astype(dtype)
    return arr.astype(dtype)


@st.composite
def dominant_sparse(draw, max_n: int = 10, *, integer: bool = False):
    """A strictly diagonally dominant (hence well-conditioned, nonsingular) sparse matrix as a
    dense float64 array: random pattern, random values, the diagonal larger than each row sum."""
    n = draw(st.integers(1, max_n))
    density = draw(st.sampled_from([0.0, 0.2, 0.5, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mask = rng.random((n, n)) < density
    values = rng.integers(-5, 6, (n, n)).astype(float) if integer else rng.uniform(-1, 1, (n, n))
    dense = np.where(mask, values, 0.0)
    np.fill_diagonal(dense, 0.0)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    diag = np.abs(dense).sum(axis=1) + (1 + rng.integers(0, 4, n) if integer else rng.uniform(0.5, 2, n))
    np.fill_diagonal(dense, sign * diag)
    return dense


def to_sparse(dense: np.ndarray, fmt: str, dtype: type = np.float64):
    """`dense` as a scipy.sparse matrix of format `fmt` and `dtype` (explicit diagonal kept)."""
    coo = sp.coo_matrix(dense.astype(dtype))
    if fmt == "bsr":
        return coo.tobsr(blocksize=(1, 1))
    return coo.asformat(fmt)
