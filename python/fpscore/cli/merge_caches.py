"""`fpscore merge-caches`: join the parts of a pre-computation made with `precompute --shard i/n`."""

from __future__ import annotations

import argparse

NAME = "merge-caches"
HELP = "join the parts of a pre-computation made with `precompute --shard I/N` into one cache"
DESCRIPTION = (
    "Check that the part caches record the same computation and hold every shard exactly once, then "
    "build OUT from them: shard files are hard-linked where the file system allows, else copied."
)


def run(args: argparse.Namespace) -> int:
    from ..embedding.merge import merge_caches

    print(merge_caches(args.out, args.parts, copy=args.copy, verify=args.verify))
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="the merged cache (a new or empty folder)")
    p.add_argument("parts", nargs="+", help="the part caches, in any order")
    p.add_argument("--copy", action="store_true", help="copy the files even where hard links would do")
    p.add_argument("--verify", action="store_true", help="check every file's SHA-256 first")
