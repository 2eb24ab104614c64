"""Property-based tests of fpscore.SparseLU and fpscore.BatchedLU: random matrices of every
scipy.sparse format and dtype, right-hand sides of every shape, dtype and memory layout, and
wrong arguments of every kind. Each call returns a correct result or raises the documented
exception (TypeError, ValueError, SingularMatrixError)."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

import numpy as np
import scipy.sparse as sp
from fuzz_strategies import (
    BAD_DTYPES,
    SPARSE_FORMATS,
    STRANGE_STRINGS,
    WRONG_TYPES,
    as_dtype,
    dominant_sparse,
    layout,
    layouts,
    to_sparse,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fpscore
from fpscore.numerics.sparse import ORDERINGS

threads_ok = st.sampled_from([None, 0, 1, 2])
int_dtypes = (np.int64, np.int32, np.int16, np.uint8)
matrix_dtypes = st.sampled_from((np.float64, np.float32, *int_dtypes))
rhs_dtypes = st.sampled_from((np.float64, np.float32, np.int64, np.int32))


def _matrix(draw_dense, dtype):
    return draw_dense(dominant_sparse(integer=np.issubdtype(dtype, np.integer)))


@st.composite
def valid_system(draw):
    dtype = draw(matrix_dtypes)
    dense = _matrix(draw, dtype)
    A = to_sparse(dense, draw(st.sampled_from(SPARSE_FORMATS)), dtype)
    n = dense.shape[0]
    k = draw(st.sampled_from([None, 0, 1, 3]))
    shape = (n,) if k is None else (n, k)
    b = draw(st.integers(0, 2**32 - 1))
    rhs = np.random.default_rng(b).uniform(-5, 5, shape)
    rdtype = draw(rhs_dtypes)
    rhs = layout(as_dtype(rhs, rdtype), draw(layouts))
    return A, dense.astype(dtype).astype(np.float64), rhs


@settings(max_examples=150)
@given(valid_system(), st.sampled_from(ORDERINGS), threads_ok)
def test_sparse_lu_solves_like_numpy(system, ordering, threads):
    A, dense, b = system
    before = b.copy()
    lu = fpscore.SparseLU(A, ordering, threads=threads)
    x = lu.solve(b)
    assert x.shape == b.shape and x.dtype == np.float64
    assert np.all(np.isfinite(x))
    np.testing.assert_allclose(
        dense @ x, b.astype(np.float64), rtol=1e-9, atol=1e-9 * max(1, abs(b).max(initial=0))
    )
    np.testing.assert_array_equal(b, before)  # the input is not written to
    assert sorted(lu.perm.tolist()) == list(range(dense.shape[0]))
    assert lu.threads >= 1 and lu.nnz >= dense.shape[0]
    # The same values again, through the .data path and the sparse path, give the same solution.
    csr = sp.csr_matrix(dense)
    csr.sum_duplicates()
    lu.refactor(2.0 * csr.data)
    np.testing.assert_allclose(lu.solve(b), x / 2.0, rtol=1e-9, atol=1e-12)
    lu.refactor(A)
    np.testing.assert_allclose(lu.solve(b), x, rtol=1e-12, atol=1e-12)


@st.composite
def any_square(draw):
    n = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dense = np.where(
        rng.random((n, n)) < draw(st.sampled_from([0.3, 0.7, 1.0])), rng.normal(size=(n, n)), 0.0
    )
    scale = draw(st.sampled_from([1.0, 1e-300, 1e300, 1e-8]))
    return sp.csr_matrix(dense * scale)


@settings(max_examples=100)
@given(any_square(), st.sampled_from(ORDERINGS), st.sampled_from([0.0, 1e-13, 0.5]))
def test_sparse_lu_any_matrix_solves_or_is_singular(A, ordering, tol):
    """Any real square matrix (singular, zero rows, extreme scales) factorises or raises
    SingularMatrixError; a factorisation gives finite solutions of the right shape."""
    n = A.shape[0]
    try:
        lu = fpscore.SparseLU(A, ordering, pivot_tolerance=tol, threads=1)
    except fpscore.SingularMatrixError:
        return
    x = lu.solve(np.ones(n))
    assert x.shape == (n,)


@settings(max_examples=150)
@given(any_square(), st.sampled_from(ORDERINGS), st.sampled_from(["auto", "matched", "partial"]))
def test_sparse_lu_nonsingular_matrix_solves_like_dense_lu(A, ordering, pivoting):
    """A matrix that numpy finds well conditioned (cond < 1e8) is never called singular, and its
    solution has a backward error within 10x of numpy's dense LU with partial pivoting."""
    dense = A.toarray()
    n = A.shape[0]
    if np.linalg.cond(dense) > 1e8:
        return
    b = np.arange(1.0, n + 1) * float(np.abs(dense).max())
    x = fpscore.SparseLU(A, ordering, pivoting=pivoting, threads=1).solve(b)

    def error(x):
        scale = np.abs(dense).sum(axis=1).max() * np.abs(x).max() + np.abs(b).max()
        return np.abs(dense @ x - b).max() / scale

    assert error(x) <= 10 * max(error(np.linalg.solve(dense, b)), np.finfo(float).eps)


