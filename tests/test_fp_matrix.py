"""The linear system of one fixed-point iterate (DESIGN §2.2–2.3), checked entry by entry
against matrices built by hand from the stencil formulas."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fpscore

H, W = 4, 5  # non-square on purpose: a row stride of H instead of W shows up
BOUNDARIES = ("zero", "dirichlet", "neumann", "periodic")
SCHEMES = ("central", "upwind")


def _pad(m, bc, ghosts=None):
    """m (H, W) with its ghost ring, (H+2, W+2); the corners are never read."""
    if bc == "zero":
        return np.pad(m, 1, mode="constant", constant_values=0.0)
    if bc == "dirichlet":
        padded = np.array(ghosts, dtype=np.float64, copy=True)
        padded[1:-1, 1:-1] = m
        return padded
    if bc == "neumann":
        return np.pad(m, 1, mode="reflect")
    if bc == "periodic":
        return np.pad(m, 1, mode="wrap")
    raise AssertionError(bc)


def _neighbour(i, j, di, dj, bc, rows, cols):
    """Flat column of neighbour (i+di, j+dj), or None when it is a known ghost (zero/dirichlet)."""
    ni, nj = i + di, j + dj
    if 0 <= ni < rows and 0 <= nj < cols:
        return ni * cols + nj
    if bc in ("zero", "dirichlet"):
        return None
    if bc == "neumann":  # mirror: the ghost equals the interior node on the other side
        ni = 1 if ni < 0 else (rows - 2 if ni >= rows else ni)
        nj = 1 if nj < 0 else (cols - 2 if nj >= cols else nj)
    else:  # periodic
        ni %= rows
        nj %= cols
    return ni * cols + nj


def _hand_system(m_prev, m_lag, g, dt, h, bc, scheme, ghosts=None, drift=None):
    """Dense A and b written out from the formulas, node by node."""
    rows, cols = m_prev.shape
    n = rows * cols
    A = np.zeros((n, n))
    b = np.zeros(n)
    lag = _pad(m_lag, bc, ghosts)
    if drift is not None:
        div = (np.gradient(drift[0], h, axis=1, edge_order=2)
               + np.gradient(drift[1], h, axis=0, edge_order=2))
    a = g * g / (2.0 * h * h)
    for i in range(rows):
        for j in range(cols):
            p = i * cols + j
            pi, pj = i + 1, j + 1  # position in the padded array
            vx = 0.5 * g * g * (lag[pi, pj + 1] - lag[pi, pj - 1]) / (2.0 * h)
            vy = 0.5 * g * g * (lag[pi + 1, pj] - lag[pi - 1, pj]) / (2.0 * h)
            if drift is not None:
                vx -= drift[0, i, j]
                vy -= drift[1, i, j]
            if scheme == "central":
                diag = 1.0 / dt + 4.0 * a
                coef = {
                    (0, 1): -a - vx / (2.0 * h),   # east
                    (0, -1): -a + vx / (2.0 * h),  # west
                    (1, 0): -a - vy / (2.0 * h),   # south
                    (-1, 0): -a + vy / (2.0 * h),  # north
                }
            else:
                diag = 1.0 / dt + 4.0 * a + (abs(vx) + abs(vy)) / h
                coef = {
                    (0, 1): -a - max(vx, 0.0) / h,
                    (0, -1): -a - max(-vx, 0.0) / h,
                    (1, 0): -a - max(vy, 0.0) / h,
                    (-1, 0): -a - max(-vy, 0.0) / h,
                }
            A[p, p] += diag
            rhs = m_prev[i, j] / dt
            if drift is not None:
                rhs -= div[i, j]
            for (di, dj), c in coef.items():
                q = _neighbour(i, j, di, dj, bc, rows, cols)
                if q is None:
                    rhs -= c * lag[pi + di, pj + dj]
                else:
                    A[p, q] += c
            b[p] = rhs
    return A, b


def _inputs(seed, with_drift, scale=1.0):
    rng = np.random.default_rng(seed)
    m_prev = rng.normal(size=(H, W))
    m_lag = scale * rng.normal(size=(H, W))
    ghosts = rng.normal(size=(H + 2, W + 2))
    drift = scale * rng.normal(size=(2, H, W)) if with_drift else None
    g = float(rng.uniform(0.5, 2.0))
    dt = float(rng.uniform(0.01, 0.2))
    h = float(rng.uniform(0.3, 0.9))
    return m_prev, m_lag, ghosts, drift, g, dt, h


@pytest.mark.parametrize("with_drift", [False, True], ids=["no-drift", "drift"])
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("bc", BOUNDARIES)
def test_matrix_matches_hand_built(bc, scheme, with_drift):
    seed = 1000 + 10 * BOUNDARIES.index(bc) + 2 * SCHEMES.index(scheme) + int(with_drift)
    m_prev, m_lag, ghosts, drift, g, dt, h = _inputs(seed, with_drift)
    assert h != 1.0
    kwargs = {"ghosts": ghosts} if bc == "dirichlet" else {}
    A, b = fpscore.fp_system(m_prev, m_lag, g=g, dt=dt, h=h, bc=bc, scheme=scheme, drift=drift, **kwargs)
    A_ref, b_ref = _hand_system(m_prev, m_lag, g, dt, h, bc, scheme,
                                ghosts=ghosts if bc == "dirichlet" else None, drift=drift)
    assert A.shape == (H * W, H * W)
    np.testing.assert_allclose(A.toarray(), A_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b, b_ref, rtol=0, atol=1e-12)


def test_hand_built_pad_conventions():
    """The helper's ghost rings follow DESIGN §2.3 (west ghost of column 0 = column 1, ...)."""
    m = np.arange(H * W, dtype=np.float64).reshape(H, W)
    p = _pad(m, "neumann")
    np.testing.assert_array_equal(p[1:-1, 0], m[:, 1])
    np.testing.assert_array_equal(p[1:-1, -1], m[:, W - 2])
    np.testing.assert_array_equal(p[0, 1:-1], m[1])
    np.testing.assert_array_equal(p[-1, 1:-1], m[H - 2])
    p = _pad(m, "periodic")
    np.testing.assert_array_equal(p[1:-1, 0], m[:, W - 1])
    np.testing.assert_array_equal(p[1:-1, -1], m[:, 0])
    np.testing.assert_array_equal(p[0, 1:-1], m[H - 1])
    np.testing.assert_array_equal(p[-1, 1:-1], m[0])


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("bc", ["neumann", "periodic"])
def test_constant_field_is_a_fixed_point(bc, scheme):
    """Row sums are 1/Δt, so m = c solves A m = b = c/Δt exactly (the field does not decay)."""
    c, g, dt, h = 2.75, 1.3, 0.05, 0.5
    m = np.full((H, W), c)
    A, b = fpscore.fp_system(m, m, g=g, dt=dt, h=h, bc=bc, scheme=scheme)
    np.testing.assert_allclose(np.asarray(A.sum(axis=1)).ravel(), 1.0 / dt, rtol=1e-14, atol=0)
    np.testing.assert_allclose(b, c / dt, rtol=1e-14, atol=0)
    np.testing.assert_allclose(A @ m.ravel(), b, rtol=1e-13, atol=0)
    np.testing.assert_allclose(np.linalg.solve(A.toarray(), b), c, rtol=1e-12, atol=0)


