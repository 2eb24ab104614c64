"""`fpscore sample`: draw samples from a trained run and write a PNG grid (needs torch)."""

from __future__ import annotations

import argparse

import numpy as np

from ._common import add_sampler_options

NAME = "sample"
HELP = "draw samples from a trained run and write a PNG grid (needs torch)"


def run(args: argparse.Namespace) -> int:
    from .._torch import torch
    from ..data.images import grid, to_image, write_png
    from ..sampling import SAMPLERS, generate, uniform_times
    from ..training.trainer import load_trained

    model, sde, times, cfg = load_trained(args.run_dir, ema=not args.no_ema)
    gen = torch.Generator().manual_seed(args.seed)
    shape = (args.n, cfg.model.image_channels, cfg.model.image_size, cfg.model.image_size)
    T = float(times[-1])
    prior = sde.prior_sample(shape, gen, T=T)
    if args.dlg_classifier:
        from ..sampling import dlg
        from ..training.noise_classifier import load_noise_classifier

        result = dlg(
            model,
            sde,
            prior,
            classifier=load_noise_classifier(args.dlg_classifier),
            eta=args.eta,
            n_skip=args.n_skip,
            n_steps=args.sample_steps,
            integrator=args.sampler,
            T=T,
            t_end=args.t_end,
            generator=gen,
            progress=not args.no_progress,
        )
        x = result.samples
        print(f"DLG: {result.info['nfe_per_sample']:.1f} network evaluations per sample")
    else:
        x = generate(
            model,
            sde,
            prior,
            uniform_times(args.sample_steps, T, args.t_end),
            sampler=SAMPLERS[args.sampler],
            generator=gen,
            progress=not args.no_progress,
        )
    x = x.clamp(0.0, 1.0).numpy()
    out = write_png(to_image(grid(x), scale=4), args.out)
    if args.npy:
        np.save(args.npy, x)
    print(f"wrote {out}" + (f" and {args.npy}" if args.npy else ""))
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN", help="a run folder (with checkpoints/)")
    add_sampler_options(p, steps=100)
    p.add_argument("-n", type=int, default=8, help="number of samples (default 8)")
    p.add_argument(
        "--t-end", type=float, default=1e-3, help="last time before the Tweedie step (default 1e-3)"
    )
    p.add_argument("--out", default="samples.png", help="PNG file (default samples.png)")
    p.add_argument("--npy", help="also save the samples (n, C, H, W) to this .npy file")
    d = p.add_argument_group("Denoising MCMC (DLG): --sampler is its integrator, --sample-steps its steps")
    d.add_argument(
        "--dlg-classifier",
        metavar="PATH",
        help="sample with DLG, using this noise-level classifier (fpscore train-classifier)",
    )
    d.add_argument("--eta", type=float, default=0.8, help="Langevin step factor (default 0.8)")
    d.add_argument("--n-skip", type=int, default=10, help="Langevin steps per hand-off (default 10)")
