"""The trainer: a U-Net on noised embedded images (DESIGN §1 step 4, §5).

Data protocol: a torch Dataset whose items are (xⁿ as a float tensor (C, H, W), n, image index) for
every image and time bin, laid out as `fpscore.EmbeddedDataset` does (item k = image k // len(bins)
at bin bins[k % len(bins)]), with `bins` (the bins it serves), `times` (t₀ … t_N) and optionally
`sde`. `fpscore.InMemoryDataset` is that protocol over an array; other datasets without `bins` are indexed
once by reading every item.

Each step asks the data layer (`fpscore.data.training.TrainingImages`) for a batch drawn from the
trainer's own torch.Generator: B times t ∈ [t_min, T] ("stratified": one per stratum of [t_min, T]
split in B equal parts, as the paper's code does; "uniform"), then B image indices, each sample's
clean image x̂ⁿ taken at the time bin nearest to tⱼ (the drift's own pull removed, the embedding
strength applied; x⁰ for all times with `scores_zero`). The loss then draws its noise and
projections from the same generator. Adam with linear warm-up, gradient clipping, an EMA of the
weights, optional mixed precision (off by default).

A run folder holds config.toml (the resolved config), metrics.jsonl (one JSON object per logged
step, with `train_seconds`: the time spent in training steps, summed over every session of the run)
and checkpoints/ (see `fpscore.training.checkpoint`). `Trainer(..., resume=True)` continues from the
newest checkpoint: model, EMA, optimiser, step, training seconds and every RNG state (torch's CPU
and, once CUDA is in use, every CUDA device's; numpy's; Python's), so on the CPU the result is
bit-identical to an uninterrupted run, and on a GPU it draws the same random numbers (restored when
the device count matches, else a RuntimeWarning). It refuses a checkpoint trained with other
settings (SDE, time grid, data, loss, strength, model, optimiser; see `run_identity`), and drops
the metrics lines written after that checkpoint, so that every step appears once.

Under torchrun the trainer runs on several processes (`fpscore.training.distributed`): every rank
draws the global batch from the same stream and trains on its part with DDP; only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import numbers
import os
import random
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_write, raise_if_disk_full
from .._core import __version__
from .._torch import torch
from ..data.training import TrainingImages
from ..sde import SDE
from . import distributed
from .checkpoint import (
    CheckpointError,
    checkpoint_dir,
    checkpoint_name,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from .config import Config, SDEConfig
from .losses import Objective
from .models import CUNet, EDMPreconditioned, EpsilonScore, UNet


class EMA:
    """Exponential moving average of the weights, decay min(decay, (1 + k)/(10 + k)) at update k."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = float(decay)
        self.num_updates = 0
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.num_updates += 1
        d = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        for e, p in zip(self.module.parameters(), model.parameters(), strict=True):
            e.lerp_(p.detach(), 1.0 - d)
        for e, b in zip(self.module.buffers(), model.buffers(), strict=True):
            e.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "num_updates": self.num_updates, "module": self.module.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decay, self.num_updates = float(state["decay"]), int(state["num_updates"])
        self.module.load_state_dict(state["module"])


def build_model(config: Config, sde=None) -> torch.nn.Module:
    """The ε-network of a config: a UNet or a CUNet (model.kind), wrapped in EDMPreconditioned
    when asked (needs the SDE)."""
    m = config.model
    shared = {
        "image_channels": m.image_channels,
        "image_size": m.image_size,
        "channels": m.channels,
        "channel_mult": m.channel_mult,
        "time_embedding": m.time_embedding,
        "time_scale": m.time_scale,
    }
    if m.kind == "cunet":
        net: torch.nn.Module = CUNet(ode_steps=m.ode_steps, **shared)
    else:
        net = UNet(
            num_res_blocks=m.num_res_blocks, attn_resolutions=m.attn_resolutions, dropout=m.dropout, **shared
        )
    if m.preconditioning == "none":
        return net
    return EDMPreconditioned(net, sde if sde is not None else config.sde.build(), m.sigma_data, m.data_mean)


