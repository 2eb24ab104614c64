"""`fpscore verify`: a Cole–Hopf case against its exact solution, errors and measured orders."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from ..numerics.verify import format_table, spatial_convergence

    print(format_table(spatial_convergence(sizes=args.sizes, schemes=args.schemes)))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..numerics.solver import SCHEMES

    p = sub.add_parser(
        "verify",
        help="solve a Cole-Hopf case against its exact solution and print errors and measured orders",
    )
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[17, 33, 65],
        help="grid sizes W = H, each with half the spacing of the one before (default: 17 33 65)",
    )
    p.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=SCHEMES)
    p.set_defaults(run=run)
