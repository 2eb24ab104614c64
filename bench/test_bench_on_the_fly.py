"""Does embedding on the fly keep up with training? (`fpscore.data.on_the_fly.OnTheFlyDataset`,
docs/on-the-fly.md)

Group on_the_fly_{size}_{C}ch, at 32² and 64², 1 and 3 channels, a batch of 16 drawn from 64
image-like images, VESDE(σ = 2), N = 20 (the defaults of `PrecomputeParams`), on the CPU, one core
each for the trainer (torch threads) and the producer (solver threads), so the rates are per core:
- producer: one batch's trajectories (`draw_batch`, no prefetch) in one solver call;
  extra_info images_per_s = 16 / mean time;
- train_cached: one training step of the experiment's quick-preset U-Net (channels 32, (1, 2, 2),
  1 block, attention at 8×8, EDM preconditioning, DSM) on trajectories already in memory (what a
  cache gives); extra_info images_per_s = 16 / mean time;
- train_on_the_fly: the same step on an OnTheFlyDataset that embeds the next 2 batches in one
  background thread meanwhile (a second core when the machine has one); extra_info wait_fraction:
  the share of the step spent waiting for data.
It keeps up when train_on_the_fly's time matches train_cached's (wait_fraction near 0), which needs
the producer's rate per core to reach the trainer's. Where the CUDA backend and a GPU are present,
the solves and the training both run on the GPU instead (extra_info device).
bench/report_on_the_fly.py turns the JSON into the table of docs/on-the-fly.md.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

torch = pytest.importorskip("torch")

import fpscore  # noqa: E402
from fpscore.data.dataset import InMemoryDataset  # noqa: E402
from fpscore.data.on_the_fly import OnTheFlyDataset  # noqa: E402
from fpscore.evaluation.demo import SMALL_UNET  # noqa: E402
from fpscore.training.config import Config  # noqa: E402
from fpscore.training.trainer import Trainer  # noqa: E402

BATCH, IMAGES, SIGMA = 16, 64, 2.0
THREADS = 1  # per side: torch's for the trainer, the solver's for the producer
DEVICE = "cuda" if fpscore.has_cuda() and torch.cuda.is_available() else "cpu"
QUICK_UNET = [
    *SMALL_UNET,
    f"train.batch_size={BATCH}",
    "train.progress=false",
]
CASES = [
    pytest.param(size, c, id=f"{size}-{c}ch", marks=pytest.mark.benchmark(group=f"on_the_fly_{size}_{c}ch"))
    for size in (32, 64)
    for c in (1, 3)
]


@pytest.fixture(autouse=True)
def torch_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(threads)


def _dataset(size: int, channels: int, prefetch: int) -> OnTheFlyDataset:
    sde = fpscore.VESDE(SIGMA)
    return OnTheFlyDataset(_images(size, channels), sde, prefetch=prefetch, threads=THREADS, backend=DEVICE)


def _images(size: int, channels: int) -> np.ndarray:
    """Image-like values in [0, 1]: smoothed noise."""
    rng = np.random.default_rng(0)
    x = gaussian_filter(rng.random((IMAGES, channels, size, size)), (0, 0, 1.5, 1.5))
    return np.clip((x - x.min()) / (x.max() - x.min()), 0, 1).astype(np.float32)


def _trainer(dataset, size: int, channels: int, out) -> Trainer:
    shape = [f"model.image_size={size}", f"model.image_channels={channels}", f"train.device={DEVICE}"]
    cfg = Config().override([*QUICK_UNET, *shape])
    trainer = Trainer(cfg, dataset, out_dir=out)
    trainer.train_step()  # warm-up outside the timing: first-call allocations
    return trainer


@pytest.mark.parametrize(("size", "channels"), CASES)
def test_producer(benchmark, size: int, channels: int) -> None:
    otf = _dataset(size, channels, prefetch=0)
    steps = itertools.count()
    drawn = benchmark.pedantic(
        lambda: otf.draw_batch(next(steps), BATCH), rounds=3, iterations=1, warmup_rounds=1
    )
    assert drawn.trajectories.shape[1:] == (21, channels, size, size)
    assert torch.isfinite(drawn.trajectories).all()
    mean = benchmark.stats.stats.mean if benchmark.stats else float("nan")
    benchmark.extra_info.update(batch=BATCH, images_per_s=BATCH / mean, threads=otf.threads, device=DEVICE)


@pytest.mark.parametrize(("size", "channels"), CASES)
def test_train_cached(benchmark, tmp_path, size: int, channels: int) -> None:
    otf = _dataset(size, channels, prefetch=0)
    traj = otf.draw_batch(0, IMAGES).trajectories  # (U, N+1, C, H, W) of (most of) the images
    dataset = InMemoryDataset(traj.transpose(0, 1).numpy(), otf.times, sde=otf.sde)
    trainer = _trainer(dataset, size, channels, tmp_path)
    metrics = benchmark.pedantic(trainer.train_step, rounds=3, iterations=1, warmup_rounds=0)
    assert np.isfinite(metrics["loss"])
    mean = benchmark.stats.stats.mean if benchmark.stats else float("nan")
    benchmark.extra_info.update(
        batch=BATCH, images_per_s=BATCH / mean, torch_threads=torch.get_num_threads(), device=DEVICE
    )


@pytest.mark.parametrize(("size", "channels"), CASES)
def test_train_on_the_fly(benchmark, tmp_path, size: int, channels: int) -> None:
    otf = _dataset(size, channels, prefetch=2)
    trainer = _trainer(otf, size, channels, tmp_path)
    for _ in range(0 if benchmark.disabled else 3):  # past the head start of the first prefetches
        trainer.train_step()
    otf.wait_seconds = 0.0
    metrics = benchmark.pedantic(trainer.train_step, rounds=5, iterations=1, warmup_rounds=0)
    otf.close()
    assert np.isfinite(metrics["loss"])
    if benchmark.stats:
        times = benchmark.stats.stats.data
        benchmark.extra_info.update(
            images_per_s=BATCH * len(times) / sum(times), wait_fraction=otf.wait_seconds / sum(times)
        )
    benchmark.extra_info.update(batch=BATCH, prefetch=2, workers=1, device=DEVICE)
