"""Numba kernels of the exact discrete samplers (private; integers only, no float anywhere).

Bits come from a buffer of 64-bit words (``buf``, int64 view) consumed bit-exactly from
position ``st[0]`` up to ``st[1]`` (both in bits). ``st[2]`` is the status flag: 0 ok, 1 the
buffer ran out in the middle of a draw (the caller refills and re-runs that draw from its
first bit, so the stream is used exactly as if it were endless), 2 a value would leave the
int64 range (refused by the caller with an error; probability below ``2**-90`` for the scales
that :mod:`onlinekit.privacy.noise` accepts).

Numbers wider than 62 bits are held as two limbs ``(hi, lo)`` of base ``2**62``.

Constant arguments are passed as ``np.int64(...)``: a bare ``1`` is typed as a literal, and
numba compiles the callee once more for each literal it is called with.
"""

from __future__ import annotations

import numpy as np

from onlinekit._numba import njit

B62 = 1 << 62
M62 = B62 - 1
M31 = (1 << 31) - 1


@njit
def _bitlen(n):
    k = 0
    while n > 0:
        n >>= 1
        k += 1
    return k


@njit
def _take(buf, st, k):
    """``k`` (0..62) fresh bits as a non-negative int64."""
    if k == 0:
        return 0
    pos = st[0]
    if pos + k > st[1]:
        st[2] = 1
        return 0
    w = pos >> 6
    s = pos & 63
    st[0] = pos + k
    if s + k <= 64:
        return (buf[w] >> s) & ((1 << k) - 1)
    n1 = 64 - s
    lo = (buf[w] >> s) & ((1 << n1) - 1)
    hi = buf[w + 1] & ((1 << (k - n1)) - 1)
    return lo | (hi << n1)


@njit
def _bit(buf, st):
    """One fresh bit."""
    pos = st[0]
    if pos >= st[1]:
        st[2] = 1
        return 0
    st[0] = pos + 1
    return (buf[pos >> 6] >> (pos & 63)) & 1


@njit
def _uniform(buf, st, n):
    """Uniform integer in ``[0, n)``, 1 <= n <= 2**62 (rejection on bitlen(n - 1) bits)."""
    if n == 1:
        return 0
    k = _bitlen(n - 1)
    while True:
        v = _take(buf, st, k)
        if st[2] != 0:
            return 0
        if v < n:
            return v


@njit
def _bern_lazy(buf, st, ph, pl, qh, ql):
    """Bernoulli(P / Q) for two-limb 0 <= P <= Q, Q >= 1: a uniform V in [0, Q) (rejection
    from [0, 2**k)) is compared with P bit by bit from the top, drawing only the bits needed
    to decide (about 2 on average). ``eq_p`` / ``eq_q``: V's prefix equals P's / Q's."""
    if ph == 0 and pl == 0:
        return False
    if ph == qh and pl == ql:
        return True
    # k = bitlen(Q - 1): V is drawn from [0, 2**k), at least half of which lies below Q
    if ql > 0:
        k = 62 + _bitlen(qh) if qh > 0 else _bitlen(ql - 1)
    else:
        k = 62 + _bitlen(qh - 1)
    if k >= 62:
        q_big = (qh >> (k - 62)) > 0
    else:
        q_big = qh > 0 or (ql >> k) > 0
    while True:
        eq_p = True
        eq_q = not q_big  # Q = 2**k: every V < 2**k is below Q
        reject = False
        for i in range(k - 1, -1, -1):
            if i >= 62:
                pb = (ph >> (i - 62)) & 1
                qb = (qh >> (i - 62)) & 1
            else:
                pb = (pl >> i) & 1
                qb = (ql >> i) & 1
            b = _bit(buf, st)
            if st[2] != 0:
                return False
            if eq_p:
                if b < pb:
                    return True  # V < P <= Q
                if b > pb:
                    eq_p = False
            if eq_q:
                if b > qb:
                    reject = True  # V > Q
                    break
                if b < qb:
                    eq_q = False
            if not eq_p and not eq_q:
                return False  # P < V < Q
        if not reject and not eq_q:
            return False  # V == P < Q
        # V >= Q: draw again


