"""The DLG sampler of Denoising MCMC on one-pixel images from a two-component Gaussian mixture.

Under a VESDE the marginal at t is the mixture convolved with N(0, λ(t)²): Σ w_j N(μ_j, s² + λ²).
That gives the exact score and, for the levels σ_k (λ(t_k) = σ_k), the exact posterior over the
levels, log p(k | x) = log p_{σ_k}(x) + const: an oracle classifier. The samples are compared with
the mixture's own moments and weights, tolerances from their standard errors.
"""

import math

import numpy as np
import pytest

import fpscore

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from fpscore import sampling as S  # noqa: E402
from fpscore.training.noise_classifier import NoiseLevelClassifier, noise_levels  # noqa: E402

W = (0.3, 0.7)
MU = (-2.0, 2.0)
SD = 0.5
SDE = fpscore.VESDE(25.0)
LEVELS = noise_levels(0.05, 5.0, 10)
MIX_MEAN = sum(w * m for w, m in zip(W, MU, strict=True))
MIX_VAR = SD**2 + sum(w * m * m for w, m in zip(W, MU, strict=True)) - MIX_MEAN**2


def component_logpdf(x: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """(B, 2): log w_j + log N(x; μ_j, var) for one-pixel images x (B, 1, 1, 1); var (B, 1) or scalar."""
    w, mu = torch.tensor(W, dtype=x.dtype), torch.tensor(MU, dtype=x.dtype)
    xf = x.reshape(-1, 1)
    return torch.log(w) - 0.5 * (xf - mu) ** 2 / var - 0.5 * torch.log(2 * math.pi * var)


def mixture_score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    var = SD**2 + SDE.marginal_std(t).reshape(-1, 1) ** 2
    r = torch.softmax(component_logpdf(x, var), dim=1)
    mu = torch.tensor(MU, dtype=x.dtype)
    return (r * (mu - x.reshape(-1, 1)) / var).sum(dim=1).reshape(x.shape)


def oracle(x: torch.Tensor) -> torch.Tensor:
    """The exact log-posterior over LEVELS (uniform prior), up to a constant per image."""
    var = SD**2 + torch.as_tensor(LEVELS, dtype=x.dtype) ** 2
    return torch.stack([torch.logsumexp(component_logpdf(x, v), dim=1) for v in var], dim=1)


def prior(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Generator]:
    g = torch.Generator().manual_seed(seed)
    return SDE.prior_sample((n, 1, 1, 1), g, dtype=torch.float64), g


class Counter:
    def __init__(self, fn):
        self.fn, self.calls, self.rows = fn, 0, 0

    def __call__(self, x, *args):
        self.calls += 1
        self.rows += x.shape[0]
        return self.fn(x, *args)


def test_last_state_handoff_reproduces_the_mixture():
    """Without the lowest-level selection, each hand-off is a draw of p(x | k) up to the Langevin
    step's bias, which grows with η (at η = 0.8 the modes came out about 3 % too wide here): η = 0.4."""
    n = 8000
    x, g = prior(n)
    y = S.dlg(
        mixture_score, SDE, x, classifier=oracle, levels=LEVELS, eta=0.4, handoff="last", generator=g
    ).samples
    y = y.flatten()
    assert y.shape == (n,)
    se_mean = math.sqrt(MIX_VAR / n)
    assert float(y.mean()) == pytest.approx(MIX_MEAN, abs=5 * se_mean)
    # The bimodal mixture is platykurtic, so the Gaussian standard error of a variance bounds its own.
    assert float(y.var()) == pytest.approx(MIX_VAR, rel=5 * math.sqrt(2.0 / n))
    upper = y > 0
    assert float(upper.double().mean()) == pytest.approx(W[1], abs=5 * math.sqrt(W[0] * W[1] / n))
    for mode, (w, mu) in zip((~upper, upper), zip(W, MU, strict=True), strict=True):
        m = w * n
        assert float(y[mode].mean()) == pytest.approx(mu, abs=5 * SD / math.sqrt(m))
        assert float(y[mode].std()) == pytest.approx(SD, rel=5 / math.sqrt(2 * m))


def test_chains_visit_the_levels_uniformly_and_lowest_handoff_finds_both_modes():
    """The chains' target p(x, k) ∝ p_{σ_k}(x) has a uniform level marginal. The paper's hand-off
    (the window's lowest level) selects lower levels than the last state, at a price: its choice
    depends on the levels that follow, so it is not exact; both modes with about their weights."""
    n = 4000
    x, g = prior(n, seed=1)
    res = S.dlg(mixture_score, SDE, x, classifier=oracle, levels=LEVELS, n_rounds=2, generator=g)
    counts = res.info["level_counts"]
    assert counts.sum() == 2 * 10 * n
    np.testing.assert_allclose(counts / counts.mean(), 1.0, atol=0.15)
    x, g = prior(n, seed=1)
    last = S.dlg(mixture_score, SDE, x, classifier=oracle, levels=LEVELS, handoff="last", generator=g)
    assert res.info["handoff_levels"].mean() < 0.5 * last.info["handoff_levels"].mean()
    y = res.samples.flatten()
    assert float((y > 0).double().mean()) == pytest.approx(W[1], abs=0.06)
    for mode, mu in zip((y < 0, y > 0), MU, strict=True):
        assert float(y[mode].mean()) == pytest.approx(mu, abs=0.1)
        assert SD * 0.9 < float(y[mode].std()) < SD * 1.3


def test_variance_preserving_process_on_gaussian_data():
    """VPSDE, data N(m, s²): λ/α = σ and α² + λ² = 1 give α_k² = 1/(1 + σ_k²), λ_k² = σ_k²/(1 + σ_k²),
    and the marginal at t_k is N(α_k·m, α_k²s² + λ_k²): the exact posterior over the levels. The
    Langevin step's own bias widens the samples with η (about 12–16 % in variance at η = 0.8 here),
    so a small η: 0.1."""
    m, s, n = 0.7, 0.3, 6000
    sde = fpscore.VPSDE(0.1, 20.0)
    levels = noise_levels(0.05, 5.0, 8)

    def score(x, t):
        a = sde.alpha(t).reshape(-1, 1, 1, 1)
        return -(x - a * m) / (a**2 * s**2 + sde.marginal_std(t).reshape(-1, 1, 1, 1) ** 2)

    def posterior(x):
        a2 = 1.0 / (1.0 + torch.as_tensor(levels, dtype=x.dtype) ** 2)
        var = a2 * s**2 + (1.0 - a2)
        return -0.5 * (x.reshape(-1, 1) - a2.sqrt() * m) ** 2 / var - 0.5 * torch.log(var)

    g = torch.Generator().manual_seed(4)
    x = sde.prior_sample((n, 1, 1, 1), g, dtype=torch.float64)
    y = S.dlg(score, sde, x, classifier=posterior, levels=levels, eta=0.1, handoff="last", generator=g)
    y = y.samples.flatten()
    assert float(y.mean()) == pytest.approx(m, abs=5 * s / math.sqrt(n))
    assert float(y.var()) == pytest.approx(s**2, rel=5 * math.sqrt(2.0 / n))


@pytest.mark.parametrize(("rounds", "t_end"), [(1, 1e-3), (3, 1e-3), (3, 0.01)])
def test_network_evaluations_are_counted_exactly(rounds, t_end):
    B, n_skip, n_steps, init_steps = 6, 4, 3, 5
    model, judge = Counter(mixture_score), Counter(oracle)
    x, g = prior(B)
    res = S.dlg(
        model,
        SDE,
        x,
        classifier=judge,
        levels=LEVELS,
        n_skip=n_skip,
        n_steps=n_steps,
        n_rounds=rounds,
        init_steps=init_steps,
        t_end=t_end,
        generator=g,
    )
    info = res.info
    # Heun: two evaluations per step (every step ends at t > 0); a hand-off is Heun then Tweedie,
    # once per distinct level among the chains, or Tweedie alone for a level whose time, λ(t_k) = σ_k,
    # is at or below t_end.
    lam_end = float(SDE.marginal_std(t_end))
    calls, rows = 2 * init_steps + rounds * n_skip, B * (2 * init_steps + rounds * n_skip)
    for handed in np.split(info["handoff_levels"], rounds):
        for level in np.unique(handed):
            cost = 1 if LEVELS[level] <= lam_end * (1 + 1e-9) else 2 * n_steps + 1
            calls += cost
            rows += cost * int(np.sum(handed == level))
    assert (model.calls, model.rows) == (calls, rows)
    assert judge.calls == rounds * n_skip and judge.rows == B * rounds * n_skip
    assert (info["model_calls"], info["model_evals"]) == (model.calls, model.rows)
    assert (info["classifier_calls"], info["classifier_evals"]) == (judge.calls, judge.rows)
    assert info["n_samples"] == B * rounds == res.samples.shape[0]
    assert info["nfe_per_sample"] == pytest.approx(model.rows / (B * rounds))
    assert info["classifier_evals_per_sample"] == pytest.approx(n_skip)
    if t_end == 0.01:
        assert np.any(LEVELS[info["handoff_levels"]] <= lam_end), "no Tweedie-only hand-off exercised"


def test_callback_argmax_rule_and_other_integrators():
    seen, best = [], []

    def recording_oracle(x):
        logits = oracle(x)
        best.append(logits.argmax(dim=1))
        return logits

    x, g = prior(5)
    res = S.dlg(
        mixture_score,
        SDE,
        x,
        classifier=recording_oracle,
        levels=LEVELS,
        n_skip=3,
        n_rounds=2,
        level_rule="argmax",
        integrator="euler",
        generator=g,
        callback=seen.append,
    )
    assert [e["i"] for e in seen] == list(range(6))
    assert [e["handed_off"] for e in seen] == [False, False, True] * 2
    for e, k in zip(seen, best, strict=True):  # the most likely level of the exact posterior
        assert torch.equal(e["level"], k)
    assert res.samples.shape == (10, 1, 1, 1) and torch.isfinite(res.samples).all()
    x, g = prior(5)
    out = S.dlg(mixture_score, SDE, x, classifier=oracle, levels=LEVELS, integrator=S.rk45_ode, generator=g)
    assert out.samples.shape == (5, 1, 1, 1)


def test_levels_are_drawn_from_the_classifiers_softmax():
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    logits = torch.as_tensor(np.log(probs) + 3.0)  # any constant: softmax ignores it

    def fixed(x):
        return logits.expand(x.shape[0], -1)

    n = 2000
    x, g = prior(n)
    res = S.dlg(mixture_score, SDE, x, classifier=fixed, levels=LEVELS[:4], n_skip=5, generator=g)
    draws = 5 * n
    freq = res.info["level_counts"] / draws
    np.testing.assert_allclose(freq, probs, atol=5 * math.sqrt(0.25 / draws))


def test_same_seed_same_samples():
    runs = []
    for _ in range(2):
        x, g = prior(7, seed=3)
        runs.append(S.dlg(mixture_score, SDE, x, classifier=oracle, levels=LEVELS, generator=g).samples)
    assert torch.equal(*runs)


def test_levels_come_from_the_classifier():
    clf = NoiseLevelClassifier(1, LEVELS)
    x, g = prior(4)
    res = S.dlg(mixture_score, SDE, x, classifier=clf, n_skip=2, n_steps=2, generator=g)
    np.testing.assert_array_equal(res.info["levels"], LEVELS)
    assert res.samples.shape == (4, 1, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"eta": 0.0}, ValueError, "eta"),
        ({"eta": -1.0}, ValueError, "eta"),
        ({"n_skip": 0}, ValueError, "n_skip"),
        ({"n_steps": 0}, ValueError, "n_steps"),
        ({"n_rounds": 0}, ValueError, "n_rounds"),
        ({"integrator": "bogus"}, ValueError, "integrator"),
        ({"level_rule": "max"}, ValueError, "level_rule"),
        ({"handoff": "first"}, ValueError, "handoff"),
        ({"levels": LEVELS[::-1]}, ValueError, "ascending"),
        ({"levels": None}, ValueError, "levels"),
        ({"levels": [0.1, 1e6]}, ValueError, "above what the process reaches"),
        ({"t_end": -1.0}, ValueError, "t_end"),
        ({"classifier": lambda x: oracle(x)[:, :3]}, ValueError, r"\(B, K\)"),
        ({"classifier": lambda x: oracle(x)[0]}, ValueError, r"\(B, K\)"),
        ({"classifier": "oracle"}, TypeError, "callable"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    x, g = prior(3)
    args = {"classifier": oracle, "levels": LEVELS, "generator": g, **kwargs}
    with pytest.raises(error, match=match):
        S.dlg(mixture_score, SDE, x, **args)


def test_state_must_be_a_float_tensor():
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        S.dlg(mixture_score, SDE, np.zeros((2, 1, 1, 1)), classifier=oracle, levels=LEVELS)
    with pytest.raises(TypeError, match="floating"):
        S.dlg(
            mixture_score, SDE, torch.zeros(2, 1, 1, 1, dtype=torch.int64), classifier=oracle, levels=LEVELS
        )


def test_public_names():
    assert fpscore.samplers.dlg is S.dlg
    assert "dlg" not in S.SAMPLER_NAMES  # its own signature: not one of the command line's samplers
