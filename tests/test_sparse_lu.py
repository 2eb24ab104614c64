"""fpscore.SparseLU against independent references (scipy.sparse.linalg.spsolve, numpy.linalg)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import fpscore

ORDERINGS = ("auto", "natural", "minimum_degree", "nested_dissection", "rcm")
BOUNDARIES = ("zero", "dirichlet", "neumann", "periodic")
SCHEMES = ("central", "upwind")
RESIDUAL_TOL = 1e-10


def relative_residual(A: sp.spmatrix, x: np.ndarray, b: np.ndarray) -> float:
    """‖Ax − b‖ / (‖A‖‖x‖ + ‖b‖), Frobenius norms (columnwise-stacked for several right-hand sides)."""
    A = sp.csr_matrix(A, dtype=np.float64)
    r = A @ x - b
    return float(np.linalg.norm(r) / (spla.norm(A) * np.linalg.norm(x) + np.linalg.norm(b)))


def dominant_random(n: int, density: float, rng: np.random.Generator) -> sp.csr_matrix:
    """A random sparse matrix with a strictly dominant diagonal and an unstructured pattern."""
    R = sp.random(n, n, density=density, random_state=rng, format="csr")
    R.data = rng.uniform(-1.0, 1.0, R.nnz)
    R.setdiag(0.0)
    R.eliminate_zeros()
    rowsum = np.asarray(abs(R).sum(axis=1)).ravel()
    return (R + sp.diags(rowsum + 1.0 + rng.uniform(0.0, 1.0, n))).tocsr()


def structurally_unsymmetric(A: sp.spmatrix) -> bool:
    P = sp.csr_matrix(A, copy=True)
    P.data[:] = 1.0
    return (P != P.T).nnz > 0


def laplacian_5pt(H: int, W: int) -> sp.csr_matrix:
    """The 5-point Laplacian (Dirichlet) on a row-major H×W grid, built with scipy alone."""
    Tx = sp.diags([-1.0, 4.0, -1.0], [-1, 0, 1], shape=(W, W))
    Ey = sp.diags([-1.0, -1.0], [-1, 1], shape=(H, H))
    return (sp.kron(sp.eye(H), Tx) + sp.kron(Ey, sp.eye(W))).tocsr()


# --------------------------------------------------------------------------------------------------
# Fokker–Planck matrices, every boundary × scheme × ordering, non-square grid
# --------------------------------------------------------------------------------------------------

FP_SHAPE = (12, 17)
ORDERING_CASES = [(o, None) for o in ORDERINGS] + [("nested_dissection", FP_SHAPE), ("auto", FP_SHAPE)]


def fp_case(bc: str, scheme: str, seed: int) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    H, W = FP_SHAPE
    m_prev = rng.standard_normal((H, W))
    m_lag = m_prev + 0.3 * rng.standard_normal((H, W))
    drift = rng.standard_normal((2, H, W))
    ghosts = rng.standard_normal((H + 2, W + 2)) if bc == "dirichlet" else None
    return fpscore.fp_system(m_prev, m_lag, g=1.3, dt=0.05, h=0.5, bc=bc, ghosts=ghosts, scheme=scheme,
                             drift=drift)


@pytest.mark.parametrize(("ordering", "grid"), ORDERING_CASES)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("bc", BOUNDARIES)
def test_fp_matrix_matches_spsolve(bc: str, scheme: str, ordering: str, grid: tuple[int, int] | None) -> None:
    seed = 100 + 10 * BOUNDARIES.index(bc) + SCHEMES.index(scheme)
    A, b = fp_case(bc, scheme, seed)
    n = FP_SHAPE[0] * FP_SHAPE[1]
    assert A.shape == (n, n)
    lu = fpscore.SparseLU(A, ordering=ordering, grid=grid)
    assert lu.shape == (n, n)
    assert np.array_equal(np.sort(lu.perm), np.arange(n)), "perm is not a permutation of 0..n-1"
    x = lu.solve(b)
    assert x.shape == (n,)
    res = relative_residual(A, x, b)
    assert res <= RESIDUAL_TOL, f"{bc}/{scheme}/{ordering}/grid={grid}: relative residual {res:.3e}"
    x_ref = spla.spsolve(A.tocsc(), b)
    err = np.linalg.norm(x - x_ref) / np.linalg.norm(x_ref)
    assert err <= 1e-10, f"{bc}/{scheme}/{ordering}: relative difference to spsolve {err:.3e}"


@pytest.mark.parametrize("bc", BOUNDARIES)
def test_fp_matrix_several_rhs(bc: str) -> None:
    A, b = fp_case(bc, "central", 7)
    rng = np.random.default_rng(8)
    B = np.column_stack([b, rng.standard_normal((b.size, 4))])
    X = fpscore.SparseLU(A).solve(B)
    assert X.shape == B.shape
    X_ref = spla.spsolve(A.tocsc(), B)
    assert relative_residual(A, X, B) <= RESIDUAL_TOL
    np.testing.assert_allclose(X, X_ref, rtol=1e-10, atol=1e-12 * np.abs(X_ref).max())


# --------------------------------------------------------------------------------------------------
# General sparse matrices
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize(("n", "density"), [(1, 1.0), (2, 0.5), (3, 0.4), (10, 0.3), (57, 0.08), (500, 0.01)])
def test_random_unsymmetric(n: int, density: float, ordering: str) -> None:
    rng = np.random.default_rng(1000 + n)
    if n == 2:
        A = sp.csr_matrix(np.array([[3.0, -1.5], [0.0, 2.0]]))
    else:
        A = dominant_random(n, density, rng)
    if n >= 2:
        assert structurally_unsymmetric(A), "test matrix should have an unsymmetric pattern"
    lu = fpscore.SparseLU(A, ordering=ordering)
    assert lu.nnz >= A.nnz, f"L+U holds {lu.nnz} entries, fewer than A's {A.nnz}"
    assert np.array_equal(np.sort(lu.perm), np.arange(n))
    b = rng.standard_normal(n)
    x = lu.solve(b)
    assert relative_residual(A, x, b) <= RESIDUAL_TOL
    np.testing.assert_allclose(x, np.linalg.solve(A.toarray(), b), rtol=1e-10, atol=1e-13)
    B = rng.standard_normal((n, 3))
    X = lu.solve(B)
    assert X.shape == (n, 3)
    assert relative_residual(A, X, B) <= RESIDUAL_TOL
    # each column of a multi-RHS solve is the single-RHS solution
    for k in range(3):
        np.testing.assert_allclose(X[:, k], lu.solve(B[:, k]), rtol=1e-13, atol=1e-15)


def test_single_column_and_zero_columns() -> None:
    rng = np.random.default_rng(3)
    A = dominant_random(40, 0.1, rng)
    lu = fpscore.SparseLU(A)
    b = rng.standard_normal((40, 1))
    x = lu.solve(b)
    assert x.shape == (40, 1)
    assert relative_residual(A, x, b) <= RESIDUAL_TOL
    assert lu.solve(np.zeros((40, 0))).shape == (40, 0)


def test_non_contiguous_and_fortran_rhs() -> None:
    rng = np.random.default_rng(4)
    A = dominant_random(60, 0.08, rng)
    lu = fpscore.SparseLU(A, ordering="minimum_degree")
    B = np.asfortranarray(rng.standard_normal((60, 5)))
    assert relative_residual(A, lu.solve(B), B) <= RESIDUAL_TOL
    strided = rng.standard_normal((60, 10))[:, ::2]
    assert relative_residual(A, lu.solve(strided), strided) <= RESIDUAL_TOL
    strided1 = rng.standard_normal(120)[::2]
    assert relative_residual(A, lu.solve(strided1), strided1) <= RESIDUAL_TOL


def _formats(A: sp.csr_matrix) -> dict[str, object]:
    return {
        "csr_matrix": A,
        "csc_matrix": A.tocsc(),
        "coo_matrix": A.tocoo(),
        "lil_matrix": A.tolil(),
        "dok_matrix": A.todok(),
        "bsr_matrix": A.tobsr(),
        "csr_array": sp.csr_array(A),
        "csc_array": sp.csc_array(A),
        "coo_array": sp.coo_array(A),
    }


@pytest.mark.parametrize("fmt", list(_formats(sp.eye(2, format="csr"))))
def test_input_formats(fmt: str) -> None:
    rng = np.random.default_rng(5)
    A = dominant_random(80, 0.05, rng)
    M = _formats(A)[fmt]
    b = rng.standard_normal(80)
    x = fpscore.SparseLU(M).solve(b)
    assert relative_residual(A, x, b) <= RESIDUAL_TOL
    np.testing.assert_allclose(x, spla.spsolve(A.tocsc(), b), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32])
def test_integer_and_single_precision_input(dtype: type) -> None:
    dense = np.array([[10, -2, 0, 1], [3, 9, -1, 0], [0, 4, 12, -3], [-1, 0, 2, 7]])
    A = sp.csr_matrix(dense.astype(dtype))
    assert A.dtype == dtype
    b = np.array([1, -2, 3, 4])  # integer right-hand side too
    x = fpscore.SparseLU(A).solve(b)
    assert x.dtype == np.float64
    np.testing.assert_allclose(x, np.linalg.solve(dense.astype(np.float64), b.astype(np.float64)),
                               rtol=1e-12)


def test_unsorted_indices_and_duplicates() -> None:
    # Row 0: (0, 4.0), (2, 1.0) given unsorted and with the diagonal split in two duplicates.
    # Row 1: (1, 5.0) as three duplicates, (0, -1.0).
    # Row 2: (2, 6.0), (1, 2.0), (1, -0.5) (duplicate off-diagonal).
    indptr = np.array([0, 3, 7, 10])
    indices = np.array([2, 0, 0, 1, 0, 1, 1, 1, 2, 1])
    data = np.array([1.0, 3.0, 1.0, 2.0, -1.0, 2.0, 1.0, -0.5, 6.0, 2.0])
    A = sp.csr_matrix((data, indices, indptr), shape=(3, 3))
    assert not A.has_canonical_format
    dense = np.zeros((3, 3))
    for i in range(3):
        for p in range(indptr[i], indptr[i + 1]):
            dense[i, indices[p]] += data[p]
    np.testing.assert_array_equal(dense, [[4.0, 0.0, 1.0], [-1.0, 5.0, 0.0], [0.0, 1.5, 6.0]])
    data_before, indices_before = A.data.copy(), A.indices.copy()
    b = np.array([1.0, 2.0, 3.0])
    for ordering in ORDERINGS:
        x = fpscore.SparseLU(A, ordering=ordering).solve(b)
        np.testing.assert_allclose(x, np.linalg.solve(dense, b), rtol=1e-13)
        assert relative_residual(sp.csr_matrix(dense), x, b) <= RESIDUAL_TOL
    # the caller's matrix is left as it was
    np.testing.assert_array_equal(A.data, data_before)
    np.testing.assert_array_equal(A.indices, indices_before)


def test_unsorted_duplicates_large() -> None:
    rng = np.random.default_rng(6)
    A = dominant_random(300, 0.02, rng)
    coo = A.tocoo()
    # split every entry into two duplicates, shuffle the order of entries inside each row
    half = rng.uniform(0.2, 0.8, coo.nnz)
    rows = np.concatenate([coo.row, coo.row])
    cols = np.concatenate([coo.col, coo.col])
    vals = np.concatenate([coo.data * half, coo.data * (1 - half)])
    order = np.lexsort((rng.random(rows.size), rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=300))])
    M = sp.csr_matrix((vals, cols, indptr), shape=(300, 300))
    assert not M.has_canonical_format
    b = rng.standard_normal(300)
    for ordering in ORDERINGS:
        x = fpscore.SparseLU(M, ordering=ordering).solve(b)
        assert relative_residual(A, x, b) <= RESIDUAL_TOL, ordering


def test_explicit_zeros_in_pattern() -> None:
    A = sp.csr_matrix((np.array([2.0, 0.0, 0.0, 3.0]), np.array([0, 1, 0, 1]), np.array([0, 2, 4])),
                      shape=(2, 2))
    assert A.nnz == 4
    x = fpscore.SparseLU(A).solve(np.array([4.0, 9.0]))
    np.testing.assert_allclose(x, [2.0, 3.0], rtol=1e-15)


# --------------------------------------------------------------------------------------------------
# refactor
# --------------------------------------------------------------------------------------------------

def test_refactor_same_pattern_matrix_and_data() -> None:
    rng = np.random.default_rng(11)
    A1 = dominant_random(200, 0.03, rng)
    A2 = A1.copy()
    A2.data = A2.data * rng.uniform(0.5, 1.5, A2.nnz)
    A2 = A2 + sp.diags(np.asarray(abs(A2).sum(axis=1)).ravel())  # keep it dominant, same pattern
    A2 = A2.tocsr()
    A2.sort_indices()
    assert np.array_equal(A2.indptr, A1.indptr) and np.array_equal(A2.indices, A1.indices)
    b = rng.standard_normal(200)
    x1_ref = spla.spsolve(A1.tocsc(), b)
    x2_ref = spla.spsolve(A2.tocsc(), b)
    assert np.linalg.norm(x1_ref - x2_ref) > 1e-3 * np.linalg.norm(x2_ref)

    for ordering in ORDERINGS:
        lu = fpscore.SparseLU(A1, ordering=ordering)
        np.testing.assert_allclose(lu.solve(b), x1_ref, rtol=1e-10, atol=1e-14)
        perm = lu.perm.copy()
        lu.refactor(A2)
        np.testing.assert_allclose(lu.solve(b), x2_ref, rtol=1e-10, atol=1e-14)
        assert relative_residual(A2, lu.solve(b), b) <= RESIDUAL_TOL
        np.testing.assert_array_equal(lu.perm, perm)
        lu.refactor(A1.data)
        np.testing.assert_allclose(lu.solve(b), x1_ref, rtol=1e-10, atol=1e-14)
        lu.refactor(A2.tocoo())  # same pattern in another format
        np.testing.assert_allclose(lu.solve(b), x2_ref, rtol=1e-10, atol=1e-14)


def test_refactor_data_of_canonical_form() -> None:
    """The data array refers to the canonical CSR (sorted, duplicates summed) even if A was not canonical."""
    indptr = np.array([0, 3, 5, 7])
    indices = np.array([2, 0, 0, 1, 0, 2, 1])
    data = np.array([1.0, 2.0, 2.0, 5.0, 1.0, 6.0, 1.0])
    A = sp.csr_matrix((data, indices, indptr), shape=(3, 3))
    lu = fpscore.SparseLU(A)
    # canonical pattern: row0 (0, 2), row1 (0, 1), row2 (1, 2)
    new_dense = np.array([[7.0, 0.0, -1.0], [2.0, 8.0, 0.0], [0.0, 3.0, 9.0]])
    canon = sp.csr_matrix(new_dense)
    lu.refactor(canon.data)
    b = np.array([1.0, -1.0, 2.0])
    np.testing.assert_allclose(lu.solve(b), np.linalg.solve(new_dense, b), rtol=1e-13)
    lu.refactor(2.0 * canon.data)
    np.testing.assert_allclose(lu.solve(b), np.linalg.solve(2.0 * new_dense, b), rtol=1e-13)
    lu.refactor([7.0, -1.0, 2.0, 8.0, 3.0, 9.0])  # a list is accepted too
    np.testing.assert_allclose(lu.solve(b), np.linalg.solve(new_dense, b), rtol=1e-13)


def test_refactor_fp_matrix_new_iterate() -> None:
    """Refactor with the matrix of another fixed-point iterate (same pattern, new advection)."""
    A1, _ = fp_case("neumann", "upwind", 21)
    A2, b2 = fp_case("neumann", "upwind", 22)
    lu = fpscore.SparseLU(A1)
    lu.refactor(A2)
    np.testing.assert_allclose(lu.solve(b2), spla.spsolve(A2.tocsc(), b2), rtol=1e-10)


def test_refactor_rejects_other_pattern() -> None:
    A = laplacian_5pt(5, 6)
    lu = fpscore.SparseLU(A)
    B = A.tolil()
    B[0, 7] = -0.5
    with pytest.raises(ValueError, match="pattern"):
        lu.refactor(B.tocsr())
    C = A.copy()
    C.data[C.indices == 0] = 0.0
    C.eliminate_zeros()
    with pytest.raises(ValueError, match="pattern"):
        lu.refactor(C)
    with pytest.raises(ValueError, match="pattern"):
        lu.refactor(laplacian_5pt(6, 6))
    # still usable with the original values
    b = np.ones(30)
    lu.refactor(A)
    assert relative_residual(A, lu.solve(b), b) <= RESIDUAL_TOL


def test_refactor_rejects_wrong_data_length() -> None:
    A = laplacian_5pt(4, 4)
    lu = fpscore.SparseLU(A)
    with pytest.raises(ValueError, match=rf"\({A.nnz},\).*\({A.nnz - 1},\)"):
        lu.refactor(A.data[:-1])
    with pytest.raises(ValueError, match=rf"\({A.nnz},\)"):
        lu.refactor(np.concatenate([A.data, [1.0]]))
    with pytest.raises(ValueError, match=rf"\({A.nnz},\)"):
        lu.refactor(A.data.reshape(-1, 1))


def test_refactor_nan_rejected() -> None:
    A = laplacian_5pt(4, 4)
    lu = fpscore.SparseLU(A)
    bad = A.data.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        lu.refactor(bad)
    bad[3] = np.inf
    with pytest.raises(ValueError, match="inf"):
        lu.refactor(bad)
    M = A.copy()
    M.data[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        lu.refactor(M)
    b = np.arange(16.0)
    np.testing.assert_allclose(lu.solve(b), np.linalg.solve(A.toarray(), b), rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# Singular matrices
# --------------------------------------------------------------------------------------------------

def test_singular_matrix_error_is_runtime_error() -> None:
    assert issubclass(fpscore.SingularMatrixError, RuntimeError)


@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("dense", [
    [[1.0, 1.0], [1.0, 1.0]],                               # exactly singular
    [[2.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 3.0]],     # a zero row
    [[0.0, 1.0], [1.0, 0.0]],                               # zero diagonal (static pivoting cannot)
    [[4.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 0.0, 0.0]],     # last row zero
], ids=["rank1", "zero-row", "zero-diagonal", "last-row-zero"])
def test_singular_raises(dense: list[list[float]], ordering: str) -> None:
    """Diagonal pivoting's own test of its pivots (the other paths: test_sparse_lu_robust.py)."""
    A = sp.csr_matrix(np.array(dense))
    with pytest.raises(fpscore.SingularMatrixError, match="pivot"):
        fpscore.SparseLU(A, ordering=ordering, pivoting="diagonal")


