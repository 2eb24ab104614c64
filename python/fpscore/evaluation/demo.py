"""`fpscore demo`: the whole pipeline on one bundled photograph, and what the embedding changes, on the CPU.

1. Check the output folder: the demo writes only into a new or empty folder, or one it created
   before (marked by a `.fpscore-demo` file), so that it never replaces files it did not write.
2. Load a scikit-image sample photograph (default: astronaut) at 32×32, RGB in [0, 1].
3. Pre-compute its score embedding (initial log-density, Fokker–Planck solve, transport) into a cache.
4. Train two arms one after the other, with the same seed, config, cache and prior noise: `embed`, a
   small ε-U-Net (EDM preconditioning) on the noised embedded images with the paper's DSM loss, and
   `control`, the same pipeline with the embedding off (`data.scores_zero`: x⁰ at every time). Each
   arm samples every few dozen steps (ancestral sampling from the prior, then one Tweedie step),
   scores the samples by SSIM against the training image, and stops at the target SSIM or the step
   cap. Training time is measured without the sampling for the SSIM curve. (Stochastic samplers are
   used: the embedded targets change from bin to bin, and the deterministic probability-flow ODE does
   not correct the resulting drift.)
5. Write demo.png (the image and its embedding, samples over training, the final samples of both
   arms, both SSIM curves), summary.txt / summary.json and one run folder per arm (run-embed,
   run-control: config, metrics, checkpoints).
"""

from __future__ import annotations

import copy
import json
import numbers
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.images import to_image, write_png

DEMO_IMAGES = ("astronaut", "chelsea", "coffee", "rocket")
ARMS = ("embed", "control")
ARM_LABELS = {"embed": "embedding", "control": "control (no embedding)"}
MARKER = ".fpscore-demo"
"""The file that marks a folder as the demo's own: a rerun may replace its run folders, cache and outputs."""


