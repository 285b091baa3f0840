"""Tree and square-root counters: closed-form oracles, Monte-Carlo, brute-force sensitivity,
kernels vs references, noise-free limit, bad input."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onlinekit.base import InvalidEvent
from onlinekit.privacy import OptimalFactorCounter, SqrtFactorCounter, TreeCounter
from onlinekit.privacy import _kernels as K
from onlinekit.privacy.sqrt_factor import mean_error_factorization, sqrt_coefficients, toeplitz_noise_fft
from onlinekit.privacy.tree import honaker_factors

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import privacy_reference as ref  # noqa: E402

COUNTERS = [TreeCounter, SqrtFactorCounter, OptimalFactorCounter]


# ---------------------------------------------------------------------------- notes' table
# (T, sqrt: s^2, sqrt: max Var, sqrt: mean Var, tree: max Var, tree: mean Var), per sigma_1^2
TABLE = [
    (2**10, 3.273, 10.71, 9.67, 110, 55.0),
    (2**16, 4.596, 21.13, 19.66, 272, 136.0),
    (2**20, 5.479, 30.02, 28.28, 420, 210.0),
]


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"T={r[0]}")
def test_closed_forms_match_notes_table(row):
    T, s2, smax, smean, tmax, tmean = row
    # zcdp rho=1/2 at unit sensitivity gives sigma_1 = 1
    sq = SqrtFactorCounter(T=T, privacy=("zcdp", 0.5), noise="seeded")
    _, l2 = sq.sensitivity()
    assert l2**2 == pytest.approx(s2, abs=1e-3)
    e = sq.expected_error()
    assert e["max_var"] == pytest.approx(smax, abs=0.01)
    assert e["mean_var"] == pytest.approx(smean, abs=0.01)
    tr = TreeCounter(T=T, privacy=("zcdp", 0.5), noise="seeded")
    e = tr.expected_error()
    assert e["max_var"] == pytest.approx(tmax, rel=1e-12)
    assert e["mean_var"] == pytest.approx(tmean, abs=0.05)
    # asymptotic form of the notes: s^2 = (ln T + gamma + 4 ln 2) / pi + o(1)
    assert l2**2 == pytest.approx((math.log(T) + np.euler_gamma + 4 * math.log(2)) / math.pi, abs=2e-3)


def test_sqrt_coefficients_square_to_prefix_matrix():
    T = 12
    C = ref.sqrt_matrix(T)
    c = sqrt_coefficients(T)
    np.testing.assert_allclose(C[:, 0], c, rtol=0, atol=1e-15)
    np.testing.assert_allclose(C @ C, np.tril(np.ones((T, T))), atol=1e-13)


def test_honaker_factors_match_recursion():
    # inverse-variance combination: V_h = 1 / (1 + 1 / (2 V_{h-1})), V_0 = 1
    v = [1.0]
    for _ in range(9):
        v.append(1.0 / (1.0 + 1.0 / (2.0 * v[-1])))
    np.testing.assert_allclose(honaker_factors(10), v, rtol=1e-14)


# ---------------------------------------------------------------------------- Monte-Carlo
def _mc_check(cls, kw, runs=3000, T=32, seed=0):
    """Empirical per-step variance over `runs` independent coordinates vs variance().

    The d coordinates of one vector counter get independent noise; the closed form is per
    coordinate. Tolerance: the sample variance of n Gaussians has relative sd sqrt(2/(n-1));
    we allow 6 sd (Laplace-based sums have heavier tails: kurtosis <= 6 adds at most
    sqrt(3) more, covered by the 6 sd for pure Laplace nodes when applied with factor 2).
    """
    c = cls(T=T, d=runs, noise="seeded", seed=seed, **kw)
    X = np.random.default_rng(seed + 1).random((T, runs))
    Y = c.release_many(X)
    err = Y - np.cumsum(X, axis=0)
    emp = (err**2).mean(axis=1)
    want = c.variance()
    lap = kw["privacy"][0] == "pure"
    tol = (12.0 if lap else 6.0) * math.sqrt(2.0 / runs)
    np.testing.assert_allclose(emp / want, 1.0, atol=tol)
    assert abs(err.mean()) < 6 * math.sqrt(want.mean() / (T * runs)) * 3


@pytest.mark.parametrize("privacy", [("zcdp", 0.5), ("pure", 1.0)])
@pytest.mark.parametrize("honaker", [False, True])
def test_tree_variance_monte_carlo(privacy, honaker):
    _mc_check(TreeCounter, {"privacy": privacy, "honaker": honaker})


@pytest.mark.parametrize("privacy", [("zcdp", 0.5), ("pure", 1.0), ("approx", 1.0, 1e-5)])
@pytest.mark.parametrize("mode", ["replay", "streaming"])
def test_sqrt_variance_monte_carlo(privacy, mode):
    _mc_check(SqrtFactorCounter, {"privacy": privacy, "mode": mode})


@pytest.mark.parametrize("privacy", [("zcdp", 0.5), ("pure", 1.0)])
def test_optimal_factor_variance_monte_carlo(privacy):
    _mc_check(OptimalFactorCounter, {"privacy": privacy})


def test_optimal_factorization_matches_cvxpy_sdp():
    """Denisov et al.'s fixed point reaches the optimum of the SDP
    min tr(A X^-1 A^T) s.t. diag(X) <= 1, X PSD (solved by CVXPY / Clarabel)."""
    import cvxpy as cp

    T = 6
    A = np.tril(np.ones((T, T)))
    X = cp.Variable((T, T), PSD=True)
    prob = cp.Problem(cp.Minimize(cp.matrix_frac(A.T, X)), [cp.diag(X) <= 1])
    prob.solve(solver=cp.CLARABEL)
    C, B, _ = mean_error_factorization(T)
    np.testing.assert_allclose(B @ C, A, atol=1e-12)
    assert np.allclose(np.triu(C, 1), 0) and np.allclose(np.triu(B, 1), 0)
    ours = (B**2).sum() * (C**2).sum(axis=0).max()
    assert ours == pytest.approx(prob.value, rel=1e-5)
    # and it beats the square-root factorization on mean error, not necessarily on max error
    c = sqrt_coefficients(T)
    assert ours < (c**2).sum() * np.cumsum(c**2).sum()


def test_optimal_factor_sensitivity_brute_force():
    T = 6
    C, _, _ = mean_error_factorization(T)
    best2 = 0.0
    for x in itertools.product([0.0, 1.0], repeat=T):
        x = np.array(x)
        for j in range(T):
            y = x.copy()
            y[j] = 1.0 - y[j]
            best2 = max(best2, np.linalg.norm(C @ y - C @ x))
    assert OptimalFactorCounter(T=T, noise="seeded").sensitivity()[1] == pytest.approx(best2, rel=1e-11)


def test_lower_rows_kernel_matches_matmul():
    rng = np.random.default_rng(8)
    M = np.tril(rng.normal(size=(15, 15)))
    z = rng.normal(size=(15, 2))
    out = np.empty((10, 2))
    K._lower_rows(M, z, 5, 10, out)
    np.testing.assert_allclose(out, (M @ z)[5:], rtol=1e-13, atol=1e-13)


def _table_mc_failures(c, x, S, runs, alpha=1e-3):
    """Monte-Carlo test of a d = ``runs`` vector counter's per-step variance ``v_t =
    variance()[t]`` (per coordinate; the d coordinates get independent noise, and ``v_t`` is the
    d = 1 value of the table times d).

    Each coordinate r gives two statistics, independent across coordinates:
    ``q_r = mean_t e_{t,r}^2 / v_t`` (the whole variance profile) and ``m_r = mean_t e_{t,r}^2``
    (the mean variance, the table's column). Under the closed form ``E q_r = 1`` and
    ``E m_r = mean_t v_t``. The estimates ``mean_r q_r`` and ``mean_r m_r / mean_t v_t`` have
    standard error ``cv / sqrt(runs)`` (``cv`` the coefficient of variation over coordinates,
    independent of the noise scale); each must lie within the two-sided Student quantile
    (level ``alpha / 2`` per statistic, ``runs - 1`` df) times that. A counter with no noise,
    doubled noise std or noise scaled to variance ratio 2.9 fails at the run counts used
    (see ``test_table_mc_check_fails_broken_counters``). Returns the failure messages.
    """
    from scipy import stats

    v = c.variance()
    err2 = (c.release_many(x) - S) ** 2
    q = (err2 / v[:, None]).mean(axis=0)
    m = err2.mean(axis=0) / v.mean()
    t_q = stats.t.ppf(1.0 - alpha / 4.0, df=runs - 1)
    out = []
    for name, a in (("variance profile", q), ("mean variance", m)):
        r = float(a.mean())
        se = 0.0 if r == 0.0 else float(a.std(ddof=1)) / (r * math.sqrt(runs))
        if not abs(r - 1.0) <= t_q * se:
            out.append(f"{type(c).__name__} {name}: ratio {r:.3f}, tolerance {t_q * se:.3f}")
    return out


@pytest.mark.parametrize(
    "T,runs",
    [(2**10, 2000), pytest.param(2**16, 100, marks=pytest.mark.slow), pytest.param(2**20, 12, marks=pytest.mark.slow)],
    ids=["2^10", "2^16", "2^20"],
)
def test_notes_table_by_monte_carlo(T, runs):
    """The table's max and mean variance (per sigma_1^2): closed forms equal the table, and a
    Monte-Carlo over `runs` independent coordinates of a d-vector counter recovers them
    (:func:`_table_mc_failures`: tolerance from the estimator's standard error)."""
    row = next(r for r in TABLE if r[0] == T)
    x = np.random.default_rng(0).random((T, runs))
    S = np.cumsum(x, axis=0)
    for cls, want_max, want_mean in [(TreeCounter, row[4], row[5]), (SqrtFactorCounter, row[2], row[3])]:
        c = cls(T=T, d=runs, privacy=("zcdp", 0.5), noise="seeded", seed=1)
        v = c.variance() / runs
        assert v.max() == pytest.approx(want_max, rel=1e-3) and v.mean() == pytest.approx(want_mean, rel=1e-3)
        assert _table_mc_failures(c, x, S, runs) == []


class _ScaledCounter:
    """Sabotage: the honest counter's error times ``scale`` (closed forms unchanged)."""

    def __init__(self, inner, scale):
        self.inner, self.scale = inner, scale

    def variance(self):
        return self.inner.variance()

    def release_many(self, x):
        S = np.cumsum(x, axis=0)
        return S + self.scale * (self.inner.release_many(x) - S)


@pytest.mark.parametrize("scale", [0.0, 2.0, math.sqrt(2.9)], ids=["no-noise", "doubled-std", "ratio-2.9"])
@pytest.mark.parametrize("T,runs", [(2**10, 2000), (2**12, 12)], ids=["2^10", "2^12-12runs"])
def test_table_mc_check_fails_broken_counters(T, runs, scale):
    """The Monte-Carlo check of the table fails a counter with no noise, doubled noise std and
    variance ratio 2.9, at 2000 runs and at 12 runs (the 2^20 case's count, at a smaller T)."""
    x = np.random.default_rng(0).random((T, runs))
    S = np.cumsum(x, axis=0)
    for cls in (TreeCounter, SqrtFactorCounter):
        c = _ScaledCounter(cls(T=T, d=runs, privacy=("zcdp", 0.5), noise="seeded", seed=1), scale)
        assert len(_table_mc_failures(c, x, S, runs)) == 2


def test_honaker_reduces_variance_of_tall_trees():
    a = TreeCounter(T=2**16, noise="seeded").expected_error()["mean_var"]
    b = TreeCounter(T=2**16, noise="seeded", honaker=True).expected_error()["mean_var"]
    assert 0.5 < b / a < 0.56


# ---------------------------------------------------------------------------- sensitivity
@pytest.mark.parametrize("T", [1, 2, 3, 5, 8])
def test_tree_sensitivity_brute_force(T):
    """Max over all streams in {0,1}^T and all single-event replacements of the change in the
    released node vector equals the declared L1 / L2 sensitivity (attained when a power of two
    <= T exists whose blocks cover the changed event at every level)."""
    best1 = best2 = 0.0
    for x in itertools.product([0.0, 1.0], repeat=T):
        x = np.array(x)
        ex = ref.tree_encoder(x, T)
        for j in range(T):
            y = x.copy()
            y[j] = 1.0 - y[j]
            diff = ref.tree_encoder(y, T) - ex
            best1 = max(best1, np.abs(diff).sum())
            best2 = max(best2, np.sqrt((diff**2).sum()))
    c = TreeCounter(T=T, noise="seeded")
    l1, l2 = c.sensitivity()
    assert best1 == l1
    assert best2 == pytest.approx(l2, rel=1e-15)


@pytest.mark.parametrize("T", [1, 2, 4, 7])
def test_sqrt_sensitivity_brute_force(T):
    C = ref.sqrt_matrix(T)
    best1 = best2 = 0.0
    for x in itertools.product([0.0, 1.0], repeat=T):
        x = np.array(x)
        for j in range(T):
            y = x.copy()
            y[j] = 1.0 - y[j]
            diff = C @ y - C @ x
            best1 = max(best1, np.abs(diff).sum())
            best2 = max(best2, np.sqrt((diff**2).sum()))
    l1, l2 = SqrtFactorCounter(T=T, noise="seeded").sensitivity()
    assert l1 == pytest.approx(best1, rel=1e-11) and l1 >= best1
    assert l2 == pytest.approx(best2, rel=1e-11) and l2 >= best2


def test_vector_sensitivity_scales_with_sqrt_d():
    for cls in COUNTERS:
        l1a, l2a = cls(T=16, noise="seeded", bounds=(-1.0, 1.0)).sensitivity()
        l1b, l2b = cls(T=16, d=9, noise="seeded", bounds=(-1.0, 1.0)).sensitivity()
        assert l2b == pytest.approx(3 * l2a) and l1b == pytest.approx(9 * l1a)


# ---------------------------------------------------------------------------- kernels vs refs
@pytest.mark.parametrize("honaker", [False, True])
@pytest.mark.parametrize("split", [None, 5])
def test_tree_kernel_matches_reference(honaker, split):
    rng = np.random.default_rng(3)
    T, d = 23, 2
    L = T.bit_length()
    X = rng.random((T, d))
    m = K.n_nodes(0, T)
    assert m == sum(len(ref.tree_nodes_completed(t)) for t in range(1, T + 1))
    assert K.n_nodes(5, T - 5) == sum(len(ref.tree_nodes_completed(t)) for t in range(6, T + 1))
    noise = rng.normal(size=(m, d))
    want = ref.tree_reference(X, noise, honaker, L)
    w = honaker_factors(L)
    le, ls = np.zeros((L, d)), np.zeros((L, d))
    out = np.empty((T, d))
    if split is None:
        assert K._tree_block(X, 0, le, ls, noise, 1.0, w, honaker, out) == m
    else:
        p = K._tree_block(X[:split], 0, le, ls, noise, 1.0, w, honaker, out[:split])
        K._tree_block(X[split:], split, le, ls, np.ascontiguousarray(noise[p:]), 1.0, w, honaker, out[split:])
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-13)


def test_toeplitz_kernel_and_fft_match_reference():
    rng = np.random.default_rng(4)
    T, d = 37, 3
    c = sqrt_coefficients(T)
    z = rng.normal(size=(T, d))
    want = ref.toeplitz_reference(c, z)
    out = np.empty((T, d))
    K._toeplitz_stream(c, z, 0, T, out)
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(toeplitz_noise_fft(c, z), want, atol=1e-12)


def test_replay_and_streaming_draw_the_same_noise():
    x = np.random.default_rng(5).random(100)
    a = SqrtFactorCounter(T=100, noise="seeded", seed=9, mode="replay").release_many(x)
    b = SqrtFactorCounter(T=100, noise="seeded", seed=9, mode="streaming").release_many(x)
    np.testing.assert_allclose(a, b, atol=1e-11)


# ---------------------------------------------------------------------------- noise-free limit
@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=40), st.booleans())
def test_noise_free_equals_prefix_sums(vals, honaker):
    x = np.array(vals, dtype=float)
    want = np.cumsum(x)
    T = len(x) + 3
    a = TreeCounter(T=T, noise="none", bounds=(-3, 3), honaker=honaker).release_many(x)
    b = SqrtFactorCounter(T=T, noise="none", bounds=(-3, 3)).release_many(x)
    c = SqrtFactorCounter(T=T, noise="none", bounds=(-3, 3), mode="streaming").release_many(x)
    np.testing.assert_array_equal(a, want)  # integer sums are exact in float64
    np.testing.assert_array_equal(b, want)
    np.testing.assert_array_equal(c, want)
    o = OptimalFactorCounter(T=T, noise="none", bounds=(-3, 3)).release_many(x)
    np.testing.assert_array_equal(o, want)