def _training_sde(sde: Any, dataset: Any, config: Config) -> Any:
    """The SDE to train with: `sde`, else the one the dataset was embedded with, else the config's.

    Refuses a cache-backed dataset (one with a manifest) that records no SDE, and an `sde` that
    differs from the dataset's: either would train on trajectories of one process with another.
    """
    recorded = getattr(dataset, "sde", None)
    if recorded is None and isinstance(getattr(dataset, "manifest", None), dict):
        raise ValueError(
            "the dataset's cache manifest records no SDE (parameters.sde), so the process its "
            "trajectories were embedded with is unknown: compute the cache again with `fpscore "
            "precompute` (overwrite=True), or pass sde= to the Trainer if you know it"
        )
    if sde is not None and recorded is not None and sde.to_dict() != recorded.to_dict():
        raise ValueError(
            f"sde={sde.to_dict()} differs from the SDE the dataset was embedded with, "
            f"{recorded.to_dict()}: pass that one, or none (the dataset's is used)"
        )
    if sde is not None:
        return sde
    return recorded if recorded is not None else config.sde.build()


def _rng_state(generator: torch.Generator) -> dict[str, Any]:
    # numpy's and Python's global generators are saved too, for user code that draws from them
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    version, internal, gauss_next = random.getstate()
    return {
        "trainer": generator.get_state(),
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        **({"cuda": list(torch.cuda.get_rng_state_all())} if _cuda_in_use() else {}),
    }


def _cuda_in_use() -> bool:
    """CUDA is there and this process has used it (before that, its generators hold only what
    torch.manual_seed gave them, which a resumed run gives them again)."""
    return torch.cuda.is_available() and torch.cuda.is_initialized()


def _set_rng_state(generator: torch.Generator, state: dict[str, Any]) -> None:
    generator.set_state(state["trainer"])
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    elif cuda is not None:
        now = torch.cuda.device_count() if torch.cuda.is_available() else 0
        warnings.warn(
            f"the checkpoint holds the random state of {len(cuda)} CUDA device(s), this machine has {now}: "
            "the GPU random draws (dropout) of the resumed run differ from an uninterrupted run's",
            RuntimeWarning,
            stacklevel=3,
        )
    elif _cuda_in_use():
        warnings.warn(
            "the checkpoint holds no CUDA random state (written by an older fpscore or without a GPU): "
            "the GPU random draws (dropout) of the resumed run differ from an uninterrupted run's",
            RuntimeWarning,
            stacklevel=3,
        )


