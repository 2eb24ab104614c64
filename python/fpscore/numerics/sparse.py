"""fpscore's sparse Gaussian elimination for any square scipy.sparse matrix (DESIGN §4)."""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .. import _core
from .._validation import choice, non_negative_int, optional_count, positive_int, real_array

ORDERINGS = ("auto", "natural", "minimum_degree", "nested_dissection", "rcm")
PIVOTINGS = ("auto", "diagonal", "matched", "partial")


def _canonical_csr(A: object, name: str = "A") -> sp.csr_matrix:
    if not sp.issparse(A):
        raise TypeError(
            f"{name} must be a scipy.sparse matrix or array, got {type(A).__name__} "
            "(convert a dense array with scipy.sparse.csr_matrix)"
        )
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"{name} must be square and non-empty, got shape {A.shape}")
    if not (np.issubdtype(A.dtype, np.floating) or np.issubdtype(A.dtype, np.integer)):
        raise TypeError(f"{name} must have a real dtype, got {A.dtype}")
    # No copy when A is already canonical float64 CSR: nothing below writes to it.
    csr = sp.csr_matrix(A, dtype=np.float64)
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()  # also sorts the column indices
    if not np.isfinite(csr.data).all():
        raise ValueError(f"{name} has NaN or inf entries")
    return csr