def test_large_grid_discrete_noise_is_tiny_relative_to_huge_eps():
    # secure path with a huge budget: outputs are prefix sums of the rounded inputs + tiny noise
    x = np.random.default_rng(6).random(20)
    for cls in COUNTERS:
        c = cls(T=20, privacy=("zcdp", 1e6), noise="seeded-discrete", seed=1, grid_bits=30)
        y = c.release_many(x)
        np.testing.assert_allclose(y, np.cumsum(x), atol=c.expected_error(1e-6)["max_error_bound"])


# ---------------------------------------------------------------------------- discrete paths
@pytest.mark.parametrize("cls", COUNTERS)
@pytest.mark.parametrize("privacy", [("zcdp", 0.5), ("pure", 1.0)])
def test_discrete_path_variance(cls, privacy):
    """seeded-discrete noise: per-step variance matches the closed form (discrete Laplace
    variance exactly; discrete Gaussian variance just below sigma^2)."""
    runs, T = 400, 8
    c = cls(T=T, d=runs, privacy=privacy, noise="seeded-discrete", seed=2, grid_bits=4)
    X = np.random.default_rng(0).random((T, runs))
    err = c.release_many(X) - np.cumsum(np.rint(X * 16) / 16, axis=0)
    emp = (err**2).mean(axis=1)
    tol = (12.0 if privacy[0] == "pure" else 6.0) * math.sqrt(2.0 / runs)
    np.testing.assert_allclose(emp / c.variance(), 1.0, atol=tol)


