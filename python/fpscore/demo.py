"""`fpscore demo`: the whole pipeline on one bundled photograph, on the CPU, in a few minutes.

1. Load a scikit-image sample photograph (default: astronaut) at 32×32, RGB in [0, 1].
2. Pre-compute its score embedding (initial log-density, Fokker–Planck solve, transport) into a cache.
3. Train a small ε-U-Net (EDM preconditioning) on the noised embedded images with the paper's DSM
   loss, sampling every few dozen steps (ancestral sampling from the prior, then one Tweedie step)
   and scoring the samples by SSIM against the training image; stop at the target SSIM or the step
   cap. (Stochastic samplers are used: the embedded targets change from bin to bin, and the
   deterministic probability-flow ODE does not correct the resulting drift.)
4. Write demo.png (the image and its embedding, samples over training, the SSIM curve, the final
   samples), summary.txt / summary.json and the run folder (config, metrics, checkpoints).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEMO_IMAGES = ("astronaut", "chelsea", "coffee", "rocket")


@dataclass
class DemoResult:
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

    def summary(self) -> str:
        status = "reached" if self.reached_target else "did not reach"
        return (
            f"fpscore demo: {self.steps} training steps, mean SSIM of the samples {self.final_ssim:.3f} "
            f"(best {self.best_ssim:.3f}; {status} the target) in {self.seconds:.0f} s "
            f"(pre-computation {self.precompute_seconds:.1f} s, "
            f"training and sampling {self.train_seconds:.0f} s)"
        )


def demo_config(image_shape: tuple[int, int, int], *, max_steps: int, seed: int):
    """The small CPU model and schedule of the demo."""
    from .config import Config

    c, h, _ = image_shape
    return Config().override(
        [
            f"model.image_channels={c}",
            f"model.image_size={h}",
            "model.channels=32",
            "model.channel_mult=[1, 2, 2]",
            "model.num_res_blocks=1",
            "model.attn_resolutions=[8]",
            "model.dropout=0.0",
            "model.preconditioning=edm",
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
    log=None,
) -> DemoResult:
    """Run the demo into the folder `out` and return what it measured (see the module docstring).

    log: a function of one string for the progress lines (default: printed above the progress bar).
    """
    if log is None:
        from tqdm.auto import tqdm

        log = tqdm.write
    from . import data, precompute
    from ._torch import torch
    from .dataset import EmbeddedDataset
    from .metrics import summarize
    from .samplers import ddpm_ancestral, tweedie, uniform_times
    from .sde import VESDE
    from .train import Trainer

    if image not in DEMO_IMAGES:
        raise ValueError(f"image must be one of {DEMO_IMAGES}, got {image!r}")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    log(f"[1/4] loading skimage.data.{image} at {size}x{size}")
    images = data.load_sample_images(classes=[image], size=size, channels=3)
    reference = images.images[0].astype(np.float64)

    log("[2/4] pre-computing the score embedding (VESDE sigma = 2, N = 20, T = 1)")
    sde = VESDE(2.0)
    t0 = time.perf_counter()
    summary = precompute(images, out_dir / "cache", sde, n_steps=20, T=1.0, progress=False, overwrite=True)
    precompute_seconds = time.perf_counter() - t0
    log(f"      {summary}")
    dataset = EmbeddedDataset(out_dir / "cache")

    config = demo_config(tuple(reference.shape), max_steps=max_steps, seed=seed)
    config.train.progress = progress
    run_dir = out_dir / "run"
    if run_dir.exists():  # a fresh run every time: the demo measures training from scratch
        import shutil

        shutil.rmtree(run_dir)
    trainer = Trainer(config, dataset, out_dir=run_dir)
    T = trainer.T
    t_end = config.data.t_min
    times = uniform_times(sample_steps, T, t_end)
    prior = trainer.sde.prior_sample(
        (n_samples, *reference.shape), torch.Generator().manual_seed(seed + 1), T=T
    )

    def sample() -> np.ndarray:
        model = trainer.score_model(ema=True)
        x = ddpm_ancestral(
            model, trainer.sde, prior.clone(), times, generator=torch.Generator().manual_seed(seed + 2)
        )
        return tweedie(model, trainer.sde, x, t_end).clamp(0.0, 1.0).cpu().numpy()

    curve: list[dict[str, float]] = []
    snapshots: list[tuple[int, np.ndarray, float]] = []

    def evaluate(tr, metrics) -> bool:
        if tr.step % eval_every and tr.step < max_steps:
            return False
        samples = sample()
        scores = summarize(samples, [reference])
        curve.append(
            {
                "step": tr.step,
                "ssim": scores["ssim"],
                "ssim_best": scores["ssim_best"],
                "psnr": scores["psnr"],
                "loss": metrics["loss"],
                "seconds": time.perf_counter() - t_train,
            }
        )
        snapshots.append((tr.step, samples[0], scores["ssim"]))
        log(
            f"      step {tr.step:5d}  loss {metrics['loss']:.4f}  SSIM {scores['ssim']:.3f} "
            f"(best {scores['ssim_best']:.3f})  {metrics['steps_per_s']:.1f} steps/s"
        )
        return scores["ssim"] >= target_ssim

    n_params = sum(p.numel() for p in trainer.model.parameters())
    log(
        f"[3/4] training a {n_params / 1e6:.2f} M-parameter U-Net (until mean SSIM >= {target_ssim} "
        f"or {max_steps} steps; SSIM every {eval_every} steps)"
    )
    t_train = time.perf_counter()
    trainer.train(max_steps, callback=evaluate)
    train_seconds = time.perf_counter() - t_train

    log("[4/4] sampling and writing the figure")
    final = sample()
    final_scores = summarize(final, [reference])
    trajectory = np.asarray(dataset.cache.trajectory(0), dtype=np.float64)
    png = out_dir / "demo.png"
    render_figure(
        png, reference, trajectory, snapshots, final, curve, target_ssim, title=f"{image} {size}x{size}"
    )
    result = DemoResult(
        out_dir=out_dir,
        png=png,
        steps=trainer.step,
        final_ssim=final_scores["ssim"],
        best_ssim=final_scores["ssim_best"],
        reached_target=final_scores["ssim"] >= target_ssim,
        seconds=time.perf_counter() - t_start,
        precompute_seconds=precompute_seconds,
        train_seconds=train_seconds,
        curve=curve,
    )
    text = [
        result.summary(),
        f"image: skimage.data.{image}, {size}x{size} RGB; SDE: {trainer.sde!r}, N = 20, T = {T:g}",
        f"model: {n_params} parameters; loss: {config.loss.spec} ({config.loss.weighting} weighting); "
        f"batch {config.train.batch_size}, lr {config.train.lr:g}",
        f"sampler: ancestral (DDPM), {sample_steps} steps from t = {T:g} to {t_end:g}, "
        "then one Tweedie denoising step",
        f"final samples: SSIM {final_scores['ssim']:.4f} (best {final_scores['ssim_best']:.4f}), "
        f"PSNR {final_scores['psnr']:.2f} dB, MSE {final_scores['mse']:.5f}",
        "SSIM over training: " + ", ".join(f"{int(c['step'])}: {c['ssim']:.3f}" for c in curve),
        f"figure: {png}",
    ]
    (out_dir / "summary.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
    payload: dict[str, Any] = {k: v for k, v in asdict(result).items() if k not in ("out_dir", "png")}
    payload.update(out_dir=str(out_dir), png=str(png), final=final_scores, config=config.to_dict())
    (out_dir / "summary.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    log("      " + "\n      ".join(text))
    return result


# -- the figure (Pillow only) ---------------------------------------------------------------------


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _tile(x: np.ndarray, scale: int):
    from PIL import Image

    a = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    a = a[0] if a.shape[0] == 1 else np.moveaxis(a[:3], 0, -1)
    im = Image.fromarray(np.round(a * 255).astype(np.uint8))
    return im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)


def render_figure(
    path: Path,
    reference: np.ndarray,
    trajectory: np.ndarray,
    snapshots: list[tuple[int, np.ndarray, float]],
    final: np.ndarray,
    curve: list[dict[str, float]],
    target: float,
    *,
    title: str = "",
    scale: int = 3,
) -> Path:
    """One PNG: the training image and its embedding, samples over training, final samples, SSIM curve."""
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
    cols = max(len(bins), len(shown), len(final))
    width = max(pad + cols * (tile + pad), 560)
    plot_h = 200
    height = 36 + 3 * (label_h + tile + pad + 18) + plot_h + 60
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((pad, 8), f"fpscore demo - {title}", fill="black", font=font)

    def row(y: int, heading: str, items: list[tuple[np.ndarray, str]]) -> int:
        draw.text((pad, y), heading, fill="black", font=font)
        y += 20
        for k, (img, label) in enumerate(items):
            x = pad + k * (tile + pad)
            canvas.paste(_tile(img, scale), (x, y))
            draw.text((x, y + tile + 2), label, fill="black", font=small)
        return y + tile + label_h

    y = 36
    embedding = [(trajectory[n], "input (n = 0)" if n == 0 else f"bin n = {n}") for n in bins]
    y = row(y, "training image and its score embedding x^n", embedding)
    y = row(y, "samples over training (same prior noise)", [(s, f"step {k}: {q:.2f}") for k, s, q in shown])
    y = row(
        y,
        "final samples (SSIM to the training image)",
        [(s, f"SSIM {_ssim(s, reference):.3f}") for s in final],
    )

    # SSIM curve
    x0, y0, w, h = pad + 40, y + 10, width - 2 * pad - 50, plot_h - 40
    draw.text((pad, y - 6), "mean SSIM of the samples vs training step", fill="black", font=font)
    draw.rectangle([x0, y0 + 10, x0 + w, y0 + 10 + h], outline="black")
    top = y0 + 10
    steps = [c["step"] for c in curve] or [0]
    smax = max(steps) or 1
    lo = min(0.0, *(c["ssim"] for c in curve)) if curve else 0.0

    def px(step: float, val: float) -> tuple[float, float]:
        return x0 + w * step / smax, top + h * (1.0 - (val - lo) / (1.0 - lo))

    for v in (lo, 0.5, target, 1.0):
        _, yy = px(0, v)
        draw.line([x0, yy, x0 + w, yy], fill=(200, 200, 200) if v != target else (220, 120, 120))
        draw.text((pad, yy - 6), f"{v:.2f}", fill="black", font=small)
    if len(curve) > 1:
        draw.line([px(c["step"], c["ssim"]) for c in curve], fill=(30, 90, 200), width=2)
    for c in curve:
        cx, cy = px(c["step"], c["ssim"])
        draw.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=(30, 90, 200))
    draw.text((x0, top + h + 4), "0", fill="black", font=small)
    draw.text((x0 + w - 40, top + h + 4), f"{int(smax)} steps", fill="black", font=small)
    canvas = canvas.crop((0, 0, width, top + h + 24))
    canvas.save(path, optimize=True)
    return path


def _ssim(sample: np.ndarray, reference: np.ndarray) -> float:
    from .metrics import ssim

    return ssim(sample, reference)
