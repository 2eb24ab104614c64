"""The training-side commands of the `fpscore` CLI: train, sample, denoise, demo (need torch)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SAMPLER_NAMES = ("heun", "euler", "rk45", "euler-maruyama", "ancestral")


def _resolve_config(args: argparse.Namespace):
    """Defaults ← --config ← --set ← the shortcut flags ← what the cache records (SDE, image shape)."""
    from ..training.config import SDEConfig, load_config

    overrides = list(args.set or [])
    if args.cache is not None:
        overrides.append(f"data.cache={json.dumps(str(args.cache))}")
    if args.out is not None:
        overrides.append(f"train.out={json.dumps(str(args.out))}")
    if args.steps is not None:
        overrides.append(f"train.steps={args.steps}")
    if args.scores_zero:
        overrides.append("data.scores_zero=true")
    if args.no_progress:
        overrides.append("train.progress=false")
    cfg = load_config(args.config, overrides)
    if cfg.data.cache and Path(cfg.data.cache).is_dir():
        from ..embedding.precompute import open_cache

        cache = open_cache(cfg.data.cache)
        cfg.sde = SDEConfig.from_sde(cache.sde)
        c, h, w = cache.image_shape
        if h != w:
            raise ValueError(f"the U-Net takes square images; the cache holds {h}x{w}")
        cfg.model.image_channels, cfg.model.image_size = int(c), int(h)
    return cfg


def _train(args: argparse.Namespace) -> int:
    cfg = _resolve_config(args)
    if args.dry_run:
        print(cfg.to_toml() if args.format == "toml" else cfg.to_json())
        return 0
    if not cfg.data.cache:
        raise ValueError("no data: pass --cache DIR (an `fpscore precompute` folder) or set data.cache")
    from ..data.dataset import EmbeddedDataset
    from ..training.trainer import Trainer

    dataset = EmbeddedDataset(cfg.data.cache)
    trainer = Trainer(cfg, dataset, resume=args.resume)
    if args.resume:
        print(f"resuming {trainer.run_dir} at step {trainer.step}")
    metrics = trainer.train()
    print(f"{trainer.run_dir}: step {trainer.step}, loss {metrics.get('loss', float('nan')):.5g}")
    return 0


def _png_grid(images: np.ndarray, path: Path, scale: int = 4, cols: int = 8) -> Path:
    from PIL import Image

    a = np.clip(np.asarray(images, dtype=np.float64), 0.0, 1.0)
    n, c, h, w = a.shape
    cols = min(cols, n)
    rows = -(-n // cols)
    canvas = np.ones((rows * (h + 2), cols * (w + 2), 3))
    for k in range(n):
        r, q = divmod(k, cols)
        tile = np.repeat(a[k], 3, axis=0) if c == 1 else a[k, :3]
        canvas[r * (h + 2) : r * (h + 2) + h, q * (w + 2) : q * (w + 2) + w] = np.moveaxis(tile, 0, -1)
    im = Image.fromarray(np.round(canvas * 255).astype(np.uint8))
    im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path


def _sample(args: argparse.Namespace) -> int:
    from .._torch import torch
    from ..sampling import SAMPLERS, generate, uniform_times
    from ..training.trainer import load_trained

    model, sde, times, cfg = load_trained(args.run_dir, ema=not args.no_ema)
    T = float(times[-1])
    gen = torch.Generator().manual_seed(args.seed)
    shape = (args.n, cfg.model.image_channels, cfg.model.image_size, cfg.model.image_size)
    x = sde.prior_sample(shape, gen, T=T)
    times = uniform_times(args.sample_steps, T, args.t_end)
    x = generate(
        model, sde, x, times, sampler=SAMPLERS[args.sampler], generator=gen, progress=not args.no_progress
    )
    x = x.clamp(0.0, 1.0).numpy()
    out = _png_grid(x, Path(args.out))
    if args.npy:
        np.save(args.npy, x)
    print(f"wrote {out}" + (f" and {args.npy}" if args.npy else ""))
    return 0


def _read_image(path: str, channels: int, size: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("L" if channels == 1 else "RGB")
        if im.size != (size, size):
            side = min(im.size)
            left, top = (im.width - side) // 2, (im.height - side) // 2
            im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
        a = np.asarray(im, dtype=np.float64) / 255.0
    return a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)


def _denoise(args: argparse.Namespace) -> int:
    from .._torch import torch
    from ..evaluation.metrics import image_metrics
    from ..sampling import SAMPLERS, denoise
    from ..training.trainer import load_trained

    model, sde, times, cfg = load_trained(args.run_dir, ema=not args.no_ema)
    clean = _read_image(args.image, cfg.model.image_channels, cfg.model.image_size)
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
    out = _png_grid(np.concatenate([y.clamp(0.0, 1.0).numpy(), x]), Path(args.out), cols=2)
    print(f"wrote {out} (noisy | denoised)")
    if args.add_noise is not None:
        before, after = image_metrics(y[0].numpy(), clean), image_metrics(x[0], clean)
        print(
            f"against the clean image: noisy SSIM {before['ssim']:.3f} PSNR {before['psnr']:.2f} dB; "
            f"denoised SSIM {after['ssim']:.3f} PSNR {after['psnr']:.2f} dB"
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ..evaluation.demo import run_demo

    # a folder the demo did not create raises ValueError before anything runs: main() prints it, exit 2
    result = run_demo(
        args.out,
        image=args.image,
        max_steps=args.max_steps,
        target_ssim=args.target_ssim,
        seed=args.seed,
        progress=not args.no_progress,
        arms=("embed",) if args.no_control else ("embed", "control"),
    )
    print(f"\nwrote {result.png} and {Path(result.out_dir) / 'summary.txt'}")
    return 0


def add_training_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a score network on an embedding cache (needs torch)",
        description="Train an ε-U-Net on the noised embedded images of a cache. The config is "
        "the defaults, then --config, then --set, then the flags; the cache sets the SDE and "
        "the image shape.",
    )
    p.add_argument("--config", help="a TOML or JSON config file")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config entry, e.g. --set loss.spec=dsm+0.1*sw (repeatable)",
    )
    p.add_argument("--cache", help="an `fpscore precompute` folder (data.cache)")
    p.add_argument("--out", help="the run folder (train.out)")
    p.add_argument("--steps", type=int, help="total training steps (train.steps)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's newest checkpoint")
    p.add_argument(
        "--scores-zero",
        action="store_true",
        help="the same pipeline with the embedding off: x^0 at every time (data.scores_zero)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    p.add_argument(
        "--format", choices=["toml", "json"], default="toml", help="--dry-run output (default toml)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_train)

    s = sub.add_parser("sample", help="draw samples from a trained run and write a PNG grid (needs torch)")
    s.add_argument("run_dir", metavar="RUN", help="a run folder (with checkpoints/)")
    s.add_argument("--sampler", choices=SAMPLER_NAMES, default="ancestral", help="default ancestral")
    s.add_argument("--sample-steps", type=int, default=100, help="sampler steps (default 100)")
    s.add_argument("-n", type=int, default=8, help="number of samples (default 8)")
    s.add_argument(
        "--t-end", type=float, default=1e-3, help="last time before the Tweedie step (default 1e-3)"
    )
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-ema", action="store_true", help="use the raw weights instead of the EMA")
    s.add_argument("--out", default="samples.png", help="PNG file (default samples.png)")
    s.add_argument("--npy", help="also save the samples (n, C, H, W) to this .npy file")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(run=_sample)

    d = sub.add_parser(
        "denoise",
        help="denoise an image with a trained run (needs torch)",
        description="Denoise IMAGE (resized to the model's size) from its noise level: "
        "--sigma S in [0, 1] pixel units, estimated from the image when not given. "
        "--add-noise S first adds Gaussian noise of std S (and reports SSIM/PSNR).",
    )
    d.add_argument("image", help="an image file (PNG, JPEG, ...)")
    d.add_argument("--run", dest="run_dir", required=True, help="a run folder (with checkpoints/)")
    d.add_argument("--sigma", type=float, help="noise standard deviation of IMAGE (default: estimated)")
    d.add_argument("--add-noise", type=float, help="add Gaussian noise of this std first")
    d.add_argument("--sampler", choices=SAMPLER_NAMES, default="ancestral", help="default ancestral")
    d.add_argument("--sample-steps", type=int, default=50, help="sampler steps (default 50)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--no-ema", action="store_true")
    d.add_argument("--out", default="denoised.png", help="PNG file: noisy | denoised (default denoised.png)")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(run=_denoise)

    m = sub.add_parser(
        "demo",
        help="the whole pipeline on a bundled photo, with and without the embedding, on the CPU",
        description="Pre-compute the score embedding of a scikit-image photo (32x32), then train "
        "a small U-Net twice with the same seed, config and prior noise: on the embedding, and as "
        "a control with the embedding off (data.scores_zero), each until its samples reach the "
        "target SSIM. Writes demo.png (both arms' samples and SSIM curves), summary.txt and "
        "summary.json to --out. --out must be new, empty, or a folder an earlier demo created "
        "(marked by a .fpscore-demo file): the demo replaces its own run and cache folders there "
        "and refuses any other folder.",
    )
    m.add_argument(
        "--out",
        default="fpscore-demo",
        help="output folder: new, empty or an earlier demo's (default fpscore-demo)",
    )
    m.add_argument("--image", default="astronaut", choices=["astronaut", "chelsea", "coffee", "rocket"])
    m.add_argument("--max-steps", type=int, default=1500, help="training step cap of each arm (default 1500)")
    m.add_argument("--target-ssim", type=float, default=0.90, help="stop at this mean SSIM (default 0.90)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--no-control", action="store_true", help="train the embedding arm only (no control)")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.set_defaults(run=_demo)
