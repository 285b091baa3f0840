"""SEA streams (known sigma^2 / Sigma^2) and the sea-regret experiment's comparison rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onlinekit.streams.errors import StreamError
from onlinekit.streams.sea import REGIMES, SEAStream


@pytest.mark.parametrize("regime", REGIMES)
def test_sea_stream_chunks_equal_arrays_and_are_seeded(regime):
    kw = dict(n=300, d=3, regime=regime, noise=0.2, drift=0.05, corruption=2.0, corruption_size=0.5, n_items=40,
              seed=4)
    if regime not in ("adversarial", "drift"):
        kw["drift"] = 0.0
    s = SEAStream(**kw)
    xi, mu, var = s.arrays()
    parts = list(s.chunks(chunk_size=70))
    x0 = np.concatenate([c.columns["x0"] for c in parts])
    assert np.array_equal(x0, xi[:, 0])
    xi2, _, _ = SEAStream(**kw).arrays()
    assert np.array_equal(xi, xi2)
    assert np.all(var >= 0)


def test_sigma_and_Sigma_match_their_definitions():
    # i.i.d. Gaussian noise: sigma_t^2 = d s^2 exactly; realised sum within 4 standard deviations
    # (sum of n d squared N(0, s^2): variance 2 n d s^4)
    n, d, s = 4000, 3, 0.3
    iid = SEAStream(n=n, d=d, regime="iid", noise=s, seed=1)
    assert math.isclose(iid.sigma2_expected(), n * d * s * s)
    assert abs(iid.sigma2() - n * d * s * s) <= 4 * math.sqrt(2 * n * d) * s * s
    assert iid.Sigma2() == 0.0
    # rotation: ||mu_t - mu_{t-1}|| = drift exactly, no noise
    adv = SEAStream(n=501, d=2, regime="adversarial", drift=0.02, mean_norm=0.7, seed=2)
    _, mu, _ = adv.arrays()
    np.testing.assert_allclose(np.linalg.norm(np.diff(mu, axis=0), axis=1), 0.02, rtol=1e-9)
    assert math.isclose(adv.Sigma2(), 500 * 0.02**2, rel_tol=1e-9) and adv.sigma2() == 0.0
    # corruption: total budget respected, one jump of size corruption_size
    cor = SEAStream(n=100, d=2, regime="corrupted", noise=0.0, corruption=3.0, corruption_size=1.0, seed=3)
    _, mu, _ = cor.arrays()
    base = cor.mean_norm * cor.u
    assert np.sum(np.linalg.norm(mu - base, axis=1)) <= 3.0 + 1e-12
    assert math.isclose(cor.Sigma2(), 1.0, rel_tol=1e-12)


def test_random_order_moments_by_brute_force():
    s = SEAStream(n=25, d=2, regime="random-order", noise=1.0, n_items=10, seed=5)
    xi, mu, var = s.arrays()
    for t in range(25):
        k0 = (t // 10) * 10
        seen = {tuple(v) for v in xi[k0:t]}
        remaining = np.array([it for it in s.items if tuple(it) not in seen])
        np.testing.assert_allclose(mu[t], remaining.mean(axis=0), atol=1e-12)
        np.testing.assert_allclose(var[t], np.mean(np.sum((remaining - remaining.mean(axis=0)) ** 2, axis=1)),
                                   atol=1e-12)
    # each pass uses every item exactly once
    assert sorted(map(tuple, xi[:10])) == sorted(map(tuple, s.items))


def test_bad_params():
    with pytest.raises(StreamError):
        SEAStream(regime="nope")
    with pytest.raises(StreamError):
        SEAStream(d=1, drift=0.1, regime="drift")
    with pytest.raises(StreamError):
        SEAStream(noise=-1.0)


def test_prefix_regret_against_brute_force_hindsight():
    from onlinekit.experiments.sea_regret import prefix_regret
    from onlinekit.solvers import ProjectionProblem, l2_ball

    rng = np.random.default_rng(0)
    xi = rng.normal(size=(30, 3))
    losses = rng.random(30)
    reg = prefix_regret(xi, losses, radius=0.5)
    prob = ProjectionProblem(3, l2_ball(0.5))
    for t in (1, 7, 30):
        xs = prob.solve(xi[:t].mean(axis=0)).primal   # argmin of sum 0.5 ||x - xi||^2 over the ball
        best = 0.5 * np.sum((xs - xi[:t]) ** 2)
        assert math.isclose(reg[t - 1], losses[:t].sum() - best, rel_tol=1e-6, abs_tol=1e-6)


@pytest.fixture(scope="module")
def quick_results():
    from onlinekit.experiments import run_experiment

    return run_experiment("sea-regret", quick=True, n_seeds=3)


def test_sea_regret_comparison_rows_hold(quick_results):
    from onlinekit.experiments.sea_regret import compare

    rows = compare(quick_results.config, quick_results.results)
    assert [r for r in rows if r.verdict == "fail"] == []
    assert {r.claim.split(":")[0] for r in rows} >= {"linear-fixed", "T sweep (256..4096)"}


def test_sea_regret_reports_sigma_and_Sigma(quick_results):
    rows = {(r["regime"], r["method"]): r for r in quick_results.table}
    fixed = rows[("fixed", "optimistic-omd")]
    assert fixed["sigma2_mean"] == 0.0 and fixed["Sigma2_mean"] == 0.0
    T, d = quick_results.config.horizon, quick_results.config.d
    iid = rows[("iid-s0.1", "optimistic-omd")]
    # realised sigma^2 ~ T d s^2, within 4 sd of the chi-square sum
    assert abs(iid["sigma2_mean"] - T * d * 0.01) <= 4 * math.sqrt(2 * T * d) * 0.01
    assert quick_results.failures == []


def test_sea_regret_writes_outputs(tmp_path):
    from onlinekit.experiments.runner import plot_curves, write_table
    from onlinekit.experiments.sea_regret import Config, run

    cfg = Config(horizon=256, noise_levels=(0.1,), n_points=8, n_seeds=1)
    res = run(cfg, 0)
    files = write_table([{k: v for k, v in r.items()} for r in res["rows"]], tmp_path)
    files += plot_curves([res], tmp_path)
    names = {f.name for f in files}
    assert {"table.csv", "table.md", "regret-fixed.png"} <= names


def test_prefix_regret_linear_against_cvxpy():
    import cvxpy as cp

    from onlinekit.experiments.sea_regret import prefix_regret_linear

    rng = np.random.default_rng(1)
    c = rng.normal(size=(12, 3))
    losses = rng.random(12)
    reg = prefix_regret_linear(c, losses, radius=0.8)
    x = cp.Variable(3)
    for t in (1, 12):
        prob = cp.Problem(cp.Minimize(c[:t].sum(axis=0) @ x), [cp.norm(x, 2) <= 0.8])
        prob.solve()
        assert math.isclose(reg[t - 1], losses[:t].sum() - prob.value, rel_tol=1e-6, abs_tol=1e-6)
