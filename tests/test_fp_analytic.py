"""The log-density Fokker–Planck solver against exact solutions (DESIGN §2.5).

References: Cole–Hopf (f = 0: p = eᵐ solves the heat equation, a Gaussian mixture stays a
mixture with variances s² + τ(t)) and the Ornstein–Uhlenbeck flow of the VP grid drift (a
Gaussian stays Gaussian). The reference formulas are themselves checked first, by finite
differences and by integrating the moment ODEs.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

import fpscore
from fpscore.numerics.analytic import gaussian_mixture_log_density, ou_gaussian_moments

MIX_MEANS = [(-0.7, -0.3), (0.8, 0.5)]
MIX_VARIANCES = [0.35, 0.5]
MIX_WEIGHTS = [0.4, 0.6]

F_FREE_SDES = [fpscore.ConstantSDE(1.0), fpscore.VESDE(2.0)]
SDE_IDS = ["constant", "ve"]


def _order(errors):
    errors = np.asarray(errors, dtype=np.float64)
    return np.log2(errors[:-1] / errors[1:])


def _mixture(x, y, sde, t):
    return gaussian_mixture_log_density(x, y, MIX_MEANS, MIX_VARIANCES, MIX_WEIGHTS,
                                        tau=float(sde.diffusion_integral(t)))


def _pad(m, bc, ghosts=None):
    """(..., H, W) -> (..., H+2, W+2) with the boundary condition's ghost ring."""
    width = [(0, 0)] * (m.ndim - 2) + [(1, 1), (1, 1)]
    if bc == "zero":
        return np.pad(m, width, mode="constant", constant_values=0.0)
    if bc == "neumann":
        return np.pad(m, width, mode="reflect")
    if bc == "periodic":
        return np.pad(m, width, mode="wrap")
    padded = np.array(np.broadcast_to(ghosts, (*m.shape[:-2], m.shape[-2] + 2, m.shape[-1] + 2)))
    padded[..., 1:-1, 1:-1] = m
    return padded


def _central_gradient(m, h, bc, ghosts=None):
    """(..., H, W) -> (..., 2, H, W): ((m_E − m_W)/2h, (m_S − m_N)/2h) with ghost values."""
    p = _pad(m, bc, ghosts)
    gx = (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) / (2.0 * h)
    gy = (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) / (2.0 * h)
    return np.stack([gx, gy], axis=-3)


# --------------------------------------------------------------------------------------------
# The references themselves


@pytest.mark.parametrize("sde", F_FREE_SDES, ids=SDE_IDS)
def test_mixture_reference_solves_the_pde(sde):
    """m = log Σ wₖ N(μₖ, (sₖ² + τ(t)) I) satisfies m_t = ½g(t)²(Δm + |∇m|²) (finite differences)."""
    rng = np.random.default_rng(11)
    dt, dx = 1e-5, 1e-4
    for _ in range(6):
        x, y = rng.uniform(-2.0, 2.0, size=2)
        t = float(rng.uniform(0.05, 0.8))

        def m(xx, yy, tt):
            return float(_mixture(np.array(xx), np.array(yy), sde, tt))

        m_t = (m(x, y, t + dt) - m(x, y, t - dt)) / (2.0 * dt)
        mx = (m(x + dx, y, t) - m(x - dx, y, t)) / (2.0 * dx)
        my = (m(x, y + dx, t) - m(x, y - dx, t)) / (2.0 * dx)
        lap = (m(x + dx, y, t) + m(x - dx, y, t) + m(x, y + dx, t) + m(x, y - dx, t)
               - 4.0 * m(x, y, t)) / dx**2
        rhs = 0.5 * float(sde.g(t)) ** 2 * (lap + mx * mx + my * my)
        assert m_t == pytest.approx(rhs, rel=1e-5, abs=1e-5 * max(1.0, abs(rhs)))


