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
    x = generate(
        model,
        sde,
        sde.prior_sample(shape, gen, T=T),
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
