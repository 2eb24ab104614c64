"""`fpscore denoise`: denoise an image file with a trained run (needs torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ._common import add_sampler_options

NAME = "denoise"
HELP = "denoise an image with a trained run (needs torch)"
DESCRIPTION = (
    "Denoise IMAGE (resized to the model's size) from its noise level: "
    "--sigma S in [0, 1] pixel units, estimated from the image when not given. "
    "--add-noise S first adds Gaussian noise of std S (and reports SSIM/PSNR)."
)


def run(args: argparse.Namespace) -> int:
    from .._torch import torch
    from ..data.images import fit, grid, to_image, write_png
    from ..data.loaders import read_image
    from ..evaluation.metrics import image_metrics
    from ..sampling import SAMPLERS, denoise
    from ..training.trainer import load_trained

    model, sde, times, cfg = load_trained(args.run_dir, ema=not args.no_ema)
    size = cfg.model.image_size
    clean = fit(read_image(Path(args.image), cfg.model.image_channels), (size, size))
    gen = torch.Generator().manual_seed(args.seed)
    y = torch.as_tensor(clean, dtype=torch.float32)[None]
    sigma = args.sigma
    if args.add_noise is not None:
        y = y + args.add_noise * torch.randn(y.shape, generator=gen)
        sigma = args.add_noise if sigma is None else sigma
    x = denoise(
        model,
        sde,
        y,
        sigma,
        n_steps=args.sample_steps,
        T=float(times[-1]),
        sampler=SAMPLERS[args.sampler],
        generator=gen,
        progress=not args.no_progress,
    )
    x = x.clamp(0.0, 1.0).numpy()
    pair = np.concatenate([y.clamp(0.0, 1.0).numpy(), x])
    out = write_png(to_image(grid(pair, cols=2), scale=4), args.out)
    print(f"wrote {out} (noisy | denoised)")
    if args.add_noise is not None:
        before, after = image_metrics(y[0].numpy(), clean), image_metrics(x[0], clean)
        print(
            f"against the clean image: noisy SSIM {before['ssim']:.3f} PSNR {before['psnr']:.2f} dB; "
            f"denoised SSIM {after['ssim']:.3f} PSNR {after['psnr']:.2f} dB"
        )
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", help="an image file (PNG, JPEG, ...)")
    p.add_argument("--run", dest="run_dir", required=True, help="a run folder (with checkpoints/)")
    p.add_argument("--sigma", type=float, help="noise standard deviation of IMAGE (default: estimated)")
    p.add_argument("--add-noise", type=float, help="add Gaussian noise of this std first")
    add_sampler_options(p, steps=50)
    p.add_argument("--out", default="denoised.png", help="PNG file: noisy | denoised (default denoised.png)")
