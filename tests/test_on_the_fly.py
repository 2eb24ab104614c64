"""Embedding on the fly (`fpscore.data.on_the_fly.OnTheFlyDataset`): the items and training batches
equal what a cache of the same images and parameters stores, to the stored precision; the batches
do not depend on the thread or worker count; training through the config and the CLI runs and
resumes exactly."""

import json
import pickle

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import fpscore

torch = pytest.importorskip("torch")
pytest.importorskip("ot")
pytestmark = pytest.mark.torch

from tiny import TINY, tiny_config  # noqa: E402

from fpscore.cli import main  # noqa: E402
from fpscore.data.dataset import EmbeddedDataset  # noqa: E402
from fpscore.data.on_the_fly import OnTheFlyDataset, params_from_manifest  # noqa: E402
from fpscore.data.training import TrainingImages  # noqa: E402
from fpscore.embedding.params import PrecomputeParams  # noqa: E402
from fpscore.embedding.precompute import precompute  # noqa: E402
from fpscore.training.config import Config  # noqa: E402
from fpscore.training.trainer import Trainer  # noqa: E402

SDES = {"ve": fpscore.VESDE(2.0), "vp": fpscore.VPSDE(0.1, 5.0)}  # VP: a drift factor aₙ ≠ 1


def smooth_images(n=7, channels=2, size=12, seed=0):
    """Image-like values in [0, 1], some clipped at 0 and 1."""
    rng = np.random.default_rng(seed)
    x = gaussian_filter(rng.random((n, channels, size, size)), (0, 0, 1, 1)) * 1.5 - 0.2
    return np.clip(x, 0, 1).astype(np.float32)


def cache_of(tmp_path, images, sde, **options):
    """A cache of `images` (shards of 3 images: other solver batches than on the fly's)."""
    precompute(images, tmp_path / "cache", sde, n_steps=6, shard_size=3, progress=False, **options)
    return EmbeddedDataset(tmp_path / "cache")


def assert_within_ulp(actual, expected, dtype):
    """Equal to within one unit in the last place of `dtype` at the values' scale (the largest |x|):
    the precision a cache stores."""
    e = np.asarray(expected, dtype=np.float64)
    unit = float(np.spacing(np.abs(e).max().astype(dtype)))
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), e, rtol=0, atol=unit)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("kind", ["ve", "vp"])
def test_items_equal_the_cache(tmp_path, dtype, kind):
    images = smooth_images()
    cache = cache_of(tmp_path, images, SDES[kind], dtype=dtype)
    otf = OnTheFlyDataset(images, cache.sde, cache.cache.parameters, prefetch=0)
    assert len(otf) == len(cache) and otf.bins == cache.bins
    np.testing.assert_array_equal(otf.times, cache.times)
    for k in range(len(cache)):
        x, n, i = otf[k]
        ref, n_ref, i_ref = cache[k]
        assert (n, i) == (n_ref, i_ref) and x.dtype == torch.float32
        assert_within_ulp(x.numpy(), ref.numpy(), dtype)
    # the values really are rounded to the stored dtype (float16 has 11 significant bits)
    x = np.stack([otf[k][0].numpy() for k in range(len(otf))])
    np.testing.assert_array_equal(x, x.astype(dtype).astype(np.float32))


@pytest.mark.parametrize("storage", [{"store_every": 4}, {"store_levels": [0, 1, 5]}])
def test_stored_levels_equal_the_cache(tmp_path, storage):
    """A cache of some time levels only: on the fly serves the same levels as bins 0..L-1."""
    images = smooth_images(n=4)
    cache = cache_of(tmp_path, images, SDES["vp"], **storage)
    otf = OnTheFlyDataset(images, cache.sde, cache.cache.parameters, prefetch=0)
    assert otf.levels == cache.cache.levels and otf.bins == cache.bins and len(otf) == len(cache)
    np.testing.assert_array_equal(otf.times, cache.times)
    for k in range(len(cache)):
        assert_within_ulp(otf[k][0].numpy(), cache[k][0].numpy(), "float32")
    drawn = otf.draw_batch(0, 5)
    assert drawn.trajectories.shape[1] == len(cache.bins)


@pytest.mark.parametrize(("kind", "strength"), [("ve", 1.0), ("vp", 1.0), ("vp", 0.5), ("ve", 0.0)])
def test_training_batches_equal_the_cache(tmp_path, kind, strength):
    """TrainingImages.batch on the fly = TrainingImages over the cache called with the same image
    indices and times (x̂ⁿ with the drift factor and the strength applied alike)."""
    images = smooth_images()
    cache = cache_of(tmp_path, images, SDES[kind])
    otf = OnTheFlyDataset(images, cache.sde, cache.cache.parameters, seed=5, workers=2, threads=2)
    fly = TrainingImages(otf, None, cache.sde, strength, t_min=0.01)
    ref = TrainingImages(cache, None, cache.sde, strength, t_min=0.01)
    g_fly, g_ref = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for step in range(4):
        x, t = fly.batch(10, g_fly)  # steps 0, 1, ... in turn when not given
        t_ref = ref.sample_times(10, g_ref)
        indices = torch.from_numpy(np.random.default_rng([5, step]).integers(len(images), size=10))
        torch.testing.assert_close(t, t_ref, rtol=0, atol=0)
        assert_within_ulp(x.numpy(), ref(indices, t_ref).numpy(), "float32")
    otf.close()


