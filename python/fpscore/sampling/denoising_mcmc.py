"""Denoising Langevin Gibbs (DLG), the sampler of Denoising MCMC (Kim & Ye, arXiv 2209.14593).

B chains run an MCMC in the product space of images and noise levels σ_1 < … < σ_K, whose target is
p(x, k) ∝ p_{t_k}(x), the forward marginal at the time t_k with λ(t_k)/α(t_k) = σ_k
(`noise_to_time`; for a VESDE, λ(t_k) = σ_k). Each step is a Gibbs sweep:

1. the level: k ~ softmax(classifier(x)), the classifier's posterior over the levels (as in the
   paper; `level_rule="argmax"` takes its most likely level instead);
2. the image: one Langevin step at that level, x ← x + (η/2)·λ_k²·s(x, t_k) + √η·λ_k·z, a step
   size proportional to the level's noise variance, so one η serves every level.

Every `n_skip` steps each chain hands the state of its lowest level in that window to a reverse
integrator (Heun's PF-ODE by default), from t_k down to t_end, followed by Tweedie's step; the chains
keep running. The state at a low level is close to the data, so the integrator needs few steps.

The chains start as in the paper: a short integrator run from the prior at T down to the time of a
low level, then forward noise up to a middle level (the exact forward transition).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._torch import torch
from .._validation import choice, non_negative_float, positive_float, positive_int
from ._common import (
    Callback,
    Counted,
    Sampler,
    Score,
    bcast,
    check_state,
    check_times_fit,
    progress_bar,
    tweedie,
)
from .conditional import noise_to_time

Classifier = Callable[[torch.Tensor], torch.Tensor]
LEVEL_RULES = ("sample", "argmax")
HANDOFF_RULES = ("lowest", "last")


class DLGResult(NamedTuple):
    """The samples (n_rounds·B, …), round by round, and the run's counts (see `dlg`)."""

    samples: torch.Tensor
    info: dict[str, Any]


def _integrator(integrator: str | Sampler) -> Sampler:
    if callable(integrator):
        return integrator
    from .. import sampling

    choice("integrator", integrator, sampling.SAMPLER_NAMES)
    return getattr(sampling, sampling.SAMPLER_FUNCTIONS[integrator])


def _levels(classifier: object, levels: Any) -> np.ndarray:
    from ..training.noise_classifier import check_levels

    if levels is None:
        levels = getattr(classifier, "levels", None)
        if levels is None:
            raise ValueError("pass levels= (the classifier has no `levels` attribute)")
        if isinstance(levels, torch.Tensor):
            levels = levels.detach().cpu().double().numpy()
    return check_levels(levels)


