"""Test matrices shared by the threading tests."""

import numpy as np
import scipy.sparse as sp


def grid_matrix(H: int, W: int, seed: int) -> sp.csr_matrix:
    """A strictly diagonally dominant, nonsymmetric matrix on the 5-point pattern of an H×W grid."""
    rng = np.random.default_rng(seed)
    n = H * W
    idx = np.arange(n).reshape(H, W)
    pairs = [(idx[:, :-1], idx[:, 1:]), (idx[:, 1:], idx[:, :-1]),
             (idx[:-1, :], idx[1:, :]), (idx[1:, :], idx[:-1, :])]
    rows = np.concatenate([a.ravel() for a, _ in pairs])
    cols = np.concatenate([b.ravel() for _, b in pairs])
    off = sp.csr_matrix((rng.uniform(-1.0, 1.0, rows.size), (rows, cols)), shape=(n, n))
    diag = np.asarray(abs(off).sum(axis=1)).ravel() + rng.uniform(0.5, 1.5, n)
    A = (off + sp.diags(diag)).tocsr()
    A.sort_indices()
    return A