def _bad_matrix():
    return st.one_of(
        st.builds(lambda: np.eye(3)),  # dense
        st.sampled_from(WRONG_TYPES),
        st.builds(lambda: [[1.0, 0.0], [0.0, 1.0]]),
    )


@settings(max_examples=60)
@given(_bad_matrix())
def test_sparse_lu_rejects_non_sparse(A):
    with pytest.raises(TypeError):
        fpscore.SparseLU(A)
    with pytest.raises(TypeError):
        fpscore.BatchedLU(A, 2)


@settings(max_examples=60)
@given(st.integers(0, 5), st.integers(0, 5), st.sampled_from(SPARSE_FORMATS))
@example(0, 0, "csr")
@example(1, 1, "csr")
def test_sparse_lu_non_square_or_empty(rows, cols, fmt):
    A = sp.random(rows, cols, density=0.5, format=fmt, random_state=1) + (
        sp.eye(rows, cols, format=fmt) * 3 if min(rows, cols) else sp.csr_matrix((rows, cols))
    )
    if rows == cols and rows > 0:
        assert fpscore.SparseLU(A).solve(np.ones(rows)).shape == (rows,)
        return
    with pytest.raises(ValueError):
        fpscore.SparseLU(A)
    with pytest.raises(ValueError):
        fpscore.BatchedLU(A, 1)


@settings(max_examples=40)
@given(st.sampled_from(BAD_DTYPES[:2]), st.sampled_from(SPARSE_FORMATS))
def test_sparse_lu_rejects_non_real_dtypes(dtype, fmt):
    A = to_sparse(np.eye(3), fmt, dtype)
    with pytest.raises(TypeError):
        fpscore.SparseLU(A)
    with pytest.raises(TypeError):
        fpscore.BatchedLU(A, 2)


@settings(max_examples=60)
@given(st.sampled_from([np.nan, np.inf, -np.inf]), st.integers(0, 8), st.sampled_from(SPARSE_FORMATS))
def test_sparse_lu_rejects_nan_inf_entries(bad, where, fmt):
    dense = 4 * np.eye(3) + np.diag([1.0, 1.0], 1)
    rows, cols = np.nonzero(dense)
    k = where % len(rows)
    dense[rows[k], cols[k]] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        fpscore.SparseLU(to_sparse(dense, fmt))


@settings(max_examples=80)
@given(
    st.one_of(STRANGE_STRINGS, st.sampled_from(WRONG_TYPES), st.integers()),
    st.one_of(st.sampled_from(WRONG_TYPES), st.floats(), st.integers(-(2**70), 2**70)),
    st.one_of(st.sampled_from(WRONG_TYPES), st.floats(), st.integers(-(2**70), 2**70), st.booleans()),
)
@example("auto", 1e-13, 2**31)  # threads beyond int32: ValueError, not pybind's TypeError
@example("auto", 1e-13, -1)
def test_sparse_lu_options(ordering, tol, threads):
    """Wrong ordering strings and wrong pivot tolerances or thread counts raise ValueError or
    TypeError, never another error; any accepted combination works."""
    A = sp.csr_matrix(4 * np.eye(4) + np.eye(4, k=1))
    for make in (
        lambda: fpscore.SparseLU(A, ordering, pivot_tolerance=tol, threads=threads),
        lambda: fpscore.BatchedLU(A, 3, ordering, pivot_tolerance=tol, threads=threads),
    ):
        try:
            lu = make()
        except TypeError:
            # Only a wrong type is a TypeError: an integer thread count of any size is a ValueError.
            assert not (isinstance(threads, int) and isinstance(tol, float) and isinstance(ordering, str))
            continue
        except ValueError:
            continue
        assert ordering in ORDERINGS
        assert 0.0 <= float(tol) < 1.0
        if isinstance(lu, fpscore.SparseLU):
            np.testing.assert_allclose(A @ lu.solve(np.ones(4)), np.ones(4))


