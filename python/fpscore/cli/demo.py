"""`fpscore demo`: the whole pipeline on a bundled photo, with and without the embedding."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "demo"
HELP = "the whole pipeline on a bundled photo, with and without the embedding, on the CPU"
DESCRIPTION = (
    "Pre-compute the score embedding of a scikit-image photo (32x32), then train "
    "a small U-Net twice with the same seed, config and prior noise: on the embedding, and as "
    "a control with the embedding off (data.scores_zero), each until its samples reach the "
    "target SSIM. Writes demo.png (both arms' samples and SSIM curves), summary.txt and "
    "summary.json to --out. --out must be new, empty, or a folder an earlier demo created "
    "(marked by a .fpscore-demo file): the demo replaces its own run and cache folders there "
    "and refuses any other folder."
)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.demo import ARMS, run_demo

    # a folder the demo did not create raises ValueError before anything runs: main() prints it, exit 2
    result = run_demo(
        args.out,
        image=args.image,
        max_steps=args.max_steps,
        target_ssim=args.target_ssim,
        seed=args.seed,
        progress=not args.no_progress,
        arms=ARMS[:1] if args.no_control else ARMS,
    )
    print(f"\nwrote {result.png} and {Path(result.out_dir) / 'summary.txt'}")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..evaluation.demo import DEMO_IMAGES

    p.add_argument(
        "--out",
        default="fpscore-demo",
        help="output folder: new, empty or an earlier demo's (default fpscore-demo)",
    )
    p.add_argument("--image", default=DEMO_IMAGES[0], choices=DEMO_IMAGES)
    p.add_argument("--max-steps", type=int, default=1500, help="training step cap of each arm (default 1500)")
    p.add_argument("--target-ssim", type=float, default=0.90, help="stop at this mean SSIM (default 0.90)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-control", action="store_true", help="train the embedding arm only (no control)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
