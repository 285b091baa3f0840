"""SEA logistic instance: sigma^2 / Sigma^2 against Monte Carlo and brute-force grids."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onlinekit.oco import LogisticLoss
from onlinekit.streams.errors import StreamError
from onlinekit.streams.sea import SEALogisticStream, SEAStream, logistic_variation_sup


def _grad_F(a, q, X):
    """grad F(x) = q grad f(x; b=1) + (1 - q) grad f(x; b=0) at each row of X, via LogisticLoss."""
    g1 = np.array([LogisticLoss(a, 1).grad(x) for x in X])
    g0 = np.array([LogisticLoss(a, 0).grad(x) for x in X])
    return q * g1 + (1 - q) * g0


def test_stream_is_seeded_chunked_and_follows_the_sea_drift_path():
    kw = {"n": 300, "d": 3, "q": 0.6, "mean_norm": 0.5, "drift": 0.05, "radius": 1.0, "seed": 4}
    s = SEALogisticStream(**kw)
    A, y, var = s.arrays()
    parts = list(s.chunks(chunk_size=70))
    assert np.array_equal(np.concatenate([c.columns["y"] for c in parts]), y)
    assert np.array_equal(np.concatenate([c.columns["a1"] for c in parts]), A[:, 1])
    A2, y2, _ = SEALogisticStream(**kw).arrays()
    assert np.array_equal(A, A2) and np.array_equal(y, y2)
    assert set(np.unique(y)) <= {0.0, 1.0}
    # features = the mean path of the SEA "drift" regime with the same seed
    _, mu, _ = SEAStream(n=300, d=3, regime="drift", noise=0.0, mean_norm=0.5, drift=0.05, seed=4).arrays()
    np.testing.assert_allclose(A, mu, rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(np.diff(A, axis=0), axis=1), 0.05, rtol=1e-9)
    np.testing.assert_allclose(var, 0.25 * 0.6 * 0.4, rtol=1e-12)


def test_sigma_t_against_monte_carlo_at_several_points():
    # sigma_t^2 = max_x E||grad f(x) - grad F(x)||^2 = ||a||^2 q (1 - q), at every x.
    # Monte Carlo over N labels at each x; tolerance 4 standard errors of the sample mean.
    rng = np.random.default_rng(0)
    a, q, R, N = np.array([0.3, -0.4, 0.5]), 0.3, 2.0, 20000
    X = rng.normal(size=(6, 3))
    X *= (R * rng.random(6) ** (1 / 3) / np.linalg.norm(X, axis=1))[:, None]
    GF = _grad_F(a, q, X)
    exact = (a @ a) * q * (1 - q)
    for x, gF in zip(X, GF):
        b = (rng.random(N) < q).astype(float)
        g = LogisticLoss(np.tile(a, (N, 1)), b).grad(x)
        v = np.sum((g - gF) ** 2, axis=1)
        se = v.std(ddof=1) / math.sqrt(N)
        assert abs(v.mean() - exact) <= 4 * se, (v.mean(), exact, se)
    # the stream reports the same per-round value
    s = SEALogisticStream(n=1, d=3, q=q, mean_norm=float(np.linalg.norm(a)), seed=0)
    assert math.isclose(s.arrays()[2][0], exact, rel_tol=1e-12)


def test_realised_sigma_within_its_standard_deviation():
    n, q, m = 5000, 0.7, 0.8
    s = SEALogisticStream(n=n, d=2, q=q, mean_norm=m, drift=0.01, seed=1)
    assert math.isclose(s.sigma2_expected(), n * m * m * q * (1 - q), rel_tol=1e-12)
    # (b - q)^2 is (1-q)^2 w.p. q and q^2 w.p. 1-q
    mean1 = q * (1 - q) ** 2 + (1 - q) * q * q
    var1 = q * (1 - q) ** 4 + (1 - q) * q**4 - mean1**2
    assert abs(s.sigma2() - n * m * m * mean1) <= 4 * m * m * math.sqrt(n * var1)
    # realised equals its definition sum ||grad f_t - grad F_t||^2 at any point
    A, y, _ = s.arrays()
    x = np.array([0.3, -0.2])
    g = LogisticLoss(A, y).grad(x)
    gF = A * ((1 / (1 + np.exp(-(A @ x)))) - q)[:, None]
    assert math.isclose(s.sigma2(), float(np.sum((g - gF) ** 2)), rel_tol=1e-9)


def test_noiseless_and_iid_special_cases():
    s = SEALogisticStream(n=200, d=2, q=1.0, mean_norm=0.5, drift=0.02, seed=2)
    assert s.sigma2() == 0.0 and s.sigma2_expected() == 0.0 and s.Sigma2() > 0
    s = SEALogisticStream(n=200, d=2, q=0.5, mean_norm=0.5, drift=0.0, seed=2)
    assert s.Sigma2() == 0.0 and s.Sigma2_bounds() == (0.0, 0.0)


def _brute_sup(a_prev, a, qp, q, R, k=801):
    g = np.linspace(-R, R, k)
    X1, X2 = np.meshgrid(g, g)
    X = np.column_stack([X1.ravel(), X2.ravel()])
    X = X[np.sum(X * X, axis=1) <= R * R]
    sx, sp = 1 / (1 + np.exp(-(X @ a))), 1 / (1 + np.exp(-(X @ a_prev)))
    D = a[None, :] * (sx - q)[:, None] - a_prev[None, :] * (sp - qp)[:, None]
    return float(np.max(np.sum(D * D, axis=1))), 2 * R / (k - 1)


@pytest.mark.parametrize("case", range(6))
def test_variation_sup_against_brute_force_grid_in_2d(case):
    rng = np.random.default_rng(100 + case)
    a = rng.normal(size=2) * rng.uniform(0.3, 3)
    a_prev = a + rng.normal(size=2) * (0.05 if case % 2 else 1.0)
    q, qp = rng.uniform(0, 1, size=2)
    if case == 0:
        qp = q
    R = rng.uniform(0.5, 3)
    val, upper = logistic_variation_sup(a_prev, a, qp, q, R)
    brute, h = _brute_sup(a_prev, a, qp, q, R)
    # brute is attained, so <= sup <= upper; val is attained too, so val <= sup; the brute
    # grid's own error: sup h <= sqrt(brute) + L h / sqrt(2) with L = max(||a||^2)/4
    lip = 0.25 * max(a @ a, a_prev @ a_prev)
    assert brute <= upper * (1 + 1e-12)
    assert val >= brute * (1 - 1e-9)
    assert val <= (math.sqrt(brute) + lip * h / math.sqrt(2)) ** 2 * (1 + 1e-12)


def test_variation_sup_fixed_features_is_closed_form():
    a = np.array([0.6, -0.8, 0.0])
    val, upper = logistic_variation_sup(a, a, 0.2, 0.9, 1.5)
    assert math.isclose(val, (a @ a) * 0.7**2, rel_tol=1e-12) and math.isclose(upper, val, rel_tol=1e-12)


def test_stream_Sigma_is_rotation_invariant_and_bounds_random_points():
    s = SEALogisticStream(n=400, d=4, q=0.35, mean_norm=1.5, drift=0.3, radius=2.0, seed=7)
    A = s.features(np.arange(400))
    per_round = s.Sigma2() / 399
    lo, hi = s.Sigma2_bounds()
    assert lo <= s.Sigma2() <= hi <= lo * 1.05
    for t in (1, 57, 399):   # every consecutive pair gives the same supremum (rotation invariance)
        v, _ = logistic_variation_sup(A[t - 1], A[t], s.q, s.q, s.radius)
        assert math.isclose(v, per_round, rel_tol=1e-6)
    # random points of the 4-d ball never exceed the upper bound
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 4))
    X *= (2.0 * rng.random(20000) ** 0.25 / np.linalg.norm(X, axis=1))[:, None]
    D = _grad_F(A[57], s.q, X[:300]) - _grad_F(A[56], s.q, X[:300])   # LogisticLoss oracle
    s1, s0 = 1 / (1 + np.exp(-(X @ A[57]))), 1 / (1 + np.exp(-(X @ A[56])))
    D_all = A[57] * (s1 - s.q)[:, None] - A[56] * (s0 - s.q)[:, None]
    np.testing.assert_allclose(D_all[:300], D, atol=1e-12)
    assert np.max(np.sum(D_all**2, axis=1)) <= hi / 399


def test_minimisers_beat_every_point_of_the_ball():
    s = SEALogisticStream(n=50, d=3, q=0.6, mean_norm=2.0, drift=0.5, radius=1.0, seed=3)
    A = s.features(np.arange(50))
    U = s.minimisers()
    assert np.all(np.linalg.norm(U, axis=1) <= 1.0 + 1e-12)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5000, 3))
    X *= (rng.random(5000) ** (1 / 3) / np.linalg.norm(X, axis=1))[:, None]

    def F(a, x):
        z = x @ a
        return 0.6 * np.logaddexp(0, -z) + 0.4 * np.logaddexp(0, z)

    for t in (0, 25, 49):
        assert F(A[t], U[t]) <= F(A[t], X).min() + 1e-12
        # interior optimum: s(<a, u>) = q
        assert math.isclose(1 / (1 + math.exp(-(A[t] @ U[t]))), 0.6, rel_tol=1e-12)
    U1 = SEALogisticStream(n=5, d=3, q=1.0, mean_norm=2.0, drift=0.5, radius=1.0, seed=3).minimisers()
    np.testing.assert_allclose(U1, A[:5] / 2.0, atol=1e-12)


def test_bad_params():
    for kw in ({"q": 1.5}, {"q": -0.1}, {"d": 1, "drift": 0.1}, {"mean_norm": 0.1, "drift": 0.5}, {"radius": -1.0}):
        with pytest.raises(StreamError):
            SEALogisticStream(**kw)


def test_prefix_regret_logistic_against_cvxpy():
    import cvxpy as cp

    from onlinekit.experiments.sea_regret import prefix_regret_logistic

    rng = np.random.default_rng(2)
    a = rng.normal(size=(25, 3))
    y = (rng.random(25) < 0.6).astype(float)
    losses = rng.random(25)
    at = np.array([0, 9, 24])
    reg = prefix_regret_logistic(a, y, losses, 0.7, at)
    x = cp.Variable(3)
    for r, t in zip(reg, at):
        z = a[:t + 1] @ x
        sgn = 2 * y[:t + 1] - 1
        prob = cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(sgn, z)))), [cp.norm(x, 2) <= 0.7])
        prob.solve()
        assert math.isclose(r, losses[:t + 1].sum() - prob.value, rel_tol=1e-5, abs_tol=1e-5)


def test_experiment_logistic_row_reports_sigma_and_Sigma():
    from onlinekit.experiments.sea_regret import Config, regimes, run

    cfg = Config(horizon=256, noise_levels=(0.1,), n_points=8, n_seeds=1)
    rows = [r for r in run(cfg, 0)["rows"] if r["regime"] == "logistic-drift"]
    assert {r["method"] for r in rows} >= {"ogd", "optimistic-omd", "optimistic-ftrl", "dynamic-omd"}
    k = [lab for lab, _ in regimes(cfg)].index("logistic-drift")
    src = SEALogisticStream(n=256, d=cfg.d, q=cfg.logistic_q, mean_norm=cfg.mean_norm, drift=cfg.drift,
                            radius=cfg.radius, seed=7919 * k)
    for r in rows:
        assert r["sigma2"] == src.sigma2() and r["Sigma2"] == src.Sigma2()
        assert math.isfinite(r["regret"]) and math.isfinite(r["dynamic_regret"])
