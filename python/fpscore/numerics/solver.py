"""The log-density Fokker–Planck solver (DESIGN §2): Python front end of the C++ core."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .. import _core
from .._validation import (
    choice,
    non_negative_float,
    non_negative_int,
    optional_count,
    positive_float,
    positive_int,
    real_array,
)
from ..sde import SDE
from .backend import resolve_backend
from .grid import divergence

BOUNDARIES = ("zero", "dirichlet", "neumann", "periodic")
SCHEMES = ("central", "upwind")
ITERATIONS = ("picard", "policy")

DriftLike = ArrayLike | Callable[[float], ArrayLike] | None


@dataclass(frozen=True)
class FPSolution:
    """Trajectory of m = log p on the grid.

    times: (N+1,); m: (N+1, ..., H, W); score: (N+1, ..., 2, H, W), the central-difference
    ∇m (component 0 = x = column direction); iterations: (N,), fixed-point iterations per
    step (the most any batch member needed; for iteration="policy", the number of sweeps).
    """

    times: NDArray[np.float64]
    m: NDArray[np.float64]
    score: NDArray[np.float64]
    iterations: NDArray[np.int32]


def simd_level() -> str:
    """The instruction-set level the CPU kernels run at: "baseline", "avx2" or "avx512".

    The CPU's best level, unless the environment variable FPSCORE_SIMD (baseline, avx2,
    avx512 or auto; read once per process) asks for a lower one. Raises ValueError when
    FPSCORE_SIMD names no level or one this CPU lacks (every solver raises it too).
    """
    return str(_core.simd_level())


def simd_levels() -> list[str]:
    """The kernel levels this CPU can run, lowest first (the values FPSCORE_SIMD accepts)."""
    return [str(level) for level in _core.simd_levels()]


def _with_batch_index(error: Exception, batch_shape: tuple[int, ...]) -> Exception:
    """The solver's error with "batch member k" (the flat index) also given as m0's leading
    index, e.g. (image, channel), when m0 has more than one leading dimension."""
    if len(batch_shape) < 2:
        return error

    def index(match: re.Match[str]) -> str:
        k = int(match.group(1))
        at = tuple(int(i) for i in np.unravel_index(k, batch_shape))
        return f"batch member {k} (m0[{', '.join(map(str, at))}] of leading shape {tuple(batch_shape)})"

    return type(error)(re.sub(r"batch member (\d+)", index, str(error), count=1))


def _check_grid_size(name: str, value: object) -> None:
    """Rejects a grid the C++ core cannot index (32-bit node indices) before `value` is
    converted: a broadcast view of a huge field must not be copied first."""
    shape = np.shape(value)
    if len(shape) >= 2 and (shape[-2] + 2) * (shape[-1] + 2) > _core.MAX_GRID_NODES:
        raise ValueError(
            f"{name}: the grid {shape[-2]}x{shape[-1]} is too large: (H+2)*(W+2) nodes with the ghost "
            f"ring must not exceed {_core.MAX_GRID_NODES} (2^31 - 1, 32-bit node indices)"
        )


def _field(m0: object) -> NDArray[np.float64]:
    _check_grid_size("m0", m0)
    m0 = real_array("m0", m0, min_ndim=2)
    if m0.shape[-2] < 3 or m0.shape[-1] < 3:
        raise ValueError(f"m0 must have shape (..., H, W) with H, W >= 3, got {m0.shape}")
    if m0.size == 0:
        raise ValueError(f"m0 is empty (shape {m0.shape})")
    return m0


def _drift_at(
    drift: DriftLike, sde: SDE, t: float, level: int, shape: tuple[int, int], h: float
) -> NDArray[np.float64] | None:
    if drift is None:
        return sde.grid_drift(t, shape, h)
    value = drift(t) if callable(drift) else drift
    value = real_array("drift", value)
    if value.ndim == 4:  # one field per time level
        value = value[level]
    if value.shape != (2, *shape):
        raise ValueError(
            f"drift must have shape (2, H, W) = {(2, *shape)} or (N+1, 2, H, W), got {value.shape}"
        )
    return value


def _drift_levels(
    drift: DriftLike, sde: SDE, times: NDArray[np.float64], shape: tuple[int, int], h: float
) -> tuple[NDArray[np.float64] | None, NDArray[np.float64] | None]:
    if drift is not None and not callable(drift):
        arr = np.asarray(drift)
        if arr.ndim == 4 and arr.shape[0] != len(times):
            raise ValueError(f"a per-level drift needs N+1 = {len(times)} fields, got shape {arr.shape}")
    fields = [_drift_at(drift, sde, float(t), k, shape, h) for k, t in enumerate(times)]
    if all(f is None for f in fields):
        return None, None
    f = np.stack([np.zeros((2, *shape)) if x is None else x for x in fields])
    return f, divergence(f, h)


def _ghost_levels(
    bc_values: Callable[[float], ArrayLike] | None,
    times: NDArray[np.float64],
    batch_shape: tuple[int, ...],
    shape: tuple[int, int],
) -> NDArray[np.float64]:
    if not callable(bc_values):
        raise ValueError(
            "bc='dirichlet' needs bc_values: a callable t -> (..., H+2, W+2) array of ghost values"
        )
    expected = (*batch_shape, shape[0] + 2, shape[1] + 2)
    levels = []
    for t in times:
        g = real_array(f"bc_values({t:g})", bc_values(float(t)))
        try:
            g = np.broadcast_to(g, expected)
        except ValueError:
            raise ValueError(
                f"bc_values({t:g}) must return shape {expected} (or broadcast to it), got {g.shape}"
            ) from None
        levels.append(g.reshape(-1, *expected[-2:]))
    return np.stack(levels)


def solve_log_density(
    m0: ArrayLike,
    sde: SDE,
    n_steps: int = 20,
    T: float = 1.0,
    h: float = 1.0,
    bc: str = "zero",
    bc_values: Callable[[float], ArrayLike] | None = None,
    scheme: str = "central",
    iteration: str = "picard",
    tol: float = 1e-8,
    max_iter: int = 50,
    backend: str = "auto",
    drift: DriftLike = None,
    threads: int | None = None,
    device: int = 0,
    max_chunk: int | None = None,
) -> FPSolution:
    """Solve m_t = −∇·f − f·∇m + ½g²(Δm + |∇m|²) from m0 on [0, T] with N = n_steps steps.

    m0: (..., H, W) initial log-density; every leading index is an independent field.
    sde: gives g(t) and the grid drift f (VPSDE: the Ornstein–Uhlenbeck pull to the centre).
    h: grid spacing. bc: "zero" (ghost m = 0), "dirichlet" (bc_values(t) gives the ghost
    ring, shape (..., H+2, W+2)), "neumann" (mirror) or "periodic".
    scheme: "central" (second order; diagonally dominant while |v|·h <= g²) or "upwind"
    (first order, monotone for any Δt and h). iteration: "picard" (per step, to
    ‖Δm‖∞ <= tol·max(1, ‖m‖∞)) or "policy" (the paper's Algorithm 1: whole-trajectory sweeps).
    drift: None (the SDE's), an array (2, H, W) or (N+1, 2, H, W), or a callable t -> (2, H, W).
    threads: worker threads over the batch (None: all cores; CPU backend).
    backend: "cpu", "cuda" or "auto" (FPSCORE_BACKEND if set, else CUDA when has_cuda()).
    device: the CUDA device; max_chunk: most batch members per device chunk (None: as many as
    fit in 80 % of its free memory). Both only for the CUDA backend, whose results equal the
    CPU's to round-off (to within tol where the iterations stop at different points).

    Raises ConvergenceError when an iteration fails, values become non-finite or a step's
    system cannot be factorised because the step is too large (the message names the batch
    member, the step n and t, and gives dt, g, max|v| and what to change), and
    SingularMatrixError (naming the member and the step) when a system is singular otherwise.
    """
    m0 = _field(m0)
    if not isinstance(sde, SDE):
        raise TypeError(f"sde must be an fpscore SDE (VESDE, VPSDE, ConstantSDE), got {type(sde).__name__}")
    n_steps = positive_int("n_steps", n_steps)
    T = positive_float("T", T)
    h = positive_float("h", h)
    tol = positive_float("tol", tol)
    max_iter = positive_int("max_iter", max_iter)
    bc = choice("bc", bc, BOUNDARIES)
    scheme = choice("scheme", scheme, SCHEMES)
    iteration = choice("iteration", iteration, ITERATIONS)
    backend = resolve_backend(backend)
    device = non_negative_int("device", device)
    max_chunk = optional_count("max_chunk", max_chunk) or 0
    threads = optional_count("threads", threads)
    if bc != "dirichlet" and bc_values is not None:
        raise ValueError(f"bc_values is only used with bc='dirichlet', got bc={bc!r}")

    batch_shape, shape = m0.shape[:-2], m0.shape[-2:]
    times = np.linspace(0.0, T, n_steps + 1)
    g = np.ascontiguousarray(sde.g(times), dtype=np.float64)
    if not np.all(np.isfinite(g)):
        raise ValueError(f"{sde!r} gives non-finite g(t) on [0, {T}]")
    f, div_f = _drift_levels(drift, sde, times, shape, h)
    ghosts = _ghost_levels(bc_values, times, batch_shape, shape) if bc == "dirichlet" else None

    try:
        m, score, iterations = _core.solve_log_density(
            m0.reshape(-1, *shape),
            times,
            g,
            h,
            bc,
            scheme,
            iteration,
            tol,
            max_iter,
            threads,
            drift=f,
            drift_div=div_f,
            ghosts=ghosts,
            backend=backend,
            device=device,
            max_chunk=max_chunk,
        )
    except (_core.ConvergenceError, _core.SingularMatrixError) as e:
        raise _with_batch_index(e, batch_shape) from None
    levels = n_steps + 1
    return FPSolution(
        times=times,
        m=m.reshape(levels, *batch_shape, *shape),
        score=score.reshape(levels, *batch_shape, 2, *shape),
        iterations=iterations,
    )


def fp_system(
    m_prev: ArrayLike,
    m_lag: ArrayLike,
    *,
    g: float,
    dt: float,
    h: float = 1.0,
    bc: str = "zero",
    ghosts: ArrayLike | None = None,
    scheme: str = "central",
    drift: ArrayLike | None = None,
) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
    """The linear system A m = b of one fixed-point iterate, as the solver assembles it.

    m_prev: (H, W) the previous level; m_lag: (H, W) the lagged iterate; g = g(tₙ);
    ghosts: (H+2, W+2) ring values for bc="dirichlet"; drift: (2, H, W) f(tₙ) or None.
    Returns (A as scipy CSR, b).
    """
    m_prev = _field(m_prev)
    _check_grid_size("m_lag", m_lag)
    m_lag = real_array("m_lag", m_lag)
    if m_prev.ndim != 2 or m_lag.shape != m_prev.shape:
        raise ValueError(
            f"m_prev and m_lag must both have shape (H, W), got {m_prev.shape} and {m_lag.shape}"
        )
    h = positive_float("h", h)
    g = non_negative_float("g", g)
    dt = positive_float("dt", dt)
    bc = choice("bc", bc, BOUNDARIES)
    scheme = choice("scheme", scheme, SCHEMES)
    f = div_f = None
    if drift is not None:
        f = real_array("drift", drift)
        if f.shape != (2, *m_prev.shape):
            raise ValueError(f"drift must have shape {(2, *m_prev.shape)}, got {f.shape}")
        div_f = divergence(f, h)
    if ghosts is not None:
        if bc != "dirichlet":  # as solve_log_density's bc_values: never silently ignored
            raise ValueError(f"ghosts are only used with bc='dirichlet', got bc={bc!r}")
        ghosts = real_array("ghosts", ghosts)
    indptr, indices, data, rhs = _core.assemble_fp_system(
        m_prev, m_lag, g, dt, h, bc, scheme, drift=f, drift_div=div_f, ghosts=ghosts
    )
    n = m_prev.size
    return sp.csr_matrix((data, indices, indptr), shape=(n, n)), rhs
