"""The experiment's configuration: a typed dataclass, presets, TOML/JSON files, `--set key=value`.

No torch here: a configuration is checked completely (arms, scenario, image size against the network,
data and image indices, device) before anything trains.

Arms are written KIND or KIND:key=value,key=value:

- `embed` (options `strength`, `init`, `loss`, `model`): score embedding as fpscore implements it;
- `control`: the same pipeline with the embedding off (x⁰ at every time; `loss` and `model` may be set);
- `ddpm` (option `sampler` = "ancestral" | "ddim", `steps` for DDIM): Ho et al.'s baseline;
- `edm` (option `steps`, default 18): Karras et al.'s baseline.

`model` is "unet" or "cunet" (the continuous U-Net), for that arm instead of the experiment's `model`.

e.g. `arms = ["embed", "control", "embed:strength=0.5", "embed:model=cunet", "ddpm", "edm"]`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...embedding.density import INITS
from ...training.config import MODEL_KINDS, _parse_value, _toml, parse_assignments, parse_loss, set_field

ARM_KINDS = ("embed", "control", "ddpm", "edm")
ARM_OPTIONS: dict[str, tuple[str, ...]] = {
    "embed": ("strength", "init", "loss", "model"),
    "control": ("loss", "model"),
    "ddpm": ("sampler", "steps"),
    "edm": ("steps",),
}
SCENARIOS: dict[str, dict[str, Any]] = {
    # name: number of images, size, condition weight w (0: from noise)
    "one32": {"count": 1, "size": 32, "condition_weight": 0.0},
    "one64": {"count": 1, "size": 64, "condition_weight": 0.0},
    "three32-conditional": {"count": 3, "size": 32, "condition_weight": 0.6},
}
SAMPLE_IMAGES = ("astronaut", "chelsea", "coffee")


@dataclass(frozen=True)
class Arm:
    """One arm: its kind and options, and the name it is reported under."""

    kind: str
    options: dict[str, Any]

    @property
    def name(self) -> str:
        if not self.options:
            return self.kind
        return self.kind + ":" + ",".join(f"{k}={v}" for k, v in sorted(self.options.items()))

    @property
    def slug(self) -> str:
        """A folder name for the arm."""
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in self.name)

    @property
    def strength(self) -> float:
        return 0.0 if self.kind == "control" else float(self.options.get("strength", 1.0))


def parse_arm(text: str) -> Arm:
    """ "embed:strength=0.5,init=value-kde" → Arm("embed", {"strength": 0.5, "init": "value-kde"})."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"an arm is a string such as 'embed' or 'embed:strength=0.5', got {text!r}")
    kind, _, rest = text.strip().partition(":")
    if kind not in ARM_KINDS:
        raise ValueError(f"unknown arm {kind!r} in {text!r}; arms: {', '.join(ARM_KINDS)}")
    options: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in ARM_OPTIONS[kind]:
            known = ", ".join(ARM_OPTIONS[kind]) or "none"
            raise ValueError(f"arm {text!r}: {part!r} is not an option of {kind} (options: {known})")
        options[key] = _parse_value(raw.strip())
    if "strength" in options:
        s = options["strength"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s):
            raise ValueError(f"arm {text!r}: strength must be a number, got {s!r}")
        options["strength"] = float(s)
    if "init" in options and options["init"] not in INITS:
        raise ValueError(f"arm {text!r}: init must be one of {INITS}, got {options['init']!r}")
    if "loss" in options:
        parse_loss(str(options["loss"]))
    if "model" in options and options["model"] not in MODEL_KINDS:
        raise ValueError(f"arm {text!r}: model must be one of {MODEL_KINDS}, got {options['model']!r}")
    if "sampler" in options and options["sampler"] not in ("ancestral", "ddim"):
        raise ValueError(
            f"arm {text!r}: the DDPM sampler is 'ancestral' or 'ddim', got {options['sampler']!r}"
        )
    if "steps" in options and (not isinstance(options["steps"], int) or options["steps"] < 1):
        raise ValueError(f"arm {text!r}: steps must be an integer >= 1, got {options['steps']!r}")
    return Arm(kind, options)


