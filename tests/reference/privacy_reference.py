"""Slow, obviously-correct references for the privacy kernels and encoders.

Written from the definitions (dyadic blocks, Toeplitz products), independently of
``onlinekit/privacy/_kernels.py``.
"""

from __future__ import annotations

import numpy as np


def tree_nodes_completed(t: int) -> list[int]:
    """Heights of the dyadic blocks that end exactly at step t (1-indexed)."""
    hs = []
    h = 0
    while t % (2**h) == 0:
        hs.append(h)
        h += 1
    return hs


def tree_reference(X: np.ndarray, noise: np.ndarray, honaker: bool, L: int) -> np.ndarray:
    """Tree counter outputs for inputs X (n, d) with node noise rows consumed in completion
    order (heights 0..tz(t) at each step t). Blocks are identified by (h, k): steps
    k*2^h+1 .. (k+1)*2^h."""
    n, d = X.shape
    noisy = {}
    est = {}
    out = np.zeros((n, d))
    p = 0
    for t in range(1, n + 1):
        for h in tree_nodes_completed(t):
            k = t // 2**h - 1
            exact = X[k * 2**h:(k + 1) * 2**h].sum(axis=0)
            noisy[(h, k)] = exact + noise[p]
            p += 1
            if honaker and h > 0:
                r = 2.0**h / (2.0 ** (h + 1) - 1.0)
                kids = est[(h - 1, 2 * k)] + est[(h - 1, 2 * k + 1)]
                est[(h, k)] = r * noisy[(h, k)] + (1 - r) * kids
            else:
                est[(h, k)] = noisy[(h, k)]
        # dyadic decomposition of [1, t]
        acc = np.zeros(d)
        start = 0
        for h in range(L - 1, -1, -1):
            if t & (1 << h):
                k = start // 2**h
                acc = acc + est[(h, k)]
                start += 2**h
        out[t - 1] = acc
    return out


def tree_encoder(x: np.ndarray, T: int) -> np.ndarray:
    """All released node sums of the tree over a full stream x (T,) -> vector."""
    vals = []
    h = 0
    while 2**h <= T:
        for k in range(T // 2**h):
            vals.append(x[k * 2**h:(k + 1) * 2**h].sum())
        h += 1
    return np.array(vals)


def sqrt_matrix(T: int) -> np.ndarray:
    """Lower-triangular Toeplitz C with C[t, s] = binom(2(t-s), t-s) / 4^(t-s), via exact
    rationals (fractions) converted to float at the end."""
    from fractions import Fraction
    from math import comb

    c = [Fraction(comb(2 * k, k), 4**k) for k in range(T)]
    C = np.zeros((T, T))
    for t in range(T):
        for s in range(t + 1):
            C[t, s] = float(c[t - s])
    return C


def toeplitz_reference(c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """w[t] = sum_{s<=t} c[t-s] z[s] by a plain double loop."""
    T, d = z.shape
    w = np.zeros((T, d))
    for t in range(T):
        for s in range(t + 1):
            w[t] += c[t - s] * z[s]
    return w


def discrete_gaussian_pmf_ref(ks: np.ndarray, sigma2: float, radius: int = 2000) -> np.ndarray:
    """N_Z(0, sigma2) probabilities at ks, normalised over [-radius, radius]."""
    allk = np.arange(-radius, radius + 1)
    z = np.exp(-(allk**2) / (2 * sigma2)).sum()
    return np.exp(-(np.asarray(ks) ** 2) / (2 * sigma2)) / z
