"""Samplers (torch): pure functions `(model, sde, x, times, *, generator=None, callback=None,
progress=False) -> x` that integrate from times[0] down to times[-1]; `model` is a score s(x, t)."""

from ._common import tweedie, uniform_times
from .denoise import denoise, estimate_noise, noise_to_time
from .generate import generate
from .ode import euler_ode, heun_ode, rk45_ode
from .stochastic import ddpm_ancestral, euler_maruyama

SAMPLERS = {
    "heun": heun_ode,
    "euler": euler_ode,
    "rk45": rk45_ode,
    "euler-maruyama": euler_maruyama,
    "ancestral": ddpm_ancestral,
}

__all__ = [
    "SAMPLERS",
    "ddpm_ancestral",
    "denoise",
    "estimate_noise",
    "euler_maruyama",
    "euler_ode",
    "generate",
    "heun_ode",
    "noise_to_time",
    "rk45_ode",
    "tweedie",
    "uniform_times",
]
