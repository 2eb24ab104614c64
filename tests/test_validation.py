"""Bad inputs at the public boundary: the right exception, with a message that says what was expected
and what arrived."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import fpscore

H, W = 5, 6  # non-square on purpose: shapes in messages are unambiguous
M0 = np.zeros((H, W))
SDE = fpscore.VESDE(2.0)


def run_solver(**overrides: Any) -> fpscore.FPSolution:
    kwargs: dict[str, Any] = {"m0": M0, "sde": SDE, "n_steps": 2, "T": 0.1}
    kwargs.update(overrides)
    return fpscore.solve_log_density(**kwargs)


def all_of(*parts: str) -> str:
    """A regex that matches when every part occurs, in any order."""
    return "".join(f"(?=[\\s\\S]*(?:{p}))" for p in parts)


def test_valid_call_works() -> None:
    sol = run_solver()
    assert sol.m.shape == (3, H, W)


# --------------------------------------------------------------------------------------------------
# solve_log_density
# --------------------------------------------------------------------------------------------------

SOLVER_CASES: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("m0-1d", {"m0": np.zeros(7)}, ValueError, all_of("m0", "2 dimensions", re.escape("(7,)"))),
    ("m0-0d", {"m0": np.float64(1.0)}, ValueError, all_of("m0", "2 dimensions", re.escape("()"))),
    ("H<3", {"m0": np.zeros((2, W))}, ValueError, all_of("m0", ">= 3", re.escape("(2, 6)"))),
    ("W<3", {"m0": np.zeros((H, 2))}, ValueError, all_of("m0", ">= 3", re.escape("(5, 2)"))),
    ("batch-H<3", {"m0": np.zeros((4, 2, 9))}, ValueError, all_of("m0", ">= 3", re.escape("(4, 2, 9)"))),
    ("empty-batch", {"m0": np.zeros((0, H, W))}, ValueError, all_of("m0", "empty", re.escape("(0, 5, 6)"))),
    ("m0-nan", {"m0": np.where(np.eye(H, W) > 0, np.nan, 0.0)}, ValueError, all_of("m0", "NaN")),
    ("m0-inf", {"m0": np.full((H, W), -np.inf)}, ValueError, all_of("m0", "inf")),
    ("m0-complex", {"m0": np.zeros((H, W), complex)}, TypeError, all_of("m0", "real", "complex128")),
    ("m0-str", {"m0": np.full((H, W), "a")}, TypeError, all_of("m0", "real", "dtype <U")),
    ("m0-object", {"m0": np.empty((H, W), object)}, TypeError, all_of("m0", "real", "object")),
    ("h-zero", {"h": 0.0}, ValueError, all_of("h ", "> 0", "got 0.0")),
    ("h-negative", {"h": -0.5}, ValueError, all_of("h ", "> 0", "got -0.5")),
    ("h-nan", {"h": float("nan")}, ValueError, all_of("h ", "finite", "nan")),
    ("h-str", {"h": "1"}, TypeError, all_of("h ", "real number", "str")),
    ("n_steps-zero", {"n_steps": 0}, ValueError, all_of("n_steps", ">= 1", "got 0")),
    ("n_steps-negative", {"n_steps": -3}, ValueError, all_of("n_steps", ">= 1", "got -3")),
    ("n_steps-float", {"n_steps": 2.0}, TypeError, all_of("n_steps", "integer", "float")),
    ("n_steps-bool", {"n_steps": True}, TypeError, all_of("n_steps", "integer", "bool")),
    ("T-zero", {"T": 0.0}, ValueError, all_of("T ", "> 0", "got 0.0")),
    ("T-negative", {"T": -1.0}, ValueError, all_of("T ", "> 0", "got -1.0")),
    ("T-inf", {"T": float("inf")}, ValueError, all_of("T ", "finite", "inf")),
    ("tol-zero", {"tol": 0.0}, ValueError, all_of("tol", "> 0", "got 0.0")),
    ("tol-negative", {"tol": -1e-3}, ValueError, all_of("tol", "> 0", "got -0.001")),
    ("max_iter-zero", {"max_iter": 0}, ValueError, all_of("max_iter", ">= 1", "got 0")),
    ("max_iter-float", {"max_iter": 2.5}, TypeError, all_of("max_iter", "integer", "float")),
    ("bc-unknown", {"bc": "robin"}, ValueError, all_of("bc", "'robin'", "'zero'", "'dirichlet'", "'neumann'",
                                                      "'periodic'")),
    ("bc-not-str", {"bc": 3}, ValueError, all_of("bc", "3", "'zero'")),
    ("scheme-unknown", {"scheme": "weno"}, ValueError, all_of("scheme", "'weno'", "'central'", "'upwind'")),
    ("iteration-unknown", {"iteration": "newton"}, ValueError,
     all_of("iteration", "'newton'", "'picard'", "'policy'")),
    ("backend-unknown", {"backend": "tpu"}, ValueError, all_of("backend", "'tpu'", "'cpu'")),
    ("threads-negative", {"threads": -1}, ValueError, all_of("threads", ">= 0", "-1")),
    ("sde-str", {"sde": "ve"}, TypeError, all_of("sde", "SDE", "str")),
    ("sde-float", {"sde": 2.0}, TypeError, all_of("sde", "SDE", "float")),
    ("sde-class", {"sde": fpscore.VESDE}, TypeError, all_of("sde", "SDE")),
    ("dirichlet-no-values", {"bc": "dirichlet"}, ValueError, all_of("dirichlet", "bc_values", "callable")),
    ("dirichlet-values-not-callable", {"bc": "dirichlet", "bc_values": np.zeros((H + 2, W + 2))}, ValueError,
     all_of("bc_values", "callable")),
    ("dirichlet-wrong-shape", {"bc": "dirichlet", "bc_values": lambda t: np.zeros((H, W))}, ValueError,
     all_of("bc_values", re.escape("(7, 8)"), re.escape("(5, 6)"))),
    ("dirichlet-wrong-batch", {"m0": np.zeros((3, H, W)), "bc": "dirichlet",
                               "bc_values": lambda t: np.zeros((2, H + 2, W + 2))}, ValueError,
     all_of("bc_values", re.escape("(3, 7, 8)"), re.escape("(2, 7, 8)"))),
    ("dirichlet-nan", {"bc": "dirichlet", "bc_values": lambda t: np.full((H + 2, W + 2), np.nan)}, ValueError,
     all_of("bc_values", "NaN")),
    ("dirichlet-nan-later", {"bc": "dirichlet",
                             "bc_values": lambda t: np.full((H + 2, W + 2), np.nan if t > 0 else 0.0)},
     ValueError, all_of("bc_values", "NaN")),
    ("values-with-zero-bc", {"bc_values": lambda t: np.zeros((H + 2, W + 2))}, ValueError,
     all_of("bc_values", "dirichlet", "'zero'")),
    ("values-with-neumann-bc", {"bc": "neumann", "bc_values": lambda t: np.zeros((H + 2, W + 2))}, ValueError,
     all_of("bc_values", "dirichlet", "'neumann'")),
    ("drift-wrong-shape", {"drift": np.zeros((2, H - 1, W))}, ValueError,
     all_of("drift", re.escape("(2, 5, 6)"), re.escape("(2, 4, 6)"))),
    ("drift-2d", {"drift": np.zeros((H, W))}, ValueError, all_of("drift", re.escape("(2, 5, 6)"),
                                                                 re.escape("(5, 6)"))),
    ("drift-levels", {"drift": np.zeros((4, 2, H, W))}, ValueError,
     all_of("drift", "N\\+1 = 3", re.escape("(4, 2, 5, 6)"))),
    ("drift-callable-shape", {"drift": lambda t: np.zeros((2, H, W + 1))}, ValueError,
     all_of("drift", re.escape("(2, 5, 6)"), re.escape("(2, 5, 7)"))),
    ("drift-nan", {"drift": np.full((2, H, W), np.nan)}, ValueError, all_of("drift", "NaN")),
    ("drift-complex", {"drift": np.zeros((2, H, W), complex)}, TypeError, all_of("drift", "real", "complex")),
]


@pytest.mark.parametrize(("overrides", "exc", "pattern"), [c[1:] for c in SOLVER_CASES],
                         ids=[c[0] for c in SOLVER_CASES])
def test_solver_rejects(overrides: dict[str, Any], exc: type[Exception], pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        run_solver(**overrides)


@pytest.mark.skipif(fpscore.has_cuda(), reason="this machine has CUDA")
def test_cuda_backend_without_cuda() -> None:
    with pytest.raises(ValueError, match=all_of("'cuda'", "not available", re.escape("['cpu']"))):
        run_solver(backend="cuda")


def test_threads_not_a_number() -> None:
    with pytest.raises((TypeError, ValueError), match=all_of("threads", "'a'")):
        run_solver(threads="a")


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_sde_with_non_finite_g() -> None:
    with pytest.raises(ValueError, match=all_of("g\\(t\\)", "non-finite")):
        run_solver(sde=fpscore.VESDE(1e10), T=100.0)


# --------------------------------------------------------------------------------------------------
# ConvergenceError
# --------------------------------------------------------------------------------------------------

def test_error_classes() -> None:
    for cls in (fpscore.ConvergenceError, fpscore.SingularMatrixError):
        assert isinstance(cls, type)
        assert issubclass(cls, Exception)
        assert issubclass(cls, RuntimeError)
    assert not issubclass(fpscore.ConvergenceError, fpscore.SingularMatrixError)
    assert not issubclass(fpscore.SingularMatrixError, fpscore.ConvergenceError)


def steep_m0(shape: tuple[int, int] = (16, 16)) -> np.ndarray:
    i, j = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    return 40.0 * np.sin(j) * np.cos(1.3 * i)


def test_convergence_error_message() -> None:
    with pytest.raises(fpscore.ConvergenceError) as info:
        fpscore.solve_log_density(steep_m0(), fpscore.VESDE(5.0), n_steps=1, T=1.0, scheme="central",
                                  max_iter=5)
    msg = str(info.value)
    for needle in ("dt", "g=", "max|v|", "upwind"):
        assert needle in msg, f"{needle!r} missing from ConvergenceError message: {msg}"
    assert "max_iter=5" in msg, msg
    assert "dt=1" in msg, msg
    assert "g=5" in msg, msg


def test_convergence_error_random_steep() -> None:
    m0 = 40.0 * np.random.default_rng(0).standard_normal((16, 16))
    with pytest.raises(fpscore.ConvergenceError, match=all_of("dt", "g=", re.escape("max|v|"), "upwind")):
        fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), n_steps=1, T=1.0, max_iter=5)


def test_convergence_error_in_batch_names_member() -> None:
    m0 = np.stack([np.zeros((16, 16)), steep_m0()])
    with pytest.raises(fpscore.ConvergenceError, match=all_of("batch member 1", "dt", "upwind")):
        fpscore.solve_log_density(m0, fpscore.VESDE(5.0), n_steps=1, T=1.0, max_iter=5)


def test_same_problem_converges_with_upwind_and_more_steps() -> None:
    """The remedy the message suggests does work on that problem."""
    sol = fpscore.solve_log_density(steep_m0(), fpscore.VESDE(5.0), n_steps=400, T=1.0, scheme="upwind",
                                    max_iter=50)
    assert np.all(np.isfinite(sol.m))


# --------------------------------------------------------------------------------------------------
# fp_system
# --------------------------------------------------------------------------------------------------

FP_CASES: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("m_lag-shape", {"m_lag": np.zeros((H, W - 1))}, ValueError,
     all_of("m_lag", re.escape("(5, 6)"), re.escape("(5, 5)"))),
    ("batched", {"m_prev": np.zeros((2, H, W)), "m_lag": np.zeros((2, H, W))}, ValueError,
     all_of("\\(H, W\\)", re.escape("(2, 5, 6)"))),
    ("dirichlet-no-ghosts", {"bc": "dirichlet"}, ValueError, all_of("dirichlet", "ghost")),
    ("ghosts-shape", {"bc": "dirichlet", "ghosts": np.zeros((H, W))}, ValueError,
     all_of("ghosts", re.escape("(7, 8)"), re.escape("(5, 6)"))),
    ("drift-shape", {"drift": np.zeros((2, W, H))}, ValueError,
     all_of("drift", re.escape("(2, 5, 6)"), re.escape("(2, 6, 5)"))),
    ("scheme", {"scheme": "lax"}, ValueError, all_of("scheme", "'lax'", "'central'")),
    ("bc", {"bc": "open"}, ValueError, all_of("bc", "'open'", "'periodic'")),
    ("h", {"h": -1.0}, ValueError, all_of("h ", "> 0", "-1.0")),
    ("dt-zero", {"dt": 0.0}, ValueError, all_of("dt", "> 0", "got 0")),
    ("dt-negative", {"dt": -0.1}, ValueError, all_of("dt", "> 0", "-0.1")),
    ("g-negative", {"g": -1.0}, ValueError, all_of("g ", ">= 0", "-1")),
    ("g-nan", {"g": float("nan")}, ValueError, all_of("g ", "finite", "nan")),
]


@pytest.mark.parametrize(("overrides", "exc", "pattern"), [c[1:] for c in FP_CASES],
                         ids=[c[0] for c in FP_CASES])
def test_fp_system_rejects(overrides: dict[str, Any], exc: type[Exception], pattern: str) -> None:
    kwargs: dict[str, Any] = {"m_prev": M0, "m_lag": M0, "g": 1.0, "dt": 0.1}
    kwargs.update(overrides)
    with pytest.raises(exc, match=pattern):
        fpscore.fp_system(**kwargs)


# --------------------------------------------------------------------------------------------------
# SparseLU
# --------------------------------------------------------------------------------------------------

def good_matrix(n: int = 20) -> sp.csr_matrix:
    return sp.diags([-1.0, 4.0, -1.0], [-1, 0, 1], shape=(n, n), format="csr")


def test_sparse_lu_dense_input() -> None:
    with pytest.raises(TypeError, match=all_of("scipy.sparse", "ndarray")):
        fpscore.SparseLU(np.eye(3))
    with pytest.raises(TypeError, match=all_of("scipy.sparse", "list")):
        fpscore.SparseLU([[1.0, 0.0], [0.0, 1.0]])


def test_sparse_lu_non_square_and_empty() -> None:
    with pytest.raises(ValueError, match=all_of("square", re.escape("(2, 3)"))):
        fpscore.SparseLU(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(ValueError, match=all_of("non-empty", re.escape("(0, 0)"))):
        fpscore.SparseLU(sp.csr_matrix((0, 0)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_sparse_lu_non_finite_entries(bad: float) -> None:
    A = good_matrix().tolil()
    A[3, 4] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        fpscore.SparseLU(A.tocsr())


@pytest.mark.parametrize("dtype", [np.complex128, np.bool_])
def test_sparse_lu_non_real_dtype(dtype: type) -> None:
    A = sp.csr_matrix(np.eye(3).astype(dtype))
    with pytest.raises(TypeError, match=all_of("real", np.dtype(dtype).name)):
        fpscore.SparseLU(A)


def test_sparse_lu_unknown_ordering() -> None:
    with pytest.raises(ValueError, match=all_of("ordering", "'amd'", "'nested_dissection'", "'rcm'")):
        fpscore.SparseLU(good_matrix(), ordering="amd")


@pytest.mark.parametrize("shape", [(3,), (21,), (19, 2), (20, 2, 1), ()])
def test_sparse_lu_b_wrong_shape(shape: tuple[int, ...]) -> None:
    lu = fpscore.SparseLU(good_matrix())
    with pytest.raises(ValueError, match=all_of(re.escape("(20,)"), re.escape("(20, k)"),
                                                re.escape(f"got {shape}"))):
        lu.solve(np.ones(shape))


def test_sparse_lu_b_non_finite_or_complex() -> None:
    lu = fpscore.SparseLU(good_matrix())
    b = np.ones(20)
    b[4] = np.nan
    with pytest.raises(ValueError, match=all_of("b ", "NaN")):
        lu.solve(b)
    with pytest.raises(TypeError, match=all_of("b ", "real", "complex")):
        lu.solve(np.ones(20, complex))


def test_sparse_lu_grid_mismatch() -> None:
    with pytest.raises(ValueError, match=all_of("grid", "20", re.escape("(3, 3)"))):
        fpscore.SparseLU(good_matrix(), ordering="nested_dissection", grid=(3, 3))


@pytest.mark.parametrize("grid", [(-4, -5), (-1, -20)])
def test_sparse_lu_negative_grid_is_a_clean_error(grid: tuple[int, int]) -> None:
    """Run in a child process: a crash there must show up as a failed test, not end the test session."""
    code = textwrap.dedent(f"""
        import scipy.sparse as sp
        import fpscore
        A = sp.diags([-1.0, 4.0, -1.0], [-1, 0, 1], shape=(20, 20), format="csr")
        try:
            fpscore.SparseLU(A, ordering="nested_dissection", grid={grid!r})
        except ValueError as err:
            print("ValueError:", err)
        else:
            print("accepted")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (f"SparseLU(A, grid={grid}) ended the process with return code "
                                  f"{proc.returncode}; stderr: {proc.stderr[-2000:]}")
    assert proc.stdout.startswith("ValueError:"), proc.stdout
    assert "grid" in proc.stdout, proc.stdout


