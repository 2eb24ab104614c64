"""The samplers compared on each trained model of an experiment (setting `final_samplers`).

After an embed or control arm finishes a seed, its EMA network samples `n_samples` images from the
experiment's fixed prior noise with each named sampler: the plain integrators of
`fpscore.samplers` (`sample_steps` steps from T, then Tweedie's step) and "dlg" (Denoising MCMC).
For each sampler it records the samples' SSIM against the training images and the score-network
evaluations (NFE) per sample, counted by wrapping the network.

DLG needs a noise-level classifier. The experiment trains one on its training images, once, with
the experiment's SDE, and keeps it in `noise_classifier/` of the experiment folder. The classifier
has `classifier_levels` geometric levels from 0.01 to λ(T)/2 and trains for `classifier_steps`
steps. Each chain hands one sample to the integrator after `dlg_skip` Langevin steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FINAL_SAMPLER_NAMES = ("heun", "euler", "euler-maruyama", "ancestral", "dlg")
CLASSIFIER_FOLDER = "noise_classifier"


def noise_classifier(cfg, images: np.ndarray, sde, T: float, out: Path):
    """The experiment's noise-level classifier: loaded from `out/noise_classifier`, or trained."""
    from ...training.noise_classifier import (
        CHECKPOINT_NAME,
        load_noise_classifier,
        noise_levels,
        train_noise_classifier,
    )

    folder = out / CLASSIFIER_FOLDER
    if (folder / CHECKPOINT_NAME).is_file():
        return load_noise_classifier(folder)
    levels = noise_levels(0.01, 0.5 * sde.prior_std(T), cfg.classifier_levels)
    return train_noise_classifier(
        images, sde, levels, steps=cfg.classifier_steps, batch_size=32, seed=0, T=T, out_dir=folder
    )


def compare_samplers(job, classifier) -> dict[str, dict[str, Any]]:
    """{sampler: {"ssim", "ssim_best", "nfe_per_sample"}} for the trained model of `job` (ArmSeed)."""
    from ..._torch import torch
    from ...sampling import SAMPLERS, dlg, generate, uniform_times
    from ...sampling._common import Counted
    from ..metrics import summarize

    cfg, tr = job.cfg, job.trainer
    out: dict[str, dict[str, Any]] = {}
    for name in cfg.final_samplers:
        gen = torch.Generator().manual_seed(30_000 + job.seed)
        score = Counted(tr.score_model(ema=True))
        x0 = tr.sde.prior_std(tr.T) * job.noise
        with torch.no_grad():
            if name == "dlg":
                result = dlg(
                    score,
                    tr.sde,
                    x0.clone(),
                    classifier=classifier,
                    n_skip=cfg.dlg_skip,
                    n_steps=cfg.sample_steps,
                    T=tr.T,
                    t_end=tr.config.data.t_min,
                    generator=gen,
                )
                x = result.samples
            else:
                times = uniform_times(cfg.sample_steps, tr.T, tr.config.data.t_min)
                x = generate(score, tr.sde, x0.clone(), times, sampler=SAMPLERS[name], generator=gen)
        scores = summarize(x.clamp(0.0, 1.0).cpu().numpy(), job.references)
        out[name] = {
            "ssim": scores["ssim"],
            "ssim_best": scores["ssim_best"],
            "nfe_per_sample": score.rows / x.shape[0],
        }
    return out