@dataclass
class ArmResult:
    """What one training arm measured. train_seconds counts the training steps only (the sampling
    for the SSIM curve is eval_seconds); curve rows hold step, ssim, ssim_best, psnr, loss,
    train_seconds (training time up to that step) and seconds (wall time, sampling included)."""

    name: str
    run_dir: Path
    steps: int
    final_ssim: float
    best_ssim: float
    final_psnr: float
    reached_target: bool
    train_seconds: float
    eval_seconds: float
    steps_to_target: int | None = None
    seconds_to_target: float | None = None
    curve: list[dict[str, float]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ARM_LABELS[self.name]

    def describe(self) -> str:
        # the rate shows when the machine was busier during one arm than the other
        rate = self.steps / max(self.train_seconds, 1e-9)
        return (
            f"{self.label}: {self.steps} training steps in {self.train_seconds:.0f} s ({rate:.1f} steps/s; "
            f"+ {self.eval_seconds:.0f} s sampling for the SSIM curve), final mean SSIM "
            f"{self.final_ssim:.3f} (best sample {self.best_ssim:.3f}), PSNR {self.final_psnr:.2f} dB"
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "run_dir": str(self.run_dir), "label": self.label}


@dataclass
class DemoResult:
    """The demo's measurements. The flat fields describe the embedding arm (train_seconds: its
    training steps only); `embed` and `control` hold both arms (control is None when not run);
    seconds is the wall time of the whole demo."""

    out_dir: Path
    png: Path
    steps: int
    final_ssim: float
    best_ssim: float
    reached_target: bool
    seconds: float
    precompute_seconds: float
    train_seconds: float
    curve: list[dict[str, float]] = field(default_factory=list)
    target_ssim: float = 0.90
    embed: ArmResult | None = None
    control: ArmResult | None = None

    def comparison(self) -> str:
        """One sentence comparing the arms, from the measurements."""
        return compare_arms(self.embed, self.control, self.target_ssim)

    def summary(self) -> str:
        lines = [f"fpscore demo: {self.comparison()}"]
        lines += [arm.describe() for arm in (self.embed, self.control) if arm is not None]
        lines.append(f"in {self.seconds:.0f} s in all (pre-computation {self.precompute_seconds:.1f} s)")
        return "\n".join(lines)


def compare_arms(embed: ArmResult | None, control: ArmResult | None, target: float) -> str:
    """One plain sentence from the measurements, e.g. "embedding reached SSIM 0.90 after 175 steps
    (32 s of training), the control after 200 steps (37 s)"."""

    def outcome(arm: ArmResult) -> str:
        if arm.reached_target:
            seconds = arm.seconds_to_target or 0.0
            return f"reached SSIM {target:.2f} after {arm.steps_to_target} steps ({seconds:.0f} s)"
        return f"did not reach SSIM {target:.2f} within {arm.steps} steps (final SSIM {arm.final_ssim:.3f})"

    if embed is not None and control is not None:
        if embed.reached_target and control.reached_target:
            text = (
                f"embedding reached SSIM {target:.2f} after {embed.steps_to_target} steps "
                f"({embed.seconds_to_target:.0f} s of training), the control after "
                f"{control.steps_to_target} steps ({control.seconds_to_target:.0f} s)"
            )
        else:
            text = f"embedding {outcome(embed)}; the {control.label} {outcome(control)}"
        # Both arms run the same model on the same batch size, so a step costs the same in each; very
        # different rates mean the machine was busier during one arm, and only the steps compare.
        rates = [a.steps / a.train_seconds for a in (embed, control) if a.train_seconds > 0]
        if len(rates) == 2 and max(rates) > 1.5 * min(rates):
            text += (
                f" (the arms trained at {rates[0]:.1f} and {rates[1]:.1f} steps/s: the machine was busier "
                "during one of them, so compare the steps)"
            )
        return text
    arm = embed if embed is not None else control
    return "no arm was trained" if arm is None else f"{arm.label} {outcome(arm)}"


# -- the output folder ----------------------------------------------------------------------------


def prepare_demo_folder(out: str | os.PathLike[str]) -> Path:
    """The demo's output folder, checked before anything is written.

    A folder that does not exist is created, and an empty one is taken; both get the MARKER file. A
    folder holding the marker was written by the demo, which may replace its own run-*/cache
    subfolders and output files there. Anything else (a folder with other files and no marker, a
    file) raises ValueError and is left untouched: a rerun would delete what it holds.
    """
    out_dir = Path(out).expanduser()
    example = "fpscore-demo-2" if out_dir.name == "fpscore-demo" else "fpscore-demo"
    fix = f"choose a new or empty folder, e.g. --out {example}"
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file, not a folder: {fix}")
    marker = out_dir / MARKER
    if out_dir.is_dir():
        if marker.is_file():
            return out_dir
        if any(out_dir.iterdir()):
            raise ValueError(
                f"{out_dir} is not empty and was not created by `fpscore demo` (it has no {MARKER} "
                f"file); the demo replaces the folders it writes, so it leaves this one alone: {fix}"
            )
    from .._core import __version__

    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = {
        "created_by": "fpscore demo",
        "fpscore_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    marker.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return out_dir


def _remove_own(path: Path) -> None:
    """Remove one of the demo's own subfolders (a run folder of an earlier demo)."""
    import shutil

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


# -- the run --------------------------------------------------------------------------------------


# The demo's network (the experiment's quick preset too): a U-Net small enough to train on a CPU.
SMALL_UNET = (
    "model.channels=32",
    "model.channel_mult=[1, 2, 2]",
    "model.num_res_blocks=1",
    "model.attn_resolutions=[8]",
    "model.dropout=0.0",
    "model.preconditioning=edm",
)


def demo_config(image_shape: tuple[int, int, int], *, max_steps: int, seed: int):
    """The small CPU model and schedule of the demo."""
    from ..training.config import Config

    c, h, _ = image_shape
    return Config().override(
        [
            f"model.image_channels={c}",
            f"model.image_size={h}",
            *SMALL_UNET,
            "loss.spec=dsm",
            "loss.weighting=paper",
            f"train.steps={max_steps}",
            "train.batch_size=16",
            "train.lr=2e-3",
            "train.warmup=100",
            "train.grad_clip=1.0",
            "train.ema_decay=0.995",
            f"train.seed={seed}",
            "train.checkpoint_every=500",
            "train.keep=2",
            "train.log_every=25",
        ]
    )


def run_demo(
    out: str | os.PathLike[str] = "fpscore-demo",
    *,
    image: str = "astronaut",
    size: int = 32,
    max_steps: int = 1500,
    target_ssim: float = 0.90,
    eval_every: int = 25,
    n_samples: int = 4,
    sample_steps: int = 40,
    seed: int = 0,
    progress: bool = True,
    log: Callable[[str], Any] | None = None,
    arms: Sequence[str] = ARMS,
) -> DemoResult:
    """Run the demo into the folder `out` and return what it measured (see the module docstring).

    max_steps: the step cap of each arm. arms: which arms to train ("embed" is required: the result's
    flat fields describe it; the embedding trains first). log: a function of one string for the progress lines
    (default: printed above the progress bar). Raises ValueError, before computing or writing
    anything, for a folder the demo did not create (see `prepare_demo_folder`).
    """
    _check_arguments(
        out,
        image=image,
        size=size,
        counts={
            "max_steps": max_steps,
            "eval_every": eval_every,
            "n_samples": n_samples,
            "sample_steps": sample_steps,
        },
        target_ssim=target_ssim,
        seed=seed,
        progress=progress,
        log=log,
        arms=arms,
    )
    arms = tuple(a for a in ARMS if a in arms)  # embedding first: the figure's samples-over-training row
    out_dir = prepare_demo_folder(out)
    t_start = time.perf_counter()
    if log is None:
        from tqdm.auto import tqdm

        log = tqdm.write
    from .. import data
    from .._torch import torch
    from ..data.dataset import EmbeddedDataset
    from ..embedding.precompute import precompute
    from ..sde import VESDE
    from .metrics import summarize

    n_stages = 3 + len(arms)
    log(f"[1/{n_stages}] loading skimage.data.{image} at {size}x{size}")
    images = data.load_sample_images(classes=[image], size=size, channels=3)
    reference = images.images[0].astype(np.float64)

    log(f"[2/{n_stages}] pre-computing the score embedding (VESDE sigma = 2, N = 20, T = 1)")
    sde = VESDE(2.0)
    t0 = time.perf_counter()
    summary = precompute(images, out_dir / "cache", sde, n_steps=20, T=1.0, progress=False, overwrite=True)
    precompute_seconds = time.perf_counter() - t0
    log(f"      {summary}")
    dataset = EmbeddedDataset(out_dir / "cache")

    config = demo_config(tuple(reference.shape), max_steps=max_steps, seed=seed)
    config.train.progress = progress
    T = float(dataset.times[-1])
    # the same prior noise for every arm, so that their samples can be compared image by image
    prior = dataset.sde.prior_sample(
        (n_samples, *reference.shape), torch.Generator().manual_seed(seed + 1), T=T
    )
    for name in ARMS:  # a fresh run every time: the demo measures training from scratch
        _remove_own(out_dir / f"run-{name}")

    results: dict[str, ArmResult] = {}
    finals: dict[str, np.ndarray] = {}
    snapshots: list[tuple[int, np.ndarray, float]] = []
    n_params = 0
    for k, name in enumerate(arms):
        arm_config = copy.deepcopy(config)
        arm_config.data.scores_zero = name == "control"
        log(
            f"[{3 + k}/{n_stages}] training the {ARM_LABELS[name]} arm (until mean SSIM >= {target_ssim} "
            f"or {max_steps} steps; SSIM every {eval_every} steps)"
        )
        results[name], finals[name], arm_snapshots, n_params = _train_arm(
            name,
            arm_config,
            dataset,
            out_dir / f"run-{name}",
            reference=reference,
            prior=prior,
            max_steps=max_steps,
            target_ssim=target_ssim,
            eval_every=eval_every,
            sample_steps=sample_steps,
            seed=seed,
            log=log,
        )
        if name == "embed":
            snapshots = arm_snapshots

    log(f"[{n_stages}/{n_stages}] writing the figure and the summary")
    trajectory = np.asarray(dataset.cache.trajectory(0), dtype=np.float64)
    png = out_dir / "demo.png"
    render_figure(
        png,
        reference,
        trajectory,
        snapshots,
        [(ARM_LABELS[name], finals[name], results[name].curve) for name in arms],
        target_ssim,
        title=f"{image} {size}x{size}",
    )
    embed = results["embed"]
    result = DemoResult(
        out_dir=out_dir,
        png=png,
        steps=embed.steps,
        final_ssim=embed.final_ssim,
        best_ssim=embed.best_ssim,
        reached_target=embed.reached_target,
        seconds=time.perf_counter() - t_start,
        precompute_seconds=precompute_seconds,
        train_seconds=embed.train_seconds,
        curve=embed.curve,
        target_ssim=target_ssim,
        embed=embed,
        control=results.get("control"),
    )
    t_end = config.data.t_min
    text = [
        *result.summary().splitlines(),
        f"image: skimage.data.{image}, {size}x{size} RGB; SDE: {dataset.sde!r}, N = 20, T = {T:g}",
        f"model: {n_params} parameters; loss: {config.loss.spec} ({config.loss.weighting} weighting); "
        f"batch {config.train.batch_size}, lr {config.train.lr:g}; the same seed, config, cache and "
        "prior noise for every arm; the control trains on x^0 at every time (data.scores_zero)",
        f"sampler: ancestral (DDPM), {sample_steps} steps from t = {T:g} to {t_end:g}, "
        "then one Tweedie denoising step",
        *(
            f"SSIM over training, {results[name].label}: "
            + ", ".join(f"{int(c['step'])}: {c['ssim']:.3f}" for c in results[name].curve)
            for name in arms
        ),
        f"figure: {png}",
    ]
    (out_dir / "summary.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
    payload: dict[str, Any] = {
        k: v for k, v in asdict(result).items() if k not in ("out_dir", "png", "embed", "control")
    }
    payload.update(
        out_dir=str(out_dir),
        png=str(png),
        comparison=result.comparison(),
        final=summarize(finals["embed"], [reference]),
        arms={name: results[name].to_json() for name in arms},
        config=config.to_dict(),
    )
    (out_dir / "summary.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    log("      " + "\n      ".join(text))
    return result


def _check_arguments(
    out: Any,
    *,
    image: Any,
    size: Any,
    counts: dict[str, Any],
    target_ssim: Any,
    seed: Any,
    progress: Any,
    log: Any,
    arms: Any,
) -> None:
    """run_demo's arguments, checked before the folder is touched or anything is computed."""
    from .._validation import positive_int

    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path (str or os.PathLike), got {type(out).__name__}")
    if not isinstance(image, str) or image not in DEMO_IMAGES:
        raise ValueError(f"image must be one of {DEMO_IMAGES}, got {image!r}")
    # the demo's U-Net halves the image twice (model.channel_mult = [1, 2, 2])
    if positive_int("size", size) % 4:
        raise ValueError(f"size must be a multiple of 4 (the demo's U-Net halves it twice), got {size}")
    for name, value in counts.items():
        positive_int(name, value)
    if isinstance(target_ssim, bool) or not isinstance(target_ssim, numbers.Real):
        raise TypeError(f"target_ssim must be a number, got {type(target_ssim).__name__}")
    if not -1.0 < target_ssim <= 1.0:
        raise ValueError(f"target_ssim must be in (-1, 1] (SSIM's range), got {target_ssim}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if not 0 <= seed <= 2**63 - 3:  # seed + 2 seeds a torch.Generator, which takes 64-bit values
        raise ValueError(f"seed must be in [0, 2^63 - 3], got {seed}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    if log is not None and not callable(log):
        raise TypeError(f"log must be a function of one string or None, got {type(log).__name__}")
    if isinstance(arms, (str, bytes)) or not isinstance(arms, Sequence):
        raise TypeError(f"arms must be a sequence of arm names from {ARMS}, got {arms!r}")
    if "embed" not in arms or not all(isinstance(a, str) and a in ARMS for a in arms):
        raise ValueError(f"arms must include 'embed' and be drawn from {ARMS}, got {tuple(arms)}")


def _train_arm(
    name: str,
    config,
    dataset,
    run_dir: Path,
    *,
    reference: np.ndarray,
    prior,
    max_steps: int,
    target_ssim: float,
    eval_every: int,
    sample_steps: int,
    seed: int,
    log: Callable[[str], Any],
) -> tuple[ArmResult, np.ndarray, list[tuple[int, np.ndarray, float]], int]:
    """Train one arm from scratch until the target SSIM or max_steps; returns what it measured, its
    final samples, (step, first sample, SSIM) snapshots over training and the parameter count."""
    from .._torch import torch
    from ..sampling import generate, uniform_times
    from ..training.trainer import Trainer
    from .metrics import summarize

    trainer = Trainer(config, dataset, out_dir=run_dir)
    times = uniform_times(sample_steps, trainer.T, config.data.t_min)

    def sample() -> np.ndarray:
        gen = torch.Generator().manual_seed(seed + 2)
        x = generate(trainer.score_model(ema=True), trainer.sde, prior.clone(), times, generator=gen)
        return x.clamp(0.0, 1.0).cpu().numpy()

    curve: list[dict[str, float]] = []
    snapshots: list[tuple[int, np.ndarray, float]] = []
    last: dict[str, Any] = {}
    # The trainer counts its own training time (train_seconds); the sampling for the SSIM curve is
    # timed apart, so that the arms compare by training cost however often the SSIM is measured.
    eval_seconds = 0.0

    def evaluate(tr, metrics) -> bool:
        nonlocal eval_seconds
        if tr.step % eval_every and tr.step < max_steps:
            return False
        started = time.perf_counter()
        samples = sample()
        scores = summarize(samples, [reference])
        curve.append(
            {
                "step": tr.step,
                "ssim": scores["ssim"],
                "ssim_best": scores["ssim_best"],
                "psnr": scores["psnr"],
                "loss": metrics["loss"],
                "train_seconds": tr.train_seconds,
                "seconds": time.perf_counter() - t_train,
            }
        )
        snapshots.append((tr.step, samples[0], scores["ssim"]))
        last.update(step=tr.step, samples=samples, scores=scores)
        log(
            f"      step {tr.step:5d}  loss {metrics['loss']:.4f}  SSIM {scores['ssim']:.3f} "
            f"(best {scores['ssim_best']:.3f})  training {tr.train_seconds:.0f} s"
        )
        eval_seconds += time.perf_counter() - started
        return scores["ssim"] >= target_ssim

    t_train = time.perf_counter()
    trainer.train(max_steps, callback=evaluate)
    if last.get("step") != trainer.step:  # no evaluation at the last step (max_steps already reached)
        last.update(step=trainer.step, samples=sample())
        last["scores"] = summarize(last["samples"], [reference])
    scores = last["scores"]
    hit = next((c for c in curve if c["ssim"] >= target_ssim), None)
    result = ArmResult(
        name=name,
        run_dir=run_dir,
        steps=trainer.step,
        final_ssim=scores["ssim"],
        best_ssim=scores["ssim_best"],
        final_psnr=scores["psnr"],
        reached_target=scores["ssim"] >= target_ssim,
        train_seconds=trainer.train_seconds,
        eval_seconds=eval_seconds,
        steps_to_target=None if hit is None else int(hit["step"]),
        seconds_to_target=None if hit is None else hit["train_seconds"],
        curve=curve,
    )
    n_params = sum(p.numel() for p in trainer.model.parameters())
    return result, last["samples"], snapshots, n_params


# -- the figure (Pillow only) ---------------------------------------------------------------------

ARM_COLOURS = ((30, 90, 200), (230, 120, 20))


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _step_ticks(smax: float) -> list[int]:
    """Round tick positions, about five, on [0, smax]."""
    for spacing in (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000):
        if smax / spacing <= 6:
            break
    return list(range(0, int(smax) + 1, spacing))


def render_figure(
    path: Path,
    reference: np.ndarray,
    trajectory: np.ndarray,
    snapshots: list[tuple[int, np.ndarray, float]],
    arms: Sequence[tuple[str, np.ndarray, list[dict[str, float]]]],
    target: float,
    *,
    title: str = "",
    scale: int = 3,
) -> Path:
    """One PNG: the training image and its embedding, samples over training (first arm), one row of
    final samples per arm, and the arms' SSIM curves in one plot. arms: (label, final samples, curve)."""
    from PIL import Image, ImageDraw

    tile = reference.shape[-1] * scale
    pad, label_h = 10, 30
    font, small = _font(14), _font(11)
    bins = sorted({0, *np.linspace(0, trajectory.shape[0] - 1, 4).round().astype(int).tolist()})
    shown = (
        snapshots
        if len(snapshots) <= 8
        else [snapshots[i] for i in np.linspace(0, len(snapshots) - 1, 8).round().astype(int)]
    )
    cols = max(len(bins), len(shown), *(len(final) for _, final, _ in arms))
    width = max(pad + cols * (tile + pad), 560)
    plot_h = 220
    height = 36 + (2 + len(arms)) * (20 + tile + label_h) + plot_h + 60
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((pad, 8), f"fpscore demo - {title}", fill="black", font=font)

    def row(y: int, heading: str, items: list[tuple[np.ndarray, str]], colour=(0, 0, 0)) -> int:
        draw.text((pad, y), heading, fill=colour, font=font)
        y += 20
        for k, (img, label) in enumerate(items):
            x = pad + k * (tile + pad)
            canvas.paste(to_image(img, scale), (x, y))
            draw.text((x, y + tile + 2), label, fill="black", font=small)
        return y + tile + label_h

    y = 36
    embedding = [(trajectory[n], "input (n = 0)" if n == 0 else f"bin n = {n}") for n in bins]
    y = row(y, "training image and its score embedding x^n", embedding)
    first = arms[0][0] if arms else ""
    y = row(
        y,
        f"samples over training, {first} (same prior noise)",
        [(s, f"step {k}: {q:.2f}") for k, s, q in shown],
    )
    for (label, final, curve), colour in zip(arms, ARM_COLOURS, strict=False):
        steps = int(curve[-1]["step"]) if curve else 0
        y = row(
            y,
            f"final samples, {label}, step {steps} (SSIM to the training image)",
            [(s, f"SSIM {_ssim(s, reference):.3f}") for s in final],
            colour,
        )

    # SSIM curves
    x0, y0, w, h = pad + 40, y + 10, width - 2 * pad - 50, plot_h - 40
    draw.text((pad, y - 6), "mean SSIM of the samples vs training step", fill="black", font=font)
    top = y0 + 10
    draw.rectangle([x0, top, x0 + w, top + h], outline="black")
    points = [c for _, _, curve in arms for c in curve]
    smax = max([c["step"] for c in points] or [0]) or 1
    lo = min(0.0, *(c["ssim"] for c in points)) if points else 0.0

    def px(step: float, val: float) -> tuple[float, float]:
        return x0 + w * step / smax, top + h * (1.0 - (val - lo) / (1.0 - lo))

    for v in (lo, 0.5, 1.0):
        _, yy = px(0, v)
        draw.line([x0, yy, x0 + w, yy], fill=(210, 210, 210))
        draw.text((pad, yy - 6), f"{v:.2f}", fill="black", font=small)
    _, yy = px(0, target)  # the target, dashed
    for xx in range(x0, x0 + w, 8):
        draw.line([xx, yy, min(xx + 4, x0 + w), yy], fill=(110, 110, 110))
    draw.text((pad, yy - 6), f"{target:.2f}", fill="black", font=small)
    draw.text((x0 + 6, yy - 14), "target", fill=(110, 110, 110), font=small)  # top left: curves start low
    for tick in _step_ticks(smax):
        xx, _ = px(tick, lo)
        draw.line([xx, top + h, xx, top + h + 4], fill="black")
        draw.text((xx - 6, top + h + 6), str(tick), fill="black", font=small)
    draw.text((x0 + w - 70, top + h + 20), "training step", fill="black", font=small)
    for k, ((label, _, curve), colour) in enumerate(zip(arms, ARM_COLOURS, strict=False)):
        if len(curve) > 1:
            draw.line([px(c["step"], c["ssim"]) for c in curve], fill=colour, width=2)
        for c in curve:
            cx, cy = px(c["step"], c["ssim"])
            draw.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=colour)
        lx, ly = x0 + 10, top + h - 20 * (len(arms) - k) - 4  # legend, bottom left (curves start low)
        draw.line([lx, ly + 7, lx + 20, ly + 7], fill=colour, width=3)
        draw.text((lx + 26, ly), label, fill="black", font=small)
    canvas = canvas.crop((0, 0, width, top + h + 36))
    return write_png(canvas, path)


def _ssim(sample: np.ndarray, reference: np.ndarray) -> float:
    from .metrics import ssim

    return ssim(sample, reference)
