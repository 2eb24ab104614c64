"""Solving a pre-computation's shards on a dask.distributed cluster (`precompute(scheduler="dask")`).

The client reads each shard's images, submits one task per shard and writes the results into the
cache as they come back (so the cache, its manifest and resumption stay as in a local run). Tasks in
flight are bounded by the cluster's thread count, so the client's memory does not grow with the
number of images. A task whose worker dies is run again on another worker by the scheduler
(dask's `distributed.scheduler.allowed-failures`, default 3). A worker solves with the C++ core,
`threads` solver threads per task: start workers with one task thread each (`--nthreads 1`) and
let the solver use the cores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._core import ConvergenceError, SingularMatrixError


def _client(address: Any) -> tuple[Any, bool]:
    """(a distributed.Client, whether this call made it and must close it)."""
    try:
        import distributed
    except ImportError as err:
        raise ImportError(
            "scheduler='dask' needs dask.distributed: pip install 'fpscore[dask]' "
            "(or pip install dask distributed)"
        ) from err
    if isinstance(address, distributed.Client):
        return address, False
    if address is None:
        try:
            return distributed.get_client(), False
        except ValueError:
            raise ValueError(
                "scheduler='dask' needs a cluster: pass dask_address (CLI: --dask ADDRESS), "
                "e.g. 'tcp://scheduler:8786', or create a distributed.Client first"
            ) from None
    if not isinstance(address, str):
        raise TypeError(f"dask_address must be an address string or a distributed.Client, got {address!r}")
    try:
        return distributed.Client(address, timeout="30s"), True
    except OSError as err:
        raise OSError(f"cannot reach the Dask scheduler at {address}: {err}") from err


def solve_on_dask(
    address: Any,
    todo: Sequence[int],
    read: Callable[[int], NDArray[np.float32]],
    params: dict[str, Any],
    threads: int | None,
    device: str,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (k, the arrays of shard k as `solve_shard` returns them) for every k in `todo`, in the
    order they finish; raises the first failed shard's error, naming the shard."""
    from distributed import as_completed

    client, owned = _client(address)
    try:
        limit = max(2, 2 * sum(client.nthreads().values()))
        pending = iter(todo)
        shard_of: dict[str, int] = {}

        def submit() -> Any:
            k = next(pending, None)
            if k is None:
                return None
            future = client.submit(
                _solve_task, read(k), params, threads, device, key=f"fpscore-shard-{k}-{id(shard_of)}"
            )
            shard_of[future.key] = k
            return future

        started = [f for f in (submit() for _ in range(limit)) if f is not None]
        queue = as_completed(started)
        for future in queue:
            k = shard_of.pop(future.key)
            try:
                solved = future.result()
            except (ConvergenceError, SingularMatrixError, ValueError) as err:
                raise type(err)(f"shard {k}: {err}") from err
            future.release()
            following = submit()
            if following is not None:
                queue.add(following)
            yield k, solved
    finally:
        if owned:
            client.close()


def _solve_task(
    images: NDArray[np.float32], params: dict[str, Any], threads: int | None, device: str
) -> dict[str, Any]:
    """One shard on a worker; the backend is resolved there (it may have a GPU)."""
    from ..numerics.backend import resolve_backend
    from .precompute import solve_shard

    return solve_shard(images, params, threads, resolve_backend(device))


__all__ = ["solve_on_dask"]
