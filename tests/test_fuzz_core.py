"""Property-based tests of the raw bindings in fpscore._core, called directly with wrong types,
wrong shapes, inconsistent CSR arrays, non-contiguous and read-only arrays, huge and negative
sizes. Every call returns a result or raises ValueError (std::invalid_argument), TypeError
(pybind11's argument conversion), SingularMatrixError or ConvergenceError; a crash would take
the whole pytest process down, so these run as ordinary tests and fail loudly."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

import numpy as np
from fuzz_strategies import STRANGE_STRINGS, WRONG_TYPES, layout, layouts
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fpscore import _core

CORE_ERRORS = (ValueError, TypeError, _core.SingularMatrixError, _core.ConvergenceError)
SOLVER_OPTIONS = ("zero", "central", "picard", 1e-8, 5, 1)
ORDERINGS = ["auto", "natural", "minimum_degree", "nested_dissection", "rcm"]

small_ints = st.integers(-3, 12)
int_arrays = st.lists(small_ints, min_size=0, max_size=14).map(lambda v: np.array(v, dtype=np.int64))


@st.composite
def csr_arrays(draw):
    """CSR arrays that are valid, or wrong in one random way (out-of-range or unsorted indices,
    decreasing indptr, wrong lengths, duplicates)."""
    n = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dense = np.where(rng.random((n, n)) < 0.4, rng.uniform(-1, 1, (n, n)), 0.0)
    np.fill_diagonal(dense, np.abs(dense).sum(axis=1) + 1.0)
    rows, cols = np.nonzero(dense)
    indptr = np.searchsorted(rows, np.arange(n + 1)).astype(np.int64)
    indices, data = cols.astype(np.int32), dense[rows, cols]
    how = draw(
        st.sampled_from(
            [
                "valid",
                "index_high",
                "index_negative",
                "unsorted",
                "duplicate",
                "indptr_decreasing",
                "indptr_short",
                "indptr_last",
                "indptr_first",
                "data_short",
                "random",
            ]
        )
    )
    if how == "index_high":
        indices[-1] = n + draw(st.integers(0, 2**31 - 1 - n))
    elif how == "index_negative":
        indices[0] = draw(st.integers(-(2**31), -1))
    elif how == "unsorted" and len(indices) > 1:
        indices[:2] = indices[1::-1].copy()
    elif how == "duplicate" and len(indices) > 1:
        indices[1] = indices[0]
    elif how == "indptr_decreasing" and n > 1:
        indptr[1] = indptr[-1] + 1
    elif how == "indptr_short":
        indptr = indptr[:-1]
    elif how == "indptr_last":
        indptr[-1] += draw(st.sampled_from([-1, 1, 2**40]))
    elif how == "indptr_first":
        indptr[0] = draw(st.sampled_from([-1, 1]))
    elif how == "data_short":
        data = data[:-1]
    elif how == "random":
        indptr, indices = draw(int_arrays), draw(int_arrays).astype(np.int32)
        data = np.ones(len(indices))
    return how, indptr, indices, data


@settings(max_examples=200)
@given(
    csr_arrays(),
    st.one_of(st.sampled_from(ORDERINGS), STRANGE_STRINGS),
    st.one_of(st.none(), st.tuples(st.integers(-2, 7), st.integers(-2, 7))),
    st.sampled_from([1e-13, 0.0, -1.0, 1.0, float("nan")]),
    st.sampled_from([1, 0, 2, -1]),
    layouts,
)
@example(("random", np.array([0, 0]), np.array([], np.int32), np.array([])), "auto", None, 1e-13, 1, "C")
def test_core_sparse_lu_constructor(csr, ordering, grid, tol, threads, kind):
    how, indptr, indices, data = csr
    indptr, indices, data = layout(indptr, kind), layout(indices, kind), layout(data, kind)
    try:
        lu = _core.SparseLU(indptr, indices, data, ordering, grid, tol, threads)
    except CORE_ERRORS:
        return
    n = len(indptr) - 1
    x = lu.solve(np.ones(n))
    assert x.shape == (n,)
    assert sorted(np.asarray(lu.permutation).tolist()) == list(range(n))
    if how == "valid":
        # Refactor with wrong inputs: ValueError, the factors kept.
        for bad in (data[:-1], np.append(data, 1.0), data.reshape(1, -1), np.full_like(data, np.nan)):
            with pytest.raises(ValueError):
                lu.refactor(bad)
        np.testing.assert_array_equal(lu.solve(np.ones(n)), x)


@settings(max_examples=150)
@given(
    csr_arrays(),
    st.one_of(st.integers(-2, 9), st.just(2**31), st.sampled_from(WRONG_TYPES)),
    st.one_of(st.sampled_from(ORDERINGS), STRANGE_STRINGS),
    st.sampled_from([1, 0, 2, -1, 2**40]),
)
def test_core_batched_lu(csr, batch, ordering, threads):
    how, indptr, indices, data = csr
    try:
        lu = _core.BatchedLU(indptr, indices, batch, ordering, None, threads, 1e-13)
    except CORE_ERRORS:
        return
    n = len(indptr) - 1
    if how != "valid":
        # The pattern was accepted: its values must then factorise or raise a documented error.
        data = np.ones(len(indices))
    values = np.tile(np.asarray(data, float), (batch, 1))
    try:
        lu.factor(values)
    except CORE_ERRORS:
        return
    x = lu.solve(np.ones((batch, n)))
    assert x.shape == (batch, n)
    for bad in (values[:, :-1], values[:-1], values[None], np.ones((batch, n + 1))):
        with pytest.raises(ValueError):
            lu.factor_solve(bad, np.ones((batch, n))) if bad.shape[-1] != n + 1 else lu.solve(bad)


@settings(max_examples=150)
@given(
    st.one_of(
        st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 5)),
        st.tuples(st.integers(0, 5), st.integers(0, 5)),
        st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 5), st.integers(0, 5)),
    ),
    st.integers(0, 4),
    st.sampled_from(["ok", "nan", "decreasing", "short", "negative_g"]),
    st.sampled_from([1.0, 0.0, -1.0, float("nan"), float("inf"), 1e-300]),
    st.sampled_from(["zero", "neumann", "periodic", "dirichlet", "bogus"]),
    st.sampled_from(["central", "upwind", "x"]),
    st.sampled_from(["picard", "policy", ""]),
    st.sampled_from([1e-8, 0.0, -1.0, float("nan")]),
    st.sampled_from([5, 0, -1]),
    st.sampled_from([1, 0, -1]),
    layouts,
)
def test_core_solve_log_density(shape, n, times_how, h, bc, scheme, iteration, tol, max_iter, threads, kind):
    m0 = layout(np.zeros(shape), kind)
    times = np.linspace(0.0, 1.0, n + 1)
    g = np.ones(n + 1)
    if times_how == "nan" and n:
        times[-1] = np.nan
    elif times_how == "decreasing":
        times = times[::-1].copy()
    elif times_how == "short":
        g = g[:-1]
    elif times_how == "negative_g":
        g = -g
    B = shape[0] if len(shape) == 3 else 1
    ghosts = (
        np.zeros((n + 1, B, shape[-2] + 2, shape[-1] + 2)) if bc == "dirichlet" and len(shape) == 3 else None
    )
    try:
        m, score, _ = _core.solve_log_density(
            m0, times, g, h, bc, scheme, iteration, tol, max_iter, threads, ghosts=ghosts
        )
    except CORE_ERRORS:
        return
    assert m.shape == (n + 1, *shape) and score.shape == (n + 1, shape[0], 2, *shape[1:])
    assert np.all(np.isfinite(m))


@settings(max_examples=150)
@given(
    st.one_of(
        st.tuples(st.integers(0, 5), st.integers(0, 5)),
        st.tuples(st.integers(0, 5)),
        st.tuples(st.integers(0, 2), st.integers(0, 5), st.integers(0, 5)),
    ),
    st.sampled_from([1.0, 0.0, -1.0, float("nan"), float("inf")]),
    st.sampled_from([1.0, 0.0, -1.0, float("nan"), float("inf")]),
    st.sampled_from(["zero", "neumann", "periodic", "dirichlet", "bogus"]),
    st.sampled_from(["central", "upwind", "x"]),
    st.sampled_from(["none", "ok", "wrong"]),
    st.sampled_from(["none", "ok", "wrong", "div_only"]),
    layouts,
)
def test_core_assemble_and_gradient(shape, g, dt, bc, scheme, ghost_how, drift_how, kind):
    m = layout(np.zeros(shape), kind)
    H, W = (*shape, 1, 1)[-2:] if len(shape) < 2 else shape[-2:]
    ghosts = {"none": None, "ok": np.zeros((H + 2, W + 2)), "wrong": np.zeros((H + 1, W + 2))}[ghost_how]
    drift = drift_div = None
    if drift_how == "ok":
        drift, drift_div = np.zeros((2, H, W)), np.zeros((H, W))
    elif drift_how == "wrong":
        drift, drift_div = np.zeros((2, H, W + 1)), np.zeros((H, W))
    elif drift_how == "div_only":
        drift_div = np.zeros((H, W))
    try:
        indptr, _, data, rhs = _core.assemble_fp_system(
            m, m, g, dt, 1.0, bc, scheme, drift=drift, drift_div=drift_div, ghosts=ghosts
        )
    except CORE_ERRORS:
        pass
    else:
        assert indptr.shape == (H * W + 1,) and rhs.shape == (H * W,)
        assert np.all(np.isfinite(data)) and np.all(np.isfinite(rhs))
    try:
        grad = _core.central_gradient(m, 1.0, bc, ghosts=ghosts)
    except CORE_ERRORS:
        return
    assert grad.shape == (2, H, W) and np.all(np.isfinite(grad))


@settings(max_examples=100)
@given(
    st.sampled_from(["SparseLU", "BatchedLU", "solve_log_density", "assemble_fp_system", "central_gradient"]),
    st.integers(0, 9),
    st.one_of(st.sampled_from(WRONG_TYPES), st.just(np.zeros((2, 2, 2, 2, 2))), st.just(np.array("x"))),
)
def test_core_wrong_types_anywhere(func, position, value):
    """Any argument replaced by a value of the wrong type: TypeError or ValueError."""
    eye_indptr, eye_indices = np.arange(4, dtype=np.int64), np.arange(3, dtype=np.int32)
    calls = {
        "SparseLU": (_core.SparseLU, [eye_indptr, eye_indices, np.ones(3), "auto", None, 1e-13, 1]),
        "BatchedLU": (_core.BatchedLU, [eye_indptr, eye_indices, 2, "auto", None, 1, 1e-13]),
        "solve_log_density": (
            _core.solve_log_density,
            [
                np.zeros((1, 3, 3)),
                np.linspace(0, 1, 2),
                np.ones(2),
                1.0,
                "zero",
                "central",
                "picard",
                1e-8,
                5,
                1,
            ],
        ),
        "assemble_fp_system": (
            _core.assemble_fp_system,
            [np.zeros((3, 3)), np.zeros((3, 3)), 1.0, 0.1, 1.0, "zero", "central"],
        ),
        "central_gradient": (_core.central_gradient, [np.zeros((3, 3)), 1.0, "zero"]),
    }
    f, args = calls[func]
    args = list(args)
    args[position % len(args)] = value
    try:
        f(*args)
    except (TypeError, ValueError):
        pass


@settings(max_examples=40)
@given(st.sampled_from([2**31, 2**31 + 1, 2**32 + 3, 2**40]), st.sampled_from(["rhs", "batch"]))
def test_core_huge_sizes_without_allocation(size, what):
    """Huge sizes as zero-stride views: rejected by a size check, never allocated."""
    indptr, indices = np.arange(4, dtype=np.int64), np.arange(3, dtype=np.int32)
    if what == "rhs":
        lu = _core.SparseLU(indptr, indices, np.ones(3), "auto", None, 1e-13, 1)
        b = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(3, size), strides=(0, 0))
        with pytest.raises(ValueError):
            lu.solve(b)
    else:
        m0 = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(size, 3, 3), strides=(0, 0, 0))
        with pytest.raises(ValueError):
            _core.solve_log_density(
                m0, np.linspace(0, 1, 2), np.ones(2), 1.0, "zero", "central", "picard", 1e-8, 5, 1
            )
