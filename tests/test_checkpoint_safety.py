"""Checkpoints that survive the unusual paths: saving after loading an older checkpoint, the CUDA random
state, a data set without an SDE. Tiny models, CPU only."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import fpscore

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from tiny import tiny_config  # noqa: E402

from fpscore.data.dataset import InMemoryDataset  # noqa: E402
from fpscore.training import trainer as trainer_module  # noqa: E402
from fpscore.training.checkpoint import (  # noqa: E402
    LATEST,
    checkpoint_dir,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from fpscore.training.trainer import Trainer  # noqa: E402


def state(step: int) -> dict:
    return {
        "model": {"w": torch.full((2,), float(step))},
        "ema": {},
        "optimizer": {},
        "step": step,
        "rng": {},
        "config": {},
        "fpscore_version": "test",
    }


def trajectories(n_images: int = 3, n_bins: int = 5) -> np.ndarray:
    yy, xx = np.mgrid[0:8, 0:8] / 8.0
    base = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * (xx * (k + 1) + yy)) for k in range(n_images)])[:, None]
    return np.stack([base + 0.01 * n for n in range(n_bins)]).astype(np.float32)


# -- rotation ----------------------------------------------------------------------------------------


def test_saving_an_older_step_keeps_the_file_just_written(tmp_path: Path) -> None:
    # A run resumed from an older checkpoint (path=..., or the newer ones damaged) writes steps below
    # those already there. Rotating by step number deleted the file just written, left `latest`
    # naming a missing file, and the next load silently resumed from the abandoned newer branch.
    for step in (10, 20, 30):
        save_checkpoint(tmp_path, state(step), keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt-00000020.pt", "ckpt-00000030.pt"]
    written = save_checkpoint(tmp_path, state(21), keep=2)
    assert written.is_file() and written.with_name(written.name + ".sha256").is_file()
    pointer = (checkpoint_dir(tmp_path) / LATEST).read_text().strip()
    assert pointer == written.name and (checkpoint_dir(tmp_path) / pointer).is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded, used = load_checkpoint(tmp_path)
    assert used == written and loaded["step"] == 21
    # write order, not step order: the branch's next save drops the abandoned step 30, not step 21
    save_checkpoint(tmp_path, state(22), keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt-00000021.pt", "ckpt-00000022.pt"]
    assert load_checkpoint(tmp_path)[0]["step"] == 22


def test_rotation_in_order_keeps_the_newest(tmp_path: Path) -> None:
    for step in range(1, 7):
        save_checkpoint(tmp_path, state(step), keep=3)
    assert [int(p.name[5:13]) for p in list_checkpoints(tmp_path)] == [4, 5, 6]
    save_checkpoint(tmp_path, state(6), keep=1)  # the same step again: replaced, the rest rotated out
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt-00000006.pt"]
    assert load_checkpoint(tmp_path)[0]["step"] == 6


# -- CUDA random state -------------------------------------------------------------------------------


class FakeCuda:
    """torch.cuda as a machine with `devices` GPUs in use: its random states, set_rng_state_all recorded."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, devices: int, seed: int) -> None:
        self.states = [torch.tensor([seed, d], dtype=torch.uint8) for d in range(devices)]
        self.restored: list[list[torch.Tensor]] = []
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: devices)
        monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [s.clone() for s in self.states])
        monkeypatch.setattr(torch.cuda, "set_rng_state_all", lambda s: self.restored.append(list(s)))