def test_secure_noise_refuses_seed_and_runs():
    with pytest.raises(InvalidEvent, match="seed"):
        TreeCounter(T=8, seed=1)
    c = TreeCounter(T=8)
    y = c.release_many(np.ones(8))
    assert y.shape == (8,) and np.isfinite(y).all()
    assert c.guarantee.noise == "discrete_gaussian"
    s = SqrtFactorCounter(T=8, privacy=("pure", 1.0))
    assert np.isfinite(s.release(1.0))
    assert s.guarantee.noise == "discrete_laplace"


# ---------------------------------------------------------------------------- guarantees
def test_privacy_loss_and_check():
    c = TreeCounter(T=16, privacy=("pure", 0.5), noise="seeded")
    assert c.privacy_loss(1) == ("pure", pytest.approx(0.5))
    assert c.privacy_loss(3) == ("pure", pytest.approx(1.5))
    assert c.check(1, ("pure", 0.5)) and not c.check(1, ("pure", 0.49))
    assert c.check(1, ("zcdp", 0.125)) and c.check(1, ("approx", 0.5, 1e-9))
    g = SqrtFactorCounter(T=16, privacy=("approx", 1.0, 1e-6), noise="seeded")
    eps, delta = g.privacy_loss(1)[1:]
    assert eps == pytest.approx(1.0, rel=1e-9) and delta == 1e-6
    assert g.check(1, ("approx", 1.0 + 1e-9, 1e-6)) and not g.check(2, ("approx", 1.0, 1e-6))
    z = TreeCounter(T=16, privacy=("zcdp", 0.3))  # secure: discrete Gaussian
    assert z.privacy_loss(1)[1] <= 0.3 and z.privacy_loss(1)[1] > 0.29
    assert TreeCounter(T=4, noise="none").privacy_loss(1) == ("zcdp", math.inf)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", COUNTERS)
