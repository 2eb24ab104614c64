"""Training on several processes: `fpscore train` under `torchrun --nproc_per_node K`.

Each of the K processes (ranks) holds the whole network, wrapped in DistributedDataParallel (DDP),
which averages the gradients over the ranks during the backward pass. What makes a run the same as
one process with the same global batch B:

- The batch. Every rank draws the *global* batch's times, image indices and loss noise from its own
  copy of the trainer's generator (same seed, same draws, so the same numbers on every rank), then
  keeps its contiguous part of B/K samples (`World.part`) and reads only those images. The losses
  are batch means, so the mean of the K parts' gradients is the global batch's gradient (to
  round-off). The sliced-Wasserstein term compares whole batches: its inputs are gathered from
  every rank with autograd (`gather_batch`), so it is computed on the global batch.
- The random streams. The generator state is the same on every rank, so a checkpoint written by
  rank 0 resumes on any number of ranks. Dropout draws from torch's global generator: rank 0 keeps
  the one a single process has; the other ranks reseed theirs from (seed, step, rank)
  (`separate_dropout_streams`) so their masks are independent of rank 0's. With dropout a run on
  K > 1 ranks is therefore reproducible for that K, not equal to one process's.
- The writes. Only rank 0 writes config.toml, metrics.jsonl and checkpoints and shows progress; the
  logged loss is the mean over the ranks (`batch_means`), that is the global batch's.

The process group is joined from torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT): backend "nccl" when train.device is CUDA (rank r on cuda:LOCAL_RANK), else "gloo". A
group the caller initialised already is used as it is. WORLD_SIZE=1 is a plain single process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._torch import torch
from .losses import LossNoise

_started_here = False  # whether init_from_env created the process group (shutdown destroys only that)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes: rank in 0..size-1, local_rank its GPU."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files and shows progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def part(self, batch: int) -> slice:
        """This rank's contiguous part of a global batch of `batch` samples (batch % size == 0)."""
        check_batch(batch, self)
        per = batch // self.size
        return slice(self.rank * per, (self.rank + 1) * per)


SINGLE = World()


def _env_int(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"the environment variable {name} must be an integer, got {raw!r}") from None


def env_world(environ: Mapping[str, str] | None = None) -> World | None:
    """The world torchrun describes in the environment (WORLD_SIZE, RANK, LOCAL_RANK), or None
    when WORLD_SIZE is not set."""
    environ = os.environ if environ is None else environ
    size = _env_int(environ, "WORLD_SIZE")
    if size is None:
        return None
    rank = _env_int(environ, "RANK")
    rank = 0 if rank is None else rank
    local = _env_int(environ, "LOCAL_RANK")
    if size < 1 or not 0 <= rank < size:
        raise ValueError(
            f"WORLD_SIZE={size} and RANK={rank} do not describe a rank of a group (0 <= RANK < SIZE)"
        )
    return World(rank, size, rank if local is None else local)


def world() -> World:
    """The world of the initialised process group, else a single process."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    rank, size = dist.get_rank(), dist.get_world_size()
    local = _env_int(os.environ, "LOCAL_RANK")
    return World(rank, size, rank if local is None else local)


def init_from_env(device: str = "cpu") -> World:
    """Join the process group torchrun describes (see the module docstring) and return the world;
    a single process (no WORLD_SIZE, or WORLD_SIZE=1) starts nothing."""
    global _started_here
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return world()
    env = env_world()
    if env is None or not env.distributed:
        return SINGLE
    if not dist.is_available():
        raise RuntimeError(
            f"WORLD_SIZE={env.size} asks for {env.size} processes, but this torch has no torch.distributed"
        )
    cuda = torch.device(device).type == "cuda"
    if cuda:
        visible = torch.cuda.device_count()
        if env.local_rank >= visible:
            raise ValueError(
                f"LOCAL_RANK={env.local_rank} needs GPU cuda:{env.local_rank}, but {visible} are "
                "visible: start at most one process per GPU (torchrun --nproc_per_node)"
            )
        torch.cuda.set_device(env.local_rank)
    dist.init_process_group("nccl" if cuda else "gloo")
    _started_here = True
    return world()


def shutdown() -> None:
    """Destroy the process group if init_from_env created it (a caller's group is left alone)."""
    global _started_here
    if _started_here and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    _started_here = False


def rank_device(device: str, world: World) -> torch.device:
    """The device of this rank: cuda:LOCAL_RANK for a CUDA train.device on several ranks."""
    d = torch.device(device)
    if d.type == "cuda" and world.distributed:
        return torch.device("cuda", world.local_rank)
    return d


def check_batch(batch: int, world: World) -> None:
    if batch % world.size:
        raise ValueError(
            f"train.batch_size={batch} (the global batch) must be divisible by the number of processes "
            f"{world.size}: choose a batch size that is a multiple of {world.size}"
        )


def wrap(model: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
    """The network the loss calls: `model` itself on one process, DDP around it on several (a
    collective: every rank must call it; it copies rank 0's weights to the others)."""
    if not world.distributed:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def gather_batch(x: torch.Tensor) -> torch.Tensor:
    """Every rank's part, concatenated in rank order: the global batch, with autograd (the
    gradient of each rank's loss reaches every part)."""
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x), dim=0)


