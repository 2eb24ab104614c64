"""The trainer: a U-Net on noised embedded images (DESIGN §1 step 4, §5).

Data protocol: a torch Dataset whose items are (xⁿ as a float tensor (C, H, W), n, image index) for
every image and time bin, laid out as `fpscore.EmbeddedDataset` does (item k = image k // len(bins)
at bin bins[k % len(bins)]), with `bins` (the bins it serves), `times` (t₀ … t_N) and optionally
`sde`. `InMemoryDataset` is that protocol over an array; other datasets without `bins` are indexed
once by reading every item.

Each step draws, from the trainer's own torch.Generator, B times t ∈ [t_min, T] ("stratified": one
per stratum of [t_min, T] split in B equal parts, as the paper's code does; "uniform"), B image
indices, then the loss's noise and projections. Sample j uses the embedded image of the time bin
nearest to tⱼ (x⁰ for all times with `scores_zero`). Adam with linear warm-up, gradient clipping,
an EMA of the weights, optional mixed precision (off by default).

A run folder holds config.toml (the resolved config), metrics.jsonl (one JSON object per logged
step) and checkpoints/ (see `fpscore.checkpoint`). `Trainer(..., resume=True)` continues from the
newest checkpoint: model, EMA, optimiser, step and every RNG state, so on the CPU the result is
bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._core import __version__
from ._torch import torch
from .checkpoint import CheckpointError, list_checkpoints, load_checkpoint, save_checkpoint
from .config import Config, SDEConfig
from .losses import Objective
from .models import EDMPreconditioned, EpsilonScore, UNet


class InMemoryDataset(torch.utils.data.Dataset):
    """Embedded trajectories in memory, in the layout of `fpscore.EmbeddedDataset`.

    trajectories: (N+1, B, C, H, W) as `fpscore.embed` returns them (bin 0 = the images).
    times: (N+1,) the times tₙ (default linspace(0, T, N+1)); sde: recorded for the trainer.
    """

    def __init__(self, trajectories, times=None, *, sde=None, T: float = 1.0) -> None:
        traj = torch.as_tensor(np.asarray(trajectories), dtype=torch.float32)
        if traj.ndim != 5:
            raise ValueError(f"trajectories must be (N+1, B, C, H, W), got shape {tuple(traj.shape)}")
        self.data = traj.transpose(0, 1).contiguous()  # (B, N+1, C, H, W)
        n_bins = traj.shape[0]
        self.times = np.linspace(0.0, T, n_bins) if times is None else np.asarray(times, dtype=np.float64)
        if self.times.shape != (n_bins,):
            raise ValueError(f"times must have N+1 = {n_bins} entries, got shape {self.times.shape}")
        self.bins = list(range(n_bins))
        self.sde = sde

    def __len__(self) -> int:
        return self.data.shape[0] * len(self.bins)

    def __getitem__(self, k: int):
        i, b = divmod(int(k) % len(self), len(self.bins))
        return self.data[i, self.bins[b]], self.bins[b], i


class _Locator:
    """(image, bin) → dataset item, for datasets in the EmbeddedDataset layout or any other."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        bins = getattr(dataset, "bins", None)
        if bins is not None:
            self.bins = [int(b) for b in bins]
            if len(dataset) % len(self.bins):
                raise ValueError(
                    f"a dataset of {len(dataset)} items cannot serve {len(self.bins)} bins per image"
                )
            self.n_images = len(dataset) // len(self.bins)
            pos = {b: j for j, b in enumerate(self.bins)}
            self._item = lambda i, n: i * len(self.bins) + pos[n]
        else:  # read every item once
            table: dict[tuple[int, int], int] = {}
            for k in range(len(dataset)):
                _, n, i = dataset[k]
                table[(int(i), int(n))] = k
            self.bins = sorted({n for _, n in table})
            images = sorted({i for i, _ in table})
            if images != list(range(len(images))) or len(table) != len(images) * len(self.bins):
                raise ValueError("the dataset must hold every time bin for every image 0..M-1")
            self.n_images = len(images)
            self._item = lambda i, n: table[(i, n)]

    def __call__(self, image: int, n: int) -> int:
        return self._item(image, n)


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
    """The ε-network of a config: a UNet, wrapped in EDMPreconditioned when asked (needs the SDE)."""
    m = config.model
    net = UNet(
        image_channels=m.image_channels,
        image_size=m.image_size,
        channels=m.channels,
        channel_mult=m.channel_mult,
        num_res_blocks=m.num_res_blocks,
        attn_resolutions=m.attn_resolutions,
        dropout=m.dropout,
        time_embedding=m.time_embedding,
        time_scale=m.time_scale,
    )
    if m.preconditioning == "none":
        return net
    return EDMPreconditioned(net, sde if sde is not None else config.sde.build(), m.sigma_data, m.data_mean)


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
    }


