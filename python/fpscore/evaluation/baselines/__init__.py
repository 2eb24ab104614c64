"""Baselines trained and sampled as in their papers: DDPM (Ho et al. 2020, with DDIM sampling, Song
et al. 2021) and EDM (Karras et al. 2022).

The objectives follow the trainer's protocol `objective(model, sde, x, t, generator) -> (loss,
{name: value})` for images x in [0, 1] (they ignore `sde` and `t` and draw their own noise levels
from `generator`); internally both work in [−1, 1] (y = 2x − 1). The samplers return images in
[0, 1] units, not clamped.
"""

from .ddpm import DDPMObjective, DDPMSchedule, ddim_indices, ddim_sample, ddpm_sample, ddpm_start
from .edm import EDMDenoiser, EDMObjective, edm_sample, edm_sigmas, edm_start

__all__ = [
    "DDPMObjective",
    "DDPMSchedule",
    "EDMDenoiser",
    "EDMObjective",
    "ddim_indices",
    "ddim_sample",
    "ddpm_sample",
    "ddpm_start",
    "edm_sample",
    "edm_sigmas",
    "edm_start",
]
