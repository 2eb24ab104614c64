"""Training configuration: typed dataclasses, loadable from TOML or JSON, overridable with
`--set section.key=value`, printed by `--dry-run` and saved with every run and checkpoint.

No torch needed here. A config file holds any subset of the sections; missing keys keep their
defaults, unknown keys are an error:

    [model]
    channels = 64
    channel_mult = [1, 2, 2]

    [loss]
    spec = "dsm+0.1*sw"

    [train]
    steps = 2000
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sde import SDE_KINDS, SDES, make_sde

# The choices of the config's options: the trainer, the networks and the losses read them from here.
TIME_SAMPLINGS = ("stratified", "uniform")
TIME_EMBEDDINGS = ("fourier", "linear")
MODEL_KINDS = ("unet", "cunet")
PRECONDITIONINGS = ("none", "edm")
WEIGHTINGS = ("unit", "paper")
LOSS_NAMES = ("dsm", "ssm", "sw")

_TERM = re.compile(
    r"^\s*(?:(?P<coef>[0-9.eE+-]+)\s*\*\s*)?(?P<name>[a-z]+)\s*(?:\*\s*(?P<post>[0-9.eE+-]+)\s*)?$"
)


def parse_loss(spec: str) -> list[tuple[float, str]]:
    """ "dsm+0.1*sw" → [(1.0, "dsm"), (0.1, "sw")]. Coefficients may stand before or after the name."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"loss must be a non-empty string such as 'dsm' or 'dsm+0.1*sw', got {spec!r}")
    terms: list[tuple[float, str]] = []
    for part in spec.split("+"):
        m = _TERM.match(part)
        if m is None or (m["coef"] and m["post"]):
            raise ValueError(f"cannot parse loss term {part.strip()!r} in {spec!r}: write NAME or COEF*NAME")
        name = m["name"]
        if name not in LOSS_NAMES:
            raise ValueError(f"unknown loss {name!r} in {spec!r}; known: {', '.join(LOSS_NAMES)}")
        try:
            coef = float(m["coef"] or m["post"] or 1.0)
        except ValueError:
            raise ValueError(f"bad coefficient in loss term {part.strip()!r} of {spec!r}") from None
        if any(name == n for _, n in terms):
            raise ValueError(f"loss {name!r} appears twice in {spec!r}")
        terms.append((coef, name))
    return terms


@dataclass
class SDEConfig:
    """The process; ignored when the data (an embedding cache) records its own SDE."""

    kind: str = "ve"
    sigma: float = 2.0
    beta_min: float = 0.1
    beta_max: float = 20.0
    g: float = 1.0

    def build(self):
        return make_sde(self.kind, dataclasses.asdict(self))

    @classmethod
    def from_sde(cls, sde) -> SDEConfig:
        if not isinstance(sde, SDES):
            raise TypeError(f"cannot describe {type(sde).__name__} in a config")
        return cls(kind=sde.kind, **sde.parameters())


@dataclass
class ModelConfig:
    """The ε-network; the defaults are the paper's CIFAR-10 U-Net.
    kind: "unet" (`fpscore.UNet`: channels, channel_mult, num_res_blocks, attn_resolutions,
    dropout) or "cunet" (`fpscore.CUNet`, the continuous U-Net: channels is its nf, channel_mult
    its levels, ode_steps the RK4 steps of each ODE block; num_res_blocks, attn_resolutions and
    dropout are not used).
    preconditioning: "none" (the network's output is ε̂) or "edm" (ε̂ from the network through
    EDM's skip and scalings, `fpscore.EDMPreconditioned`, with sigma_data and data_mean)."""

    kind: str = "unet"
    image_channels: int = 3
    image_size: int = 32
    channels: int = 128
    channel_mult: tuple[int, ...] = (1, 2, 2, 2)
    num_res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (16,)
    dropout: float = 0.1
    time_embedding: str = "fourier"
    time_scale: float = 1000.0
    preconditioning: str = "none"
    sigma_data: float = 0.25
    data_mean: float = 0.5
    ode_steps: int = 2