def _set_rng_state(generator: torch.Generator, state: dict[str, Any]) -> None:
    generator.set_state(state["trainer"])
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))


class Trainer:
    """Train an ε-U-Net on a dataset of embedded images.

    config: a `fpscore.config.Config`; dataset: see the module docstring; sde and times default to
    the dataset's (`dataset.sde`, `dataset.times`), else to config.sde and linspace(0, 1, N+1).
    out_dir: the run folder (default config.train.out). resume: continue from its newest checkpoint;
    without it the folder must not hold checkpoints yet. The network is initialised after
    torch.manual_seed(train.seed) (dropout draws from torch's global generator, which checkpoints
    save and restore); every other draw comes from the trainer's own generator.
    """

    def __init__(self, config: Config, dataset, *, sde=None, times=None, out_dir=None, resume: bool = False):
        config.validate()
        self.config = copy.deepcopy(config)
        self.dataset = dataset
        self.sde = sde if sde is not None else getattr(dataset, "sde", None) or config.sde.build()
        self.config.sde = SDEConfig.from_sde(self.sde)
        times = times if times is not None else getattr(dataset, "times", None)
        self.locate = _Locator(dataset)
        if times is None:
            times = np.linspace(0.0, 1.0, max(self.locate.bins) + 1)
        self.times = np.asarray(times, dtype=np.float64)
        if (
            self.times.ndim != 1
            or self.times.size < 2
            or np.any(np.diff(self.times) <= 0)
            or self.times[0] != 0
        ):
            raise ValueError(f"times must increase from t₀ = 0, got {self.times}")
        self.T = float(self.times[-1])
        if not self.config.data.t_min < self.T:
            raise ValueError(f"data.t_min ({self.config.data.t_min}) must be below T = {self.T}")
        missing = sorted(set(range(len(self.times))) - set(self.locate.bins))
        if missing and not (self.config.data.scores_zero and 0 in self.locate.bins):
            raise ValueError(f"the dataset lacks time bins {missing} (it serves {self.locate.bins})")
        self.run_dir = Path(out_dir if out_dir is not None else self.config.train.out)
        tc = self.config.train
        self.device = torch.device(tc.device)
        torch.manual_seed(tc.seed)
        self.model = build_model(self.config, self.sde).to(self.device)
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
        self.objective = Objective(
            self.config.loss.spec,
            weighting=self.config.loss.weighting,
            sw_projections=self.config.loss.sw_projections,
            ssm_projections=self.config.loss.ssm_projections,
        )
        self.amp = bool(tc.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.device.type == "cuda")
        self.generator = torch.Generator().manual_seed(tc.seed)
        self.step = 0
        if resume:
            self.load()
        elif list_checkpoints(self.run_dir):
            raise ValueError(
                f"{self.run_dir} already holds checkpoints of a run: resume it (resume=True, --resume) "
                "or choose another folder"
            )

    # -- one step ---------------------------------------------------------------------------------

    def sample_times(self, batch: int) -> torch.Tensor:
        lo, hi = self.config.data.t_min, self.T
        u = torch.rand(batch, generator=self.generator, dtype=torch.float64)
        if self.config.data.time_sampling == "stratified":
            u = (torch.arange(batch, dtype=torch.float64) + u) / batch
        return lo + (hi - lo) * u

    def batch(self, batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch (xⁿ (B, C, H, W), t (B,)) drawn from the trainer's generator."""
        b = batch_size or self.config.train.batch_size
        t = self.sample_times(b)
        images = torch.randint(self.locate.n_images, (b,), generator=self.generator)
        dt = self.T / (len(self.times) - 1)
        bins = torch.round(t / dt).long().clamp(0, len(self.times) - 1)
        if self.config.data.scores_zero:
            bins = torch.zeros_like(bins)
        xs = [self.dataset[self.locate(int(i), int(n))][0] for i, n in zip(images, bins, strict=True)]
        x = torch.stack([torch.as_tensor(v) for v in xs]).to(self.device, torch.float32)
        return x, t.to(self.device, torch.float32)

    def lr_at(self, step: int) -> float:
        w = self.config.train.warmup
        return self.config.train.lr * (min(1.0, (step + 1) / w) if w > 0 else 1.0)

    def train_step(self) -> dict[str, float]:
        tc = self.config.train
        self.model.train()
        x, t = self.batch()
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        dtype = torch.bfloat16 if self.device.type == "cpu" else torch.float16
        with torch.autocast(self.device.type, dtype=dtype, enabled=self.amp):
            loss, parts = self.objective(self.model, self.sde, x, t, self.generator)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"the loss is {float(loss)} at step {self.step} (parts {parts}); "
                "lower train.lr or check the data"
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
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
            "loss": float(loss.detach()),
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
        total = tc.steps if steps is None else int(steps)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.toml").write_text(self.config.to_toml(), encoding="utf-8")
        metrics: dict[str, float] = {}
        t_start, step_start = time.perf_counter(), self.step
        bar = tqdm(
            total=total,
            initial=self.step,
            disable=not tc.progress,
            desc="train",
            unit="step",
            dynamic_ncols=True,
        )
        with bar, open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as log:
            while self.step < total:
                metrics = self.train_step()
                rate = (self.step - step_start) / max(time.perf_counter() - t_start, 1e-9)
                metrics["steps_per_s"] = rate
                bar.update()
                bar.set_postfix(loss=f"{metrics['loss']:.4g}", refresh=False)
                if self.step % tc.log_every == 0 or self.step == total:
                    log.write(json.dumps({"step": self.step, **metrics}) + "\n")
                    log.flush()
                stop = bool(callback(self, metrics)) if callback is not None else False
                if self.step % tc.checkpoint_every == 0 or self.step == total or stop:
                    self.save()
                if stop:
                    break
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
            "fpscore_version": __version__,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        _set_rng_state(self.generator, state["rng"])

    def save(self) -> Path:
        return save_checkpoint(self.run_dir, self.state_dict(), keep=self.config.train.keep)

    def load(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Load the newest usable checkpoint of the run folder (or `path`)."""
        state, used = load_checkpoint(self.run_dir, path=path, map_location=self.device)
        saved = Config.from_dict(state["config"])
        if saved.model != self.config.model:
            raise CheckpointError(
                f"{used} holds a different model ({saved.model}) than the config ({self.config.model})"
            )
        self.load_state_dict(state)
        return used

    def score_model(self, ema: bool = True) -> EpsilonScore:
        """The score s(x, t) = −ε̂/λ(t) of the (EMA) network, in eval mode, for the samplers."""
        return EpsilonScore(self.ema.module if ema else self.model, self.sde).eval()


def load_trained(run_dir: str | os.PathLike[str], *, ema: bool = True, device: str = "cpu", path=None):
    """(score model, sde, times, config) from a run folder's newest usable checkpoint."""
    state, _ = load_checkpoint(run_dir, path=path, map_location=device)
    config = Config.from_dict(state["config"])
    sde = config.sde.build()
    net = build_model(config, sde)
    net.load_state_dict(state["ema"]["module"] if ema else state["model"])
    times = np.asarray(state.get("times", np.linspace(0.0, 1.0, 2)), dtype=np.float64)
    return EpsilonScore(net.to(device), sde).eval(), sde, times, config


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's random (the trainer does this itself)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002
    random.seed(seed)


__all__ = ["EMA", "InMemoryDataset", "Trainer", "build_model", "load_trained", "seed_everything"]
