"""What the score networks cost on the CPU: forward and forward + backward passes of the U-Net and
the continuous U-Net (cU-Net) at 32² and 64², a batch of 16 RGB images, one thread. extra_info holds
the parameters and the multiply-accumulates of one image's forward pass, counted from the layers
(`fpscore.training.models.complexity`).

Networks (group models_{network}_{size}):
- unet_paper: the paper's CIFAR-10 U-Net (channels 128, channel_mult (1, 2, 2, 2), 2 residual
  blocks per level, attention at 16×16: 35.7 M parameters);
- unet_quick: the experiment's quick-preset U-Net (channels 32, (1, 2, 2), 1 block, attention at 8×8);
- cunet_16: cU-Net nf = 16, channel_mult (1, 2, 4, 8), 2 RK4 steps per ODE block;
- cunet_quick: cU-Net with the quick preset's channels (nf = 32) and channel_mult (1, 2, 2), 2 steps.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import fpscore  # noqa: E402
from fpscore.training.models.complexity import count_macs, count_parameters  # noqa: E402

BATCH = 16
NETWORKS = {
    "unet_paper": lambda size: fpscore.UNet(3, size, 128, (1, 2, 2, 2), 2, (16,), 0.0),
    "unet_quick": lambda size: fpscore.UNet(3, size, 32, (1, 2, 2), 1, (8,), 0.0),
    "cunet_16": lambda size: fpscore.CUNet(3, size, 16, (1, 2, 4, 8), ode_steps=2),
    "cunet_quick": lambda size: fpscore.CUNet(3, size, 32, (1, 2, 2), ode_steps=2),
}
CASES = [
    pytest.param(name, size, id=f"{name}-{size}", marks=pytest.mark.benchmark(group=f"models_{name}_{size}"))
    for name in NETWORKS
    for size in (32, 64)
]


def _network(name: str, size: int):
    torch.manual_seed(0)
    net = NETWORKS[name](size)
    with torch.no_grad():  # a trained-looking network: the zero-initialised output layers too
        for p in net.parameters():
            if torch.count_nonzero(p) == 0:
                p.normal_(0.0, 0.02)
    return net


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _record(benchmark, net, size: int) -> None:
    benchmark.extra_info.update(
        parameters=count_parameters(net), macs_per_image=count_macs(net, 3, size), batch=BATCH, threads=1
    )


@pytest.mark.parametrize(("name", "size"), CASES)
def test_forward(benchmark, name: str, size: int) -> None:
    net = _network(name, size).eval()
    x, t = torch.randn(BATCH, 3, size, size), torch.rand(BATCH)

    def forward():
        with torch.no_grad():
            return net(x, t)

    y = benchmark.pedantic(forward, rounds=3, iterations=1, warmup_rounds=1)
    assert y.shape == x.shape and torch.isfinite(y).all()
    _record(benchmark, net, size)


@pytest.mark.parametrize(("name", "size"), CASES)
def test_forward_backward(benchmark, name: str, size: int) -> None:
    net = _network(name, size).train()
    x, t = torch.randn(BATCH, 3, size, size), torch.rand(BATCH)

    def step():
        net.zero_grad(set_to_none=True)
        loss = net(x, t).square().mean()
        loss.backward()
        return loss

    loss = benchmark.pedantic(step, rounds=3, iterations=1, warmup_rounds=1)
    assert torch.isfinite(loss)
    _record(benchmark, net, size)
