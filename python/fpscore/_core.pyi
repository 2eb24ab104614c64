"""Type stubs of the compiled module fpscore._core (use the `fpscore` package instead)."""

import numpy as np
from numpy.typing import NDArray

__version__: str
MAX_GRID_NODES: int

class SingularMatrixError(RuntimeError): ...
class ConvergenceError(RuntimeError): ...

def has_cuda() -> bool: ...
def simd_level() -> str: ...
def simd_levels() -> list[str]: ...

class SparseLU:
    def __init__(
        self,
        indptr: NDArray[np.int64],
        indices: NDArray[np.int32],
        data: NDArray[np.float64],
        ordering: str = "auto",
        grid: tuple[int, int] | None = None,
        pivot_tolerance: float = 1e-13,
        threads: int = 1,
    ) -> None: ...
    def refactor(self, data: NDArray[np.float64]) -> None: ...
    def solve(self, b: NDArray[np.float64]) -> NDArray[np.float64]: ...
    @property
    def n(self) -> int: ...
    @property
    def threads(self) -> int: ...
    @property
    def nnz(self) -> int: ...
    @property
    def nnz_matrix(self) -> int: ...
    @property
    def nnz_structural(self) -> int: ...
    @property
    def factor_flops(self) -> float: ...
    @property
    def ordering(self) -> str: ...
    @property
    def permutation(self) -> NDArray[np.int32]: ...

class GeneralLU:
    def __init__(
        self,
        indptr: NDArray[np.int64],
        indices: NDArray[np.int32],
        data: NDArray[np.float64],
        ordering: str = "auto",
        grid: tuple[int, int] | None = None,
        pivoting: str = "auto",
        pivot_tolerance: float = 1e-13,
        threads: int = 1,
        max_refinement_steps: int = 10,
    ) -> None: ...
    def refactor(self, data: NDArray[np.float64]) -> None: ...
    def solve(self, b: NDArray[np.float64]) -> tuple[NDArray[np.float64], int, float]: ...
    def state(self) -> dict[str, object]: ...
    @property
    def n(self) -> int: ...

class BatchedLU:
    def __init__(
        self,
        indptr: NDArray[np.int64],
        indices: NDArray[np.int32],
        batch: int,
        ordering: str = "auto",
        grid: tuple[int, int] | None = None,
        threads: int = 1,
        pivot_tolerance: float = 1e-13,
    ) -> None: ...
    def factor(self, data: NDArray[np.float64]) -> None: ...
    def solve(self, b: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def factor_solve(self, data: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]: ...
    @property
    def batch(self) -> int: ...
    @property
    def threads(self) -> int: ...
    @property
    def lanes(self) -> int: ...
    @property
    def nnz(self) -> int: ...
    @property
    def factor_flops(self) -> float: ...
    @property
    def ordering(self) -> str: ...

def solve_log_density(
    m0: NDArray[np.float64],
    times: NDArray[np.float64],
    g: NDArray[np.float64],
    h: float,
    bc: str,
    scheme: str,
    iteration: str,
    tol: float,
    max_iter: int,
    threads: int,
    drift: NDArray[np.float64] | None = None,
    drift_div: NDArray[np.float64] | None = None,
    ghosts: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int32]]: ...
def assemble_fp_system(
    m_prev: NDArray[np.float64],
    m_lag: NDArray[np.float64],
    g: float,
    dt: float,
    h: float,
    bc: str,
    scheme: str,
    drift: NDArray[np.float64] | None = None,
    drift_div: NDArray[np.float64] | None = None,
    ghosts: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float64], NDArray[np.float64]]: ...
def central_gradient(
    m: NDArray[np.float64], h: float, bc: str, ghosts: NDArray[np.float64] | None = None
) -> NDArray[np.float64]: ...

class _ThresholdPivotingLU:
    def __init__(
        self,
        indptr: NDArray[np.int64],
        indices: NDArray[np.int32],
        column_order: NDArray[np.int32],
        threshold: float = 0.1,
        pivot_tolerance: float = 0.0,
    ) -> None: ...
    def factor(self, data: NDArray[np.float64]) -> None: ...
    def solve(self, b: NDArray[np.float64]) -> NDArray[np.float64]: ...
    @property
    def n(self) -> int: ...
    @property
    def factored(self) -> bool: ...
    @property
    def nnz(self) -> int: ...
    @property
    def off_diagonal_pivots(self) -> int: ...
    @property
    def factor_flops(self) -> float: ...

def _max_product_matching(
    indptr: NDArray[np.int64], indices: NDArray[np.int32], data: NDArray[np.float64]
) -> tuple[NDArray[np.int32], NDArray[np.float64], NDArray[np.float64]]: ...
