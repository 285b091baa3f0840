"""The ``release`` protocol: replaying value logs through the private counters.

Oracles: a Monte Carlo over seeds whose tolerance is four standard deviations of the mean
MSE, computed from the noise covariance built independently from each mechanism's structure
(dyadic tree nodes; the Toeplitz square root from binomial coefficients); numpy ``cumsum``
for the exact running sums; ``releases.csv`` read back. Sabotaged counters (noise dropped,
noise doubled) fail the Monte Carlo check.
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.privacy import DoublingCounter, MaxSum, OptimalFactorCounter, SqrtFactorCounter, SumSelect, TreeCounter
from onlinekit.protocols import replay_log
from onlinekit.protocols.release import RELEASE, read_releases
from onlinekit.streams import ArraySource

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from nolen_source import NoLenSource  # noqa: E402

T = 256


def _bits(n=T, seed=0, p=0.3):
    return (np.random.default_rng(seed).random(n) < p).astype(float)


def _tree_cov(T):
    """Cov(y - S) / node variance for the binary tree: steps s, t share node (h, t >> h) when
    bit h is set in both and their prefixes above h agree."""
    t = np.arange(1, T + 1)
    C = np.zeros((T, T))
    for h in range(int(T).bit_length()):
        on = (t >> h) & 1
        same = (t[:, None] >> h) == (t[None, :] >> h)
        C += np.outer(on, on) * same
    return C


def _sqrt_cov(T):
    """C C^T / noise variance, C lower-triangular Toeplitz with c_k = binom(2k, k) / 4^k."""
    c = np.array([float(Fraction(math.comb(2 * k, k), 4**k)) for k in range(T)])
    M = np.zeros((T, T))
    for i in range(T):
        M[i, :i + 1] = c[i::-1]
    return M @ M.T


def _mc(make, cov, K=150):
    """Mean MSE over K seeds, the expected MSE the protocol reports, and the tolerance
    4 sd(mean MSE) with Var(mse) = 2 tr(Sigma^2) / n^2 (Gaussian quadratic form)."""
    x = _bits()
    mses, expected = [], None
    for k in range(K):
        learner = make(k)
        rep = replay_log(learner, ArraySource(columns={"v": x}), {"value": "v"}, chunk_size=100)
        mses.append(rep.summary["mse"])
        expected = rep.summary["expected_mse"]
    var = learner.node_variance() if hasattr(learner, "node_variance") else learner.noise_variance()
    Sigma = cov * var
    sd_mean = math.sqrt(2.0 * np.sum(Sigma * Sigma)) / T / math.sqrt(K)
    return float(np.mean(mses)), expected, 4.0 * sd_mean, float(np.trace(Sigma)) / T


def _tree(k):
    return TreeCounter(T=T, privacy=("zcdp", 0.5), noise="seeded", seed=k)


def _sqrt(k):
    return SqrtFactorCounter(T=T, privacy=("zcdp", 0.5), noise="seeded", seed=k)


@pytest.mark.parametrize("make, cov", [(_tree, _tree_cov), (_sqrt, _sqrt_cov)], ids=["tree", "sqrt"])
def test_mse_agrees_with_expected_mse_monte_carlo(make, cov):
    mean, expected, tol, trace = _mc(make, cov(T))
    assert math.isclose(expected, trace, rel_tol=1e-9)  # the closed form is the structure's trace
    assert abs(mean - expected) <= tol, (mean, expected, tol)


@pytest.mark.parametrize("factor", [0.0, 2.0], ids=["no-noise", "doubled-noise"])
def test_sabotaged_counters_fail_the_monte_carlo(monkeypatch, factor):
    real = TreeCounter._draw_std
    monkeypatch.setattr(TreeCounter, "_draw_std", lambda self, m: factor * real(self, m))
    mean, expected, tol, _ = _mc(_tree, _tree_cov(T), K=40)
    assert abs(mean - expected) > tol


def test_sabotaged_sqrt_counter_fails(monkeypatch):
    real = SqrtFactorCounter._draw
    monkeypatch.setattr(SqrtFactorCounter, "_draw", lambda self, m: 2.0 * real(self, m))
    mean, expected, tol, _ = _mc(_sqrt, _sqrt_cov(T), K=40)
    assert abs(mean - expected) > tol


def _errors_from_file(path, X, stat):
    """mse and max |error| recomputed from releases.csv and numpy's cumsum."""
    t, Y = read_releases(path)
    assert t.tolist() == list(range(1, len(X) + 1))
    S = np.cumsum(X, axis=0)
    if stat == "sum":
        E = Y - S
    elif stat == "max":
        E = Y[:, 0] - S.max(axis=1)
    else:
        E = S.max(axis=1) - S[np.arange(len(X)), Y[:, 0].astype(int)]
    return float(np.mean(E**2)), float(np.max(np.abs(E)))


