"""The threshold-partial-pivoting sparse LU (_core._ThresholdPivotingLU) against SuperLU.

Groups:
- threshold_lu_convdiff_{64,128}: the 5-point central-difference convection–diffusion matrix
  −Δu + β·∇u on a side × side grid of the unit square (Dirichlet), |β| = 300: cell Péclet numbers
  above 1, so the matrix is nonsymmetric and not diagonally dominant;
- threshold_lu_random: scipy.sparse.random(2000, 2000, 3 per row) + 0.1·I (not dominant).
Each group times a numeric factorisation plus one solve (the pattern analysed, and the column
order computed, outside the timing):
- fpscore: _ThresholdPivotingLU.factor + solve, threshold 0.1, fpscore's minimum-degree order of
  A + Aᵀ;
- scipy_splu_same_order: splu of Qᵀ A Q in natural order with diag_pivot_thresh 0.1 (the same
  pivoting rule and order: the kernel against the kernel), then solve;
- scipy_splu: splu(A) with scipy's defaults (COLAMD, partial pivoting), then solve.
Every benchmark checks its answer: ‖Ax − b‖∞ / (‖A‖∞ ‖x‖∞ + ‖b‖∞) <= 1e-13.
extra_info: n, nnz(A), fill (entries of L + U, unit diagonal of L not counted), and for fpscore
the flops of one factorisation and the pivots taken off the diagonal.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import fpscore
from fpscore import _core

BACKWARD_TOL = 1e-13
THRESHOLD = 0.1


def convection_diffusion(side: int, speed: float = 300.0) -> sp.csr_matrix:
    h = 1.0 / (side + 1)
    bx, by = speed * np.cos(0.4), speed * np.sin(0.4)

    def T(b: float) -> sp.dia_matrix:  # one direction: diffusion −u'' plus central b·u'
        return sp.diags(
            [-1.0 / h**2 - b / (2 * h), 2.0 / h**2, -1.0 / h**2 + b / (2 * h)], [-1, 0, 1], (side, side)
        )

    eye = sp.eye(side)
    return (sp.kron(eye, T(bx)) + sp.kron(T(by), eye)).tocsr()


def random_shifted(n: int = 2000, per_row: float = 3.0, seed: int = 0) -> sp.csr_matrix:
    return (sp.random(n, n, density=per_row / n, random_state=seed, format="csr") + 0.1 * sp.eye(n)).tocsr()


def minimum_degree(A: sp.csr_matrix) -> np.ndarray:
    S = (abs(A) + abs(A).T).tocsr()
    S.data[:] = 1.0
    D = S + sp.diags(np.asarray(S.sum(axis=1)).ravel() + 1.0)
    return np.asarray(fpscore.SparseLU(D, ordering="minimum_degree").perm, dtype=np.int32)


CASES = {
    "convdiff_64": lambda: convection_diffusion(64),
    "convdiff_128": lambda: convection_diffusion(128),
    "random": random_shifted,
}


def _cases():
    return [
        pytest.param(name, id=name, marks=pytest.mark.benchmark(group=f"threshold_lu_{name}"))
        for name in CASES
    ]


_MATRICES: dict[str, tuple[sp.csr_matrix, np.ndarray, np.ndarray]] = {}


def _matrix(name: str) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    if name not in _MATRICES:
        A = CASES[name]()
        A.sort_indices()
        b = np.random.default_rng(1).standard_normal(A.shape[0])
        _MATRICES[name] = (A, b, minimum_degree(A))
    return _MATRICES[name]


def _backward_error(A, x, b) -> float:
    return float(np.abs(A @ x - b).max() / (spla.norm(A, np.inf) * np.abs(x).max() + np.abs(b).max()))


def _record(benchmark, A, fill: int) -> None:
    benchmark.extra_info.update(n=int(A.shape[0]), nnz_A=int(A.nnz), fill=int(fill))


@pytest.mark.parametrize("name", _cases())
def test_fpscore(benchmark, name):
    A, b, q = _matrix(name)
    lu = _core._ThresholdPivotingLU(A.indptr.astype(np.int64), A.indices.astype(np.int32), q, THRESHOLD, 0.0)
    data = A.data

    def factor_solve():
        lu.factor(data)
        return lu.solve(b)

    x = benchmark(factor_solve)
    assert _backward_error(A, x, b) <= BACKWARD_TOL
    _record(benchmark, A, lu.nnz)
    benchmark.extra_info.update(
        factor_flops=float(lu.factor_flops), off_diagonal_pivots=int(lu.off_diagonal_pivots)
    )


@pytest.mark.parametrize("name", _cases())
def test_scipy_splu_same_order(benchmark, name):
    A, b, q = _matrix(name)
    Aq = A[q][:, q].tocsc()

    def factor_solve():
        f = spla.splu(Aq, permc_spec="NATURAL", diag_pivot_thresh=THRESHOLD)
        return f, f.solve(b[q])

    f, y = benchmark(factor_solve)
    x = np.empty_like(y)
    x[q] = y
    assert _backward_error(A, x, b) <= BACKWARD_TOL
    _record(benchmark, A, f.L.nnz + f.U.nnz - A.shape[0])


@pytest.mark.parametrize("name", _cases())
def test_scipy_splu(benchmark, name):
    A, b, _ = _matrix(name)
    Ac = A.tocsc()

    def factor_solve():
        f = spla.splu(Ac)
        return f, f.solve(b)

    f, x = benchmark(factor_solve)
    assert _backward_error(A, x, b) <= BACKWARD_TOL
    _record(benchmark, A, f.L.nnz + f.U.nnz - A.shape[0])
