"""One SparseLU or BatchedLU object shared by several Python threads, and what a failed
factorisation leaves behind.

The compiled calls release the GIL, so without a lock of their own two threads could run
refactor and solve on one object at once. Each thread refactors with its own scaled copy
of A (s·A, whose solution is x/s) and solves: every answer must be x/s for one of the
scales in play, and no call may fail.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from grid_matrices import grid_matrix

import fpscore

THREADS = 4
ROUNDS = 150  # refactor + solve pairs per thread
SCALES = (1.0, 2.0, 4.0, 8.0)  # one per thread
JOIN_TIMEOUT_S = 300.0


def run_threads(work: Callable[[int], None], count: int = THREADS) -> None:
    """Runs work(t) on `count` threads started together; re-raises the first failure.
    A thread still running after JOIN_TIMEOUT_S fails the test (a deadlock)."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def body(t: int) -> None:
        try:
            start.wait(timeout=60)
            work(t)
        except BaseException as e:  # reported on the main thread
            errors.append(e)

    threads = [threading.Thread(target=body, args=(t,), daemon=True) for t in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=JOIN_TIMEOUT_S)
    assert not any(th.is_alive() for th in threads), "a thread did not finish: deadlock?"
    if errors:
        raise errors[0]


def closest_scale(x: np.ndarray, x_ref: np.ndarray) -> float:
    """The relative error of x against the nearest of x_ref / s over SCALES."""
    return min(float(np.abs(x - x_ref / s).max() / np.abs(x_ref / s).max()) for s in SCALES)


@pytest.mark.parametrize("threads", [1, 2])
def test_one_sparse_lu_refactored_and_solved_by_many_threads(threads: int) -> None:
    A = grid_matrix(64, 64, seed=7)
    b = np.random.default_rng(3).standard_normal(A.shape[0])
    x_ref = spla.spsolve(A.tocsc(), b)
    lu = fpscore.SparseLU(A, threads=threads)
    worst = np.zeros(THREADS)

    def work(t: int) -> None:
        data = SCALES[t] * A.data
        for _ in range(ROUNDS):
            lu.refactor(data)
            worst[t] = max(worst[t], closest_scale(lu.solve(b), x_ref))

    run_threads(work)
    assert worst.max() < 1e-10, worst
    lu.refactor(A.data)  # the object is still in order
    assert np.abs(lu.solve(b) - x_ref).max() < 1e-10 * np.abs(x_ref).max()


def test_one_sparse_lu_solved_with_many_right_hand_sides_by_many_threads() -> None:
    A = grid_matrix(48, 40, seed=11)
    B = np.random.default_rng(5).standard_normal((A.shape[0], 3))
    X_ref = spla.spsolve(A.tocsc(), B)
    lu = fpscore.SparseLU(A, threads=2)
    worst = np.zeros(THREADS)

    def work(t: int) -> None:
        for k in range(ROUNDS):
            if k % 2 == t % 2:
                lu.refactor(SCALES[t] * A.data)
            worst[t] = max(worst[t], closest_scale(lu.solve(B), X_ref))

    run_threads(work)
    assert worst.max() < 1e-10, worst


@pytest.mark.parametrize("threads", [1, 2])
def test_one_batched_lu_shared_by_many_threads(threads: int) -> None:
    batch = 5
    mats = [grid_matrix(24, 24, seed=20 + k) for k in range(batch)]
    rhs = np.random.default_rng(9).standard_normal((batch, mats[0].shape[0]))
    ref = np.stack([spla.spsolve(A.tocsc(), r) for A, r in zip(mats, rhs, strict=True)])
    data = np.stack([A.data for A in mats])
    lu = fpscore.BatchedLU(mats[0], batch, threads=threads)
    worst = np.zeros(THREADS)

    def error(x: np.ndarray) -> float:
        return min(float(np.abs(x - ref / s).max() / np.abs(ref / s).max()) for s in SCALES)

    def work(t: int) -> None:
        scaled = SCALES[t] * data
        for k in range(ROUNDS):
            if k % 3 == 0:
                x = lu.factor_solve(scaled, rhs)
                worst[t] = max(worst[t], float(np.abs(x - ref / SCALES[t]).max() / np.abs(ref).max()))
            else:
                if k % 3 == 1:
                    lu.factor(scaled)
                worst[t] = max(worst[t], error(lu.solve(rhs)))

    run_threads(work)
    assert worst.max() < 1e-10, worst


