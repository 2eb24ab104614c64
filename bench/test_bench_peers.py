"""fpscore's SparseLU side by side with the strong sparse direct solvers, everything on one thread.

Group peers_{matrix}, one per matrix:
- fp_{size}: the FP system of `bench/conftest.py` (VE σ = 2 at t = 0.5, Δt = 1/20, zero BC, central
  scheme) at size² unknowns, size = 32 … 512; the second matrix is a later Picard iterate;
- the general matrices of `bench/gallery_matrices.py` (pyamg's gallery and a convection–diffusion),
  the second matrix with values perturbed on the same pattern.
Rows:
- fpscore_scratch: SparseLU(A, threads=1).solve(b); fpscore_refactor: refactor(A'.data) + solve(b');
- superlu_scratch: scipy.sparse.linalg.spsolve(A, b) (COLAMD + SuperLU);
- pardiso_scratch: MKL PARDISO phase 13 on a new handle; pardiso_refactor: phase 23 (numeric +
  solve) of A' after one analysis (phase 11) of A (`bench/peer_pardiso.py`);
- umfpack_scratch: symbolic + numeric + solve; umfpack_refactor: numeric + solve of A' after one
  symbolic analysis of A (`bench/peer_umfpack.py`, the system's libumfpack through ctypes).
Each solver's answer is checked (‖Ax − b‖∞/‖b‖∞ <= 1e-10) before it is timed, and the timed
call's answer again after. A peer that misses it fails the run. fpscore's SparseLU pivots on the
diagonal only, so on a general matrix its residual is recorded in extra_info (accurate: False
when over the tolerance) and the report marks the row instead of failing; on the FP matrices it
must pass. PARDISO and UMFPACK are optional (`pip install .[bench]`, Debian's libumfpack5) and
skip with the reason when missing; so do the gallery matrices without pyamg.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from gallery_matrices import GALLERY, gallery_pair
from scipy.sparse.linalg import spsolve

import fpscore

FP_SIZES = (32, 64, 128, 256, 512)
RESIDUAL_TOL = 1e-10

MATRIX_IDS = [f"fp_{s}" for s in FP_SIZES] + list(GALLERY)
MATRICES = [pytest.param(m, id=m, marks=pytest.mark.benchmark(group=f"peers_{m}")) for m in MATRIX_IDS]


def _relative_residual(A, x, b) -> float:
    return float(np.max(np.abs(A @ x - b)) / np.max(np.abs(b)))


def _optional(module: str, reason: str):
    """The module, or a skip naming the reason and the import error (a missing package, or one
    whose native library is missing: both are ImportErrors)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        pytest.skip(f"{reason} ({error})")


@pytest.fixture(scope="session")
def peer_systems(fp_matrices):
    """matrix id -> [(A, b), (A', b')] on one pattern (cached)."""
    cache: dict[str, list[tuple[sp.csr_matrix, np.ndarray]]] = {}

    def get(matrix: str):
        if matrix not in cache:
            if matrix.startswith("fp_"):
                cache[matrix] = fp_matrices(int(matrix.removeprefix("fp_")))
            else:
                _optional("pyamg", "pyamg not available: pip install .[bench]")
                cache[matrix] = gallery_pair(matrix)
        return cache[matrix]

    return get


def _pardiso():
    return _optional("peer_pardiso", "MKL PARDISO not available: pip install .[bench] (pypardiso)")


def _umfpack():
    module = _optional("peer_umfpack", "UMFPACK not available: apt-get install libumfpack5 (Debian)")
    module.pin_blas_one_thread()
    return module


def _run(benchmark, matrix: str, A, b, solve, *, strict: bool = True, **info) -> None:
    """Check solve()'s answer, time it, check the timed answer; record n, nnz(A) and the residual."""
    residual = _relative_residual(A, solve(), b)
    accurate = residual <= RESIDUAL_TOL
    benchmark.extra_info.update(
        matrix=matrix, n=int(A.shape[0]), nnz_A=int(A.nnz), residual=residual, accurate=accurate, **info
    )
    if strict:
        assert accurate, f"{matrix}: relative residual {residual:.2e} > {RESIDUAL_TOL:g}"
    x = benchmark(solve)
    if accurate:
        assert _relative_residual(A, x, b) <= RESIDUAL_TOL


@pytest.mark.parametrize("matrix", MATRICES)
def test_fpscore_scratch(benchmark, peer_systems, matrix):
    A, b = peer_systems(matrix)[0]
    _run(benchmark, matrix, A, b, lambda: fpscore.SparseLU(A, threads=1).solve(b),
         strict=matrix.startswith("fp_"))


@pytest.mark.parametrize("matrix", MATRICES)
def test_fpscore_refactor(benchmark, peer_systems, matrix):
    (A0, _), (A, b) = peer_systems(matrix)
    lu = fpscore.SparseLU(A0, threads=1)  # the pattern analysed once, outside the timing
    assert A.has_canonical_format
    data = A.data

    def refactor_solve():
        lu.refactor(data)
        return lu.solve(b)

    _run(benchmark, matrix, A, b, refactor_solve, strict=matrix.startswith("fp_"))


@pytest.mark.parametrize("matrix", MATRICES)
def test_superlu_scratch(benchmark, peer_systems, matrix):
    A, b = peer_systems(matrix)[0]
    _run(benchmark, matrix, A, b, lambda: spsolve(A, b))


@pytest.mark.parametrize("matrix", MATRICES)
def test_pardiso_scratch(benchmark, peer_systems, matrix):
    pardiso = _pardiso()
    A, b = peer_systems(matrix)[0]
    _run(benchmark, matrix, A, b, lambda: pardiso.pardiso_solve(A, b), mkl_threads=pardiso.max_threads())


@pytest.mark.parametrize("matrix", MATRICES)
def test_pardiso_refactor(benchmark, peer_systems, matrix):
    pardiso = _pardiso()
    (A0, _), (A, b) = peer_systems(matrix)
    lu = pardiso.PardisoLU(A0)  # phase 11 once, outside the timing
    data = A.data
    try:
        _run(benchmark, matrix, A, b, lambda: lu.factor_solve(data, b), mkl_threads=pardiso.max_threads())
    finally:
        lu.close()


@pytest.mark.parametrize("matrix", MATRICES)
def test_umfpack_scratch(benchmark, peer_systems, matrix):
    umfpack = _umfpack()
    A, b = peer_systems(matrix)[0]
    csc = A.tocsc()  # UMFPACK's own format, converted outside the timing
    csc.sort_indices()
    Ap, Ai, Ax = csc.indptr.astype(np.int64), csc.indices.astype(np.int64), csc.data
    _run(benchmark, matrix, A, b, lambda: umfpack.umfpack_solve(Ap, Ai, Ax, b), blas=umfpack.blas_library())


@pytest.mark.parametrize("matrix", MATRICES)
def test_umfpack_refactor(benchmark, peer_systems, matrix):
    umfpack = _umfpack()
    (A0, _), (A, b) = peer_systems(matrix)
    lu = umfpack.UmfpackLU(A0)  # symbolic analysis once, outside the timing
    Ax = lu.csc_values(A.data)
    try:
        _run(benchmark, matrix, A, b, lambda: lu.factor_solve(Ax, b), blas=umfpack.blas_library())
    finally:
        lu.close()
