"""Training on two processes: torchrun with gloo on loopback, CPU, a tiny U-Net on an 8×8 cache.

Both ranks must end with identical weights, equal to one process's with the same global batch to
round-off, and a run must resume on another number of processes (2 → 1 → 2) as if it had run on one.
The ranks are started with `python -m torch.distributed.run`; they import the fpscore under test
(through .ci/with_package.py when the repository has it, so a source tree wins over an installed
copy; plain `python` otherwise).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fpscore

torch = pytest.importorskip("torch")
pytest.importorskip("ot")
pytestmark = pytest.mark.torch

from tiny import tiny_config  # noqa: E402

from fpscore.data.dataset import EmbeddedDataset  # noqa: E402
from fpscore.training import distributed  # noqa: E402
from fpscore.training.checkpoint import load_checkpoint  # noqa: E402
from fpscore.training.losses import Objective  # noqa: E402
from fpscore.training.trainer import Trainer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
K = 3  # steps of each session
# every loss term: dsm and ssm are batch means, sw compares the whole (gathered) batch. Dropout off:
# its masks are drawn per rank (see fpscore.training.distributed), not as one process draws them.
SETTINGS = ["model.dropout=0", "loss.spec=dsm+0.5*ssm+0.1*sw", "loss.sw_projections=16", "train.seed=5"]
# float32: the two runs sum the same gradients in another order (per rank, then averaged, against
# the whole batch at once). Adam's step lr·m/(√v + ε) magnifies that round-off where a gradient is
# near ε: 4e-6 at most measured over 9 steps. A wrong batch part, noise or SW term moves weights by
# O(lr) = 2e-3 (5e-3 measured with SW computed per rank instead of on the gathered batch).
ATOL, RTOL = 5e-5, 0.0

WORKER = """
import json, sys
import torch
from fpscore.data.dataset import EmbeddedDataset
from fpscore.training import distributed
from fpscore.training.config import Config
from fpscore.training.trainer import Trainer

config, steps, out, resume = sys.argv[1:5]
cfg = Config.from_dict(json.loads(open(config).read()))
trainer = Trainer(cfg, EmbeddedDataset(cfg.data.cache), out_dir=out, resume=resume == "1")
trainer.train(int(steps))
world = trainer.world
torch.save(trainer.model.state_dict(), f"{out}/weights-rank{world.rank}-of-{world.size}.pt")
distributed.shutdown()
"""


def python_under_test() -> list[str]:
    """The command that starts a Python importing the same fpscore as this test."""
    helper = REPO / ".ci" / "with_package.py"
    if helper.is_file():
        return [sys.executable, str(helper), str(Path(fpscore.__file__).resolve().parents[1])]
    return [sys.executable]


def torchrun(nproc: int, *args: str) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if Path("/sys/class/net/lo").exists():
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # loopback, whatever the host name resolves to
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    cmd += ["--no-python", *python_under_test(), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]


def assert_same_weights(a: dict, b: dict, *, exact: bool = False) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if exact:
            assert torch.equal(a[key], b[key]), key
        else:
            torch.testing.assert_close(a[key], b[key], atol=ATOL, rtol=RTOL, msg=key)


def weights(run: Path) -> dict:
    state, _ = load_checkpoint(run)
    return state["model"]


def losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny cache, the config (as JSON for the ranks) and one process's run to 1, 2 and 3·K steps."""
    root = tmp_path_factory.mktemp("ddp")
    yy, xx = np.mgrid[0:8, 0:8] / 8.0
    images = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * (xx * (k + 1) + yy)) for k in range(5)])[:, None]
    sde = fpscore.VESDE(2.0)
    fpscore.precompute(images.astype(np.float32), root / "cache", sde, n_steps=4, progress=False)
    cfg = tiny_config(*SETTINGS, f"data.cache={root / 'cache'}")
    (root / "config.json").write_text(json.dumps(cfg.to_dict()))
    one = Trainer(cfg, EmbeddedDataset(cfg.data.cache), out_dir=root / "one")
    reference = {}
    for total in (K, 2 * K, 3 * K):
        one.train(total)
        reference[total] = {k: v.clone() for k, v in one.model.state_dict().items()}
    return root, cfg, reference, losses(root / "one")


