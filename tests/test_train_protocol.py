"""What the trainer feeds the loss and what a resumed run records: the clean image behind each sample
(drift, time grid, strength), metrics written once per step with training seconds, and resumes
refused when the run's settings changed."""

import itertools
import json

import numpy as np
import pytest

import fpscore

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from tiny import tiny_config  # noqa: E402

from fpscore.data.dataset import InMemoryDataset  # noqa: E402
from fpscore.data.training import nearest_bins  # noqa: E402
from fpscore.training.checkpoint import CheckpointError  # noqa: E402
from fpscore.training.losses import perturb  # noqa: E402
from fpscore.training.trainer import Trainer  # noqa: E402


def tiny(*extra):
    return tiny_config("model.dropout=0.0", *extra)


def images(n=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 0.8, (n, 1, 8, 8))


class ZeroScore:
    """A Fokker–Planck solution whose score vanishes: the embedding is the drift alone."""

    def __init__(self, times, batch_shape):
        self.times = np.asarray(times)
        self.score = np.zeros((len(times), *batch_shape, 2, 8, 8))


def test_vp_zero_score_noised_input_has_mean_alpha_x0(tmp_path):
    # The embedding already applies the VP drift (xⁿ ≈ α(tₙ)x⁰); the loss multiplies by α(t) again,
    # so the clean image behind a sample must have the drift taken out: mean α(t)·x⁰, not α(t)α(tₙ)x⁰.
    sde = fpscore.VPSDE(0.1, 20.0)
    x0 = images()
    times = np.linspace(0.0, 1.0, 21)
    traj = fpscore.embed(x0, ZeroScore(times, (2, 1)), sde)
    assert abs(traj[-1].mean() / x0.mean() - float(sde.alpha(1.0))) > 1e-3  # the drift moved the images
    trainer = Trainer(tiny(), InMemoryDataset(traj, times, sde=sde), out_dir=tmp_path)
    x, t = trainer.batch()
    mean = perturb(sde, x.double(), t.double(), torch.zeros_like(x, dtype=torch.float64))
    alpha = sde.alpha(t.double()).reshape(-1, 1, 1, 1)
    references = torch.as_tensor(x0)
    for j in range(len(t)):
        err = min(float((mean[j] - alpha[j] * ref).abs().max()) for ref in references)
        assert err < 1e-6


def test_strength_scales_the_displacement(tmp_path):
    traj = np.stack([images() + 0.01 * n for n in range(11)]).astype(np.float32)
    ds = InMemoryDataset(traj, sde=fpscore.VESDE(2.0))
    for s in (0.0, 0.5, 1.0, 3.0):
        trainer = Trainer(tiny(f"data.strength={s}"), ds, out_dir=tmp_path / str(s))
        x, t = trainer.batch()
        n = np.abs(np.linspace(0, 1, 11)[None, :] - t.double().numpy()[:, None]).argmin(1)
        for j in range(len(t)):
            shift = float(
                (x[j] - min(torch.as_tensor(traj[0]), key=lambda r: float((x[j] - r).abs().max()))).mean()
            )
            assert shift == pytest.approx(s * 0.01 * n[j], abs=1e-6)


def test_bins_follow_a_nonuniform_time_grid(tmp_path):
    times = np.array([0.0, 0.05, 0.1, 0.4, 1.0])
    traj = np.stack([np.full((1, 1, 8, 8), n, dtype=np.float32) for n in range(len(times))])
    trainer = Trainer(
        tiny("train.batch_size=64", "data.time_sampling=uniform"),
        InMemoryDataset(traj, times, sde=fpscore.VESDE(2.0)),
        out_dir=tmp_path,
    )
    x, t = trainer.batch()
    nearest = np.abs(times[None, :] - t.double().numpy()[:, None]).argmin(1)  # independent reference
    assert np.array_equal(x[:, 0, 0, 0].numpy().astype(int), nearest)
    assert len(set(nearest.tolist())) >= 3  # the batch exercises several bins
    grid = np.array([0.0, 0.1, 0.5])
    assert nearest_bins(grid, torch.tensor([0.29, 0.31, 0.05, 0.5], dtype=torch.float64)).tolist() == [
        1,
        2,
        0,
        2,
    ]


