"""UMFPACK (SuiteSparse) called directly through ctypes, for the peer benchmarks.

The library comes from the system (Debian: `apt-get install libumfpack5`, or libsuitesparse-dev);
no Python package is needed. The 64-bit-index ("dl") routines with UMFPACK's default controls,
on the CSC arrays of A (A x = b, system UMFPACK_A); the arrays are prepared once per matrix, so a
timed call spends its time in UMFPACK only. UMFPACK's dense kernels call the system BLAS
(`libblas.so.3`): `blas_library()` names the one that is loaded and `pin_blas_one_thread()`
limits it to one thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

_CONTROL, _INFO = 20, 90  # UMFPACK_CONTROL, UMFPACK_INFO (umfpack.h)
_SYS_A = 0  # UMFPACK_A: solve A x = b
_OK = 0
_WARNING_SINGULAR = 1

_int64_p = ctypes.POINTER(ctypes.c_int64)
_double_p = ctypes.POINTER(ctypes.c_double)
_handle_p = ctypes.POINTER(ctypes.c_void_p)


def _load() -> ctypes.CDLL:
    name = ctypes.util.find_library("umfpack")
    if name is None:
        raise ImportError("libumfpack not found (Debian: apt-get install libumfpack5)")
    lib = ctypes.CDLL(name)
    lib.umfpack_dl_defaults.argtypes = [_double_p]
    lib.umfpack_dl_defaults.restype = None
    lib.umfpack_dl_symbolic.argtypes = [
        ctypes.c_int64, ctypes.c_int64, _int64_p, _int64_p, _double_p, _handle_p, _double_p, _double_p
    ]
    lib.umfpack_dl_symbolic.restype = ctypes.c_int64
    lib.umfpack_dl_numeric.argtypes = [
        _int64_p, _int64_p, _double_p, ctypes.c_void_p, _handle_p, _double_p, _double_p
    ]
    lib.umfpack_dl_numeric.restype = ctypes.c_int64
    lib.umfpack_dl_solve.argtypes = [
        ctypes.c_int64, _int64_p, _int64_p, _double_p, _double_p, _double_p, ctypes.c_void_p, _double_p,
        _double_p,
    ]
    lib.umfpack_dl_solve.restype = ctypes.c_int64
    for free in (lib.umfpack_dl_free_symbolic, lib.umfpack_dl_free_numeric):
        free.argtypes = [_handle_p]
        free.restype = None
    return lib


_LIB = _load()  # ImportError when the library is missing: the benchmarks skip on it


def blas_library() -> str:
    """The file behind libblas.so.3 in this process (UMFPACK's BLAS), from /proc/self/maps."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        name = Path(line.split()[-1]).name
        if name.startswith(("libblas", "libopenblas")):
            return str(Path(line.split()[-1]).resolve())
    return "unknown"


def pin_blas_one_thread() -> int | None:
    """Limit UMFPACK's BLAS (only that library) to one thread with threadpoolctl, when installed.

    Returns the BLAS's thread count afterwards, or None when threadpoolctl is missing or does
    not know the library (a serial BLAS, such as Debian's libopenblas0-serial, has one anyway).
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    blas = ThreadpoolController().select(filepath=blas_library())
    if not blas.lib_controllers:
        return None
    blas.limit(limits=1)
    return int(blas.info()[0]["num_threads"])


def _check(status: int, what: str) -> None:
    # A singular-matrix warning still leaves factors; the residual checks catch a bad answer.
    if status not in (_OK, _WARNING_SINGULAR):
        raise RuntimeError(f"UMFPACK {what} failed with status {status}")


class UmfpackLU:
    """UMFPACK's symbolic analysis of one pattern, kept for numeric factorisations of any values on it."""

    def __init__(self, A: sp.spmatrix) -> None:
        csc = sp.csc_matrix(A)
        csc.sort_indices()
        self.n = csc.shape[0]
        self._Ap = csc.indptr.astype(np.int64)
        self._Ai = csc.indices.astype(np.int64)
        # CSR -> CSC as a permutation of the values, so later CSR values map without a conversion.
        self._csr_to_csc = self._value_map(sp.csr_matrix(A))
        self._control = np.zeros(_CONTROL)
        _LIB.umfpack_dl_defaults(self._control.ctypes.data_as(_double_p))
        self._info = np.zeros(_INFO)
        self._symbolic = ctypes.c_void_p()
        self._numeric = ctypes.c_void_p()
        self._analyse(np.ascontiguousarray(csc.data, dtype=np.float64))

    def _value_map(self, csr: sp.csr_matrix) -> NDArray[np.intp]:
        csr = csr.copy()
        csr.sort_indices()
        positions = sp.csr_matrix((np.arange(csr.nnz, dtype=np.float64), csr.indices, csr.indptr), csr.shape)
        return positions.tocsc().data.astype(np.intp)

    def csc_values(self, csr_data: NDArray[np.float64]) -> NDArray[np.float64]:
        """The CSC value array of a matrix on this pattern given its (sorted) CSR values."""
        return np.ascontiguousarray(csr_data[self._csr_to_csc], dtype=np.float64)

    def _ptr(self, array: NDArray) -> ctypes._Pointer:
        return array.ctypes.data_as(_int64_p if array.dtype == np.int64 else _double_p)

    def _analyse(self, Ax: NDArray[np.float64]) -> None:
        status = _LIB.umfpack_dl_symbolic(
            self.n, self.n, self._ptr(self._Ap), self._ptr(self._Ai), self._ptr(Ax),
            ctypes.byref(self._symbolic), self._ptr(self._control), self._ptr(self._info),
        )
        _check(status, "symbolic analysis")

    def factor_solve(self, Ax: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        """Numeric factorisation of the CSC values Ax on the analysed pattern, then x = A⁻¹b."""
        if self._numeric:
            _LIB.umfpack_dl_free_numeric(ctypes.byref(self._numeric))
        status = _LIB.umfpack_dl_numeric(
            self._ptr(self._Ap), self._ptr(self._Ai), self._ptr(Ax), self._symbolic,
            ctypes.byref(self._numeric), self._ptr(self._control), self._ptr(self._info),
        )
        _check(status, "numeric factorisation")
        x = np.empty(self.n)
        b = np.ascontiguousarray(b, dtype=np.float64)
        status = _LIB.umfpack_dl_solve(
            _SYS_A, self._ptr(self._Ap), self._ptr(self._Ai), self._ptr(Ax), self._ptr(x), self._ptr(b),
            self._numeric, self._ptr(self._control), self._ptr(self._info),
        )
        _check(status, "solve")
        return x

    def close(self) -> None:
        if self._numeric:
            _LIB.umfpack_dl_free_numeric(ctypes.byref(self._numeric))
        if self._symbolic:
            _LIB.umfpack_dl_free_symbolic(ctypes.byref(self._symbolic))

    def __del__(self) -> None:
        self.close()


def umfpack_solve(Ap: NDArray[np.int64], Ai: NDArray[np.int64], Ax: NDArray[np.float64],
                  b: NDArray[np.float64]) -> NDArray[np.float64]:
    """From scratch: symbolic analysis, numeric factorisation, solve and free, on CSC arrays."""
    n = len(Ap) - 1
    control = np.zeros(_CONTROL)
    _LIB.umfpack_dl_defaults(control.ctypes.data_as(_double_p))
    info = np.zeros(_INFO)
    symbolic, numeric = ctypes.c_void_p(), ctypes.c_void_p()
    Ap_p, Ai_p, Ax_p = Ap.ctypes.data_as(_int64_p), Ai.ctypes.data_as(_int64_p), Ax.ctypes.data_as(_double_p)
    c_p, i_p = control.ctypes.data_as(_double_p), info.ctypes.data_as(_double_p)
    x = np.empty(n)
    b = np.ascontiguousarray(b, dtype=np.float64)
    x_p, b_p = x.ctypes.data_as(_double_p), b.ctypes.data_as(_double_p)
    try:
        status = _LIB.umfpack_dl_symbolic(n, n, Ap_p, Ai_p, Ax_p, ctypes.byref(symbolic), c_p, i_p)
        _check(status, "symbolic analysis")
        status = _LIB.umfpack_dl_numeric(Ap_p, Ai_p, Ax_p, symbolic, ctypes.byref(numeric), c_p, i_p)
        _check(status, "numeric factorisation")
        _check(_LIB.umfpack_dl_solve(_SYS_A, Ap_p, Ai_p, Ax_p, x_p, b_p, numeric, c_p, i_p), "solve")
    finally:
        if numeric:
            _LIB.umfpack_dl_free_numeric(ctypes.byref(numeric))
        if symbolic:
            _LIB.umfpack_dl_free_symbolic(ctypes.byref(symbolic))
    return x