def test_two_ranks_hold_the_single_process_weights(setup):
    root, _, reference, one_losses = setup
    run = root / "two"
    torchrun(2, "-c", WORKER, str(root / "config.json"), str(K), str(run), "0")
    rank0 = torch.load(run / "weights-rank0-of-2.pt", weights_only=True)
    rank1 = torch.load(run / "weights-rank1-of-2.pt", weights_only=True)
    assert_same_weights(rank0, rank1, exact=True)  # DDP: the same averaged gradient on both
    assert_same_weights(rank0, reference[K])
    # the checkpoint holds the bare network (no "module." prefix) and the logged loss is the
    # global batch's
    assert_same_weights(weights(run), rank0, exact=True)
    np.testing.assert_allclose(losses(run), one_losses[:K], rtol=1e-5)  # one line per step: rank 0's


def test_resume_on_another_number_of_processes(setup, tmp_path):
    root, cfg, reference, one_losses = setup
    run = tmp_path / "run"
    torchrun(2, "-c", WORKER, str(root / "config.json"), str(K), str(run), "0")  # 2 ranks: 0 → K
    Trainer(cfg, EmbeddedDataset(cfg.data.cache), out_dir=run, resume=True).train(2 * K)  # 1: K → 2K
    assert_same_weights(weights(run), reference[2 * K])
    cli = ["-m", "fpscore", "train", "--config", str(root / "config.json"), "--out", str(run)]
    torchrun(2, *cli, "--steps", str(3 * K), "--resume")  # through the CLI, 2 ranks: 2K → 3K
    assert_same_weights(weights(run), reference[3 * K])
    np.testing.assert_allclose(losses(run), one_losses, rtol=1e-5)


def test_parts_of_the_batch_and_bad_sizes():
    parts = [distributed.World(r, 4).part(12) for r in range(4)]
    assert [list(range(12))[p] for p in parts] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    with pytest.raises(ValueError, match=r"batch_size=10 .* divisible by the number of processes 4"):
        distributed.World(1, 4).part(10)
    assert distributed.env_world({}) is None
    torchrun_env = {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}
    assert distributed.env_world(torchrun_env) == distributed.World(1, 2, 1)
    with pytest.raises(ValueError, match="RANK=2"):
        distributed.env_world({"WORLD_SIZE": "2", "RANK": "2"})
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer, got 'two'"):
        distributed.env_world({"WORLD_SIZE": "two"})


def test_several_processes_refuse_a_loss_without_draw_and_evaluate():
    world = distributed.World(0, 2)
    with pytest.raises(ValueError, match="needs an fpscore Objective"):
        distributed.part_loss(lambda *a: None, None, None, torch.zeros(2, 1), None, None, world, 2)


def test_the_noise_of_a_part_is_that_part_of_the_whole_batchs_noise():
    """draw + evaluate is the one-call Objective, and each part's noise is its rows of the whole."""
    objective = Objective("dsm+ssm+sw", ssm_projections=2, sw_projections=4)
    shape = (6, 1, 4, 4)
    whole = objective.draw(shape, torch.Generator().manual_seed(1), dtype=torch.float32, device="cpu")
    again = objective.draw(shape, torch.Generator().manual_seed(1), dtype=torch.float32, device="cpu")
    part = distributed.shard_noise(whole, distributed.World(1, 3).part(6))
    assert torch.equal(part.z, again.z[2:4]) and torch.equal(part.v, again.v[:, 2:4])
    assert torch.equal(part.projections, again.projections)
    generator = torch.Generator().manual_seed(1)
    expected = (torch.randn(shape, generator=generator), torch.randn((2, *shape), generator=generator))
    assert torch.equal(whole.z, expected[0]) and torch.equal(whole.v, expected[1])


def test_dropout_streams_differ_between_ranks_and_are_reproducible():
    seeds = {distributed.dropout_seed(5, 100, rank) for rank in range(1, 4)}
    assert len(seeds) == 3 and distributed.dropout_seed(5, 100, 1) == distributed.dropout_seed(5, 100, 1)
    assert distributed.dropout_seed(5, 100, 1) != distributed.dropout_seed(5, 101, 1)