def test_structurally_missing_diagonal() -> None:
    A = sp.csr_matrix((np.array([1.0, 1.0]), np.array([1, 0]), np.array([0, 1, 2])), shape=(2, 2))
    with pytest.raises(fpscore.SingularMatrixError):
        fpscore.SparseLU(A, pivoting="diagonal")
    np.testing.assert_array_equal(fpscore.SparseLU(A).solve([1.0, 2.0]), [2.0, 1.0])


def test_tiny_pivot_against_tolerance() -> None:
    # upper triangular: no elimination growth, only the pivot-to-row ratio 1e-14 matters
    dense = np.array([[1e-14, 1.0], [0.0, 1.0]])
    A = sp.csr_matrix(dense)
    with pytest.raises(fpscore.SingularMatrixError):
        fpscore.SparseLU(A, pivoting="diagonal")
    x = fpscore.SparseLU(A, pivoting="diagonal", pivot_tolerance=1e-15).solve(np.array([1.0, 2.0]))
    np.testing.assert_allclose(x, np.linalg.solve(dense, [1.0, 2.0]), rtol=1e-12)


def test_failed_refactor_leaves_no_stale_factors() -> None:
    A = sp.csr_matrix(np.array([[2.0, 1.0], [1.0, 3.0]]))
    lu = fpscore.SparseLU(A)
    b = np.array([1.0, 1.0])
    np.testing.assert_allclose(lu.solve(b), [0.4, 0.2], rtol=1e-14)
    with pytest.raises(fpscore.SingularMatrixError):
        lu.refactor(np.array([1.0, 1.0, 1.0, 1.0]))
    with pytest.raises((RuntimeError, ValueError)):
        lu.solve(b)
    lu.refactor(np.array([4.0, 1.0, 1.0, 2.0]))
    np.testing.assert_allclose(lu.solve(b), np.linalg.solve([[4.0, 1.0], [1.0, 2.0]], b), rtol=1e-14)


