"""Compact caches: a subset of the time levels (store_every, store_levels) and float16. What such a
cache serves must equal the full float64 computation at the stored levels, rounded to the stored
dtype; training reads it on the coarser time grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fpscore
from fpscore.embedding.params import PrecomputeParams

IMAGES = np.random.default_rng(8).random((5, 1, 8, 8)).astype(np.float32)
OPTIONS = {"n_steps": 6, "shard_size": 2, "progress": False, "store_scores": True}
SDE = fpscore.VESDE(3.0)


@pytest.fixture(scope="module")
def full64(tmp_path_factory: pytest.TempPathFactory) -> fpscore.EmbeddingCache:
    cache = tmp_path_factory.mktemp("full") / "c"
    fpscore.precompute(IMAGES, cache, SDE, dtype="float64", **OPTIONS)
    return fpscore.open_cache(cache)


@pytest.mark.parametrize(
    ("options", "levels"),
    [
        ({"store_every": 2}, [0, 2, 4, 6]),
        ({"store_every": 4}, [0, 4, 6]),
        ({"store_levels": [5, 0, 1]}, [0, 1, 5]),
    ],
)
def test_stored_levels_are_the_full_trajectory_there(tmp_path: Path, full64, options, levels) -> None:
    fpscore.precompute(IMAGES, tmp_path / "c", SDE, **OPTIONS, **options)
    cache = fpscore.open_cache(tmp_path / "c")
    assert cache.levels == levels and cache.num_bins == len(levels)
    np.testing.assert_array_equal(cache.times, np.linspace(0.0, 1.0, 7)[levels])
    assert cache.manifest["parameters"]["store_levels"] == levels
    for i in range(len(IMAGES)):
        np.testing.assert_array_equal(cache.trajectory(i), full64.trajectory(i)[levels].astype(np.float32))
        np.testing.assert_array_equal(cache.score(i), full64.score(i)[levels].astype(np.float32))
    np.testing.assert_array_equal(cache.trajectory(3)[0], IMAGES[3])  # level 0: the image itself


def test_every_level_is_recorded_as_before(tmp_path: Path) -> None:
    fpscore.precompute(IMAGES, tmp_path / "c", SDE, store_every=1, **OPTIONS)
    cache = fpscore.open_cache(tmp_path / "c")
    assert "store_levels" not in cache.parameters and cache.levels == list(range(7))


def test_float16_is_the_float64_result_rounded(tmp_path: Path, full64) -> None:
    fpscore.precompute(IMAGES, tmp_path / "c", SDE, dtype="float16", **OPTIONS)
    cache = fpscore.open_cache(tmp_path / "c")
    for i in range(len(IMAGES)):
        x64 = np.asarray(full64.trajectory(i))
        x16 = cache.trajectory(i)
        assert x16.dtype == np.float16
        np.testing.assert_array_equal(x16, x64.astype(np.float16))
        # round to nearest: half an ulp, 2⁻¹¹ relative for normal numbers
        err = np.abs(x16.astype(np.float64) - x64)
        assert np.all(err <= np.maximum(np.abs(x64) * 2.0**-11, 2.0**-25))


def test_bad_levels_are_refused() -> None:
    for bad in ([1, 2], [0, 0, 3], [0, 7], [], [0, -1]):
        with pytest.raises(ValueError, match="store_levels"):
            PrecomputeParams(n_steps=6, store_levels=bad)
    for bad in ("0,2", [0, 1.5], [0, True], 3):
        with pytest.raises(TypeError, match="store_levels"):
            PrecomputeParams(n_steps=6, store_levels=bad)
    with pytest.raises(ValueError, match="not both"):
        PrecomputeParams(store_every=2, store_levels=[0, 1])
    for bad in (0, -2):
        with pytest.raises(ValueError, match="store_every"):
            PrecomputeParams(store_every=bad)


def test_training_reads_the_stored_levels(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from tiny import tiny_config

    from fpscore.data.training import TrainingImages

    fpscore.precompute(IMAGES, tmp_path / "c", SDE, store_every=3, **OPTIONS)
    data = fpscore.EmbeddedDataset(tmp_path / "c")
    np.testing.assert_array_equal(data.times, [0.0, 0.5, 1.0])
    images = TrainingImages(data, None, SDE)
    t = torch.tensor([0.1, 0.3, 0.74, 0.9], dtype=torch.float64)
    assert images.bins(t).tolist() == [0, 1, 1, 2]  # nearest stored time
    x = images(torch.tensor([0, 1, 2, 4]), t)
    cache = fpscore.open_cache(tmp_path / "c")
    for row, (i, n) in enumerate([(0, 0), (1, 1), (2, 1), (4, 2)]):
        np.testing.assert_array_equal(x[row].numpy(), cache.trajectory(i)[n])
    trainer = fpscore.Trainer(tiny_config("train.steps=2"), data, out_dir=tmp_path / "run")
    metrics = trainer.train()
    assert np.isfinite(metrics["loss"])
