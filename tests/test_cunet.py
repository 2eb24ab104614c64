"""The continuous U-Net (CUNet): shapes, time conditioning through FiLM (and only through it), the
RK4 integration's order of accuracy, training and reloading through the config, argument checks;
and the layer counts of `complexity`."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

import fpscore  # noqa: E402
from fpscore.training.models.complexity import count_macs, count_parameters  # noqa: E402
from fpscore.training.models.cunet import FiLM, ODEBlock  # noqa: E402


def small(**kw) -> fpscore.CUNet:
    torch.manual_seed(0)
    defaults = {"image_channels": 2, "image_size": 8, "channels": 4, "channel_mult": (1, 2)}
    return fpscore.CUNet(**{**defaults, **kw})


def randomise(module: torch.nn.Module, scale: float = 0.3) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn_like(p))


def test_shape_and_zero_start() -> None:
    net = small()
    x = torch.randn(3, 2, 8, 8)
    y = net(x, torch.tensor([0.1, 0.5, 0.9]))
    assert y.shape == x.shape
    assert torch.count_nonzero(y) == 0  # the head starts at zero: a new network predicts ε̂ = 0


def test_time_enters_through_film_only() -> None:
    net = small()
    randomise(net.head)
    x = torch.randn(2, 2, 8, 8)
    early, late = net(x, torch.full((2,), 0.1)), net(x, torch.full((2,), 0.9))
    # FiLM starts as the identity: with it, nothing else sees t (the released reference model's flaw).
    assert torch.equal(early, late)
    for film in (m for m in net.modules() if isinstance(m, FiLM)):
        randomise(film)
    early, late = net(x, torch.full((2,), 0.1)), net(x, torch.full((2,), 0.9))
    assert (early - late).abs().max() > 1e-3 * early.abs().max()


def test_film_parameters_receive_gradients() -> None:
    net = small()
    randomise(net.head)
    loss = net(torch.randn(2, 2, 8, 8), torch.tensor([0.2, 0.7])).square().sum()
    loss.backward()
    films = [m for m in net.modules() if isinstance(m, FiLM)]
    assert len(films) == len(net.encoder) + 1 + len(net.decoder)
    for film in films:
        assert film.linear.weight.grad is not None and film.linear.weight.grad.abs().max() > 0


class Linear(torch.nn.Module):
    """f(h) = a·h: h(1) = e^a h(0) exactly."""

    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = a

    def forward(self, h, temb):
        return self.a * h


def test_rk4_is_fourth_order() -> None:
    x = torch.ones(1, 1, 1, 1, dtype=torch.float64)
    errors = []
    for steps in (4, 8, 16, 32):  # in the asymptotic range (at 1 and 2 steps the order is 4.9, 4.5)
        block = ODEBlock(4, 4, steps)
        block.field = Linear(-1.5)
        errors.append(abs(float(block(x, None)) - math.exp(-1.5)))
    orders = [math.log2(a / b) for a, b in itertools.pairwise(errors)]
    assert all(3.9 < p < 4.25 for p in orders), orders


def test_more_ode_steps_cost_proportionally_more() -> None:
    """Each RK4 step evaluates every block's vector field four times: MACs grow by the same
    amount per added step (the fixed part: stem, 1×1 convs, attention, head, time MLP)."""
    macs = [count_macs(small(ode_steps=s), 2, 8) for s in (1, 2, 3)]
    assert macs[2] - macs[1] == macs[1] - macs[0] > 0
    per_step = macs[1] - macs[0]
    # By hand: per ODE block, 4 evaluations × two 3×3 convs (w → w) over the block's pixels, and
    # 4 FiLM linears (temb 16 → 2w). Widths 8 at 8×8 (encoder, decoder), 16 at 4×4 (encoder, middle).
    def block(w: int, pixels: int) -> int:
        return 4 * (2 * pixels * w * w * 9 + 2 * w * 16)

    assert per_step == 2 * block(8, 64) + 2 * block(16, 16)


def test_count_macs_of_plain_layers() -> None:
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 5, 3, padding=1)
            self.lin = torch.nn.Linear(7, 2)

        def forward(self, x, t):
            self.lin(torch.zeros(1, 7))
            return self.conv(x)

    assert count_macs(Net(), 3, 6) == 5 * 36 * 3 * 9 + 2 * 7
    assert count_parameters(Net()) == 5 * 3 * 9 + 5 + 7 * 2 + 2


def test_unet_parameters_match_the_paper_model() -> None:
    """The paper's CIFAR-10 U-Net has 35.7 M parameters (Ho et al. 2020)."""
    net = fpscore.UNet()
    assert round(count_parameters(net) / 1e6, 1) == 35.7


@pytest.mark.parametrize(
    ("kw", "exc"),
    [
        ({"ode_steps": 0}, ValueError),
        ({"ode_steps": 1.5}, TypeError),
        ({"image_size": 6, "channel_mult": (1, 2, 2)}, ValueError),
        ({"channel_mult": ()}, ValueError),
        ({"time_embedding": "sinus"}, ValueError),
        ({"channels": -1}, ValueError),
    ],
)
def test_bad_arguments(kw, exc) -> None:
    with pytest.raises(exc):
        small(**kw)


def test_trains_and_reloads_from_the_config(tmp_path) -> None:
    from fpscore.data.dataset import InMemoryDataset
    from fpscore.training.trainer import Trainer, load_trained

    config = fpscore.Config().override(
        [
            "model.kind=cunet",
            "model.image_channels=1",
            "model.image_size=8",
            "model.channels=4",
            "model.channel_mult=[1, 2]",
            "model.ode_steps=1",
            "train.batch_size=4",
            "train.warmup=0",
            "train.steps=3",
            "loss.spec=dsm",
        ]
    )
    rng = np.random.default_rng(0)
    data = InMemoryDataset(rng.random((3, 4, 1, 8, 8)), sde=fpscore.VESDE(2.0))
    trainer = Trainer(config, data, out_dir=tmp_path / "run")
    metrics = trainer.train()
    assert trainer.step == 3 and all(math.isfinite(v) for v in metrics.values())
    assert any(isinstance(m, fpscore.CUNet) for m in trainer.model.modules())
    score, _sde, _times, loaded_config = load_trained(tmp_path / "run")
    assert loaded_config.model.kind == "cunet"
    assert any(isinstance(m, fpscore.CUNet) for m in score.modules())
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([0.3, 0.6])
    assert torch.isfinite(score(x, t)).all()


def test_config_checks_the_model_kind() -> None:
    with pytest.raises(ValueError, match=r"model\.kind"):
        fpscore.Config().override(["model.kind=resnet"])
    with pytest.raises(ValueError, match=r"model\.ode_steps"):
        fpscore.Config().override(["model.ode_steps=0"])