def test_singular_fp_like_matrix() -> None:
    """A grid matrix whose row sums vanish (pure Neumann Laplacian without the 1/Δt term) is singular."""
    A, _ = fpscore.fp_system(np.zeros((6, 7)), np.zeros((6, 7)), g=1.0, dt=0.1, bc="neumann")
    A = A.tolil()
    A.setdiag(A.diagonal() - 10.0)  # remove 1/dt: the Neumann Laplacian, constant null vector
    A = A.tocsr()
    np.testing.assert_allclose(A @ np.ones(42), 0.0, atol=1e-12)
    with pytest.raises(fpscore.SingularMatrixError):
        fpscore.SparseLU(A)


# --------------------------------------------------------------------------------------------------
# Fill and the orderings
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("grid", [None, (64, 64)])
def test_nested_dissection_fill_on_grid(grid: tuple[int, int] | None) -> None:
    A = laplacian_5pt(64, 64)
    natural = fpscore.SparseLU(A, ordering="natural")
    nd = fpscore.SparseLU(A, ordering="nested_dissection", grid=grid)
    auto = fpscore.SparseLU(A, ordering="auto", grid=grid)
    msg = f"nnz(L+U): natural {natural.nnz}, nested dissection {nd.nnz}, auto {auto.nnz}"
    assert nd.nnz < natural.nnz / 2, msg
    assert auto.nnz < natural.nnz / 2, msg
    assert nd.factor_flops < natural.factor_flops / 2, (
        f"flops: natural {natural.factor_flops:.3g}, nested dissection {nd.factor_flops:.3g}")
    # In natural order the grid matrix fills its envelope completely: row i of L spans from its first
    # stored column to i − 1 (W entries once i >= W, one entry in the first grid row), U mirrors L.
    n, W = 64 * 64, 64
    envelope = sum(i - A.indices[A.indptr[i]] for i in range(n))
    assert envelope == (n - W) * W + (W - 1)
    assert natural.nnz_structural == n + 2 * envelope, msg
    assert natural.nnz >= natural.nnz_structural  # stored: plus zeros of merged supernodes
    b = np.random.default_rng(12).standard_normal(n)
    x_ref = spla.spsolve(A.tocsc(), b)
    for lu in (natural, nd, auto):
        x = lu.solve(b)
        assert relative_residual(A, x, b) <= RESIDUAL_TOL
        assert np.linalg.norm(x - x_ref) <= 1e-10 * np.linalg.norm(x_ref)


