"""Exact discrete samplers: goodness of fit at alpha = 1e-6, and a histogram DP-vote test on
neighbouring streams for the integer-output (secure-path) tree counter."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from onlinekit.privacy import TreeCounter
from onlinekit.privacy.accounting import (
    check_privacy,
    gaussian_delta,
    gaussian_epsilon,
    gaussian_sigma_approx,
)
from onlinekit.privacy.noise import (
    GeneratorBits,
    SecureBits,
    bernoulli_exp,
    sample_discrete_gaussian,
    sample_discrete_laplace,
)

ALPHA = 1e-6


def _chi2_pvalue(samples, pmf_fn, support_radius):
    """Chi-square goodness of fit; bins |k| > radius pooled into one tail bin, bins with
    expected count < 5 pooled as well."""
    n = len(samples)
    ks = np.arange(-support_radius, support_radius + 1)
    p = pmf_fn(ks)
    obs = np.array([np.sum(samples == k) for k in ks], dtype=float)
    tail_p = max(0.0, 1.0 - p.sum())
    obs_tail = n - obs.sum()
    exp_ = p * n
    keep = exp_ >= 5
    obs_k = np.append(obs[keep], obs[~keep].sum() + obs_tail)
    exp_k = np.append(exp_[keep], exp_[~keep].sum() + tail_p * n)
    return stats.chisquare(obs_k, exp_k).pvalue


def _dkw_ok(samples, cdf_fn, lo, hi):
    """Dvoretzky-Kiefer-Wolfowitz: sup |F_n - F| <= sqrt(ln(2/alpha) / (2n)) w.p. 1 - alpha."""
    n = len(samples)
    ks = np.arange(lo, hi + 1)
    emp = np.searchsorted(np.sort(samples), ks, side="right") / n
    return np.max(np.abs(emp - cdf_fn(ks))) <= math.sqrt(math.log(2 / ALPHA) / (2 * n))


@pytest.mark.parametrize("num,den", [(1, 1), (5, 2), (7, 1)])
def test_discrete_laplace_goodness_of_fit(num, den):
    bits = GeneratorBits(np.random.default_rng(num * 10 + den))
    xs = np.array([sample_discrete_laplace(num, den, bits) for _ in range(20000)])
    a = den / num  # scipy's dlaplace: pmf proportional to exp(-a |k|)
    assert _chi2_pvalue(xs, lambda k: stats.dlaplace.pmf(k, a), 60) > ALPHA
    assert _dkw_ok(xs, lambda k: stats.dlaplace.cdf(k, a), -60, 60)


@pytest.mark.parametrize("s2num,s2den", [(1, 1), (9, 4), (25, 1)])
def test_discrete_gaussian_goodness_of_fit(s2num, s2den):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
    import privacy_reference as ref

    s2 = s2num / s2den
    bits = GeneratorBits(np.random.default_rng(s2num + 100 * s2den))
    xs = np.array([sample_discrete_gaussian(s2num, s2den, bits) for _ in range(20000)])
    pmf = lambda k: ref.discrete_gaussian_pmf_ref(k, s2)  # noqa: E731
    assert _chi2_pvalue(xs, pmf, 40) > ALPHA
    grid = np.arange(-2000, 2001)
    cdf_all = np.cumsum(pmf(grid))
    assert _dkw_ok(xs, lambda k: cdf_all[k + 2000], -40, 40)
    # and the distribution is not simply a rounded continuous Gaussian with the wrong variance
    assert abs(xs.var() / s2 - 1) < 0.1


def test_secure_bits_sampler_goodness_of_fit():
    bits = SecureBits()
    xs = np.array([sample_discrete_laplace(2, 1, bits) for _ in range(5000)])
    assert _chi2_pvalue(xs, lambda k: stats.dlaplace.pmf(k, 0.5), 40) > ALPHA


@pytest.mark.parametrize("num,den", [(0, 1), (1, 3), (1, 1), (5, 2)])
def test_bernoulli_exp_wilson(num, den):
    bits = GeneratorBits(np.random.default_rng(num + 7 * den))
    n = 20000
    k = sum(bernoulli_exp(num, den, bits) for _ in range(n))
    p = math.exp(-num / den)
    z = stats.norm.isf(ALPHA / 2)
    # Wilson score interval at alpha = 1e-6
    ph = k / n
    centre = (ph + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert centre - half - 1e-12 <= p <= centre + half + 1e-12


def test_generator_bits_uniform_for_big_ranges():
    bits = GeneratorBits(np.random.default_rng(0))
    n = 3 * 2**70 + 1
    top = [bits.randrange(n) * 8 // n for _ in range(8000)]
    assert stats.chisquare(np.bincount(top, minlength=8)).pvalue > ALPHA


# ---------------------------------------------------------------------------- DP vote
def _vote_statistic(a, b, eps):
    """Google-style histogram test: sum_o max(0, p_a(o) - e^eps p_b(o)) (both directions)."""
    keys = np.union1d(a, b)
    pa = np.array([np.mean(a == k) for k in keys])
    pb = np.array([np.mean(b == k) for k in keys])
    return max(np.maximum(0, pa - math.exp(eps) * pb).sum(), np.maximum(0, pb - math.exp(eps) * pa).sum())


def _tree_outputs(stream, eps_mech, n, seed):
    """Integer outputs (grid_bits=0: values are integers) of an eps-DP tree counter, on the
    exact discrete Laplace path with seeded bits; one coordinate per independent run."""
    from onlinekit.base import spawn_seeds

    outs = []
    for s in spawn_seeds(seed, n):
        c = TreeCounter(T=len(stream), d=1, privacy=("pure", eps_mech), noise="seeded-discrete",
                        seed=s, grid_bits=0)
        outs.append(c.release_many(stream))
    return np.array(outs)


def test_dp_vote_on_neighbouring_streams():
    """For a pure eps-DP mechanism the statistic is 0 in expectation up to sampling error; the
    tolerance 4 (1 + e^eps) sqrt(K / n) bounds the sampling error over K bins (each bin's
    estimate has sd <= sqrt(p/n), and sum sqrt(p) <= sqrt(K)). The same test must reject a
    mechanism with 4x less noise than claimed."""
    eps = 1.0
    d0, d1 = np.array([0.0, 1.0]), np.array([0.0, 0.0])
    n = 3000
    ya, yb = _tree_outputs(d0, eps, n, 1), _tree_outputs(d1, eps, n, 2)
    for stat_of in (lambda y: y[:, -1], lambda y: y[:, 0] + 3 * y[:, 1]):
        a, b = np.clip(stat_of(ya), -12, 12), np.clip(stat_of(yb), -12, 12)
        K = len(np.union1d(a, b))
        assert _vote_statistic(a, b, eps) <= 4 * (1 + math.exp(eps)) * math.sqrt(K / n)
    # power: a mechanism with eps 8 (too little noise) fails the eps=1 vote on y_T
    a = _tree_outputs(d0, 8.0, n, 3)[:, -1]
    b = _tree_outputs(d1, 8.0, n, 4)[:, -1]
    K = len(np.union1d(a, b))
    assert _vote_statistic(a, b, eps) > 4 * (1 + math.exp(eps)) * math.sqrt(K / n)


# ---------------------------------------------------------------------------- accounting
def test_analytic_gaussian_against_numerical_integration():
    """delta(eps) = E[(1 - exp(eps - Lo))_+] with the privacy loss Lo ~ N(mu, 2 mu),
    mu = Delta^2 / (2 sigma^2): integrate numerically, independently of the closed form."""
    from scipy import integrate

    for l2, sigma, eps in [(1.0, 1.0, 1.0), (2.0, 3.0, 0.5), (1.0, 0.7, 3.0)]:
        mu = l2**2 / (2 * sigma**2)
        f = lambda x: max(0.0, 1 - math.exp(eps - x)) * stats.norm.pdf(x, mu, math.sqrt(2 * mu))  # noqa: E731
        want = integrate.quad(f, eps, mu + 40 * math.sqrt(2 * mu))[0]
        assert gaussian_delta(l2, sigma, eps) == pytest.approx(want, rel=1e-6, abs=1e-14)
    s = gaussian_sigma_approx(1.0, 0.5, 1e-6)
    assert gaussian_delta(1.0, s, 0.5) <= 1e-6 < gaussian_delta(1.0, s * (1 - 1e-9), 0.5)
    assert s < math.sqrt(2 * math.log(1.25 / 1e-6)) / 0.5  # better than the classic bound
    assert gaussian_epsilon(1.0, s, 1e-6) == pytest.approx(0.5, rel=1e-9)


def test_check_privacy_errors():
    from onlinekit.base import InvalidEvent

    assert check_privacy(["zcdp", 2]) == ("zcdp", 2.0)
    for bad in [("pure", 0), ("pure", math.inf), ("approx", 1, 1), ("approx", 1, -0.1),
                ("approx", 1), ("zcdp", True), "pure", ()]:
        with pytest.raises(InvalidEvent):
            check_privacy(bad)


def test_cross_library_published_numbers():
    """Values computed with the peer libraries in a throwaway venv (dp_accounting 0.6.0
    ``gaussian_mechanism.get_sigma_gaussian(eps, delta)`` at unit sensitivity, jax_privacy
    2.0.0 ``toeplitz.sensitivity_squared(optimal_max_error_strategy_coefs(1024))``)."""
    from onlinekit.privacy.sqrt_factor import sqrt_coefficients

    for eps, delta, theirs in [(1.0, 1e-5, 3.7306316348159374), (0.3, 1e-8, 16.06611022154114),
                               (2.0, 1e-6, 2.2304762711864172)]:
        ours = gaussian_sigma_approx(1.0, eps, delta)
        assert ours >= theirs * (1 - 1e-12) and ours == pytest.approx(theirs, rel=1e-10)
    c = sqrt_coefficients(1024)
    assert float((c**2).sum()) == pytest.approx(3.2725541502731357, rel=1e-14)
