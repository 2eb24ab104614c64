"""Shared pieces of the samplers: time grids, the PF-ODE velocity, progress, the stepping loop, and
the decorators that give every sampler the common signature."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from .._torch import torch

Score = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[dict], None]
Step = Callable[[int, torch.Tensor], tuple[torch.Tensor, dict]]
MakeStep = Callable[[Score, Any, np.ndarray, torch.Generator | None], Step]
Run = Callable[..., torch.Tensor]


class Sampler(Protocol):
    """The common signature of the fixed-step samplers."""

    def __call__(
        self,
        model: Score,
        sde: Any,
        x: torch.Tensor,
        times: Any,
        *,
        generator: torch.Generator | None = None,
        callback: Callback | None = None,
        progress: bool = False,
    ) -> torch.Tensor: ...


class Counted:
    """A callable (a score network, a classifier) that counts its calls and the batch rows it
    evaluated: the network evaluations (NFE) a sampler spends."""

    def __init__(self, fn: Callable[..., torch.Tensor]) -> None:
        self.fn, self.calls, self.rows = fn, 0, 0

    def __call__(self, x: torch.Tensor, *args: Any) -> torch.Tensor:
        self.calls += 1
        self.rows += int(x.shape[0])
        return self.fn(x, *args)


def uniform_times(n_steps: int, T: float = 1.0, t_end: float = 1e-3) -> np.ndarray:
    """n_steps + 1 equally spaced times from T down to t_end."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    if not 0.0 <= t_end < T or not math.isfinite(T):
        raise ValueError(f"need 0 <= t_end < T < inf, got t_end={t_end}, T={T}")
    return np.linspace(T, t_end, n_steps + 1)


def check_times(
    times: Sequence[float] | np.ndarray | torch.Tensor, *, positive_end: bool = False
) -> np.ndarray:
    """Times as a float64 array, strictly decreasing, non-negative, at least two of them."""
    if isinstance(times, torch.Tensor):
        times = times.detach().cpu().double().numpy()
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise ValueError(f"times must be a 1-D sequence of at least 2 times, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) >= 0) or t[-1] < 0:
        raise ValueError(f"times must be finite, strictly decreasing and >= 0, got {t}")
    if positive_end and t[-1] <= 0:
        raise ValueError(f"this sampler evaluates the score at the last time, which must be > 0, got {t[-1]}")
    return t


def check_state(x: object, name: str = "x") -> torch.Tensor:
    """x itself when it is a floating-point torch tensor with a batch dimension."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.ndim == 0:
        raise ValueError(f"{name} must have a batch dimension, got a 0-d tensor")
    return x


def check_times_fit(t: np.ndarray | float, x: torch.Tensor) -> None:
    """The times must be representable in x's dtype (they become tensors of it): t > 3.4e38 is
    inf in float32, which torch refuses with a RuntimeError."""
    largest = float(np.max(np.abs(t)))
    if largest > torch.finfo(x.dtype).max:
        raise ValueError(
            f"time {largest:g} overflows the state's dtype {x.dtype} (largest "
            f"{torch.finfo(x.dtype).max:g}): use smaller times or a wider dtype"
        )


def batch_time(t: float, x: torch.Tensor) -> torch.Tensor:
    return torch.full((x.shape[0],), float(t), dtype=x.dtype, device=x.device)


def bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, *([1] * (x.ndim - 1)))


def g2(sde, tb: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return bcast(sde.g(tb) ** 2, x)


def pf_velocity(model: Score, sde, x: torch.Tensor, t: float) -> torch.Tensor:
    """dx/dt of the probability-flow ODE: f(x, t) − ½g(t)²·s(x, t)."""
    tb = batch_time(t, x)
    return sde.drift(x, tb) - 0.5 * g2(sde, tb, x) * model(x, tb)


def progress_bar(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, leave=False)


def run_steps(
    step: Step, x: torch.Tensor, t: np.ndarray, *, callback: Callback | None, progress: bool, desc: str
) -> torch.Tensor:
    """x after `step` from t[i] to t[i + 1] for i = 0 … len(t) − 2.

    `step(i, x)` returns the new state and extra entries for the callback, which receives
    {"i", "t", "x", **extra} after each step.
    """
    with progress_bar(len(t) - 1, progress, desc) as bar:
        for i in range(len(t) - 1):
            x, extra = step(i, x)
            if callback is not None:
                callback({"i": i, "t": float(t[i + 1]), "x": x, **extra})
            bar.update()
    return x


def sampler_function(*, positive_end: bool = False) -> Callable[[Run], Sampler]:
    """Decorator that turns `run(model, sde, x, t, *, generator, callback, progress, **options)`,
    with t the checked times (a float64 array; > 0 at the end with positive_end), into a sampler
    with the common signature (`Sampler`, plus run's own keyword options), run under no_grad."""

    def decorate(run: Run) -> Sampler:
        def sampler(
            model: Score,
            sde,
            x: torch.Tensor,
            times,
            *,
            generator: torch.Generator | None = None,
            callback: Callback | None = None,
            progress: bool = False,
            **options: Any,
        ) -> torch.Tensor:
            t = check_times(times, positive_end=positive_end)
            check_state(x)
            check_times_fit(t, x)
            return run(model, sde, x, t, generator=generator, callback=callback, progress=progress, **options)

        # The sampler takes run's name and docstring (so it pickles and documents as the public
        # function) but keeps its own signature: no __wrapped__ pointing at run.
        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(sampler, attr, getattr(run, attr))
        return torch.no_grad()(sampler)

    return decorate


def stepping_sampler(desc: str) -> Callable[[MakeStep], Sampler]:
    """Decorator that turns `make_step(model, sde, t, generator) -> step` into a sampler with the
    common signature (see `sampler_function`) that runs `step` (see `run_steps`), with `desc` on the bar."""

    def decorate(make_step: MakeStep) -> Sampler:
        def run(model: Score, sde, x: torch.Tensor, t: np.ndarray, **common: Any) -> torch.Tensor:
            step = make_step(model, sde, t, common["generator"])
            return run_steps(step, x, t, callback=common["callback"], progress=common["progress"], desc=desc)

        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(run, attr, getattr(make_step, attr))
        return sampler_function()(run)

    return decorate


@torch.no_grad()
def tweedie(model: Score, sde, x: torch.Tensor, t: float) -> torch.Tensor:
    """The one-step denoised estimate x̂₀ = (x + λ(t)²·s(x, t))/α(t) (Tweedie's formula), t > 0."""
    check_state(x)
    if not (t > 0 and math.isfinite(t)):
        raise ValueError(f"tweedie needs a finite t > 0 (the score is undefined at t = 0), got {t}")
    check_times_fit(t, x)
    tb = batch_time(t, x)
    lam2, alpha = bcast(sde.marginal_std(tb), x) ** 2, bcast(sde.alpha(tb), x)
    if not (torch.isfinite(lam2).all() and (alpha > 0).all()):
        raise ValueError(
            f"at t = {t:g} the SDE's λ(t)² or 1/α(t) overflows {x.dtype} ({sde!r}): use a smaller t"
        )
    return (x + lam2 * model(x, tb)) / alpha
