"""`fpscore precompute`: embed images into a resumable on-disk cache.

The method's options are the fields of `PrecomputeParams` (names, defaults, choices and help come
from there); the process's are those of `SDEConfig`."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json

from ..embedding.params import PrecomputeParams
from ._common import add_sde_options

NAME = "precompute"
HELP = "embed images (initial log-density, Fokker-Planck solve, transport) into an on-disk cache"
DESCRIPTION = (
    "Embed images into a resumable on-disk cache of .npy shards and a JSON manifest. "
    "Running it again with the same arguments resumes an interrupted run."
)

# Data options, passed (when given) to the loader of the source.
DATA_OPTIONS = ("classes", "indices", "count", "size", "channels", "split", "skip_corrupt", "key", "layout")
_TYPES = {"int": int, "float": float, "float | None": float, "str": str}


def _size_arg(text: str) -> int | tuple[int, int]:
    """ "32" or "32x48" (H x W)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}") from None
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}")


def _class_arg(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def params_from_args(args: argparse.Namespace) -> PrecomputeParams:
    return PrecomputeParams(**{f.name: getattr(args, f.name) for f in dataclasses.fields(PrecomputeParams)})


def run(args: argparse.Namespace) -> int:
    from .. import data
    from ..embedding.precompute import parse_shard, precompute
    from ..sde import make_sde

    sde = make_sde(args.sde, vars(args))
    params = params_from_args(args)
    options = {k: getattr(args, k) for k in DATA_OPTIONS if getattr(args, k) not in (None, False)}
    function, positional = data.loader(args.source)
    accepted = inspect.signature(function).parameters
    unused = [k for k in options if k not in accepted]
    if unused:
        flags = ", ".join("--" + k.replace("_", "-") for k in unused)
        raise ValueError(
            f"{flags} do(es) not apply to {args.source!r} (read by fpscore.data.{function.__name__})"
        )
    if "lazy" in accepted:  # decode chunk by chunk while the shards are computed: bounded memory
        options["lazy"] = True
    if args.dry_run:
        resolved = {
            "source": str(args.source),
            "loader": f"fpscore.data.{function.__name__}",
            "data_options": options,
            "cache": str(args.cache),
            "parameters": params.manifest(sde),
            "shard": parse_shard(args.shard),
            "scheduler": {"dask": args.dask} if args.dask else "local",
        }
        print(json.dumps(resolved, indent=2))
        return 0
    images = function(*positional, **options)
    summary = precompute(
        images,
        args.cache,
        sde,
        params,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        threads=args.threads,
        device=args.device,
        shard=args.shard,
        scheduler="dask" if args.dask else "local",
        dask_address=args.dask,
    )
    print(summary)
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:

    p.add_argument(
        "source",
        help="'samples' (photos shipped with scikit-image), 'faces' (skimage lfw_subset), "
        "a .npy/.npz file, a CIFAR-10 batch or folder of batches, or a folder of image files",
    )
    p.add_argument("cache", help="cache folder (created if missing)")
    d = p.add_argument_group("data selection")
    d.add_argument("--classes", nargs="+", type=_class_arg, help="class indices or names")
    d.add_argument("--indices", nargs="+", type=int, help="positions among the (class-selected) images")
    d.add_argument("--count", type=int, help="the first COUNT (class-selected) images")
    d.add_argument("--size", type=_size_arg, help="resize to N x N or HxW (antialiased, centred crop)")
    d.add_argument("--channels", type=int, choices=[1, 3], help="1 (luminance) or 3 (RGB)")
    d.add_argument("--split", choices=["train", "test"], help="CIFAR-10 split (default train)")
    d.add_argument("--key", help=".npz: the array holding the images")
    d.add_argument("--layout", choices=["auto", "NCHW", "NHWC", "NHW"], help=".npy/.npz layout")
    d.add_argument("--skip-corrupt", action="store_true", help="skip unreadable files with a warning")
    groups = {"method": p.add_argument_group("method"), "output": p.add_argument_group("output")}
    m = groups["method"]
    add_sde_options(m)
    for f in dataclasses.fields(PrecomputeParams):
        group, flag = groups[f.metadata["group"]], "--" + f.name.replace("_", "-")
        help_text = f.metadata["help"]
        if f.type == "bool":
            group.add_argument(flag, action="store_true", help=help_text or None)
        elif f.type == "tuple[int, ...] | None":
            group.add_argument(flag, type=int, nargs="+", metavar="N", help=help_text or None)
        elif f.metadata["choices"]:
            group.add_argument(flag, choices=f.metadata["choices"], default=f.default, help=help_text or None)
        else:
            group.add_argument(flag, type=_TYPES[str(f.type)], default=f.default, help=help_text or None)
    o = groups["output"]
    o.add_argument("--overwrite", action="store_true", help="start over if the cache differs")
    o.add_argument("--threads", type=int, help="solver threads (default: all cores)")
    o.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="where the solves run: auto (FPSCORE_BACKEND, else CUDA when available, else cpu)",
    )
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    s = p.add_argument_group("scale-out (docs/scale-out.md)")
    s.add_argument(
        "--shard",
        metavar="I/N",
        help="compute only part I of N (0 <= I < N) into this cache; join the parts with merge-caches",
    )
    s.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="solve on the workers of the dask.distributed scheduler at ADDRESS (e.g. tcp://host:8786)",
    )
    o.add_argument("--dry-run", action="store_true", help="print the resolved configuration and stop")
