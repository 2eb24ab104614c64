"""Embedded trajectories computed as training batches are drawn, with no cache (needs torch).

`OnTheFlyDataset` serves what `fpscore.EmbeddedDataset` serves — items (xⁿ (C, H, W) float32, n, i)
for every image i and time bin n, `times`, `sde`, `bins` — but computes the trajectories from the
images with the parameters of a pre-computation (`PrecomputeParams`) instead of reading a cache.
Each value is rounded to the parameters' `dtype` (then float32), as a cache stores it, and only the
time levels a cache would store are served (`store_every`, `store_levels`: bins 0..L-1 at those
levels' times), so training on the fly trains on what a cache of the same images and parameters
would hold.

Random streams. The trainer draws each step's B times from its own generator, as with a cache; the
B image indices of step s come from a separate stream, `numpy.random.default_rng([seed, s])`. That
stream depends only on (seed, s), so the images of coming batches are known ahead: a thread pool
(the solver releases the GIL) embeds the next `prefetch` batches while the trainer works, each
batch in one solver call over its distinct images × channels. Which images share a solver call
depends only on the stream, and the solver's results do not depend on its thread count, so the
batches are identical for any `workers` and `threads`; a resumed run draws the same batches as an
uninterrupted one. (With a cache the indices come from the trainer's generator instead, so the two
modes draw different image sequences.)

On CUDA (`backend="auto"` where a device is present) each batch's factorisations and solves run
on the GPU from the background thread, overlapping the training step, which shares the device.
"""

from __future__ import annotations

import concurrent.futures as cf
import numbers
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._core import ConvergenceError, SingularMatrixError
from .._torch import torch
from .._validation import non_negative_int, optional_count, positive_int
from ..embedding.params import PrecomputeParams
from ..embedding.precompute import solve_shard
from ..numerics.backend import resolve_backend
from ..sde import SDE
from .dataset import _item_index
from .loaders import ImageSet

FORMAT = "fpscore-on-the-fly"
_RECENT = 4  # single trajectories kept for item access (items of one image are consecutive)


@dataclass(frozen=True)
class EmbeddedBatch:
    """The trajectories of one training batch: images (B,) the image indices drawn;
    trajectories (U, L, C, H, W) float32 of the U distinct ones at the L served levels (bin 0 only
    when not embedded); rows (B,) the row of each sample in trajectories."""

    images: torch.Tensor
    trajectories: torch.Tensor
    rows: torch.Tensor

    def image(self, sample: int, n: int) -> torch.Tensor:
        """xⁿ (C, H, W) of sample j."""
        return self.trajectories[int(self.rows[sample]), n]


def params_from_manifest(parameters: Mapping[str, Any]) -> PrecomputeParams:
    """The `PrecomputeParams` behind a manifest's "parameters" (ValueError when they are not
    exactly what `PrecomputeParams.manifest` writes)."""
    if not isinstance(parameters, Mapping):
        raise TypeError(
            f"params must be PrecomputeParams or a manifest dict, got {type(parameters).__name__}"
        )
    init_params = parameters.get("init_params")
    if not isinstance(init_params, Mapping):
        raise ValueError(f"the parameters lack init_params: {dict(parameters)!r}")
    flat = {**{k: v for k, v in parameters.items() if k not in ("sde", "init_params")}, **init_params}
    names = {f.name for f in fields(PrecomputeParams)}
    unknown = sorted(set(flat) - names)
    if unknown:
        raise ValueError(f"unknown pre-computation parameters {unknown}; known: {sorted(names)}")
    return PrecomputeParams(**flat)


def _images(images: ImageSet | ArrayLike) -> ImageSet:
    """An ImageSet of float32 (M, C, H, W) images in [0, 1], checked."""
    if isinstance(images, ImageSet):
        data = images
        if not isinstance(data.images, np.ndarray):  # a lazy load (LazyImages)
            raise TypeError("on-the-fly embedding draws images at random: load them eagerly (lazy=False)")
    else:
        arr = np.asarray(images)
        if arr.ndim != 4:
            raise ValueError(f"images must be an ImageSet or an array (M, C, H, W), got shape {arr.shape}")
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise TypeError(f"images must be a real array, got dtype {arr.dtype}")
        data = ImageSet(np.ascontiguousarray(arr, dtype=np.float32), None, (), {"kind": "array"})
    x = data.images
    if x.shape[0] == 0:
        raise ValueError("no images to embed")
    if x.shape[2] < 3 or x.shape[3] < 3:
        raise ValueError(f"images must be at least 3×3 pixels for the solver, got {x.shape[2]}×{x.shape[3]}")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise ValueError(
            f"images must have finite values in [0, 1], got [{float(x.min()):g}, {float(x.max()):g}]"
        )
    return data


