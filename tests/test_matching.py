"""The maximum-product matching and scaling (_core._max_product_matching) against scipy's
min_weight_full_bipartite_matching (LAPJVsp) on the weights −log|a|, and its postconditions:
B = diag(row_scale) · A · diag(column_scale) has |B| <= 1 and |B| = 1 on the matching."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import maximum_bipartite_matching, min_weight_full_bipartite_matching

import fpscore
from fpscore import _core

EPS = np.finfo(np.float64).eps
MAX_LOG_SCALE = 700.0  # the scales are exp(x) with |x| <= 700 (finite, positive, normal)


def matching(A: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _core._max_product_matching(A.indptr.astype(np.int64), A.indices.astype(np.int32), A.data)


def random_matrix(n: int, per_row: int, kind: str, rng: np.random.Generator) -> sp.csr_matrix:
    """About per_row random entries a row plus one on a hidden permutation (structurally
    nonsingular, without favouring the diagonal); values by kind."""
    rows = np.concatenate([np.repeat(np.arange(n), per_row), np.arange(n)])
    cols = np.concatenate([rng.integers(0, n, n * per_row), rng.permutation(n)])
    if kind == "uniform":
        vals = rng.uniform(-1.0, 1.0, rows.size)
    elif kind == "ties":
        vals = rng.choice([-2.0, -1.0, 0.5, 1.0, 2.0, 4.0], rows.size)
    else:  # "wide": magnitudes 1e-150 .. 1e150
        vals = 10.0 ** rng.uniform(-150.0, 150.0, rows.size) * rng.choice([-1.0, 1.0], rows.size)
    # Repeated positions keep one value (not a sum, which could cancel to zero).
    _, first = np.unique(rows * n + cols, return_index=True)
    A = sp.csr_matrix((vals[first], (rows[first], cols[first])), shape=(n, n))
    A.sort_indices()
    return A


def scipy_best_log_product(A: sp.csr_matrix) -> float:
    """Σ log|a| over scipy's minimum-weight perfect matching on shift − log2|a| (all weights >= 1;
    the shift adds n·shift to every perfect matching, so the optimum is the same). Base 2 keeps
    the tied values of the "ties" matrices exact integers, which LAPJVsp needs to finish."""
    W = A.copy()
    W.eliminate_zeros()
    logs = np.log2(np.abs(W.data))
    W.data = logs.max() + 1.0 - logs
    row_ind, col_ind = min_weight_full_bipartite_matching(W)
    return float(np.log(np.abs(np.asarray(A[row_ind, col_ind]).ravel())).sum())


def matched_values(A: sp.csr_matrix, row_of_column: np.ndarray) -> np.ndarray:
    rows = np.asarray(row_of_column, dtype=np.intp)
    return np.asarray(A[rows, np.arange(A.shape[0])]).ravel()


def matched_log_product(A: sp.csr_matrix, row_of_column: np.ndarray) -> float:
    return float(np.log(np.abs(matched_values(A, row_of_column))).sum())


def check_postconditions(
    A: sp.csr_matrix, row_of_column, row_scale, column_scale, ulps: float = 16.0
) -> None:
    n = A.shape[0]
    assert row_of_column.dtype == np.int32 and sorted(row_of_column) == list(range(n))
    for scale in (row_scale, column_scale):
        assert scale.shape == (n,) and np.all(np.isfinite(scale)) and np.all(scale > 0.0)
    nonzero = A.data != 0.0
    log_range = float(np.abs(np.log(np.abs(A.data[nonzero]))).max())
    tol = ulps * EPS * (1.0 + log_range)
    # |b| in the log domain, so that no intermediate product over- or underflows.
    rows = np.repeat(np.arange(n), np.diff(A.indptr))
    log_b = (
        np.log(np.abs(A.data[nonzero]))
        + np.log(row_scale[rows[nonzero]])
        + np.log(column_scale[A.indices[nonzero]])
    )
    b = np.exp(log_b)
    assert b.max() <= 1.0 + tol
    matched = row_of_column[A.indices[nonzero]] == rows[nonzero]
    assert matched.sum() == n  # every column's match is a stored nonzero
    assert np.abs(b[matched] - 1.0).max() <= tol


def assert_optimal(A: sp.csr_matrix, row_of_column: np.ndarray) -> None:
    n = A.shape[0]
    log_range = float(np.abs(np.log(np.abs(A.data[A.data != 0.0]))).max())
    best = scipy_best_log_product(A)
    assert abs(matched_log_product(A, row_of_column) - best) <= 64 * EPS * n * (1.0 + log_range)


@pytest.mark.parametrize("kind", ["uniform", "ties"])
@pytest.mark.parametrize("n", [3, 40, 300, 2000])
def test_optimal_against_scipy(n: int, kind: str) -> None:
    rng = np.random.default_rng(n * 7 + len(kind))
    for per_row in (1, 2, 4):
        A = random_matrix(n, per_row, kind, rng)
        row_of_column, row_scale, column_scale = matching(A)
        check_postconditions(A, row_of_column, row_scale, column_scale)
        assert_optimal(A, row_of_column)


def smallest_log_scale_bound(A: sp.csr_matrix, row_of_column: np.ndarray) -> float:
    """The least M for which scales with |log scale| <= M satisfy the postconditions for this
    matching, by linear programming (HiGHS) on x = log row_scale, y = log column_scale:
    x_i + y_j <= −log|a_ij| on every entry, = on the matching, |x|, |y| <= M."""
    C = A.tocoo()
    keep = C.data != 0.0
    rows, cols, bound = C.row[keep], C.col[keep], -np.log(np.abs(C.data[keep]))
    n, m = A.shape[0], rows.size
    pair = sp.csr_matrix(
        (np.ones(2 * m), (np.repeat(np.arange(m), 2), np.column_stack([rows, n + cols]).ravel())),
        shape=(m, 2 * n + 1),
    )
    on_matching = np.asarray(row_of_column)[cols] == rows
    box = sp.vstack([sp.hstack([s * sp.identity(2 * n), -np.ones((2 * n, 1))]) for s in (1.0, -1.0)])
    cost = np.zeros(2 * n + 1)
    cost[-1] = 1.0
    result = linprog(
        cost,
        A_ub=sp.vstack([pair[~on_matching], box]),
        b_ub=np.concatenate([bound[~on_matching], np.zeros(4 * n)]),
        A_eq=pair[on_matching],
        b_eq=bound[on_matching],
        bounds=(None, None),
        method="highs",
    )
    assert result.status == 0
    return float(result.fun)


@pytest.mark.parametrize("n", [40, 300])
def test_wide_range(n: int) -> None:
    """Magnitudes 1e-150 .. 1e150. The matching is optimal; the scales satisfy the postconditions
    whenever some scales within exp(±700) do (an LP decides), and are finite and positive always.
    Sparse rows chain constraints, so the scaling a matrix needs can exceed the double range."""
    rng = np.random.default_rng(n)
    fitting = clamped = 0
    for _ in range(4):
        for per_row in (1, 2, 4):
            A = random_matrix(n, per_row, "wide", rng)
            row_of_column, row_scale, column_scale = matching(A)
            assert_optimal(A, row_of_column)
            for scale in (row_scale, column_scale):
                assert np.all(np.isfinite(scale)) and np.all(scale > 0.0)
                assert np.abs(np.log(scale)).max() <= MAX_LOG_SCALE * (1.0 + 4 * EPS)
            needed = smallest_log_scale_bound(A, row_of_column)
            if needed <= MAX_LOG_SCALE - 1.0:
                fitting += 1
                check_postconditions(A, row_of_column, row_scale, column_scale)
            elif needed > MAX_LOG_SCALE + 1.0:
                clamped += 1
    assert fitting > 0 and (n < 300 or clamped > 0)


def test_wide_range_large() -> None:
    rng = np.random.default_rng(11)
    for per_row in (1, 2, 4):
        A = random_matrix(2000, per_row, "wide", rng)
        row_of_column, row_scale, column_scale = matching(A)
        assert_optimal(A, row_of_column)
        assert np.all(np.isfinite(row_scale)) and np.all(row_scale > 0.0)
        assert np.all(np.isfinite(column_scale)) and np.all(column_scale > 0.0)


def test_explicit_zeros_are_not_edges() -> None:
    """Stored zeros in place of every column's largest entry: the matching avoids them and is
    optimal on the remaining nonzeros."""
    rng = np.random.default_rng(5)
    n = 500
    A = random_matrix(n, 4, "uniform", rng)
    column_max = abs(A).max(axis=0).toarray().ravel()
    B = A.copy()
    B.data[np.abs(B.data) == column_max[B.indices]] = 0.0
    assert B.nnz == A.nnz and np.count_nonzero(B.data) < A.nnz
    nonzero = B.copy()
    nonzero.eliminate_zeros()
    if (maximum_bipartite_matching(nonzero, perm_type="column") < 0).any():
        with pytest.raises(fpscore.SingularMatrixError):
            matching(B)
        return
    row_of_column, row_scale, column_scale = matching(B)
    check_postconditions(B, row_of_column, row_scale, column_scale)
    assert abs(matched_log_product(B, row_of_column) - scipy_best_log_product(B)) <= 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_structurally_singular_counts_unmatched_rows(seed: int) -> None:
    """The error names how many rows cannot be matched: n minus scipy's maximum matching size."""
    rng = np.random.default_rng(100 + seed)
    n = 300
    A = random_matrix(n, 2, "uniform", rng).tolil()
    # Empty a few rows and squeeze a few others into a single shared column.
    for i in rng.choice(n, 2 + seed, replace=False):
        A[i, :] = 0.0
    A = A.tocsr()
    A.eliminate_zeros()
    matched = maximum_bipartite_matching(A, perm_type="column")
    unmatched = int((matched < 0).sum())
    assert unmatched > 0
    with pytest.raises(fpscore.SingularMatrixError, match=f"{unmatched} of the {n} rows"):
        matching(A)


def test_small_cases() -> None:
    swap = sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert list(matching(swap)[0]) == [1, 0]
    one = sp.csr_matrix(np.array([[-1e-300]]))
    r, rs, cs = matching(one)
    assert list(r) == [0]
    check_postconditions(one, r, rs, cs)


def test_bad_input_is_a_value_error() -> None:
    A = sp.csr_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]))
    indptr, indices = A.indptr.astype(np.int64), A.indices.astype(np.int32)
    with pytest.raises(ValueError, match="finite"):
        _core._max_product_matching(indptr, indices, np.array([1.0, np.nan, 3.0, 4.0]))
    with pytest.raises(ValueError):
        _core._max_product_matching(indptr, indices, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="twice"):
        _core._max_product_matching(indptr, np.array([0, 0, 0, 1], dtype=np.int32), A.data)
    with pytest.raises(ValueError):
        _core._max_product_matching(indptr, np.array([0, 1, 0, 2], dtype=np.int32), A.data)
