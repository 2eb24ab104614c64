"""The pre-computation cache: content, resumption after SIGKILL, parameter changes, the CLI,
the PNG, and the torch dataset."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import fpscore
from fpscore import cli

RNG = np.random.default_rng(11)
IMAGES = RNG.random((7, 3, 12, 12)).astype(np.float32)
FAST = {"n_steps": 5, "shard_size": 3, "progress": False}


def _shard_bytes(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cache.glob("*_*.npy"))}


def test_cache_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("fpscore.embedding.precompute")
    calls: list[tuple[int, ...]] = []

    def counting_solve(m0: np.ndarray, *args: object, **kwargs: object) -> fpscore.FPSolution:
        calls.append(np.shape(m0))
        return fpscore.solve_log_density(m0, *args, **kwargs)

    monkeypatch.setattr(module, "solve_log_density", counting_solve)
    sde = fpscore.VESDE(2.0)
    summary = fpscore.precompute(IMAGES, tmp_path / "c", sde, **FAST)
    assert calls == [(3, 3, 12, 12), (3, 3, 12, 12), (1, 3, 12, 12)]  # one solve per shard
    assert (summary.num_images, summary.num_shards, summary.computed_shards) == (7, 3, 3)
    assert summary.cache_bytes > 0 and "7 images in 3 shards" in str(summary)
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["fpscore_version"] == fpscore.__version__
    params = manifest["parameters"]
    assert params["sde"] == {"type": "VESDE", "sigma": 2.0}
    for key in ("n_steps", "T", "h", "bc", "scheme", "iteration", "tol", "init", "init_params", "reduce"):
        assert key in params
    assert (params["dtype"], params["shard_size"], params["n_steps"]) == ("float32", 3, 5)
    assert manifest["data"]["num_images"] == 7 and manifest["data"]["source"] == {"kind": "array"}
    assert [(s["start"], s["stop"]) for s in manifest["shards"]] == [(0, 3), (3, 6), (6, 7)]
    assert sorted(p.name for p in (tmp_path / "c").glob("*.npy")) == [
        f"embedded_0000{k}.npy" for k in range(3)
    ]

    # each shard is the direct pipeline on its images (one solve for the whole shard)
    for entry in manifest["shards"]:
        part = IMAGES[entry["start"] : entry["stop"]]
        sol = fpscore.solve_log_density(fpscore.initial_log_density(part), sde, n_steps=5)
        expected = np.moveaxis(fpscore.embed(part, sol, sde), 0, 1).astype(np.float32)
        stored = np.load(tmp_path / "c" / entry["embedded"])
        assert stored.shape == (len(part), 6, 3, 12, 12) and stored.dtype == np.float32
        np.testing.assert_array_equal(stored, expected)

    cache = fpscore.open_cache(tmp_path / "c", verify=True)
    assert len(cache) == 7 and cache.num_bins == 6 and cache.image_shape == (3, 12, 12)
    np.testing.assert_array_equal(cache.trajectory(4)[0], IMAGES[4])
    np.testing.assert_allclose(cache.times, np.linspace(0, 1, 6))
    with pytest.raises(ValueError, match="no scores"):
        cache.score(0)


def test_dtypes_and_scores(tmp_path: Path) -> None:
    sde = fpscore.VPSDE(0.1, 5.0)
    fpscore.precompute(IMAGES[:2], tmp_path / "a", sde, dtype="float64", store_scores=True, **FAST)
    fpscore.precompute(IMAGES[:2], tmp_path / "b", sde, dtype="float16", **FAST)
    full = np.load(tmp_path / "a" / "embedded_00000.npy")
    half = np.load(tmp_path / "b" / "embedded_00000.npy")
    assert full.dtype == np.float64 and half.dtype == np.float16
    np.testing.assert_allclose(half, full, atol=2e-3)
    score = np.load(tmp_path / "a" / "score_00000.npy")
    assert score.shape == (2, 6, 3, 2, 12, 12)
    sol = fpscore.solve_log_density(fpscore.initial_log_density(IMAGES[:2]), sde, n_steps=5)
    np.testing.assert_array_equal(score, np.moveaxis(sol.score, 0, 1))
    np.testing.assert_array_equal(fpscore.open_cache(tmp_path / "a").score(1), score[1])


_CHILD = textwrap.dedent(
    """
    import importlib, sys, time
    import numpy as np
    import fpscore

    module = importlib.import_module("fpscore.embedding.precompute")
    solve = module.solve_log_density

    def slow_solve(*args, **kwargs):  # the same solve, slowed down so the parent can kill mid-run
        time.sleep(0.5)
        return solve(*args, **kwargs)

    module.solve_log_density = slow_solve
    images = np.random.default_rng(5).random((12, 3, 12, 12)).astype(np.float32)
    fpscore.precompute(images, sys.argv[1], fpscore.VESDE(2.0), n_steps=5, shard_size=2, progress=False)
    """
)


def _run_killed(cache: Path) -> int:
    """Start the pre-computation in a child, SIGKILL it once a shard is recorded; shards recorded."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(cache)], stderr=subprocess.PIPE)
    manifest = cache / "manifest.json"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if manifest.exists():
                shards = json.loads(manifest.read_text())["shards"]
                if shards:
                    os.kill(child.pid, signal.SIGKILL)
                    break
            if child.poll() is not None:
                pytest.fail(f"the child ended before it could be killed: {child.stderr.read().decode()}")
            time.sleep(0.01)
        else:
            pytest.fail("no shard recorded within 60 s")
    finally:
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return len(json.loads(manifest.read_text())["shards"])


