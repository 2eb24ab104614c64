"""Losses against hand computations on tiny tensors; the sliced Wasserstein loss against POT."""

import pytest

import fpscore

torch = pytest.importorskip("torch")
ot = pytest.importorskip("ot")
pytestmark = pytest.mark.torch

from fpscore.training.config import parse_loss  # noqa: E402
from fpscore.training.losses import (  # noqa: E402
    Objective,
    dsm_loss,
    perturb,
    random_projections,
    ssm_loss,
    sw_loss,
    time_weight,
)

SDE = fpscore.VPSDE(0.1, 20.0)  # α ≠ 1, so every α in the formulas is exercised


def _data(b=3, shape=(1, 2, 2), seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((b, *shape), generator=g, dtype=torch.float64)
    t = torch.tensor([0.1, 0.5, 0.9][:b], dtype=torch.float64)
    z = torch.randn((b, *shape), generator=g, dtype=torch.float64)
    return x, t, z


class Scale(torch.nn.Module):
    """ε̂(x, t) = a·x: a linear model whose losses can be written down by hand."""

    def __init__(self, a=0.7):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(a, dtype=torch.float64))

    def forward(self, x, t):
        return self.a * x


def test_parse_loss():
    assert parse_loss("dsm") == [(1.0, "dsm")]
    assert parse_loss("dsm+0.1*sw") == [(1.0, "dsm"), (0.1, "sw")]
    assert parse_loss(" 2*dsm + ssm*1e-2 ") == [(2.0, "dsm"), (0.01, "ssm")]
    for bad in ["", "dsn", "dsm+dsm", "0.1*sw*2", "x*sw", "dsm+"]:
        with pytest.raises(ValueError):
            parse_loss(bad)


def test_perturb_and_weights_by_hand():
    x, t, z = _data()
    xt = perturb(SDE, x, t, z)
    for i in range(3):
        a, lam = float(SDE.alpha(float(t[i]))), float(SDE.marginal_std(float(t[i])))
        torch.testing.assert_close(xt[i], a * x[i] + lam * z[i])
    torch.testing.assert_close(time_weight(SDE, t, "unit"), torch.ones(3, dtype=torch.float64))
    beta = 0.1 + t * 19.9
    torch.testing.assert_close(time_weight(SDE, t, "paper"), 1.0 / (2.0 * beta))
    with pytest.raises(ValueError, match="weighting"):
        time_weight(SDE, t, "other")


@pytest.mark.parametrize("weighting", ["unit", "paper"])
def test_dsm_by_hand(weighting):
    x, t, z = _data()
    model = Scale(0.7)
    expected = 0.0
    for i in range(3):
        ti = float(t[i])
        xt = float(SDE.alpha(ti)) * x[i] + float(SDE.marginal_std(ti)) * z[i]
        w = 1.0 if weighting == "unit" else 1.0 / (2.0 * float(SDE.g(ti)) ** 2)
        expected += w * float(((0.7 * xt - z[i]) ** 2).mean()) / 3
    assert dsm_loss(model, SDE, x, t, z, weighting=weighting).item() == pytest.approx(expected, rel=1e-12)


def test_dsm_is_zero_for_the_exact_noise_predictor():
    x, t, z = _data()

    def exact(xt, tt):
        return (xt - SDE.alpha(tt)[:, None, None, None] * x) / SDE.marginal_std(tt)[:, None, None, None]

    assert float(dsm_loss(exact, SDE, x, t, z)) == pytest.approx(0.0, abs=1e-24)


def test_ssm_by_hand():
    """ε̂ = a·x̃: ½‖ε̂‖² − λ·vᵀ∇ₓ(vᵀε̂) = ½a²‖x̃‖² − λ·a‖v‖², per pixel, averaged over projections."""
    x, t, z = _data()
    g = torch.Generator().manual_seed(5)
    v = torch.randn((2, *x.shape), generator=g, dtype=torch.float64)
    a = 0.7
    xt = perturb(SDE, x, t, z)
    lam = SDE.marginal_std(t)
    d = x[0].numel()
    per = 0.5 * a**2 * (xt**2).flatten(1).sum(1) - lam * a * (v**2).flatten(2).sum(2).mean(0)
    for weighting in ("unit", "paper"):
        w = time_weight(SDE, t, weighting)
        got = ssm_loss(Scale(a), SDE, x, t, z, v, weighting=weighting)
        assert got.item() == pytest.approx(float((w * per / d).mean()), rel=1e-12)


