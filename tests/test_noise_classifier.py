"""The noise-level classifier of Denoising MCMC: levels, training, checkpoint and command line."""

import math

import numpy as np
import pytest

import fpscore

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from fpscore.cli import main  # noqa: E402
from fpscore.training.noise_classifier import (  # noqa: E402
    CHECKPOINT_NAME,
    NoiseLevelClassifier,
    load_noise_classifier,
    noise_levels,
    noised_batch,
    train_noise_classifier,
)

SDE = fpscore.VESDE(25.0)


def smooth_images(n: int, size: int = 8, seed: int = 0) -> np.ndarray:
    """(n, 1, size, size) images in [0, 1]: random planar waves of low frequency."""
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    fx, fy = rng.uniform(-0.4, 0.4, (2, n, 1, 1))
    phase, amp = rng.uniform(0.0, 2 * np.pi, (n, 1, 1)), rng.uniform(0.1, 0.4, (n, 1, 1))
    return (0.5 + amp * np.sin(fx * i + fy * j + phase))[:, None].astype(np.float32)


def test_noise_levels_are_geometric_and_ascending():
    lv = noise_levels(0.01, 10.0, 4)
    assert lv.dtype == np.float64
    np.testing.assert_allclose(lv, [0.01, 0.1, 1.0, 10.0], rtol=1e-12)
    for bad in [(0.0, 1.0, 3), (1.0, 1.0, 3), (2.0, 1.0, 3), (0.1, 1.0, 1), (0.1, math.inf, 3)]:
        with pytest.raises(ValueError):
            noise_levels(*bad)
    with pytest.raises(TypeError):
        noise_levels(0.1, 1.0, 2.5)


def test_noised_batch_has_the_level_noise():
    """For a VESDE the noised image is x₀ + σ_k·z: the residual's std is σ_k."""
    lv = noise_levels(0.1, 2.0, 3)
    x0 = torch.full((3000, 1, 4, 4), 0.5, dtype=torch.float64)
    k = torch.arange(3).repeat(1000)
    y = noised_batch(x0, SDE, lv, k, torch.Generator().manual_seed(0))
    for level in range(3):
        std = float((y[k == level] - 0.5).std())
        assert std == pytest.approx(lv[level], rel=5 / math.sqrt(2 * 16000))


def test_classifier_shapes_and_input_check():
    model = NoiseLevelClassifier(3, noise_levels(0.1, 1.0, 5))
    assert model(torch.zeros(2, 3, 16, 16, dtype=torch.float64)).shape == (2, 5)
    assert model(torch.zeros(2, 3, 5, 7)).shape == (2, 5)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256]
    with pytest.raises(ValueError, match="classifier takes"):
        model(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="ascending"):
        NoiseLevelClassifier(1, [1.0, 0.5])


def test_trained_classifier_tells_the_level_within_one_bin(tmp_path):
    lv = noise_levels(0.02, 2.0, 6)
    model = train_noise_classifier(
        smooth_images(256), SDE, lv, steps=150, batch_size=64, lr=2e-3, seed=0, out_dir=tmp_path
    )
    gen = torch.Generator().manual_seed(123)
    fresh = torch.from_numpy(smooth_images(600, seed=1))
    k = torch.arange(6).repeat(100)
    with torch.no_grad():
        guess = model(noised_batch(fresh, SDE, lv, k, gen)).argmax(dim=1)
    assert float(((guess - k).abs() <= 1).double().mean()) > 0.8
    assert float((guess == k).double().mean()) > 0.6
    # The checkpoint holds the same classifier, and no temporary file is left.
    loaded = load_noise_classifier(tmp_path)
    np.testing.assert_array_equal(loaded.levels.numpy(), lv)
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_NAME]


def test_training_arguments_are_checked(tmp_path):
    images = smooth_images(4)
    lv = noise_levels(0.1, 1.0, 3)
    with pytest.raises(ValueError, match="above what the process reaches"):
        train_noise_classifier(images, SDE, noise_levels(0.1, 1e3, 3), steps=1)
    with pytest.raises(ValueError, match="steps"):
        train_noise_classifier(images, SDE, lv, steps=0)
    with pytest.raises(ValueError, match="dimensions"):
        train_noise_classifier(images[0], SDE, lv, steps=1)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a noise-classifier"):
        load_noise_classifier(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_noise_classifier(tmp_path / "missing.pt")


def test_cli_trains_and_writes_a_loadable_checkpoint(tmp_path, capsys):
    data = tmp_path / "images.npy"
    np.save(data, smooth_images(16))
    out = tmp_path / "clf"
    args = ["train-classifier", str(data), str(out), "--levels", "4", "--sigma-min", "0.05"]
    args += ["--sigma-max", "1", "--steps", "3", "--batch-size", "4", "--no-progress"]
    assert main(args) == 0
    assert "4 levels, 16 images" in capsys.readouterr().out
    model = load_noise_classifier(out / CHECKPOINT_NAME)
    np.testing.assert_allclose(model.levels.numpy(), noise_levels(0.05, 1.0, 4))
    assert model.image_channels == 1
    state = torch.load(out / CHECKPOINT_NAME, weights_only=True)
    assert state["sde"] == {"type": "VESDE", "sigma": 2.0} and state["steps"] == 3
    # A level the default process (VESDE(2), λ(1) ≈ 1.47) cannot reach, and a bad count: exit code 2.
    assert main([*args[:7], "--sigma-max", "5", "--steps", "1", "--no-progress"]) == 2
    assert main([*args, "--levels", "1"]) == 2
    assert "K must be >= 2" in capsys.readouterr().err