def test_control_needs_no_solve(tmp_path):
    """strength 0 (scores_zero) serves x⁰ from the images themselves: bin 0 of the cache."""
    images = smooth_images()
    cache = cache_of(tmp_path, images, SDES["ve"], dtype="float16")
    otf = OnTheFlyDataset(images, cache.sde, cache.cache.parameters, prefetch=0)
    drawn = otf.draw_batch(2, 9, embed=False)
    assert drawn.trajectories.shape[1] == 1
    for j, i in enumerate(drawn.images.tolist()):
        np.testing.assert_array_equal(drawn.image(j, 0).numpy(), cache[i * len(cache.bins)][0].numpy())


def test_batches_do_not_depend_on_threads_workers_or_order():
    images = smooth_images(n=9, channels=1)
    sde = SDES["vp"]
    params = PrecomputeParams(n_steps=5)
    one = OnTheFlyDataset(images, sde, params, seed=11, threads=1, workers=1, prefetch=0)
    three = OnTheFlyDataset(images, sde, params, seed=11, threads=3, workers=3, prefetch=3)
    ours = [one.draw_batch(s, 6) for s in range(5)]
    theirs = [three.draw_batch(s, 6) for s in (3, 0, 1, 2, 4)]  # a jump, as a resumed run makes
    theirs = [theirs[1], theirs[2], theirs[3], theirs[0], theirs[4]]
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a.images, b.images) and torch.equal(a.rows, b.rows)
        assert torch.equal(a.trajectories, b.trajectories)
    three.close()
    assert torch.equal(three.draw_batch(1, 6).trajectories, ours[1].trajectories)  # a new pool after close
    # a process's part of the batch (several processes sharing one): those samples of the whole
    half = three.draw_batch(2, 6, part=slice(3, 6))
    assert torch.equal(half.images, ours[2].images[3:])
    for j in range(3):
        assert torch.equal(half.image(j, 4), ours[2].image(j + 3, 4))
    three.close()
    data = TrainingImages(one, None, sde, 1.0)
    x, t = data.batch(6, torch.Generator().manual_seed(1), step=3)
    x_part, t_part = data.batch(6, torch.Generator().manual_seed(1), slice(2, 5), step=3)
    assert torch.equal(x_part, x[2:5]) and torch.equal(t_part, t[2:5])


def test_index_stream():
    images = smooth_images(n=50, channels=1, size=6)
    otf = OnTheFlyDataset(images, SDES["ve"], prefetch=0, seed=7)
    first = otf.batch_images(0, 200)
    np.testing.assert_array_equal(first, np.random.default_rng([7, 0]).integers(50, size=200))
    np.testing.assert_array_equal(first, otf.batch_images(0, 200))
    assert not np.array_equal(first, otf.batch_images(1, 200))
    assert set(first.tolist()) <= set(range(50)) and len(set(first.tolist())) > 40
    drawn = otf.draw_batch(0, 8)
    np.testing.assert_array_equal(drawn.images.numpy(), first[:8])
    np.testing.assert_array_equal(drawn.trajectories[drawn.rows][:, 0].numpy(), images[first[:8]])


def test_pickled_copy_serves_the_same_items():
    """A DataLoader worker's copy: no pool, lock or kept trajectories travel; the items agree."""
    images = smooth_images(n=3, channels=1)
    otf = OnTheFlyDataset(images, SDES["ve"], PrecomputeParams(n_steps=4), prefetch=1)
    otf.draw_batch(0, 4)
    copy = pickle.loads(pickle.dumps(otf))
    for k in (0, 3, 7, 14):
        assert torch.equal(copy[k][0], otf[k][0])
    otf.close()


def test_solver_failure_names_the_step():
    images = smooth_images(n=3, channels=1)
    # one fixed-point iteration cannot reach tol 1e-14
    otf = OnTheFlyDataset(images, SDES["ve"], PrecomputeParams(n_steps=3, max_iter=1, tol=1e-14), prefetch=1)
    with pytest.raises(fpscore.ConvergenceError, match="step 4"):
        otf.draw_batch(4, 2)
    otf.close()


