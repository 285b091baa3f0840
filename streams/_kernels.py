"""Numba kernels of the stream layer (private)."""

import math

import numpy as np

from onlinekit._numba import njit


@njit
def _all_finite_1d(a):
    """True when every entry of the 1-d float array ``a`` is finite."""
    for i in range(a.shape[0]):
        if not math.isfinite(a[i]):
            return False
    return True


@njit
def _any_inf_1d(a):
    """True when the 1-d float array ``a`` holds +-inf (NaN is not inf)."""
    for i in range(a.shape[0]):
        v = a[i]
        if v - v != 0.0 and v == v:  # inf - inf is NaN; NaN itself is skipped
            return True
    return False


_MIX = 0x9E3779B97F4A7C15  # Fibonacci hashing: the high bits of code * MIX pick the slot


@njit
def code_table(keys, vals):
    """An open-addressing hash table from int64 ``keys`` (distinct) to int64 ``vals``.

    Returns ``(table_keys, table_vals, used, shift)`` for :func:`code_lookup`.
    """
    bits = 3
    while (1 << bits) < 2 * keys.shape[0]:
        bits += 1
    size = 1 << bits
    shift = 64 - bits
    tk = np.zeros(size, dtype=np.int64)
    tv = np.zeros(size, dtype=np.int64)
    used = np.zeros(size, dtype=np.bool_)
    mask = size - 1
    mix = np.uint64(_MIX)
    for i in range(keys.shape[0]):
        k = keys[i]
        h = np.int64((np.uint64(k) * mix) >> np.uint64(shift))
        while used[h] and tk[h] != k:
            h = (h + 1) & mask
        used[h] = True
        tk[h] = k
        tv[h] = vals[i]
    return tk, tv, used, shift


@njit
def code_lookup(tk, tv, used, shift, codes, absent):
    """``table[code]`` for each of ``codes`` (``absent`` where the code is not a key)."""
    n = codes.shape[0]
    out = np.empty(n, dtype=np.int64)
    mask = tk.shape[0] - 1
    mix = np.uint64(_MIX)
    for i in range(n):
        k = codes[i]
        h = np.int64((np.uint64(k) * mix) >> np.uint64(shift))
        r = absent
        while used[h]:
            if tk[h] == k:
                r = tv[h]
                break
            h = (h + 1) & mask
        out[i] = r
    return out
