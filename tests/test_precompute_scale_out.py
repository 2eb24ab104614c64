"""Pre-computation by parts (`shard="i/n"`, `merge_caches`) and on a Dask cluster: each must write
the bytes a single-process run writes; bad merges are refused naming the parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fpscore
from fpscore import cli
from fpscore.embedding.precompute import parse_shard, shard_range

IMAGES = np.random.default_rng(21).random((11, 2, 10, 10)).astype(np.float32)
OPTIONS = {"n_steps": 4, "shard_size": 2, "progress": False}
SDE = fpscore.VESDE(2.0)


def shard_files(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cache.glob("*_*.npy"))}


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("single") / "cache"
    fpscore.precompute(IMAGES, cache, SDE, store_scores=True, **OPTIONS)
    return cache


def test_shard_ranges_split_every_shard_once() -> None:
    for n_shards in (1, 5, 6, 17):
        for count in (1, 2, 3, 7):
            ranges = [shard_range((i, count), n_shards) for i in range(count)]
            covered = [k for a, b in ranges for k in range(a, b)]
            assert covered == list(range(n_shards))
            assert max(b - a for a, b in ranges) - min(b - a for a, b in ranges) <= 1
    assert parse_shard("2/5") == (2, 5) and parse_shard((0, 1)) == (0, 1) and parse_shard(None) is None
    for bad in ("5/5", "-1/3", "a/b", "1", (1, 0), (True, 2), "1/2/3"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


def test_parts_in_parallel_then_merged_equal_one_run(tmp_path: Path, single: Path) -> None:
    # two processes at once, as a job array runs them
    np.save(tmp_path / "images.npy", IMAGES)
    code = (
        "import sys, numpy as np, fpscore\n"
        "fpscore.precompute(np.load(sys.argv[1]), sys.argv[2], fpscore.VESDE(2.0), shard=sys.argv[3],\n"
        "                   store_scores=True, n_steps=4, shard_size=2, progress=False)\n"
    )
    parts = [tmp_path / f"part{i}" for i in range(2)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "images.npy"), str(p), f"{i}/2"], env=env
        )
        for i, p in enumerate(parts)
    ]
    assert [c.wait(timeout=300) for c in children] == [0, 0]
    with pytest.raises(ValueError, match=r"part 0 of 2.*merge-caches"):
        fpscore.open_cache(parts[0])
    summary = fpscore.merge_caches(tmp_path / "merged", parts[::-1])
    merged = tmp_path / "merged"
    assert shard_files(merged) == shard_files(single)
    assert summary.num_shards == 6 and summary.linked_files == 12 and summary.copied_files == 0
    # same inode: nothing copied
    assert (merged / "embedded_00000.npy").stat().st_ino == (parts[0] / "embedded_00000.npy").stat().st_ino
    old, new = (json.loads((c / "manifest.json").read_text()) for c in (single, merged))
    for key in ("parameters", "data", "times", "levels", "num_shards", "shards", "complete"):
        assert new[key] == old[key], key
    cache = fpscore.open_cache(merged, verify=True)
    np.testing.assert_array_equal(cache.trajectory(10), fpscore.open_cache(single).trajectory(10))

    copied = fpscore.merge_caches(tmp_path / "copied", parts, copy=True)
    assert copied.linked_files == 0 and copied.copied_files == 12
    assert shard_files(tmp_path / "copied") == shard_files(single)


def test_cli_shard_and_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "images.npy", IMAGES)
    common = ["--sigma", "2", "--n-steps", "4", "--shard-size", "2", "--store-scores", "--no-progress"]
    common += ["--layout", "NCHW"]
    for i in range(3):
        args = ["precompute", str(tmp_path / "images.npy"), str(tmp_path / f"p{i}"), "--sde", "ve", *common]
        assert cli.main([*args, "--shard", f"{i}/3"]) == 0
    assert cli.main(["merge-caches", str(tmp_path / "m"), *(str(tmp_path / f"p{i}") for i in range(3))]) == 0
    assert "6 shards from 3 parts" in capsys.readouterr().out
    assert cli.main([*args[:2], str(tmp_path / "one"), *args[3:]]) == 0
    assert shard_files(tmp_path / "m") == shard_files(tmp_path / "one")
    # a gap names the missing part
    assert cli.main(["merge-caches", str(tmp_path / "gap"), str(tmp_path / "p0"), str(tmp_path / "p2")]) == 2
    assert "--shard 1/3" in capsys.readouterr().err


def test_bad_merges_are_refused(tmp_path: Path) -> None:
    run = lambda path, **kw: fpscore.precompute(IMAGES, tmp_path / path, SDE, **{**OPTIONS, **kw})  # noqa: E731
    run("a0", shard="0/2")
    run("a1", shard="1/2")
    run("b0", shard="0/3")  # shards 0..1
    run("b1", shard="1/3")  # shards 2..3
    run("other", shard="1/2", n_steps=5)
    with pytest.raises(ValueError, match=r"gap: shards 4\.\.5 .*--shard 2/3"):
        fpscore.merge_caches(tmp_path / "m1", [tmp_path / "b0", tmp_path / "b1"])
    with pytest.raises(ValueError, match=r"overlap: shards 0\.\.1 are in each of .*a0.*b0"):
        fpscore.merge_caches(tmp_path / "m2", [tmp_path / "a0", tmp_path / "b0", tmp_path / "a1"])
    with pytest.raises(ValueError, match=r"(?s)not the same pre-computation.*n_steps: 4 → 5"):
        fpscore.merge_caches(tmp_path / "m3", [tmp_path / "a0", tmp_path / "other"])
    with pytest.raises(ValueError, match="a new folder"):
        fpscore.merge_caches(tmp_path / "a0", [tmp_path / "a0", tmp_path / "a1"])
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        fpscore.merge_caches(tmp_path / "busy", [tmp_path / "a0", tmp_path / "a1"])
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    # an unfinished part, and a damaged file
    manifest = json.loads((tmp_path / "a1" / "manifest.json").read_text())
    (tmp_path / "a1" / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    with pytest.raises(ValueError, match=r"a1 \(shard 1/2\) is unfinished"):
        fpscore.merge_caches(tmp_path / "m4", [tmp_path / "a0", tmp_path / "a1"])
    (tmp_path / "a1" / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "a1" / "embedded_00004.npy").write_bytes(b"damaged")
    with pytest.raises(ValueError, match="shard 4 is damaged"):
        fpscore.merge_caches(tmp_path / "m5", [tmp_path / "a0", tmp_path / "a1"])
    # the part is resumed: only the damaged shard is computed again, then the merge works
    with pytest.warns(UserWarning, match="shard 4 is damaged"):
        again = run("a1", shard="1/2")
    assert again.computed_shards == 1
    fpscore.merge_caches(tmp_path / "m5", [tmp_path / "a0", tmp_path / "a1"])
    with pytest.raises(ValueError, match="already holds a cache"):
        fpscore.merge_caches(tmp_path / "m5", [tmp_path / "a0", tmp_path / "a1"])


def test_a_part_differs_from_another_part_and_resumes_as_itself(tmp_path: Path) -> None:
    fpscore.precompute(IMAGES, tmp_path / "p", SDE, shard="0/2", **OPTIONS)
    with pytest.raises(ValueError, match=r"slice\.index: 0 → 1"):
        fpscore.precompute(IMAGES, tmp_path / "p", SDE, shard="1/2", **OPTIONS)
    assert fpscore.precompute(IMAGES, tmp_path / "p", SDE, shard="0/2", **OPTIONS).computed_shards == 0


def test_dask_local_cluster_equals_one_process(tmp_path: Path, single: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        summary = fpscore.precompute(
            IMAGES, tmp_path / "d", SDE, store_scores=True, scheduler="dask", dask_address=client, **OPTIONS
        )
        assert summary.computed_shards == 6
        assert shard_files(tmp_path / "d") == shard_files(single)
        # by address, and resumed: a lost shard is computed again, the rest kept
        (tmp_path / "d" / "embedded_00003.npy").unlink()
        with pytest.warns(UserWarning, match="shard 3 is damaged"):
            again = fpscore.precompute(
                IMAGES,
                tmp_path / "d",
                SDE,
                store_scores=True,
                scheduler="dask",
                dask_address=cluster.scheduler_address,
                **OPTIONS,
            )
        assert again.computed_shards == 1 and shard_files(tmp_path / "d") == shard_files(single)
        # the command line, by address
        np.save(tmp_path / "images.npy", IMAGES)
        args = ["precompute", str(tmp_path / "images.npy"), "--layout", "NCHW", "--sde", "ve", "--sigma", "2"]
        args += ["--n-steps", "4", "--shard-size", "2", "--no-progress"]
        assert cli.main([*args, str(tmp_path / "cli-dask"), "--dask", cluster.scheduler_address]) == 0
        assert cli.main([*args, str(tmp_path / "cli-local")]) == 0
        assert shard_files(tmp_path / "cli-dask") == shard_files(tmp_path / "cli-local")
        # a solver failure on a worker comes back naming the shard
        with pytest.raises(fpscore.ConvergenceError, match=r"shard \d"):
            fpscore.precompute(
                IMAGES,
                tmp_path / "e",
                SDE,
                scheduler="dask",
                dask_address=client,
                **{**OPTIONS, "max_iter": 1, "tol": 1e-15},
            )


def test_dask_needs_a_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    with pytest.raises(ValueError, match="needs a cluster"):
        fpscore.precompute(IMAGES, tmp_path / "x", SDE, scheduler="dask", **OPTIONS)
    with pytest.raises(ValueError, match="scheduler must be"):
        fpscore.precompute(IMAGES, tmp_path / "y", SDE, scheduler="ray", **OPTIONS)


class _DieOnce:
    """A worker plugin: the worker that starts shard 1 first exits at once (a killed worker)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def setup(self, worker: object) -> None:
        pass

    def teardown(self, worker: object) -> None:
        pass

    def transition(self, key: object, start: str, finish: str, **kwargs: object) -> None:
        if finish == "executing" and str(key).startswith("fpscore-shard-1-"):
            try:
                os.unlink(self.marker)  # only the first worker to get here dies
            except FileNotFoundError:
                return
            os._exit(1)


def test_dask_a_killed_workers_shard_is_computed_again(tmp_path: Path, single: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from distributed import Client, LocalCluster, WorkerPlugin

    plugin = type("DieOnce", (_DieOnce, WorkerPlugin), {})(str(tmp_path / "die"))
    (tmp_path / "die").write_text("")
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(plugin)
        fpscore.precompute(
            IMAGES, tmp_path / "d", SDE, store_scores=True, scheduler="dask", dask_address=client, **OPTIONS
        )
    assert not (tmp_path / "die").exists()  # a worker did die
    assert shard_files(tmp_path / "d") == shard_files(single)
