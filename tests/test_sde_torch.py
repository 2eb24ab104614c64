"""SDE conformance: the numpy and torch faces of VESDE, VPSDE, ConstantSDE against each other and
against a Monte-Carlo simulation of the forward process."""

import math

import numpy as np
import pytest

import fpscore

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

SDES = [
    pytest.param(fpscore.VESDE(2.0), id="VE-2"),
    pytest.param(fpscore.VESDE(25.0), id="VE-25"),
    pytest.param(fpscore.VPSDE(0.1, 20.0), id="VP"),
    pytest.param(fpscore.ConstantSDE(0.5), id="Constant"),
]
METHODS = ("g", "alpha", "marginal_std", "diffusion_integral")


@pytest.mark.parametrize("sde", SDES)
@pytest.mark.parametrize("method", METHODS)
def test_torch_matches_numpy(sde, method):
    t = np.linspace(0.0, 1.0, 11)
    ref = getattr(sde, method)(t)
    out64 = getattr(sde, method)(torch.tensor(t))
    out32 = getattr(sde, method)(torch.tensor(t, dtype=torch.float32))
    assert isinstance(ref, np.ndarray) and ref.dtype == np.float64
    assert out64.dtype == torch.float64 and out32.dtype == torch.float32
    np.testing.assert_allclose(out64.numpy(), ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(out32.numpy(), ref, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("sde", SDES)
def test_scalars_stay_numpy_and_integer_tensors_become_float(sde):
    assert isinstance(sde.marginal_std(0.5), np.floating | np.ndarray)
    out = sde.marginal_std(torch.tensor([0, 1]))
    assert out.dtype == torch.get_default_dtype()


@pytest.mark.parametrize("sde", SDES)
def test_drift_torch_matches_numpy(sde):
    x = np.linspace(-1.0, 1.0, 2 * 3 * 4).reshape(2, 3, 4)
    t = np.array([0.2, 0.7])
    ref = np.stack([sde.drift(x[i], t[i]) for i in range(2)])
    out = sde.drift(torch.tensor(x), torch.tensor(t))
    assert out.dtype == torch.float64 and out.shape == x.shape
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("sde", SDES)
def test_alpha_decreases_and_lambda_increases(sde):
    t = torch.linspace(0.0, 1.0, 101, dtype=torch.float64)
    alpha, lam = sde.alpha(t), sde.marginal_std(t)
    assert float(lam[0]) == 0.0 and float(alpha[0]) == 1.0
    assert torch.all(torch.diff(lam) > 0)
    assert torch.all(torch.diff(alpha) <= 0)
    assert torch.all((alpha > 0) & (alpha <= 1))
    assert torch.all(torch.diff(lam / alpha) > 0)  # the noise-to-signal ratio, used by the denoiser


@pytest.mark.parametrize("sde", SDES)
def test_prior_sample(sde):
    g = torch.Generator().manual_seed(0)
    x = sde.prior_sample((4000, 3, 2, 2), g)
    assert x.shape == (4000, 3, 2, 2) and x.dtype == torch.float32
    expected = 1.0 if isinstance(sde, fpscore.VPSDE) else float(sde.marginal_std(1.0))
    assert sde.prior_std() == pytest.approx(expected)
    n = x.numel()
    assert abs(float(x.mean())) < 5 * expected / math.sqrt(n)
    assert float(x.std()) == pytest.approx(expected, rel=5 * math.sqrt(0.5 / n))
    again = sde.prior_sample((4000, 3, 2, 2), torch.Generator().manual_seed(0))
    assert torch.equal(x, again)
    x64 = sde.prior_sample((3,), g, T=0.5, dtype=torch.float64)
    assert x64.dtype == torch.float64


@pytest.mark.parametrize("sde", SDES)
def test_marginals_match_monte_carlo_of_the_forward_sde(sde):
    """Euler–Maruyama on dx = f dt + g dW from x₀ = 1: mean α(t), std λ(t) within the sampling error."""
    n_paths, n_steps = 40000, 1000
    g = torch.Generator().manual_seed(1)
    x = torch.ones(n_paths, dtype=torch.float64)
    dt = 1.0 / n_steps
    checks = {n_steps // 4: None, n_steps: None}
    for k in range(n_steps):
        t = torch.tensor(k * dt, dtype=torch.float64)
        x = (
            x
            + sde.drift(x, t) * dt
            + sde.g(t) * math.sqrt(dt) * torch.randn(n_paths, generator=g, dtype=x.dtype)
        )
        if k + 1 in checks:
            checks[k + 1] = x.clone()
    for k, xs in checks.items():
        t = k * dt
        alpha, lam = float(sde.alpha(t)), float(sde.marginal_std(t))
        se_mean, se_std = lam / math.sqrt(n_paths), lam / math.sqrt(2 * n_paths)
        disc = 5 * dt  # Euler–Maruyama's weak error is O(Δt): measured below 0.7 % here
        assert float(xs.mean()) == pytest.approx(alpha, abs=5 * se_mean + disc * alpha)
        assert float(xs.std()) == pytest.approx(lam, abs=5 * se_std + disc * lam)
