"""The one-time pre-computation of score embeddings, kept in an on-disk cache (DESIGN §5).

images → m⁰ = initial_log_density → solve_log_density → embed, shard by shard.

Cache layout (a folder):

    manifest.json          every parameter, the data description, the finished shards
    embedded_00000.npy     (n, N+1, C, H, W): the embedded trajectories of images start..stop-1
    score_00000.npy        (n, N+1, C, 2, H, W): ∇mⁿ, only with store_scores=True
    .lock                  held (flock) while a pre-computation writes the cache

Shard k holds images [k·shard_size, min((k+1)·shard_size, num_images)): the boundaries depend
only on the parameters, and each shard is solved by one `solve_log_density` call over all its
images × channels, so an interrupted and resumed run writes the same bytes as an uninterrupted
one. Every file is written to a temporary file in the cache folder, fsynced and renamed over its
final name; a shard counts as done only once the manifest (itself written that way) lists it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._atomic import fsync_dir
from .._core import ConvergenceError, SingularMatrixError, __version__
from .._validation import optional_count
from ..data.loaders import ImageSet
from ..numerics.backend import resolve_backend
from ..numerics.solver import FPSolution, solve_log_density
from ..sde import SDE, sde_from_dict
from .cache import FORMAT, FORMAT_VERSION, MANIFEST, read_manifest
from .cache_files import (
    SHARD_KINDS,
    ManifestWriter,
    is_tmp,
    manifest_differences,
    owned_files,
    save_npy,
    shard_name,
    shard_ok,
    writer_lock,
)
from .density import initial_log_density
from .params import PrecomputeParams
from .transport import embed

# --------------------------------------------------------------------------------------------------
# Parameters as JSON
# --------------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """JSON round trip: tuples become lists, so stored and fresh parameters compare equal."""
    return json.loads(json.dumps(value))


# --------------------------------------------------------------------------------------------------
# The pre-computation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrecomputeSummary:
    """What a `precompute` call did. computed_*: in this call (the rest was already in the cache);
    seconds: the call's wall time; images_per_second: computed images per second of it."""

    cache_dir: Path
    num_images: int
    num_shards: int
    computed_images: int
    computed_shards: int
    seconds: float
    cache_bytes: int

    @property
    def images_per_second(self) -> float:
        return self.computed_images / self.seconds if self.seconds > 0 else float("nan")

    def __str__(self) -> str:
        reused = self.num_shards - self.computed_shards
        rate = f"{self.images_per_second:.1f} images/s" if self.computed_images else "nothing to compute"
        return (
            f"{self.cache_dir}: {self.num_images} images in {self.num_shards} shards "
            f"({self.computed_shards} computed now, {reused} already cached); "
            f"{self.seconds:.2f} s, {rate}; cache size {_human_bytes(self.cache_bytes)}"
        )


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _image_set(images: ImageSet | ArrayLike) -> ImageSet:
    if isinstance(images, ImageSet):
        return images
    arr = np.asarray(images)
    if arr.ndim != 4:
        raise ValueError(f"images must be an ImageSet or an array (N, C, H, W), got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"images must be a real array, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("images contain NaN or inf")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"images must have values in [0, 1], got [{float(arr.min()):g}, {float(arr.max()):g}]"
        )
    return ImageSet(np.ascontiguousarray(arr, dtype=np.float32), None, (), {"kind": "array"})


def solve_images(
    images: NDArray[Any], params: Mapping[str, Any], threads: int | None = None, backend: str = "auto"
) -> FPSolution:
    """m⁰ and the Fokker–Planck solve for images (n, C, H, W) with the parameters of a manifest:
    all images × channels in one solver call, on `backend` ("auto", "cpu" or "cuda")."""
    m0 = initial_log_density(images, params["init"], **params["init_params"])
    return solve_log_density(
        m0,
        sde_from_dict(params["sde"]),
        n_steps=params["n_steps"],
        T=params["T"],
        h=params["h"],
        bc=params["bc"],
        scheme=params["scheme"],
        iteration=params["iteration"],
        tol=params["tol"],
        max_iter=params["max_iter"],
        threads=threads,
        backend=backend,
    )


