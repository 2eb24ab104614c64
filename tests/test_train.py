"""The trainer, checkpoints, config, metrics and CLI, on tiny models and 8×8 data (CPU); the demo is in
test_demo.py."""

import json
import warnings

import numpy as np
import pytest

import fpscore
from fpscore.training.config import Config, load_config

torch = pytest.importorskip("torch")
pytest.importorskip("ot")
pytestmark = pytest.mark.torch

from tiny import TINY, tiny_config  # noqa: E402

from fpscore.data.dataset import InMemoryDataset  # noqa: E402
from fpscore.evaluation.metrics import best_matches, image_metrics, summarize  # noqa: E402
from fpscore.training.checkpoint import (  # noqa: E402
    CheckpointError,
    CheckpointWarning,
    list_checkpoints,
    load_checkpoint,
)
from fpscore.training.losses import Objective  # noqa: E402
from fpscore.training.models import EDMPreconditioned, UNet  # noqa: E402
from fpscore.training.trainer import Trainer, load_trained  # noqa: E402


def trajectories(n_images=3, n_bins=11, seed=0):
    """(N+1, B, 1, 8, 8): smooth images drifting a little from bin to bin."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:8, 0:8] / 8.0
    base = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * (xx * (k + 1) + yy)) for k in range(n_images)])[:, None]
    drift = 0.02 * rng.standard_normal((n_bins, 1, 1, 1, 1)).cumsum(0)
    return (base[None] + drift).astype(np.float32)


@pytest.fixture
def dataset():
    return InMemoryDataset(trajectories(), sde=fpscore.VESDE(2.0))


def params(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


# -- models -------------------------------------------------------------------------------------------


def test_unet_shapes_zero_start_and_paper_size():
    net = UNet(image_channels=1, image_size=8, channels=8, channel_mult=(1, 2), attn_resolutions=(4,))
    x = torch.randn(3, 1, 8, 8)
    out = net(x, torch.rand(3))
    assert out.shape == x.shape and torch.all(out == 0)  # the output convolution starts at zero
    lin = UNet(image_channels=3, image_size=8, channels=8, channel_mult=(1,), time_embedding="linear")
    assert lin(torch.randn(2, 3, 8, 8), torch.tensor(0.5)).shape == (2, 3, 8, 8)
    paper = UNet()  # channels 128, mult 1-2-2-2, attention at 16×16: the DDPM CIFAR-10 network
    assert 35e6 < sum(p.numel() for p in paper.parameters()) < 36.5e6
    with pytest.raises(ValueError, match="divisible"):
        UNet(image_size=12, channel_mult=(1, 2, 2, 2))
    with pytest.raises(ValueError, match="time_embedding"):
        UNet(time_embedding="sinusoid")


def test_edm_preconditioning_is_exact_for_a_single_image():
    """With F = (x₀ − μ − c_skip·x')/c_out the preconditioned ε̂ is the exact noise, at every σ."""
    sde = fpscore.VESDE(2.0)
    x0 = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    sd, mu = 0.25, 0.5

    class Ideal(torch.nn.Module):
        def forward(self, xin, t):
            sigma = sde.marginal_std(t).reshape(-1, 1, 1, 1)
            norm = torch.sqrt(sigma**2 + sd**2)
            xc = xin * norm
            c_skip, c_out = sd**2 / norm**2, sigma * sd / norm
            return (x0 - mu - c_skip * xc) / c_out

    model = EDMPreconditioned(Ideal(), sde, sd, mu)
    t = torch.tensor([0.01, 0.5, 1.0], dtype=torch.float64)
    z = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    xt = x0 + sde.marginal_std(t).reshape(-1, 1, 1, 1) * z
    torch.testing.assert_close(model(xt, t), z)


# -- training -----------------------------------------------------------------------------------------


def test_in_memory_dataset_layout(dataset):
    assert len(dataset) == 3 * 11 and dataset.bins == list(range(11))
    x, n, i = dataset[2 * 11 + 5]
    assert (n, i) == (5, 2) and x.shape == (1, 8, 8) and x.dtype == torch.float32
    with pytest.raises(ValueError):
        InMemoryDataset(np.zeros((3, 1, 8, 8)))


def test_loss_decreases(dataset, tmp_path):
    cfg = tiny_config("model.dropout=0.0", "train.batch_size=16", "train.checkpoint_every=1000")
    trainer = Trainer(cfg, dataset, out_dir=tmp_path)

    def held_out_loss():
        g = torch.Generator().manual_seed(123)
        xs = torch.stack([dataset[k][0] for k in range(len(dataset))])
        ts = torch.linspace(0.05, 1.0, len(dataset))
        with torch.no_grad():
            return Objective("dsm")(trainer.model.eval(), trainer.sde, xs, ts, g)[0].item()

    before = held_out_loss()
    trainer.train(60)
    after = held_out_loss()
    assert after < 0.6 * before
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 60 and {"step", "loss", "lr", "grad_norm", "steps_per_s"} <= set(
        json.loads(lines[-1])
    )
    assert (tmp_path / "config.toml").is_file()
    assert (
        Config.from_dict(json.loads(json.dumps(load_config(tmp_path / "config.toml").to_dict())))
        == trainer.config
    )


def test_batches_follow_the_time_grid_and_scores_zero(dataset, tmp_path):
    trainer = Trainer(tiny_config("train.batch_size=10"), dataset, out_dir=tmp_path)
    t = trainer.sample_times(10)
    strata = torch.floor((t - trainer.config.data.t_min) / (1.0 - trainer.config.data.t_min) * 10)
    assert torch.equal(strata, torch.arange(10, dtype=strata.dtype))  # one time per stratum
    x, t = trainer.batch()
    bins = torch.round(t.double() / 0.1).long()
    matches = [any(torch.equal(x[j], dataset.data[i, int(bins[j])]) for i in range(3)) for j in range(len(t))]
    assert all(matches)  # every sample is the embedded image of the bin nearest to its time
    zero = Trainer(tiny_config("data.scores_zero=true"), dataset, out_dir=tmp_path / "z")
    x, _ = zero.batch()
    assert all(any(torch.equal(xj, dataset.data[i, 0]) for i in range(3)) for xj in x)
    uniform = Trainer(tiny_config("data.time_sampling=uniform"), dataset, out_dir=tmp_path / "u")
    assert uniform.sample_times(1000).min() >= 1e-3


def test_resume_is_bit_identical(dataset, tmp_path):
    extra = ("train.checkpoint_every=3", "loss.spec=dsm+0.1*sw+0.1*ssm", "loss.sw_projections=8")
    straight = Trainer(tiny_config(*extra), dataset, out_dir=tmp_path / "a")
    straight.train(6)
    first = Trainer(tiny_config(*extra), dataset, out_dir=tmp_path / "b")
    first.train(3)
    np.random.rand(3)  # noqa: NPY002  (disturb every global generator between the two halves)
    torch.rand(3)
    resumed = Trainer(tiny_config(*extra), dataset, out_dir=tmp_path / "b", resume=True)
    assert resumed.step == 3
    resumed.train(6)
    for got, want in [(resumed.model, straight.model), (resumed.ema.module, straight.ema.module)]:
        for k, v in want.state_dict().items():
            assert torch.equal(got.state_dict()[k], v), k
    assert resumed.ema.num_updates == straight.ema.num_updates == 6
    a, b = straight.optimizer.state_dict(), resumed.optimizer.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for k, s in a["state"].items():
        for name, v in s.items():
            assert torch.equal(b["state"][k][name], v), (k, name)
    assert torch.equal(straight.generator.get_state(), resumed.generator.get_state())


def test_checkpoints_rotate_and_damaged_ones_are_skipped(dataset, tmp_path):
    trainer = Trainer(tiny_config("train.checkpoint_every=2", "train.keep=2"), dataset, out_dir=tmp_path)
    trainer.train(6)
    files = list_checkpoints(tmp_path)
    assert [p.name for p in files] == ["ckpt-00000004.pt", "ckpt-00000006.pt"]
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "ckpt-00000006.pt"
    state, used = load_checkpoint(tmp_path)
    assert used.name == "ckpt-00000006.pt" and state["step"] == 6

    newest = files[-1]
    good = newest.read_bytes()
    damages = {
        "truncated": good[: len(good) // 2],
        "corrupted": good[:1000] + bytes([good[1000] ^ 0xFF]) + good[1001:],
    }
    for what, data in damages.items():
        newest.write_bytes(data)
        with pytest.warns(CheckpointWarning, match="ckpt-00000006.pt"):
            state, used = load_checkpoint(tmp_path)
        assert used.name == "ckpt-00000004.pt" and state["step"] == 4, what
        with pytest.warns(CheckpointWarning):
            resumed = Trainer(tiny_config(), dataset, out_dir=tmp_path, resume=True)
        assert resumed.step == 4
    newest.write_bytes(good)
    newest.with_name(newest.name + ".sha256").unlink()  # a save interrupted before its checksum
    with pytest.warns(CheckpointWarning, match="checksum file"):
        assert load_checkpoint(tmp_path)[1].name == "ckpt-00000004.pt"
    files[0].write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CheckpointWarning)
        with pytest.raises(CheckpointError, match="no usable checkpoint"):
            load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoints"):
        load_checkpoint(tmp_path / "nothing")
    with pytest.raises(ValueError, match="already holds checkpoints"):
        Trainer(tiny_config(), dataset, out_dir=tmp_path)


def test_checkpoint_holds_plain_state_only(dataset, tmp_path):
    trainer = Trainer(tiny_config(), dataset, out_dir=tmp_path)
    trainer.train(2)
    path = list_checkpoints(tmp_path)[-1]
    state = torch.load(path, weights_only=True)
    assert {"model", "ema", "optimizer", "step", "rng", "config", "fpscore_version"} <= set(state)
    assert state["fpscore_version"] == fpscore.__version__
    assert state["config"] == trainer.config.to_dict()
    model, sde, times, cfg = load_trained(tmp_path)
    assert isinstance(sde, fpscore.VESDE) and len(times) == 11 and cfg.model.channels == 8
    score = model(torch.randn(2, 1, 8, 8), torch.tensor([0.5, 0.5]))
    assert score.shape == (2, 1, 8, 8)


def test_trainer_on_an_embedding_cache(tmp_path):
    images = trajectories(n_images=2)[0]  # (2, 1, 8, 8)
    fpscore.precompute(
        np.clip(images, 0, 1), tmp_path / "cache", fpscore.ConstantSDE(0.5), n_steps=4, progress=False
    )
    ds = fpscore.EmbeddedDataset(tmp_path / "cache")
    trainer = Trainer(tiny_config("model.preconditioning=edm"), ds, out_dir=tmp_path / "run")
    assert isinstance(trainer.sde, fpscore.ConstantSDE) and trainer.config.sde.kind == "constant"
    trainer.train(2)
    assert trainer.step == 2


def test_trainer_rejects_mismatched_data(dataset, tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        Trainer(tiny_config("model.image_size=16"), dataset, out_dir=tmp_path)


# -- config -------------------------------------------------------------------------------------------


def test_config_files_and_overrides(tmp_path):
    (tmp_path / "c.toml").write_text(
        '[model]\nchannels = 64\nchannel_mult = [1, 2]\n[loss]\nspec = "dsm+0.1*sw"\n'
    )
    cfg = load_config(
        tmp_path / "c.toml", ["train.lr=1e-3", "model.attn_resolutions=8", "data.scores_zero=true"]
    )
    assert (
        cfg.model.channels == 64 and cfg.model.channel_mult == (1, 2) and cfg.model.attn_resolutions == (8,)
    )
    assert cfg.train.lr == 1e-3 and cfg.data.scores_zero is True and cfg.loss.spec == "dsm+0.1*sw"
    (tmp_path / "c.json").write_text(cfg.to_json())
    assert load_config(tmp_path / "c.json") == cfg
    (tmp_path / "c2.toml").write_text(cfg.to_toml())
    assert load_config(tmp_path / "c2.toml") == cfg
    for bad, match in [
        (["model.chanels=3"], "unknown config key"),
        (["optim.lr=1"], "section"),
        (["train.steps=1.5"], "integer"),
        (["loss.spec=dsm+foo"], "unknown loss"),
        (["train.steps"], "section.key=value"),
        (["sde.kind=xx"], "sde.kind"),
    ]:
        with pytest.raises((ValueError, TypeError), match=match):
            load_config(None, bad)
    (tmp_path / "bad.toml").write_text("[nope]\nx = 1\n")
    with pytest.raises(ValueError, match="unknown config section"):
        load_config(tmp_path / "bad.toml")


def test_cli_dry_run_and_train_sample_denoise(tmp_path, capsys):
    from PIL import Image

    from fpscore.cli import main

    images = np.clip(trajectories(n_images=2)[0], 0, 1)
    fpscore.precompute(images, tmp_path / "cache", fpscore.VESDE(2.0), n_steps=4, progress=False)
    common = ["--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "run"), "--no-progress"]
    sets = [a for s in TINY if not s.startswith("model.image") for a in ("--set", s)]
    assert main(["train", *common, *sets, "--steps", "3", "--dry-run", "--format", "json"]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["model"]["image_channels"] == 1 and resolved["model"]["image_size"] == 8
    assert resolved["train"]["steps"] == 3 and not (tmp_path / "run").exists()
    assert main(["train", *common, *sets, "--steps", "2"]) == 0
    capsys.readouterr()
    # flipping the embedding off on resume would mix two experiments in one run: refused, named
    assert main(["train", *common, *sets, "--steps", "4", "--resume", "--scores-zero"]) == 2
    assert "data.scores_zero False → True" in capsys.readouterr().err
    assert main(["train", *common, *sets, "--steps", "4", "--resume"]) == 0
    assert "resuming" in capsys.readouterr().out
    assert (
        main(
            [
                "sample",
                str(tmp_path / "run"),
                "-n",
                "2",
                "--sample-steps",
                "3",
                "--no-progress",
                "--out",
                str(tmp_path / "s.png"),
                "--npy",
                str(tmp_path / "s.npy"),
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "s.npy").shape == (2, 1, 8, 8) and (tmp_path / "s.png").is_file()
    # DLG from the command line: a classifier trained for a few steps, the run's model
    np.save(tmp_path / "images.npy", images)
    clf = ["train-classifier", str(tmp_path / "images.npy"), str(tmp_path / "clf"), "--levels", "4"]
    assert main([*clf, "--sigma-min", "0.05", "--sigma-max", "1", "--steps", "2", "--no-progress"]) == 0
    dlg = ["sample", str(tmp_path / "run"), "-n", "2", "--sample-steps", "3", "--no-progress"]
    dlg += ["--dlg-classifier", str(tmp_path / "clf"), "--n-skip", "2", "--npy", str(tmp_path / "d.npy")]
    assert main([*dlg, "--out", str(tmp_path / "dlg.png")]) == 0
    assert "network evaluations per sample" in capsys.readouterr().out
    assert np.load(tmp_path / "d.npy").shape == (2, 1, 8, 8)
    Image.fromarray((images[0, 0] * 255).astype(np.uint8)).save(tmp_path / "clean.png")
    out = tmp_path / "d.png"
    args = ["denoise", str(tmp_path / "clean.png"), "--run", str(tmp_path / "run"), "--sample-steps", "3"]
    assert main([*args, "--add-noise", "0.1", "--out", str(out), "--no-progress"]) == 0
    assert "denoised SSIM" in capsys.readouterr().out and out.is_file()
    assert main(["sample", str(tmp_path / "missing"), "--no-progress"]) == 2
    assert "no checkpoints" in capsys.readouterr().err


# -- metrics -----------------------------------------------------------------------------------------


def test_metrics():
    rng = np.random.default_rng(0)
    a = rng.random((3, 16, 16))
    m = image_metrics(a, a)
    assert m["ssim"] == pytest.approx(1.0) and m["mse"] == 0.0 and m["psnr"] == float("inf")
    noisy = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    m = image_metrics(noisy, a)
    assert 0 < m["ssim"] < 0.95 and m["mse"] == pytest.approx(((noisy - a) ** 2).mean())
    assert m["psnr"] == pytest.approx(-10 * np.log10(m["mse"]))
    b = rng.random((3, 16, 16))
    rows = best_matches([b, torch.as_tensor(a)], [a, b])
    assert [r["index"] for r in rows] == [1, 0] and rows[0]["ssim"] == pytest.approx(1.0)
    s = summarize([a, noisy], [a])
    assert s["ssim_best"] == pytest.approx(1.0) and s["n"] == 2
    assert image_metrics(a[0] + 5, a[0])["ssim"] < 1  # samples are clipped to [0, 1]
    with pytest.raises(ValueError):
        image_metrics(a, a[:2])
