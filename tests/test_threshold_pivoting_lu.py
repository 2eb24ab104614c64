"""The threshold-partial-pivoting sparse LU (fpscore._core._ThresholdPivotingLU) against SuperLU
(scipy.sparse.linalg.splu): backward errors on matrices whose diagonals are unusable as pivots."""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

import fpscore
from fpscore import _core

ORDERINGS = ("natural", "rcm", "minimum_degree")


def backward_error(A: sp.csr_matrix, x: np.ndarray, b: np.ndarray) -> float:
    """Normwise backward error ‖Ax − b‖∞ / (‖A‖∞ ‖x‖∞ + ‖b‖∞)."""
    r = A @ x - b
    a_norm = spla.norm(A, np.inf)
    return float(np.abs(r).max() / (a_norm * np.abs(x).max() + np.abs(b).max()))


def column_order(A: sp.csr_matrix, kind: str) -> np.ndarray:
    """A fill-reducing column order computed without the code under test: scipy's reverse
    Cuthill–McKee of A + Aᵀ, or fpscore's minimum degree on the pattern of A + Aᵀ (read from a
    SparseLU of a diagonally dominant matrix with that pattern: only the pattern decides it)."""
    n = A.shape[0]
    if kind == "natural":
        return np.arange(n, dtype=np.int32)
    S = (abs(A) + abs(A).T).tocsr()
    S.data[:] = 1.0
    if kind == "rcm":
        return csgraph.reverse_cuthill_mckee(S, symmetric_mode=True).astype(np.int32)
    assert kind == "minimum_degree"
    D = (S + sp.diags(np.asarray(S.sum(axis=1)).ravel() + 1.0)).tocsr()
    D.sort_indices()
    return np.asarray(fpscore.SparseLU(D, ordering="minimum_degree").perm, dtype=np.int32)


def make_lu(A: sp.csr_matrix, order: np.ndarray, threshold: float = 0.1, pivot_tolerance: float = 0.0):
    return _core._ThresholdPivotingLU(
        A.indptr.astype(np.int64), A.indices.astype(np.int32), order, threshold, pivot_tolerance
    )


def check_against_superlu(A: sp.spmatrix, ordering: str, threshold: float = 0.1, seed: int = 0) -> None:
    """Backward error within 10× of SuperLU's (or below 1e-15) and comparable fill. SuperLU factors
    Qᵀ A Q in natural column order with the same diagonal threshold, so both prefer the same
    pivots and allow the same growth; at threshold 1 (partial pivoting) also against splu's
    defaults (COLAMD)."""
    A = sp.csr_matrix(A, dtype=np.float64)
    A.sort_indices()
    n = A.shape[0]
    b = np.random.default_rng(seed).standard_normal(n)
    q = column_order(A, ordering)
    lu = make_lu(A, q, threshold)
    lu.factor(A.data)
    x = lu.solve(b)
    ours = backward_error(A, x, b)

    same = spla.splu(A[q][:, q].tocsc(), permc_spec="NATURAL", diag_pivot_thresh=threshold)
    x_same = np.empty(n)
    x_same[q] = same.solve(b[q])
    superlu = backward_error(A, x_same, b)
    assert ours <= max(10.0 * superlu, 1e-15), f"backward error {ours:.3g} vs SuperLU's {superlu:.3g}"
    assert lu.nnz <= 1.5 * (same.L.nnz + same.U.nnz - n), (
        f"fill {lu.nnz} vs SuperLU's {same.L.nnz + same.U.nnz - n}"
    )
    if threshold == 1.0:
        default = backward_error(A, spla.splu(A.tocsc()).solve(b), b)
        assert ours <= max(10.0 * default, 1e-15), (
            f"backward error {ours:.3g} vs splu default's {default:.3g}"
        )


# --------------------------------------------------------------------------------------------------
# Test matrices (scipy and numpy only)
# --------------------------------------------------------------------------------------------------


def random_shifted(n: int, per_row: float, seed: int) -> sp.csr_matrix:
    """scipy.sparse.random + 0.1·I: positive entries, far from diagonally dominant."""
    R = sp.random(n, n, density=per_row / n, random_state=seed, format="csr")
    return (R + 0.1 * sp.eye(n)).tocsr()


