"""fpscore: score embedding for score-based diffusion models.

The numerical core solves the log-density Fokker–Planck equation on the image grid
with a semi-explicit finite-difference scheme and fpscore's own sparse Gaussian
elimination (C++). See DESIGN.md for the method.

Subpackages, in the order of the pipeline: `numerics` (sparse LU, the Fokker–Planck solver),
`embedding` (initial density, transport, the cached pre-computation), `data` (image sets, the
training data), `training` (config, networks, losses, trainer), `sampling`, `evaluation` (metrics,
demo, baselines, the experiment) and `cli`; `sde` is shared by all of them. The names users need
are re-exported here; those that need torch are imported on first use.
"""

from typing import Any

from . import data
from ._core import ConvergenceError, CudaError, DeviceMemoryError, SingularMatrixError
from ._core import __version__ as __version__
from .embedding.cache import EmbeddingCache, open_cache
from .embedding.density import initial_log_density
from .embedding.merge import MergeSummary, merge_caches
from .embedding.precompute import PrecomputeSummary, precompute
from .embedding.show import show_cache
from .embedding.transport import embed
from .numerics.backend import available_backends, build_info, has_cuda
from .numerics.grid import grid_coordinates, padded_coordinates
from .numerics.solver import (
    FPSolution,
    fp_system,
    simd_level,
    simd_levels,
    solve_log_density,
)
from .numerics.sparse import BatchedLU, SparseLU
from .sde import SDE, VESDE, VPSDE, ConstantSDE
from .training.config import Config, load_config

# Training, sampling and models need torch too: imported on first use, like EmbeddedDataset.
_TORCH_NAMES = {
    "EmbeddedDataset": "data.dataset",
    "UNet": "training.models",
    "CUNet": "training.models",
    "EDMPreconditioned": "training.models",
    "EpsilonScore": "training.models",
    "Objective": "training.losses",
    "Trainer": "training.trainer",
    "InMemoryDataset": "data.dataset",
    "load_trained": "training.trainer",
    "run_demo": "evaluation.demo",
}
# Modules by their short names (`fpscore.samplers.heun_ode`, `from fpscore import experiment`),
# imported on first use.
_MODULES = {
    "experiment": "evaluation.experiment",
    "baselines": "evaluation.baselines",
    "metrics": "evaluation.metrics",
    "samplers": "sampling",
    "losses": "training.losses",
    "models": "training.models",
}


def __getattr__(name: str) -> Any:
    # Names that need torch, which fpscore does not require, are imported on first use (and left
    # out of __all__, so that `from fpscore import *` works without torch).
    import importlib

    if name in _MODULES:
        return importlib.import_module(f".{_MODULES[name]}", __name__)
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module(f".{_TORCH_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'fpscore' has no attribute {name!r}")


__all__ = [
    "SDE",
    "VESDE",
    "VPSDE",
    "BatchedLU",
    "Config",
    "ConstantSDE",
    "ConvergenceError",
    "CudaError",
    "DeviceMemoryError",
    "EmbeddingCache",
    "FPSolution",
    "MergeSummary",
    "PrecomputeSummary",
    "SingularMatrixError",
    "SparseLU",
    "__version__",
    "available_backends",
    "build_info",
    "data",
    "embed",
    "fp_system",
    "grid_coordinates",
    "has_cuda",
    "initial_log_density",
    "load_config",
    "merge_caches",
    "open_cache",
    "padded_coordinates",
    "precompute",
    "show_cache",
    "simd_level",
    "simd_levels",
    "solve_log_density",
]
