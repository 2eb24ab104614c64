"""Large factor buffers are kept after use and handed to the next factorisation of the same size
(common/aligned_vector.cpp). A reused buffer still holds the previous factors: every result must
be what a fresh buffer gives, checked against scipy and bit for bit between repeats."""

from __future__ import annotations

import numpy as np
import pytest
from grid_matrices import grid_matrix
from scipy.sparse.linalg import spsolve

import fpscore


@pytest.mark.parametrize("threads", [1, 2])
def test_sparse_lu_from_scratch_on_reused_buffers(threads):
    # 200² on the 5-point pattern: about 20 MiB of factors, past the 16 MiB from which blocks are kept.
    A, B = grid_matrix(200, 200, 1), grid_matrix(200, 200, 2)
    b = np.random.default_rng(3).standard_normal(A.shape[0])
    first = fpscore.SparseLU(A, threads=threads)
    assert first.nnz * 8 >= 16 << 20
    x_first = first.solve(b)
    del first  # its buffers are kept
    other = fpscore.SparseLU(B, threads=threads)  # takes them, holding A's factors
    np.testing.assert_allclose(other.solve(b), spsolve(B.tocsc(), b), rtol=1e-10, atol=1e-12)
    del other
    again = fpscore.SparseLU(A, threads=threads)
    assert np.array_equal(again.solve(b), x_first)
    np.testing.assert_allclose(x_first, spsolve(A.tocsc(), b), rtol=1e-10, atol=1e-12)