def embed_images(
    images: NDArray[Any], params: Mapping[str, Any], threads: int | None = None, backend: str = "auto"
) -> tuple[NDArray[np.float64], FPSolution]:
    """Images (n, C, H, W) → (embedded trajectories (N+1, n, C, H, W), the solution)."""
    sol = solve_images(images, params, threads, backend)
    return embed(images, sol, sde_from_dict(params["sde"]), reduce=params["reduce"]), sol


def precompute(
    images: ImageSet | ArrayLike,
    cache_dir: str | os.PathLike[str],
    sde: SDE,
    params: PrecomputeParams | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
    threads: int | None = None,
    device: str = "auto",
    shard: str | tuple[int, int] | None = None,
    scheduler: str = "local",
    dask_address: Any = None,
    **options: Any,
) -> PrecomputeSummary:
    """Embed every image and write the trajectories to the cache folder `cache_dir`.

    images: an `ImageSet` from `fpscore.data` (its source description goes into the manifest; a
        lazy one, `fpscore.data.load(..., lazy=True)`, is read shard by shard) or an array
        (N, C, H, W) with values in [0, 1].
    sde: the process of the Fokker–Planck solve and the transport.
    params: a `PrecomputeParams`; options: its fields by name (n_steps=..., shard_size=...), taking
        precedence over `params` (default: the defaults of `PrecomputeParams`).
    overwrite: start over when the cache holds a different computation (otherwise that is a
        ValueError naming the parameters that differ). A cache of the same computation is resumed:
        finished shards are kept, the rest computed.
    progress: a tqdm bar (images/s, time left) on stderr when it is a terminal. threads: solver
        threads (per task on a Dask worker).
    device: where the Fokker–Planck solves run, "auto" (FPSCORE_BACKEND if set, else CUDA when
        available), "cpu" or "cuda"; the cache does not depend on it (results agree to round-off).
    shard: "i/n" or (i, n): compute only part i of n (0 ≤ i < n) — a contiguous run of the cache's
        shards — into a cache of its own, for `merge_caches` to join (a job array's task).
    scheduler: "local" (this process) or "dask": shards are solved on the workers of the
        dask.distributed cluster at `dask_address` (an address or a `distributed.Client`; None: the
        current client) and written here. Every scheduler and shard split writes the same bytes.

    Returns a `PrecomputeSummary` (str() gives a one-line report).
    """
    start_time = time.perf_counter()
    if params is None:
        params = PrecomputeParams(**options)
    elif options:
        params = dataclasses.replace(params, **options)
    parameters = params.manifest(sde)
    threads = optional_count("threads", threads) or None
    backend = resolve_backend(device) if scheduler == "local" else device
    part = parse_shard(shard)
    if scheduler not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {', '.join(map(repr, SCHEDULERS))}, got {scheduler!r}")
    data = _image_set(images)
    n_images = len(data)
    if n_images == 0:
        raise ValueError("no images to pre-compute")
    C, H, W = data.images.shape[1:]
    if H < 3 or W < 3:
        raise ValueError(f"images must be at least 3×3 pixels for the solver, got {H}×{W}")
    if parameters["init"] == "value-kde" and H != W:
        raise ValueError(f"init='value-kde' needs square images (H == W), got {H}×{W}")
    levels = params.stored_levels()
    times = np.linspace(0.0, parameters["T"], parameters["n_steps"] + 1)[levels]
    shard_size = parameters["shard_size"]
    n_shards = -(-n_images // shard_size)
    first, stop = shard_range(part, n_shards)
    identity = _jsonable(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "fpscore_version": __version__,
            "parameters": parameters,
            "data": {
                "source": data.source,
                "num_images": n_images,
                "image_shape": [C, H, W],
                "sha256": data.fingerprint(),
            },
            **({"slice": {"index": part[0], "count": part[1], "shards": [first, stop]}} if part else {}),
        }
    )
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)

    with writer_lock(cache):
        for stale in cache.iterdir():  # left by a run that was killed mid-write
            if is_tmp(stale.name):
                stale.unlink()
        manifest = _resume_or_start(cache, identity, overwrite)
        manifest.update(
            num_images=n_images,
            num_shards=n_shards,
            times=times.tolist(),
            levels=levels,
            layout={
                "embedded": "(n, L, C, H, W): L = len(levels) stored time levels",
                "score": "(n, L, C, 2, H, W)" if parameters["store_scores"] else None,
            },
        )
        done: dict[int, dict[str, Any]] = {}
        for entry in manifest.get("shards", []):
            index = int(entry["index"])
            if first <= index < stop and shard_ok(cache, entry, len(levels), (C, H, W), parameters):
                done[index] = entry
            else:
                warnings.warn(
                    f"cache {cache}: shard {entry['index']} is damaged or missing; computing it again",
                    stacklevel=2,
                )
        writer = ManifestWriter(cache, MANIFEST_WRITE_RATIO)

        def record() -> None:
            manifest["shards"] = [done[j] for j in sorted(done)]
            manifest["complete"] = len(done) == stop - first
            writer.write(manifest)

        record()
        writer.flush()
        todo = [k for k in range(first, stop) if k not in done]
        bounds = {k: shard_bounds(k, shard_size, n_images) for k in range(first, stop)}
        total = sum(b - a for a, b in bounds.values())
        remaining = sum(bounds[k][1] - bounds[k][0] for k in todo)
        computed_images = 0
        writing: tuple[int, Future[dict[str, Any]]] | None = None  # the shard being written

        def finish_write() -> None:
            nonlocal writing, computed_images
            if writing is not None:
                k, future = writing
                writing = None
                done[k] = future.result()
                record()
                computed_images += bounds[k][1] - bounds[k][0]
                if bar is not None:
                    bar.update(bounds[k][1] - bounds[k][0])

        # Shard k's files are written (and fsynced) on a thread while shard k + 1 is solved.
        with _progress_bar(progress, total, total - remaining) as bar, ThreadPoolExecutor(1) as io:
            try:
                read = _reader(data, bounds)
                if scheduler == "dask":
                    from .dask_scheduler import solve_on_dask

                    results = solve_on_dask(dask_address, todo, read, parameters, threads, backend)
                else:
                    results = (
                        (k, _solve_shard(k, bounds[k], read(k), parameters, threads, backend)) for k in todo
                    )
                for k, solved in results:
                    future = io.submit(_write_shard, cache, k, bounds[k], solved)
                    finish_write()
                    writing = (k, future)
                finish_write()
            finally:
                with contextlib.suppress(Exception):  # a write under way when solving failed
                    finish_write()
                writer.flush()

    cache_bytes = sum(e.stat().st_size for e in os.scandir(cache) if e.is_file())
    return PrecomputeSummary(
        cache_dir=cache,
        num_images=n_images,
        num_shards=n_shards,
        computed_images=computed_images,
        computed_shards=len(todo),
        seconds=time.perf_counter() - start_time,
        cache_bytes=cache_bytes,
    )