CASES = {
    "tree": (lambda: TreeCounter(T=T, noise="seeded", seed=1, honaker=True), 1, "sum"),
    "tree-d3": (lambda: TreeCounter(T=T, d=3, privacy=("pure", 1.0), noise="seeded", seed=2), 3, "sum"),
    "sqrt-streaming": (lambda: SqrtFactorCounter(T=T, mode="streaming", noise="seeded", seed=3), 1, "sum"),
    "optimal": (lambda: OptimalFactorCounter(T=48, noise="seeded", seed=4), 1, "sum"),
    "doubling": (lambda: DoublingCounter("tree", {"T": 16, "noise": "seeded", "seed": 5}), 1, "sum"),
    "tree-secure": (lambda: TreeCounter(T=T, privacy=("approx", 1.0, 1e-6)), 1, "sum"),
    "maxsum": (lambda: MaxSum(T=T, d=3, route="svt", noise="seeded", seed=6), 3, "max"),
    "sumselect": (lambda: SumSelect(T=T, d=3, route="counters", noise="seeded", seed=7), 3, "argmax"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_figures_match_releases_file_and_cumsum(name, tmp_path):
    make, d, stat = CASES[name]
    n = int(getattr(make(), "T", T))
    X = (np.random.default_rng(9).random((n, d)) < np.linspace(0.2, 0.6, d)).astype(float)
    cols = {f"c{j}": X[:, j] for j in range(d)}
    columns = {"value": "c0"} if d == 1 else {"values": tuple(cols)}
    rep = replay_log(make(), ArraySource(columns=cols), columns, out=tmp_path, chunk_size=37, record_every=50)
    path = tmp_path / "releases.csv"
    assert rep.meta["files"] == [str(path)]
    mse, mx = _errors_from_file(path, X, stat)
    assert math.isclose(rep.summary["mse"], mse, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(rep.summary["max_abs_error"], mx, rel_tol=1e-12)
    if name != "tree-secure":  # the file holds what a learner of the same seed releases, bit for bit
        ref = make()
        Y = np.asarray(ref.release_many(X[:, 0] if d == 1 and stat == "sum" else X), dtype=np.float64)
        assert np.array_equal(read_releases(path)[1], Y.reshape(n, -1))
    assert rep.summary["privacy"] in ("zcdp", "pure", "approx")
    assert rep.summary["private"] == (name == "tree-secure")
    assert ("expected_mse" in rep.summary) == (stat == "sum")


def test_privacy_guarantee_is_the_counters():
    x = _bits()
    c = TreeCounter(T=T, privacy=("approx", 2.0, 1e-6), noise="seeded", seed=0)
    s = replay_log(c, ArraySource(columns={"v": x}), {"value": "v"}).summary
    kind, eps, delta = c.privacy_loss(1)
    assert (s["privacy"], s["epsilon"], s["delta"]) == (kind, eps, delta) == ("approx", s["epsilon"], 1e-6)
    p = replay_log(TreeCounter(T=T, privacy=("pure", 1.5), noise="seeded", seed=0),
                   ArraySource(columns={"v": x}), {"value": "v"}).summary
    assert p["privacy"] == "pure" and math.isclose(p["epsilon"], 1.5)


def test_doubling_expected_mse_is_the_epoch_closed_form():
    x = _bits(n=100)
    c = DoublingCounter("sqrt", {"T": 8, "noise": "seeded", "seed": 0})
    s = replay_log(c, ArraySource(columns={"v": x}), {"value": "v"}, chunk_size=9, record_every=7).summary
    # epochs of 8, 16, 32, 64 steps: each step adds the earlier epochs' final variances
    v, carry, i = [], 0.0, 0
    while len(v) < 100:
        e = SqrtFactorCounter(T=8 * 2**i, noise="seeded").variance()
        v.extend(e + carry)
        carry += e[-1]
        i += 1
    assert math.isclose(s["expected_mse"], float(np.mean(v[:100])), rel_tol=1e-12)


def test_figures_do_not_depend_on_chunking_and_resume(tmp_path):
    x = _bits()
    runs = [replay_log(_tree(3), ArraySource(columns={"v": x}), {"value": "v"}, chunk_size=c, record_every=r)
            for c, r in ((1, 1), (50, 7), (8192, 1000))]
    for r in runs[1:]:
        assert r.summary["mse"] == runs[0].summary["mse"]
    ck = tmp_path / "ck"
    replay_log(_tree(3), ArraySource(columns={"v": x}), {"value": "v"}, chunk_size=50, checkpoint=ck,
               checkpoint_every=50, max_events=100)
    rep = replay_log(_tree(3), ArraySource(columns={"v": x}), {"value": "v"}, chunk_size=50, checkpoint=ck,
                     resume=True, out=tmp_path)
    assert rep.resumed_from == 100 and rep.summary["mse"] == runs[2].summary["mse"]
    assert len(read_releases(tmp_path / "releases.csv")[0]) == T


def test_infer_horizon_and_dimension():
    X = (np.random.default_rng(0).random((77, 2)) < 0.5).astype(float)
    src = ArraySource(columns={"a": X[:, 0], "b": X[:, 1]})
    cols = RELEASE.resolve_columns({"values": "a,b"}, src.column_names())
    assert cols == {"values": ("a", "b")}
    assert RELEASE.infer_params(MaxSum, cols, NoLenSource(src)) == {"T": 77, "d": 2}
    assert RELEASE.infer_params(TreeCounter, {"value": "a"}, src) == {"T": 77, "d": 1}
    assert RELEASE.infer_params(DoublingCounter, {"value": "a"}, src) == {}
    params = RELEASE.infer_params(SumSelect, cols, src)
    rep = replay_log(SumSelect(**params, noise="seeded", seed=0), src, cols)
    assert rep.n_events == 77


def test_bad_input_errors():
    x = _bits(n=20)
    src = ArraySource(columns={"v": x, "w": x})
    with pytest.raises(ValueError, match="--value COL"):
        RELEASE.resolve_columns({}, src.column_names())
    with pytest.raises(ValueError, match="both"):
        RELEASE.resolve_columns({"value": "v", "values": "v,w"}, src.column_names())
    with pytest.raises(ValueError, match="d=1"):
        replay_log(TreeCounter(T=20, noise="seeded"), src, {"values": ("v", "w")})
    bad = x.copy()
    bad[13] = 2.0
    c = TreeCounter(T=20, noise="seeded", seed=0)
    with pytest.raises(InvalidEvent, match="row 13.*bounds") as e:
        replay_log(c, ArraySource(columns={"v": bad}), {"value": "v"}, chunk_size=5)
    assert e.value.field == "v" and c.t_ == 10
    with pytest.raises(InvalidEvent, match="row 10.*horizon"):
        replay_log(TreeCounter(T=10, noise="seeded"), src, {"value": "v"})
    half = np.where(np.arange(20) == 4, 0.5, x)
    with pytest.raises(InvalidEvent, match="row 4.*0 or 1"):
        replay_log(MaxSum(T=20, d=2, noise="seeded"), ArraySource(columns={"v": half, "w": x}),
                   {"values": ("v", "w")})
