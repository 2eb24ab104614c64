"""The maximum-product matching and scaling (_core._max_product_matching) against scipy's
min_weight_full_bipartite_matching (LAPJVsp) on the same costs, with one SparseLU factorisation
of the pattern for scale.

Groups matching_{grid}_{values}: grid 2d256 (5-point, n = 65 536, nnz = 326 656) or 3d40
(7-point, n = 64 000, nnz = 438 400); values
- dominant: a diagonal larger than the row's off-diagonal sum (the FP matrices' case: the diagonal
  is every column's largest entry and the greedy start matches every column);
- random: every entry uniform in (−1, 1) (no structure to exploit: thousands of searches).
Benchmarks:
- fpscore_matching: the whole call (checks, costs, matching, scaling);
- scipy_lapjvsp: min_weight_full_bipartite_matching on c_ij + 1, c_ij = log(max_k|a_kj| / |a_ij|)
  (the +1 keeps every weight nonzero, as scipy requires; it adds n to every perfect matching);
- fpscore_sparse_lu (dominant values only): SparseLU(A, threads=1) from scratch, the call the
  matching will precede.
Every matching benchmark checks that its log-product Σ_j log|a[row_of_column[j], j]| equals the
other implementation's (computed once outside the timing).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

import fpscore
from fpscore import _core

GRIDS = {"2d256": (256, 256), "3d40": (40, 40, 40)}
VALUES = ("dominant", "random")


def grid_matrix(shape: tuple[int, ...], values: str, seed: int = 0) -> sp.csr_matrix:
    """The (2·dim + 1)-point pattern of a row-major grid, nonsymmetric values."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    index = np.arange(n).reshape(shape)
    rows, cols = [index.ravel()], [index.ravel()]
    for axis, size in enumerate(shape):
        lo = np.take(index, range(size - 1), axis=axis).ravel()
        hi = np.take(index, range(1, size), axis=axis).ravel()
        rows += [lo, hi]
        cols += [hi, lo]
    r, c = np.concatenate(rows), np.concatenate(cols)
    v = rng.uniform(-1.0, 1.0, r.size)
    if values == "dominant":
        v[:n] = 2.0 * len(shape) + rng.uniform(0.5, 1.0, n)
    A = sp.csr_matrix((v, (r, c)), shape=(n, n))
    A.sort_indices()
    return A


_CACHE: dict[tuple[str, str], sp.csr_matrix] = {}


def matrix(grid: str, values: str) -> sp.csr_matrix:
    if (grid, values) not in _CACHE:
        _CACHE[grid, values] = grid_matrix(GRIDS[grid], values)
    return _CACHE[grid, values]


def fpscore_log_product(A: sp.csr_matrix) -> float:
    row_of_column, _, _ = _core._max_product_matching(A.indptr.astype(np.int64), A.indices, A.data)
    rows = np.asarray(row_of_column, dtype=np.intp)
    return float(np.log(np.abs(np.asarray(A[rows, np.arange(A.shape[0])]).ravel())).sum())


def scipy_costs(A: sp.csr_matrix) -> sp.csr_matrix:
    column_max = abs(A).max(axis=0).toarray().ravel()
    W = A.copy()
    W.data = np.log(column_max[W.indices] / np.abs(W.data)) + 1.0
    return W


def scipy_log_product(A: sp.csr_matrix) -> float:
    row_ind, col_ind = min_weight_full_bipartite_matching(scipy_costs(A))
    return float(np.log(np.abs(np.asarray(A[row_ind, col_ind]).ravel())).sum())


def _params(with_values=VALUES):
    return [
        pytest.param(g, v, id=f"{g}-{v}", marks=pytest.mark.benchmark(group=f"matching_{g}_{v}"))
        for g in GRIDS
        for v in with_values
    ]


def _record(benchmark, A: sp.csr_matrix) -> None:
    benchmark.extra_info.update(n=int(A.shape[0]), nnz=int(A.nnz))


@pytest.mark.parametrize(("grid", "values"), _params())
def test_fpscore_matching(benchmark, grid, values):
    A = matrix(grid, values)
    indptr, indices, data = A.indptr.astype(np.int64), A.indices.astype(np.int32), A.data
    result = benchmark(_core._max_product_matching, indptr, indices, data)
    assert sorted(result[0]) == list(range(A.shape[0]))
    assert abs(fpscore_log_product(A) - scipy_log_product(A)) <= 1e-8 * A.shape[0]
    _record(benchmark, A)


@pytest.mark.parametrize(("grid", "values"), _params())
def test_scipy_lapjvsp(benchmark, grid, values):
    A = matrix(grid, values)
    W = scipy_costs(A)
    row_ind, col_ind = benchmark.pedantic(
        min_weight_full_bipartite_matching, args=(W,), rounds=3, iterations=1
    )
    got = float(np.log(np.abs(np.asarray(A[row_ind, col_ind]).ravel())).sum())
    assert abs(got - fpscore_log_product(A)) <= 1e-8 * A.shape[0]
    _record(benchmark, A)


@pytest.mark.parametrize(("grid", "values"), _params(("dominant",)))
def test_fpscore_sparse_lu(benchmark, grid, values):
    A = matrix(grid, values)
    lu = benchmark.pedantic(fpscore.SparseLU, args=(A,), kwargs={"threads": 1}, rounds=3, iterations=1)
    b = np.ones(A.shape[0])
    assert np.max(np.abs(A @ lu.solve(b) - b)) <= 1e-10
    _record(benchmark, A)
