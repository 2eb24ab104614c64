"""Training throughput on 1 and on K processes (torchrun, gloo, CPU): prints a table and JSON.

    python bench/scale_out_train.py                      # 1 and 2 processes, 3 repeats each
    python bench/scale_out_train.py --nproc 1 2 4 --batch 64 --steps 30 --repeats 5
    python bench/scale_out_train.py --nproc 1 --threads 1     # one process on one core

Each repeat starts `python -m torch.distributed.run --standalone --nproc_per_node K` with torch
threads per process = cores // K, on the quick U-Net of docs/experiment.md (channels 32,
channel_mult (1, 2, 2), one residual block, attention at 8×8, dropout 0) at 32×32 RGB, loss dsm, a
global batch of --batch samples from in-memory trajectories (64 images × 5 bins). After --warmup
steps every rank waits at a barrier, then --steps steps are timed on rank 0 (the steps end in a
collective, so the ranks finish together). Also timed on rank 0: drawing the loss noise of the
global batch against that of the rank's part (the extra random numbers every rank draws so that
all of them share one stream; 200 repeats), the Adam step and EMA update every rank repeats
whatever K is, and an all-reduce of a gradient-sized float32 vector (20 repeats each). The ranks
import the same fpscore as this script (through .ci/with_package.py when it runs from a source
tree).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, sys, time
import numpy as np
import torch
import fpscore
from fpscore.data.dataset import InMemoryDataset
from fpscore.training import distributed
from fpscore.training.config import Config
from fpscore.training.trainer import Trainer

out, batch, steps, warmup, threads = sys.argv[1], *map(int, sys.argv[2:6])
torch.set_num_threads(threads)
cfg = Config().override([
    "model.image_channels=3", "model.image_size=32", "model.channels=32", "model.channel_mult=[1, 2, 2]",
    "model.num_res_blocks=1", "model.attn_resolutions=[8]", "model.dropout=0", "loss.spec=dsm",
    f"train.batch_size={batch}", "train.progress=false", "train.checkpoint_every=1000000",
    "train.log_every=1000000", "train.lr=2e-3", "train.warmup=100",
])
rng = np.random.default_rng(0)
trajectories = rng.random((5, 64, 3, 32, 32)).astype(np.float32)
trainer = Trainer(cfg, InMemoryDataset(trajectories, sde=fpscore.VESDE(2.0)), out_dir=out + "/run")
world = trainer.world
for _ in range(warmup):
    trainer.train_step()
distributed.barrier(world)
start = time.perf_counter()
for _ in range(steps):
    trainer.train_step()
distributed.barrier(world)
seconds = time.perf_counter() - start


def mean_ms(work, repeats=20):
    t0 = time.perf_counter()
    for _ in range(repeats):
        work()
    return 1e3 * (time.perf_counter() - t0) / repeats


# the work every rank repeats whatever K is (Adam, EMA), and the gradient all-reduce DDP adds
replicated_ms = mean_ms(lambda: (trainer.optimizer.step(), trainer.ema.update(trainer.model)))
grads = torch.zeros(sum(p.numel() for p in trainer.model.parameters()))
allreduce_ms = mean_ms(lambda: torch.distributed.all_reduce(grads)) if world.distributed else 0.0
if world.is_main:
    def draw_seconds(rows):
        g = torch.Generator().manual_seed(0)
        t0 = time.perf_counter()
        for _ in range(200):
            trainer.images.sample_times(rows, g)
            torch.randint(64, (rows,), generator=g)
            trainer.objective.draw((rows, 3, 32, 32), g, dtype=torch.float32, device="cpu")
        return (time.perf_counter() - t0) / 200
    result = {
        "processes": world.size, "threads": threads, "batch": batch, "steps": steps,
        "seconds": seconds, "steps_per_s": steps / seconds,
        "draw_global_ms": 1e3 * draw_seconds(batch), "draw_part_ms": 1e3 * draw_seconds(batch // world.size),
        "replicated_ms": replicated_ms, "allreduce_ms": allreduce_ms, "parameters": grads.numel(),
    }
    open(out + "/result.json", "w").write(json.dumps(result))
distributed.shutdown()
"""


def python_under_test() -> list[str]:
    helper = REPO / ".ci" / "with_package.py"
    if helper.is_file() and (REPO / "python" / "fpscore").is_dir():
        return [sys.executable, str(helper), str(REPO / "python")]
    return [sys.executable]


def run_once(nproc: int, args: argparse.Namespace) -> dict:
    threads = args.threads or max(1, (os.cpu_count() or 1) // nproc)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if Path("/sys/class/net/lo").exists():
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
        cmd += ["--no-python", *python_under_test(), "-c", WORKER, out]
        cmd += [str(args.batch), str(args.steps), str(args.warmup), str(threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise SystemExit(f"{nproc} processes failed:\n{proc.stderr[-4000:]}")
        return json.loads((Path(out) / "result.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nproc", type=int, nargs="+", default=[1, 2], help="process counts (default 1 2)")
    p.add_argument("--batch", type=int, default=64, help="global batch (default 64)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per run (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--repeats", type=int, default=3, help="runs per process count (default 3)")
    p.add_argument("--threads", type=int, help="torch threads per process (default cores // processes)")
    args = p.parse_args()
    rows = {k: [] for k in args.nproc}
    for _ in range(args.repeats):  # interleaved, so slow drifts of the machine's load hit every count
        for k in args.nproc:
            rows[k].append(run_once(k, args))
            print(json.dumps(rows[k][-1]), flush=True)
    base = statistics.median(r["steps_per_s"] for r in rows[args.nproc[0]])
    cores = os.cpu_count()
    print(f"\nglobal batch {args.batch}, {args.steps} timed steps, {args.repeats} repeats, {cores} cores")
    print("| processes | threads each | steps/s median (min–max) | speed-up | noise draw global/part (ms) "
          "| Adam + EMA (ms) | gradient all-reduce (ms) |")
    print("|---|---|---|---|---|---|---|")
    for k, rs in rows.items():
        rate = [r["steps_per_s"] for r in rs]
        draw_g = statistics.median(r["draw_global_ms"] for r in rs)
        draw_p = statistics.median(r["draw_part_ms"] for r in rs)
        print(
            f"| {k} | {rs[0]['threads']} | {statistics.median(rate):.3f} ({min(rate):.3f}–{max(rate):.3f}) "
            f"| {statistics.median(rate) / base:.2f} | {draw_g:.2f} / {draw_p:.2f} "
            f"| {statistics.median(r['replicated_ms'] for r in rs):.1f} "
            f"| {statistics.median(r['allreduce_ms'] for r in rs):.1f} |"
        )


if __name__ == "__main__":
    main()
