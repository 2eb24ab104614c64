"""Samplers with the exact score of Gaussian data: for x₀ ~ N(μ, s²I) the marginal at t is
N(α(t)μ, (α(t)²s² + λ(t)²)I), so the score is −(x − αμ)/(α²s² + λ²) for every SDE. Every sampler,
started from that marginal at T, must reach the marginal at the last time."""

import math

import numpy as np
import pytest

import fpscore

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from fpscore import sampling as S  # noqa: E402

MU, S_DATA = 0.7, 0.3
N_SAMPLES, DIM = 20000, 4
SDES = [
    pytest.param(fpscore.VESDE(25.0), id="VE"),
    pytest.param(fpscore.VPSDE(0.1, 20.0), id="VP"),
    pytest.param(fpscore.ConstantSDE(1.0), id="Constant"),
]
# sampler, steps, extra relative allowance on the variance for its discretisation error
SAMPLER_CASES = [
    pytest.param(S.rk45_ode, 10, 0.0, id="rk45"),
    pytest.param(S.heun_ode, 100, 0.0, id="heun"),
    pytest.param(S.euler_ode, 1000, 0.01, id="euler"),
    pytest.param(S.euler_maruyama, 1000, 0.01, id="euler-maruyama"),
    pytest.param(S.ddpm_ancestral, 1000, 0.03, id="ancestral"),
]


def marginal(sde, t):
    a, lam = float(sde.alpha(t)), float(sde.marginal_std(t))
    return a * MU, a * a * S_DATA**2 + lam * lam


def gaussian_score(sde):
    def score(x, t):
        a = sde.alpha(t).reshape(-1, 1)
        var = a**2 * S_DATA**2 + sde.marginal_std(t).reshape(-1, 1) ** 2
        return -(x - a * MU) / var

    return score


def start(sde, T=1.0, seed=0):
    mean, var = marginal(sde, T)
    g = torch.Generator().manual_seed(seed)
    return mean + math.sqrt(var) * torch.randn(N_SAMPLES, DIM, generator=g, dtype=torch.float64)


def assert_marginal(x, sde, t, extra=0.0):
    mean, var = marginal(sde, t)
    n = x.numel()
    assert float(x.mean()) == pytest.approx(mean, abs=5 * math.sqrt(var / n) + 1e-3)
    assert float(x.var()) == pytest.approx(var, rel=5 * math.sqrt(2.0 / n) + extra)


@pytest.mark.parametrize("sde", SDES)
@pytest.mark.parametrize(("sampler", "steps", "extra"), SAMPLER_CASES)
def test_exact_score_reaches_the_data_marginal(sde, sampler, steps, extra):
    t_end = 1e-3
    x = sampler(
        gaussian_score(sde),
        sde,
        start(sde),
        S.uniform_times(steps, 1.0, t_end),
        generator=torch.Generator().manual_seed(1),
    )
    assert x.shape == (N_SAMPLES, DIM) and x.dtype == torch.float64
    assert_marginal(x, sde, t_end, extra)


def test_vp_prior_sample_is_the_marginal_at_T():
    sde = fpscore.VPSDE(0.1, 20.0)
    x = sde.prior_sample((N_SAMPLES, DIM), torch.Generator().manual_seed(0), dtype=torch.float64)
    out = S.heun_ode(gaussian_score(sde), sde, x, S.uniform_times(100, 1.0, 1e-3))
    assert_marginal(out, sde, 1e-3, extra=0.01)  # the prior N(0, 1) is the marginal up to α(1)² ≈ 4e-5


def test_ode_is_deterministic_and_stochastic_samplers_follow_the_generator():
    sde = fpscore.VESDE(2.0)
    x = start(sde)[:50]
    times = S.uniform_times(20)
    score = gaussian_score(sde)
    for sampler in (S.euler_maruyama, S.ddpm_ancestral):
        a = sampler(score, sde, x, times, generator=torch.Generator().manual_seed(3))
        b = sampler(score, sde, x, times, generator=torch.Generator().manual_seed(3))
        c = sampler(score, sde, x, times, generator=torch.Generator().manual_seed(4))
        assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(S.heun_ode(score, sde, x, times), S.heun_ode(score, sde, x, times))