@settings(max_examples=120)
@given(
    st.integers(1, 6),
    st.one_of(
        st.tuples(st.integers(0, 8)),
        st.tuples(st.integers(0, 8), st.integers(0, 3)),
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
        st.just(()),
    ),
    st.sampled_from((np.float64, np.float32, np.int32, np.complex128, np.bool_, object, np.str_)),
    layouts,
    st.sampled_from([None, np.nan, np.inf]),
)
@example(3, (3, 0), np.float64, "C", None)  # k = 0 right-hand sides
@example(1, (1,), np.float64, "readonly", None)
def test_sparse_lu_solve_rhs(n, shape, dtype, kind, bad):
    A = sp.csr_matrix(3 * np.eye(n) - np.eye(n, k=1))
    lu = fpscore.SparseLU(A)
    b = np.asarray(np.arange(int(np.prod(shape))).reshape(shape) % 5)
    if dtype not in (np.float64, np.float32):
        bad = None  # NaN and inf only exist in floating dtypes
    if bad is not None and b.size:
        b = b.astype(float)
        b.flat[b.size // 2] = bad
    b = layout(b.astype(dtype), kind)
    good_dtype = dtype in (np.float64, np.float32, np.int32)
    good_shape = len(shape) in (1, 2) and shape[0] == n
    if not good_dtype:
        with pytest.raises(TypeError):
            lu.solve(b)
    elif not good_shape or (bad is not None and b.size):
        with pytest.raises(ValueError):
            lu.solve(b)
    else:
        x = lu.solve(b)
        assert x.shape == b.shape
        np.testing.assert_allclose(A @ x, b.astype(float), atol=1e-12)


@settings(max_examples=60)
@given(st.integers(2, 6), st.sampled_from(["drop", "add", "shape", "len", "nan", "dense2d"]))
def test_sparse_lu_refactor_wrong_pattern(n, change):
    A = sp.csr_matrix(4 * np.eye(n) + np.eye(n, k=1))
    lu = fpscore.SparseLU(A)
    if change == "drop":
        new = sp.csr_matrix(4 * np.eye(n))
    elif change == "add":
        new = sp.csr_matrix(4 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1))
    elif change == "shape":
        new = sp.csr_matrix(4 * np.eye(n + 1) + np.eye(n + 1, k=1))
    elif change == "len":
        new = np.ones(A.nnz + 1)
    elif change == "nan":
        new = A.data.copy()
        new[0] = np.nan
    else:
        new = np.ones((1, A.nnz))
    with pytest.raises(ValueError):
        lu.refactor(new)
    np.testing.assert_allclose(A @ lu.solve(np.ones(n)), np.ones(n))  # the old factors are kept


@st.composite
def batched_case(draw):
    dense = draw(dominant_sparse(max_n=8))
    batch = draw(st.sampled_from([1, 2, 3, 4, 5, 8, 9]))
    csr = sp.csr_matrix(dense)
    csr.sum_duplicates()
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Each member: the pattern's values scaled and with the diagonal kept dominant.
    scale = rng.uniform(0.5, 2.0, (batch, 1))
    data = csr.data[None, :] * scale
    b = rng.uniform(-1, 1, (batch, dense.shape[0]))
    return csr, data, b