@dataclass
class DataConfig:
    """cache: an `fpscore precompute` folder. Or source: images embedded on the fly, with no cache
    (`fpscore.data.on_the_fly.OnTheFlyDataset`): read with `fpscore.data.load(source, **source_options)`
    (e.g. {size = 32, channels = 1, count = 64}), embedded with `PrecomputeParams(**embedding)` (e.g.
    {n_steps = 20, sigma_s = 1.0}) and the [sde] section. Times t ∈ [t_min, T] are drawn "stratified"
    (each batch covers [t_min, T] evenly, one time per stratum, as the paper's code) or "uniform";
    each sample uses the embedded image xⁿ of the time bin n nearest to t. strength: s in
    x⁰ + s·(xⁿ − x⁰), the displacement the score causes scaled (1: the embedding as computed; see
    `fpscore.data.training`). scores_zero: the same pipeline with the embedding turned off (x⁰ at
    every time; s = 0)."""

    cache: str = ""
    time_sampling: str = "stratified"
    t_min: float = 1e-3
    strength: float = 1.0
    scores_zero: bool = False
    source: str = ""
    source_options: dict[str, Any] = field(default_factory=dict)
    embedding: dict[str, Any] = field(default_factory=dict)

    @property
    def effective_strength(self) -> float:
        return 0.0 if self.scores_zero else self.strength

    def check_source(self) -> None:
        """data.cache or data.source, not both; the on-the-fly tables well formed."""
        if self.cache and self.source:
            raise ValueError(
                f"set data.cache ({self.cache!r}) or data.source ({self.source!r}), not both: a cache "
                "holds embedded trajectories, a source is embedded on the fly"
            )
        for name in ("source_options", "embedding"):
            value = getattr(self, name)
            if not isinstance(value, dict):
                raise TypeError(f"data.{name} must be a table (key = value, ...), got {value!r}")
            if value and not self.source:
                raise ValueError(f"data.{name} is only used with data.source (on-the-fly embedding)")
        from ..embedding.params import PrecomputeParams

        try:
            PrecomputeParams(**self.embedding)
        except TypeError as err:  # an unknown field
            known = ", ".join(f.name for f in dataclasses.fields(PrecomputeParams))
            raise ValueError(f"data.embedding: {err}; known: {known}") from None
        except ValueError as err:
            raise ValueError(f"data.embedding: {err}") from None


@dataclass
class LossConfig:
    """spec: "dsm", "ssm", "sw" or a weighted sum such as "dsm+0.1*sw" (see `fpscore.losses`);
    weighting: "paper" (1/(2g²)) or "unit"."""

    spec: str = "dsm"
    weighting: str = "paper"
    sw_projections: int = 64
    ssm_projections: int = 1


@dataclass
class TrainConfig:
    steps: int = 10000
    batch_size: int = 64
    lr: float = 2e-4
    warmup: int = 500
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    weight_decay: float = 0.0
    amp: bool = False
    seed: int = 0
    device: str = "cpu"
    out: str = "runs/fpscore"
    checkpoint_every: int = 1000
    keep: int = 3
    log_every: int = 50
    progress: bool = True


