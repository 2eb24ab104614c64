"""The DDPM and EDM baselines against independent references: the schedules from their formulas,
samplers exact for ideal models (a point mass, Gaussian data in closed form), the losses at known
values, a short run through the trainer, and bad input."""

import inspect
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from tiny import tiny_config  # noqa: E402

from fpscore.data.dataset import InMemoryDataset  # noqa: E402
from fpscore.evaluation.baselines import (  # noqa: E402
    DDPMObjective,
    DDPMSchedule,
    EDMDenoiser,
    EDMObjective,
    ddim_sample,
    ddpm_sample,
    ddpm_start,
    edm_sample,
    edm_sigmas,
    edm_start,
)
from fpscore.training.models import UNet  # noqa: E402
from fpscore.training.trainer import Trainer  # noqa: E402

T = 1000
ABAR = np.cumprod(1.0 - np.linspace(1e-4, 0.02, T))  # Ho et al.'s schedule, independently
RATIO = np.sqrt((1.0 - ABAR) / ABAR)
SD = 0.5  # EDM's sigma_data


@pytest.fixture
def schedule():
    return DDPMSchedule()


def clean_images(batch=2, seed=0):
    """(batch, 1, 8, 8) images in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 1, 8, 8, generator=g)


def noise(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def abar_at(t_in):
    """ᾱ at the step index the network is told: t_in = i/T."""
    i = torch.round(t_in * T).long()
    return torch.from_numpy(ABAR)[i].to(torch.float32).reshape(-1, 1, 1, 1)


def point_mass_eps(y0):
    """The exact ε̂(xᵢ, i) = (xᵢ − √ᾱᵢ·y₀)/√(1 − ᾱᵢ) for data concentrated at y₀ ([−1, 1] units)."""

    def eps(x, t_in):
        abar = abar_at(t_in)
        return (x - abar.sqrt() * y0) / (1.0 - abar).sqrt()

    return eps


def point_mass_denoiser(y0):
    return lambda x, sigma: y0.expand_as(x).clone()


# -- schedules ----------------------------------------------------------------------------------------


def test_ddpm_schedule_matches_numpy(schedule):
    np.testing.assert_allclose(schedule.alphas_cumprod, ABAR, rtol=1e-13)
    np.testing.assert_allclose(schedule.betas[[0, -1]], [1e-4, 0.02], rtol=1e-15)
    assert schedule.alphas_cumprod[-1] == pytest.approx(4.0e-5, rel=0.02)  # Ho et al.: ᾱ_T ≈ 4e-5
    abar_prev = np.concatenate([[1.0], ABAR[:-1]])
    beta = 1.0 - ABAR / abar_prev
    np.testing.assert_allclose(schedule.posterior_variance, beta * (1 - abar_prev) / (1 - ABAR), rtol=1e-10)
    assert repr(schedule) == "DDPMSchedule(num_steps=1000, beta_start=0.0001, beta_end=0.02)"
    assert DDPMSchedule(1).betas.tolist() == [1e-4]


def test_index_for_noise_round_trip(schedule):
    for i in (0, 1, 10, 250, 998, 999):
        assert schedule.index_for_noise(RATIO[i]) == i
    for i in (1, 10, 250, 999):  # between two ratios: the first index that reaches it
        assert schedule.index_for_noise(0.5 * (RATIO[i - 1] + RATIO[i])) == i
    assert schedule.index_for_noise(0.0) == 0
    with pytest.raises(ValueError, match="noise ratio at step"):
        schedule.index_for_noise(1.01 * RATIO[-1])


def test_edm_sigmas():
    s = edm_sigmas()
    assert s.dtype == np.float64 and s.shape == (19,)
    assert s[0] == pytest.approx(80.0, rel=1e-14) and s[17] == pytest.approx(0.002, rel=1e-12)
    assert s[18] == 0.0 and np.all(np.diff(s) < 0)
    # eq. 5 at i = 9 of N = 18: (80^(1/7) + 9/17·(0.002^(1/7) − 80^(1/7)))^7
    assert s[9] == pytest.approx(
        (1.8701222535385968 + 9 / 17 * (0.41155971378360795 - 1.8701222535385968)) ** 7
    )
    assert s[9] == pytest.approx(1.92333983704, rel=1e-10)
    assert edm_sigmas(1).tolist() == [80.0, 0.0]


# -- samplers with ideal models -----------------------------------------------------------------------


def test_ddpm_and_ddim_return_a_point_mass_from_any_noise(schedule):
    x0 = clean_images()
    eps = point_mass_eps(2 * x0 - 1)
    g = torch.Generator().manual_seed(1)
    for seed in (2, 3):
        xt = noise(x0.shape, seed)
        torch.testing.assert_close(ddpm_sample(eps, schedule, xt, generator=g), x0, atol=1e-4, rtol=0)
        torch.testing.assert_close(ddim_sample(eps, schedule, xt), x0, atol=1e-4, rtol=0)
        torch.testing.assert_close(
            ddim_sample(eps, schedule, xt, 20, eta=1.0, generator=g), x0, atol=1e-4, rtol=0
        )
    # from a noisy image: start where the forward process has its noise level
    y0 = x0 + 0.1 * noise(x0.shape, 4)
    index, x_start = ddpm_start(schedule, y0, 0.1, torch.Generator().manual_seed(5))
    assert RATIO[index - 1] < 0.2 <= RATIO[index]
    torch.testing.assert_close(
        ddpm_sample(eps, schedule, x_start, start_index=index, generator=g), x0, atol=1e-4, rtol=0
    )
    torch.testing.assert_close(
        ddim_sample(eps, schedule, x_start, 10, start_index=index), x0, atol=1e-4, rtol=0
    )


def test_ddpm_start_is_a_draw_of_the_forward_process(schedule):
    # x_start = √ᾱᵢ·y + (unit noise)·√(1 − ᾱᵢ): the residual has exactly the forward process's std
    x0 = torch.full((1, 1, 64, 64), 0.5)
    sigma = 0.1
    y0 = x0 + sigma * noise(x0.shape, 0)
    index, x_start = ddpm_start(schedule, y0, sigma, torch.Generator().manual_seed(1))
    residual = (x_start - math.sqrt(ABAR[index]) * (2 * x0 - 1)) / math.sqrt(1 - ABAR[index])
    assert float(residual.mean()) == pytest.approx(0.0, abs=4 / 64)
    assert float(residual.std()) == pytest.approx(1.0, abs=4 / math.sqrt(2 * 64 * 64))


def test_edm_returns_a_point_mass():
    x0 = clean_images()
    D = point_mass_denoiser(2 * x0 - 1)
    for seed in (2, 3):
        torch.testing.assert_close(edm_sample(D, noise(x0.shape, seed)), x0, atol=1e-5, rtol=0)
    sigma = 0.1
    start_sigma, x_start = edm_start(x0 + sigma * noise(x0.shape, 4), sigma)
    assert start_sigma == pytest.approx(0.2)
    torch.testing.assert_close(edm_sample(D, x_start, start_sigma=start_sigma), x0, atol=1e-5, rtol=0)


def test_evaluation_counts_and_callbacks(schedule):
    x0 = clean_images(1)
    calls, seen = [], []

    def D(x, sigma):
        calls.append(sigma.clone())
        return torch.zeros_like(x)

    edm_sample(D, noise(x0.shape, 0), callback=seen.append, progress=True)
    assert len(calls) == 35 and len(seen) == 18  # Heun: 2 evaluations a step, 1 on the last
    np.testing.assert_allclose([float(c[0]) for c in calls[::2]], edm_sigmas()[:-1], rtol=1e-6)
    calls.clear()
    edm_sample(D, noise(x0.shape, 0), start_sigma=1.0)
    assert float(calls[0][0]) == 1.0 and len(calls) == 2 * int(np.sum(edm_sigmas() < 1.0)) - 1

    indices = []

    def eps(x, t_in):
        indices.append(int(torch.round(t_in[0] * T)))
        return torch.zeros_like(x)

    ddim_sample(eps, schedule, noise(x0.shape, 0), 50, callback=seen.append)
    assert len(indices) == 50 and indices[0] == 999 and indices[-1] == 0
    assert np.all(np.diff(indices) < 0)
    indices.clear()
    ddpm_sample(eps, schedule, noise(x0.shape, 0), start_index=9)
    assert indices == list(range(9, -1, -1))


def test_stochastic_samplers_draw_only_from_the_generator(schedule):
    eps = lambda x, t: 0.5 * x  # noqa: E731
    xt = noise((2, 1, 8, 8), 0)

    def run(sampler, seed, global_seed):
        torch.manual_seed(global_seed)
        return sampler(eps, schedule, xt, generator=torch.Generator().manual_seed(seed), start_index=20)

    ddim_eta1 = lambda *a, **k: ddim_sample(*a, steps=10, eta=1.0, **k)  # noqa: E731
    for sampler in (ddpm_sample, ddim_eta1):
        assert torch.equal(run(sampler, 1, 10), run(sampler, 1, 11))
        assert not torch.equal(run(sampler, 1, 10), run(sampler, 2, 10))


def gaussian_models(mu, s, schedule):
    """The exact ε̂ and D for data y ~ N(mu, s²) per pixel ([−1, 1] units)."""

    def eps(x, t_in):
        abar = abar_at(t_in)
        return (1 - abar).sqrt() * (x - abar.sqrt() * mu) / (abar * s**2 + 1 - abar)

    def D(x, sigma):
        sigma = sigma.reshape(-1, 1, 1, 1)
        return mu + s**2 / (s**2 + sigma**2) * (x - mu)

    return eps, D


def test_samplers_draw_gaussian_data(schedule):
    mu, s, n = 0.3, 0.5, 4096
    eps, D = gaussian_models(mu, s, schedule)
    xt = noise((1, 1, 64, 64), 0)
    g = torch.Generator().manual_seed(1)
    samples = {
        "ancestral": ddpm_sample(eps, schedule, xt, generator=g),
        # DDIM is first order and Heun second order in the step: at the papers' 50 and 18 steps this
        # data's std is 5% off; finer steps bring the discretisation error below the sampling error
        "ddim": ddim_sample(eps, schedule, xt, 1000),
        "edm": edm_sample(D, xt, steps=100),
    }
    for name, out in samples.items():
        y = 2 * out.double() - 1
        assert float(y.mean()) == pytest.approx(mu, abs=4 * s / math.sqrt(n)), name
        assert float(y.std()) == pytest.approx(s, abs=4 * s / math.sqrt(2 * n)), name


def test_edm_denoiser_preconditioning():
    seen = {}

    class Net(torch.nn.Module):
        def forward(self, x, t):
            seen["x"], seen["t"] = x, t
            return torch.ones_like(x)

    D = EDMDenoiser(Net(), sigma_data=SD)
    x = noise((2, 1, 8, 8), 0)
    sigma = torch.tensor([0.1, 3.0])
    out = D(x, sigma)
    for b, sg in enumerate(sigma.tolist()):
        norm = math.sqrt(sg**2 + SD**2)
        expected = SD**2 / norm**2 * x[b] + sg * SD / norm  # c_skip·x + c_out·1
        torch.testing.assert_close(out[b], expected)
        torch.testing.assert_close(seen["x"][b], x[b] / norm)
        assert float(seen["t"][b]) == pytest.approx(math.log(sg) / 4)
    assert D(x, 2.0).shape == x.shape  # a scalar σ is broadcast over the batch


# -- losses -------------------------------------------------------------------------------------------


def test_losses_vanish_for_ideal_models(schedule):
    x0 = clean_images(1).expand(16, -1, -1, -1)
    y0 = 2 * x0[:1] - 1
    g = torch.Generator().manual_seed(0)
    loss, parts = DDPMObjective(schedule)(point_mass_eps(y0), None, x0, None, g)
    assert float(loss) < 1e-8 and parts.keys() == {"ddpm"}
    loss, parts = EDMObjective()(point_mass_denoiser(y0), None, x0, None, g)
    assert float(loss) == 0.0 and parts.keys() == {"edm"}


def test_losses_at_known_values(schedule):
    x = clean_images(8)
    seed = 7
    loss, parts = DDPMObjective(schedule)(
        lambda x, t: torch.zeros_like(x), None, x, None, torch.Generator().manual_seed(seed)
    )
    # the same draws, in the documented order: one index per sample, then z
    g = torch.Generator().manual_seed(seed)
    torch.randint(T, (8,), generator=g)
    z = torch.randn(x.shape, generator=g)
    assert float(loss) == pytest.approx(float((z**2).mean()), rel=1e-6)
    assert parts["ddpm"] == pytest.approx(float(loss))

    # EDM with D = 0: λ(σ)·mean(y²) with ln σ ~ N(−1.2, 1.2²) drawn first
    loss, _ = EDMObjective()(
        lambda x, s: torch.zeros_like(x), None, x, None, torch.Generator().manual_seed(seed)
    )
    sigma = torch.exp(torch.randn(8, generator=torch.Generator().manual_seed(seed)) * 1.2 - 1.2).double()
    weight = (sigma**2 + SD**2) / (sigma * SD) ** 2
    expected = (weight * ((2 * x.double() - 1) ** 2).reshape(8, -1).mean(1)).mean()
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


def test_objectives_draw_only_from_the_generator(schedule):
    x = clean_images(4)
    for objective, model in (
        (DDPMObjective(schedule), lambda x, t: 0.5 * x + t.reshape(-1, 1, 1, 1)),
        (EDMObjective(), lambda x, s: 0.5 * x),
    ):

        def loss(seed, global_seed, objective=objective, model=model):
            torch.manual_seed(global_seed)
            return float(objective(model, None, x, None, torch.Generator().manual_seed(seed))[0])

        assert loss(1, 10) == loss(1, 11)
        assert loss(1, 10) != loss(2, 10)
        assert objective.names == [objective.spec] and objective.spec in repr(objective).lower()


# -- through the trainer ------------------------------------------------------------------------------


def tiny_unet(time_scale=1000.0):
    return UNet(1, 8, 8, (1, 2), 1, (4,), 0.0, "fourier", time_scale)


@pytest.mark.skipif(
    "objective" not in inspect.signature(Trainer).parameters, reason="Trainer takes no model/objective yet"
)
def test_short_training_runs(tmp_path, schedule):
    images = clean_images(3).numpy()
    dataset = InMemoryDataset(images[None], times=[0.0])
    arms = {
        "ddpm": (tiny_unet(), DDPMObjective(schedule)),
        "edm": (EDMDenoiser(tiny_unet(time_scale=1.0)), EDMObjective()),
    }
    for name, (model, objective) in arms.items():
        before = {k: v.clone() for k, v in model.state_dict().items()}
        trainer = Trainer(
            tiny_config("model.dropout=0.0", "data.scores_zero=true"),
            dataset,
            times=[0.0, 1.0],
            out_dir=tmp_path / name,
            model=model,
            objective=objective,
        )
        metrics = trainer.train(3)
        assert trainer.step == 3 and math.isfinite(metrics[f"loss_{name}"])
        after = trainer.model.state_dict()
        assert any(not torch.equal(before[k], after[k]) for k in before)
        xt = noise((2, 1, 8, 8), 0)
        net = trainer.ema.module
        out = ddim_sample(net, schedule, xt, 5) if name == "ddpm" else edm_sample(net, xt, steps=3)
        assert out.shape == xt.shape and torch.isfinite(out).all()


# -- bad input ----------------------------------------------------------------------------------------


def test_bad_input(schedule):
    for kwargs in (
        {"num_steps": 0},
        {"num_steps": 2.5},
        {"beta_start": 0.0},
        {"beta_start": 0.03, "beta_end": 0.02},
        {"beta_end": 1.0},
    ):
        with pytest.raises(ValueError, match=r"num_steps|beta"):
            DDPMSchedule(**kwargs)
    eps = lambda x, t: torch.zeros_like(x)  # noqa: E731
    D = lambda x, s: torch.zeros_like(x)  # noqa: E731
    x = torch.zeros(2, 1, 8, 8)
    cases = [
        (lambda: ddim_sample(eps, schedule, x, 0), "steps"),
        (lambda: ddim_sample(eps, schedule, x, eta=-1.0), "eta"),
        (lambda: ddpm_sample(eps, schedule, x, start_index=1000), "start_index"),
        (lambda: ddpm_sample(eps, schedule, x[0]), r"\(B, C, H, W\)"),
        (lambda: ddpm_sample(eps, "linear", x), "DDPMSchedule"),
        (lambda: ddpm_start(schedule, x, -0.1), "sigma"),
        (lambda: ddpm_start(schedule, x, 100.0), "sigma"),
        (lambda: edm_sigmas(0), "steps"),
        (lambda: edm_sigmas(sigma_min=1.0, sigma_max=0.5), "sigma_min < sigma_max"),
        (lambda: edm_sigmas(rho=0.0), "rho"),
        (lambda: edm_sample(D, x, steps=0), "steps"),
        (lambda: edm_sample(D, x[0]), r"\(B, C, H, W\)"),
        (lambda: edm_sample(D, x, start_sigma=0.0), "start_sigma"),
        (lambda: edm_start(x, 0.0), "sigma"),
        (lambda: EDMDenoiser(tiny_unet())(x, torch.ones(3)), r"shape \(2,\)"),
        (lambda: EDMDenoiser(tiny_unet(), sigma_data=0.0), "sigma_data"),
        (lambda: EDMObjective(P_std=-1.0), "P_std"),
        (lambda: DDPMObjective(schedule)(eps, None, x[0], None, None), r"\(B, C, H, W\)"),
        (lambda: EDMObjective()(D, None, x[0], None, None), r"\(B, C, H, W\)"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
