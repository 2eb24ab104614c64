"""The `fpscore` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from .experiment import add_experiment_command
from .train import add_training_commands


def _verify(args: argparse.Namespace) -> int:
    from ..numerics.verify import format_table, spatial_convergence

    rows = spatial_convergence(sizes=args.sizes, schemes=args.schemes)
    print(format_table(rows))
    return 0


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


# Data options of `fpscore precompute`, passed (when given) to the loader of the source.
_DATA_OPTIONS = ("classes", "indices", "count", "size", "channels", "split", "skip_corrupt", "key", "layout")


def _sde_from_args(args: argparse.Namespace) -> object:
    from ..sde import VESDE, VPSDE, ConstantSDE

    if args.sde == "ve":
        return VESDE(args.sigma)
    if args.sde == "vp":
        return VPSDE(args.beta_min, args.beta_max)
    return ConstantSDE(args.g)


def _precompute(args: argparse.Namespace) -> int:
    import inspect
    import json

    from .. import data
    from ..embedding.precompute import precompute, precompute_parameters

    method = {
        "n_steps": args.n_steps,
        "T": args.T,
        "h": args.h,
        "bc": args.bc,
        "scheme": args.scheme,
        "iteration": args.iteration,
        "tol": args.tol,
        "max_iter": args.max_iter,
        "init": args.init,
        "sigma_s": args.sigma_s,
        "eps": args.eps,
        "bandwidth": args.bandwidth,
        "reduce": args.reduce,
        "dtype": args.dtype,
        "store_scores": args.store_scores,
        "shard_size": args.shard_size,
    }
    sde = _sde_from_args(args)
    params = precompute_parameters(sde, **method)
    options = {k: getattr(args, k) for k in _DATA_OPTIONS if getattr(args, k) not in (None, False)}
    function, positional = data.loader(args.source)
    accepted = inspect.signature(function).parameters
    unused = [k for k in options if k not in accepted]
    if unused:
        flags = ", ".join("--" + k.replace("_", "-") for k in unused)
        raise ValueError(
            f"{flags} do(es) not apply to {args.source!r} (read by fpscore.data.{function.__name__})"
        )
    if args.dry_run:
        resolved = {
            "source": str(args.source),
            "loader": f"fpscore.data.{function.__name__}",
            "data_options": options,
            "cache": str(args.cache),
            "parameters": params,
        }
        print(json.dumps(resolved, indent=2))
        return 0
    images = function(*positional, **options)
    summary = precompute(
        images,
        args.cache,
        sde,
        **method,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        threads=args.threads,
    )
    print(summary)
    return 0


def _show(args: argparse.Namespace) -> int:
    from ..embedding.show import show_cache

    images = args.indices if args.indices else args.images
    times = args.bins if args.bins else args.times
    out = show_cache(
        args.cache, args.out, images=images, times=times, field=args.field, dpi=args.dpi, palette=args.palette
    )
    print(f"wrote {out}")
    return 0


def _add_precompute(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "precompute",
        help="embed images (initial log-density, Fokker-Planck solve, transport) into an on-disk cache",
        description="Embed images into a resumable on-disk cache of .npy shards and a JSON manifest. "
        "Running it again with the same arguments resumes an interrupted run.",
    )
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
    m = p.add_argument_group("method")
    m.add_argument("--sde", choices=["ve", "vp", "constant"], default="ve", help="default ve")
    m.add_argument("--sigma", type=float, default=2.0, help="VESDE sigma (default 2)")
    m.add_argument("--beta-min", type=float, default=0.1, help="VPSDE beta_min (default 0.1)")
    m.add_argument("--beta-max", type=float, default=20.0, help="VPSDE beta_max (default 20)")
    m.add_argument("--g", type=float, default=1.0, help="ConstantSDE g (default 1)")
    m.add_argument("--n-steps", type=int, default=20, help="time steps N (default 20)")
    m.add_argument("--T", type=float, default=1.0, help="final time (default 1)")
    m.add_argument("--h", type=float, default=1.0, help="grid spacing (default 1)")
    m.add_argument("--bc", choices=["zero", "neumann", "periodic"], default="zero")
    m.add_argument("--scheme", choices=["central", "upwind"], default="central")
    m.add_argument("--iteration", choices=["picard", "policy"], default="picard")
    m.add_argument("--tol", type=float, default=1e-8)
    m.add_argument("--max-iter", type=int, default=50)
    m.add_argument("--init", choices=["intensity", "value-kde"], default="intensity")
    m.add_argument("--sigma-s", type=float, default=1.0, help="intensity smoothing in pixels (default 1)")
    m.add_argument("--eps", type=float, default=1e-2, help="density floor (default 0.01)")
    m.add_argument("--bandwidth", type=float, help="value-kde bandwidth (default: Scott's rule)")
    m.add_argument("--reduce", choices=["sum", "x", "y"], default="sum")
    o = p.add_argument_group("output")
    o.add_argument("--dtype", choices=["float32", "float16", "float64"], default="float32")
    o.add_argument("--store-scores", action="store_true", help="also store the scores")
    o.add_argument("--shard-size", type=int, default=128, help="images per shard (default 128)")
    o.add_argument("--overwrite", action="store_true", help="start over if the cache differs")
    o.add_argument("--threads", type=int, help="solver threads (default: all cores)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    o.add_argument("--dry-run", action="store_true", help="print the resolved configuration and stop")
    p.set_defaults(run=_precompute)


def _add_show(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "show",
        help="render a cache to a PNG: embedded images, log-densities and score fields over time",
    )
    p.add_argument("cache", help="a finished cache folder")
    p.add_argument("--out", required=True, help="the PNG file to write")
    p.add_argument("--images", type=int, default=3, help="how many images, evenly spaced (default 3)")
    p.add_argument("--indices", type=int, nargs="+", help="which images (instead of --images)")
    p.add_argument("--times", type=int, default=5, help="how many time bins, evenly spaced (default 5)")
    p.add_argument("--bins", type=int, nargs="+", help="which time bins (instead of --times)")
    p.add_argument("--field", choices=["quiver", "magnitude"], default="quiver")
    p.add_argument("--dpi", type=int, default=80)
    p.add_argument("--palette", action="store_true", help="256-colour PNG (smaller file)")
    p.set_defaults(run=_show)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fpscore", description="Score embedding for score-based diffusion models."
    )
    parser.add_argument("--version", action="version", version=f"fpscore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser(
        "verify",
        help="solve a Cole-Hopf case against its exact solution and print errors and measured orders",
    )
    verify.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[17, 33, 65],
        help="grid sizes W = H, each with half the spacing of the one before (default: 17 33 65)",
    )
    verify.add_argument("--schemes", nargs="+", default=["central", "upwind"], choices=["central", "upwind"])
    verify.set_defaults(run=_verify)
    _add_precompute(sub)
    _add_show(sub)
    add_training_commands(sub)
    add_experiment_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ValueError, TypeError) as err:
        print(f"fpscore {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError, ImportError) as err:  # missing files, solver failures, busy cache
        print(f"fpscore {args.command}: error: {err}", file=sys.stderr)
        return 1