@njit
def _bern_frac(buf, st, p, q):
    """Bernoulli(p / q) for 0 <= p <= q, 1 <= q < 2**62."""
    return _bern_lazy(buf, st, np.int64(0), p, np.int64(0), q)


@njit
def _bexp_small(buf, st, p, q):
    """Bernoulli(exp(-p/q)) for 0 <= p <= q (CKS20 Algorithm 1, gamma <= 1): K is the first
    k with A_k = 0, A_k ~ Bernoulli(gamma / k) = Bernoulli(1/k) * Bernoulli(p/q); returns K odd."""
    k = np.int64(1)
    while True:
        a = _bern_frac(buf, st, np.int64(1), k)
        if st[2] != 0:
            return False
        if a:
            a = _bern_frac(buf, st, p, q)
            if st[2] != 0:
                return False
        if not a:
            return (k & 1) == 1
        k += 1


@njit
def _bexp(buf, st, p, q):
    """Bernoulli(exp(-p/q)) for p >= 0, q >= 1 (both < 2**62)."""
    while p > q:
        if not _bexp_small(buf, st, np.int64(1), np.int64(1)):
            return False
        if st[2] != 0:
            return False
        p -= q
    return _bexp_small(buf, st, p, q)


@njit
def _dlap(buf, st, num, den):
    """Discrete Laplace, P(x) ~ exp(-|x| den / num) (CKS20 Algorithm 2)."""
    while True:
        u = _uniform(buf, st, num)
        if st[2] != 0:
            return 0
        d = _bexp_small(buf, st, u, num)
        if st[2] != 0:
            return 0
        if not d:
            continue
        v = 0
        while True:
            a = _bexp_small(buf, st, np.int64(1), np.int64(1))
            if st[2] != 0:
                return 0
            if not a:
                break
            v += 1
        if v > (M62 - u) // num:
            st[2] = 2
            return 0
        y = (u + num * v) // den
        s = _bit(buf, st)
        if st[2] != 0:
            return 0
        if s == 1:
            if y == 0:
                continue
            return -y
        return y


@njit
def _mul(x, y):
    """x * y for 0 <= x, y < 2**62 as limbs (hi, lo) of base 2**62."""
    x1 = x >> 31
    x0 = x & M31
    y1 = y >> 31
    y0 = y & M31
    mid = x1 * y0 + x0 * y1  # < 2**63
    lo = x0 * y0 + ((mid & M31) << 31)  # < 2**63
    hi = x1 * y1 + (mid >> 31) + (lo >> 62)
    return hi, lo & M62


@njit
def _bexp2(buf, st, ph, pl, qh, ql):
    """Bernoulli(exp(-P/Q)) for two-limb P >= 0, Q >= 1."""
    while ph > qh or (ph == qh and pl > ql):
        if not _bexp_small(buf, st, np.int64(1), np.int64(1)):
            return False
        if st[2] != 0:
            return False
        pl -= ql
        ph -= qh
        if pl < 0:
            pl += B62
            ph -= 1
    k = np.int64(1)
    while True:
        a = _bern_frac(buf, st, np.int64(1), k)
        if st[2] != 0:
            return False
        if a:
            a = _bern_lazy(buf, st, ph, pl, qh, ql)
            if st[2] != 0:
                return False
        if not a:
            return (k & 1) == 1
        k += 1


@njit
def _dgauss(buf, st, a, b, t, ylim):
    """Discrete Gaussian with variance a/b (CKS20 Algorithm 3): discrete Laplace proposal Y
    of integer scale t (any t > 0 is exact; the caller picks a power of two near sigma),
    accepted with probability
    exp(-(|Y| - a/(b t))^2 / (2 a / b)) = exp(-(|Y| b t - a)^2 / (2 a b t^2))."""
    bt = b * t
    qh, ql = _mul(2 * a, bt * t)
    while True:
        y = _dlap(buf, st, t, np.int64(1))
        if st[2] != 0:
            return 0
        ay = y if y >= 0 else -y
        if ay > ylim:
            st[2] = 2
            return 0
        m = ay * bt - a
        if m < 0:
            m = -m
        ph, pl = _mul(m, m)
        c = _bexp2(buf, st, ph, pl, qh, ql)
        if st[2] != 0:
            return 0
        if c:
            return y


