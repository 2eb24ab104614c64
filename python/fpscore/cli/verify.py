"""`fpscore verify`: a Cole–Hopf case against its exact solution, errors and measured orders."""

from __future__ import annotations

import argparse

NAME = "verify"
HELP = "solve a Cole-Hopf case against its exact solution and print errors and measured orders"


def run(args: argparse.Namespace) -> int:
    from ..numerics.verify import format_table, spatial_convergence

    print(format_table(spatial_convergence(sizes=args.sizes, schemes=args.schemes)))
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..numerics.solver import SCHEMES

    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[17, 33, 65],
        help="grid sizes W = H, each with half the spacing of the one before (default: 17 33 65)",
    )
    p.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=SCHEMES)
