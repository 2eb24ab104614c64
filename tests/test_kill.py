"""SIGKILL at chosen points of the cache and checkpoint writers, and between them.

A child process runs the pre-computation or the training with `os.replace` wrapped so that it kills
itself right before (the temporary file complete, not yet renamed) or right after (renamed, nothing
after it done) the n-th rename onto a given name, or at a given training step. The parent then checks
that nothing the child had reported written (shards in the manifest, the checkpoint `latest` names)
is lost, that no partial file is read, and that the resumed run ends bit-identical to an
uninterrupted one. No timing is involved: the child kills itself at the chosen point.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import fpscore

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from tiny import tiny_config  # noqa: E402

from fpscore.data.dataset import EmbeddedDataset, InMemoryDataset  # noqa: E402
from fpscore.training.checkpoint import LATEST, checkpoint_dir  # noqa: E402
from fpscore.training.trainer import Trainer  # noqa: E402

TESTS = Path(__file__).resolve().parent
IMAGES = np.random.default_rng(4).random((5, 1, 8, 8)).astype(np.float32)
FAST = {"n_steps": 2, "shard_size": 2, "progress": False}  # 3 shards: images 0-1, 2-3, 4
CONFIG = ("train.checkpoint_every=2", "train.keep=1")  # checkpoints at steps 2, 4, 6
STEPS = 6


def dataset() -> InMemoryDataset:
    yy, xx = np.mgrid[0:8, 0:8] / 8.0
    base = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * (xx * (k + 1) + yy)) for k in range(3)])[:, None]
    traj = np.stack([base + 0.01 * n for n in range(5)]).astype(np.float32)
    return InMemoryDataset(traj, sde=fpscore.VESDE(2.0))


# -- the child ---------------------------------------------------------------------------------------


def child(work: str, target: str, kill: str) -> None:
    """Run `work` ("precompute" or "train") into `target`, SIGKILLing this process at `kill`:
    "before:NAME:N" / "after:NAME:N" around the N-th os.replace onto NAME, or "step:N"."""
    when, *spec = kill.split(":")
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)  # noqa: E731
    if when in ("before", "after"):
        name, nth = spec[0], int(spec[1])
        real, seen = os.replace, [0]

        def replace(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
            hit = os.path.basename(dst) == name
            seen[0] += hit
            if hit and seen[0] == nth and when == "before":
                die()
            real(src, dst, *args, **kwargs)
            if hit and seen[0] == nth and when == "after":
                die()

        os.replace = replace  # type: ignore[assignment]
    torch.set_num_threads(1)
    if work == "precompute":
        # the manifest after every shard whatever the timing, so the n-th write is the one named
        fpscore.embedding.precompute.MANIFEST_WRITE_RATIO = 0.0
        fpscore.precompute(IMAGES, target, fpscore.VESDE(2.0), **FAST)
    else:
        stop_at = int(spec[0]) if when == "step" else -1
        callback = lambda trainer, metrics: die() if trainer.step == stop_at else None  # noqa: E731
        Trainer(tiny_config(*CONFIG), dataset(), out_dir=target).train(STEPS, callback=callback)
    raise SystemExit("the child was not killed")


def run_killed(work: str, target: Path, kill: str) -> None:
    code = f"import sys; sys.path.insert(0, {str(TESTS)!r}); import test_kill; test_kill.child(*sys.argv[1:])"
    proc = subprocess.run(
        [sys.executable, "-c", code, work, str(target), kill], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- the cache ---------------------------------------------------------------------------------------


def files(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cache.iterdir()) if p.name != ".lock"}


@pytest.fixture(scope="module")
def fresh_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("fresh")
    fpscore.precompute(IMAGES, cache, fpscore.VESDE(2.0), **FAST)
    return cache


@pytest.mark.parametrize(
    "kill",
    [
        "before:embedded_00001.npy:1",  # shard 1's temporary file complete, not renamed
        "after:embedded_00001.npy:1",  # shard 1 in place, the manifest not yet listing it
        "before:manifest.json:3",  # the manifest listing shard 1 written, not renamed
        "after:manifest.json:2",  # between shards: shard 0 listed, shard 1 not begun
        "after:manifest.json:4",  # all listed, before the lock is released
    ],
)
def test_precompute_killed(tmp_path: Path, fresh_cache: Path, kill: str) -> None:
    cache = tmp_path / "cache"
    run_killed("precompute", cache, kill)
    manifest = json.loads((cache / "manifest.json").read_text())
    listed = {e["index"]: (cache / e["embedded"]).read_bytes() for e in manifest["shards"]}
    if not manifest["complete"]:
        with pytest.raises(ValueError, match="incomplete"):  # a partial cache is never read
            EmbeddedDataset(cache)
    summary = fpscore.precompute(IMAGES, cache, fpscore.VESDE(2.0), **FAST)
    assert summary.computed_shards == 3 - len(listed)  # what was listed is kept, not recomputed
    for index, content in listed.items():
        assert (cache / f"embedded_{index:05d}.npy").read_bytes() == content
    assert files(cache) == files(fresh_cache)  # bit-identical, no temporary file left
    assert len(EmbeddedDataset(cache)) == len(EmbeddedDataset(fresh_cache))


# -- checkpoints -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trainer, list[dict]]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("ref")
    trainer = Trainer(tiny_config(*CONFIG), dataset(), out_dir=run)
    trainer.train(STEPS)
    torch.set_num_threads(threads)
    return trainer, metrics(run)


def metrics(run: Path) -> list[dict]:
    """The metrics records without the wall-clock entries."""
    out = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        out.append({k: v for k, v in record.items() if k not in ("train_seconds", "steps_per_s")})
    return out


@pytest.mark.parametrize(
    ("kill", "resumes_at"),
    [
        ("before:ckpt-00000004.pt:1", 2),  # its temporary file complete, not renamed
        ("after:ckpt-00000004.pt:1", 2),  # in place without its checksum
        ("after:ckpt-00000004.pt.sha256:1", 2),  # complete, `latest` still naming step 2
        ("before:latest:2", 2),  # the new `latest` written, not renamed
        ("after:latest:2", 4),  # `latest` names step 4, step 2 not yet rotated out
        ("step:5", 4),  # between checkpoints, step 5's metrics written
    ],
)
def test_training_killed(tmp_path: Path, one_thread, uninterrupted, kill: str, resumes_at: int) -> None:
    run_killed("train", tmp_path, kill)
    pointer = (checkpoint_dir(tmp_path) / LATEST).read_text().strip()
    assert pointer == f"ckpt-{resumes_at:08d}.pt"  # what `latest` named when the child died
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no damaged file is tried, or read
        resumed = Trainer(tiny_config(*CONFIG), dataset(), out_dir=tmp_path, resume=True)
    assert resumed.step == resumes_at
    resumed.train(STEPS)
    reference, ref_metrics = uninterrupted
    for mine, theirs in ((resumed.model, reference.model), (resumed.ema.module, reference.ema.module)):
        a, b = mine.state_dict(), theirs.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert metrics(tmp_path) == ref_metrics  # every step once, the same values
    names = sorted(p.name for p in checkpoint_dir(tmp_path).iterdir())
    assert names == ["ckpt-00000006.pt", "ckpt-00000006.pt.sha256", LATEST]
