"""`fpscore train-classifier`: the noise-level classifier of Denoising MCMC (needs torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_sde_options
from .precompute import _size_arg

NAME = "train-classifier"
HELP = "train the noise-level classifier the DLG sampler needs (needs torch)"
DESCRIPTION = (
    "Train a small CNN to tell which of K geometric noise levels (sigma-min … sigma-max) a noised "
    "image carries, on images from SOURCE noised by the SDE's forward process, and write "
    "OUT/noise_classifier.pt (fpscore.training.noise_classifier.load_noise_classifier reads it)."
)
DATA_OPTIONS = ("count", "size", "channels")


def run(args: argparse.Namespace) -> int:
    from .. import data
    from ..sde import make_sde
    from ..training.noise_classifier import CHECKPOINT_NAME, noise_levels, train_noise_classifier

    sde = make_sde(args.sde, vars(args))
    levels = noise_levels(args.sigma_min, args.sigma_max, args.levels)
    options = {k: getattr(args, k) for k in DATA_OPTIONS if getattr(args, k) is not None}
    images = data.load(args.source, **options).images
    model = train_noise_classifier(
        images,
        sde,
        levels,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        T=args.T,
        out_dir=args.out,
        progress=not args.no_progress,
    )
    print(f"wrote {Path(args.out) / CHECKPOINT_NAME} ({model.K} levels, {len(images)} images)")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:

    p.add_argument(
        "source", help="'samples' (scikit-image photos), 'faces', a .npy/.npz file, CIFAR-10, or a folder"
    )
    p.add_argument("out", help="output folder (created if missing)")
    d = p.add_argument_group("data selection")
    d.add_argument("--count", type=int, help="the first COUNT images")
    d.add_argument("--size", type=_size_arg, help="resize to N x N or HxW")
    d.add_argument("--channels", type=int, choices=[1, 3], help="1 (luminance) or 3 (RGB)")
    m = p.add_argument_group("levels and process")
    m.add_argument("--levels", type=int, default=10, help="number K of noise levels (default 10)")
    m.add_argument("--sigma-min", type=float, default=0.01, help="lowest level (default 0.01)")
    m.add_argument("--sigma-max", type=float, default=1.0, help="highest level (default 1)")
    add_sde_options(m)
    m.add_argument("--T", type=float, default=1.0, help="the process's last time (default 1)")
    t = p.add_argument_group("training")
    t.add_argument("--steps", type=int, default=2000, help="optimizer steps (default 2000)")
    t.add_argument("--batch-size", type=int, default=64, help="default 64")
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
