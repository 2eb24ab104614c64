"""fpscore experiment: does score embedding make training faster?

Arms (`embed`, `control`, `ddpm`, `edm` and variants such as `embed:strength=0.5`) train on the same
images with the same network, optimiser, batch size and seeds; each records the SSIM of its samples
against training wall-clock seconds. See docs/experiment.md.

    cfg = fpscore.experiment.build_config("quick")          # or "smoke", "paper"; a TOML file; overrides
    results = fpscore.experiment.run_experiment(cfg, "runs/quick")
    fpscore.experiment.write_report("runs/quick")           # table.md and curves.png again

The config and the report need no torch; running does.
"""

from typing import Any

from .config import ARM_KINDS, PRESETS, SCENARIOS, Arm, ExperimentConfig, build_config, parse_arm
from .report import summarize_results, time_to_target, write_report


def __getattr__(name: str) -> Any:
    if name in ("run_experiment", "check"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'fpscore.experiment' has no attribute {name!r}")


__all__ = [
    "ARM_KINDS",
    "PRESETS",
    "SCENARIOS",
    "Arm",
    "ExperimentConfig",
    "build_config",
    "check",
    "parse_arm",
    "run_experiment",
    "summarize_results",
    "time_to_target",
    "write_report",
]
