"""Sizes fpscore's 32-bit indices cannot represent are rejected with ValueError before any data is
converted or copied, never narrowed into a wrong size or a crash.

The inputs are views that fake huge shapes (broadcast_to, zero strides) without memory behind
them; each case runs in a subprocess limited to 3 GiB of address space, so that a copy of such a
view fails there (MemoryError) instead of filling this machine's memory.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fpscore import _core

_PRELUDE = """
import resource
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import numpy as np
import fpscore
from fpscore import _core
huge = np.broadcast_to(0.0, (1, 50000, 50000))  # 2.5e9 cells: (H+2)*(W+2) > 2^31 - 1
indptr = np.lib.stride_tricks.as_strided(np.zeros(1, np.int64), shape=(2**31 + 1,), strides=(0,))
t = np.linspace(0.0, 1.0, 3)
g = np.ones(3)
opts = ("zero", "central", "picard", 1e-8, 5, 1)
try:
    {call}
except ValueError as e:
    print("ValueError:", e)
else:
    print("no error")
"""

CASES = {
    "core_solve_log_density": "_core.solve_log_density(huge, t, g, 1.0, *opts)",
    "core_solve_log_density_batch_0": (
        "_core.solve_log_density(np.zeros((0, 50000, 50000)), t, g, 1.0, *opts)"
    ),
    "core_assemble_fp_system": '_core.assemble_fp_system(huge[0], huge[0], 1.0, 0.1, 1.0, "zero", "central")',
    "core_central_gradient": '_core.central_gradient(huge[0], 1.0, "zero")',
    "solve_log_density": "fpscore.solve_log_density(huge, fpscore.VESDE(2.0), n_steps=2)",
    "fp_system": "fpscore.fp_system(huge[0], huge[0], g=1.0, dt=0.1, h=1.0)",
    "fp_system_lag": "fpscore.fp_system(np.zeros((4, 4)), huge[0], g=1.0, dt=0.1, h=1.0)",
    "sparse_lu_order": "_core.SparseLU(indptr, np.zeros(0, np.int32), np.zeros(0))",
    "batched_lu_order": "_core.BatchedLU(indptr, np.zeros(0, np.int32), 2)",
    "sparse_lu_rhs_count": (
        "_core.SparseLU(np.array([0, 1, 2, 3]), np.array([0, 1, 2], np.int32), np.ones(3)).solve("
        "np.lib.stride_tricks.as_strided(np.zeros(1), shape=(3, 2**31), strides=(0, 0)))"
    ),
}

MESSAGES = {
    "sparse_lu_order": "the matrix order n = len(indptr) - 1 = 2147483648 is too large",
    "batched_lu_order": "the matrix order n = len(indptr) - 1 = 2147483648 is too large",
    "sparse_lu_rhs_count": "number of right-hand sides k = 2147483648 is out of range",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unrepresentable_size_is_a_value_error(case):
    code = textwrap.dedent(_PRELUDE).replace("{call}", CASES[case])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout.strip()
    assert out.startswith("ValueError:"), out
    expected = MESSAGES.get(case, "the grid 50000x50000 is too large")
    assert expected in out, out
    assert "2147483647" in out or "2147483646" in out


def test_grid_limit_is_exported():
    assert _core.MAX_GRID_NODES == 2**31 - 1


def test_grid_just_inside_the_limit_passes_the_size_check():
    # A grid just inside the limit passes the size check (and fails only for its batch, 0).
    side = int(np.sqrt(_core.MAX_GRID_NODES)) - 2
    assert (side + 2) ** 2 <= _core.MAX_GRID_NODES
    t = np.linspace(0.0, 1.0, 3)
    with pytest.raises(ValueError, match="batch must be >= 1"):
        opts = ("zero", "central", "picard", 1e-8, 5, 1)
        _core.solve_log_density(np.zeros((0, side, side)), t, np.ones(3), 1.0, *opts)

