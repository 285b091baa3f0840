"""Numba kernels for streaming metrics (private)."""

from onlinekit._numba import njit


@njit
def _accumulate_gram(G, b, Z, y):
    """``G += sum_i z_i z_i^T`` and ``b += sum_i y_i z_i``, one row at a time, in order.

    Row-by-row accumulation makes the result independent of how rows were split into blocks.
    """
    n, d = Z.shape
    for i in range(n):
        for j in range(d):
            zj = Z[i, j]
            b[j] += y[i] * zj
            for k in range(d):
                G[j, k] += zj * Z[i, k]
