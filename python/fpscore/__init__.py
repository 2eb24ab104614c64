"""fpscore: score embedding for score-based diffusion models.

The numerical core solves the log-density Fokker–Planck equation on the image grid
with a semi-explicit finite-difference scheme and fpscore's own sparse Gaussian
elimination (C++). See DESIGN.md for the method.
"""

from ._core import ConvergenceError, SingularMatrixError
from ._core import __version__ as __version__
from .grid import grid_coordinates, padded_coordinates
from .sde import SDE, VESDE, VPSDE, ConstantSDE
from .solver import FPSolution, available_backends, fp_system, has_cuda, solve_log_density
from .sparse import BatchedLU, SparseLU

__all__ = [
    "SDE",
    "VESDE",
    "VPSDE",
    "BatchedLU",
    "ConstantSDE",
    "ConvergenceError",
    "FPSolution",
    "SingularMatrixError",
    "SparseLU",
    "__version__",
    "available_backends",
    "fp_system",
    "grid_coordinates",
    "has_cuda",
    "padded_coordinates",
    "solve_log_density",
]