def test_bad_parameters(cls):
    for privacy in [("pure", 0), ("pure", -1), ("approx", 1.0, 0.0), ("approx", 1.0, 1.0),
                    ("zcdp", float("nan")), ("laplace", 1.0), ("pure",), None]:
        with pytest.raises(InvalidEvent, match="privacy"):
            cls(T=8, privacy=privacy, noise="seeded")
    for kw, field in [({"T": 0}, "T"), ({"T": 8, "bounds": (1, 0)}, "bounds"),
                      ({"T": 8, "noise": "fast"}, "noise"), ({"T": 8, "d": 0}, "d")]:
        with pytest.raises(InvalidEvent, match=field):
            cls(**kw)


@pytest.mark.parametrize("cls", COUNTERS)
def test_bad_inputs_and_horizon(cls):
    c = cls(T=4, noise="seeded", seed=0)
    with pytest.raises(InvalidEvent, match="bounds"):
        c.release(1.5)
    with pytest.raises(InvalidEvent, match="not finite"):
        c.release_many([0.1, float("inf")])
    assert c.t_ == 0
    c.release_many([0.1, 0.2, 0.3])
    c.release(0.4)
    with pytest.raises(InvalidEvent, match="horizon"):
        c.release(0.5)
    clipped = cls(T=2, noise="none", clip=True).release_many([5.0, -3.0])
    np.testing.assert_array_equal(clipped, [1.0, 1.0])


