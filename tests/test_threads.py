"""Python threads calling into the compiled core at the same time get exactly the answers of serial calls."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import fpscore

WORKERS = 4


def gaussian_bump(
    shape: tuple[int, int], width: float, rng: np.random.Generator, noise: float = 0.05
) -> np.ndarray:
    H, W = shape
    i, j = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    ci, cj = rng.uniform(0.3, 0.7) * H, rng.uniform(0.3, 0.7) * W
    return -((i - ci) ** 2 + (j - cj) ** 2) / (2.0 * width**2) + noise * rng.standard_normal(shape)


def solver_tasks() -> list[dict[str, Any]]:
    rng = np.random.default_rng(2024)
    tasks: list[dict[str, Any]] = []
    configs = [
        ((20, 24), (), fpscore.VESDE(2.0), {"bc": "zero", "scheme": "upwind"}),
        ((17, 13), (3,), fpscore.ConstantSDE(0.8), {"bc": "neumann", "scheme": "central"}),
        ((16, 16), (2,), fpscore.VPSDE(0.1, 5.0), {"bc": "periodic", "scheme": "upwind"}),
        ((12, 19), (), fpscore.VESDE(3.0), {"bc": "zero", "scheme": "upwind", "iteration": "policy"}),
        ((21, 15), (2, 2), fpscore.ConstantSDE(1.0), {"bc": "neumann", "scheme": "upwind"}),
        ((14, 14), (), fpscore.VPSDE(0.5, 8.0), {"bc": "zero", "scheme": "central"}),
        ((18, 22), (2,), fpscore.VESDE(2.0), {"bc": "periodic", "scheme": "central"}),
        ((15, 11), (), fpscore.ConstantSDE(0.5), {"bc": "dirichlet", "scheme": "upwind"}),
    ]
    for shape, batch, sde, kw in configs:
        fields = [gaussian_bump(shape, 4.0, rng) for _ in range(int(np.prod(batch)))]
        m0 = np.stack(fields).reshape(*batch, *shape)
        kwargs = dict(kw)
        if kw["bc"] == "dirichlet":
            ring = rng.standard_normal((shape[0] + 2, shape[1] + 2)) * 0.1 - 2.0
            kwargs["bc_values"] = lambda t, ring=ring: ring * (1.0 + t)
        tasks.append({"m0": m0, "sde": sde, "n_steps": 12, "T": 0.5, **kwargs})
    return tasks


def run_solver(task: dict[str, Any]) -> fpscore.FPSolution:
    return fpscore.solve_log_density(**task)


def assert_same_solution(a: fpscore.FPSolution, b: fpscore.FPSolution, label: str) -> None:
    assert np.array_equal(a.times, b.times), label
    assert np.array_equal(a.m, b.m), f"{label}: m differs, max |Δ| = {np.max(np.abs(a.m - b.m)):.3e}"
    assert np.array_equal(a.score, b.score), f"{label}: score differs"
    assert np.array_equal(a.iterations, b.iterations), label


def concurrently(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(fn, items))


@pytest.mark.parametrize("threads", [None, 1])
def test_solver_in_threads_equals_serial(threads: int | None) -> None:
    tasks = [{**t, "threads": threads} for t in solver_tasks()]
    serial = [run_solver(t) for t in tasks]
    for s in serial:
        assert np.all(np.isfinite(s.m))
    for round_ in range(2):
        parallel = concurrently(run_solver, tasks)
        for k, (a, b) in enumerate(zip(serial, parallel, strict=True)):
            assert_same_solution(a, b, f"round {round_}, task {k}")


def test_same_input_in_many_threads() -> None:
    task = solver_tasks()[1]
    reference = run_solver(task)
    for result in concurrently(run_solver, [task] * 8):
        assert_same_solution(reference, result, "repeated task")


# --------------------------------------------------------------------------------------------------
# SparseLU
# --------------------------------------------------------------------------------------------------


def lu_cases() -> list[tuple[sp.csr_matrix, np.ndarray, str]]:
    rng = np.random.default_rng(77)
    cases = []
    for k, (bc, scheme) in enumerate(
        [("zero", "central"), ("neumann", "upwind"), ("periodic", "central"), ("dirichlet", "upwind")]
    ):
        H, W = 30 + k, 27 - k
        m_prev = rng.standard_normal((H, W))
        ghosts = rng.standard_normal((H + 2, W + 2)) if bc == "dirichlet" else None
        A, b = fpscore.fp_system(
            m_prev,
            m_prev + 0.1 * rng.standard_normal((H, W)),
            g=1.0,
            dt=0.1,
            bc=bc,
            ghosts=ghosts,
            scheme=scheme,
            drift=rng.standard_normal((2, H, W)),
        )
        cases.append((A, np.column_stack([b, rng.standard_normal((b.size, 2))]), "auto"))
    for n, ordering in [(400, "minimum_degree"), (700, "nested_dissection"), (300, "rcm"), (500, "natural")]:
        R = sp.random(n, n, density=5.0 / n, random_state=rng, format="csr")
        R.data = rng.uniform(-1.0, 1.0, R.nnz)
        A = (R + sp.diags(np.asarray(abs(R).sum(axis=1)).ravel() + 1.0)).tocsr()
        cases.append((A, rng.standard_normal((n, 3)), ordering))
    return cases


def factor_and_solve(case: tuple[sp.csr_matrix, np.ndarray, str]) -> tuple[np.ndarray, int]:
    A, B, ordering = case
    lu = fpscore.SparseLU(A, ordering=ordering)
    X = lu.solve(B)
    lu.refactor(A * 2.0)
    X2 = lu.solve(B)
    return np.concatenate([X, X2], axis=1), lu.nnz


def test_sparse_lu_in_threads_equals_serial() -> None:
    cases = lu_cases()
    serial = [factor_and_solve(c) for c in cases]
    for A, B, _ in cases:
        X = fpscore.SparseLU(A).solve(B)
        r = np.linalg.norm(A @ X - B) / (spla.norm(A) * np.linalg.norm(X) + np.linalg.norm(B))
        assert r <= 1e-10
    for _ in range(2):
        parallel = concurrently(factor_and_solve, cases)
        for k, ((xs, ns), (xp, npar)) in enumerate(zip(serial, parallel, strict=True)):
            assert ns == npar, f"case {k}: nnz {ns} vs {npar}"
            assert np.array_equal(xs, xp), f"case {k}: max |Δ| = {np.max(np.abs(xs - xp)):.3e}"


def test_one_factorisation_shared_by_threads() -> None:
    A, _, _ = lu_cases()[0]
    lu = fpscore.SparseLU(A)
    rng = np.random.default_rng(5)
    rhs = [rng.standard_normal(A.shape[0]) for _ in range(6)]
    rhs += [rng.standard_normal((A.shape[0], 4)) for _ in range(6)]
    serial = [lu.solve(b) for b in rhs]
    for _ in range(3):
        parallel = concurrently(lu.solve, rhs)
        for k, (xs, xp) in enumerate(zip(serial, parallel, strict=True)):
            assert np.array_equal(xs, xp), f"rhs {k}"


def test_solver_and_sparse_lu_mixed() -> None:
    tasks = solver_tasks()[:4]
    cases = lu_cases()[:4]
    serial = [("fp", run_solver(t)) for t in tasks] + [("lu", factor_and_solve(c)) for c in cases]

    def work(item: tuple[str, Any]) -> tuple[str, Any]:
        kind, payload = item
        return (kind, run_solver(payload)) if kind == "fp" else (kind, factor_and_solve(payload))

    parallel = concurrently(work, [("fp", t) for t in tasks] + [("lu", c) for c in cases])
    for k, ((kind, a), (_, b)) in enumerate(zip(serial, parallel, strict=True)):
        if kind == "fp":
            assert_same_solution(a, b, f"solver task {k}")
        else:
            assert np.array_equal(a[0], b[0]), f"LU case {k}"


def test_errors_in_threads_stay_in_their_thread() -> None:
    """Failing calls raise their own exception in their own thread; the others are unaffected."""
    good = solver_tasks()[:3]
    i, j = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    diverging = {
        "m0": 40.0 * np.sin(j) * np.cos(1.3 * i),
        "sde": fpscore.VESDE(5.0),
        "n_steps": 1,
        "T": 1.0,
        "max_iter": 5,
    }
    singular = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0]]))

    def work(item: tuple[str, Any]) -> Any:
        kind, payload = item
        if kind == "fp":
            return run_solver(payload)
        return fpscore.SparseLU(payload).solve(np.ones(payload.shape[0]))

    items = [
        ("fp", good[0]),
        ("fp", diverging),
        ("fp", good[1]),
        ("lu", singular),
        ("fp", good[2]),
        ("fp", diverging),
    ]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(work, it) for it in items]
    expected_serial = [run_solver(t) for t in good]
    assert_same_solution(futures[0].result(), expected_serial[0], "good 0")
    assert_same_solution(futures[2].result(), expected_serial[1], "good 1")
    assert_same_solution(futures[4].result(), expected_serial[2], "good 2")
    assert isinstance(futures[1].exception(), fpscore.ConvergenceError)
    assert isinstance(futures[5].exception(), fpscore.ConvergenceError)
    assert isinstance(futures[3].exception(), fpscore.SingularMatrixError)


def heartbeats_during(call: Callable[[], Any]) -> tuple[Any, int]:
    """(call(), how many times a Python heartbeat thread advanced its counter while call ran)."""
    count = 0
    stop = threading.Event()
    started = threading.Event()

    def heartbeat() -> None:
        nonlocal count
        started.set()
        while not stop.is_set():
            count += 1
            stop.wait(0.0005)

    beat = threading.Thread(target=heartbeat)
    beat.start()
    try:
        started.wait()
        before = count
        result = call()
        during = count - before
    finally:
        stop.set()
        beat.join()
    return result, during


def test_python_runs_while_solver_is_in_compiled_code() -> None:
    """A Python thread keeps executing while another thread is inside solve_log_density.

    The counter is read (under the GIL) just before and just after the call; if the call held the
    GIL throughout, the other thread could not advance it in between except for a stray switch or two.
    """
    rng = np.random.default_rng(9)
    H, W = 48, 40
    m0 = np.stack([gaussian_bump((H, W), 8.0, rng) for _ in range(4)])
    sol, during = heartbeats_during(
        lambda: fpscore.solve_log_density(
            m0, fpscore.VESDE(2.0), n_steps=40, T=1.0, scheme="upwind", threads=1
        )
    )
    assert np.all(np.isfinite(sol.m))
    assert during >= 10, f"the heartbeat thread advanced only {during} times during the solve"


def test_python_runs_while_sparse_lu_factorises() -> None:
    Tx = sp.diags([-1.0, 4.0, -1.0], [-1, 0, 1], shape=(140, 140))
    A = sp.kron(sp.eye(140), Tx) + sp.kron(sp.diags([-1.0, -1.0], [-1, 1], shape=(140, 140)), sp.eye(140))
    A = A.tocsr()
    # banded fill: a long numeric factorisation
    lu, during = heartbeats_during(lambda: fpscore.SparseLU(A, ordering="natural"))
    b = np.ones(A.shape[0])
    x = lu.solve(b)
    assert np.linalg.norm(A @ x - b) <= 1e-10 * (spla.norm(A) * np.linalg.norm(x) + np.linalg.norm(b))
    assert during >= 10, f"the heartbeat thread advanced only {during} times during the factorisation"