SCHEDULERS = ("local", "dask")
# The manifest is rewritten once this many times its last write's duration has passed (ManifestWriter).
MANIFEST_WRITE_RATIO = 20.0


def parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """ "i/n" or (i, n) → (i, n), checked 0 ≤ i < n; None stays None."""
    if shard is None:
        return None
    try:
        if isinstance(shard, str):
            index, count = (int(v) for v in shard.split("/"))
        else:
            index, count = shard
    except (TypeError, ValueError):
        raise ValueError(f"shard must be 'i/n' or (i, n), got {shard!r}") from None
    if isinstance(index, bool) or isinstance(count, bool) or not (
        isinstance(index, (int, np.integer)) and isinstance(count, (int, np.integer)) and 0 <= index < count
    ):
        raise ValueError(f"shard i/n needs integers 0 <= i < n, got {shard!r}")
    return int(index), int(count)


def shard_range(part: tuple[int, int] | None, n_shards: int) -> tuple[int, int]:
    """The cache shards [first, stop) of part i of n: n contiguous runs, sizes differing by ≤ 1."""
    if part is None:
        return 0, n_shards
    index, count = part
    return index * n_shards // count, (index + 1) * n_shards // count


def shard_bounds(k: int, shard_size: int, n_images: int) -> tuple[int, int]:
    """The images [start, stop) of cache shard k."""
    return k * shard_size, min((k + 1) * shard_size, n_images)


def _reader(data: ImageSet, bounds: Mapping[int, tuple[int, int]]) -> Any:
    """k → the images of shard k as float32 (n, C, H, W), read from the source only then."""

    def read(k: int) -> NDArray[np.float32]:
        start, stop = bounds[k]
        return np.ascontiguousarray(data.images[start:stop], dtype=np.float32)

    return read


