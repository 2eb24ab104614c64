"""Run an experiment: every arm and seed on the same images, one after another in one process.

Run folder layout:

    config.toml                 the resolved experiment config
    results.json                every curve, the config, the hardware, the versions (atomic)
    caches/<embedding>/         the embedding caches (`fpscore.precompute`)
    arms/<arm>/seed-<k>/        the trainer's run folder (checkpoints, metrics) and curve.json
    table.md, curves.png        written by `fpscore.experiment.report`

Clock: the trainer's `train_seconds` (time inside training steps only), plus, for embedding arms,
the pre-computation seconds of their embedding. Sampling for evaluation is outside the clock.
An interrupted experiment resumes where it stopped: finished arms are kept, the arm it was in
continues from its checkpoint at the last evaluation, with its curve up to that step.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..._atomic import atomic_write
from .config import Arm, ExperimentConfig

Log = Callable[[str], None]


# -- facts about the machine ----------------------------------------------------------------------


def hardware() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "gpu": None}
    try:
        from ..._torch import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def versions() -> dict[str, str]:
    import scipy
    import skimage

    from ... import __version__

    out = {"fpscore": __version__, "python": platform.python_version(), "numpy": np.__version__}
    out.update(scipy=scipy.__version__, skimage=skimage.__version__)
    try:
        import ot
        import torch

        out.update(torch=torch.__version__, pot=ot.__version__)
    except ImportError:
        pass
    return out


# -- checks that need data or torch ---------------------------------------------------------------


def load_images(cfg: ExperimentConfig) -> np.ndarray:
    """The training images (N, 3, size, size) in [0, 1]."""
    from ... import data

    size = cfg.image_size
    if cfg.data == "samples":
        return data.load_sample_images(classes=list(cfg.sample_names), size=size, channels=3).images
    indices = list(cfg.indices) or list(range(cfg.image_count))
    try:
        loaded = data.load(cfg.data, indices=indices, size=size, channels=3)
    except (IndexError, KeyError, ValueError) as err:
        raise ValueError(
            f"cannot take images {indices} from {cfg.data}: {err}; set indices to images it holds"
        ) from err
    return loaded.images


def check(cfg: ExperimentConfig) -> np.ndarray:
    """Validate everything before training: the config, torch and POT, the device, the data."""
    cfg.validate()
    try:
        from ..._torch import torch
    except ImportError as err:
        raise ValueError(f"the experiment trains networks: {err}") from err
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device {cfg.device!r} was asked for, but torch sees no CUDA GPU on this machine: "
            "use --device cpu (the quick preset is sized for a CPU)"
        )
    return load_images(cfg)


# -- the embeddings -------------------------------------------------------------------------------


def embedding_key(cfg: ExperimentConfig, arm: Arm) -> str:
    init = arm.options.get("init", cfg.init)
    return f"{init}-N{cfg.fp_steps}-sigma{cfg.sigma:g}"


def prepare_embedding(cfg: ExperimentConfig, key: str, init: str, images: np.ndarray, out: Path, known):
    """The cache of one embedding, computed (and timed) unless a finished one is recorded."""
    from ... import open_cache, precompute
    from ...sde import VESDE

    cache_dir = out / "caches" / key
    if known is not None and (cache_dir / "manifest.json").is_file():
        try:
            open_cache(cache_dir)
            return known
        except ValueError:
            pass
    started = time.perf_counter()
    precompute(
        images, cache_dir, VESDE(cfg.sigma), n_steps=cfg.fp_steps, init=init, progress=False, overwrite=True
    )
    seconds = time.perf_counter() - started
    cache = open_cache(cache_dir)
    x = np.stack([np.asarray(cache.trajectory(i), dtype=np.float64) for i in range(len(cache))], axis=1)
    moved = np.abs(x[-1] - x[0])
    return {
        "cache": str(cache_dir.relative_to(out)),
        "precompute_seconds": seconds,
        "mean_abs_displacement": float(moved.mean()),
        "max_abs_displacement": float(moved.max()),
        "fraction_outside_unit": float(np.mean((x[-1] < 0) | (x[-1] > 1))),
        "params": {"init": init, "sigma": cfg.sigma, "n_steps": cfg.fp_steps, "T": 1.0},
    }


# -- one arm, one seed ----------------------------------------------------------------------------


def trainer_config(cfg: ExperimentConfig, arm: Arm, seed: int, channels: int):
    from ...training.config import Config

    c = Config()
    m = c.model
    m.image_channels, m.image_size = channels, cfg.image_size
    m.channels, m.channel_mult = cfg.channels, tuple(cfg.channel_mult)
    m.num_res_blocks, m.attn_resolutions = cfg.num_res_blocks, tuple(cfg.attn_resolutions)
    m.dropout, m.time_embedding = cfg.dropout, cfg.time_embedding
    m.kind, m.ode_steps = str(arm.options.get("model", cfg.model)), cfg.ode_steps
    m.preconditioning = cfg.preconditioning if arm.kind in ("embed", "control") else "none"
    # EDM feeds c_noise = ln(σ)/4 to the embedding unscaled; DDPM the step index i = 1000·(i/1000)
    m.time_scale = 1.0 if arm.kind == "edm" else 1000.0
    c.loss.spec = str(arm.options.get("loss", cfg.loss))
    c.loss.weighting = cfg.weighting
    c.data.strength = arm.strength
    c.data.scores_zero = arm.kind != "embed"
    t = c.train
    t.steps = cfg.max_steps or 10**9
    t.batch_size, t.lr, t.warmup = cfg.batch_size, cfg.lr, cfg.warmup
    t.grad_clip, t.ema_decay, t.seed, t.device = cfg.grad_clip, cfg.ema_decay, seed, cfg.device
    t.checkpoint_every, t.keep, t.log_every, t.progress = 10**9, 1, 1, False
    c.validate()
    return c


class ArmSeed:
    """The trainer and the sampler of one arm at one seed."""

    def __init__(self, cfg: ExperimentConfig, arm: Arm, seed: int, images: np.ndarray, out: Path, cache):
        from ..._torch import torch
        from ...data.dataset import EmbeddedDataset, InMemoryDataset
        from ...sde import VESDE
        from ...training.trainer import Trainer, build_model

        self.cfg, self.arm, self.seed, self.images = cfg, arm, seed, images
        self.run_dir = out / "arms" / arm.slug / f"seed-{seed}"
        tconf = trainer_config(cfg, arm, seed, images.shape[1])
        sde = VESDE(cfg.sigma)
        model = objective = None
        times = np.linspace(0.0, 1.0, cfg.fp_steps + 1)
        if arm.kind == "embed":
            dataset = EmbeddedDataset(out / cache["cache"])
        else:
            dataset = InMemoryDataset(images[None], np.zeros(1), sde=sde)
        if arm.kind in ("ddpm", "edm"):
            from ..baselines import DDPMObjective, DDPMSchedule, EDMDenoiser, EDMObjective

            torch.manual_seed(seed)  # the same initial network as the other arms of this seed
            net = build_model(tconf, sde)
            if arm.kind == "ddpm":
                self.schedule = DDPMSchedule()
                model, objective = net, DDPMObjective(self.schedule)
            else:
                model, objective = EDMDenoiser(net), EDMObjective()
            times = np.array([0.0, 1.0])
        resume = (self.run_dir / "checkpoints").is_dir() and any((self.run_dir / "checkpoints").iterdir())
        self.trainer = Trainer(
            tconf,
            dataset,
            sde=sde,
            times=times,
            out_dir=self.run_dir,
            resume=resume,
            model=model,
            objective=objective,
        )
        self.offset = float(cache["precompute_seconds"]) if arm.kind == "embed" else 0.0
        self.curve = self._saved_curve() if resume else []
        # fixed prior noise per seed, shared by every arm (each maps it to its own prior)
        g = torch.Generator().manual_seed(10_000 + seed)
        self.noise = torch.randn((cfg.n_samples, *images.shape[1:]), generator=g)
        self.references = list(images)
        self.conditional_sigma = (1.0 - cfg.weight) / cfg.weight if cfg.weight > 0 else None
        if self.conditional_sigma is not None:  # sample j starts from image j mod N, noised
            clean = torch.as_tensor(images, dtype=torch.float32)[torch.arange(cfg.n_samples) % len(images)]
            self.noisy = clean + self.conditional_sigma * self.noise

    @property
    def clock(self) -> float:
        return self.offset + self.trainer.train_seconds

    def _saved_curve(self) -> list[dict[str, float]]:
        path = self.run_dir / "curve.json"
        if not path.is_file():
            return []
        points = json.loads(path.read_text(encoding="utf-8"))
        return [p for p in points if p["step"] <= self.trainer.step]

    def sampler_name(self) -> str:
        kind, o = self.arm.kind, self.arm.options
        if kind == "ddpm":
            if o.get("sampler") == "ddim":
                return f"DDIM {o.get('steps', 50)} steps (eta 0)"
            return "ancestral, 1000 steps"
        if kind == "edm":
            return f"Heun, {o.get('steps', 18)} steps (sigma 0.002-80, rho 7)"
        return f"ancestral, {self.cfg.sample_steps} steps, then Tweedie"

    def sample(self) -> np.ndarray:
        """Samples of the EMA network from the fixed noise (or the fixed noisy images), in [0, 1]."""
        from ..._torch import torch
        from ...sampling import ddpm_ancestral, denoise, generate, uniform_times

        gen = torch.Generator().manual_seed(20_000 + self.seed)
        kind, tr, cond = self.arm.kind, self.trainer, self.conditional_sigma
        if kind in ("embed", "control"):
            score = tr.score_model(ema=True)
            if cond is not None:
                x = denoise(
                    score,
                    tr.sde,
                    self.noisy.clone(),
                    cond,
                    n_steps=self.cfg.sample_steps,
                    T=tr.T,
                    sampler=ddpm_ancestral,
                    generator=gen,
                )
            else:
                times = uniform_times(self.cfg.sample_steps, tr.T, tr.config.data.t_min)
                x = generate(score, tr.sde, tr.sde.prior_std(tr.T) * self.noise, times, generator=gen)
        elif kind == "ddpm":
            from ..baselines import ddim_sample, ddpm_sample, ddpm_start

            net, start, x = tr.ema.module, None, self.noise.clone()
            if cond is not None:
                start, x = ddpm_start(self.schedule, self.noisy.clone(), cond, gen)
            if self.arm.options.get("sampler") == "ddim":
                x = ddim_sample(
                    net, self.schedule, x, int(self.arm.options.get("steps", 50)), start_index=start
                )
            else:
                x = ddpm_sample(net, self.schedule, x, generator=gen, start_index=start)
        else:
            from ..baselines import edm_sample, edm_start

            steps = int(self.arm.options.get("steps", 18))
            if cond is not None:
                start, x = edm_start(self.noisy.clone(), cond)
                x = edm_sample(tr.ema.module, x, steps=steps, start_sigma=start)
            else:
                x = edm_sample(tr.ema.module, self.noise.clone(), steps=steps)
        return x.clamp(0.0, 1.0).cpu().numpy()

    def evaluate(self) -> dict[str, float]:
        from ..metrics import summarize

        scores = summarize(self.sample(), self.references)
        return {
            "step": self.trainer.step,
            "train_seconds": self.clock,
            "ssim": scores["ssim"],
            "ssim_best": scores["ssim_best"],
            "psnr": scores["psnr"],
            "mse": scores["mse"],
        }

    def save_curve(self) -> None:
        with atomic_write(self.run_dir / "curve.json") as f:
            f.write(json.dumps(self.curve).encode())

    def budget_spent(self) -> bool:
        cfg = self.cfg
        return self.clock >= cfg.budget_seconds or bool(cfg.max_steps and self.trainer.step >= cfg.max_steps)

    def finished(self) -> bool:
        """The budget is spent or the last evaluation reached stop_at."""
        stop_at = self.cfg.stop_at
        return self.budget_spent() or bool(self.curve and stop_at > 0 and self.curve[-1]["ssim"] >= stop_at)

    def run(self, on_point: Callable[[], None], progress: bool) -> None:
        """Train until the budget, the step cap or stop_at; evaluate every eval_every_seconds (or
        eval_every_steps) and at the end."""
        from tqdm.auto import tqdm

        cfg = self.cfg
        every = cfg.eval_every_seconds
        bar = tqdm(
            total=round(cfg.budget_seconds, 1),
            initial=round(min(self.clock, cfg.budget_seconds), 1),
            desc=f"{self.arm.name} seed {self.seed}",
            unit="s",
            disable=not progress,
            dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} training s {postfix}",
        )
        next_eval = every * (np.floor(self.clock / every) + 1)

        def callback(trainer, metrics) -> bool:
            nonlocal next_eval
            bar.n = round(min(self.clock, cfg.budget_seconds), 1)
            bar.refresh()
            due = (
                trainer.step % cfg.eval_every_steps == 0 if cfg.eval_every_steps else self.clock >= next_eval
            )
            if not (due or self.budget_spent()):
                return False
            next_eval = every * (np.floor(self.clock / every) + 1)
            self.curve.append(self.evaluate())
            bar.set_postfix_str(f"step {trainer.step}, SSIM {self.curve[-1]['ssim']:.3f}")
            stop = self.finished()
            if not stop:
                trainer.save()  # the trainer saves itself when stopped
            self.save_curve()
            on_point()
            return stop

        with bar:
            if not self.finished():
                self.trainer.train(callback=callback)
            self.save_curve()


# -- the experiment -------------------------------------------------------------------------------


def _read_results(out: Path) -> dict[str, Any] | None:
    path = out / "results.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is damaged ({err}); move it away to start the experiment over") from err


def _resumable(saved: dict[str, Any], cfg: ExperimentConfig, out: Path) -> None:
    old = {k: v for k, v in saved.get("config", {}).items() if k != "progress"}
    new = {k: v for k, v in cfg.to_dict().items() if k != "progress"}
    diffs = [
        f"{k}: {old.get(k)!r} → {new.get(k)!r}"
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]
    if diffs:
        raise ValueError(
            f"{out} holds an experiment with other settings ({'; '.join(diffs)}): "
            "resume it with the same settings, or choose another --out folder"
        )


def write_results(out: Path, results: dict[str, Any]) -> None:
    with atomic_write(out / "results.json") as f:
        f.write(json.dumps(results, indent=1).encode())


def run_experiment(
    cfg: ExperimentConfig, out: str | os.PathLike[str], *, log: Log | None = None
) -> dict[str, Any]:
    """Run (or resume) the experiment `cfg` in the folder `out`; returns the results (see the module
    docstring) after writing results.json, table.md and curves.png."""
    from .report import write_report

    log = log or print
    images = check(cfg)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file: choose a folder for the experiment")
    saved = _read_results(out)
    if saved is None and out.is_dir() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty and holds no experiment: choose a new or empty folder")
    if saved is not None:
        _resumable(saved, cfg, out)
        log(f"resuming the experiment in {out}")
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "config.toml") as f:
        f.write(cfg.to_toml().encode())
    found = versions()
    results: dict[str, Any] = {
        "fpscore_version": found["fpscore"],
        "created": (saved or {}).get("created", datetime.now(timezone.utc).isoformat(timespec="seconds")),
        "config": cfg.to_dict(),
        "derived": {"image_size": cfg.image_size, "condition_weight": cfg.weight, "images": len(images)},
        "hardware": hardware(),
        "versions": found,
        "embeddings": (saved or {}).get("embeddings", {}),
        "arms": (saved or {}).get("arms", {}),
    }
    arms = cfg.parsed_arms()
    inits = {embedding_key(cfg, a): a.options.get("init", cfg.init) for a in arms if a.kind == "embed"}
    for key, init in inits.items():
        known = results["embeddings"].get(key)
        e = results["embeddings"][key] = prepare_embedding(cfg, key, init, images, out, known)
        log(
            f"embedding {key}: {e['precompute_seconds']:.1f} s; |x^N - x^0| mean "
            f"{e['mean_abs_displacement']:.3f}, max {e['max_abs_displacement']:.3f}; "
            f"{100 * e['fraction_outside_unit']:.1f} % of pixels outside [0, 1] at t = 1"
        )
    write_results(out, results)
    classifier = None  # DLG's noise-level classifier, trained once (final_samplers)
    for arm in arms:
        entry = results["arms"].setdefault(arm.name, {"kind": arm.kind, "options": arm.options, "runs": []})
        key = embedding_key(cfg, arm) if arm.kind == "embed" else None
        entry["embedding"] = key
        runs = {r["seed"]: r for r in entry["runs"]}
        for seed in cfg.seeds:
            if runs.get(seed, {}).get("complete"):
                continue
            job = ArmSeed(cfg, arm, seed, images, out, results["embeddings"].get(key) if key else None)
            entry["sampler"] = job.sampler_name()
            run = {"seed": seed, "complete": False, "precompute_seconds": job.offset, "curve": job.curve}
            runs[seed] = run
            entry["runs"] = [runs[s] for s in cfg.seeds if s in runs]

            def record(job=job, run=run) -> None:
                run["curve"] = job.curve
                run["steps"] = job.trainer.step
                write_results(out, results)

            job.run(record, cfg.progress)
            if cfg.final_samplers and arm.kind in ("embed", "control"):
                from .final_samplers import compare_samplers, noise_classifier

                if classifier is None and "dlg" in cfg.final_samplers:
                    classifier = noise_classifier(cfg, images, job.trainer.sde, job.trainer.T, out)
                run["final_samplers"] = compare_samplers(job, classifier)
                log(
                    f"{arm.name} seed {seed}, samplers: "
                    + "; ".join(
                        f"{n} SSIM {v['ssim']:.3f}, {v['nfe_per_sample']:.0f} NFE"
                        for n, v in run["final_samplers"].items()
                    )
                )
            run.update(complete=True, steps=job.trainer.step, train_seconds=job.clock, curve=job.curve)
            write_results(out, results)
            best = max((p["ssim"] for p in job.curve), default=float("nan"))
            log(f"{arm.name} seed {seed}: {job.trainer.step} steps, {job.clock:.1f} s, best SSIM {best:.3f}")
    write_report(out)
    return results


__all__ = ["ArmSeed", "check", "hardware", "load_images", "run_experiment", "versions"]