class Trainer:
    """Train an ε-U-Net on a dataset of embedded images.

    config: a `fpscore.Config`; dataset: see the module docstring; sde and times default to
    the dataset's (`dataset.sde`, `dataset.times`), else to config.sde and linspace(0, 1, N+1).
    An `sde` other than the dataset's is refused, so is a cache-backed dataset (with a `manifest`)
    that records none; an in-memory dataset without one trains embedded trajectories (strength ≠ 0,
    several bins) with config.sde and a UserWarning, the control arm (x⁰ only) silently.
    out_dir: the run folder (default config.train.out). resume: continue from its newest checkpoint;
    without it the folder must not hold checkpoints yet. The network is initialised after
    torch.manual_seed(train.seed) (dropout draws from torch's global generator, which checkpoints
    save and restore); every other draw comes from the trainer's own generator.
    model, objective: another network and another loss with the `fpscore.Objective` call
    signature (the baselines of `fpscore.baselines`); default: the config's U-Net and loss.
    """

    def __init__(
        self,
        config: Config,
        dataset,
        *,
        sde=None,
        times=None,
        out_dir=None,
        resume: bool = False,
        model: torch.nn.Module | None = None,
        objective: Callable[..., tuple[torch.Tensor, dict[str, float]]] | None = None,
    ):
        if not isinstance(config, Config):
            raise TypeError(f"config must be an fpscore.Config, got {type(config).__name__}")
        if out_dir is not None and not isinstance(out_dir, (str, os.PathLike)):
            raise TypeError(
                f"out_dir must be a path (str or os.PathLike) or None, got {type(out_dir).__name__}"
            )
        if sde is not None and not isinstance(sde, SDE):
            raise TypeError(f"sde must be an fpscore SDE (VESDE, VPSDE, ConstantSDE) or None, got {sde!r}")
        if not isinstance(resume, bool):
            raise TypeError(f"resume must be True or False, got {resume!r}")
        if model is not None and not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module or None, got {type(model).__name__}")
        if objective is not None and not callable(objective):
            raise TypeError(f"objective must be callable (like fpscore.Objective) or None, got {objective!r}")
        config.validate()
        self.config = copy.deepcopy(config)
        self.dataset = dataset
        self.sde = _training_sde(sde, dataset, config)
        self.config.sde = SDEConfig.from_sde(self.sde)
        dc = self.config.data
        self.images = TrainingImages(
            dataset,
            times,
            self.sde,
            dc.effective_strength,
            t_min=dc.t_min,
            time_sampling=dc.time_sampling,
        )
        if sde is None and getattr(dataset, "sde", None) is None and self.images.embeds:
            warnings.warn(
                f"the dataset records no SDE: its trajectories are taken to be embedded with the config's "
                f"{self.sde.to_dict()}; pass the SDE they were embedded with (InMemoryDataset(..., "
                "sde=...) or Trainer(..., sde=...)) to silence this",
                UserWarning,
                stacklevel=2,
            )
        self.times, self.T = self.images.times, self.images.T
        self.run_dir = Path(out_dir if out_dir is not None else self.config.train.out)
        tc = self.config.train
        # several processes under torchrun (see fpscore.training.distributed); one process: SINGLE
        self.world = distributed.init_from_env(tc.device)
        distributed.check_batch(tc.batch_size, self.world)
        self.device = distributed.rank_device(tc.device, self.world)
        torch.manual_seed(tc.seed)
        self.model = (model if model is not None else build_model(self.config, self.sde)).to(self.device)
        x0, _, _ = dataset[0]
        expected = (
            self.config.model.image_channels,
            self.config.model.image_size,
            self.config.model.image_size,
        )
        if tuple(x0.shape) != expected:
            raise ValueError(
                f"the data are images {tuple(x0.shape)} but model.image_channels/image_size give {expected}"
            )
        self.ema = EMA(self.model, tc.ema_decay)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        self.objective = objective or Objective(
            self.config.loss.spec,
            weighting=self.config.loss.weighting,
            sw_projections=self.config.loss.sw_projections,
            ssm_projections=self.config.loss.ssm_projections,
        )
        self.amp = bool(tc.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.device.type == "cuda")
        self.generator = torch.Generator().manual_seed(tc.seed)
        self.step = 0
        self.train_seconds = 0.0  # time spent in train_step, summed over every session of the run
        self.identity = run_identity(self.config, dataset, self.times, self.objective)
        if resume:
            self.load()
        elif list_checkpoints(self.run_dir):
            raise ValueError(
                f"{self.run_dir} already holds checkpoints of a run: resume it (resume=True, --resume) "
                "or choose another folder"
            )
        distributed.separate_dropout_streams(self.world, tc.seed, self.step)
        # what the loss calls: the model, or DDP around it; a collective, so no rank writes a
        # checkpoint before every rank has read the one it resumes from
        self.net = distributed.wrap(self.model, self.world, self.device)

    # -- one step ---------------------------------------------------------------------------------

    def sample_times(self, batch: int) -> torch.Tensor:
        return self.images.sample_times(batch, self.generator)

    def batch(self, batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch (x̂ⁿ (B, C, H, W), t (B,)) drawn from the trainer's generator; on several
        processes, this rank's part of it."""
        size = batch_size or self.config.train.batch_size
        if self.world.distributed:
            x, t = self.images.batch(size, self.generator, part=self.world.part(size), step=self.step)
        else:
            x, t = self.images.batch(size, self.generator, step=self.step)
        return x.to(self.device, torch.float32), t.to(self.device, torch.float32)

    def lr_at(self, step: int) -> float:
        w = self.config.train.warmup
        return self.config.train.lr * (min(1.0, (step + 1) / w) if w > 0 else 1.0)

    def train_step(self) -> dict[str, float]:
        started = time.perf_counter()
        metrics = self._optimise()
        self.train_seconds += time.perf_counter() - started
        metrics["train_seconds"] = self.train_seconds
        return metrics

    def _optimise(self) -> dict[str, float]:
        tc = self.config.train
        self.net.train()
        x, t = self.batch()
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        dtype = torch.bfloat16 if self.device.type == "cpu" else torch.float16
        with torch.autocast(self.device.type, dtype=dtype, enabled=self.amp):
            if self.world.distributed:
                loss, parts = distributed.part_loss(
                    self.objective, self.net, self.sde, x, t, self.generator, self.world, tc.batch_size
                )
            else:
                loss, parts = self.objective(self.model, self.sde, x, t, self.generator)
        # the global batch's values (the mean of the ranks'), so every rank takes the same branch
        value, parts = distributed.batch_means(float(loss.detach()), parts, self.world)
        if not math.isfinite(value):
            raise FloatingPointError(
                f"the loss is {value} at step {self.step} (parts {parts}); lower train.lr or check the data"
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # DDP all-reduces the gradients here, before the clip
        self.scaler.unscale_(self.optimizer)
        params = list(self.model.parameters())
        if tc.grad_clip > 0:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, tc.grad_clip))
        else:
            grad_norm = float(
                torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None]))
            )
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.ema.update(self.model)
        self.step += 1
        return {
            "loss": value,
            **{f"loss_{k}": v for k, v in parts.items()},
            "lr": self.optimizer.param_groups[0]["lr"],
            "grad_norm": grad_norm,
        }

    # -- the loop ---------------------------------------------------------------------------------

    def train(
        self,
        steps: int | None = None,
        *,
        callback: Callable[[Trainer, dict[str, float]], bool | None] | None = None,
    ) -> dict[str, float]:
        """Train until `steps` (default config.train.steps) steps in all; returns the last metrics.

        callback(trainer, metrics) runs after every step; returning True stops training (a checkpoint
        is written). Checkpoints every train.checkpoint_every steps and at the end.
        """
        from tqdm.auto import tqdm

        tc = self.config.train
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, numbers.Integral)):
            raise TypeError(f"steps must be an integer or None, got {type(steps).__name__} {steps!r}")
        if steps is not None and steps < 0:
            raise ValueError(f"steps must be >= 0 (the total step count of the run), got {steps}")
        total = tc.steps if steps is None else int(steps)
        main = self.world.is_main  # on several processes only rank 0 writes and shows progress
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.run_dir / "config.toml") as f:
                f.write(self.config.to_toml().encode())
            self._drop_metrics_after(self.step)
        metrics: dict[str, float] = {}
        t_start, step_start = time.perf_counter(), self.step
        bar = tqdm(
            total=total,
            initial=self.step,
            disable=not (tc.progress and main),
            desc="train",
            unit="step",
            dynamic_ncols=True,
        )
        log_path = self.run_dir / "metrics.jsonl"
        with bar, open(log_path, "ab", buffering=0) if main else contextlib.nullcontext() as log:
            while self.step < total:
                metrics = self.train_step()
                rate = (self.step - step_start) / max(time.perf_counter() - t_start, 1e-9)
                metrics["steps_per_s"] = rate
                bar.update()
                bar.set_postfix(loss=f"{metrics['loss']:.4g}", refresh=False)
                if main and (self.step % tc.log_every == 0 or self.step == total):
                    _append_line(log, log_path, json.dumps({"step": self.step, **metrics}))
                stop = False
                if callback is not None:  # every rank stops at the same step
                    stop = distributed.any_rank(bool(callback(self, metrics)), self.world)
                if self.step % tc.checkpoint_every == 0 or self.step == total or stop:
                    self.save()
                if stop:
                    break
        distributed.barrier(self.world)  # every rank returns once the last checkpoint is written
        return metrics

    # -- checkpoints ------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "rng": _rng_state(self.generator),
            "config": self.config.to_dict(),
            "times": self.times.tolist(),
            "train_seconds": self.train_seconds,
            "identity": self.identity,
            "fpscore_version": __version__,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.train_seconds = float(state.get("train_seconds", 0.0))
        _set_rng_state(self.generator, state["rng"])

    def save(self) -> Path:
        """Write a checkpoint (on several processes rank 0 writes it; the others return its path
        without waiting for it)."""
        if not self.world.is_main:
            return checkpoint_dir(self.run_dir) / checkpoint_name(self.step)
        return save_checkpoint(self.run_dir, self.state_dict(), keep=self.config.train.keep)

    def load(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Load the newest usable checkpoint of the run folder (or `path`)."""
        state, used = load_checkpoint(self.run_dir, path=path, map_location=self.device)
        saved = state.get("identity") or run_identity(
            Config.from_dict(state["config"]), None, np.asarray(state.get("times", self.times)), None
        )
        differences = identity_differences(saved, self.identity)
        if differences:
            raise CheckpointError(
                f"cannot resume {self.run_dir} from {used.name}: it was trained with other settings "
                f"(saved → now): {'; '.join(differences)}. Restore them, or start a new run in another folder"
            )
        self.load_state_dict(state)
        return used

    def _drop_metrics_after(self, step: int) -> None:
        """Keep metrics.jsonl to the records up to `step`: a resumed run writes each step once."""
        path = self.run_dir / "metrics.jsonl"
        if not path.is_file():
            return
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines = text.splitlines()
        kept = []
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a crash
                continue
            if isinstance(record, dict) and int(record.get("step", 0)) <= step:
                kept.append(line)
        # a last line without its newline (cut short just before it) would glue onto the next one
        if len(kept) != len(lines) or (text and not text.endswith("\n")):
            with atomic_write(path) as f:
                f.write("".join(line + "\n" for line in kept).encode())

    def score_model(self, ema: bool = True) -> EpsilonScore:
        """The score s(x, t) = −ε̂/λ(t) of the (EMA) network, in eval mode, for the samplers."""
        return EpsilonScore(self.ema.module if ema else self.model, self.sde).eval()


def _append_line(log: Any, path: Path, line: str) -> None:
    """Append `line` and a newline to `log`, the unbuffered append-mode file at `path`; when that
    fails (a full disk), cut the file back to its old size, so no half line stays, and raise."""
    start = os.fstat(log.fileno()).st_size
    data = memoryview((line + "\n").encode())
    try:
        while data:
            data = data[log.write(data) :]
    except OSError as err:
        with contextlib.suppress(OSError):
            os.ftruncate(log.fileno(), start)
        raise_if_disk_full(err, path)
        raise OSError(err.errno, f"cannot append to {path}: {err.strerror or err}") from err


# Config entries a resumed run may change: how long it runs and how it reports, not what it trains.
RESUMABLE_KEYS = frozenset(
    {
        "data.cache",
        "train.steps",
        "train.progress",
        "train.out",
        "train.log_every",
        "train.checkpoint_every",
        "train.keep",
        "train.device",
    }
)


def _dataset_fingerprint(dataset) -> str | None:
    """SHA-256 of what the dataset serves: a cache's manifest (parameters and images), or the
    values of an in-memory dataset; None for other datasets (not compared)."""
    import hashlib

    manifest = getattr(dataset, "manifest", None)
    if isinstance(manifest, dict):
        text = json.dumps({k: manifest.get(k) for k in ("parameters", "data", "times")}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()
    data = getattr(dataset, "data", None)
    if isinstance(data, torch.Tensor):
        return hashlib.sha256(data.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    return None


def run_identity(config: Config, dataset, times: np.ndarray, objective) -> dict[str, Any]:
    """What a run trains: every config entry outside RESUMABLE_KEYS, the time grid, the data and
    the loss. Two sessions of one run must agree on all of it."""
    entries = {
        f"{section}.{key}": value
        for section, values in config.to_dict().items()
        for key, value in values.items()
        if f"{section}.{key}" not in RESUMABLE_KEYS
    }
    return {
        "config": entries,
        "times": [float(t) for t in np.asarray(times, dtype=np.float64)],
        "data": _dataset_fingerprint(dataset),
        "objective": None if objective is None else repr(objective),
    }


def identity_differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Readable differences between two run identities ("key saved → now"); entries either side
    does not know (None) are not compared."""
    out = []
    old_cfg, new_cfg = saved.get("config", {}), now.get("config", {})
    for key in sorted(set(old_cfg) | set(new_cfg)):
        if key in old_cfg and key in new_cfg and old_cfg[key] != new_cfg[key]:
            out.append(f"{key} {old_cfg[key]!r} → {new_cfg[key]!r}")
    old_t, new_t = saved.get("times"), now.get("times")
    if old_t is not None and new_t is not None and not np.array_equal(old_t, new_t):
        grids = f"{len(old_t)} times up to {old_t[-1]:g} → {len(new_t)} up to {new_t[-1]:g}"
        out.append(f"the time grid ({grids})")
    for key, what in (("data", "the training data (cache or images)"), ("objective", "the loss")):
        if saved.get(key) is not None and now.get(key) is not None and saved[key] != now[key]:
            out.append(f"{what} {saved[key]!r:.40} → {now[key]!r:.40}")
    return out


def load_trained(run_dir: str | os.PathLike[str], *, ema: bool = True, device: str = "cpu", path=None):
    """(score model, sde, times, config) from a run folder's newest usable checkpoint.

    CheckpointError (a ValueError) when there is none, or when the one found does not describe a
    network of this kind (a config that does not validate, weights of another shape, bad times).
    """
    if not isinstance(run_dir, (str, os.PathLike)):
        raise TypeError(f"run_dir must be a path (str or os.PathLike), got {type(run_dir).__name__}")
    if not isinstance(ema, bool):
        raise TypeError(f"ema must be True or False, got {ema!r}")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda:0', got {type(device).__name__}")
    try:
        device = torch.device(device)
    except RuntimeError as err:  # torch's error for a device string it cannot parse
        raise ValueError(f"unknown device {device!r}: {err}") from None
    state, used = load_checkpoint(run_dir, path=path, map_location=device)
    try:
        config = Config.from_dict(state["config"])
        sde = config.sde.build()
        net = build_model(config, sde)
        weights = state["ema"]["module"] if ema else state["model"]
        net.load_state_dict(weights)
        times = np.asarray(state.get("times", np.linspace(0.0, 1.0, 2)), dtype=np.float64)
        if times.ndim != 1 or times.size < 2 or not np.all(np.isfinite(times)):
            raise ValueError(f"times must be a finite 1-D grid of at least 2 times, got shape {times.shape}")
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        # RuntimeError: load_state_dict's "size mismatch" / "missing keys" for weights of another network
        raise CheckpointError(
            f"{used}: not a checkpoint of an fpscore network ({type(err).__name__}: {err})"
        ) from err
    return EpsilonScore(net.to(device), sde).eval(), sde, times, config


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's random (the trainer does this itself)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002
    random.seed(seed)


__all__ = ["EMA", "Trainer", "build_model", "load_trained", "seed_everything"]
