"""NVIDIA cuDSS for the GPU benchmarks, through nvmath-python's sparse direct solver.

A batch of FP systems with one pattern is handed to `nvmath.sparse.advanced.DirectSolver` as a
sequence of CuPy CSR matrices and right-hand sides (device memory: no transfer is timed). The
solver plans (reordering and symbolic factorisation) once; each timed call resets the operands'
values (`reset_operands`) and runs `factorize` and `solve`: cuDSS's refactorisation + solve of
the same batch, its best case for a sequence of FP iterations. Needs a GPU, `nvmath-python`,
`nvidia-cudss-cu13` and `cupy-cuda13x`; the benchmarks skip with the reason otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import cupy as cp  # ImportError without CuPy: the benchmarks skip on it
import cupyx.scipy.sparse as cusparse
import numpy as np
import scipy.sparse as sp
from nvmath.sparse.advanced import DirectSolver


class CudssBatch:
    """cuDSS on a batch of systems (A_k, b_k) with one sparsity pattern."""

    def __init__(self, systems: Sequence[tuple[sp.csr_matrix, np.ndarray]]) -> None:
        self.a = [cusparse.csr_matrix(A) for A, _ in systems]
        self.b = [cp.asarray(b) for _, b in systems]
        self.solver = DirectSolver(self.a, self.b)
        self.solver.plan()

    def refactor_solve(self) -> list:
        """Factorisation + solve of the current values (after an unchanged reset, as a new
        Picard iterate would be handed over)."""
        self.solver.reset_operands(a=self.a, b=self.b)
        self.solver.factorize()
        x = self.solver.solve()
        cp.cuda.get_current_stream().synchronize()
        return x

    def close(self) -> None:
        self.solver.free()
