"""The kernel sums of init="value-kde" (DESIGN §3), by two methods.

For a square field x with n = H·H pixels, the pairs z_ij = (x[i, j], x[j, i]) and a bandwidth b:

    k(i, j) = Σ_(a, c) exp(−|z_ij − z_ac|² / 2b²)

(the Gaussian KDE at each pixel's own pair, up to the constant factor that the mean-1 normalisation
of `initial_log_density` removes).

"exact": every pair against every pair, n² kernel evaluations per field (the reference).

"binned": the same sum through a grid of spacing δ = b/ρ (ρ = `GRID_NODES_PER_BANDWIDTH`) over the
field's value range. Each pair is spread onto the p×p grid nodes around it with the weights of
p-point Lagrange interpolation (p = `LAGRANGE_POINTS`), the grid is convolved with the Gaussian
sampled at the node offsets (two matrix products, exact on the grid: a Gaussian is separable), and
the result is interpolated back at each pair with the same weights. Pixel (j, i) holds the pair of
(i, j) swapped, so only the pixels on and above the diagonal are spread and interpolated.

Grid rule and error: the two interpolations replace exp(−|z − z'|²/2b²) by its interpolant in z' and
in z. Per axis, the error of one is at most C_p·max|∂ᵖ exp(−u²/2)|·ρ⁻ᵖ, C_p = max over [0, 1] of
|Π(t − node)|/p!; for p = 6, ρ = 4: (3.516/720)·15·4⁻⁶ ≈ 1.8e-5 of the kernel's peak. Four of them
(two sides, two axes) add up to about 7e-5 of it (to first order) whatever b is, because the grid
spacing follows the bandwidth. Measured against "exact": max |Δ log p| = 6.3e-5 (docs/value-kde.md).

Work: n·p²/2 for spreading and interpolating, 4·M³ for the products on an M×M grid,
M = ⌊ρ·range/b⌋ + p. A field whose grid would cost more than the exact sum, or exceed
_MAX_GRID_CELLS (a bandwidth that is very small next to the range of values: M grows as 1/b),
falls back to the exact sum over its distinct pairs, weighted by their counts. A field of one
value has k = n everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

KDE_METHODS = ("binned", "exact")

LAGRANGE_POINTS = 6  # p: interpolation points per axis (even)
GRID_NODES_PER_BANDWIDTH = 4.0  # ρ = b / δ

# Pairwise kernel evaluations per block of the exact sums (bounds their memory to ~32 MiB).
_KDE_BLOCK = 1 << 22
# Grid cells (fields × M²) and stencil entries (fields × n × p) per batch of the binned sums
# (bounds their memory to ~50 MiB when one field's grid is smaller than that).
_GRID_BLOCK = 1 << 20
# The largest grid of one field (64 MiB; the matrix products need two more of its size): beyond
# it, a large image with a very small bandwidth takes the exact sum.
_MAX_GRID_CELLS = 1 << 23
# The binned method's work in units of one exact kernel evaluation (measured with numpy on one
# core, only to choose between the methods): per pair spread and interpolated, and per M³.
_WORK_PER_PAIR = 25.0
_WORK_PER_CUBED_NODE = 1.0 / 45.0
# exp(-0.5·12²) = 5e-32: far below rounding next to the kernel's own peak in every sum.
_KERNEL_REACH = 12.0
# Fields whose grids differ by less than this factor in size share one batch (padded).
_BATCH_SIZE_RATIO = 1.25

_OFFSETS = np.arange(-(LAGRANGE_POINTS // 2 - 1), LAGRANGE_POINTS // 2 + 1, dtype=np.float64)


def field_bandwidths(values: NDArray[np.float64], bandwidth: float | None) -> NDArray[np.float64]:
    """The bandwidth of each field, values (F, n): `bandwidth`, or Scott's rule in d = 2,
    std·n^(−1/6) (the pairs are a permutation of one set of values), 1 for a constant field."""
    n = values.shape[-1]
    if bandwidth is not None:
        return np.full(values.shape[0], float(bandwidth))
    spread = np.std(values, axis=-1)
    return np.where(spread > 0.0, spread * n ** (-1.0 / 6.0), 1.0)


def _pairs(fields: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(x[i, j], x[j, i]) of every (H, H) field, as two (F, n) arrays in row-major pixel order."""
    n = fields.shape[-2] * fields.shape[-1]
    return fields.reshape(-1, n), np.swapaxes(fields, -1, -2).reshape(-1, n)


