"""MKL PARDISO for the peer benchmarks, through the MKL runtime that pypardiso finds and loads.

pypardiso's own `solve` converts the index arrays to 1-based int32 copies on every call and
compares the matrix with the one it factorised; to time PARDISO itself, this module calls
`pardiso` of the same library directly: default parameters for a real nonsymmetric matrix
(`pardisoinit`, mtype 11: METIS ordering, matching and scaling, two refinement steps at most),
0-based indices (iparm(35) = 1), so A's own CSR arrays are passed as they are.

MKL is pinned to one thread on import (`MKL_Set_Num_Threads(1)`, which overrides
MKL_NUM_THREADS; bench/pardiso_threads.py times both and shows which takes effect).
"""

from __future__ import annotations

import ctypes

import numpy as np
import pypardiso  # ImportError when not installed: the benchmarks skip on it
import scipy.sparse as sp
from numpy.typing import NDArray

_LIB = pypardiso.PyPardisoSolver().libmkl
_MTYPE = 11  # real nonsymmetric
_ANALYSE, _FACTOR_SOLVE, _ALL, _RELEASE = 11, 23, 13, -1

_int32_p = ctypes.POINTER(ctypes.c_int32)
_pardiso = _LIB["pardiso"]
_pardiso.argtypes = [
    ctypes.c_void_p,  # pt: 64 internal handles
    _int32_p, _int32_p, _int32_p, _int32_p, _int32_p,  # maxfct, mnum, mtype, phase, n
    ctypes.c_void_p, _int32_p, _int32_p, _int32_p,  # a, ia, ja, perm
    _int32_p, _int32_p, _int32_p,  # nrhs, iparm, msglvl
    ctypes.c_void_p, ctypes.c_void_p, _int32_p,  # b, x, error
]
_pardiso.restype = None
_pardisoinit = _LIB["pardisoinit"]
_pardisoinit.argtypes = [ctypes.c_void_p, _int32_p, _int32_p]
_pardisoinit.restype = None


def set_threads(count: int) -> int:
    """Set MKL's thread count for this process; returns the count MKL then reports."""
    _LIB.MKL_Set_Num_Threads(ctypes.c_int(count))
    return int(_LIB.MKL_Get_Max_Threads())


def max_threads() -> int:
    return int(_LIB.MKL_Get_Max_Threads())


def mkl_version() -> str:
    buffer = ctypes.create_string_buffer(256)
    _LIB.mkl_get_version_string(buffer, ctypes.c_int(len(buffer)))
    return buffer.value.decode().strip()


set_threads(1)


def _i32(value: int) -> ctypes.c_int32:
    return ctypes.c_int32(value)


class PardisoLU:
    """A PARDISO handle whose analysis (phase 11) of one pattern serves numeric factorisations
    with solves (phase 23) of any values on it."""

    def __init__(self, A: sp.spmatrix, analyse: bool = True) -> None:
        csr = sp.csr_matrix(A)  # no copy for a CSR matrix
        csr.sort_indices()  # a no-op when sorted
        self.n = csr.shape[0]
        self._ia = np.asarray(csr.indptr, dtype=np.int32)  # no copy when already int32
        self._ja = np.asarray(csr.indices, dtype=np.int32)
        self._pt = np.zeros(64, dtype=np.int64)
        self._iparm = np.zeros(64, dtype=np.int32)
        _pardisoinit(self._pt.ctypes.data, ctypes.byref(_i32(_MTYPE)), self._iparm.ctypes.data_as(_int32_p))
        self._iparm[34] = 1  # iparm(35): 0-based ia/ja
        self._live = True
        if analyse:
            data = np.ascontiguousarray(csr.data, dtype=np.float64)
            self._call(_ANALYSE, data, np.zeros(self.n), np.zeros(self.n))

    def _call(self, phase: int, a: NDArray[np.float64], b: NDArray[np.float64],
              x: NDArray[np.float64]) -> None:
        error = ctypes.c_int32(0)
        _pardiso(
            self._pt.ctypes.data, ctypes.byref(_i32(1)), ctypes.byref(_i32(1)), ctypes.byref(_i32(_MTYPE)),
            ctypes.byref(_i32(phase)), ctypes.byref(_i32(self.n)), a.ctypes.data,
            self._ia.ctypes.data_as(_int32_p), self._ja.ctypes.data_as(_int32_p), None,
            ctypes.byref(_i32(1)), self._iparm.ctypes.data_as(_int32_p), ctypes.byref(_i32(0)),
            b.ctypes.data, x.ctypes.data, ctypes.byref(error),
        )
        if error.value != 0:
            raise RuntimeError(f"PARDISO phase {phase} failed with error {error.value}")

    def factor_solve(self, data: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        """Numeric factorisation of the CSR values `data` on the analysed pattern, then x = A⁻¹b."""
        x = np.empty(self.n)
        self._call(_FACTOR_SOLVE, data, np.ascontiguousarray(b, dtype=np.float64), x)
        return x

    def solve_from_scratch(self, data: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        """Analysis, numeric factorisation and solve in one call (phase 13) on this handle."""
        x = np.empty(self.n)
        self._call(_ALL, data, np.ascontiguousarray(b, dtype=np.float64), x)
        return x

    def close(self) -> None:
        if self._live:
            self._live = False
            dummy = np.zeros(1)
            self._call(_RELEASE, dummy, dummy, dummy)

    def __del__(self) -> None:
        self.close()


def pardiso_solve(A: sp.csr_matrix, b: NDArray[np.float64]) -> NDArray[np.float64]:
    """From scratch: a new handle, analysis + factorisation + solve (phase 13), then release."""
    lu = PardisoLU(A, analyse=False)
    try:
        return lu.solve_from_scratch(A.data, b)
    finally:
        lu.close()