def test_bad_arguments(tmp_path):
    images = smooth_images(n=2, channels=1)
    sde = SDES["ve"]
    np.save(tmp_path / "images.npy", images)
    with pytest.raises(TypeError, match="lazy=False"):
        OnTheFlyDataset(fpscore.data.load(tmp_path / "images.npy", lazy=True), sde)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        OnTheFlyDataset(images * 2, sde)
    with pytest.raises(ValueError, match="M, C, H, W"):
        OnTheFlyDataset(images[0], sde)
    with pytest.raises(TypeError, match="sde"):
        OnTheFlyDataset(images, "ve")
    with pytest.raises(TypeError, match="seed"):
        OnTheFlyDataset(images, sde, seed=1.5)
    with pytest.raises(ValueError, match="workers"):
        OnTheFlyDataset(images, sde, workers=0)
    with pytest.raises(ValueError, match="prefetch"):
        OnTheFlyDataset(images, sde, prefetch=-1)
    with pytest.raises(ValueError, match="backend"):
        OnTheFlyDataset(images, sde, backend="tpu")
    params = PrecomputeParams().manifest(sde)
    assert params_from_manifest(params) == PrecomputeParams()
    with pytest.raises(ValueError, match="n_step"):
        OnTheFlyDataset(images, sde, {**params, "n_step": 3})
    otf = OnTheFlyDataset(images, sde, prefetch=0)
    with pytest.raises(ValueError, match="batch"):
        otf.draw_batch(0, 0)
    with pytest.raises(ValueError, match="step"):
        otf.draw_batch(-1, 2)
    with pytest.raises(IndexError):
        otf[len(otf)]


def test_config_errors():
    with pytest.raises(ValueError, match="not both"):
        Config().override(["data.cache=c", "data.source=s"])
    with pytest.raises(ValueError, match=r"data\.embedding.*n_step"):
        Config().override(["data.source=s", "data.embedding={n_step = 3}"])
    with pytest.raises(ValueError, match=r"data\.embedding.*n_steps"):
        Config().override(["data.source=s", "data.embedding={n_steps = 0}"])
    with pytest.raises(TypeError, match=r"data\.source_options must be a table"):
        Config().override(["data.source=s", "data.source_options=3"])
    with pytest.raises(ValueError, match=r"only used with data\.source"):
        Config().override(["data.embedding={n_steps = 3}"])
    cfg = Config().override(["data.source=s", 'data.embedding={n_steps = 3, dtype = "float16"}'])
    assert Config.from_dict(json.loads(cfg.to_json())).data == cfg.data  # and through TOML:
    import tomllib

    assert Config.from_dict(tomllib.loads(cfg.to_toml())).data.embedding == {"n_steps": 3, "dtype": "float16"}


def _weights(run_dir):
    from fpscore.training.checkpoint import load_checkpoint

    state, _ = load_checkpoint(run_dir)
    return state["model"], state["step"]


def test_cli_trains_and_resumes_exactly(tmp_path, capsys):
    np.save(tmp_path / "images.npy", smooth_images(n=6, channels=1, size=8))
    source = str(tmp_path / "images.npy")
    sets = [f"--set={s}" for s in TINY if not s.startswith("model.image")]
    sets += ["--set=data.embedding={n_steps = 4}", "--set=train.checkpoint_every=2"]

    def train(out, steps, *extra):
        args = ["--on-the-fly", source, "--out", str(out), "--steps", str(steps)]
        return main(["train", *args, *sets, *extra])

    assert train(tmp_path / "whole", 4) == 0
    assert train(tmp_path / "split", 2) == 0
    assert train(tmp_path / "split", 4, "--resume", "--embed-threads", "1") == 0
    whole, split = _weights(tmp_path / "whole"), _weights(tmp_path / "split")
    assert whole[1] == split[1] == 4
    for name, value in whole[0].items():
        assert torch.equal(value, split[0][name]), name
    lines = (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]
    capsys.readouterr()
    assert main(["train", "--on-the-fly", source, "--set=data.source_options={split = 'train'}"]) == 2
    assert "data.source_options ['split'] do not apply" in capsys.readouterr().err
    assert main(["train", "--on-the-fly", source, "--cache", str(tmp_path), "--dry-run"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["train", "--cache", str(tmp_path / "none"), "--embed-threads", "2"]) == 2
    assert "--embed-threads is for --on-the-fly" in capsys.readouterr().err
    assert main(["train", "--on-the-fly", source, "--set=data.source_options={size = 16}", "--dry-run"]) == 0
    resolved = capsys.readouterr().out
    assert "image_size = 16" in resolved and "image_channels = 1" in resolved


def test_trainer_refuses_other_images_on_resume(tmp_path):
    images = smooth_images(n=4, channels=1, size=8)
    cfg = tiny_config("train.checkpoint_every=1", "data.source=unused")
    otf = OnTheFlyDataset(images, SDES["ve"], PrecomputeParams(n_steps=3), prefetch=0)
    Trainer(cfg, otf, out_dir=tmp_path / "run").train(1)
    other = OnTheFlyDataset(images[::-1].copy(), SDES["ve"], PrecomputeParams(n_steps=3), prefetch=0)
    with pytest.raises(ValueError, match="training data"):
        Trainer(cfg, other, out_dir=tmp_path / "run", resume=True)