def zero_diagonal(n: int, seed: int) -> sp.csr_matrix:
    """Random values off the diagonal plus an n-cycle permutation matrix (which keeps it
    nonsingular); the diagonal is empty, with stored zeros on its even entries."""
    rng = np.random.default_rng(seed)
    R = sp.random(n, n, density=3.0 / n, random_state=seed, format="coo")
    cycle = rng.permutation(n)
    rows = np.r_[R.row, cycle, np.arange(0, n, 2)]
    cols = np.r_[R.col, np.roll(cycle, 1), np.arange(0, n, 2)]
    vals = np.r_[R.data * rng.choice([-1.0, 1.0], R.nnz), rng.choice([-2.0, 2.0], n), np.zeros((n + 1) // 2)]
    keep = (rows != cols) | (vals == 0.0)
    return sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, n))


def saddle_point(m: int, p: int, seed: int) -> sp.csr_matrix:
    """[[H, Bᵀ], [B, 0]] with H the 1-D Laplacian (SPD) and B of full row rank; the zero block is
    stored, so its diagonal pivots are exactly 0."""
    rng = np.random.default_rng(seed)
    H = sp.diags([-1.0, 2.5, -1.0], [-1, 0, 1], shape=(m, m))
    B = sp.random(p, m, density=3.0 / m, random_state=seed) + sp.eye(p, m)
    B.data = rng.uniform(0.5, 1.5, B.nnz) * np.sign(B.data)
    Z = sp.csr_matrix((np.zeros(p), (np.arange(p), np.arange(p))), shape=(p, p))
    return sp.bmat([[H, B.T], [B, Z]], format="csr")


def badly_scaled_rows(n: int, seed: int) -> sp.csr_matrix:
    """A random nonsymmetric matrix with its rows scaled over 16 orders of magnitude."""
    rng = np.random.default_rng(seed)
    A = random_shifted(n, 4.0, seed)
    return (sp.diags(10.0 ** rng.uniform(-8.0, 8.0, n)) @ A).tocsr()


# --------------------------------------------------------------------------------------------------
# Against SuperLU
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("threshold", [0.1, 1.0])
@pytest.mark.parametrize(("n", "per_row", "seed"), [(40, 3.0, 1), (400, 3.0, 2), (1000, 2.5, 3)])
def test_random_nonsymmetric(n: int, per_row: float, seed: int, threshold: float, ordering: str) -> None:
    check_against_superlu(random_shifted(n, per_row, seed), ordering, threshold, seed)


@pytest.mark.parametrize("ordering", ("rcm", "minimum_degree"))
def test_random_nonsymmetric_3000(ordering: str) -> None:
    check_against_superlu(random_shifted(3000, 2.0, 4), ordering, seed=4)


@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("threshold", [0.001, 0.1, 1.0])
@pytest.mark.parametrize(
    "make",
    [lambda: zero_diagonal(300, 5), lambda: saddle_point(200, 80, 6), lambda: badly_scaled_rows(300, 7)],
    ids=["zero_diagonal", "saddle_point", "badly_scaled_rows"],
)
def test_structurally_hard(make, threshold: float, ordering: str) -> None:
    check_against_superlu(make(), ordering, threshold)


def test_zero_diagonal_needs_off_diagonal_pivots() -> None:
    A = zero_diagonal(300, 5)
    assert np.count_nonzero(A.diagonal()) == 0
    lu = make_lu(A, column_order(A, "natural"))
    lu.factor(A.data)
    assert lu.off_diagonal_pivots > 0


@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("name", ["poisson", "anisotropic_diffusion", "linear_elasticity"])
def test_pyamg_gallery(name: str, ordering: str) -> None:
    gallery = pytest.importorskip("pyamg.gallery")
    if name == "poisson":
        A = gallery.poisson((40, 40), format="csr")
    elif name == "anisotropic_diffusion":
        stencil = gallery.diffusion_stencil_2d(epsilon=0.001, theta=np.pi / 6, type="FD")
        A = gallery.stencil_grid(stencil, (40, 40), format="csr")
    else:
        A, _ = gallery.linear_elasticity((20, 20))
    check_against_superlu(A, ordering)


# --------------------------------------------------------------------------------------------------
# Counts, several right-hand sides, refactorisation, threads
# --------------------------------------------------------------------------------------------------


def test_tridiagonal_factors_without_fill() -> None:
    """Diagonally dominant tridiagonal, natural order: L has n − 1 entries, U 2n − 1, no pivoting."""
    n = 50
    A = sp.diags([-1.0, 3.0, -1.5], [-1, 0, 1], shape=(n, n), format="csr")
    lu = make_lu(A, column_order(A, "natural"))
    lu.factor(A.data)
    assert lu.nnz == 3 * n - 2
    assert lu.off_diagonal_pivots == 0