@pytest.mark.parametrize("sde", F_FREE_SDES, ids=SDE_IDS)
def test_diffusion_integral_is_the_integral_of_g_squared(sde):
    for t in (0.0, 0.3, 1.0):
        expected = quad(lambda s: float(sde.g(s)) ** 2, 0.0, t, epsabs=1e-13, epsrel=1e-12)[0]
        assert float(sde.diffusion_integral(t)) == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_ou_moments_reference_matches_moment_odes():
    """dμ/dt = −½β μ, dv/dt = −β v + β (per axis), integrated numerically."""
    sde = fpscore.VPSDE(0.5, 2.0)
    mean0, var0 = (0.6, -0.4), 0.5
    for t in (0.25, 0.5, 1.0):
        assert float(sde.beta_integral(t)) == pytest.approx(
            quad(lambda s: float(sde.beta(s)), 0.0, t)[0], rel=1e-12)

    def rhs(t, u):
        beta = float(sde.beta(t))
        return [-0.5 * beta * u[0], -0.5 * beta * u[1], -beta * u[2] + beta]

    times = [0.25, 0.5, 1.0]
    ode = solve_ivp(rhs, (0.0, 1.0), [mean0[0], mean0[1], var0], t_eval=times, rtol=1e-11, atol=1e-13)
    assert ode.success
    for k, t in enumerate(times):
        (mx, my), var = ou_gaussian_moments(mean0, var0, float(sde.beta_integral(t)))
        np.testing.assert_allclose([mx, my, var], ode.y[:, k], rtol=1e-8, atol=1e-10)


def test_vp_grid_drift_is_the_ou_pull():
    sde = fpscore.VPSDE(0.5, 2.0)
    shape, h, t = (5, 7), 0.3, 0.4
    x, y = fpscore.grid_coordinates(shape, h)
    np.testing.assert_allclose(x[0], (np.arange(7) - 3) * h)
    np.testing.assert_allclose(y[:, 0], (np.arange(5) - 2) * h)
    f = sde.grid_drift(t, shape, h)
    np.testing.assert_allclose(f, -0.5 * float(sde.beta(t)) * np.stack([x, y]), rtol=1e-15)
    assert fpscore.ConstantSDE(1.0).grid_drift(t, shape, h) is None
    assert fpscore.VESDE(2.0).grid_drift(t, shape, h) is None


# --------------------------------------------------------------------------------------------
# Cole–Hopf: order in Δt (single Gaussian, exact in space)


@pytest.mark.parametrize("sde", F_FREE_SDES, ids=SDE_IDS)
def test_single_gaussian_first_order_in_time(sde):
    s2, size, T = 0.5, 21, 0.5
    h = 6.0 / (size - 1)
    x, y = fpscore.grid_coordinates((size, size), h)
    px, py = fpscore.padded_coordinates((size, size), h)

    def exact(xx, yy, t):
        v = s2 + float(sde.diffusion_integral(t))
        return -(xx**2 + yy**2) / (2.0 * v) - np.log(2.0 * np.pi * v)

    m0 = -(x**2 + y**2) / (2.0 * s2) - np.log(2.0 * np.pi * s2)
    np.testing.assert_allclose(m0, gaussian_mixture_log_density(x, y, [(0.0, 0.0)], [s2], [1.0]),
                               rtol=1e-13, atol=1e-13)
    errors = []
    for n in (10, 20, 40):
        sol = fpscore.solve_log_density(m0, sde, n_steps=n, T=T, h=h, bc="dirichlet",
                                        bc_values=lambda t: exact(px, py, t), tol=1e-12, max_iter=200)
        np.testing.assert_allclose(sol.times, np.linspace(0.0, T, n + 1), rtol=0, atol=1e-15)
        np.testing.assert_array_equal(sol.m[0], m0)
        errors.append(np.abs(sol.m[-1] - exact(x, y, T)).max())
    orders = _order(errors)
    assert np.all((orders >= 0.85) & (orders <= 1.15)), (errors, orders)


# --------------------------------------------------------------------------------------------
# Cole–Hopf: order in h (Gaussian mixture, time error removed by Richardson extrapolation)


