"""Compiled exact samplers (onlinekit.privacy.noise.discrete_laplace / discrete_gaussian).

Oracles: the exact pmf / cdf written from the definitions (closed-form geometric sums for the
discrete Laplace, direct summation or the midpoint rule for the discrete Gaussian), scipy's
``dlaplace``, and OpenDP's own samplers (two-sample test at the same scale). Tests run at
alpha = 1e-6 on fixed seeds of the seeded bit stream, which runs the same compiled code as the
secure path. Sabotage: the same tests reject a sampler whose scale is off by 2x.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from onlinekit.privacy import noise as N
from onlinekit.privacy.noise import (
    SecureBitStream,
    SeededBitStream,
    check_gaussian_scale,
    check_laplace_scale,
    discrete_gaussian,
    discrete_laplace,
)

ALPHA = 1e-6


def _seeded(seed: int) -> SeededBitStream:
    return SeededBitStream(SeededBitStream.new_state(np.random.default_rng(seed)))


# ---------------------------------------------------------------------------- exact oracles
def lap_cdf(k, s: float):
    """P(X <= k) of the discrete Laplace with scale s: P(X >= m) = a^m / (1 + a), a = e^{-1/s}."""
    k = np.asarray(k, dtype=float)
    a = math.exp(-1.0 / s)
    pos = 1.0 - np.exp(-(np.abs(k) + 1.0) / s) / (1.0 + a)
    neg = np.exp(-np.abs(k) / s) / (1.0 + a)
    return np.where(k >= 0, pos, neg)


def lap_ppf_cont(p, s: float):
    """Continuous Laplace quantile (only used to place bin edges, which need not be exact)."""
    p = np.asarray(p)
    return np.where(p < 0.5, s * np.log(2 * p), -s * np.log(2 * (1 - p)))


def gauss_cdf(k, s2: float):
    """P(X <= k) of N_Z(0, s2): exact summation for sigma <= 200, else the midpoint rule
    Phi((k + 1/2) / sigma), whose error (of order pdf / (24 sigma^2) by Euler-Maclaurin, and
    exp(-2 pi^2 sigma^2) for the normaliser by Poisson summation) is below 1e-9 there."""
    k = np.asarray(k)
    sigma = math.sqrt(s2)
    if sigma <= 200:
        r = int(40 * sigma) + 40
        grid = np.arange(-r, r + 1)
        w = np.exp(-(grid.astype(float) ** 2) / (2 * s2))
        c = np.cumsum(w) / w.sum()
        idx = np.clip(k + r, -1, 2 * r)
        return np.where(idx < 0, 0.0, c[np.maximum(idx, 0)])
    return stats.norm.cdf((k + 0.5) / sigma)


def binned_pvalue(xs, cdf, edges):
    """Chi-square test of xs against the exact cdf on the integer bins (-inf, e0], (e0, e1], ...,
    (e_last, inf). ``edges`` are fixed in advance (data-independent)."""
    edges = np.unique(np.asarray(edges, dtype=np.int64))
    F = np.concatenate([[0.0], cdf(edges), [1.0]])
    p = np.diff(F)
    obs = np.bincount(np.searchsorted(edges, xs, side="left"), minlength=len(edges) + 1)
    keep = p * len(xs) >= 5
    obs_k = np.append(obs[keep], obs[~keep].sum())
    exp_k = np.append(p[keep], p[~keep].sum()) * len(xs)
    if exp_k[-1] == 0:
        assert obs_k[-1] == 0, "draws in a bin of probability 0"
        obs_k, exp_k = obs_k[:-1], exp_k[:-1]
    return stats.chisquare(obs_k, exp_k * obs_k.sum() / exp_k.sum()).pvalue


def dkw_ok(xs, cdf, edges) -> bool:
    """Dvoretzky-Kiefer-Wolfowitz on the integer points ``edges``."""
    emp = np.searchsorted(np.sort(xs), edges, side="right") / len(xs)
    return np.max(np.abs(emp - cdf(edges))) <= math.sqrt(math.log(2 / ALPHA) / (2 * len(xs)))


def lap_edges(s: float):
    return np.round(lap_ppf_cont(np.linspace(0.005, 0.995, 61), s))


def gauss_edges(s2: float):
    return np.round(stats.norm.ppf(np.linspace(0.005, 0.995, 61)) * math.sqrt(s2))


LAPLACE_SCALES = [Fraction(1, 3), Fraction(3, 4), Fraction(1), Fraction(5, 2), Fraction(7), Fraction(2001, 2),
                  Fraction(2**40 * 3 + 1, 3), Fraction(2**55)]
GAUSS_VARS = [Fraction(1, 16), Fraction(1, 4), Fraction(1), Fraction(9, 4), Fraction(25), Fraction(10**6 + 1, 3),
              Fraction(2**40), Fraction(2**52 + 7, 1)]


@pytest.mark.parametrize("scale", LAPLACE_SCALES, ids=str)
def test_discrete_laplace_fits_exact_pmf(scale):
    s = float(scale)
    xs = discrete_laplace(scale, 40000, _seeded(int(scale.numerator % 1000)))
    assert xs.dtype == np.int64
    cdf = lambda k: lap_cdf(k, s)  # noqa: E731
    assert binned_pvalue(xs, cdf, lap_edges(s)) > ALPHA
    assert dkw_ok(xs, cdf, np.unique(lap_edges(s)).astype(np.int64))
    if s < 100:  # and against scipy's dlaplace directly, bin by bin
        a = 1.0 / s
        ks = np.arange(-int(20 * s) - 5, int(20 * s) + 6)
        assert binned_pvalue(xs, lambda k: stats.dlaplace.cdf(k, a), ks) > ALPHA


@pytest.mark.parametrize("sigma2", GAUSS_VARS, ids=str)
def test_discrete_gaussian_fits_exact_pmf(sigma2):
    s2 = float(sigma2)
    xs = discrete_gaussian(sigma2, 40000, _seeded(int(sigma2.numerator % 1000) + 7))
    assert xs.dtype == np.int64
    cdf = lambda k: gauss_cdf(k, s2)  # noqa: E731
    edges = gauss_edges(s2) if s2 > 1 else np.arange(-3, 4)
    assert binned_pvalue(xs, cdf, edges) > ALPHA
    assert dkw_ok(xs, cdf, np.unique(edges).astype(np.int64))
    # second moment: a discrete Gaussian has variance just below sigma2 (not a rounded normal)
    if s2 >= 1:
        assert abs(xs.astype(float).var() / s2 - 1) < 6 * math.sqrt(2 / len(xs))


def test_tiny_scales_are_exact_zeros_and_signs():
    # P(X != 0) = 2 a / (1 + a), a = exp(-2**20): zero in any sample
    assert not discrete_laplace(Fraction(1, 2**20), 5000, _seeded(1)).any()
    assert not discrete_gaussian(Fraction(1, 2**20), 5000, _seeded(2)).any()
    # scale 1/3: P(0) = (1 - e^-3) / (1 + e^-3); both signs appear symmetrically
    xs = discrete_laplace(Fraction(1, 3), 40000, _seeded(3))
    p0 = (1 - math.exp(-3)) / (1 + math.exp(-3))
    assert stats.binomtest(int((xs == 0).sum()), len(xs), p0).pvalue > ALPHA
    assert stats.binomtest(int((xs > 0).sum()), int((xs != 0).sum()), 0.5).pvalue > ALPHA


@pytest.mark.parametrize("kind", ["laplace", "gaussian"])
def test_sabotage_scale_off_by_two_is_rejected(kind):
    """The goodness-of-fit tests above have power: draws at twice the scale fail them."""
    if kind == "laplace":
        s = 5.0
        xs = discrete_laplace(Fraction(10), 40000, _seeded(11))
        assert binned_pvalue(xs, lambda k: lap_cdf(k, s), lap_edges(s)) < ALPHA
        assert not dkw_ok(xs, lambda k: lap_cdf(k, s), np.unique(lap_edges(s)).astype(np.int64))
    else:
        s2 = 2.0**40
        xs = discrete_gaussian(Fraction(2**42), 40000, _seeded(12))  # sigma doubled
        assert binned_pvalue(xs, lambda k: gauss_cdf(k, s2), gauss_edges(s2)) < ALPHA


def test_seeded_stream_is_reproducible_and_chunking_invariant():
    st = SeededBitStream.new_state(np.random.default_rng(5))
    a = discrete_gaussian(Fraction(2**30), 3000, SeededBitStream(st.copy()))
    b = discrete_gaussian(Fraction(2**30), 3000, SeededBitStream(st.copy()))
    np.testing.assert_array_equal(a, b)
    one = SeededBitStream(st.copy())
    c = np.concatenate([one.discrete_gaussian(Fraction(2**30), 1) for _ in range(3000)])
    np.testing.assert_array_equal(a, c)
    # a restored position continues the same stream
    s1 = SeededBitStream(st.copy())
    s1.discrete_laplace(7, 100)
    mid = s1.state.copy()
    rest = s1.discrete_laplace(7, 50)
    np.testing.assert_array_equal(SeededBitStream(mid).discrete_laplace(7, 50), rest)


def test_secure_stream_consumes_os_bits_exactly(monkeypatch):
    """With os.urandom replaced by a deterministic byte stream, tiny refills (a draw cut in the
    middle is re-run on its own bits followed by fresh ones) give exactly the draws of one
    huge buffer: no bit is dropped or used twice."""
    def fake_urandom_factory():
        rng = np.random.default_rng(99)
        return lambda n: rng.bytes(n)

    monkeypatch.setattr(N.os, "urandom", fake_urandom_factory())
    big = SecureBitStream(chunk_bytes=1 << 22).discrete_gaussian(Fraction(2**44), 20000)
    monkeypatch.setattr(N.os, "urandom", fake_urandom_factory())
    small = SecureBitStream(chunk_bytes=64)
    parts = [small.discrete_gaussian(Fraction(2**44), k) for k in (1, 999, 5000, 14000)]
    np.testing.assert_array_equal(np.concatenate(parts), big)


def test_secure_stream_fits_exact_pmf():
    xs = discrete_laplace(Fraction(5, 2), 40000, SecureBitStream(chunk_bytes=256))
    assert binned_pvalue(xs, lambda k: lap_cdf(k, 2.5), np.arange(-30, 31)) > ALPHA
    ys = SecureBitStream().discrete_gaussian(Fraction(2**40), 40000)
    assert binned_pvalue(ys, lambda k: gauss_cdf(k, 2.0**40), gauss_edges(2.0**40)) > ALPHA


def test_scale_range_checks():
    assert check_laplace_scale((6, 4)) == (3, 2)
    with pytest.raises(ValueError, match="too large for int64"):
        check_laplace_scale(2**57)
    with pytest.raises(ValueError, match="too small"):
        check_laplace_scale(Fraction(1, 2**63))
    with pytest.raises(ValueError, match="out of range for int64"):
        check_gaussian_scale(Fraction(2**56))
    with pytest.raises(ValueError, match="out of range for int64"):
        check_gaussian_scale(Fraction(1, 2**60))
    for bad in [1.5, (1.0, 2), 0, (-1, 2), True, "3"]:
        with pytest.raises(ValueError):
            discrete_laplace(bad, 3, _seeded(0))
    # the largest accepted scales run
    assert discrete_laplace(Fraction(check_laplace_scale(2**55)[0]), 100, _seeded(1)).shape == (100,)
    assert discrete_gaussian(Fraction(2**52), 100, _seeded(2)).shape == (100,)


def test_counter_refuses_scale_beyond_int64():
    from onlinekit.base import InvalidEvent
    from onlinekit.privacy import TreeCounter

    with pytest.raises(InvalidEvent, match="grid_bits.*int64|int64.*grid_bits"):
        TreeCounter(T=2**10, privacy=("zcdp", 1e-6), grid_bits=40)
    with pytest.raises(InvalidEvent, match="grid_bits.*int64|int64.*grid_bits"):
        TreeCounter(T=2**10, privacy=("pure", 1e-6), grid_bits=40)


# ---------------------------------------------------------------------------- OpenDP peer
def _opendp_samples(kind: str, scale: float, n: int) -> np.ndarray:
    dp = pytest.importorskip("opendp.prelude")
    dp.enable_features("contrib")
    dom = dp.vector_domain(dp.atom_domain(T="i64"))
    if kind == "laplace":
        m = dp.m.make_laplace(dom, dp.l1_distance(T="i64"), scale=scale)
    else:
        m = dp.m.make_gaussian(dom, dp.l2_distance(T="i64"), scale=scale)
    return np.asarray(m([0] * n), dtype=np.int64)


@pytest.mark.parametrize("kind,scale", [("laplace", 0.5), ("laplace", 3.0), ("laplace", 1000.0), ("laplace", 2.0**40),
                                        ("gaussian", 0.75), ("gaussian", 3.0), ("gaussian", 1000.0),
                                        ("gaussian", 2.0**22)])
def test_two_sample_against_opendp(kind, scale):
    """OpenDP's exact samplers at the same scale (a float, converted exactly to our rational):
    chi-square test of homogeneity on fixed bins."""
    n = 20000
    theirs = _opendp_samples(kind, scale, n)
    if kind == "laplace":
        ours = discrete_laplace(Fraction(scale), n, _seeded(21))
        edges = np.unique(lap_edges(scale))
    else:
        ours = discrete_gaussian(Fraction(scale) ** 2, n, _seeded(22))
        edges = np.unique(gauss_edges(scale**2)) if scale > 1 else np.arange(-3, 4)
    a = np.bincount(np.searchsorted(edges, ours), minlength=len(edges) + 1)
    b = np.bincount(np.searchsorted(edges, theirs), minlength=len(edges) + 1)
    keep = (a + b) >= 10
    table = np.array([np.append(a[keep], a[~keep].sum()), np.append(b[keep], b[~keep].sum())])
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table).pvalue > ALPHA
    # power: against OpenDP at twice the scale the same test rejects
    if scale >= 3.0:
        other = _opendp_samples(kind, 2 * scale, n)
        c = np.bincount(np.searchsorted(edges, other), minlength=len(edges) + 1)
        t2 = np.array([np.append(a[keep], a[~keep].sum()), np.append(c[keep], c[~keep].sum())])
        t2 = t2[:, t2.sum(axis=0) > 0]
        assert stats.chi2_contingency(t2).pvalue < ALPHA


# ---------------------------------------------------------------------------- kernel pieces
def _buffer(seed: int, words: int = 1 << 16):
    buf = np.random.default_rng(seed).integers(-(2**63), 2**63 - 1, size=words, dtype=np.int64)
    return buf, np.array([0, words * 64, 0], dtype=np.int64)


def test_two_limb_product_matches_python_integers():
    from onlinekit.privacy._noise_kernels import _mul

    rng = np.random.default_rng(0)
    vals = [0, 1, 2**31 - 1, 2**31, 2**62 - 1] + [int(v) for v in rng.integers(0, 2**62, size=200)]
    for x in vals:
        y = vals[(x * 7 + 3) % len(vals)]
        hi, lo = _mul(x, y)
        assert hi * 2**62 + lo == x * y and 0 <= lo < 2**62


@pytest.mark.parametrize("P,Q", [(1, 2), (1, 3), (5, 8), (7, 8), (2**22, 2**22 + 1), (3, 2**40),
                                 (2**70 + 5, 2**71), (2**80, 3 * 2**80 + 1), (1, 2**62), (2**62 - 1, 2**62)])
def test_lazy_bernoulli_exact_probability(P, Q):
    """Bernoulli(P/Q) by the bit-lazy comparison, one- and two-limb, incl. Q a power of two."""
    from onlinekit.privacy._noise_kernels import _bern_lazy

    buf, st = _buffer(P % 1000 + Q % 997)
    n = 20000
    k = sum(_bern_lazy(buf, st, P >> 62, P & (2**62 - 1), Q >> 62, Q & (2**62 - 1)) for _ in range(n))
    assert st[2] == 0
    assert stats.binomtest(k, n, P / Q).pvalue > ALPHA
    assert st[0] < n * 16  # a few bits per decision, not log2(Q)


@pytest.mark.parametrize("p,q", [(0, 1), (1, 3), (1, 1), (5, 2), (2**40, 3)])
def test_bernoulli_exp_kernel(p, q):
    from onlinekit.privacy._noise_kernels import _bexp, _bexp2

    buf, st = _buffer(p % 100 + q)
    n = 20000
    k1 = sum(_bexp(buf, st, p, q) for _ in range(n))
    k2 = sum(_bexp2(buf, st, p >> 62, p & (2**62 - 1), 0, q) for _ in range(n))
    want = math.exp(-p / q)
    assert stats.binomtest(k1, n, want).pvalue > ALPHA and stats.binomtest(k2, n, want).pvalue > ALPHA


def test_overflow_is_refused_not_wrapped():
    """Bypassing the range check with a numerator that overflows once V >= 2 (probability
    e^-2 per draw): the draw raises instead of wrapping around."""
    s = _seeded(4)
    before = s.state.copy()
    with pytest.raises(OverflowError, match="int64"):
        s._draw(0, (2**61, 1, 0, 0), 1000)
    np.testing.assert_array_equal(s.state, before)  # the refused call consumed nothing
    sec = SecureBitStream()
    with pytest.raises(OverflowError, match="int64"):
        sec._draw(0, (2**61, 1, 0, 0), 1000)
    assert sec.st[0] == sec.st[1]  # its buffered bits are dropped, never reused


def test_secure_stream_drops_its_buffer_in_a_forked_child(monkeypatch):
    s = SecureBitStream()
    s.discrete_laplace(3, 10)
    assert s.buf.shape[0] > 1
    monkeypatch.setattr(N.os, "getpid", lambda: -1)
    s._begin(1)
    assert s.buf.shape[0] == 1 and s.st[0] == 0 and s.st[1] == 0


def test_copies_of_a_secure_stream_share_no_bits():
    import copy
    import pickle

    s = SecureBitStream()
    s.discrete_laplace(3, 10)
    for twin in (copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert twin.buf.shape[0] == 1 and twin.st[1] == 0
    c = __import__("onlinekit.privacy", fromlist=["TreeCounter"]).TreeCounter(T=64)
    c.release_many(np.ones(8))
    d = copy.deepcopy(c)
    assert not np.array_equal(c.release_many(np.ones(40)), d.release_many(np.ones(40)))
