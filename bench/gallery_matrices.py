"""General sparse matrices for the peer benchmarks: pyamg's gallery and an upwind convection–diffusion.

Each entry gives two matrices on one pattern (the second's values perturbed by up to ±5 %, as a
refactorisation would see) and a right-hand side b = A x* for a random x*, so the relative
residual of a backward-stable solve stays near rounding whatever A's condition number.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

GALLERY = {
    # name: what it is, for the report
    "poisson2d": "2-D Poisson, 5-point, 256²",
    "aniso_rot": "rotated anisotropic diffusion (ε = 0.001, θ = π/8), 9-point FE, 256²",
    "elasticity": "2-D linear elasticity (Q1, E = 1e5, ν = 0.3), 128² elements",
    "poisson3d": "3-D Poisson, 7-point, 32³",
    "convdiff": "convection–diffusion, upwind, recirculating wind, mesh Péclet ≈ 190, 256²",
}


def convection_diffusion(size: int, epsilon: float = 1e-5) -> sp.csr_matrix:
    """−ε Δu + w·∇u on the unit square, size² interior nodes, zero Dirichlet boundary.

    Wind w = (2y − 1)(1 − x²), −2x(1 − y²) on [−1, 1]² mapped to the unit square (a recirculating
    flow); diffusion by the 5-point Laplacian, convection by first-order upwind differences.
    With ε = 1e-5 and h = 1/(size + 1) the mesh Péclet number |w| h / (2ε) is about 190 at 256²:
    a nonsymmetric M-matrix dominated by convection.
    """
    h = 1.0 / (size + 1)
    coords = np.arange(1, size + 1) * h
    y, x = np.meshgrid(coords, coords, indexing="ij")  # row i ~ y, column j ~ x
    X, Y = 2.0 * x - 1.0, 2.0 * y - 1.0
    wx, wy = (Y * (1.0 - X * X)).ravel(), (-X * (1.0 - Y * Y)).ravel()
    n = size * size
    idx = np.arange(n).reshape(size, size)
    d = epsilon / (h * h)
    diag = np.full(n, 4.0 * d) + (np.abs(wx) + np.abs(wy)) / h
    rows, cols, vals = [np.arange(n)], [np.arange(n)], [diag]
    # Upwind: w_x > 0 takes (u_j − u_{j−1})/h, so the west neighbour gets −w_x/h; w_x < 0 the east.
    for di, dj, w, sign in ((0, -1, wx, 1.0), (0, 1, wx, -1.0), (-1, 0, wy, 1.0), (1, 0, wy, -1.0)):
        src = idx[max(0, -di):size - max(0, di), max(0, -dj):size - max(0, dj)].ravel()
        dst = src + di * size + dj
        rows.append(src)
        cols.append(dst)
        vals.append(-d - np.maximum(sign * w[src], 0.0) / h)
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    A.sum_duplicates()
    A.sort_indices()
    return A


def _base_matrix(name: str) -> sp.csr_matrix:
    from pyamg import gallery  # optional: the benchmarks skip when pyamg is missing

    if name == "poisson2d":
        A = gallery.poisson((256, 256), format="csr")
    elif name == "aniso_rot":
        stencil = gallery.diffusion_stencil_2d(epsilon=0.001, theta=np.pi / 8, type="FE")
        A = gallery.stencil_grid(stencil, (256, 256), format="csr")
    elif name == "elasticity":
        A, _ = gallery.linear_elasticity((128, 128), format="csr")
    elif name == "poisson3d":
        A = gallery.poisson((32, 32, 32), format="csr")
    elif name == "convdiff":
        A = convection_diffusion(256)
    else:
        raise ValueError(f"unknown gallery matrix {name!r}; known: {sorted(GALLERY)}")
    A = sp.csr_matrix(A, dtype=np.float64)
    A.sum_duplicates()
    A.sort_indices()
    return A


def gallery_pair(name: str, seed: int = 0) -> list[tuple[sp.csr_matrix, NDArray[np.float64]]]:
    """[(A, b), (A', b')]: the matrix and a perturbation of its values on the same pattern."""
    rng = np.random.default_rng(seed)
    A = _base_matrix(name)
    A2 = A.copy()
    A2.data *= 1.0 + 0.05 * rng.uniform(-1.0, 1.0, A2.nnz)
    return [(M, M @ rng.standard_normal(M.shape[0])) for M in (A, A2)]