@pytest.mark.parametrize("scheme, low, high", [("central", 1.7, 2.4), ("upwind", 0.8, 1.3)])
@pytest.mark.parametrize("sde", F_FREE_SDES, ids=SDE_IDS)
def test_mixture_spatial_order(sde, scheme, low, high):
    T, K = 0.05, 20
    errors = []
    for size in (17, 33, 65):
        h = 6.0 / (size - 1)
        x, y = fpscore.grid_coordinates((size, size), h)
        px, py = fpscore.padded_coordinates((size, size), h)
        m0 = _mixture(x, y, sde, 0.0)
        finals = [
            fpscore.solve_log_density(m0, sde, n_steps=n, T=T, h=h, bc="dirichlet", scheme=scheme,
                                      bc_values=lambda t, px=px, py=py: _mixture(px, py, sde, t),
                                      tol=1e-12, max_iter=200).m[-1]
            for n in (K, 2 * K)
        ]
        extrapolated = 2.0 * finals[1] - finals[0]
        errors.append(np.abs(extrapolated - _mixture(x, y, sde, T)).max())
    orders = _order(errors)
    assert np.all((orders >= low) & (orders <= high)), (errors, orders)


# --------------------------------------------------------------------------------------------
# Ornstein–Uhlenbeck: the VP grid drift


OU_SDE = fpscore.VPSDE(0.5, 2.0)
OU_MEAN0, OU_VAR0, OU_T, OU_L = (0.6, -0.4), 0.5, 0.5, 5.0


def _ou_exact(x, y, t):
    mean, var = ou_gaussian_moments(OU_MEAN0, OU_VAR0, float(OU_SDE.beta_integral(t)))
    return gaussian_mixture_log_density(x, y, [mean], [var], [1.0])


def _ou_solve(size, n_steps, scheme):
    h = 2.0 * OU_L / (size - 1)
    x, y = fpscore.grid_coordinates((size, size), h)
    px, py = fpscore.padded_coordinates((size, size), h)
    sol = fpscore.solve_log_density(_ou_exact(x, y, 0.0), OU_SDE, n_steps=n_steps, T=OU_T, h=h,
                                    bc="dirichlet", bc_values=lambda t: _ou_exact(px, py, t),
                                    scheme=scheme, tol=1e-10, max_iter=200)
    return sol, x, y, h


def _grid_moments(m, x, y, h):
    w = np.exp(m) * h * h
    mass = w.sum()
    mx, my = (x * w).sum() / mass, (y * w).sum() / mass
    var = 0.5 * (((x - mx) ** 2 * w).sum() + ((y - my) ** 2 * w).sum()) / mass
    return mass, (mx, my), var


def test_ou_gaussian_central_time_refinement():
    (mean_t, mean_y), var_t = ou_gaussian_moments(OU_MEAN0, OU_VAR0, float(OU_SDE.beta_integral(OU_T)))
    errors, var_errors = [], []
    for n in (10, 20, 40):
        sol, x, y, h = _ou_solve(41, n, "central")
        exact = _ou_exact(x, y, OU_T)
        errors.append(np.abs(sol.m[-1] - exact).max())
        mass, (mx, my), var = _grid_moments(sol.m[-1], x, y, h)
        # the exact density integrates to 1 on this grid (the domain holds > 5 standard deviations)
        assert _grid_moments(exact, x, y, h)[0] == pytest.approx(1.0, abs=1e-7)
        assert mass == pytest.approx(1.0, abs=0.1 / n)
        assert mx == pytest.approx(mean_t, abs=1e-4)
        assert my == pytest.approx(mean_y, abs=1e-4)
        var_errors.append(abs(var - var_t))
    assert errors[-1] < 0.05
    orders = _order(errors)
    assert np.all((orders >= 0.8) & (orders <= 1.2)), (errors, orders)
    assert var_errors[-1] < 1e-3
    assert var_errors[0] > var_errors[1] > var_errors[2], var_errors
    # refining h at fixed N does not make it worse
    sol, x, y, _ = _ou_solve(21, 20, "central")
    assert errors[1] <= np.abs(sol.m[-1] - _ou_exact(x, y, OU_T)).max() * (1.0 + 1e-9)