@torch.no_grad()
def dlg(
    model: Score,
    sde,
    x: torch.Tensor,
    *,
    classifier: Classifier,
    eta: float = 0.8,
    n_skip: int = 10,
    n_steps: int = 20,
    n_rounds: int = 1,
    integrator: str | Sampler = "heun",
    levels: Any = None,
    level_rule: str = "sample",
    handoff: str = "lowest",
    T: float = 1.0,
    t_end: float = 1e-3,
    init_steps: int = 5,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    progress: bool = False,
) -> DLGResult:
    """Samples from B DLG chains started from the prior state x (B, …) at time T.

    classifier: x → (B, K) logits over `levels` (ascending; default `classifier.levels`, as a
    `NoiseLevelClassifier` has). eta: Langevin step factor. n_skip: steps between hand-offs.
    n_steps: integrator steps from a handed-off level to t_end (then Tweedie at t_end; a level at
    or below t_end gets Tweedie's step alone). n_rounds: hand-offs, so n_rounds·n_skip Langevin
    steps and n_rounds·B samples. integrator: a name of `SAMPLER_NAMES` or any sampler.
    init_steps: integrator steps of the initialisation. level_rule: "sample" (the paper) or "argmax".
    handoff: "lowest" (the paper's rule: the window's lowest-level state, the latest among equals)
    or "last" (the window's last state at its level). Each (state, level) pair of a chain follows
    p(x, k) (up to the Langevin step's discretisation), but choosing the lowest one looks at the
    levels that follow, which depend on the state: "lowest" hands off lower levels (fewer integrator
    steps needed) at the price of a bias; "last" has no selection bias.
    callback: {"i", "x", "level" (B level indices), "handed_off" (True at a hand-off)} after each step.

    info: "model_calls", "classifier_calls" (batched calls), "model_evals", "classifier_evals" (one per
    image and call), "n_samples", "nfe_per_sample" (model_evals / n_samples, initialisation included),
    "classifier_evals_per_sample", "level_counts" (visits per level, all chains and steps) and
    "handoff_levels" (the level index each sample was handed off at) and "levels" (the σ_k).
    """
    check_state(x)
    if not callable(classifier):
        raise TypeError(f"classifier must be callable (x → (B, K) logits), got {type(classifier).__name__}")
    eta = positive_float("eta", eta)
    n_skip, n_steps = positive_int("n_skip", n_skip), positive_int("n_steps", n_steps)
    n_rounds, init_steps = positive_int("n_rounds", n_rounds), positive_int("init_steps", init_steps)
    choice("level_rule", level_rule, LEVEL_RULES)
    choice("handoff", handoff, HANDOFF_RULES)
    T, t_end = positive_float("T", T), non_negative_float("t_end", t_end)
    run = _integrator(integrator)
    sigmas = _levels(classifier, levels)
    K = sigmas.size
    times = np.array([noise_to_time(sde, float(s), T) for s in sigmas])
    check_times_fit(np.array([T]), x)
    score, judge = Counted(model), Counted(classifier)
    B, dtype, device = x.shape[0], x.dtype, x.device
    t_lv = torch.as_tensor(times, dtype=dtype, device=device)
    lam = sde.marginal_std(t_lv)
    alpha = sde.alpha(t_lv)

    # Initialisation: integrate from T down to a low level, then the forward transition to a middle one.
    lo, mid = K // 4, K // 2
    x = run(score, sde, x, np.linspace(T, times[lo], init_steps + 1), generator=generator)
    if mid > lo:
        ratio = alpha[mid] / alpha[lo]
        extra = torch.sqrt(torch.clamp(lam[mid] ** 2 - (ratio * lam[lo]) ** 2, min=0.0))
        x = ratio * x + extra * torch.randn(x.shape, generator=generator, dtype=dtype, device=device)

    def choose_level(state: torch.Tensor) -> torch.Tensor:
        logits = judge(state)
        if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (B, K):
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            raise ValueError(f"the classifier must return (B, K) = ({B}, {K}) logits, got {shape}")
        logits = logits.to(dtype=torch.float64, device=device)
        if level_rule == "argmax":
            return logits.argmax(dim=1)
        # Inverse CDF: one uniform per chain, drawn where the state lives (as its noise is).
        cdf = torch.cumsum(torch.softmax(logits, dim=1), dim=1)
        u = torch.rand((B, 1), generator=generator, dtype=torch.float64, device=device)
        return torch.clamp((cdf < u * cdf[:, -1:]).sum(dim=1), max=K - 1)

    samples, handed = [], []
    counts = torch.zeros(K, dtype=torch.int64)
    with progress_bar(n_rounds * n_skip, progress, "dlg") as bar:
        for r in range(n_rounds):
            best_k = torch.full((B,), K, dtype=torch.int64, device=device)
            best_x = torch.empty_like(x)
            for j in range(n_skip):
                k = choose_level(x)
                counts += torch.bincount(k.cpu(), minlength=K)
                lk = bcast(lam[k], x)
                z = torch.randn(x.shape, generator=generator, dtype=dtype, device=device)
                x = x + 0.5 * eta * lk**2 * score(x, t_lv[k]) + math.sqrt(eta) * lk * z
                lower = k <= best_k if handoff == "lowest" else torch.ones_like(k, dtype=torch.bool)
                best_k = torch.where(lower, k, best_k)
                best_x[lower] = x[lower]
                last = j == n_skip - 1
                if last:
                    out = _hand_off(score, sde, best_x, best_k, times, n_steps, t_end, run, generator)
                    samples.append(out)
                    handed.append(best_k.cpu())
                if callback is not None:
                    callback({"i": r * n_skip + j, "x": x, "level": k, "handed_off": last})
                bar.update()
    n = n_rounds * B
    info = {
        "model_calls": score.calls,
        "classifier_calls": judge.calls,
        "model_evals": score.rows,
        "classifier_evals": judge.rows,
        "n_samples": n,
        "nfe_per_sample": score.rows / n,
        "classifier_evals_per_sample": judge.rows / n,
        "level_counts": counts.numpy(),
        "handoff_levels": torch.cat(handed).numpy(),
        "levels": sigmas,
    }
    return DLGResult(torch.cat(samples), info)


def _hand_off(
    score: Score,
    sde,
    x: torch.Tensor,
    k: torch.Tensor,
    times: np.ndarray,
    n_steps: int,
    t_end: float,
    run: Sampler,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """x̂₀ for each chain: the integrator from its level's time t_k down to t_end, then Tweedie; a
    level at or below t_end gets Tweedie's step alone, at t_k."""
    out = torch.empty_like(x)
    for level in torch.unique(k).tolist():
        idx = (k == level).nonzero()[:, 0]
        t_k = float(times[level])
        if t_k <= t_end:
            out[idx] = tweedie(score, sde, x[idx], t_k)
            continue
        xs = run(score, sde, x[idx], np.linspace(t_k, t_end, n_steps + 1), generator=generator)
        out[idx] = tweedie(score, sde, xs, t_end) if t_end > 0 else xs
    return out


__all__ = ["HANDOFF_RULES", "LEVEL_RULES", "DLGResult", "dlg"]
