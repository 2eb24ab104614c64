"""The parameters of a pre-computation: one typed object for the `precompute` API, the options of
`fpscore precompute` and the cache manifest."""

from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass, field
from typing import Any

from .._validation import choice, non_negative_float, positive_float, positive_int
from ..numerics.solver import BOUNDARIES, ITERATIONS, SCHEMES
from ..sde import SDE
from .density import INITS
from .transport import REDUCTIONS
from .value_kde import KDE_METHODS

DTYPES = ("float32", "float16", "float64")
# Ghost values cannot be recorded in a manifest: no "dirichlet".
CACHE_BOUNDARIES = tuple(b for b in BOUNDARIES if b != "dirichlet")


def _option(default: Any, help: str = "", *, choices: tuple[str, ...] = (), group: str = "method") -> Any:
    """A field with what the command line shows of it (help, choices, its option group)."""
    return field(default=default, metadata={"help": help, "choices": choices, "group": group})


@dataclass(frozen=True)
class PrecomputeParams:
    """How images are embedded (DESIGN §1–3) and stored; validated on construction.

    n_steps, T, h, bc ("zero", "neumann", "periodic"), scheme, iteration, tol, max_iter: passed to
    `solve_log_density`. init, sigma_s, eps, bandwidth, kde_method: passed to `initial_log_density`
    (sigma_s for "intensity", bandwidth and kde_method for "value-kde"). reduce: the score reduction
    of `embed`. dtype: of the stored arrays (the computation is float64 throughout). store_scores:
    also store ∇mⁿ. store_every: store every k-th time level (0, k, 2k, …, and always N);
    store_levels: the levels to store, instead (must include 0, the image itself). Training then
    draws from the stored levels' times (see `stored_levels`). shard_size: images per shard, and per
    solver call.
    """

    n_steps: int = _option(20, "time steps N (default 20)")
    T: float = _option(1.0, "final time (default 1)")
    h: float = _option(1.0, "grid spacing (default 1)")
    bc: str = _option("zero", choices=CACHE_BOUNDARIES)
    scheme: str = _option("central", choices=SCHEMES)
    iteration: str = _option("picard", choices=ITERATIONS)
    tol: float = _option(1e-8)
    max_iter: int = _option(50)
    init: str = _option("intensity", choices=INITS)
    sigma_s: float = _option(1.0, "intensity smoothing in pixels (default 1)")
    eps: float = _option(1e-2, "density floor (default 0.01)")
    bandwidth: float | None = _option(None, "value-kde bandwidth (default: Scott's rule)")
    kde_method: str = _option("binned", "value-kde kernel sums (default binned)", choices=KDE_METHODS)
    reduce: str = _option("sum", choices=REDUCTIONS)
    dtype: str = _option("float32", choices=DTYPES, group="output")
    store_scores: bool = _option(False, "also store the scores", group="output")
    store_every: int = _option(
        1, "store every K-th time level, and the last (default 1: all)", group="output"
    )
    store_levels: tuple[int, ...] | None = _option(
        None, "store these time levels only (include 0; instead of --store-every)", group="output"
    )
    shard_size: int = _option(128, "images per shard (default 128)", group="output")

    def __post_init__(self) -> None:
        if self.bc == "dirichlet":
            raise ValueError(
                "precompute supports bc='zero', 'neumann' or 'periodic' (no ghost values to record)"
            )
        checked = {
            "n_steps": positive_int("n_steps", self.n_steps),
            "T": positive_float("T", self.T),
            "h": positive_float("h", self.h),
            "tol": positive_float("tol", self.tol),
            "max_iter": positive_int("max_iter", self.max_iter),
            "sigma_s": non_negative_float("sigma_s", self.sigma_s),
            "eps": non_negative_float("eps", self.eps),
            "bandwidth": None if self.bandwidth is None else positive_float("bandwidth", self.bandwidth),
            "store_scores": bool(self.store_scores),
            "shard_size": positive_int("shard_size", self.shard_size),
            "store_every": positive_int("store_every", self.store_every),
            "store_levels": _levels(self.store_levels, self.n_steps),
        }
        for f in dataclasses.fields(self):
            if f.metadata["choices"]:
                checked[f.name] = choice(f.name, getattr(self, f.name), f.metadata["choices"])
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if self.store_levels is not None and self.store_every != 1:
            raise ValueError("give store_levels or store_every, not both")

    def stored_levels(self) -> list[int]:
        """The time levels n (of 0..n_steps) the cache stores, increasing, starting at 0."""
        return stored_levels(self.n_steps, self.store_every, self.store_levels)

    def manifest(self, sde: SDE) -> dict[str, Any]:
        """The parameters as the cache manifest records them (JSON data, with the SDE)."""
        if not isinstance(sde, SDE):
            raise TypeError(
                f"sde must be an fpscore SDE (VESDE, VPSDE, ConstantSDE), got {type(sde).__name__}"
            )
        if self.init == "intensity":
            init_params: dict[str, Any] = {"sigma_s": self.sigma_s}
        else:
            init_params = {"bandwidth": self.bandwidth, "kde_method": self.kde_method}
        init_params["eps"] = self.eps
        solver = ("n_steps", "T", "h", "bc", "scheme", "iteration", "tol", "max_iter")
        output = ("reduce", "dtype", "store_scores", "shard_size")
        levels = self.stored_levels()
        # Storing every level is recorded as before these options existed, so older caches still match.
        storage = {} if levels == list(range(self.n_steps + 1)) else {"store_levels": levels}
        return json.loads(
            json.dumps(
                {
                    "sde": sde.to_dict(),
                    **{k: getattr(self, k) for k in solver},
                    "init": self.init,
                    "init_params": init_params,
                    **{k: getattr(self, k) for k in output},
                    **storage,
                }
            )
        )


def _levels(levels: Any, n_steps: int) -> tuple[int, ...] | None:
    """store_levels checked: None, or distinct integers in 0..n_steps that include 0, sorted."""
    if levels is None:
        return None
    if isinstance(levels, (str, bytes)) or not hasattr(levels, "__iter__"):
        raise TypeError(f"store_levels must be a sequence of integers or None, got {levels!r}")
    values = list(levels)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise TypeError(f"store_levels must hold integers, got {values!r}")
    out = sorted({int(v) for v in values})
    if len(out) != len(values) or not out or out[0] != 0 or out[-1] > n_steps:
        raise ValueError(
            f"store_levels must be distinct time levels in 0..n_steps={n_steps} including 0 (the image), "
            f"got {values!r}"
        )
    return tuple(out)


def stored_levels(
    n_steps: int, store_every: int = 1, store_levels: tuple[int, ...] | None = None
) -> list[int]:
    """The stored time levels: `store_levels`, else 0, k, 2k, … and n_steps for k = store_every."""
    if store_levels is not None:
        return list(store_levels)
    return sorted(set(range(0, n_steps + 1, store_every)) | {n_steps})


__all__ = ["CACHE_BOUNDARIES", "DTYPES", "PrecomputeParams", "stored_levels"]