def test_resume_after_sigkill_is_bit_identical(tmp_path: Path) -> None:
    images = np.random.default_rng(5).random((12, 3, 12, 12)).astype(np.float32)
    killed = tmp_path / "killed"
    recorded = _run_killed(killed)
    manifest = json.loads((killed / "manifest.json").read_text())
    assert 1 <= recorded < 6 and manifest["complete"] is False
    for entry in manifest["shards"]:  # what is recorded is whole
        assert np.load(killed / entry["embedded"]).shape == (2, 6, 3, 12, 12)
    # debris a kill can leave: a half-written temporary file and an unrecorded shard file
    (killed / f".embedded_00005.npy.{os.getpid()}.tmp").write_bytes(b"partial")
    (killed / "embedded_00005.npy").write_bytes(b"garbage, never recorded")

    summary = fpscore.precompute(images, killed, fpscore.VESDE(2.0), n_steps=5, shard_size=2, progress=False)
    assert summary.computed_shards == 6 - recorded and summary.num_shards == 6
    fresh = tmp_path / "fresh"
    fpscore.precompute(images, fresh, fpscore.VESDE(2.0), n_steps=5, shard_size=2, progress=False)

    assert not list(killed.glob("*.tmp")) and not list(killed.glob(".*.tmp"))
    assert _shard_bytes(killed) == _shard_bytes(fresh)
    assert len(_shard_bytes(fresh)) == 6
    assert (killed / "manifest.json").read_text() == (fresh / "manifest.json").read_text()