def test_minimum_degree_and_rcm_fill_on_grid() -> None:
    A = laplacian_5pt(40, 40)
    nnz = {o: fpscore.SparseLU(A, ordering=o).nnz for o in ("natural", "minimum_degree", "rcm")}
    assert nnz["minimum_degree"] < nnz["natural"] / 2, nnz
    assert nnz["rcm"] <= nnz["natural"], nnz


def test_identity_has_no_fill() -> None:
    lu = fpscore.SparseLU(sp.eye(50, format="csr") * 3.0)
    assert lu.nnz == 50
    np.testing.assert_allclose(lu.solve(np.full(50, 6.0)), 2.0)


def test_natural_ordering_is_identity_permutation() -> None:
    lu = fpscore.SparseLU(laplacian_5pt(5, 5), ordering="natural")
    np.testing.assert_array_equal(lu.perm, np.arange(25))
    assert lu.ordering == "natural"


# --------------------------------------------------------------------------------------------------
# solve() leaves its input alone
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(30,), (30, 4)])
def test_solve_returns_new_array(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(13)
    A = dominant_random(30, 0.1, rng)
    lu = fpscore.SparseLU(A)
    b = rng.standard_normal(shape)
    b_copy = b.copy()
    x = lu.solve(b)
    assert x is not b
    assert not np.shares_memory(x, b)
    np.testing.assert_array_equal(b, b_copy)
    assert x.shape == b.shape and x.dtype == np.float64
    assert x.flags.writeable
    x[...] = 0.0  # writing into the result does not disturb the factors
    np.testing.assert_array_equal(b, b_copy)
    again = lu.solve(b)
    assert relative_residual(A, again, b) <= RESIDUAL_TOL


def test_repr_and_properties() -> None:
    A = laplacian_5pt(6, 6)
    lu = fpscore.SparseLU(A, ordering="rcm")
    assert lu.shape == (36, 36)
    assert lu.ordering == "rcm"
    assert isinstance(lu.nnz, int) and lu.nnz >= A.nnz
    assert lu.factor_flops > 0
    assert "36" in repr(lu)


@pytest.mark.parametrize("bad_row", range(7))
def test_failed_factorisation_leaves_a_clean_workspace(bad_row):
    """A zero pivot in any row (rows are eliminated in pairs) is reported, and the next
    factorisation of a good matrix on the same object is exact."""
    n = 7
    A = sp.diags([np.full(n - 1, -1.0), np.full(n, 4.0), np.full(n - 1, -1.5)], [-1, 0, 1]).tocsr()
    A.sort_indices()
    broken = A.data.copy()
    broken[A.indptr[bad_row] : A.indptr[bad_row + 1]] = 0.0
    b = np.arange(1.0, n + 1.0)
    lu = fpscore.SparseLU(A, ordering="natural")
    with pytest.raises(fpscore.SingularMatrixError):
        lu.refactor(broken)
    lu.refactor(A.data)
    np.testing.assert_allclose(lu.solve(b), np.linalg.solve(A.toarray(), b), rtol=1e-13)
    batched = fpscore.BatchedLU(A, 3, ordering="natural")
    with pytest.raises(fpscore.SingularMatrixError, match="batch member 1"):
        batched.factor(np.stack([A.data, broken, A.data]))
    x = batched.factor_solve(np.stack([A.data] * 3), np.stack([b] * 3))
    np.testing.assert_allclose(x, np.stack([np.linalg.solve(A.toarray(), b)] * 3), rtol=1e-13)
