"""An independent numpy + scipy.sparse implementation of fpscore's log-density FP scheme (DESIGN §2.2).

Same equation, same discretisation, same fixed point as `fpscore.solve_log_density` for f = 0 and
bc in {"zero", "neumann", "periodic"}, written without any of fpscore's code: the matrix is
assembled with vectorised numpy into a scipy.sparse matrix and every fixed-point iterate is solved
with `scipy.sparse.linalg.spsolve` (SuperLU), as the authors' reference code does. It serves as the
baseline of the benchmarks and as a cross-check of the C++ solver.

Conventions: x = column index j (east = j+1), y = row index i (south = i+1); node (i, j) is unknown
i·W + j. Ghost values one node outside the grid: 0 ("zero"), the mirrored interior node ("neumann":
the ghost of column −1 is column 1, of column W is column W−2, likewise for rows), the wrapped node
("periodic").
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import spsolve

BOUNDARIES = ("zero", "neumann", "periodic")
SCHEMES = ("central", "upwind")
_PAD_MODE = {"zero": "constant", "neumann": "reflect", "periodic": "wrap"}


def _check(bc: str, scheme: str, shape: tuple[int, ...]) -> None:
    if bc not in BOUNDARIES:
        raise ValueError(f"bc must be one of {BOUNDARIES}, got {bc!r}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if len(shape) != 2 or shape[0] < 3 or shape[1] < 3:
        raise ValueError(f"fields must have shape (H, W) with H, W >= 3, got {shape}")


def _pad(m: NDArray[np.float64], bc: str) -> NDArray[np.float64]:
    """m with its ghost ring, (H+2, W+2)."""
    return np.pad(m, 1, mode=_PAD_MODE[bc])


def _neighbour_columns(
    shape: tuple[int, int],
    bc: str,
) -> dict[str, tuple[NDArray[np.bool_], NDArray[np.intp]]]:
    """For each direction: which nodes have the neighbour as an unknown, and its column index.

    "zero" drops the ghost neighbours (ghost value 0 contributes nothing); "neumann" and
    "periodic" redirect them onto the interior node the ghost stands for.
    """
    H, W = shape
    i, j = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    out = {}
    for name, di, dj in (("east", 0, 1), ("west", 0, -1), ("south", 1, 0), ("north", -1, 0)):
        ni, nj = i + di, j + dj
        if bc == "zero":
            keep = (ni >= 0) & (ni < H) & (nj >= 0) & (nj < W)
        else:
            keep = np.ones(shape, dtype=bool)
            if bc == "periodic":
                ni, nj = ni % H, nj % W
            else:  # mirror: index -1 -> 1, index len -> len - 2
                ni = np.where(ni < 0, 1, np.where(ni >= H, H - 2, ni))
                nj = np.where(nj < 0, 1, np.where(nj >= W, W - 2, nj))
        out[name] = (keep.ravel(), (ni * W + nj).ravel())
    return out


class _Assembler:
    """Assembles A m = b for one fixed-point iterate; the sparsity pattern is computed once per grid."""

    def __init__(self, shape: tuple[int, int], h: float, bc: str, scheme: str) -> None:
        _check(bc, scheme, shape)
        self.shape, self.h, self.bc, self.scheme = shape, float(h), bc, scheme
        n = shape[0] * shape[1]
        self.n = n
        nodes = np.arange(n)
        self._neighbours = _neighbour_columns(shape, bc)
        rows = [nodes] + [nodes[keep] for keep, _ in self._neighbours.values()]
        cols = [nodes] + [col[keep] for keep, col in self._neighbours.values()]
        self._rows = np.concatenate(rows)
        self._cols = np.concatenate(cols)

    def velocity(
        self,
        m_lag: NDArray[np.float64],
        g: float,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """v = ½g² G_h m_lag with central differences through the ghost ring."""
        P = _pad(m_lag, self.bc)
        half_g2 = 0.5 * g * g
        vx = half_g2 * (P[1:-1, 2:] - P[1:-1, :-2]) / (2.0 * self.h)
        vy = half_g2 * (P[2:, 1:-1] - P[:-2, 1:-1]) / (2.0 * self.h)
        return vx.ravel(), vy.ravel()

    def matrix(
        self,
        m_prev: NDArray[np.float64],
        m_lag: NDArray[np.float64],
        g: float,
        dt: float,
    ) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
        h = self.h
        a = 0.5 * g * g / (h * h)
        vx, vy = self.velocity(m_lag, g)
        if self.scheme == "central":
            diag = np.full(self.n, 1.0 / dt + 4.0 * a)
            coef = {
                "east": -a - vx / (2.0 * h),
                "west": -a + vx / (2.0 * h),
                "south": -a - vy / (2.0 * h),
                "north": -a + vy / (2.0 * h),
            }
        else:  # first-order upwind: v·∇m with the one-sided difference towards where v points
            diag = 1.0 / dt + 4.0 * a + (np.abs(vx) + np.abs(vy)) / h
            coef = {
                "east": -a - np.maximum(vx, 0.0) / h,
                "west": -a - np.maximum(-vx, 0.0) / h,
                "south": -a - np.maximum(vy, 0.0) / h,
                "north": -a - np.maximum(-vy, 0.0) / h,
            }
        values = np.concatenate([diag] + [coef[name][keep] for name, (keep, _) in self._neighbours.items()])
        # Duplicate (row, col) pairs (mirrored/wrapped ghosts) are summed by the conversion.
        A = sp.coo_matrix((values, (self._rows, self._cols)), shape=(self.n, self.n)).tocsr()
        b = np.ascontiguousarray(m_prev, dtype=np.float64).ravel() / dt
        return A, b


def fp_matrix_scipy(
    m_prev: ArrayLike,
    m_lag: ArrayLike,
    g: float,
    dt: float,
    h: float = 1.0,
    bc: str = "zero",
    scheme: str = "central",
) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
    """The system A m = b of one fixed-point iterate at level n (f = 0).

    m_prev: (H, W) level n−1; m_lag: (H, W) lagged iterate; g = g(tₙ); dt = Δt.
    Returns A (scipy CSR, canonical: sorted indices, no duplicates) and b = m_prev/Δt, flattened row-major.
    """
    m_prev = np.asarray(m_prev, dtype=np.float64)
    m_lag = np.asarray(m_lag, dtype=np.float64)
    if m_lag.shape != m_prev.shape:
        raise ValueError(f"m_prev and m_lag must have the same shape, got {m_prev.shape} and {m_lag.shape}")
    return _Assembler(m_prev.shape, h, bc, scheme).matrix(m_prev, m_lag, float(g), float(dt))


def solve_log_density_scipy(
    m0: ArrayLike,
    g_values: ArrayLike,
    times: ArrayLike,
    h: float = 1.0,
    bc: str = "zero",
    scheme: str = "central",
    tol: float = 1e-8,
    max_iter: int = 50,
) -> NDArray[np.float64]:
    """Backward Euler + Picard iteration for m_t = ½g(t)²(Δm + |∇m|²) on the grid (f = 0).

    m0: (H, W); g_values: g(tₙ) for every time level, (N+1,); times: (N+1,) increasing.
    Step n solves (m − mⁿ⁻¹)/Δt = ½g(tₙ)² L_h m + v·G_h m with v = ½g(tₙ)² G_h m̃ and m̃ the
    previous iterate (first: mⁿ⁻¹), until max|mᵏ − mᵏ⁻¹| <= tol·max(1, max|mᵏ|).
    Returns the trajectory m, (N+1, H, W). Raises RuntimeError when a step does not converge
    in max_iter iterations or produces non-finite values.
    """
    m0 = np.asarray(m0, dtype=np.float64)
    g_values = np.asarray(g_values, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or g_values.shape != times.shape or len(times) < 2:
        raise ValueError(
            f"times and g_values must both have shape (N+1,), N >= 1; got {times.shape} and {g_values.shape}"
        )
    assembler = _Assembler(m0.shape, h, bc, scheme)
    traj = np.empty((len(times), *m0.shape))
    traj[0] = m0
    for n in range(1, len(times)):
        dt = float(times[n] - times[n - 1])
        g = float(g_values[n])
        prev = traj[n - 1]
        lag = prev
        for _ in range(max_iter):
            A, b = assembler.matrix(prev, lag, g, dt)
            cur = spsolve(A, b).reshape(m0.shape)
            if not np.all(np.isfinite(cur)):
                raise RuntimeError(f"non-finite values at step {n} (dt={dt:g}, g={g:g})")
            change = float(np.max(np.abs(cur - lag)))
            lag = cur
            if change <= tol * max(1.0, float(np.max(np.abs(cur)))):
                break
        else:
            raise RuntimeError(
                f"Picard iteration did not converge in max_iter={max_iter} iterations at "
                f"step {n} (dt={dt:g}, g={g:g}, last change {change:.3e})"
            )
        traj[n] = lag
    return traj