def test_changed_parameters_are_refused(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    fpscore.precompute(IMAGES, cache, fpscore.VESDE(2.0), **FAST)
    before = _shard_bytes(cache)
    with pytest.raises(
        ValueError, match=r"(?s)parameters\.n_steps: 5 → 6.*parameters\.sde\.sigma: 2\.0 → 3\.0"
    ):
        fpscore.precompute(IMAGES, cache, fpscore.VESDE(3.0), **{**FAST, "n_steps": 6})
    with pytest.raises(ValueError, match=r"(?s)parameters\.reduce: 'sum' → 'x'.*overwrite=True"):
        fpscore.precompute(IMAGES, cache, fpscore.VESDE(2.0), reduce="x", **FAST)
    with pytest.raises(ValueError, match=r"data\.sha256"):
        fpscore.precompute(IMAGES[::-1].copy(), cache, fpscore.VESDE(2.0), **FAST)
    assert _shard_bytes(cache) == before  # refused before touching anything

    again = fpscore.precompute(IMAGES, cache, fpscore.VESDE(2.0), **FAST)
    assert again.computed_shards == 0 and _shard_bytes(cache) == before

    fpscore.precompute(IMAGES, cache, fpscore.VESDE(3.0), overwrite=True, **{**FAST, "shard_size": 4})
    fpscore.precompute(IMAGES, tmp_path / "new", fpscore.VESDE(3.0), **{**FAST, "shard_size": 4})
    assert _shard_bytes(cache) == _shard_bytes(tmp_path / "new")
    assert len(_shard_bytes(cache)) == 2  # the 3 old shard files are gone


def test_busy_and_incomplete_caches(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    cache = tmp_path / "c"
    cache.mkdir()
    with open(cache / ".lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        with pytest.raises(RuntimeError, match="another pre-computation"):
            fpscore.precompute(IMAGES, cache, fpscore.VESDE(2.0), **FAST)
    manifest = {"format": "fpscore-embedding-cache", "format_version": 1, "complete": False, "shards": []}
    (cache / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="incomplete"):
        fpscore.open_cache(cache)
    with pytest.raises(FileNotFoundError, match="not an fpscore cache"):
        fpscore.open_cache(tmp_path)


def test_precompute_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        fpscore.precompute(IMAGES[0], tmp_path, fpscore.VESDE(2.0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fpscore.precompute(IMAGES * 255, tmp_path, fpscore.VESDE(2.0))
    with pytest.raises(ValueError, match="unknown dtype"):
        fpscore.precompute(IMAGES, tmp_path, fpscore.VESDE(2.0), dtype="int8")
    with pytest.raises(ValueError, match="square"):
        fpscore.precompute(IMAGES[..., :10], tmp_path, fpscore.VESDE(2.0), init="value-kde")
    assert not (tmp_path / "manifest.json").exists()


def test_cli_precompute_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache, png = tmp_path / "cache", tmp_path / "out" / "embedding.png"
    args = ["precompute", "samples", str(cache), "--count", "3", "--size", "16", "--n-steps", "5"]
    assert cli.main([*args, "--shard-size", "2", "--no-progress", "--store-scores"]) == 0
    out = capsys.readouterr().out
    assert "3 images in 2 shards" in out and "images/s" in out and "cache size" in out
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["data"]["source"]["names"] == ["astronaut", "chelsea", "coffee"]
    assert np.load(cache / "embedded_00000.npy").shape == (2, 6, 3, 16, 16)

    assert cli.main(["show", str(cache), "--out", str(png), "--images", "2", "--times", "3"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fpscore.show_cache(cache, tmp_path / "m.png", images=[2], times=[0, 5], field="magnitude")
    assert (tmp_path / "m.png").stat().st_size > 1000

    assert cli.main([*args, "--shard-size", "3", "--no-progress"]) == 2
    assert "parameters.shard_size: 2 → 3" in capsys.readouterr().err
    assert cli.main([*args, "--shard-size", "2", "--no-progress", "--skip-corrupt"]) == 2
    assert "--skip-corrupt" in capsys.readouterr().err
    assert cli.main([*args, "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"]["n_steps"] == 5
    assert cli.main([*args, "--dry-run", "--shard", "1/4", "--dask", "tcp://head:8786"]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["shard"] == [1, 4] and resolved["scheduler"] == {"dask": "tcp://head:8786"}
    assert cli.main([*args, "--dry-run", "--shard", "4/4"]) == 2
    assert "0 <= i < n" in capsys.readouterr().err


def test_import_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import fpscore\n"
        "try:\n    fpscore.EmbeddedDataset\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install torch==2.13.0" in out


@pytest.mark.torch
def test_embedded_dataset(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    fpscore.precompute(IMAGES, tmp_path, fpscore.VESDE(2.0), **FAST)
    ds = fpscore.EmbeddedDataset(tmp_path)
    assert len(ds) == 7 * 6
    x, n, i = ds[6 * 4 + 2]
    assert (n, i) == (2, 4) and x.dtype == torch.float32 and tuple(x.shape) == (3, 12, 12)
    np.testing.assert_array_equal(x.numpy(), np.load(tmp_path / "embedded_00001.npy")[1, 2])
    assert ds.sde.sigma == 2.0 and len(ds.times) == 6
    last = fpscore.EmbeddedDataset(tmp_path, bins=[5])
    x, n, i = last[0]
    assert len(last) == 7 and n == 5 and i == 0
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=5, shuffle=False)))
    assert tuple(batch[0].shape) == (5, 3, 12, 12) and batch[1].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="bins"):
        fpscore.EmbeddedDataset(tmp_path, bins=[6])


def test_precompute_params(tmp_path: Path) -> None:
    from fpscore.embedding.params import PrecomputeParams

    params = PrecomputeParams(n_steps=5, shard_size=3)
    manifest = params.manifest(fpscore.VESDE(2.0))
    assert manifest["sde"] == {"type": "VESDE", "sigma": 2.0}
    assert manifest["init_params"] == {"sigma_s": 1.0, "eps": 0.01}
    assert (manifest["n_steps"], manifest["shard_size"], manifest["bc"]) == (5, 3, "zero")
    with pytest.raises(ValueError, match="bc"):
        PrecomputeParams(bc="dirichlet")
    with pytest.raises(ValueError, match="unknown scheme"):
        PrecomputeParams(scheme="other")
    with pytest.raises(TypeError, match="sde"):
        params.manifest("VESDE")
    # the object and its fields as keywords write the same cache
    a = fpscore.precompute(IMAGES[:3], tmp_path / "a", fpscore.VESDE(2.0), params, progress=False)
    sde = fpscore.VESDE(2.0)
    b = fpscore.precompute(IMAGES[:3], tmp_path / "b", sde, n_steps=5, shard_size=3, progress=False)
    assert _shard_bytes(a.cache_dir) == _shard_bytes(b.cache_dir)
    c = fpscore.precompute(IMAGES[:3], tmp_path / "c", sde, params, shard_size=2, progress=False)
    assert c.num_shards == 2


def test_progress_is_logged_off_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = importlib.import_module("fpscore.embedding.precompute")
    monkeypatch.setattr(module, "LOG_INTERVAL", 0.0)  # a line per shard
    fpscore.precompute(IMAGES, tmp_path / "c", fpscore.VESDE(2.0), n_steps=5, shard_size=3)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == [f"precompute: {n}/7 images" for n in (3, 6, 7)]
    assert lines[-1].endswith("0:00:00 left") and "images/s" in lines[0]
    fpscore.precompute(IMAGES, tmp_path / "c", fpscore.VESDE(2.0), n_steps=5, shard_size=3)
    assert capsys.readouterr().err == ""  # nothing left to compute, nothing logged


def test_manifest_writes_take_a_bounded_share_of_the_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module("fpscore.embedding.cache_files")
    clock = [0.0]
    written: list[tuple[float, int]] = []

    def slow_write(cache: Path, manifest: dict) -> None:  # a write that takes 1 s of the clock
        written.append((clock[0], len(manifest["shards"])))
        clock[0] += 1.0

    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(module, "write_manifest", slow_write)
    writer = module.ManifestWriter(tmp_path, ratio=4.0)
    for k in range(1, 13):  # a shard every 2 s
        writer.write({"shards": list(range(k))})
        clock[0] += 2.0
    writer.flush()
    # after a 1 s write, the next waits 4 s: every other or third shard, then the last on flush
    assert written == [(0.0, 1), (5.0, 3), (10.0, 5), (15.0, 7), (20.0, 9), (25.0, 11), (30.0, 12)]
    writer.flush()
    assert len(written) == 7  # nothing pending, nothing written