def test_threads_sharing_one_lu_see_each_others_failures_only_as_errors() -> None:
    """Threads refactoring a good and a singular matrix on one object: a solve returns a
    right answer or raises 'solve called before a successful factor', never a wrong one."""
    A = grid_matrix(40, 40, seed=2)
    singular = A.copy()
    singular.data[singular.indptr[100]:singular.indptr[101]] = 0.0  # row 100 is zero
    b = np.ones(A.shape[0])
    x_ref = spla.spsolve(A.tocsc(), b)
    lu = fpscore.SparseLU(A, threads=2)
    solved = np.zeros(THREADS, dtype=int)

    def work(t: int) -> None:
        for k in range(ROUNDS):
            if t == 0 and k % 4 == 0:
                with pytest.raises(fpscore.SingularMatrixError):
                    lu.refactor(singular.data)
                continue
            if k % 2 == 0:
                try:
                    lu.refactor(A.data)
                except fpscore.SingularMatrixError as e:  # pragma: no cover - a wrong failure
                    raise AssertionError(f"a good matrix failed to factorise: {e}") from e
            try:
                x = lu.solve(b)
            except ValueError as e:
                assert "before a successful factor" in str(e)
                continue
            assert np.abs(x - x_ref).max() < 1e-10 * np.abs(x_ref).max()
            solved[t] += 1

    run_threads(work)
    assert solved.sum() > 0


# A failed factorisation leaves the object usable ------------------------------------------


def set_entry(A: sp.csr_matrix, data: np.ndarray, i: int, j: int, value: float) -> None:
    """data[(i, j)] = value for a stored entry (i, j) of A."""
    row = A.indices[A.indptr[i]:A.indptr[i + 1]]
    data[A.indptr[i] + int(np.flatnonzero(row == j)[0])] = value


def poisoned(A: sp.csr_matrix, perm: np.ndarray, how: str, where: float) -> np.ndarray:
    """A's values made singular, or overflowing during elimination, near elimination step
    where·n (early: the first half of a two-thread split, late: the second, 1.0: the
    separator).

    "overflow": row j eliminated before its neighbours i and c (i before c) gets
    a_jc = 1e200 and a_ji = 0, row i gets a_ij = 1e200: eliminating j from row i gives
    u_ic ≈ -1e400 = -inf while u_ii stays finite, so row i passes its pivot test with an
    infinite entry in U, which then poisons every later row that meets column i, up to a
    non-finite pivot.
    """
    data = A.data.copy()
    n = A.shape[0]
    step = np.empty(n, dtype=int)
    step[perm] = np.arange(n)
    k = min(int(where * n), n - 1)
    if how == "singular":
        i = int(perm[k])
        data[A.indptr[i]:A.indptr[i + 1]] = 0.0
        return data
    for j in perm[k::-1]:  # from step k back: a row with two neighbours eliminated after it
        later = sorted((int(c) for c in A.indices[A.indptr[j]:A.indptr[j + 1]] if step[c] > step[j]),
                       key=lambda c: step[c])
        if len(later) >= 2:
            i, c = later[0], later[-1]
            set_entry(A, data, j, i, 0.0)
            set_entry(A, data, j, c, 1e200)
            set_entry(A, data, i, j, 1e200)
            return data
    raise AssertionError("no row with two later neighbours")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("where", [0.2, 0.45, 0.7, 0.95, 1.0])