@pytest.mark.parametrize("bc", BOUNDARIES)
def test_no_wrap_between_grid_rows(bc):
    m_prev, m_lag, ghosts, drift, g, dt, h = _inputs(7, True)
    kwargs = {"ghosts": ghosts} if bc == "dirichlet" else {}
    A = fpscore.fp_system(m_prev, m_lag, g=g, dt=dt, h=h, bc=bc, drift=drift, **kwargs)[0].toarray()
    for i in range(H - 1):
        last, first_next = i * W + W - 1, (i + 1) * W
        assert A[last, first_next] == 0.0
        assert A[first_next, last] == 0.0


@pytest.mark.parametrize("bc", BOUNDARIES)
def test_sparsity_pattern_uses_row_stride_w(bc):
    """Every row couples P only to its four grid neighbours; the vertical ones are ±W away."""
    m_prev, m_lag, ghosts, drift, g, dt, h = _inputs(8, True)
    kwargs = {"ghosts": ghosts} if bc == "dirichlet" else {}
    A = fpscore.fp_system(m_prev, m_lag, g=g, dt=dt, h=h, bc=bc, drift=drift, **kwargs)[0].toarray()
    # An interior node: columns p, p±1, p±W and nothing else (in particular not p±H).
    i, j = 1, 2
    p = i * W + j
    expected = {p, p - 1, p + 1, p - W, p + W}
    assert set(np.flatnonzero(A[p]).tolist()) == expected
    assert A[p, p + H] == 0.0 and A[p, p - H] == 0.0
    # Every node: the nonzero columns are exactly the neighbour map of the boundary condition.
    for i, j in itertools.product(range(H), range(W)):
        p = i * W + j
        cols = {p}
        for di, dj in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            q = _neighbour(i, j, di, dj, bc, H, W)
            if q is not None:
                cols.add(q)
        assert set(np.flatnonzero(A[p]).tolist()) == cols


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("bc", BOUNDARIES)
def test_laplacian_signs(bc, scheme):
    """Without advection (constant lag, f = 0) the off-diagonals are −g²/(2h²) < 0 < diagonal."""
    g, dt, h = 0.8, 0.1, 0.25
    c = 0.0 if bc == "zero" else -1.5  # a lag equal to its ghosts: no advection
    m = np.full((H, W), c)
    ghosts = np.full((H + 2, W + 2), c)
    kwargs = {"ghosts": ghosts} if bc == "dirichlet" else {}
    A = fpscore.fp_system(m, m, g=g, dt=dt, h=h, bc=bc, scheme=scheme, **kwargs)[0].toarray()
    a = g * g / (2.0 * h * h)
    np.testing.assert_allclose(np.diag(A), 1.0 / dt + 4.0 * a, rtol=1e-14)
    # interior node: four distinct neighbours with exactly −a each
    p = 1 * W + 2
    for q in (p + 1, p - 1, p + W, p - W):
        assert A[p, q] == pytest.approx(-a, rel=1e-14)
        assert np.sign(A[p, q]) == -np.sign(A[p, p])
    off = A - np.diag(np.diag(A))
    assert np.all(off <= 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bc", BOUNDARIES)
def test_upwind_is_an_m_matrix(bc, seed):
    """Upwinding gives off-diagonals <= 0, a positive diagonal and strict row diagonal dominance
    however large the advection velocity."""
    m_prev, m_lag, ghosts, drift, g, dt, h = _inputs(100 + seed, True, scale=50.0)
    kwargs = {"ghosts": ghosts} if bc == "dirichlet" else {}
    A = fpscore.fp_system(m_prev, m_lag, g=g, dt=dt, h=h, bc=bc, scheme="upwind", drift=drift,
                          **kwargs)[0].toarray()
    # the velocities really are large compared with g²/h (the central scheme would not be dominant)
    Ac = fpscore.fp_system(m_prev, m_lag, g=g, dt=dt, h=h, bc=bc, scheme="central", drift=drift,
                           **kwargs)[0].toarray()
    assert np.any(Ac - np.diag(np.diag(Ac)) > 0.0)
    diag = np.diag(A)
    off = A - np.diag(diag)
    assert np.all(diag > 0.0)
    assert np.all(off <= 0.0)
    assert np.all(diag - np.abs(off).sum(axis=1) > 0.0)
    # row sum is exactly the 1/Δt margin (the neighbour coefficients balance the diagonal)
    if bc in ("neumann", "periodic"):
        np.testing.assert_allclose(A.sum(axis=1), 1.0 / dt, rtol=1e-9)
