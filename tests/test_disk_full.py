"""A full disk part-way through each writer: cache shards, the manifest, checkpoints, config.toml and
the metrics log. Each must fail with an error naming the file and the full disk, remove its partial
file, leave the previous good file as it was, and let the next run finish as if nothing happened."""

from __future__ import annotations

import builtins
import errno
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fpscore
from fpscore import _atomic

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from tiny import tiny_config  # noqa: E402

from fpscore.data.dataset import InMemoryDataset  # noqa: E402
from fpscore.training import trainer as trainer_module  # noqa: E402
from fpscore.training.checkpoint import checkpoint_dir, load_checkpoint  # noqa: E402
from fpscore.training.trainer import Trainer  # noqa: E402


class FullDisk:
    """A file on a disk that fills up: `whole` writes land, the next lands its first `partial` bytes
    (or characters), then every write fails with ENOSPC. raw: report a short write instead of
    raising on the partial one, as an unbuffered file does."""

    def __init__(self, f: Any, whole: int, partial: int = 7, raw: bool = False) -> None:
        self.f, self.whole, self.partial, self.raw, self.full = f, whole, partial, raw, False

    def write(self, data: Any) -> int:
        if not isinstance(data, str):
            data = memoryview(data).cast("B")
        if self.whole > 0:
            self.whole -= 1
            return self.f.write(data)
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.full = True
        self.f.write(data[: self.partial])
        self.f.flush()
        if self.raw:
            return self.partial
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)

    def __enter__(self) -> FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()


def fill_disk(
    monkeypatch: pytest.MonkeyPatch, module: Any, hit: Callable[[str], bool], nth: int = 1, **kw: Any
) -> None:
    """Make the `nth` file that `module` opens with a name for which hit(name) holds a FullDisk."""
    seen = [0]

    def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        f = builtins.open(file, *args, **kwargs)
        if hit(Path(file).name):
            seen[0] += 1
            if seen[0] == nth:
                return FullDisk(f, **kw)
        return f

    monkeypatch.setattr(module, "open", fake_open, raising=False)


def trajectories(n_images: int = 3, n_bins: int = 5) -> np.ndarray:
    yy, xx = np.mgrid[0:8, 0:8] / 8.0
    base = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * (xx * (k + 1) + yy)) for k in range(n_images)])[:, None]
    return np.stack([base + 0.01 * n for n in range(n_bins)]).astype(np.float32)


DATA = InMemoryDataset(trajectories(), sde=fpscore.VESDE(2.0))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


def metric_steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def same_weights(a: Trainer, b: Trainer) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Trainer:
    t = Trainer(tiny_config("train.checkpoint_every=2"), DATA, out_dir=tmp_path_factory.mktemp("ref"))
    t.train(4)
    return t


# -- checkpoints, config.toml, metrics ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "whole"),
    [(".ckpt-00000004.pt.tmp", 3), (".ckpt-00000004.pt.sha256.tmp", 0), (".latest.tmp", 0)],
)
def test_checkpoint_on_a_full_disk(tmp_path: Path, monkeypatch, uninterrupted, target, whole) -> None:
    cfg = tiny_config("train.checkpoint_every=2")
    Trainer(cfg, DATA, out_dir=tmp_path).train(2)
    before = {p.name: p.read_bytes() for p in checkpoint_dir(tmp_path).iterdir()}
    fill_disk(monkeypatch, _atomic, lambda name: name == target, whole=whole)
    trainer = Trainer(cfg, DATA, out_dir=tmp_path, resume=True)
    final = target.removeprefix(".").removesuffix(".tmp")
    with pytest.raises(OSError, match=rf"No space left on device writing \S*{final}") as err:
        trainer.train(4)
    assert err.value.errno == errno.ENOSPC
    after = {p.name: p.read_bytes() for p in checkpoint_dir(tmp_path).iterdir()}
    assert after == before and leftovers(tmp_path) == []  # nothing half written, nothing lost
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_checkpoint(tmp_path)[0]["step"] == 2
    monkeypatch.undo()
    resumed = Trainer(cfg, DATA, out_dir=tmp_path, resume=True)
    resumed.train(4)
    assert same_weights(resumed, uninterrupted) and metric_steps(tmp_path) == [1, 2, 3, 4]


