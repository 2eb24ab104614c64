"""What several commands share: settings files with --set overrides, and image files in and out."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any


def add_sde_options(group: Any) -> None:
    """--sde KIND and one float option per SDE parameter (defaults: `SDEConfig`'s); the process is
    then `fpscore.sde.make_sde(args.sde, vars(args))`."""
    from ..sde import SDE_KINDS, SDES
    from ..training.config import SDEConfig

    sde = SDEConfig()
    group.add_argument("--sde", choices=SDE_KINDS, default=sde.kind, help=f"default {sde.kind}")
    for cls in SDES:
        for name in cls.PARAMETERS:
            value = getattr(sde, name)
            group.add_argument(
                "--" + name.replace("_", "-"),
                type=float,
                default=value,
                help=f"{cls.__name__} {name} (default {value:g})",
            )


def add_settings_options(p: argparse.ArgumentParser, what: str, example: str) -> None:
    """--config FILE and repeatable --set KEY=VALUE."""
    p.add_argument("--config", help=f"a TOML or JSON file of {what}")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help=f"override {what}, e.g. --set {example} (repeatable)",
    )


def overrides(args: argparse.Namespace, shortcuts: Mapping[str, Any]) -> list[str]:
    """The --set assignments, then "key=value" for each shortcut flag given (value not None)."""
    out = list(args.set or [])
    out += [f"{key}={json.dumps(value)}" for key, value in shortcuts.items() if value is not None]
    return out


def add_sampler_options(p: argparse.ArgumentParser, *, steps: int) -> None:
    """The options of the commands that run a sampler on a trained run."""
    from ..sampling import SAMPLER_NAMES

    p.add_argument("--sampler", choices=SAMPLER_NAMES, default="ancestral", help="default ancestral")
    p.add_argument("--sample-steps", type=int, default=steps, help=f"sampler steps (default {steps})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-ema", action="store_true", help="use the raw weights instead of the EMA")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