@dataclass
class Config:
    sde: SDEConfig = field(default_factory=SDEConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    # -- conversion -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        cfg = cls()
        if not isinstance(data, dict):
            raise TypeError(f"a config is a table of sections, got {type(data).__name__}")
        for section, values in data.items():
            if section not in _sections(cfg):
                raise ValueError(f"unknown config section {section!r}; sections: {', '.join(_sections(cfg))}")
            if not isinstance(values, dict):
                raise TypeError(f"config section {section!r} must be a table, got {values!r}")
            for key, value in values.items():
                cfg.set(f"{section}.{key}", value)
        cfg.validate()
        return cfg

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_toml(self) -> str:
        lines: list[str] = []
        for section, values in self.to_dict().items():
            lines.append(f"[{section}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
            lines.append("")
        return "\n".join(lines)

    # -- overrides --------------------------------------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        """Set "section.key" to value, converted to the field's type."""
        section, _, name = key.partition(".")
        sections = _sections(self)
        if section not in sections or not name:
            raise ValueError(
                f"config keys look like section.key with section in {', '.join(sections)}; got {key!r}"
            )
        set_field(sections[section], name, value, key=key, noun="config key", listing=f"{section} has")

    def override(self, assignments: list[str]) -> Config:
        """Apply "section.key=value" strings (values in TOML syntax; bare words are strings)."""
        for key, value in parse_assignments(assignments, "section.key=value"):
            self.set(key, value)
        self.validate()
        return self

    def validate(self) -> None:
        choices = {
            "sde.kind": (self.sde.kind, SDE_KINDS),
            "data.time_sampling": (self.data.time_sampling, TIME_SAMPLINGS),
            "model.kind": (self.model.kind, MODEL_KINDS),
            "model.time_embedding": (self.model.time_embedding, TIME_EMBEDDINGS),
            "model.preconditioning": (self.model.preconditioning, PRECONDITIONINGS),
            "loss.weighting": (self.loss.weighting, WEIGHTINGS),
        }
        for key, (value, options) in choices.items():
            if value not in options:
                raise ValueError(f"{key} must be one of {options}, got {value!r}")
        parse_loss(self.loss.spec)
        self.sde.build()  # the SDE's own checks (sigma finite, > 0 and != 1 for "ve", ...)
        t = self.train
        positive = {
            "train.steps": t.steps,
            "train.batch_size": t.batch_size,
            "train.keep": t.keep,
            "train.checkpoint_every": t.checkpoint_every,
            "train.log_every": t.log_every,
            "model.channels": self.model.channels,
            "model.image_size": self.model.image_size,
            "model.image_channels": self.model.image_channels,
            "model.ode_steps": self.model.ode_steps,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not t.lr > 0 or t.warmup < 0 or not t.grad_clip >= 0 or not 0.0 <= t.ema_decay < 1.0:
            raise ValueError(
                "need train.lr > 0, train.warmup >= 0, train.grad_clip >= 0 (0: off) and "
                f"0 <= train.ema_decay < 1; got {t.lr}, {t.warmup}, {t.grad_clip}, {t.ema_decay}"
            )
        for name, value in (("train.lr", t.lr), ("train.grad_clip", t.grad_clip)):
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        if not (math.isfinite(t.weight_decay) and t.weight_decay >= 0):
            raise ValueError(f"train.weight_decay must be finite and >= 0, got {t.weight_decay}")
        self._validate_model_floats()
        if self.loss.sw_projections < 1 or self.loss.ssm_projections < 1:
            raise ValueError(
                "loss.sw_projections and loss.ssm_projections must be >= 1, got "
                f"{self.loss.sw_projections}, {self.loss.ssm_projections}"
            )
        self.data.check_source()
        if not math.isfinite(self.data.strength):
            raise ValueError(f"data.strength must be finite, got {self.data.strength}")
        if not 0.0 <= self.data.t_min < 1.0:
            raise ValueError(f"data.t_min must be in [0, 1), got {self.data.t_min}")

    def _validate_model_floats(self) -> None:
        # Written as "fail unless in range", so that NaN (false in every comparison) fails too.
        m = self.model
        if not 0.0 <= m.dropout < 1.0:
            raise ValueError(f"model.dropout must be in [0, 1), got {m.dropout}")
        for name, value in (("model.time_scale", m.time_scale), ("model.sigma_data", m.sigma_data)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and > 0, got {value}")
        if not math.isfinite(m.data_mean):
            raise ValueError(f"model.data_mean must be finite, got {m.data_mean}")


def set_field(obj: Any, name: str, value: Any, *, key: str, noun: str, listing: str) -> None:
    """Set the dataclass field `name` of obj to value, converted to the field's type; an unknown
    field is "unknown {noun} {key}; {listing} {the fields}"."""
    hints = typing.get_type_hints(type(obj))
    if name not in hints:
        raise ValueError(f"unknown {noun} {key!r}; {listing} {', '.join(hints)}")
    setattr(obj, name, _convert(value, hints[name], key))


def parse_assignments(assignments: list[str], form: str = "key=value") -> list[tuple[str, Any]]:
    """["a.b=3", "c=[1, 2]"] → [("a.b", 3), ("c", [1, 2])]: values in TOML syntax, bare words strings."""
    if isinstance(assignments, (str, bytes)) or not isinstance(assignments, (list, tuple)):
        raise TypeError(f"overrides must be a list of {form!r} strings, got {type(assignments).__name__}")
    out = []
    for text in assignments:
        if not isinstance(text, str):
            raise TypeError(f"each override must be a {form!r} string, got {type(text).__name__} {text!r}")
        key, sep, raw = text.partition("=")
        if not sep:
            raise ValueError(f"--set expects {form}, got {text!r}")
        out.append((key.strip(), _parse_value(raw.strip())))
    return out


def _sections(cfg: Config) -> dict[str, Any]:
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}


def _parse_value(raw: str) -> Any:
    """A TOML value ("3", "1e-4", "true", "[1, 2]", '"text"'), else the raw text as a string."""
    try:
        return _toml().loads(f"v = {raw}")["v"]
    except Exception:
        return raw


def _convert(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{key} must be a list, got {value!r}")
        return tuple(_convert(v, item, key) for v in value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise TypeError(f"{key} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise TypeError(f"{key} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{key} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"{key} must be a string, got {value!r}")
        return value
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):  # an inline table
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli
    except ImportError:
        raise ImportError(
            "reading TOML on Python 3.10 needs tomli: pip install tomli (or use a JSON config)"
        ) from None
    return tomli


def load_config(path: str | os.PathLike[str] | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults ← the TOML/JSON file at `path` (if any) ← `overrides` ("section.key=value")."""
    if path is None:
        cfg = Config()
    else:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"config file {p} does not exist")
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        elif p.suffix.lower() == ".toml":
            data = _toml().loads(text)
        else:
            raise ValueError(f"config files are .toml or .json, got {p.name}")
        cfg = Config.from_dict(data)
    if overrides is None:
        overrides = []
    if isinstance(overrides, (str, bytes)) or not isinstance(overrides, (list, tuple)):
        raise TypeError(
            f"overrides must be a list of 'section.key=value' strings, got {type(overrides).__name__}"
        )
    return cfg.override(list(overrides))