@dataclass
class ExperimentConfig:
    """Everything an experiment does. Shared by every arm: the images, the network, the optimiser,
    the batch size, the seeds, the clock; the fpscore pipeline's own settings apply to embed/control.

    Clock: each arm and seed trains for `budget_seconds` of training time (pre-computation included
    for embedding arms) or `max_steps` steps (0: no cap), and stops early once the mean SSIM of its
    samples reaches `stop_at` (0: never). Every `eval_every_seconds` of training (or, when
    `eval_every_steps` > 0, every so many steps: the same evaluations on a busy or a quiet machine)
    it samples `n_samples` images from fixed prior noise and records SSIM, PSNR and MSE.
    """

    preset: str = "quick"
    scenario: str = "one32"
    data: str = "samples"  # "samples" (scikit-image photographs) or a CIFAR-10 batch / .npz / folder
    images: tuple[str, ...] = ()  # sample photograph names (data = "samples"); default by scenario
    indices: tuple[int, ...] = ()  # image indices in the data file (data = a path)
    size: int = 0  # 0: the scenario's size
    condition_weight: float = -1.0  # w of the conditional start (1 − w)·z + w·x; −1: the scenario's
    arms: tuple[str, ...] = ARM_KINDS
    seeds: tuple[int, ...] = (0, 1, 2)
    budget_seconds: float = 60.0
    max_steps: int = 0
    eval_every_seconds: float = 6.0
    eval_every_steps: int = 0  # > 0: evaluate every so many steps instead (independent of machine load)
    n_samples: int = 4
    targets: tuple[float, ...] = (0.90, 0.95, 0.98, 0.99)
    stop_at: float = 0.99
    device: str = "cpu"
    # the fpscore pipeline (embed and control arms)
    sigma: float = 2.0  # VE SDE g(t) = σᵗ
    fp_steps: int = 20  # N time bins of the Fokker–Planck solve
    init: str = "intensity"
    loss: str = "dsm"
    weighting: str = "paper"
    preconditioning: str = "edm"
    sample_steps: int = 40  # ancestral steps, then one Tweedie step
    # samplers compared on each finished embed/control model (final_samplers.py): names of
    # fpscore.samplers and "dlg", with DLG's noise-level classifier and hand-off interval
    final_samplers: tuple[str, ...] = ()
    classifier_levels: int = 10
    classifier_steps: int = 300
    dlg_skip: int = 10
    # the network and the optimiser (every arm); model "cunet": channels is its nf, ode_steps its RK4
    # steps, and num_res_blocks, attn_resolutions and dropout are not used
    model: str = "unet"
    ode_steps: int = 2
    channels: int = 32
    channel_mult: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 1
    attn_resolutions: tuple[int, ...] = (8,)
    dropout: float = 0.0
    time_embedding: str = "fourier"
    batch_size: int = 16
    lr: float = 2e-3
    warmup: int = 100
    grad_clip: float = 1.0
    ema_decay: float = 0.995
    progress: bool = True

    # -- derived ----------------------------------------------------------------------------------

    @property
    def image_size(self) -> int:
        return self.size or SCENARIOS[self.scenario]["size"]

    @property
    def weight(self) -> float:
        return (
            self.condition_weight
            if self.condition_weight >= 0
            else SCENARIOS[self.scenario]["condition_weight"]
        )

    @property
    def image_count(self) -> int:
        if self.data == "samples":
            return len(self.images) if self.images else SCENARIOS[self.scenario]["count"]
        return len(self.indices) if self.indices else SCENARIOS[self.scenario]["count"]

    @property
    def sample_names(self) -> tuple[str, ...]:
        return self.images or SAMPLE_IMAGES[: SCENARIOS[self.scenario]["count"]]

    def parsed_arms(self) -> list[Arm]:
        return [parse_arm(a) for a in self.arms]

    # -- conversion -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        cfg = cls()
        for key, value in data.items():
            cfg.set(key, value)
        return cfg

    def set(self, key: str, value: Any) -> None:
        set_field(self, key, value, key=key, noun="experiment setting", listing="settings:")

    def override(self, assignments: list[str]) -> ExperimentConfig:
        for key, value in parse_assignments(assignments):
            self.set(key, value)
        return self

    def to_toml(self) -> str:
        from ...training.config import _toml_value

        return "\n".join(f"{k} = {_toml_value(v)}" for k, v in self.to_dict().items()) + "\n"

    # -- checks -----------------------------------------------------------------------------------

    def validate(self) -> None:
        """Every check that needs no data and no torch; `fpscore.experiment.check` does the rest."""
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; presets: {', '.join(PRESETS)}")
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; scenarios: {', '.join(SCENARIOS)}")
        arms = self.parsed_arms()
        if not arms:
            raise ValueError("no arms: set arms, e.g. arms = ['embed', 'control']")
        names = [a.name for a in arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arms are listed twice: {names}")
        from .final_samplers import FINAL_SAMPLER_NAMES

        unknown_samplers = [s for s in self.final_samplers if s not in FINAL_SAMPLER_NAMES]
        if unknown_samplers:
            known = ", ".join(FINAL_SAMPLER_NAMES)
            raise ValueError(f"final_samplers: unknown {unknown_samplers}; known: {known}")
        if self.final_samplers and self.weight > 0:
            raise ValueError("final_samplers compare samplers from noise: use them with condition_weight 0")
        for name, least in (("classifier_levels", 2), ("classifier_steps", 1), ("dlg_skip", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        if self.model not in MODEL_KINDS:
            raise ValueError(f"model must be one of {MODEL_KINDS}, got {self.model!r}")
        if isinstance(self.ode_steps, bool) or not isinstance(self.ode_steps, int) or self.ode_steps < 1:
            raise ValueError(f"ode_steps must be an integer >= 1, got {self.ode_steps!r}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {list(self.seeds)}")
        levels = len(self.channel_mult)
        size = self.image_size
        if size < 8 or size % (2 ** (levels - 1)):
            raise ValueError(
                f"the network halves the image {levels - 1} times (channel_mult {list(self.channel_mult)}): "
                f"the image size must be a multiple of {2 ** (levels - 1)} and at least 8, got {size}; "
                "set size or channel_mult"
            )
        if not 0.0 <= self.weight < 1.0:
            raise ValueError(f"condition_weight must be in [0, 1) (0: from noise), got {self.weight}")
        if self.data == "samples":
            from ...data.loaders import SAMPLE_PHOTOS

            unknown = [n for n in self.sample_names if n not in SAMPLE_PHOTOS]
            if unknown:
                raise ValueError(f"unknown sample images {unknown}; available: {', '.join(SAMPLE_PHOTOS)}")
        elif not Path(self.data).exists():
            raise ValueError(
                f"no data file {self.data!r}: point data to a CIFAR-10 batch, an .npz/.npy file or a folder, "
                "or use data = 'samples'"
            )
        positive = {
            "budget_seconds": self.budget_seconds,
            "eval_every_seconds": self.eval_every_seconds,
            "n_samples": self.n_samples,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "sigma": self.sigma,
            "fp_steps": self.fp_steps,
            "sample_steps": self.sample_steps,
            "channels": self.channels,
        }
        bad = {k: v for k, v in positive.items() if not v > 0}
        if bad:
            raise ValueError(f"these settings must be > 0: {bad}")
        if self.sigma == 1.0:
            raise ValueError("sigma must differ from 1 (the VE SDE g(t) = σᵗ)")
        if self.eval_every_steps < 0:
            raise ValueError(
                f"eval_every_steps must be >= 0 (0: every eval_every_seconds), got {self.eval_every_steps}"
            )
        if self.max_steps < 0:
            raise ValueError(f"max_steps must be >= 0 (0: no cap), got {self.max_steps}")
        if not self.targets or any(not 0.0 < t <= 1.0 for t in self.targets):
            raise ValueError(f"targets must be SSIM values in (0, 1], got {list(self.targets)}")
        if not 0.0 <= self.stop_at <= 1.0:
            raise ValueError(f"stop_at must be in [0, 1] (0: never stop early), got {self.stop_at}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        parse_loss(self.loss)
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda[:k]', got {self.device!r}")


PRESETS: dict[str, dict[str, Any]] = {
    # seconds, for tests: two arms, a tiny network on one 16×16 image
    "smoke": {
        "scenario": "one32",
        "size": 16,
        "arms": ["embed", "control"],
        "seeds": [0],
        "budget_seconds": 3.0,
        "eval_every_seconds": 1.0,
        "n_samples": 2,
        "fp_steps": 5,
        "sample_steps": 5,
        "channels": 8,
        "channel_mult": [1, 2],
        "attn_resolutions": [],
        "batch_size": 4,
        "warmup": 2,
        "progress": False,
    },
    # this 2-core CPU, at most 15 minutes: one 32×32 image, all four arms, 3 seeds
    "quick": {
        "scenario": "one32",
        "budget_seconds": 45.0,
        "eval_every_seconds": 7.5,
    },
    # the paper's settings (PAPER_PROTOCOL.md): one table per scenario; --device cuda for a GPU
    "paper": {
        "scenario": "one32",
        "sigma": 5.0,
        "fp_steps": 20,
        "channels": 128,
        "channel_mult": [1, 2, 2, 2],
        "num_res_blocks": 2,
        "attn_resolutions": [16],
        "dropout": 0.1,
        "batch_size": 20,
        "lr": 8e-5,
        "warmup": 0,
        "grad_clip": 0.0,
        "ema_decay": 0.0,  # no EMA
        "time_embedding": "linear",
        "budget_seconds": 300.0,
        "eval_every_seconds": 5.0,
        "sample_steps": 100,
    },
}

# The paper's per-scenario changes (σ = 2, N = 10 and lr 1e-4, batch 10 beyond one CIFAR image).
PAPER_SCENARIOS: dict[str, dict[str, Any]] = {
    "one64": {
        "sigma": 2.0,
        "fp_steps": 10,
        "lr": 1e-4,
        "batch_size": 10,
        "grad_clip": 1.0,
        "budget_seconds": 900.0,
    },
    "three32-conditional": {
        "time_embedding": "fourier",
        "sigma": 2.0,
        "fp_steps": 10,
        "lr": 1e-4,
        "batch_size": 10,
        "budget_seconds": 600.0,
    },
}


def build_config(
    preset: str = "quick",
    path: str | os.PathLike[str] | None = None,
    overrides: list[str] | None = None,
    *,
    scenario: str | None = None,
) -> ExperimentConfig:
    """Defaults ← the preset ← the scenario's paper settings (paper preset) ← the file ← overrides."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    cfg = ExperimentConfig.from_dict({"preset": preset, **PRESETS[preset]})
    file_data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"experiment config {p} does not exist")
        text = p.read_text(encoding="utf-8")
        file_data = json.loads(text) if p.suffix.lower() == ".json" else _toml().loads(text)
        file_data = file_data.get("experiment", file_data)
    chosen = scenario or file_data.get("scenario") or cfg.scenario
    if chosen not in SCENARIOS:
        raise ValueError(f"unknown scenario {chosen!r}; scenarios: {', '.join(SCENARIOS)}")
    cfg.scenario = chosen
    if preset == "paper":
        for key, value in PAPER_SCENARIOS.get(chosen, {}).items():
            cfg.set(key, value)
    for key, value in file_data.items():
        cfg.set(key, value)
    cfg.override(list(overrides or []))
    if scenario is not None:
        cfg.scenario = scenario
    cfg.validate()
    return cfg


__all__ = ["ARM_KINDS", "PRESETS", "SCENARIOS", "Arm", "ExperimentConfig", "build_config", "parse_arm"]