def test_expected_error_bound_holds():
    """max_t |y_t - S_t| <= max_error_bound(beta) in at least 1 - beta of runs (checked with a
    binomial margin over 400 independent coordinates)."""
    for cls, privacy in [(TreeCounter, ("pure", 1.0)), (SqrtFactorCounter, ("zcdp", 0.5))]:
        c = cls(T=64, d=400, privacy=privacy, noise="seeded", seed=5)
        X = np.random.default_rng(1).random((64, 400))
        err = np.abs(c.release_many(X) - np.cumsum(X, axis=0)).max(axis=0)
        bound = c.expected_error(beta=0.1)["max_error_bound"]
        assert (err > bound).mean() <= 0.1 + 4 * math.sqrt(0.09 / 400)


# ---------------------------------------------------------------------------- doubling
def test_doubling_counter_exactness():  # its conformance checks run in tests/test_conformance.py
    from onlinekit.privacy import DoublingCounter

    x = np.arange(1, 40, dtype=float) % 3
    for counter in ("tree", "sqrt", "optimal"):
        c = DoublingCounter(counter, {"T": 3, "noise": "none", "bounds": (0, 2)})
        np.testing.assert_allclose(c.release_many(x), np.cumsum(x), atol=1e-9)
        assert c.epoch_ == 3  # epochs of 3, 6, 12, 24 steps
    d = DoublingCounter(params={"noise": "none", "bounds": (0, 2)})  # no T: the first epoch holds one event
    np.testing.assert_allclose(d.release_many(x), np.cumsum(x), atol=1e-9)
    assert d.epoch_ == 5  # epochs of 1, 2, 4, 8, 16, 32 steps: event 39 is in the sixth
    with pytest.raises(InvalidEvent, match="dict") as info:
        DoublingCounter(params=[("T", 4)])
    assert info.value.field == "params"