@pytest.mark.parametrize("tol", [-1.0, 1.5, float("nan")])
def test_sparse_lu_bad_pivot_tolerance(tol: float) -> None:
    with pytest.raises(ValueError, match=all_of("pivot", re.escape("[0, 1)"), re.escape(repr(tol)))):
        fpscore.SparseLU(good_matrix(), pivot_tolerance=tol)


# --------------------------------------------------------------------------------------------------
# SDE constructors
# --------------------------------------------------------------------------------------------------

SDE_CASES: list[tuple[str, Any, tuple[Any, ...], type[Exception], str]] = [
    ("ve-zero", fpscore.VESDE, (0.0,), ValueError, all_of("sigma", "> 0", "0.0")),
    ("ve-negative", fpscore.VESDE, (-2.0,), ValueError, all_of("sigma", "> 0", "-2.0")),
    ("ve-nan", fpscore.VESDE, (float("nan"),), ValueError, all_of("sigma", "finite", "nan")),
    ("ve-inf", fpscore.VESDE, (float("inf"),), ValueError, all_of("sigma", "finite", "inf")),
    ("ve-one", fpscore.VESDE, (1.0,), ValueError, all_of("sigma", "!= 1", "ConstantSDE")),
    ("vp-order", fpscore.VPSDE, (1.0, 0.5), ValueError, all_of("beta_max", "beta_min", "0.5", "1")),
    ("vp-min-zero", fpscore.VPSDE, (0.0, 1.0), ValueError, all_of("beta_min", "> 0", "0.0")),
    ("vp-max-negative", fpscore.VPSDE, (0.1, -1.0), ValueError, all_of("beta_max", "> 0", "-1.0")),
    ("vp-max-inf", fpscore.VPSDE, (0.1, float("inf")), ValueError, all_of("beta_max", "finite", "inf")),
    ("const-zero", fpscore.ConstantSDE, (0.0,), ValueError, all_of("g ", "> 0", "0.0")),
    ("const-negative", fpscore.ConstantSDE, (-0.5,), ValueError, all_of("g ", "> 0", "-0.5")),
    ("const-nan", fpscore.ConstantSDE, (float("nan"),), ValueError, all_of("g ", "finite", "nan")),
]


@pytest.mark.parametrize(("cls", "args", "exc", "pattern"), [c[1:] for c in SDE_CASES],
                         ids=[c[0] for c in SDE_CASES])
def test_sde_constructor_rejects(cls: Any, args: tuple[Any, ...], exc: type[Exception], pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        cls(*args)


@pytest.mark.parametrize(("cls", "name"), [(fpscore.VESDE, "sigma"), (fpscore.ConstantSDE, "g")])
def test_sde_constructor_non_number(cls: Any, name: str) -> None:
    with pytest.raises((TypeError, ValueError), match=all_of(rf"\b{name}\b", "'a'|str")):
        cls("a")
