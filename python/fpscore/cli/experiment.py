"""`fpscore experiment`: run the arms of an experiment, or redraw its report."""

from __future__ import annotations

import argparse

from ._common import add_settings_options, overrides

NAME = "experiment"
HELP = "does score embedding train faster? arms side by side against training time (needs torch)"
DESCRIPTION = (
    "Train several arms (embed, control, ddpm, edm, and variants such as "
    "embed:strength=0.5) on the same images, one after another, and record the SSIM of their "
    "samples against training seconds. Writes results.json, table.md and curves.png. "
    "Running it again on the same folder resumes it. `fpscore experiment report DIR` redraws "
    "the table and the plot."
)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.experiment import build_config, write_report

    if args.action == "report":
        if not args.folder:
            raise ValueError("fpscore experiment report DIR: name the experiment's folder")
        summary = write_report(args.folder)
        print(f"wrote {args.folder}/table.md and {args.folder}/curves.png ({len(summary['arms'])} arms)")
        return 0
    shortcuts = {"device": args.device or None, "progress": False if args.no_progress else None}
    cfg = build_config(args.preset, args.config, overrides(args, shortcuts), scenario=args.scenario)
    if args.dry_run:
        print(cfg.to_toml(), end="")
        return 0
    from ..evaluation.experiment.runner import run_experiment

    out = args.folder or args.out or f"fpscore-experiment-{cfg.preset}-{cfg.scenario}"
    run_experiment(cfg, out)
    print(f"\nwrote {out}/results.json, {out}/table.md and {out}/curves.png")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..evaluation.experiment.config import PRESETS, SCENARIOS

    p.add_argument("action", nargs="?", choices=["run", "report"], default="run", help="default run")
    p.add_argument("folder", nargs="?", help="the experiment folder (report: required)")
    p.add_argument("--preset", default="quick", choices=list(PRESETS), help="default quick")
    p.add_argument("--scenario", choices=list(SCENARIOS), help="default: the preset's (one32)")
    add_settings_options(p, "experiment settings", '\'arms=["embed", "embed:strength=0.5"]\'')
    p.add_argument("--out", help="the experiment folder (default fpscore-experiment-PRESET-SCENARIO)")
    p.add_argument("--device", help="cpu (default) or cuda")
    p.add_argument("--dry-run", action="store_true", help="print the resolved settings and stop")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