def test_ou_gaussian_upwind_refinement():
    """Upwinding is first order in h too: refining N and h together shrinks the error."""
    errors, moment_errors = [], []
    (mean_t, mean_y), var_t = ou_gaussian_moments(OU_MEAN0, OU_VAR0, float(OU_SDE.beta_integral(OU_T)))
    for size, n in ((21, 10), (41, 20)):
        sol, x, y, h = _ou_solve(size, n, "upwind")
        errors.append(np.abs(sol.m[-1] - _ou_exact(x, y, OU_T)).max())
        _, (mx, my), var = _grid_moments(sol.m[-1], x, y, h)
        moment_errors.append(max(abs(mx - mean_t), abs(my - mean_y), abs(var - var_t)))
    assert errors[1] < 0.5 * errors[0], errors
    assert moment_errors[1] < 0.6 * moment_errors[0], moment_errors
    assert moment_errors[1] < 0.02


# --------------------------------------------------------------------------------------------
# Invariants and consistency


@pytest.mark.parametrize("iteration", ["picard", "policy"])
@pytest.mark.parametrize("scheme", ["central", "upwind"])
@pytest.mark.parametrize("bc", ["neumann", "periodic", "dirichlet"])
@pytest.mark.parametrize("sde", F_FREE_SDES, ids=SDE_IDS)
def test_constant_stays_constant(sde, bc, scheme, iteration):
    H, W = 7, 9
    c = np.array([[1.5, -2.0, 0.25], [-7.0, 3.0, 0.0]])[..., None, None]
    m0 = np.broadcast_to(c, (2, 3, H, W)).copy()
    kwargs = {"bc_values": lambda t: np.broadcast_to(c, (2, 3, H + 2, W + 2))} if bc == "dirichlet" else {}
    sol = fpscore.solve_log_density(m0, sde, n_steps=5, T=0.5, h=0.5, bc=bc, scheme=scheme,
                                    iteration=iteration, **kwargs)
    assert sol.m.shape == (6, 2, 3, H, W)
    assert sol.score.shape == (6, 2, 3, 2, H, W)
    assert sol.iterations.shape == (5,)
    assert np.abs(sol.m - m0[None]).max() <= 1e-12
    assert np.abs(sol.score).max() <= 1e-12


def _nontrivial_m0(shape, h):
    x, y = fpscore.grid_coordinates(shape, h)
    return (gaussian_mixture_log_density(x, y, MIX_MEANS, MIX_VARIANCES, MIX_WEIGHTS)
            + 0.3 * np.sin(1.3 * x) * np.cos(0.7 * y))


def _dirichlet_ring(shape, h):
    px, py = fpscore.padded_coordinates(shape, h)
    return lambda t: gaussian_mixture_log_density(px, py, MIX_MEANS, MIX_VARIANCES, MIX_WEIGHTS, tau=t)


@pytest.mark.parametrize("scheme", ["central", "upwind"])
@pytest.mark.parametrize("bc", ["zero", "dirichlet", "neumann", "periodic"])
def test_policy_and_picard_agree(bc, scheme):
    shape, h = (15, 18), 0.4
    m0 = _nontrivial_m0(shape, h)
    kwargs = {"bc_values": _dirichlet_ring(shape, h)} if bc == "dirichlet" else {}
    common = {"n_steps": 10, "T": 0.2, "h": h, "bc": bc, "scheme": scheme, "tol": 1e-10, "max_iter": 200}
    picard = fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), iteration="picard", **common, **kwargs)
    policy = fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), iteration="policy", **common, **kwargs)
    assert np.abs(picard.m - m0).max() > 0.1  # the trajectory really moves
    assert np.abs(picard.m - policy.m).max() <= 1e-8
    assert np.abs(picard.score - policy.score).max() <= 1e-7
    assert np.all(picard.iterations >= 2)
    assert np.all(policy.iterations == policy.iterations[0])  # sweeps count for the whole trajectory


