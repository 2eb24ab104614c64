"""Which thread setting MKL PARDISO obeys, checked by timing: prints a small table.

    python bench/pardiso_threads.py

Each case runs in a fresh process (MKL reads MKL_NUM_THREADS once, when it loads): the thread
count MKL reports after loading, and the median of 5 PARDISO solves from scratch (phase 13) of the
3-D Poisson matrix 40³, with MKL left as loaded or set by MKL_Set_Num_Threads(k) afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import os, sys, time
import numpy as np
sys.path.insert(0, {bench!r})
import pypardiso
lib = pypardiso.PyPardisoSolver().libmkl
loaded = int(lib.MKL_Get_Max_Threads())
from pyamg import gallery
import peer_pardiso  # pins one thread on import
set_to = {set_to!r}
peer_pardiso.set_threads(loaded if set_to is None else set_to)
A = gallery.poisson((40, 40, 40), format="csr").tocsr()
b = A @ np.random.default_rng(0).standard_normal(A.shape[0])
times = []
for _ in range(5):
    t = time.perf_counter()
    x = peer_pardiso.pardiso_solve(A, b)
    times.append(time.perf_counter() - t)
assert np.max(np.abs(A @ x - b)) <= 1e-10 * np.max(np.abs(b))
print(loaded, peer_pardiso.max_threads(), f"{{np.median(times) * 1e3:.0f}}")
"""

CASES = [  # (MKL_NUM_THREADS in the environment, MKL_Set_Num_Threads after loading)
    (None, None),
    ("1", None),
    ("2", None),
    (None, 1),
    (None, 2),
    ("2", 1),
]


def main() -> int:
    bench = str(Path(__file__).resolve().parent)
    print("| MKL_NUM_THREADS | MKL_Set_Num_Threads | threads at load | threads used | phase 13, 40³ |")
    print("|---|---|---:|---:|---:|")
    for env_value, set_to in CASES:
        env = {k: v for k, v in os.environ.items() if k != "MKL_NUM_THREADS"}
        if env_value is not None:
            env["MKL_NUM_THREADS"] = env_value
        out = subprocess.run(
            [sys.executable, "-c", CHILD.format(bench=bench, set_to=set_to)],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.split()
        print(f"| {env_value or 'unset'} | {set_to or '—'} | {out[0]} | {out[1]} | {out[2]} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
