"""Samplers (torch): pure functions `(model, sde, x, times, *, generator=None, callback=None,
progress=False) -> x` that integrate from times[0] down to times[-1]; `model` is a score s(x, t).

`generate` runs one from the prior to an image (then Tweedie's step); `denoise` from a noisy image.
`dlg` (Denoising MCMC's Langevin-Gibbs sampler) has its own signature: it needs a noise-level
classifier and returns samples with counts, so it is not among the command line's samplers.
The functions need torch and are imported on first use, so that `SAMPLER_NAMES` (what the command
line offers) is there without it.
"""

from importlib import import_module
from typing import Any

# The samplers by the names the command line uses.
SAMPLER_FUNCTIONS = {
    "heun": "heun_ode",
    "euler": "euler_ode",
    "rk45": "rk45_ode",
    "euler-maruyama": "euler_maruyama",
    "ancestral": "ddpm_ancestral",
}
SAMPLER_NAMES = tuple(SAMPLER_FUNCTIONS)

_MODULES = {
    "DLGResult": "denoising_mcmc",
    "dlg": "denoising_mcmc",
    "tweedie": "_common",
    "uniform_times": "_common",
    "denoise": "conditional",
    "estimate_noise": "conditional",
    "noise_to_time": "conditional",
    "generate": "prior",
    "euler_ode": "ode",
    "heun_ode": "ode",
    "rk45_ode": "ode",
    "ddpm_ancestral": "stochastic",
    "euler_maruyama": "stochastic",
}


def __getattr__(name: str) -> Any:
    if name == "SAMPLERS":  # {name: sampler}
        return {key: __getattr__(function) for key, function in SAMPLER_FUNCTIONS.items()}
    if name in _MODULES:
        value = getattr(import_module(f".{_MODULES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SAMPLERS",
    "SAMPLER_NAMES",
    "DLGResult",
    "ddpm_ancestral",
    "denoise",
    "dlg",
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
