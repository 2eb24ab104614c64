"""The `fpscore` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__


def _verify(args: argparse.Namespace) -> int:
    from .verify import format_table, spatial_convergence

    rows = spatial_convergence(sizes=args.sizes, schemes=args.schemes)
    print(format_table(rows))
    return 0


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ValueError, TypeError) as err:
        print(f"fpscore {args.command}: error: {err}", file=sys.stderr)
        return 2