def test_config_toml_on_a_full_disk(tmp_path: Path, monkeypatch) -> None:
    cfg = tiny_config("train.checkpoint_every=2")
    Trainer(cfg, DATA, out_dir=tmp_path).train(2)
    saved = (tmp_path / "config.toml").read_bytes()
    fill_disk(monkeypatch, _atomic, lambda name: name == ".config.toml.tmp", whole=0, partial=50)
    with pytest.raises(OSError, match=r"No space left on device writing \S*config.toml"):
        Trainer(tiny_config("train.checkpoint_every=3"), DATA, out_dir=tmp_path, resume=True).train(4)
    assert (tmp_path / "config.toml").read_bytes() == saved and leftovers(tmp_path) == []


def test_metrics_append_on_a_full_disk(tmp_path: Path, monkeypatch, uninterrupted) -> None:
    cfg = tiny_config("train.checkpoint_every=2")
    # the third line lands 7 bytes, then the disk is full: that half line must not stay
    fill_disk(monkeypatch, trainer_module, lambda name: name == "metrics.jsonl", whole=2, raw=True)
    with pytest.raises(OSError, match=r"No space left on device writing \S*metrics.jsonl"):
        Trainer(cfg, DATA, out_dir=tmp_path).train(4)
    assert metric_steps(tmp_path) == [1, 2]  # every line whole
    monkeypatch.undo()
    resumed = Trainer(cfg, DATA, out_dir=tmp_path, resume=True)
    resumed.train(4)
    assert same_weights(resumed, uninterrupted) and metric_steps(tmp_path) == [1, 2, 3, 4]


@pytest.mark.parametrize("torn", ['{"step": 3, "lo', ""])
def test_a_torn_last_metrics_line_is_dropped_on_resume(tmp_path: Path, uninterrupted, torn) -> None:
    # a crash mid-append leaves a half line, or a whole record without its newline (torn == "")
    cfg = tiny_config("train.checkpoint_every=2")
    Trainer(cfg, DATA, out_dir=tmp_path).train(2)
    log = tmp_path / "metrics.jsonl"
    text = log.read_text()
    log.write_text(text + torn if torn else text.removesuffix("\n"))
    resumed = Trainer(cfg, DATA, out_dir=tmp_path, resume=True)
    resumed.train(4)
    assert same_weights(resumed, uninterrupted) and metric_steps(tmp_path) == [1, 2, 3, 4]


# -- the embedding cache -----------------------------------------------------------------------------

IMAGES = np.random.default_rng(3).random((5, 1, 8, 8)).astype(np.float32)
FAST = {"n_steps": 2, "shard_size": 2, "progress": False}


def cache_files(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cache.iterdir()) if p.name != ".lock"}


@pytest.mark.parametrize(
    ("prefix", "nth", "listed"),
    [(".embedded_00001.npy.", 1, [0]), (".manifest.json.", 3, [0]), (".manifest.json.", 1, None)],
)
def test_cache_writes_on_a_full_disk(tmp_path: Path, monkeypatch, prefix, nth, listed) -> None:
    # the manifest after every shard, whatever the timing, so that its 3rd write follows shard 1
    monkeypatch.setattr("fpscore.embedding.precompute.MANIFEST_WRITE_RATIO", 0.0)
    fresh = tmp_path / "fresh"
    fpscore.precompute(IMAGES, fresh, fpscore.VESDE(2.0), **FAST)
    cache = tmp_path / "full"
    hit = lambda name: name.startswith(prefix) and name.endswith(".tmp")  # noqa: E731
    fill_disk(monkeypatch, _atomic, hit, nth=nth, whole=0, partial=100)
    final = prefix.strip(".")
    with pytest.raises(OSError, match=rf"No space left on device writing \S*{final}"):
        fpscore.precompute(IMAGES, cache, fpscore.VESDE(2.0), **FAST)
    assert leftovers(cache) == []
    if listed is None:  # the very first manifest: none there, a rerun starts over
        assert not (cache / "manifest.json").exists()
    else:
        manifest = json.loads((cache / "manifest.json").read_text())
        assert [e["index"] for e in manifest["shards"]] == listed and not manifest["complete"]
        for e in manifest["shards"]:  # what the manifest lists is whole
            assert (cache / e["embedded"]).read_bytes() == (fresh / e["embedded"]).read_bytes()
    monkeypatch.undo()
    summary = fpscore.precompute(IMAGES, cache, fpscore.VESDE(2.0), **FAST)
    assert summary.computed_shards == 3 - len(listed or [])
    assert cache_files(cache) == cache_files(fresh)