class OnTheFlyDataset(torch.utils.data.Dataset):
    """Embedded trajectories computed from images when asked for (see the module docstring).

    images: an `ImageSet` (`fpscore.data.load`) or an array (M, C, H, W) in [0, 1]; sde: the process;
    params: `PrecomputeParams` or a cache manifest's "parameters" (default: PrecomputeParams()).
    seed: of the image-index stream. threads: solver threads in all (None or 0: every core), shared
    by `workers` pool threads (batches embedded at once); prefetch: batches embedded ahead of the one
    asked for (0: each batch when asked, in the calling thread); backend: "auto", "cpu" or "cuda".

    Item k is image k // L at bin k % L (L served levels), as in `EmbeddedDataset`; an item computes its
    image's whole trajectory (the last few are kept), so DataLoader workers can serve items too.
    `draw_batch(step, batch)` is the batched path the trainer takes. `wait_seconds` sums the time
    spent waiting in `draw_batch` for batches not ready yet; `close()` stops the pool.
    """

    def __init__(
        self,
        images: ImageSet | ArrayLike,
        sde: SDE,
        params: PrecomputeParams | Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
        threads: int | None = None,
        workers: int = 1,
        prefetch: int = 2,
        backend: str = "auto",
    ) -> None:
        if not isinstance(sde, SDE):
            raise TypeError(
                f"sde must be an fpscore SDE (VESDE, VPSDE, ConstantSDE), got {type(sde).__name__}"
            )
        if params is None:
            params = PrecomputeParams()
        elif not isinstance(params, PrecomputeParams):
            params = params_from_manifest(params)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an integer, got {type(seed).__name__} {seed!r}")
        self.data = _images(images)
        self.parameters = params.manifest(sde)
        if self.parameters["init"] == "value-kde" and self.data.images.shape[2] != self.data.images.shape[3]:
            raise ValueError("init='value-kde' needs square images (H == W)")
        self.sde = sde
        self.seed = int(seed) & (2**64 - 1)  # the stream's key must be non-negative
        self.levels = params.stored_levels()  # the time levels n served, as bins 0..L-1
        self.times = np.linspace(0.0, self.parameters["T"], self.parameters["n_steps"] + 1)[self.levels]
        self.bins = list(range(len(self.levels)))
        self.workers = positive_int("workers", workers)
        self.prefetch = non_negative_int("prefetch", prefetch)
        total = optional_count("threads", threads) or os.cpu_count() or 1
        self.threads = max(1, total // self.workers)  # per solver call
        self.backend = resolve_backend(backend)
        self.dtype = np.dtype(self.parameters["dtype"])
        self.wait_seconds = 0.0
        self._fingerprint = self.data.fingerprint()
        self._start_state()

    def _start_state(self) -> None:
        """What each process makes for itself (DataLoader workers get a copy without it)."""
        self._lock = threading.Lock()
        self._pool: cf.ThreadPoolExecutor | None = None
        self._jobs: dict[tuple[int, int, bool, int, int], cf.Future[EmbeddedBatch]] = {}
        self._recent: OrderedDict[int, torch.Tensor] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_lock", "_pool", "_jobs", "_recent"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._start_state()

    # -- what the trainer reads ---------------------------------------------------------------------

    @property
    def images(self) -> NDArray[np.float32]:
        """The images (M, C, H, W) float32."""
        return self.data.images

    @property
    def manifest(self) -> dict[str, Any]:
        """What a cache of these trajectories would record (the trainer's run identity uses it),
        with the seed of the image-index stream."""
        return {
            "format": FORMAT,
            "parameters": self.parameters,
            "data": {
                "source": self.data.source,
                "num_images": len(self.data.images),
                "image_shape": list(self.data.images.shape[1:]),
                "sha256": self._fingerprint,
                "index_seed": self.seed,
            },
            "times": self.times.tolist(),
            "levels": self.levels,
        }

    def __len__(self) -> int:
        return len(self.data.images) * len(self.bins)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, int, int]:
        k = _item_index(k, len(self))
        i, n = divmod(k, len(self.bins))
        with self._lock:
            traj = self._recent.get(i)
            if traj is not None:
                self._recent.move_to_end(i)
        if traj is None:
            traj = self._embed(np.array([i]), embed=True, threads=self.threads)[0]
            with self._lock:
                self._recent[i] = traj
                while len(self._recent) > _RECENT:
                    self._recent.popitem(last=False)
        return traj[n].clone(), n, i

    # -- the batched path ---------------------------------------------------------------------------

    def batch_images(self, step: int, batch: int) -> NDArray[np.int64]:
        """The image indices (B,) of training step `step`: a function of (seed, step) alone."""
        step = non_negative_int("step", step)
        batch = positive_int("batch", batch)
        return np.random.default_rng([self.seed, step]).integers(len(self.data.images), size=batch)

    def draw_batch(
        self, step: int, batch: int, *, embed: bool = True, part: slice | None = None
    ) -> EmbeddedBatch:
        """The trajectories of step `step`'s B images (bin 0 alone when not `embed`; only the samples
        `part` of the batch, as one of several processes that share it), from the pool when
        prefetched; first schedules the next `prefetch` steps."""
        batch = positive_int("batch", batch)
        start, stop, _ = (part if part is not None else slice(None)).indices(batch)
        key = (non_negative_int("step", step), batch, bool(embed), start, stop)
        started = time.perf_counter()
        if self.prefetch == 0:
            try:
                return self._job(*key)
            finally:
                self.wait_seconds += time.perf_counter() - started
        with self._lock:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(self.workers, thread_name_prefix="fpscore-embed")
            wanted = {(key[0] + a, *key[1:]) for a in range(self.prefetch + 1)}
            for old in [k for k in self._jobs if k not in wanted]:  # a resume, or another batch size
                self._jobs.pop(old).cancel()
            for k in sorted(wanted):
                if k not in self._jobs:
                    self._jobs[k] = self._pool.submit(self._job, *k)
            future = self._jobs.pop(key)
        try:
            return future.result()
        finally:
            self.wait_seconds += time.perf_counter() - started

    def _job(self, step: int, batch: int, embed: bool, start: int, stop: int) -> EmbeddedBatch:
        images = self.batch_images(step, batch)[start:stop]
        distinct, rows = np.unique(images, return_inverse=True)
        try:
            traj = self._embed(distinct, embed=embed, threads=self.threads)
        except (ConvergenceError, SingularMatrixError, ValueError) as err:
            raise type(err)(
                f"embedding the batch of step {step} (images {distinct.tolist()}): {err}"
            ) from err
        return EmbeddedBatch(torch.from_numpy(images), traj, torch.from_numpy(rows.reshape(-1)))

    def _embed(self, indices: NDArray[np.int64], *, embed: bool, threads: int) -> torch.Tensor:
        """(U, L, C, H, W) float32 trajectories at the served levels of the images `indices` (bin 0
        alone, (U, 1, ...), when not `embed`), rounded to the parameters' dtype as a cache stores them."""
        x = self.data.images[indices]
        if embed:  # what precompute stores for these images (the scores are not served)
            stored = solve_shard(x, {**self.parameters, "store_scores": False}, threads, self.backend)
            traj = stored["embedded"]
        else:
            traj = np.ascontiguousarray(x[:, None], dtype=self.dtype)  # bin 0: the images
        return torch.from_numpy(traj.astype(np.float32))

    def close(self) -> None:
        """Cancel the prefetched batches and stop the pool (a later `draw_batch` starts a new one)."""
        with self._lock:
            pool, self._pool = self._pool, None
            for future in self._jobs.values():
                future.cancel()
            self._jobs.clear()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> OnTheFlyDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_source(source: str, options: Mapping[str, Any]) -> ImageSet:
    """The images of `data.source` with `data.source_options`, as `fpscore precompute` reads them
    (ValueError naming the options the source's loader does not take)."""
    import inspect

    from .loaders import loader

    function, positional = loader(source)
    accepted = inspect.signature(function).parameters
    unused = sorted(k for k in options if k not in accepted)
    if unused:
        raise ValueError(
            f"data.source_options {unused} do not apply to {source!r} (read by "
            f"fpscore.data.{function.__name__}, which takes {', '.join(list(accepted)[len(positional) :])})"
        )
    return function(*positional, **options)


def from_config(data: Any, sde: SDE, *, seed: int = 0, **options: Any) -> OnTheFlyDataset:
    """The `OnTheFlyDataset` of a config's [data] section (`source`, `source_options`, `embedding`);
    options: OnTheFlyDataset's keywords (threads, workers, prefetch, backend)."""
    if not data.source:
        raise ValueError("data.source is empty: no images to embed on the fly")
    images = load_source(data.source, data.source_options)
    return OnTheFlyDataset(images, sde, PrecomputeParams(**data.embedding), seed=seed, **options)


__all__ = ["EmbeddedBatch", "OnTheFlyDataset", "from_config", "load_source", "params_from_manifest"]