@pytest.mark.parametrize("how", ["singular", "overflow"])
def test_failed_factorisation_leaves_the_object_usable(how: str, where: float, threads: int) -> None:
    A = grid_matrix(48, 48, seed=4)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    x_ref = spla.spsolve(A.tocsc(), b)
    # diagonal pivoting's clean-up after a failure (the other paths would solve the overflow case)
    lu = fpscore.SparseLU(A, threads=threads, pivoting="diagonal")
    assert lu.threads == threads
    for _ in range(3):
        with pytest.raises(fpscore.SingularMatrixError):
            lu.refactor(poisoned(A, lu.perm, how, where))
        with pytest.raises(ValueError, match="before a successful factor"):
            lu.solve(b)
        lu.refactor(A.data)
        x = lu.solve(b)
        assert np.isfinite(x).all()
        assert np.abs(x - x_ref).max() < 1e-10 * np.abs(x_ref).max()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("entry", [(481, 480), (97, 96), (720, 784)])
def test_non_finite_values_rejected_by_the_core(bad: float, entry: tuple[int, int], threads: int) -> None:
    """The compiled SparseLU checks its values itself (the Python class checks them too).
    Unchecked, a NaN at these entries of this matrix, factorised on two threads, left NaN in
    the work rows, and every later factorisation of a good matrix failed."""
    A = grid_matrix(17, 64, seed=81)
    b = np.ones(A.shape[0])
    x_ref = spla.spsolve(A.tocsc(), b)
    lu = fpscore.SparseLU(A, threads=threads)
    assert lu.threads == threads
    data = A.data.copy()
    set_entry(A, data, *entry, bad)
    with pytest.raises(ValueError, match="NaN or inf"):
        lu._lu.refactor(data)
    assert np.abs(lu.solve(b) - x_ref).max() < 1e-10 * np.abs(x_ref).max()  # the factors were kept
    lu.refactor(A.data)
    assert np.abs(lu.solve(b) - x_ref).max() < 1e-10 * np.abs(x_ref).max()


# fork while another thread uses the analysis cache ----------------------------------------

FORKS = 60
CHILD_TIMEOUT_S = 60.0


def tiny_solve(size: int) -> None:
    m0 = -0.1 * np.arange(size * (size + 1), dtype=float).reshape(size, size + 1) / size
    fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), n_steps=1, T=0.01, threads=1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # forking with threads is the point
def test_fork_while_another_thread_uses_the_analysis_cache() -> None:
    """solve_log_density keeps recent symbolic analyses in a cache behind a mutex. A child
    forked while another thread held that mutex would wait for it forever; the cache's
    mutex is taken around fork and released on both sides, so every child solves and exits.
    (The C++ test test_threads checks the mutex deterministically; here a thread cycles
    through more grid sizes than the cache keeps while the main thread forks.)"""
    stop = threading.Event()
    calls = [0]

    def hammer() -> None:
        k = 0
        while not stop.is_set():
            tiny_solve(3 + k % 12)
            calls[0] += 1
            k += 1

    worker = threading.Thread(target=hammer, daemon=True)
    worker.start()
    try:
        for fork in range(FORKS):
            pid = os.fork()
            if pid == 0:  # the child: one solve with a cached and one with a new grid, then out
                try:
                    tiny_solve(3 + fork % 12)
                    tiny_solve(20)
                    os._exit(0)
                except BaseException:
                    os._exit(3)
            deadline = time.monotonic() + CHILD_TIMEOUT_S
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    raise AssertionError(f"fork {fork}: the child hung (a mutex inherited locked?)")
                time.sleep(0.002)
            assert os.waitstatus_to_exitcode(status) == 0, f"fork {fork}: child exit {status}"
    finally:
        stop.set()
        worker.join(timeout=JOIN_TIMEOUT_S)
    assert not worker.is_alive()
    assert calls[0] > 0