def test_checkpoints_save_and_restore_the_cuda_random_state(tmp_path: Path, monkeypatch) -> None:
    ds = InMemoryDataset(trajectories(), sde=fpscore.VESDE(2.0))
    fake = FakeCuda(monkeypatch, devices=2, seed=7)
    Trainer(tiny_config("train.steps=2"), ds, out_dir=tmp_path).train()
    saved, _ = load_checkpoint(tmp_path)
    assert [s.tolist() for s in saved["rng"]["cuda"]] == [[7, 0], [7, 1]]

    fake = FakeCuda(monkeypatch, devices=2, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(tiny_config("train.steps=2"), ds, out_dir=tmp_path, resume=True)
    assert len(fake.restored) == 1 and [s.tolist() for s in fake.restored[0]] == [[7, 0], [7, 1]]

    fake = FakeCuda(monkeypatch, devices=1, seed=9)  # another machine: warned, not restored
    with pytest.warns(RuntimeWarning, match="2 CUDA device"):
        Trainer(tiny_config("train.steps=2"), ds, out_dir=tmp_path, resume=True)
    assert fake.restored == []


def test_checkpoints_without_cuda_state_still_load(tmp_path: Path, monkeypatch) -> None:
    ds = InMemoryDataset(trajectories(), sde=fpscore.VESDE(2.0))
    Trainer(tiny_config("train.steps=2"), ds, out_dir=tmp_path).train()  # no CUDA in use: no state
    assert "cuda" not in load_checkpoint(tmp_path)[0]["rng"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Trainer(tiny_config("train.steps=2"), ds, out_dir=tmp_path, resume=True).step == 2
    fake = FakeCuda(monkeypatch, devices=1, seed=3)  # an old checkpoint resumed on a GPU: warned
    with pytest.warns(RuntimeWarning, match="no CUDA random state"):
        assert Trainer(tiny_config("train.steps=2"), ds, out_dir=tmp_path, resume=True).step == 2
    assert fake.restored == []
    assert trainer_module._cuda_in_use()


# -- the SDE of the data -----------------------------------------------------------------------------


class ForeignCacheDataset(InMemoryDataset):
    """A cache-backed dataset whose manifest records no SDE (a broken or foreign cache)."""

    manifest: ClassVar[dict] = {"parameters": {}, "data": {}, "times": [0.0, 0.25, 0.5, 0.75, 1.0]}


def test_embedded_data_without_an_sde_is_not_trained_silently(tmp_path: Path) -> None:
    traj = trajectories()
    with pytest.warns(UserWarning, match="records no SDE"):  # embedded trajectories, SDE a guess
        Trainer(tiny_config(), InMemoryDataset(traj), out_dir=tmp_path / "a")
    with pytest.raises(ValueError, match="manifest records no SDE"):
        Trainer(tiny_config(), ForeignCacheDataset(traj), out_dir=tmp_path / "b")
    with pytest.raises(ValueError, match="differs from the SDE the dataset was embedded with"):
        Trainer(tiny_config(), InMemoryDataset(traj, sde=fpscore.VESDE(2.0)), sde=fpscore.VESDE(3.0))
    with warnings.catch_warnings():  # the control arm and an explicit SDE need no SDE in the data
        warnings.simplefilter("error")
        Trainer(tiny_config("data.scores_zero=true"), InMemoryDataset(traj), out_dir=tmp_path / "c")
        single = InMemoryDataset(traj[:1], [0.0])
        Trainer(tiny_config("data.scores_zero=true"), single, times=[0.0, 1.0], out_dir=tmp_path / "d")
        t = Trainer(tiny_config(), InMemoryDataset(traj), sde=fpscore.VESDE(3.0), out_dir=tmp_path / "e")
        assert t.sde.to_dict() == {"type": "VESDE", "sigma": 3.0}


def test_a_cache_without_an_sde_is_refused(tmp_path: Path) -> None:
    import json

    from fpscore.data.dataset import EmbeddedDataset

    images = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    fpscore.precompute(images, tmp_path, fpscore.VESDE(2.0), n_steps=2, shard_size=2, progress=False)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    del manifest["parameters"]["sde"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="records no SDE"):
        EmbeddedDataset(tmp_path)


def test_a_save_removes_temporary_files_a_killed_save_left(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, state(2), keep=2)
    d = checkpoint_dir(tmp_path)
    debris = [".ckpt-00000004.pt.tmp", ".ckpt-00000004.pt.sha256.tmp", ".latest.tmp"]
    for name in debris:
        (d / name).write_bytes(b"half")
    (d / "notes.tmp").write_bytes(b"not ours")
    save_checkpoint(tmp_path, state(3), keep=2)
    kept = {f"ckpt-0000000{s}.pt{x}" for s in (2, 3) for x in ("", ".sha256")} | {LATEST, "notes.tmp"}
    assert {p.name for p in d.iterdir()} == kept
