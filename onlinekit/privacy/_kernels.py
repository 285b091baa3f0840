"""Numba kernels of the private counters (private; arrays and scalars only).

References in ``tests/reference/privacy_reference.py``.
"""

from __future__ import annotations

from onlinekit._numba import njit


@njit
def _tree_block(X, t0, last_exact, last_est, noise, scale, w, honaker, out):
    """Binary-tree counter over a block of inputs.

    ``X`` (n, d) inputs; ``t0`` steps already released; ``last_exact`` / ``last_est`` (L, d):
    per height, the exact sum and the released estimate of the most recently completed node
    (updated in place). ``noise`` (m, d): node noise in completion order, ``tz(t) + 1`` rows
    per step t (heights 0..tz(t)), multiplied by ``scale``. ``w`` (L,): Honaker weights of a node's own noisy value.
    ``out`` (n, d) receives the prefix-sum estimates. Returns the number of noise rows used.
    """
    n, d = X.shape
    p = 0
    for i in range(n):
        t = t0 + i + 1
        H = 0
        tt = t
        while (tt & 1) == 0:
            tt >>= 1
            H += 1
        for j in range(d):
            cur_ex = X[i, j]
            cur_est = cur_ex + scale * noise[p, j]
            for h in range(1, H + 1):
                left_ex = last_exact[h - 1, j]
                left_est = last_est[h - 1, j]
                last_exact[h - 1, j] = cur_ex
                last_est[h - 1, j] = cur_est
                cur_ex = left_ex + cur_ex
                v = cur_ex + scale * noise[p + h, j]
                if honaker:
                    cur_est = w[h] * v + (1.0 - w[h]) * (left_est + cur_est)
                else:
                    cur_est = v
            last_exact[H, j] = cur_ex
            last_est[H, j] = cur_est
            acc = 0.0
            tt = t
            h = 0
            while tt > 0:
                if tt & 1:
                    acc += last_est[h, j]
                tt >>= 1
                h += 1
            out[i, j] = acc
        p += H + 1
    return p


@njit
def _toeplitz_stream(c, z, t0, n, out):
    """Causal Toeplitz noise ``out[i] = sum_{s <= t} c[t - s] z[s]`` for t = t0 .. t0+n-1.

    Sequential sums (the streaming path: O(t) work per step, no look-ahead). ``z`` (T, d)
    must hold the draws of steps 0..t0+n-1; ``out`` is (n, d).
    """
    d = z.shape[1]
    for i in range(n):
        t = t0 + i
        for j in range(d):
            acc = 0.0
            for s in range(t + 1):
                acc += c[t - s] * z[s, j]
            out[i, j] = acc


def n_nodes(t0: int, n: int) -> int:
    """Number of tree nodes completed during steps t0+1 .. t0+n: ``sum_t (trailing_zeros(t) + 1)``.

    Uses ``sum_{t<=N} trailing_zeros(t) = N - popcount(N)`` (Legendre's formula for the
    2-adic valuation of N!).
    """
    def v(N: int) -> int:
        return N - bin(N).count("1")

    return n + v(t0 + n) - v(t0)


@njit
def _lower_rows(M, z, t0, n, out):
    """Rows t = t0 .. t0+n-1 of ``M @ z`` for lower-triangular ``M`` (sequential sums over
    s <= t; only ``z[:t+1]`` is read)."""
    d = z.shape[1]
    for i in range(n):
        t = t0 + i
        for j in range(d):
            acc = 0.0
            for s in range(t + 1):
                acc += M[t, s] * z[s, j]
            out[i, j] = acc