def test_metrics_record_each_step_once_with_training_seconds(tmp_path):
    ds = InMemoryDataset(np.stack([images()] * 5), sde=fpscore.VESDE(2.0))
    cfg = tiny("train.checkpoint_every=4")

    def crash(trainer, metrics):
        if trainer.step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, ds, out_dir=tmp_path).train(10, callback=crash)
    resumed = Trainer(cfg, ds, out_dir=tmp_path, resume=True)
    assert resumed.step == 4 and resumed.train_seconds > 0
    resumed.train(10)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 11))
    seconds = [r["train_seconds"] for r in records]
    assert all(b > a for a, b in itertools.pairwise(seconds))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("data.scores_zero=true", "data.scores_zero"),
        ("data.strength=0.5", "data.strength"),
        ("loss.spec=ssm", "loss.spec"),
        ("train.lr=1e-3", "train.lr"),
        ("sde", "sde.sigma"),
        ("times", "time grid"),
        ("data", "training data"),
    ],
)
def test_resume_refuses_other_settings(tmp_path, change, named):
    traj = np.stack([images()] * 5).astype(np.float32)
    ds = InMemoryDataset(traj, sde=fpscore.VESDE(2.0))
    Trainer(tiny(), ds, out_dir=tmp_path).train(2)
    saved = (tmp_path / "config.toml").read_text()
    cfg, other = tiny(), ds
    if change == "sde":
        other = InMemoryDataset(traj, sde=fpscore.VESDE(3.0))
    elif change == "times":
        other = InMemoryDataset(traj, np.array([0.0, 0.1, 0.2, 0.5, 1.0]), sde=fpscore.VESDE(2.0))
    elif change == "data":
        other = InMemoryDataset(traj + 0.01, sde=fpscore.VESDE(2.0))
    else:
        cfg = tiny(change)
    with pytest.raises(CheckpointError, match=named):
        Trainer(cfg, other, out_dir=tmp_path, resume=True)
    assert (tmp_path / "config.toml").read_text() == saved
    # what only changes how long or how it reports is accepted
    Trainer(tiny("train.steps=7", "train.log_every=3"), ds, out_dir=tmp_path, resume=True).train(3)


def test_data_layer_draws_the_batch(tmp_path):
    # The trainer's batch is TrainingImages.batch with the trainer's generator: B times (stratified
    # over [t_min, T]), then B image indices, each sample x̂ⁿ at the bin nearest to its time.
    from fpscore.data.training import TrainingImages

    times = np.linspace(0.0, 1.0, 6)
    traj = np.stack([images(3) + 0.01 * n for n in range(6)]).astype(np.float32)
    ds = InMemoryDataset(traj, times, sde=fpscore.VESDE(2.0))
    trainer = Trainer(tiny("train.batch_size=5", "data.t_min=0.1"), ds, out_dir=tmp_path)
    x, t = trainer.batch()
    data = TrainingImages(ds, None, trainer.sde, t_min=0.1)
    gen = torch.Generator().manual_seed(0)
    t_ref = data.sample_times(5, gen)
    picked = torch.randint(3, (5,), generator=gen)
    x2, t2 = data.batch(5, torch.Generator().manual_seed(0))
    assert torch.equal(t2, t_ref) and torch.equal(t.double(), t_ref.float().double())
    assert torch.equal(x, x2) and torch.equal(x2, data(picked, t_ref))
    assert np.all(np.diff(((t_ref - 0.1) / 0.9 * 5).floor().numpy()) == 1)  # one per stratum
    bins = nearest_bins(times, t_ref)
    for j in range(5):
        assert torch.equal(x2[j], torch.as_tensor(traj[bins[j], picked[j]]))
    with pytest.raises(ValueError, match="t_min"):
        TrainingImages(ds, None, trainer.sde, t_min=1.0)
    with pytest.raises(ValueError, match="scores_zero"):
        TrainingImages(InMemoryDataset(traj[:1], [0.0]), None, trainer.sde)
