"""`fpscore show`: a cache as a PNG of embedded images, log-densities and score fields over time."""

from __future__ import annotations

import argparse

NAME = "show"
HELP = "render a cache to a PNG: embedded images, log-densities and score fields over time"


def run(args: argparse.Namespace) -> int:
    from ..embedding.show import show_cache

    images = args.indices if args.indices else args.images
    times = args.bins if args.bins else args.times
    out = show_cache(
        args.cache, args.out, images=images, times=times, field=args.field, dpi=args.dpi, palette=args.palette
    )
    print(f"wrote {out}")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..embedding.show import FIELDS

    p.add_argument("cache", help="a finished cache folder")
    p.add_argument("--out", required=True, help="the PNG file to write")
    p.add_argument("--images", type=int, default=3, help="how many images, evenly spaced (default 3)")
    p.add_argument("--indices", type=int, nargs="+", help="which images (instead of --images)")
    p.add_argument("--times", type=int, default=5, help="how many time bins, evenly spaced (default 5)")
    p.add_argument("--bins", type=int, nargs="+", help="which time bins (instead of --times)")
    p.add_argument("--field", choices=FIELDS, default=FIELDS[0])
    p.add_argument("--dpi", type=int, default=80)
    p.add_argument("--palette", action="store_true", help="256-colour PNG (smaller file)")