def test_several_right_hand_sides() -> None:
    A = zero_diagonal(200, 8)
    B = np.random.default_rng(8).standard_normal((200, 4))
    lu = make_lu(A, column_order(A, "minimum_degree"))
    lu.factor(A.data)
    X = lu.solve(B)
    assert X.shape == B.shape
    np.testing.assert_allclose(X, spla.splu(A.tocsc()).solve(B), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lu.solve(B[:, 2]), X[:, 2], rtol=1e-14, atol=0)


def test_refactor_with_new_values() -> None:
    A = zero_diagonal(250, 9)
    lu = make_lu(A, column_order(A, "rcm"))
    b = np.ones(250)
    for scale in (1.0, -3.0):
        A2 = A.copy()
        A2.data = A.data * scale + np.random.default_rng(int(scale + 5)).uniform(-0.1, 0.1, A.nnz)
        lu.factor(A2.data)
        np.testing.assert_allclose(lu.solve(b), spla.spsolve(A2.tocsc(), b), rtol=1e-9)


def test_threads_share_one_factorisation() -> None:
    A = badly_scaled_rows(400, 10)
    lu = make_lu(A, column_order(A, "minimum_degree"))
    lu.factor(A.data)
    rng = np.random.default_rng(10)
    rhs = [rng.standard_normal(400) for _ in range(8)]
    expected = [lu.solve(b) for b in rhs]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lu.solve, rhs))
    for x, y in zip(got, expected, strict=True):
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------------------------------
# Singular matrices and bad input
# --------------------------------------------------------------------------------------------------


def test_singular_matrices_raise_and_the_object_recovers() -> None:
    A = zero_diagonal(100, 11)
    lu = make_lu(A, column_order(A, "natural"))
    S = A.tolil()
    S[42, :] = 0.0  # a zero row (entries stored as zeros would do too; these are removed)
    S = S.tocsr()
    with pytest.raises(fpscore.SingularMatrixError, match="column"):
        make_lu(S, column_order(S, "natural")).factor(S.data)
    zeros = A.copy()
    zeros.data[A.indptr[42] : A.indptr[43]] = 0.0  # same zero row, on A's pattern
    with pytest.raises(fpscore.SingularMatrixError):
        lu.factor(zeros.data)
    assert not lu.factored
    with pytest.raises(ValueError, match="factor"):
        lu.solve(np.ones(100))
    lu.factor(A.data)
    b = np.arange(100.0)
    np.testing.assert_allclose(lu.solve(b), spla.spsolve(A.tocsc(), b), rtol=1e-9)


def test_rank_deficient_product_is_singular_with_a_tolerance() -> None:
    rng = np.random.default_rng(12)
    A = sp.csr_matrix(rng.standard_normal((30, 12)) @ rng.standard_normal((12, 30)))
    with pytest.raises(fpscore.SingularMatrixError):
        make_lu(A, column_order(A, "natural"), pivot_tolerance=1e-10).factor(A.data)


def test_bad_input_is_a_value_error() -> None:
    A = zero_diagonal(20, 13)
    indptr, indices = A.indptr.astype(np.int64), A.indices.astype(np.int32)
    order = np.arange(20, dtype=np.int32)
    for bad_order in (
        order[:-1],
        np.r_[order[:-1], 0].astype(np.int32),
        np.r_[order[:-1], 20].astype(np.int32),
    ):
        with pytest.raises(ValueError, match="column order"):
            _core._ThresholdPivotingLU(indptr, indices, bad_order)
    for threshold in (0.0, 1.5, np.nan):
        with pytest.raises(ValueError, match="threshold"):
            _core._ThresholdPivotingLU(indptr, indices, order, threshold)
    with pytest.raises(ValueError, match="tolerance"):
        _core._ThresholdPivotingLU(indptr, indices, order, 0.1, -1.0)
    lu = _core._ThresholdPivotingLU(indptr, indices, order)
    with pytest.raises(ValueError):
        lu.factor(A.data[:-1])
    with pytest.raises(ValueError):
        lu.factor(np.where(np.arange(A.nnz) == 3, np.inf, A.data))
    lu.factor(A.data)
    with pytest.raises(ValueError, match="shape"):
        lu.solve(np.ones(19))