@settings(max_examples=100)
@given(batched_case(), st.sampled_from(ORDERINGS), threads_ok, layouts, layouts)
def test_batched_lu_solves_like_numpy(case, ordering, threads, kind_data, kind_b):
    csr, data, b = case
    batch, n = b.shape
    lu = fpscore.BatchedLU(csr, batch, ordering, threads=threads)
    assert lu.batch == batch
    data_v, b_v = layout(data, kind_data), layout(b, kind_b)
    lu.factor(data_v)
    x = lu.solve(b_v)
    x2 = lu.factor_solve(data_v, b_v)
    assert x.shape == (batch, n)
    for k in range(batch):
        Ak = sp.csr_matrix((data[k], csr.indices, csr.indptr), shape=(n, n)).toarray()
        np.testing.assert_allclose(Ak @ x[k], b[k], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(x, x2)


@settings(max_examples=100)
@given(
    st.integers(1, 6),
    st.one_of(st.integers(-3, 0), st.sampled_from(WRONG_TYPES), st.floats(0.5, 3.5), st.just(2**40)),
)
@example(1, 0)
@example(2, 2**31)
def test_batched_lu_bad_batch(n, batch):
    A = sp.csr_matrix(2 * np.eye(n))
    integer = isinstance(batch, int) and not isinstance(batch, bool)
    with pytest.raises(ValueError if integer else TypeError):
        fpscore.BatchedLU(A, batch)


@pytest.mark.parametrize("name", ["threads", "batch"])
@pytest.mark.parametrize("value", [2**31, 2**63, 10**30])
def test_counts_beyond_int32_are_value_errors(name, value):
    """Found by test_sparse_lu_options: threads=2**31 (and batch=2**31) reached pybind11, which
    raised TypeError("incompatible constructor arguments") for a valid integer type."""
    A = sp.csr_matrix(4 * np.eye(3))
    with pytest.raises(ValueError, match=r"2\^31 - 1"):
        if name == "threads":
            fpscore.SparseLU(A, threads=value)
        else:
            fpscore.BatchedLU(A, value)
    if name == "threads":
        with pytest.raises(ValueError, match=r"2\^31 - 1"):
            fpscore.BatchedLU(A, 2, threads=value)


@pytest.mark.parametrize("tol", ["0.5", "1e-3", b"0.1"])
def test_pivot_tolerance_string_is_a_type_error(tol):
    """Found by test_sparse_lu_options: pivot_tolerance="0.5" was accepted through float()."""
    A = sp.csr_matrix(4 * np.eye(3))
    with pytest.raises(TypeError, match="pivot_tolerance"):
        fpscore.SparseLU(A, pivot_tolerance=tol)
    with pytest.raises(TypeError, match="pivot_tolerance"):
        fpscore.BatchedLU(A, 2, pivot_tolerance=tol)


@settings(max_examples=120)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.sampled_from(["data", "b", "both"]),
    st.tuples(st.integers(-1, 1), st.integers(-1, 1)),
    st.sampled_from([None, np.nan, np.inf, "complex", "ndim"]),
)
def test_batched_lu_wrong_arrays(n, batch, which, delta, bad):
    A = sp.csr_matrix(3 * np.eye(n) + np.eye(n, k=1))
    lu = fpscore.BatchedLU(A, batch)
    data = np.tile(A.data, (batch, 1))
    b = np.ones((batch, n))

    def spoil(arr):
        shape = (arr.shape[0] + delta[0], arr.shape[1] + delta[1])
        out = np.ones((max(shape[0], 0), max(shape[1], 0))) * 3
        if bad == "complex":
            out = out.astype(complex)
        elif bad == "ndim":
            out = out[None]
        elif bad is not None and out.size:
            out.flat[-1] = bad
        return out

    if which in ("data", "both"):
        data = spoil(data)
    if which in ("b", "both"):
        b = spoil(b)
    ok = delta == (0, 0) and bad is None
    for call in (lambda: (lu.factor(data), lu.solve(b))[1], lambda: lu.factor_solve(data, b)):
        if ok:
            x = call()
            assert x.shape == (batch, n) and np.all(np.isfinite(x))
            continue
        with pytest.raises(TypeError if bad == "complex" else ValueError):
            call()


@settings(max_examples=100)
@given(
    st.sampled_from([1, 4, 6, 12]),
    st.one_of(
        st.none(),
        st.tuples(st.integers(-2, 13), st.integers(-2, 13)),
        st.tuples(st.integers(1, 4), st.integers(1, 4)).map(list),
        st.lists(st.integers(1, 4), max_size=3).map(tuple),
        st.tuples(st.sampled_from([2**31, 2**40, True, 2.0, "2", None]), st.integers(1, 3)),
        st.sampled_from((*WRONG_TYPES[:2], 4, "ab")),
    ),
)
@example(4, (2**31, 1))  # TypeError from pybind11 for an integer, now ValueError
@example(4, (True, 4))  # was taken as (1, 4)
@example(4, (2,))  # was a pybind11 TypeError
def test_sparse_lu_grid(n, grid):
    """grid=(H, W): two integers >= 1 with H*W = n (a list or array will do), or None; a wrong
    length or value is a ValueError, a non-integer a TypeError."""
    A = sp.csr_matrix(4 * np.eye(n) + np.eye(n, k=1))
    is_int = lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool)  # noqa: E731
    seq = isinstance(grid, (tuple, list))
    if grid is None or (
        seq and len(grid) == 2 and all(map(is_int, grid)) and min(grid) >= 1 and grid[0] * grid[1] == n
    ):
        lu = fpscore.SparseLU(A, "nested_dissection", grid=grid)
        np.testing.assert_allclose(A @ lu.solve(np.ones(n)), np.ones(n))
        fpscore.BatchedLU(A, 2, grid=grid)
        return
    values_wrong = seq and (len(grid) != 2 or all(map(is_int, grid)))
    with pytest.raises(ValueError if values_wrong else TypeError):
        fpscore.SparseLU(A, grid=grid)
    with pytest.raises(ValueError if values_wrong else TypeError):
        fpscore.BatchedLU(A, 2, grid=grid)