@pytest.mark.parametrize("bc", ["zero", "dirichlet", "neumann", "periodic"])
def test_score_is_central_difference_with_ghosts(bc):
    shape, h = (12, 16), 0.35
    x, _ = fpscore.grid_coordinates(shape, h)
    base = _nontrivial_m0(shape, h)
    m0 = np.stack([base, 0.5 * base + 0.2 * np.cos(2.0 * x)])
    ring = _dirichlet_ring(shape, h)
    kwargs = {"bc_values": ring} if bc == "dirichlet" else {}
    sol = fpscore.solve_log_density(m0, fpscore.VESDE(2.0), n_steps=4, T=0.2, h=h, bc=bc, scheme="upwind",
                                    **kwargs)
    for n, t in enumerate(sol.times):
        ghosts = ring(float(t)) if bc == "dirichlet" else None
        expected = _central_gradient(sol.m[n], h, bc, ghosts)
        np.testing.assert_allclose(sol.score[n], expected, rtol=1e-12, atol=1e-10)


def test_score_helper_conventions():
    """Component 0 is ∂/∂x along the columns, component 1 is ∂/∂y along the rows."""
    shape, h = (9, 11), 0.5
    x, y = fpscore.grid_coordinates(shape, h)
    m = 2.0 * x - 3.0 * y
    px, py = fpscore.padded_coordinates(shape, h)
    grad = _central_gradient(m, h, "dirichlet", 2.0 * px - 3.0 * py)
    np.testing.assert_allclose(grad[0], 2.0, rtol=1e-13)
    np.testing.assert_allclose(grad[1], -3.0, rtol=1e-13)
    sol = fpscore.solve_log_density(m, fpscore.ConstantSDE(1.0), n_steps=1, T=1e-3, h=h, bc="dirichlet",
                                    bc_values=lambda t: 2.0 * px - 3.0 * py)
    np.testing.assert_allclose(sol.score[0], grad, rtol=1e-13)


@pytest.mark.parametrize("bc", ["zero", "dirichlet", "neumann", "periodic"])
def test_batch_equals_separate_solves_and_threads(bc):
    shape, h = (10, 13), 0.45
    rng = np.random.default_rng(5)
    base = _nontrivial_m0(shape, h)
    m0 = np.stack([base + 0.2 * rng.normal(size=shape) for _ in range(4)]).reshape(2, 2, *shape)
    sde = fpscore.VPSDE(0.5, 2.0)
    common = {"n_steps": 6, "T": 0.3, "h": h, "bc": bc, "tol": 1e-10, "max_iter": 200}
    if bc == "dirichlet":
        ring = _dirichlet_ring(shape, h)
        scale = np.array([[1.0, 0.9], [1.1, 0.8]])[..., None, None]

        def batch_ring(t):
            return scale * ring(t)[None, None]

    sols = {}
    for threads in (1, 2):
        kwargs = {"bc_values": batch_ring} if bc == "dirichlet" else {}
        sols[threads] = fpscore.solve_log_density(m0, sde, threads=threads, **common, **kwargs)
    np.testing.assert_array_equal(sols[1].m, sols[2].m)
    np.testing.assert_array_equal(sols[1].score, sols[2].score)
    np.testing.assert_array_equal(sols[1].iterations, sols[2].iterations)
    # Members of one pack share a factorisation that is refreshed when any of them needs
    # it, so a member's iterates depend on its pack mates; its fixed point does not.
    batch = sols[2]
    tol = common["tol"]
    for i in range(2):
        for j in range(2):
            kwargs = {}
            if bc == "dirichlet":
                kwargs = {"bc_values": lambda t, i=i, j=j: batch_ring(t)[i, j]}
            one = fpscore.solve_log_density(m0[i, j], sde, **common, **kwargs)
            atol = 10 * tol * max(1.0, np.abs(one.m).max())
            np.testing.assert_allclose(batch.m[:, i, j], one.m, rtol=0, atol=atol)
            np.testing.assert_allclose(batch.score[:, i, j], one.score, rtol=0, atol=atol / h)
            assert np.all(one.iterations >= 1)
    assert batch.iterations.shape == (common["n_steps"],)
    assert np.all((batch.iterations >= 1) & (batch.iterations <= common["max_iter"]))