def _resume_or_start(cache: Path, identity: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    """The manifest to continue from: the existing one when it records the same computation."""
    path = cache / MANIFEST
    if path.exists():
        try:
            old = read_manifest(cache)
        except ValueError:
            if not overwrite:
                raise
            old = None
        if old is not None:
            old_identity = {k: old.get(k) for k in identity}
            diff = manifest_differences(old_identity, identity)
            if not diff:
                return {**identity, "shards": old.get("shards", [])}
            if not overwrite:
                shown = "\n  ".join(diff[:20]) + ("\n  ..." if len(diff) > 20 else "")
                raise ValueError(
                    f"the cache {cache} was computed with different parameters (cached → now):\n  {shown}\n"
                    "use another folder, or overwrite=True (CLI: --overwrite) to start over"
                )
    elif any(cache.glob("embedded_*.npy")) and not overwrite:
        raise ValueError(
            f"{cache} holds shard files but no {MANIFEST}: not a cache fpscore can resume; "
            "use overwrite=True (CLI: --overwrite) to start over"
        )
    for p in owned_files(cache):
        p.unlink()
    fsync_dir(cache)
    return {**identity, "shards": []}


def solve_shard(
    images: NDArray[np.float32], params: Mapping[str, Any], threads: int | None, backend: str
) -> dict[str, Any]:
    """The arrays of one shard as the cache stores them: "embedded" (n, L, C, H, W), "score"
    (n, L, C, 2, H, W) when stored, in the cache's dtype, at the stored levels; "max_iterations"."""
    embedded, sol = embed_images(images, params, threads, backend)
    levels = params.get("store_levels", slice(None))
    dtype = np.dtype(params["dtype"])
    out: dict[str, Any] = {
        "max_iterations": int(sol.iterations.max()) if sol.iterations.size else 0,
        "embedded": np.ascontiguousarray(np.moveaxis(embedded[levels], 0, 1), dtype=dtype),
    }
    if params["store_scores"]:
        out["score"] = np.ascontiguousarray(np.moveaxis(sol.score[levels], 0, 1), dtype=dtype)
    return out


def _solve_shard(
    index: int,
    bounds: tuple[int, int],
    images: NDArray[np.float32],
    params: Mapping[str, Any],
    threads: int | None,
    backend: str,
) -> dict[str, Any]:
    try:
        return solve_shard(images, params, threads, backend)
    except (ConvergenceError, SingularMatrixError, ValueError) as err:
        raise type(err)(f"shard {index} (images {bounds[0]}..{bounds[1] - 1}): {err}") from err


def _write_shard(
    cache: Path, index: int, bounds: tuple[int, int], solved: Mapping[str, Any]
) -> dict[str, Any]:
    """Write a solved shard's files (atomically); returns its manifest entry."""
    entry: dict[str, Any] = {
        "index": index,
        "start": bounds[0],
        "stop": bounds[1],
        "max_iterations": solved["max_iterations"],
    }
    for kind in SHARD_KINDS:
        if kind in solved:
            entry[kind] = shard_name(kind, index)
            entry[f"{kind}_sha256"] = save_npy(cache / entry[kind], solved[kind])
    return entry


@contextlib.contextmanager
def _progress_bar(progress: bool, total: int, initial: int) -> Iterator[Any]:
    """A tqdm bar on a terminal; elsewhere (a batch job's log) a line every LOG_INTERVAL seconds."""
    if not progress:
        yield None
    elif sys.stderr.isatty():
        from tqdm.auto import tqdm

        with tqdm(total=total, initial=initial, unit="img", desc="precompute", dynamic_ncols=True) as bar:
            yield bar
    else:
        yield _ProgressLog(total, initial)


LOG_INTERVAL = 60.0


class _ProgressLog:
    """Progress as log lines: images done, images/s of this run, the time left at that rate."""

    def __init__(self, total: int, initial: int) -> None:
        self.total, self.done, self.computed = total, initial, 0
        self.started = self.last = time.monotonic()

    def update(self, n: int) -> None:
        self.done += n
        self.computed += n
        now = time.monotonic()
        if now - self.last >= LOG_INTERVAL or self.done == self.total:
            self.last = now
            rate = self.computed / max(now - self.started, 1e-9)
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            print(
                f"precompute: {self.done}/{self.total} images, {rate:.1f} images/s, "
                f"{_clock(left)} left",
                file=sys.stderr,
                flush=True,
            )


def _clock(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "?"
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}"
