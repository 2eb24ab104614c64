"""Probability-flow ODE samplers: dx/dt = f(x, t) − ½g(t)²·s(x, t), integrated from times[0] to times[-1].

All samplers share one signature, `(model, sde, x, times, *, generator=None, callback=None,
progress=False)`: `model` is a score function s(x, t) with t of shape (B,); `x` is the state at
times[0]; the return value is the state at times[-1]. The ODE samplers draw no random numbers
(`generator` is accepted for the common signature). `callback` receives {"i", "t", "x"} after each
step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._torch import torch
from .._validation import positive_float
from ._common import Score, Step, pf_velocity, progress_bar, sampler_function, stepping_sampler


@stepping_sampler("euler")
def euler_ode(model: Score, sde, t: np.ndarray, generator: torch.Generator | None) -> Step:
    """Explicit Euler on the probability-flow ODE (first order)."""

    def step(i: int, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return x + (t[i + 1] - t[i]) * pf_velocity(model, sde, x, t[i]), {}

    return step


@stepping_sampler("heun")
def heun_ode(model: Score, sde, t: np.ndarray, generator: torch.Generator | None) -> Step:
    """Heun's method (explicit trapezoid, second order). A step that ends at t = 0 is an Euler step,
    so the score is never evaluated at t = 0, where λ = 0 (as in EDM's sampler)."""

    def step(i: int, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        h = t[i + 1] - t[i]
        d = pf_velocity(model, sde, x, t[i])
        x_euler = x + h * d
        if t[i + 1] > 0:
            return x + 0.5 * h * (d + pf_velocity(model, sde, x_euler, t[i + 1])), {}
        return x_euler, {}

    return step


@sampler_function(positive_end=True)
def rk45_ode(
    model: Score,
    sde,
    x: torch.Tensor,
    t: np.ndarray,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    **common: Any,
) -> torch.Tensor:
    """Adaptive Runge–Kutta 4(5) (scipy's solve_ivp) on the flattened batch, in float64.

    Only times[0] and times[-1] set the interval (the step size is adaptive); the callback sees the
    solution at every entry of `times`. times[-1] must be > 0. rtol, atol: solve_ivp's tolerances.
    """
    from scipy.integrate import solve_ivp

    rtol, atol = positive_float("rtol", rtol), positive_float("atol", atol)
    callback, progress = common["callback"], common["progress"]
    shape, dtype, device = x.shape, x.dtype, x.device
    with progress_bar(0, progress, "rk45 (evaluations)") as bar:

        def velocity(s: float, y: np.ndarray) -> np.ndarray:
            xs = torch.from_numpy(y).reshape(shape).to(dtype=dtype, device=device)
            bar.update()
            return pf_velocity(model, sde, xs, s).double().cpu().numpy().reshape(-1)

        y0 = x.detach().double().cpu().numpy().reshape(-1)
        sol = solve_ivp(velocity, (t[0], t[-1]), y0, method="RK45", rtol=rtol, atol=atol, t_eval=t)
    if not sol.success:
        raise ValueError(f"RK45 failed between t={t[0]} and t={t[-1]}: {sol.message}")
    if callback is not None:
        for i in range(1, sol.y.shape[1]):
            xi = torch.from_numpy(sol.y[:, i].copy()).reshape(shape).to(dtype=dtype, device=device)
            callback({"i": i - 1, "t": float(sol.t[i]), "x": xi, "nfev": int(sol.nfev)})
    return torch.from_numpy(sol.y[:, -1].copy()).reshape(shape).to(dtype=dtype, device=device)