def shard_noise(noise: LossNoise, part: slice) -> LossNoise:
    """The global batch's loss noise cut to this rank's part (the SW projections are shared)."""
    z, v, projections = noise
    return LossNoise(z[part], None if v is None else v[:, part], projections)


def part_loss(
    objective: Any,
    net: torch.nn.Module,
    sde: Any,
    x: torch.Tensor,
    t: torch.Tensor,
    generator: torch.Generator,
    world: World,
    batch: int,
) -> tuple[torch.Tensor, dict[str, float]]:
    """(loss, parts) of this rank's part (x, t) of a global batch of `batch` samples: the noise of
    the whole batch drawn from `generator` (so every rank's stream stays the same), this part's
    used; SW on the gathered batch."""
    if not (hasattr(objective, "draw") and hasattr(objective, "evaluate")):
        raise ValueError(
            f"training on {world.size} processes needs an fpscore Objective (draw and evaluate), got "
            f"{objective!r}: run this loss on one process"
        )
    # drawn on the CPU (where the generator is) and cut there: only this part goes to the device
    noise = shard_noise(
        objective.draw((batch, *x.shape[1:]), generator, dtype=x.dtype, device="cpu"), world.part(batch)
    )
    noise = LossNoise(*(None if n is None else n.to(x.device) for n in noise))
    return objective.evaluate(net, sde, x, t, noise, gather=gather_batch)


def batch_means(loss: float, parts: Mapping[str, float], world: World) -> tuple[float, dict[str, float]]:
    """The global batch's loss and terms: the mean over the ranks of their parts' values (equal
    parts of batch means; the SW term is the same on every rank)."""
    if not world.distributed:
        return loss, dict(parts)
    values = torch.tensor([loss, *parts.values()], dtype=torch.float64)
    values = _all_reduce_cpu(values, torch.distributed.ReduceOp.SUM) / world.size
    mean = values.tolist()
    return mean[0], dict(zip(parts, mean[1:], strict=True))


def any_rank(flag: bool, world: World) -> bool:
    """Whether `flag` is true on any rank (so that every rank stops at the same step)."""
    if not world.distributed:
        return flag
    value = _all_reduce_cpu(torch.tensor([float(flag)]), torch.distributed.ReduceOp.MAX)
    return bool(value[0] > 0)


def _all_reduce_cpu(values: torch.Tensor, op) -> torch.Tensor:
    # NCCL reduces only device tensors; these few numbers make the trip to the rank's GPU and back
    dist = torch.distributed
    if dist.get_backend() == "nccl":
        values = values.to(torch.device("cuda", torch.cuda.current_device()))
    dist.all_reduce(values, op=op)
    return values.cpu()


def barrier(world: World) -> None:
    if world.distributed:
        torch.distributed.barrier()


def dropout_seed(seed: int, step: int, rank: int) -> int:
    """A seed for rank `rank`'s dropout stream from `step` on, independent of the other ranks'."""
    return int(
        np.random.SeedSequence([int(seed) % 2**63, int(step), int(rank)]).generate_state(1, np.uint64)[0]
    )


def separate_dropout_streams(world: World, seed: int, step: int) -> None:
    """Reseed torch's global generator on ranks > 0 (rank 0 keeps the single-process stream)."""
    if world.rank > 0:
        torch.manual_seed(dropout_seed(seed, step, world.rank))


__all__ = [
    "SINGLE",
    "World",
    "any_rank",
    "barrier",
    "batch_means",
    "check_batch",
    "dropout_seed",
    "env_world",
    "gather_batch",
    "init_from_env",
    "part_loss",
    "rank_device",
    "separate_dropout_streams",
    "shard_noise",
    "shutdown",
    "world",
]
