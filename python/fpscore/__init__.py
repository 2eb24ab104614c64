"""fpscore: score embedding for score-based diffusion models.

The numerical core solves the log-density Fokker–Planck equation on the image grid
with a semi-explicit finite-difference scheme and fpscore's own sparse Gaussian
elimination (C++). See DESIGN.md for the method.
"""

from typing import Any

from . import data
from ._core import ConvergenceError, SingularMatrixError
from ._core import __version__ as __version__
from .config import Config, load_config
from .embed import embed, initial_log_density
from .grid import grid_coordinates, padded_coordinates
from .precompute import EmbeddingCache, PrecomputeSummary, open_cache, precompute
from .sde import SDE, VESDE, VPSDE, ConstantSDE
from .show import show_cache
from .solver import FPSolution, available_backends, fp_system, has_cuda, solve_log_density
from .sparse import BatchedLU, SparseLU

# Training, sampling and models need torch too: imported on first use, like EmbeddedDataset.
_TORCH_NAMES = {
    "UNet": "models",
    "EDMPreconditioned": "models",
    "EpsilonScore": "models",
    "Objective": "losses",
    "Trainer": "train",
    "InMemoryDataset": "train",
    "load_trained": "train",
    "run_demo": "demo",
}


def __getattr__(name: str) -> Any:
    # EmbeddedDataset needs torch, which fpscore does not require: it is imported on first use
    # (and left out of __all__, so that `from fpscore import *` works without torch).
    if name == "EmbeddedDataset":
        from .dataset import EmbeddedDataset

        return EmbeddedDataset
    if name in ("experiment", "baselines"):  # subpackages, imported on first use
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name in _TORCH_NAMES:
        import importlib

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
    "EmbeddingCache",
    "FPSolution",
    "PrecomputeSummary",
    "SingularMatrixError",
    "SparseLU",
    "__version__",
    "available_backends",
    "data",
    "embed",
    "fp_system",
    "grid_coordinates",
    "has_cuda",
    "initial_log_density",
    "load_config",
    "open_cache",
    "padded_coordinates",
    "precompute",
    "show_cache",
    "solve_log_density",
]
