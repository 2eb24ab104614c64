"""BatchedLU: many matrices with one pattern, against scipy and the single-matrix SparseLU."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

import fpscore


def _fp_batch(shape, bc, scheme, batch, seed):
    """`batch` FP matrices of one grid (same pattern, different values) and right-hand sides."""
    rng = np.random.default_rng(seed)
    mats, rhs = [], []
    for _ in range(batch):
        m_prev, m_lag = rng.normal(size=shape), rng.normal(size=shape)
        ghosts = rng.normal(size=(shape[0] + 2, shape[1] + 2)) if bc == "dirichlet" else None
        A, b = fpscore.fp_system(
            m_prev, m_lag, g=rng.uniform(0.5, 2.0), dt=0.05, h=0.7, bc=bc, ghosts=ghosts, scheme=scheme
        )
        A.sort_indices()
        mats.append(A)
        rhs.append(b)
    return mats, np.stack(rhs)


@pytest.mark.parametrize("bc", ["zero", "dirichlet", "neumann", "periodic"])
@pytest.mark.parametrize("scheme", ["central", "upwind"])
@pytest.mark.parametrize("batch", [1, 3, 8, 11])
def test_each_member_matches_spsolve_and_single_lu(bc, scheme, batch):
    mats, b = _fp_batch((9, 14), bc, scheme, batch, seed=batch)
    lu = fpscore.BatchedLU(mats[0], batch)
    lu.factor(np.stack([A.data for A in mats]))
    x = lu.solve(b)
    for k, A in enumerate(mats):
        ref = sla.spsolve(A.tocsc(), b[k])
        assert np.linalg.norm(A @ x[k] - b[k]) <= 1e-10 * (
            sla.norm(A) * np.linalg.norm(x[k]) + np.linalg.norm(b[k])
        )
        np.testing.assert_allclose(x[k], ref, rtol=1e-10, atol=1e-12)
        single = fpscore.SparseLU(A).solve(b[k])
        np.testing.assert_allclose(x[k], single, rtol=1e-12, atol=1e-14 * np.abs(single).max())


def test_unstructured_pattern():
    rng = np.random.default_rng(3)
    n, batch = 300, 6
    pattern = sp.random(n, n, density=0.01, random_state=4, format="csr") + sp.eye(n, format="csr")
    pattern.sum_duplicates()
    mats = []
    for _ in range(batch):
        A = pattern.copy()
        A.data = rng.uniform(-1, 1, size=A.nnz)
        A = A + sp.diags(np.asarray(abs(A).sum(axis=1)).ravel() + 1.0)
        A = sp.csr_matrix(A)
        A.sum_duplicates()
        mats.append(A)
    assert all(np.array_equal(A.indices, mats[0].indices) for A in mats)
    lu = fpscore.BatchedLU(mats[0], batch, ordering="minimum_degree")
    lu.factor(np.stack([A.data for A in mats]))
    b = rng.normal(size=(batch, n))
    x = lu.solve(b)
    for k, A in enumerate(mats):
        np.testing.assert_allclose(x[k], sla.spsolve(A.tocsc(), b[k]), rtol=1e-10, atol=1e-12)


def test_threads_give_identical_results():
    mats, b = _fp_batch((12, 10), "zero", "central", 13, seed=7)
    data = np.stack([A.data for A in mats])
    results = []
    for threads in (1, 2):
        lu = fpscore.BatchedLU(mats[0], len(mats), threads=threads)
        lu.factor(data)
        results.append(lu.solve(b))
    np.testing.assert_array_equal(results[0], results[1])


def test_singular_member_is_named():
    mats, _ = _fp_batch((5, 6), "zero", "central", 6, seed=1)
    data = np.stack([A.data for A in mats])
    A = mats[0]
    row = 7
    data[4, A.indptr[row] : A.indptr[row + 1]] = 0.0  # an all-zero row
    lu = fpscore.BatchedLU(A, 6)
    with pytest.raises(fpscore.SingularMatrixError, match="batch member 4"):
        lu.factor(data)
    with pytest.raises(ValueError, match="before a successful factor"):
        lu.solve(np.zeros((6, A.shape[0])))


def test_shapes_are_checked():
    mats, _ = _fp_batch((4, 5), "zero", "central", 2, seed=0)
    lu = fpscore.BatchedLU(mats[0], 2)
    with pytest.raises(ValueError, match=r"\(batch, nnz\)"):
        lu.factor(np.ones((3, mats[0].nnz)))
    lu.factor(np.stack([A.data for A in mats]))
    with pytest.raises(ValueError, match=r"\(batch, n\)"):
        lu.solve(np.ones((2, 7)))
    with pytest.raises(ValueError, match="batch"):
        fpscore.BatchedLU(mats[0], 0)


@pytest.mark.parametrize("bc", ["zero", "periodic"])
@pytest.mark.parametrize("batch", [3, 9])
def test_large_grids_use_dense_fronts_and_match_spsolve(bc, batch):
    """From 128² on, the factorisation merges supernodes into dense fronts (multifrontal);
    batch 9 takes the wide pack's kernels and a narrow pack's."""
    mats, b = _fp_batch((130, 128), bc, "central", batch, seed=11)
    lu = fpscore.BatchedLU(mats[0], batch)
    data = np.stack([A.data for A in mats])
    lu.factor(data)
    x = lu.solve(b)
    np.testing.assert_array_equal(lu.factor_solve(data, b), x)
    for k, A in enumerate(mats):
        ref = sla.spsolve(A.tocsc(), b[k])
        np.testing.assert_allclose(x[k], ref, rtol=1e-10, atol=1e-12)
        single = fpscore.SparseLU(A)
        assert single.nnz >= single.nnz_structural  # explicit zeros of merged supernodes
        np.testing.assert_allclose(x[k], single.solve(b[k]), rtol=1e-12, atol=1e-14 * np.abs(ref).max())


def test_dense_front_path_reports_singular_member():
    mats, _ = _fp_batch((130, 128), "zero", "central", 2, seed=2)
    data = np.stack([A.data for A in mats])
    A = mats[0]
    row = 5000
    data[1, A.indptr[row] : A.indptr[row + 1]] = 0.0
    lu = fpscore.BatchedLU(A, 2)
    with pytest.raises(fpscore.SingularMatrixError, match="batch member 1"):
        lu.factor(data)
    bad = A.copy()
    bad.data = data[1].copy()
    with pytest.raises(fpscore.SingularMatrixError, match=f"row {row}"):
        fpscore.SparseLU(bad)


@pytest.mark.parametrize(("batch", "narrow"), [(1, True), (4, True), (5, False), (12, False)])
def test_small_batches_use_narrow_packs(batch, narrow):
    mats, _ = _fp_batch((6, 7), "zero", "central", batch, seed=3)
    widest = fpscore.BatchedLU(mats[0], 8).lanes  # 8 with AVX-512, else 4
    assert widest in (4, 8)
    assert fpscore.BatchedLU(mats[0], batch).lanes == (4 if narrow else widest)


@pytest.mark.parametrize("batch", [3, 13])
def test_factor_solve_equals_factor_then_solve(batch):
    mats, b = _fp_batch((11, 9), "periodic", "central", batch, seed=5)
    data = np.stack([A.data for A in mats])
    lu = fpscore.BatchedLU(mats[0], batch, threads=2)
    fused = lu.factor_solve(data, b)
    lu.factor(data)
    np.testing.assert_array_equal(fused, lu.solve(b))
    for k, A in enumerate(mats):
        np.testing.assert_allclose(fused[k], sla.spsolve(A.tocsc(), b[k]), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"\(batch, n\)"):
        lu.factor_solve(data, b[:1])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("member", [0, 6, 10])
def test_non_finite_values_are_refused_naming_the_member(bad, member):
    mats, b = _fp_batch((7, 6), "zero", "central", 11, seed=4)
    data = np.stack([A.data for A in mats])
    good = data[member, 5]
    data[member, 5] = bad
    lu = fpscore.BatchedLU(mats[0], 11)
    for call in (lambda: lu.factor(data), lambda: lu.factor_solve(data, b)):
        with pytest.raises(ValueError, match=rf"batch member {member}: .*1 NaN or inf"):
            call()
    data[member, 5] = good  # the object is usable again
    x = lu.factor_solve(data, b)
    for k, A in enumerate(mats):
        np.testing.assert_allclose(x[k], sla.spsolve(A.tocsc(), b[k]), rtol=1e-10, atol=1e-12)


def test_factor_solve_on_a_factor_beyond_the_caches():
    """At 64² a pack of eight factors is 11 MiB: factor_solve then streams the rows' L parts to
    memory (AVX-512); the answers still equal factor + solve bit for bit."""
    mats, b = _fp_batch((64, 64), "zero", "central", 8, seed=9)
    data = np.stack([A.data for A in mats])
    lu = fpscore.BatchedLU(mats[0], 8)
    fused = lu.factor_solve(data, b)
    lu.factor(data)
    np.testing.assert_array_equal(fused, lu.solve(b))
    for k, A in enumerate(mats):
        np.testing.assert_allclose(fused[k], sla.spsolve(A.tocsc(), b[k]), rtol=1e-10, atol=1e-12)