def test_ssm_gradient_flows_to_the_parameters():
    x, t, z = _data()
    model = Scale(0.7)
    v = torch.randn((1, *x.shape), dtype=torch.float64)
    ssm_loss(model, SDE, x, t, z, v).backward()
    assert model.a.grad is not None and torch.isfinite(model.a.grad)


def test_sw_equals_pot_squared():
    x, t, z = _data(b=6, shape=(1, 3, 3), seed=2)
    x = x.float()
    z = z.float()
    t = torch.rand(6, generator=torch.Generator().manual_seed(3))
    model = Scale(0.3).float()
    proj = random_projections(9, 16, torch.Generator().manual_seed(4))
    assert proj.shape == (9, 16)
    torch.testing.assert_close(proj.norm(dim=0), torch.ones(16))
    got = sw_loss(model, SDE, x, t, z, proj)
    xt = perturb(SDE, x, t, z)
    lam, alpha = SDE.marginal_std(t)[:, None, None, None], SDE.alpha(t)[:, None, None, None]
    x0 = (xt - lam * 0.3 * xt) / alpha
    pot = ot.sliced_wasserstein_distance(x0.flatten(1).detach(), x.flatten(1), projections=proj)
    assert got.item() == pytest.approx(float(pot) ** 2, rel=1e-5)


def test_sw_has_finite_gradients_when_the_batches_coincide():
    x, t, z = _data(b=3)
    x, t = x.float(), t.float()
    # ε̂ = the exact noise, so x̂₀ = xⁿ exactly and the two batches coincide
    net = torch.nn.Linear(1, 1)

    def exact(xt, tt):
        eps = (xt - SDE.alpha(tt)[:, None, None, None] * x) / SDE.marginal_std(tt)[:, None, None, None]
        return eps + 0.0 * net.weight.sum()

    proj = random_projections(4, 8, torch.Generator().manual_seed(0))
    loss = sw_loss(exact, SDE, x, t, z.float(), proj)
    assert loss.item() == pytest.approx(0.0, abs=1e-10)
    loss.backward()
    assert net.weight.grad is not None and torch.all(torch.isfinite(net.weight.grad))
    # POT's own (square-rooted) distance has a NaN gradient there: why the loss is squared
    y = x.flatten(1).clone().requires_grad_(True)
    ot.sliced_wasserstein_distance(y, x.flatten(1), projections=proj).backward()
    assert not torch.all(torch.isfinite(y.grad))


def test_objective_draws_fresh_projections_each_step_and_repeats_under_a_seed():
    x, t, _ = _data(b=3, shape=(1, 3, 3))
    x, t = x.float(), t.float()
    model = Scale(0.3).float()
    objective = Objective("sw", sw_projections=4)

    def run(seed, steps=3):
        g = torch.Generator().manual_seed(seed)
        return [objective(model, SDE, x, t, g)[0].item() for _ in range(steps)]

    first, again = run(0), run(0)
    assert first == again  # reproducible from the seed
    assert len(set(first)) == 3  # new noise and projections at every step
    assert run(1) != first


def test_objective_sums_terms_with_their_coefficients():
    x, t, _ = _data(b=3, shape=(1, 3, 3))
    x, t = x.float(), t.float()
    model = Scale(0.3).float()
    total, parts = Objective("2*dsm+0.5*sw+ssm")(model, SDE, x, t, torch.Generator().manual_seed(0))
    assert set(parts) == {"dsm", "sw", "ssm"}
    assert total.item() == pytest.approx(2 * parts["dsm"] + 0.5 * parts["sw"] + parts["ssm"], rel=1e-5)
    # the same noise as a plain DSM objective drawn from the same seed
    _, dsm_only = Objective("dsm")(model, SDE, x, t, torch.Generator().manual_seed(0))
    assert dsm_only["dsm"] == pytest.approx(parts["dsm"], rel=1e-6)
    total.backward()
    assert torch.isfinite(model.a.grad)


def test_objective_rejects_bad_settings():
    with pytest.raises(ValueError):
        Objective("dsm", weighting="none")
    with pytest.raises(ValueError):
        Objective("sw", sw_projections=0)
    assert Objective("dsm").names == ["dsm"]
