"""`fpscore train`: a score network on an embedding cache, or on images embedded on the fly
(needs torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_settings_options, overrides

NAME = "train"
HELP = "train a score network on an embedding cache or on images embedded on the fly (needs torch)"
DESCRIPTION = (
    "Train an ε-U-Net on the noised embedded images of a cache. The config is "
    "the defaults, then --config, then --set, then the flags; the cache sets the SDE and "
    "the image shape. With --on-the-fly SOURCE there is no cache: each batch's images are "
    "embedded as it is drawn (the SDE from the config, the image shape from SOURCE). Under "
    "`torchrun --nproc_per_node K` it trains on K processes (train.batch_size is the global batch)."
)


def resolve_config(args: argparse.Namespace):
    """Defaults ← --config ← --set ← the shortcut flags ← what the cache records (SDE, image shape)."""
    from ..training.config import SDEConfig, load_config

    shortcuts = {
        "data.cache": None if args.cache is None else str(args.cache),
        "data.source": None if args.on_the_fly is None else str(args.on_the_fly),
        "train.out": None if args.out is None else str(args.out),
        "train.steps": args.steps,
        "data.scores_zero": True if args.scores_zero else None,
        "train.progress": False if args.no_progress else None,
    }
    cfg = load_config(args.config, overrides(args, shortcuts))
    if cfg.data.cache and Path(cfg.data.cache).is_dir():
        from ..embedding.cache import open_cache

        cache = open_cache(cfg.data.cache)
        cfg.sde = SDEConfig.from_sde(cache.sde)
        c, h, w = cache.image_shape
        if h != w:
            raise ValueError(f"the U-Net takes square images; the cache holds {h}x{w}")
        cfg.model.image_channels, cfg.model.image_size = int(c), int(h)
    if cfg.data.source:
        _image_shape_of_source(cfg)
    return cfg


def _image_shape_of_source(cfg) -> None:
    """model.image_channels and image_size from the images of data.source (on-the-fly embedding)."""
    from ..data.on_the_fly import load_source

    c, h, w = load_source(cfg.data.source, cfg.data.source_options).images.shape[1:]
    if h != w:
        raise ValueError(f"the U-Net takes square images; data.source gives {h}x{w}")
    cfg.model.image_channels, cfg.model.image_size = int(c), int(h)


def run(args: argparse.Namespace) -> int:
    cfg = resolve_config(args)
    if args.dry_run:
        print(cfg.to_toml() if args.format == "toml" else cfg.to_json())
        return 0
    if not cfg.data.cache and not cfg.data.source:
        raise ValueError(
            "no data: pass --cache DIR (an `fpscore precompute` folder) or --on-the-fly SOURCE, "
            "or set data.cache or data.source"
        )
    if args.embed_threads is not None and not cfg.data.source:
        raise ValueError("--embed-threads is for --on-the-fly (data.source); a cache needs no embedding")
    from ..data.dataset import EmbeddedDataset
    from ..training import distributed
    from ..training.trainer import Trainer

    if cfg.data.source:
        from ..data.on_the_fly import from_config

        dataset = from_config(cfg.data, cfg.sde.build(), seed=cfg.train.seed, threads=args.embed_threads)
    else:
        dataset = EmbeddedDataset(cfg.data.cache)
    try:  # under torchrun the Trainer joins the process group; rank 0 reports
        trainer = Trainer(cfg, dataset, resume=args.resume)
        main = trainer.world.is_main
        if args.resume and main:
            print(f"resuming {trainer.run_dir} at step {trainer.step}")
        metrics = trainer.train()
        if main:
            print(f"{trainer.run_dir}: step {trainer.step}, loss {metrics.get('loss', float('nan')):.5g}")
    finally:
        if hasattr(dataset, "close"):  # the on-the-fly pool: drop the batches prefetched past the end
            dataset.close()
        distributed.shutdown()
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_settings_options(p, "config entries", "loss.spec=dsm+0.1*sw")
    p.add_argument("--cache", help="an `fpscore precompute` folder (data.cache)")
    p.add_argument(
        "--on-the-fly",
        metavar="SOURCE",
        help="no cache: embed the images of SOURCE (as `fpscore precompute` reads it) as batches are "
        "drawn (data.source; options in data.source_options and data.embedding)",
    )
    p.add_argument("--embed-threads", type=int, help="with --on-the-fly: solver threads (default all cores)")
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
