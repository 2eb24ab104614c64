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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._atomic import TMP_SUFFIX, atomic_write, fsync_dir, sha256_file
from .._core import ConvergenceError, SingularMatrixError, __version__
from .._validation import optional_count
from ..data.loaders import ImageSet
from ..numerics.backend import resolve_backend
from ..numerics.solver import FPSolution, solve_log_density
from ..sde import SDE, sde_from_dict
from .cache import FORMAT, FORMAT_VERSION, MANIFEST, read_manifest
from .density import initial_log_density
from .params import PrecomputeParams
from .transport import embed

# --------------------------------------------------------------------------------------------------
# Parameters as JSON
# --------------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """JSON round trip: tuples become lists, so stored and fresh parameters compare equal."""
    return json.loads(json.dumps(value))


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """'key: cached → now' for every leaf that differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                out.append(f"{name}: (absent) → {new[key]!r}")
            elif key not in new:
                out.append(f"{name}: {old[key]!r} → (absent)")
            else:
                out.extend(_differences(old[key], new[key], name))
        return out
    return [] if old == new else [f"{prefix}: {old!r} → {new!r}"]


# --------------------------------------------------------------------------------------------------
# Atomic files
# --------------------------------------------------------------------------------------------------


def _save_npy(path: Path, array: NDArray[Any]) -> str:
    """Write `array` atomically as .npy; returns the SHA-256 of the file."""
    with atomic_write(path, per_process=True) as f:
        np.save(f, array, allow_pickle=False)
    return sha256_file(path)


def _write_manifest(cache: Path, manifest: Mapping[str, Any]) -> None:
    with atomic_write(cache / MANIFEST, per_process=True) as f:
        f.write((json.dumps(manifest, indent=1) + "\n").encode())


@contextlib.contextmanager
def _lock(cache: Path) -> Iterator[None]:
    """Keep a second pre-computation off the same cache (released by the OS if this process dies)."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: run unguarded
        yield
        return
    with open(cache / ".lock", "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError(f"another pre-computation is writing the cache {cache}") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _shard_name(kind: str, index: int) -> str:
    return f"{kind}_{index:05d}.npy"


def _is_tmp(name: str) -> bool:
    """A temporary file of `atomic_write` for one of the cache's files."""
    return name.startswith((".embedded_", ".score_", f".{MANIFEST}.")) and name.endswith(TMP_SUFFIX)


def _owned_files(cache: Path) -> list[Path]:
    """The files a pre-computation writes in `cache` (what overwrite removes)."""
    out = []
    for p in cache.iterdir():
        n = p.name
        if n == MANIFEST or (n.startswith(("embedded_", "score_")) and n.endswith(".npy")) or _is_tmp(n):
            out.append(p)
    return out


def _shard_ok(
    cache: Path, entry: Mapping[str, Any], shape: tuple[int, ...], params: Mapping[str, Any]
) -> bool:
    """A listed shard whose files exist with the expected headers (shape, dtype) and sizes."""
    n = entry["stop"] - entry["start"]
    expected = {"embedded": (n, *shape)}
    if params["store_scores"]:
        expected["score"] = (n, shape[0], shape[1], 2, *shape[2:])
    for kind, kind_shape in expected.items():
        if kind not in entry:
            return False
        try:  # np.load checks that the file is as long as its header says
            arr = np.load(cache / entry[kind], mmap_mode="r")
        except (OSError, ValueError):
            return False
        if arr.shape != kind_shape or arr.dtype != np.dtype(params["dtype"]):
            return False
    return True


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
    **options: Any,
) -> PrecomputeSummary:
    """Embed every image and write the trajectories to the cache folder `cache_dir`.

    images: an `ImageSet` from `fpscore.data` (its source description goes into the manifest) or
        an array (N, C, H, W) with values in [0, 1].
    sde: the process of the Fokker–Planck solve and the transport.
    params: a `PrecomputeParams`; options: its fields by name (n_steps=..., shard_size=...), taking
        precedence over `params` (default: the defaults of `PrecomputeParams`).
    overwrite: start over when the cache holds a different computation (otherwise that is a
        ValueError naming the parameters that differ). A cache of the same computation is resumed:
        finished shards are kept, the rest computed.
    progress: a tqdm bar (images/s) on stderr when it is a terminal. threads: solver threads.
    device: where the Fokker–Planck solves run, "auto" (FPSCORE_BACKEND if set, else CUDA when
        available), "cpu" or "cuda"; the cache does not depend on it (results agree to round-off).

    Returns a `PrecomputeSummary` (str() gives a one-line report).
    """
    start_time = time.perf_counter()
    if params is None:
        params = PrecomputeParams(**options)
    elif options:
        params = dataclasses.replace(params, **options)
    parameters = params.manifest(sde)
    threads = optional_count("threads", threads) or None
    backend = resolve_backend(device)
    data = _image_set(images)
    n_images = len(data)
    if n_images == 0:
        raise ValueError("no images to pre-compute")
    C, H, W = data.images.shape[1:]
    if H < 3 or W < 3:
        raise ValueError(f"images must be at least 3×3 pixels for the solver, got {H}×{W}")
    if parameters["init"] == "value-kde" and H != W:
        raise ValueError(f"init='value-kde' needs square images (H == W), got {H}×{W}")
    times = np.linspace(0.0, parameters["T"], parameters["n_steps"] + 1)
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
        }
    )
    shard_size = parameters["shard_size"]
    n_shards = -(-n_images // shard_size)
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    shape = (len(times), C, H, W)

    with _lock(cache):
        for stale in cache.iterdir():  # left by a run that was killed mid-write
            if _is_tmp(stale.name):
                stale.unlink()
        manifest = _resume_or_start(cache, identity, overwrite)
        manifest.update(
            num_images=n_images,
            num_shards=n_shards,
            times=times.tolist(),
            layout={
                "embedded": "(n, N+1, C, H, W)",
                "score": "(n, N+1, C, 2, H, W)" if parameters["store_scores"] else None,
            },
        )
        done: dict[int, dict[str, Any]] = {}
        for entry in manifest.get("shards", []):
            if _shard_ok(cache, entry, shape, parameters):
                done[int(entry["index"])] = entry
            else:
                warnings.warn(
                    f"cache {cache}: shard {entry['index']} is damaged or missing; computing it again",
                    stacklevel=2,
                )
        manifest["shards"] = [done[k] for k in sorted(done)]
        manifest["complete"] = len(done) == n_shards
        _write_manifest(cache, manifest)

        todo = [k for k in range(n_shards) if k not in done]
        done_images = sum(e["stop"] - e["start"] for e in done.values())
        computed_images = 0
        with _progress_bar(progress, n_images, done_images) as bar:
            for k in todo:
                start, stop = k * shard_size, min((k + 1) * shard_size, n_images)
                entry = _compute_shard(
                    cache, k, start, stop, data.images[start:stop], parameters, threads, backend
                )
                done[k] = entry
                manifest["shards"] = [done[j] for j in sorted(done)]
                manifest["complete"] = len(done) == n_shards
                _write_manifest(cache, manifest)
                computed_images += stop - start
                if bar is not None:
                    bar.update(stop - start)

    cache_bytes = sum(p.stat().st_size for p in cache.iterdir() if p.is_file())
    return PrecomputeSummary(
        cache_dir=cache,
        num_images=n_images,
        num_shards=n_shards,
        computed_images=computed_images,
        computed_shards=len(todo),
        seconds=time.perf_counter() - start_time,
        cache_bytes=cache_bytes,
    )


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
            diff = _differences(old_identity, identity)
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
    for p in _owned_files(cache):
        p.unlink()
    fsync_dir(cache)
    return {**identity, "shards": []}


def _compute_shard(
    cache: Path,
    index: int,
    start: int,
    stop: int,
    images: NDArray[np.float32],
    params: Mapping[str, Any],
    threads: int | None,
    backend: str,
) -> dict[str, Any]:
    try:
        embedded, sol = embed_images(images, params, threads, backend)
    except (ConvergenceError, SingularMatrixError, ValueError) as err:
        raise type(err)(f"shard {index} (images {start}..{stop - 1}): {err}") from err
    dtype = np.dtype(params["dtype"])
    entry: dict[str, Any] = {
        "index": index,
        "start": start,
        "stop": stop,
        "max_iterations": int(sol.iterations.max()) if sol.iterations.size else 0,
    }
    traj = np.ascontiguousarray(np.moveaxis(embedded, 0, 1), dtype=dtype)  # (n, N+1, C, H, W)
    if params["store_scores"]:
        s = np.ascontiguousarray(np.moveaxis(sol.score, 0, 1), dtype=dtype)  # (n, N+1, C, 2, H, W)
        entry["score"] = _shard_name("score", index)
        entry["score_sha256"] = _save_npy(cache / entry["score"], s)
    entry["embedded"] = _shard_name("embedded", index)
    entry["embedded_sha256"] = _save_npy(cache / entry["embedded"], traj)
    return entry


@contextlib.contextmanager
def _progress_bar(progress: bool, total: int, initial: int) -> Iterator[Any]:
    if not progress or not sys.stderr.isatty():
        yield None
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, initial=initial, unit="img", desc="precompute", dynamic_ncols=True) as bar:
        yield bar
