"""Kernel levels (FPSCORE_SIMD): each level the CPU runs is selectable, reported, and agrees with
the others to round-off on the same sparse systems and Fokker–Planck problems.

Each level runs in its own process: the level is read once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fpscore

LEVELS = ("baseline", "avx2", "avx512")

# Solves the same problems as every level: packs of 8 + 3 (AVX-512) or 4 + 4 + 3 lanes,
# single and two-thread SparseLU, many right-hand sides, both schemes and iterations.
_PROGRAM = textwrap.dedent(
    """
    import sys
    import numpy as np
    import scipy.sparse as sp
    import fpscore

    out = {"level": np.array(fpscore.simd_level())}
    rng = np.random.default_rng(7)
    m0 = rng.normal(scale=0.5, size=(11, 12, 13))
    for scheme in ("central", "upwind"):
        for iteration in ("picard", "policy"):
            sol = fpscore.solve_log_density(
                m0, fpscore.VESDE(2.0), n_steps=4, T=1.0, h=1.0, bc="zero", scheme=scheme,
                iteration=iteration, tol=1e-12,
            )
            out[f"fp_{scheme}_{iteration}"] = sol.m
            out[f"score_{scheme}_{iteration}"] = sol.score
    mats, rhs = [], []
    for k in range(11):
        A, b = fpscore.fp_system(
            rng.normal(size=(20, 23)), rng.normal(size=(20, 23)), g=1.0 + 0.1 * k, dt=0.05, h=0.7,
            bc="neumann",
        )
        A.sort_indices()
        mats.append(A)
        rhs.append(b)
    lu = fpscore.BatchedLU(mats[0], len(mats))
    out["lanes"] = np.array(lu.lanes)
    out["batched"] = lu.factor_solve(np.stack([A.data for A in mats]), np.stack(rhs))
    A = mats[3]
    out["sparse"] = fpscore.SparseLU(A).solve(rhs[3])
    out["sparse_2threads"] = fpscore.SparseLU(A, threads=2).solve(rhs[3])
    out["sparse_many"] = fpscore.SparseLU(A).solve(np.stack(rhs, axis=1))
    big = sp.random(400, 400, density=0.01, random_state=4, format="csr") + sp.eye(400) * 8.0
    big = sp.csr_matrix(big)
    out["sparse_unstructured"] = fpscore.SparseLU(big, ordering="minimum_degree").solve(np.ones(400))
    np.savez(sys.argv[1], **out)
    """
)


def _run(level: str | None, out: Path, code: str = _PROGRAM) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("FPSCORE_SIMD", None)
    if level is not None:
        env["FPSCORE_SIMD"] = level
    return subprocess.run(
        [sys.executable, "-c", code, str(out)], env=env, capture_output=True, text=True, timeout=300
    )


def test_level_is_reported_and_supported():
    levels = fpscore.simd_levels()
    assert levels[0] == "baseline"
    assert list(levels) == [name for name in LEVELS if name in levels]
    assert fpscore.simd_level() in levels
    if "FPSCORE_SIMD" not in os.environ:
        assert fpscore.simd_level() == levels[-1]  # the CPU's best by default


def test_every_level_agrees_to_round_off(tmp_path):
    results = {}
    for level in fpscore.simd_levels():
        done = _run(level, tmp_path / f"{level}.npz")
        assert done.returncode == 0, done.stderr
        with np.load(tmp_path / f"{level}.npz") as f:
            results[level] = {key: f[key] for key in f.files}
        assert str(results[level]["level"]) == level  # the level asked for is the one that ran
        assert int(results[level]["lanes"]) == (8 if level == "avx512" else 4)
    best = fpscore.simd_levels()[-1]
    for level, got in results.items():
        for key, ref in results[best].items():
            if key in ("level", "lanes"):
                continue
            scale = np.abs(ref).max()
            diff = np.abs(got[key] - ref).max()
            assert diff <= 1e-12 * scale, f"{key}: level {level} differs from {best} by {diff / scale:.2e}"


@pytest.mark.parametrize("value", ["sse9", "AVX2", "avx-512"])
def test_unknown_level_is_an_error(tmp_path, value):
    code = textwrap.dedent(
        """
        import numpy as np, scipy.sparse as sp, fpscore
        for call in (fpscore.simd_level, lambda: fpscore.SparseLU(sp.eye(5, format="csr")),
                     lambda: fpscore.BatchedLU(sp.eye(5, format="csr"), 2),
                     lambda: fpscore.solve_log_density(np.zeros((4, 4)), fpscore.VESDE(2.0), n_steps=2)):
            try:
                call()
            except ValueError as e:
                print("ValueError:", e)
            else:
                print("no error")
        """
    )
    done = _run(value, tmp_path / "unused", code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 4
    for line in lines:
        assert line.startswith("ValueError:"), line
        assert f"FPSCORE_SIMD={value} is not a kernel level" in line
        assert "baseline, avx2, avx512" in line


def test_auto_and_empty_mean_the_best_level(tmp_path):
    code = "import fpscore; print(fpscore.simd_level())"
    for value in ("auto", ""):
        done = _run(value, tmp_path / "unused", code)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == fpscore.simd_levels()[-1]


def test_level_the_cpu_lacks_is_an_error(tmp_path):
    missing = [name for name in LEVELS if name not in fpscore.simd_levels()]
    if not missing:
        pytest.skip("this CPU runs every kernel level")
    code = textwrap.dedent(
        """
        import fpscore
        try:
            fpscore.simd_level()
        except ValueError as e:
            print(e)
        """
    )
    done = _run(missing[-1], tmp_path / "unused", code)
    assert done.returncode == 0, done.stderr
    assert "asks for a kernel level this CPU (or build) lacks" in done.stdout