def _exact_sums(
    a: NDArray[np.float64], c: NDArray[np.float64], b: float, weights: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Σ_k w_k exp(−|z_p − z_k|²/2b²) at every pair z_p = (a_p, c_p), by blocks of rows."""
    n = a.size
    # The differences are divided by b before squaring: b*b underflows to 0 for b < 1.5e-162
    # (a tiny spread, or a tiny bandwidth), and -0.5 / (b*b) raised ZeroDivisionError.
    b = max(b, float(np.finfo(np.float64).smallest_subnormal))
    block = max(1, _KDE_BLOCK // n)
    k = np.empty(n)
    with np.errstate(over="ignore"):
        for start in range(0, n, block):
            stop = min(start + block, n)
            da = (a[start:stop, None] - a[None, :]) / b
            dc = (c[start:stop, None] - c[None, :]) / b
            kernel = np.exp(-0.5 * (da * da + dc * dc))
            # einsum, not a BLAS product: its threads contend with the caller's on a busy machine.
            k[start:stop] = kernel.sum(axis=1) if weights is None else np.einsum("ij,j->i", kernel, weights)
    return k


def exact_kernel_sums(fields: NDArray[np.float64], bandwidth: float | None) -> NDArray[np.float64]:
    """The kernel sums of every (H, H) field of `fields` (..., H, H), every pair against every pair."""
    a, c = _pairs(fields)
    b = field_bandwidths(a, bandwidth)
    out = np.stack([_exact_sums(a[f], c[f], float(b[f])) for f in range(a.shape[0])])
    return out.reshape(fields.shape)


def _distinct_pair_sums(a: NDArray[np.float64], c: NDArray[np.float64], b: float) -> NDArray[np.float64]:
    """The exact sums of one field computed over its distinct pairs, weighted by their counts
    (few distinct pairs: two-valued images, 8-bit values)."""
    unique, inverse, counts = np.unique(
        np.stack([a, c], axis=1), axis=0, return_inverse=True, return_counts=True
    )
    if unique.shape[0] == a.size:  # no repeated pair: the plain sum
        return _exact_sums(a, c, b)
    sums = _exact_sums(unique[:, 0], unique[:, 1], b, counts.astype(np.float64))
    return sums[inverse.reshape(-1)]


def _lagrange_weights(frac: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weights (..., p) of p-point Lagrange interpolation at nodes `_OFFSETS`, at frac ∈ [0, 1)."""
    d = frac[..., None] - _OFFSETS
    w = np.empty_like(d)
    for j, node in enumerate(_OFFSETS):
        others = np.delete(np.arange(LAGRANGE_POINTS), j)
        w[..., j] = d[..., others].prod(axis=-1) / np.prod(node - _OFFSETS[others])
    return w


@lru_cache(maxsize=16)
def _grid_kernel(size: int) -> NDArray[np.float64]:
    """The Gaussian of standard deviation ρ nodes between every two of `size` grid nodes, zero
    beyond _KERNEL_REACH standard deviations: its tail would be subnormal numbers, and matrix
    products with them run a hundred times slower (a 200-node grid: 130 ms instead of 1 ms)."""
    g = np.arange(size, dtype=np.float64) / GRID_NODES_PER_BANDWIDTH
    u = np.abs(g[:, None] - g[None, :])
    kernel = np.where(u <= _KERNEL_REACH, np.exp(-0.5 * np.minimum(u, _KERNEL_REACH) ** 2), 0.0)
    kernel.setflags(write=False)
    return kernel


def _stencil(s: NDArray[np.float64], size: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """First node index (F, n) and Lagrange weights (F, n, p) of grid coordinates s ≥ 0."""
    base = np.minimum(np.floor(s), size - LAGRANGE_POINTS)
    return base.astype(np.int64), _lagrange_weights(s - base)


def _binned_batch(
    a: NDArray[np.float64],
    c: NDArray[np.float64],
    multiplicity: NDArray[np.float64],
    scale: NDArray[np.float64],
    size: int,
) -> NDArray[np.float64]:
    """Binned sums of F fields on one (size × size) grid, at the pairs (a, c) (F, m) of the pixels
    on and above the diagonal; a, c already shifted to start at 0, scale = ρ/b per field (grid
    coordinate = value·scale, in node spacings). Pixel (j, i) holds the pair of (i, j) swapped, so
    its spread is the transpose: the grid is G + Gᵀ with G from these pixels, the diagonal ones
    counted half (multiplicity), and (j, i) has the sum of (i, j)."""
    fields = a.shape[0]
    p = LAGRANGE_POINTS
    ia, wa = _stencil(a * scale[:, None], size)
    ic, wc = _stencil(c * scale[:, None], size)
    wa *= multiplicity[:, None]
    # Flat index of node (ia + j, ic + l) of field f: corner + j·size + l.
    corner = (np.arange(fields)[:, None] * size + ia) * size + ic
    columns = np.arange(p)
    grid = np.zeros(fields * size * size)
    for j in range(p):
        index = corner[..., None] + (j * size + columns)
        grid += np.bincount(index.ravel(), weights=(wa[..., j, None] * wc).ravel(), minlength=grid.size)
    grid = grid.reshape(fields, size, size)
    grid += np.swapaxes(grid, -1, -2).copy()
    kernel = _grid_kernel(size)
    smooth = (kernel @ grid @ kernel).reshape(-1)
    wa /= multiplicity[:, None]
    k = np.zeros(a.shape)
    for j in range(p):
        index = corner[..., None] + (j * size + columns)
        k += wa[..., j] * np.einsum("fnl,fnl->fn", smooth[index], wc)
    return k


def _batches(
    fields: NDArray[np.int64], size: NDArray[np.float64], n: int
) -> Iterator[tuple[NDArray[np.int64], int]]:
    """Batches of `fields` with grids of similar size (padded to the largest), each within
    _GRID_BLOCK grid cells and stencil entries: (the fields, the grid size)."""
    order = fields[np.argsort(size[fields], kind="stable")]
    start = 0
    while start < order.size:
        stop = start + 1
        while stop < order.size:
            m = size[order[stop]]
            full = (stop - start + 1) * max(m * m, n * LAGRANGE_POINTS) > _GRID_BLOCK
            if full or m > _BATCH_SIZE_RATIO * size[order[start]]:
                break
            stop += 1
        yield order[start:stop], int(size[order[stop - 1]])
        start = stop


def binned_kernel_sums(fields: NDArray[np.float64], bandwidth: float | None) -> NDArray[np.float64]:
    """The kernel sums of every (H, H) field of `fields` (..., H, H) through a grid (module doc)."""
    a, c = _pairs(fields)
    n = a.shape[1]
    b = field_bandwidths(a, bandwidth)
    lo = a.min(axis=1)
    span = a.max(axis=1) - lo
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        scale = GRID_NODES_PER_BANDWIDTH / b  # inf for a subnormal b: such fields go exact
        nodes = span * scale  # NaN for 0·inf: a field of one value
        size = np.floor(np.where(np.isfinite(nodes), nodes, 0.0)) + LAGRANGE_POINTS
        grid_work = _WORK_PER_CUBED_NODE * size**3 + _WORK_PER_PAIR * n
        fits = (grid_work < float(n) * n) & (size * size <= _MAX_GRID_CELLS)
    out = np.full(a.shape, float(n))  # a field of one value: every kernel is 1
    binned = (span > 0.0) & np.isfinite(nodes) & fits
    for f in np.flatnonzero((span > 0.0) & ~binned):
        out[f] = _distinct_pair_sums(a[f], c[f], float(b[f]))
    side = fields.shape[-1]
    rows, cols = np.triu_indices(side)
    upper, lower = rows * side + cols, cols * side + rows
    multiplicity = np.where(rows == cols, 0.5, 1.0)
    for batch, grid_size in _batches(np.flatnonzero(binned), size, upper.size):
        shift = lo[batch, None]
        k = _binned_batch(
            a[batch][:, upper] - shift, c[batch][:, upper] - shift, multiplicity, scale[batch], grid_size
        )
        out[batch[:, None], upper] = k
        out[batch[:, None], lower] = k
    return out.reshape(fields.shape)


def kernel_sums(fields: NDArray[np.float64], bandwidth: float | None, method: str) -> NDArray[np.float64]:
    """The kernel sums of every (H, H) field by `method` ("binned" or "exact")."""
    if method == "exact":
        return exact_kernel_sums(fields, bandwidth)
    return binned_kernel_sums(fields, bandwidth)


__all__ = ["KDE_METHODS", "binned_kernel_sums", "exact_kernel_sums", "field_bandwidths", "kernel_sums"]