def _pivot_tolerance(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"pivot_tolerance must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"pivot_tolerance must lie in [0, 1), got {value!r}")
    return value


def _grid(grid: object, n: int) -> tuple[int, int] | None:
    """grid=(H, W): two integers >= 1 with H*W = n, or None. Checked here so that an integer
    beyond 32 bits or a bool is not left to pybind11 (TypeError, or True taken as 1)."""
    if grid is None:
        return None
    if isinstance(grid, (str, bytes)) or not hasattr(grid, "__len__"):
        raise TypeError(f"grid must be (H, W) or None, got {type(grid).__name__} {grid!r}")
    if len(grid) != 2:
        raise ValueError(f"grid must be (H, W), got {len(grid)} values: {grid!r}")
    H, W = positive_int("grid H", grid[0]), positive_int("grid W", grid[1])
    if H * W != n:
        raise ValueError(f"grid must be (H, W) with H*W equal to the matrix order {n}, got ({H}, {W})")
    return H, W


class SolveReport(NamedTuple):
    """What the last `SparseLU.solve` did: iterative-refinement steps taken, and the normwise
    backward error ‖b − A x‖∞ / (‖A‖∞ ‖x‖∞ + ‖b‖∞) of its worst right-hand side (NaN on the
    "diagonal" path, which does not form the residual)."""

    refinement_steps: int
    backward_error: float


class SparseLU:
    """LU factors of any square nonsingular sparse matrix, with the analysis kept for reuse.

    pivoting: how pivots are chosen, per factorisation.

    * "auto" (default): "diagonal" when the matrix is diagonally dominant by rows or by columns
      (the Fokker–Planck systems are), else "matched".
    * "diagonal": static pivots on A's diagonal, the fastest; stable for diagonally dominant
      matrices. A pivot at or below pivot_tolerance · max|a_ij| of its row raises
      SingularMatrixError (so does a zero diagonal).
    * "matched": a maximum-product matching puts large entries on the diagonal and scales rows
      and columns (MC64-style), then static pivots on that matrix; a pivot below 1e-8 of its row,
      or a solve whose refinement ends above a backward error of 1e-12, switches to "partial".
    * "partial": the matched and scaled matrix with threshold partial pivoting (the diagonal kept
      while within 0.1 of the column's largest candidate).

    On the "matched" and "partial" paths every solve is refined against A (at most
    max_refinement_steps steps); `last_solve` reports the steps and the backward error. A
    structurally singular matrix, or one with no acceptable pivot under partial pivoting,
    raises SingularMatrixError.

    ordering: "auto" (nested dissection when the pattern is a 5-point grid, minimum degree
    otherwise), "natural", "minimum_degree", "nested_dissection" or "rcm". grid=(H, W) names
    the grid of a row-major 5-point pattern for geometric nested dissection (diagonal path).
    threads (None or 0: all cores, the default) >= 2 factorises and solves the two halves of
    the elimination tree below its top separator at once on the static-pivot paths, when the
    ordering has such halves (nested dissection does) and the matrix is large enough to gain;
    `threads` tells how many the last factorisation used. The second thread is a helper shared
    by the process, spinning for about a millisecond after each use so that the next starts at
    once; threads=1 keeps to the calling thread.
    """

    def __init__(
        self,
        A: object,
        ordering: str = "auto",
        *,
        grid: tuple[int, int] | None = None,
        pivoting: str = "auto",
        pivot_tolerance: float = 1e-13,
        threads: int | None = None,
        max_refinement_steps: int = 10,
    ) -> None:
        choice("ordering", ordering, ORDERINGS)
        choice("pivoting", pivoting, PIVOTINGS)
        pivot_tolerance = _pivot_tolerance(pivot_tolerance)
        threads = optional_count("threads", threads)
        max_refinement_steps = non_negative_int("max_refinement_steps", max_refinement_steps)
        csr = _canonical_csr(A)
        grid = _grid(grid, csr.shape[0])
        self.shape: tuple[int, int] = csr.shape
        self.pivoting: str = pivoting
        self._indptr = csr.indptr.astype(np.int64)
        self._indices = csr.indices.astype(np.int32)
        self._lu = _core.GeneralLU(
            self._indptr,
            self._indices,
            csr.data,
            ordering,
            grid,
            pivoting,
            float(pivot_tolerance),
            threads,
            max_refinement_steps,
        )
        self.last_solve: SolveReport | None = None

    @property
    def path(self) -> str:
        """The path of the last factorisation: "diagonal", "matched" or "partial"."""
        return str(self._lu.state()["path"])

    @property
    def matched_fell_back(self) -> bool:
        """Whether the last factorisation, or a solve after it, rejected "matched" for "partial"."""
        return bool(self._lu.state()["matched_fell_back"])

    @property
    def off_diagonal_pivots(self) -> int:
        """"partial" path: the pivots taken off the matched diagonal."""
        return int(self._lu.state()["off_diagonal_pivots"])

    @property
    def row_matching(self) -> NDArray[np.int32] | None:
        """"matched"/"partial": row j of the matched matrix is row row_matching[j] of A."""
        rows = self._lu.state().get("row_of_column")
        return None if rows is None else np.asarray(rows)

    @property
    def threads(self) -> int:
        """Threads the last factorisation ran on (1, or 2 when the elimination tree splits)."""
        return int(self._lu.state()["threads"])

    @property
    def nnz(self) -> int:
        """Stored entries of L + U (L's unit diagonal not stored); on the static-pivot paths
        with the explicit zeros that merging small supernodes into dense blocks adds."""
        return int(self._lu.state()["nnz"])

    @property
    def nnz_matrix(self) -> int:
        """Stored entries of A (the length of `refactor`'s data)."""
        return len(self._indices)

    @property
    def nnz_structural(self) -> int:
        """Entries of L + U in the exact fill pattern of the ordering (the fill)."""
        return int(self._lu.state()["nnz_structural"])

    @property
    def ordering(self) -> str:
        return str(self._lu.state()["ordering"])

    @property
    def perm(self) -> NDArray[np.int32]:
        """The symmetric permutation: row and column perm[k] are eliminated k-th (of A on the
        "diagonal" path, of the row-matched matrix otherwise, where it is the column order)."""
        return np.asarray(self._lu.state()["permutation"])

    @property
    def factor_flops(self) -> float:
        """Floating-point operations of the last numeric factorisation."""
        return float(self._lu.state()["factor_flops"])

    def refactor(self, data: object) -> None:
        """Factorise new values on the same pattern, reusing the ordering, the symbolic
        analysis and (on the "matched"/"partial" paths) the matching and scaling.

        data: a scipy.sparse matrix with the same pattern, or the 1-D `.data` of the
        canonical CSR form of the matrix (sorted indices, no duplicates).
        """
        if sp.issparse(data):
            csr = _canonical_csr(data, "data")
            if (
                csr.shape != self.shape
                or not np.array_equal(csr.indptr, self._indptr)
                or not np.array_equal(csr.indices, self._indices)
            ):
                raise ValueError("refactor needs a matrix with the same sparsity pattern as the analysed one")
            values = csr.data
        else:
            values = real_array("data", data)
            if values.shape != (len(self._indices),):
                raise ValueError(
                    f"data must have shape ({len(self._indices)},), one value per stored entry, "
                    f"got {values.shape}"
                )
        self.last_solve = None
        self._lu.refactor(values)

    def solve(self, b: ArrayLike) -> NDArray[np.float64]:
        """Solve A x = b for b of shape (n,) or (n, k)."""
        b = real_array("b", b)
        n = self.shape[0]
        if b.ndim not in (1, 2) or b.shape[0] != n:
            raise ValueError(f"b must have shape ({n},) or ({n}, k), got {b.shape}")
        x, steps, error = self._lu.solve(b)
        self.last_solve = SolveReport(int(steps), float(error))
        return x

    def __repr__(self) -> str:
        return (
            f"SparseLU(n={self.shape[0]}, nnz(L+U)={self.nnz}, ordering={self.ordering!r}, "
            f"path={self.path!r})"
        )


class BatchedLU:
    """LU factors of `batch` matrices that share the sparsity pattern of `A`.

    The matrices are factorised and solved together: their values are interleaved so that
    each operation of the elimination runs on several matrices in one SIMD instruction, and
    groups of them run on `threads` threads (0: all cores). Ordering and symbolic analysis
    are done once, from A's pattern (A's values are not used). ordering="auto" takes minimum
    degree up to 4096 unknowns (measured faster for interleaved packs on small grids) and
    SparseLU's choice beyond.

    factor(data): data (batch, nnz) holds each matrix's values in the order of the canonical
    CSR form of A (sorted indices, no duplicates: `A.tocsr()` after `sum_duplicates()`).
    solve(b): b (batch, n) -> x (batch, n).
    factor_solve(data, b): both in one pass, each pack solved while its factors are in cache.
    """

    def __init__(
        self,
        A: object,
        batch: int,
        ordering: str = "auto",
        *,
        grid: tuple[int, int] | None = None,
        threads: int | None = None,
        pivot_tolerance: float = 1e-13,
    ) -> None:
        choice("ordering", ordering, ORDERINGS)
        batch = positive_int("batch", batch)
        threads = optional_count("threads", threads)
        csr = _canonical_csr(A)
        grid = _grid(grid, csr.shape[0])
        self.shape: tuple[int, int] = csr.shape
        self.nnz_matrix = int(csr.nnz)
        self._lu = _core.BatchedLU(
            csr.indptr.astype(np.int64),
            csr.indices.astype(np.int32),
            batch,
            ordering,
            grid,
            threads,
            _pivot_tolerance(pivot_tolerance),
        )

    @property
    def batch(self) -> int:
        return int(self._lu.batch)

    @property
    def nnz(self) -> int:
        """Stored entries of L + U of one matrix."""
        return int(self._lu.nnz)

    @property
    def lanes(self) -> int:
        """Matrices per SIMD pack: 8 on CPUs with AVX-512, else 4 (and 4 for batches of at most four)."""
        return int(self._lu.lanes)

    @property
    def ordering(self) -> str:
        return str(self._lu.ordering)

    @property
    def factor_flops(self) -> float:
        """Floating-point operations of one matrix's numeric factorisation."""
        return float(self._lu.factor_flops)

    def factor(self, data: ArrayLike) -> None:
        """Factorise the batch; raises SingularMatrixError naming the first bad member."""
        self._lu.factor(self._data(data))

    def solve(self, b: ArrayLike) -> NDArray[np.float64]:
        """Solve every member's system: b (batch, n) -> x (batch, n)."""
        return self._lu.solve(self._rhs(b))

    def factor_solve(self, data: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
        """`factor(data)` then `solve(b)`, faster: each pack is solved while its factors are in cache."""
        data, b = self._data(data), self._rhs(b)
        return self._lu.factor_solve(data, b)

    def _data(self, data: ArrayLike) -> NDArray[np.float64]:
        data = real_array("data", data, finite=False)  # checked while the core interleaves it
        if data.shape != (self.batch, self.nnz_matrix):
            raise ValueError(
                f"data must have shape (batch, nnz) = {(self.batch, self.nnz_matrix)}, got {data.shape}"
            )
        return data

    def _rhs(self, b: ArrayLike) -> NDArray[np.float64]:
        b = real_array("b", b)
        if b.shape != (self.batch, self.shape[0]):
            raise ValueError(f"b must have shape (batch, n) = {(self.batch, self.shape[0])}, got {b.shape}")
        return b

    def __repr__(self) -> str:
        n, nnz = self.shape[0], self.nnz
        return f"BatchedLU(n={n}, batch={self.batch}, nnz(L+U)={nnz}, ordering={self.ordering!r})"