@njit
def _fill(kind, buf, st, p0, p1, p2, p3, out, k0):
    """Draw ``out[k0:]`` (kind 0: discrete Laplace num=p0, den=p1; kind 1: discrete Gaussian
    a=p0, b=p1, t=p2, ylim=p3). Returns the index of the first draw not made: ``len(out)``
    when done, else the draw the buffer ran out in (``st[0]`` is put back to its first bit)
    or that overflowed (``st[2] == 2``)."""
    n = out.shape[0]
    for k in range(k0, n):
        start = st[0]
        if kind == 0:
            v = _dlap(buf, st, p0, p1)
        else:
            v = _dgauss(buf, st, p0, p1, p2, p3)
        if st[2] != 0:
            st[0] = start
            return k
        out[k] = v
    return n


@njit
def _splitmix_words(key, start, out):
    """SplitMix64 outputs number ``start .. start + len(out) - 1`` of the stream keyed by
    ``key`` (a counter-based generator: any position can be produced directly). Wrapping
    int64 arithmetic; logical shifts are done by masking the arithmetic ones."""
    g = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64
    c1 = -4658895280553007687  # 0xBF58476D1CE4E5B9
    c2 = -7723592293110705685  # 0x94D049BB133111EB
    for i in range(out.shape[0]):
        z = key + (start + i + 1) * g
        z = (z ^ ((z >> 30) & ((1 << 34) - 1))) * c1
        z = (z ^ ((z >> 27) & ((1 << 37) - 1))) * c2
        out[i] = z ^ ((z >> 31) & ((1 << 33) - 1))


@njit
def _tree_block_int(X, t0, last_exact, last_noisy, last_est, noise, w, honaker, inv_q, out):
    """Binary-tree counter on the integer grid (the secure path of the tree counter).

    As ``_tree_block`` of :mod:`onlinekit.privacy._kernels`, with integer inputs ``X`` (n, d),
    integer node sums ``last_exact`` and noisy node values ``last_noisy`` (int64, (L, d)) and
    integer noise rows ``noise``. With Honaker every completed node is noised (``tz(t) + 1``
    rows per step t, heights 0..tz(t)) and the release sums the float Honaker estimates
    (post-processing). Without it only the top node completed at step t (height ``tz(t)``, a
    left child) gets noise, one row per step: the lower nodes completed at t are right
    children, which no prefix decomposition ever uses, so their noise would never be
    released. The release is the integer sum of the noisy nodes times ``inv_q``. Returns the
    number of noise rows used.
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
            cur_noisy = cur_ex
            cur_est = 0.0
            if honaker:
                cur_noisy = cur_ex + noise[p, j]
                cur_est = float(cur_noisy)
            for h in range(1, H + 1):
                left_ex = last_exact[h - 1, j]
                last_exact[h - 1, j] = cur_ex
                cur_ex = left_ex + cur_ex
                if honaker:
                    left_est = last_est[h - 1, j]
                    last_noisy[h - 1, j] = cur_noisy
                    last_est[h - 1, j] = cur_est
                    cur_noisy = cur_ex + noise[p + h, j]
                    cur_est = w[h] * cur_noisy + (1.0 - w[h]) * (left_est + cur_est)
            last_exact[H, j] = cur_ex
            if honaker:
                last_noisy[H, j] = cur_noisy
                last_est[H, j] = cur_est
            else:
                last_noisy[H, j] = cur_ex + noise[p, j]
                last_est[H, j] = float(last_noisy[H, j])
            tt = t
            h = 0
            if honaker:
                acc = 0.0
                while tt > 0:
                    if tt & 1:
                        acc += last_est[h, j]
                    tt >>= 1
                    h += 1
                out[i, j] = acc * inv_q
            else:
                iacc = 0
                while tt > 0:
                    if tt & 1:
                        iacc += last_noisy[h, j]
                    tt >>= 1
                    h += 1
                out[i, j] = iacc * inv_q
        p += H + 1 if honaker else 1
    return p
