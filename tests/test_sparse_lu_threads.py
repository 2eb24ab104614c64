"""SparseLU on two threads (the two halves of the elimination tree at once) against one thread,
scipy's spsolve and the serial error reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from grid_matrices import grid_matrix

import fpscore


def fp_matrix(size: int) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(size)
    m = rng.standard_normal((size, size))
    A, b = fpscore.fp_system(m, m + 0.1 * rng.standard_normal((size, size)), g=2.0, dt=0.05, h=1.0,
                             bc="zero", scheme="central")
    return sp.csr_matrix(A), b


@pytest.mark.parametrize("shape", [(32, 32), (48, 40), (17, 64), (90, 90)])
def test_two_threads_match_one_and_spsolve(shape: tuple[int, int]) -> None:
    A = grid_matrix(*shape, seed=sum(shape))
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    one = fpscore.SparseLU(A, threads=1)
    two = fpscore.SparseLU(A, threads=2)
    assert one.threads == 1 and two.threads == 2
    x1, x2 = one.solve(b), two.solve(b)
    reference = spla.spsolve(sp.csc_matrix(A), b)
    np.testing.assert_allclose(x2, reference, rtol=1e-10, atol=1e-12 * np.abs(reference).max())
    np.testing.assert_allclose(x2, x1, rtol=1e-12, atol=1e-13 * np.abs(x1).max())


def test_two_threads_refactor_many_fp_iterates() -> None:
    """Repeated refactorisations (the helper thread is reused) give spsolve's answers."""
    A, b = fp_matrix(40)
    lu = fpscore.SparseLU(A, threads=0)
    assert lu.threads == 2 or os.cpu_count() == 1
    rng = np.random.default_rng(3)
    for _ in range(20):
        B = A.copy()
        B.data = B.data * (1.0 + 0.05 * rng.uniform(-1.0, 1.0, B.nnz))
        lu.refactor(B.data)
        x = lu.solve(b)
        reference = spla.spsolve(sp.csc_matrix(B), b)
        np.testing.assert_allclose(x, reference, rtol=1e-10, atol=1e-12 * np.abs(reference).max())


def test_one_thread_where_the_tree_does_not_split() -> None:
    """A tridiagonal matrix's elimination tree is a path: nothing to split."""
    n = 2000
    A = sp.diags([-1.0, 3.0, -1.5], [-1, 0, 1], shape=(n, n), format="csr")
    lu = fpscore.SparseLU(A, ordering="natural", threads=2)
    assert lu.threads == 1
    b = np.ones(n)
    np.testing.assert_allclose(lu.solve(b), spla.spsolve(sp.csc_matrix(A), b), rtol=1e-12)


def _failing_row(A: sp.csr_matrix, threads: int) -> str:
    # diagonal pivoting's report (the other paths have no two-thread split of a failure)
    with pytest.raises(fpscore.SingularMatrixError) as error:
        fpscore.SparseLU(A, threads=threads, pivoting="diagonal")
    return str(error.value)


@pytest.mark.parametrize("where", ["side0", "side1", "separator", "both_sides"])
def test_singular_pivot_reported_as_on_one_thread(where: str) -> None:
    """The first failing elimination step is named, wherever it lies in the split tree."""
    H = W = 32
    A = grid_matrix(H, W, seed=7)
    perm = fpscore.SparseLU(A, threads=1).perm  # perm[step] = row
    n = H * W
    steps = {"side0": [100], "side1": [700], "separator": [n - 10], "both_sides": [900, 200]}[where]
    for step in steps:
        row = perm[step]
        A.data[A.indptr[row]:A.indptr[row + 1]] = 0.0  # a zero row, the pattern kept
    one, two = _failing_row(A, 1), _failing_row(A, 2)
    assert one == two
    assert re.search(rf"elimination step {min(steps)} ", two)
    lu = fpscore.SparseLU(grid_matrix(H, W, seed=7), threads=2)
    with pytest.raises(fpscore.SingularMatrixError):
        lu.refactor(A)
    with pytest.raises((RuntimeError, ValueError)):
        lu.solve(np.ones(n))
    good = grid_matrix(H, W, seed=8)
    lu.refactor(good)  # the work rows were left clean by the failure
    b = np.ones(n)
    np.testing.assert_allclose(lu.solve(b), spla.spsolve(sp.csc_matrix(good), b), rtol=1e-10)


def test_threads_validated() -> None:
    A = grid_matrix(8, 8, seed=0)
    with pytest.raises(ValueError, match="threads"):
        fpscore.SparseLU(A, threads=-1)
    with pytest.raises(TypeError, match="threads"):
        fpscore.SparseLU(A, threads=1.5)  # type: ignore[arg-type]


def test_concurrent_factorisations_share_the_helper() -> None:
    """Several threads factorising at once: the one holding the helper splits, the others run alone."""
    from concurrent.futures import ThreadPoolExecutor

    cases = [grid_matrix(40, 40, seed=s) for s in range(6)]
    b = np.ones(1600)

    def solve(A: sp.csr_matrix) -> float:
        x = fpscore.SparseLU(A, threads=2).solve(b)
        return float(np.abs(A @ x - b).max())

    with ThreadPoolExecutor(max_workers=3) as pool:
        residuals = list(pool.map(solve, cases * 3))
    assert max(residuals) < 1e-12


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_its_own_helper() -> None:
    """A child forked after the helper thread started must not wait on the parent's helper."""
    tests = os.path.dirname(__file__)
    code = f"""
import os, sys, numpy as np, scipy.sparse as sp
sys.path.insert(0, {tests!r})
from test_sparse_lu_threads import grid_matrix
import fpscore
A = grid_matrix(40, 40, seed=1)
fpscore.SparseLU(A, threads=2).solve(np.ones(1600))
pid = os.fork()
if pid == 0:
    x = fpscore.SparseLU(A, threads=2).solve(np.ones(1600))
    os._exit(0 if np.abs(A @ x - 1.0).max() < 1e-12 else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    result = subprocess.run([sys.executable, "-c", code], timeout=60, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_busy_machine_gives_the_same_answers() -> None:
    """With every core busy the helper may not start its half in time: the caller then takes
    it back and runs it itself. Answers must not depend on which thread ran what."""
    burn = [sys.executable, "-c", "while True: pass"]
    burners = [subprocess.Popen(burn) for _ in range(os.cpu_count() or 2)]
    try:
        time.sleep(0.5)  # the burners running
        A = grid_matrix(32, 32, seed=5)
        b = np.random.default_rng(2).standard_normal(A.shape[0])
        reference = spla.spsolve(sp.csc_matrix(A), b)
        tol = 1e-12 * np.abs(reference).max()
        lu = fpscore.SparseLU(A, threads=2)
        for _ in range(500):
            lu.refactor(A)
            np.testing.assert_allclose(lu.solve(b), reference, rtol=1e-10, atol=tol)
    finally:
        for p in burners:
            p.kill()
            p.wait()