def test_doubling_counter_variance_monte_carlo_and_limits():
    from onlinekit.privacy import DoublingCounter

    runs, n = 3000, 21
    c = DoublingCounter("tree", {"T": 3, "d": runs, "noise": "seeded", "seed": 4})
    X = np.random.default_rng(0).random((n, runs))
    err = c.release_many(X) - np.cumsum(X, axis=0)
    np.testing.assert_allclose((err**2).mean(axis=1) / c.variance(n), 1.0, atol=6 * math.sqrt(2 / runs))
    assert c.privacy_loss(1) == TreeCounter(T=3, d=runs, noise="seeded").privacy_loss(1)
    m = DoublingCounter("tree", {"T": 2, "noise": "seeded", "seed": 1}, max_epochs=2)
    with pytest.raises(InvalidEvent, match="max_epochs"):
        m.release_many(np.zeros(7))
    m.release_many(np.zeros(6))
    with pytest.raises(InvalidEvent, match="horizon") as info:
        m.release(0.0)
    assert info.value.offset == 6
    with pytest.raises(InvalidEvent, match="counter"):
        DoublingCounter("nope", {"T": 2})


# ---------------------------------------------------------------------------- block == loop
@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=6), st.sampled_from(range(7)))
def test_release_many_in_random_chunks_equals_loop(chunks, which):
    from onlinekit.privacy import DoublingCounter

    makers = [
        lambda: TreeCounter(T=40, d=2, privacy=("pure", 1.0), honaker=True, noise="seeded", seed=3),
        lambda: TreeCounter(T=40, privacy=("zcdp", 0.5), noise="seeded-discrete", seed=3, grid_bits=8),
        lambda: SqrtFactorCounter(T=40, privacy=("approx", 1.0, 1e-6), noise="seeded", seed=3),
        lambda: SqrtFactorCounter(T=40, mode="streaming", noise="seeded", seed=3),
        lambda: SqrtFactorCounter(T=40, noise="seeded-discrete", seed=3, grid_bits=8),
        lambda: OptimalFactorCounter(T=40, d=2, noise="seeded", seed=3),
        lambda: DoublingCounter("tree", {"T": 3, "noise": "seeded", "seed": 3}),
    ]
    make = makers[which]
    n = min(sum(chunks), 40)
    d = make()._template.d if which == 6 else make().d
    X = np.random.default_rng(1).random((n, d))
    xs = X[:, 0] if d == 1 else X
    loop_c = make()
    loop = np.array([loop_c.release(v) for v in xs])
    blk_c = make()
    parts, i = [], 0
    for k in chunks:
        if i >= n:
            break
        parts.append(blk_c.release_many(xs[i:i + k]))
        i += k
    np.testing.assert_array_equal(np.concatenate(parts), loop)


@pytest.mark.parametrize("name,params", [
    ("tree-counter", {"T": 64, "noise": "seeded-discrete", "seed": 3}),
    ("tree-counter", {"T": 64}),
    ("sqrt-factor-counter", {"T": 64, "noise": "seeded-discrete", "seed": 3}),
    ("maxsum", {"T": 64, "d": 3, "noise": "seeded-discrete", "seed": 3}),
])
def test_state_from_before_the_noise_stream_loads_and_continues(name, params):
    # snapshots written before counters stored their bit stream (serve keeps them across upgrades)
    from onlinekit.registry import get_learner_class

    cls = get_learner_class(name)
    a = cls(**params)
    x = np.ones(3) if name == "maxsum" else 1.0
    for _ in range(5):
        a.release(x)
    old = a.state_dict()
    old.pop("noise_stream_")
    b, c = cls(**params), cls(**params)
    b.load_state_dict(dict(old))
    c.load_state_dict(dict(old))
    rb, rc = b.release(x), c.release(x)
    assert np.all(np.isfinite(np.asarray(rb, dtype=float)))
    if params.get("noise") == "seeded-discrete":
        assert np.array_equal(np.asarray(rb), np.asarray(rc))  # deterministic for one archive