def test_callback_progress_and_steps_to_zero():
    sde = fpscore.VESDE(2.0)
    seen = []
    x = start(sde)[:10]
    out = S.heun_ode(
        gaussian_score(sde), sde, x, np.linspace(1.0, 0.0, 6), callback=seen.append, progress=False
    )
    assert [s["i"] for s in seen] == [0, 1, 2, 3, 4] and seen[-1]["t"] == 0.0
    assert torch.equal(seen[-1]["x"], out) and torch.all(torch.isfinite(out))
    seen.clear()
    S.rk45_ode(gaussian_score(sde), sde, x, [1.0, 0.5, 0.01], callback=seen.append)
    assert [s["t"] for s in seen] == [0.5, 0.01]


def test_times_are_checked():
    sde = fpscore.VESDE(2.0)
    x = torch.zeros(2, 2, dtype=torch.float64)
    score = gaussian_score(sde)
    for bad in ([1.0], [0.5, 0.6], [1.0, -0.1], [[1.0, 0.5]]):
        with pytest.raises(ValueError, match="times"):
            S.heun_ode(score, sde, x, bad)
    with pytest.raises(ValueError, match="> 0"):
        S.rk45_ode(score, sde, x, [1.0, 0.0])
    with pytest.raises(ValueError):
        S.uniform_times(0)


def test_tweedie_is_the_posterior_mean():
    sde = fpscore.VPSDE(0.1, 20.0)
    t = 0.3
    x = start(sde, T=t)[:5]
    a, lam = float(sde.alpha(t)), float(sde.marginal_std(t))
    post = (a * S_DATA**2 * x + lam**2 * MU) / (a * a * S_DATA**2 + lam**2)  # E[x₀ | x_t], Gaussian
    torch.testing.assert_close(S.tweedie(gaussian_score(sde), sde, x, t), post)


@pytest.mark.parametrize("sde", SDES)
def test_noise_to_time(sde):
    for sigma in (0.01, 0.1, 0.5):
        t = S.noise_to_time(sde, sigma)
        assert float(sde.marginal_std(t)) / float(sde.alpha(t)) == pytest.approx(sigma, rel=1e-9)
    with pytest.raises(ValueError, match="above"):
        S.noise_to_time(sde, 1e6)
    with pytest.raises(ValueError):
        S.noise_to_time(sde, -1.0)


def test_estimate_noise():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64] / 64.0
    clean = np.stack([0.5 + 0.3 * np.sin(3 * xx) * np.cos(2 * yy)] * 3)
    for sigma in (0.05, 0.1, 0.2):
        noisy = clean + sigma * rng.standard_normal(clean.shape)
        assert S.estimate_noise(noisy) == pytest.approx(sigma, rel=0.1)
        assert S.estimate_noise(torch.as_tensor(noisy[0])) == pytest.approx(sigma, rel=0.15)
    with pytest.raises(ValueError):
        S.estimate_noise(np.zeros((2, 2)))


@pytest.mark.parametrize("sampler", [S.heun_ode, S.ddpm_ancestral])
def test_denoise_a_known_image(sampler):
    """Data = one image x*: the exact score is −(x − αx*)/λ², and denoising returns x* from any noise."""
    sde = fpscore.VESDE(2.0)
    g = torch.Generator().manual_seed(0)
    clean = torch.rand(1, 3, 8, 8, generator=g, dtype=torch.float64)

    def score(x, t):
        a = sde.alpha(t).reshape(-1, 1, 1, 1)
        return -(x - a * clean) / sde.marginal_std(t).reshape(-1, 1, 1, 1) ** 2

    noisy = clean + 0.2 * torch.randn(clean.shape, generator=g, dtype=torch.float64)
    out = S.denoise(score, sde, noisy.repeat(2, 1, 1, 1), 0.2, n_steps=50, sampler=sampler, generator=g)
    assert out.shape == (2, 3, 8, 8)
    assert float((out - clean).abs().max()) < 1e-2
    estimated = S.denoise(score, sde, noisy, None, n_steps=50, sampler=sampler, generator=g)
    assert float((estimated - clean).abs().max()) < 5e-2
