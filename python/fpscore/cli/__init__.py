"""The `fpscore` command line: one module per command, each with its NAME, HELP (and DESCRIPTION),
`add_arguments(parser)` and `run(args)`.

Building the parser needs neither torch nor the data: commands import what they run when they run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from . import (
    demo,
    denoise,
    experiment,
    merge_caches,
    precompute,
    sample,
    show,
    train,
    train_classifier,
    verify,
)

# In the order of the pipeline, as `fpscore --help` lists them.
COMMANDS = (
    verify,
    precompute,
    merge_caches,
    show,
    train,
    train_classifier,
    sample,
    denoise,
    demo,
    experiment,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fpscore", description="Score embedding for score-based diffusion models."
    )
    parser.add_argument("--version", action="version", version=f"fpscore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.NAME, help=command.HELP, description=getattr(command, "DESCRIPTION", None))
        command.add_arguments(p)
        p.set_defaults(run=command.run)
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


__all__ = ["build_parser", "main"]
