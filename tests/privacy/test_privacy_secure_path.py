"""The private path of every mechanism: no float sampler is ever called, the integer tree
kernel agrees with the slow reference, and the empirical privacy loss of the noise actually
drawn on neighbouring streams stays within the guarantee (with sabotaged calibrations
rejected by the same checks)."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.privacy import DoublingCounter, MaxSum, OptimalFactorCounter, SqrtFactorCounter, SumSelect, TreeCounter
from onlinekit.privacy.accounting import zcdp_delta
from onlinekit.privacy.sqrt_factor import mean_error_factorization

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import privacy_reference as ref  # noqa: E402

_FLOAT_METHODS = ("random", "standard_normal", "normal", "laplace", "exponential", "standard_exponential",
                  "uniform", "gamma", "standard_gamma", "beta", "logistic", "gumbel", "standard_cauchy",
                  "standard_t", "lognormal", "chisquare", "rayleigh", "wald", "triangular")


class _NoFloatGenerator:
    """A numpy Generator whose float samplers raise (integer methods pass through)."""

    def __init__(self, g):
        self._g = g

    def __getattr__(self, name):
        if name in _FLOAT_METHODS:
            def boom(*a, **k):
                raise AssertionError(f"float sampler Generator.{name} called on the private path")
            return boom
        return getattr(self._g, name)


@pytest.fixture
def no_float_samplers(monkeypatch):
    real = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", lambda *a, **k: _NoFloatGenerator(real(*a, **k)))
    for name in ("random", "rand", "randn", "normal", "laplace", "standard_normal", "uniform", "exponential"):
        monkeypatch.setattr(np.random, name, lambda *a, _n=name, **k: (_ for _ in ()).throw(
            AssertionError(f"np.random.{_n} called on the private path")))
    for name in ("random", "gauss", "normalvariate", "uniform", "expovariate", "lognormvariate"):
        monkeypatch.setattr(random, name, lambda *a, _n=name, **k: (_ for _ in ()).throw(
            AssertionError(f"random.{_n} called on the private path")))
        monkeypatch.setattr(random.SystemRandom, name, lambda *a, _n=name, **k: (_ for _ in ()).throw(
            AssertionError(f"SystemRandom.{_n} called on the private path")))


SECURE_MAKERS = [
    lambda: TreeCounter(T=64, privacy=("zcdp", 0.5)),
    lambda: TreeCounter(T=64, privacy=("pure", 1.0), d=3, honaker=True),
    lambda: TreeCounter(T=64, privacy=("approx", 1.0, 1e-6)),
    lambda: SqrtFactorCounter(T=32, privacy=("zcdp", 0.5)),
    lambda: SqrtFactorCounter(T=32, privacy=("pure", 1.0), d=2),
    lambda: OptimalFactorCounter(T=16, privacy=("zcdp", 0.5)),
    lambda: DoublingCounter("tree", {"T": 8, "privacy": ("zcdp", 0.5)}),
    lambda: DoublingCounter("sqrt", {"T": 8, "privacy": ("pure", 0.5)}),
]


@pytest.mark.parametrize("make", SECURE_MAKERS)
def test_secure_counters_never_call_a_float_sampler(no_float_samplers, make):
    c = make()
    d = c._template.d if isinstance(c, DoublingCounter) else c.d
    n = 40 if isinstance(c, DoublingCounter) else int(c.T)
    X = np.random.default_rng(0).integers(0, 2, size=(n, d)).astype(float)  # integers: allowed
    xs = X[:, 0] if d == 1 else X
    y = c.release_many(xs[:n - 5])
    ys = [c.release(v) for v in xs[n - 5:]]
    assert np.isfinite(y).all() and np.isfinite(np.asarray(ys)).all()


@pytest.mark.parametrize("cls,route,privacy", [(MaxSum, "svt", ("pure", 1.0)), (MaxSum, "counters", ("zcdp", 0.5)),
                                               (SumSelect, "svt", ("approx", 1.0, 1e-6)),
                                               (SumSelect, "counters", ("pure", 1.0))])
def test_secure_selection_never_calls_a_float_sampler(no_float_samplers, cls, route, privacy):
    m = cls(T=50, d=3, privacy=privacy, route=route)
    X = (np.arange(150).reshape(50, 3) % 3 == 0).astype(float)
    assert len(m.release_many(X)) == 50


def test_the_float_guard_catches_float_samplers(no_float_samplers):
    """Sabotage of the guard itself: the seeded (float) path trips it."""
    with pytest.raises(AssertionError, match="float sampler"):
        TreeCounter(T=8, noise="seeded", seed=0).release_many(np.ones(8))
    with pytest.raises(AssertionError, match="float sampler"):
        SqrtFactorCounter(T=8, privacy=("pure", 1.0), noise="seeded", seed=0).release_many(np.ones(8))


def test_serve_release_on_the_secure_path(no_float_samplers, tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx2", reason="starlette's TestClient needs httpx2")
    from starlette.testclient import TestClient

    from onlinekit.serve import LearnerService, create_app

    s = LearnerService(tmp_path, "tree-counter", {"T": 64, "privacy": ("zcdp", 0.5)})
    with TestClient(create_app(s, close_service=True)) as c:
        ests = [c.post("/release", json={"x": 1.0}).json()["estimate"] for _ in range(5)]
        r = c.post("/release/batch", json={"events": [{"x": 1.0}, {"x": 0.0}]}).json()
    assert all(isinstance(e, float) for e in ests) and len(r["results"]) == 2


# ---------------------------------------------------------------------------- integer kernel
def _capture_noise(counter, store: list):
    real = counter._discrete_noise

    def rec(n):
        z = real(n)
        store.append(z.copy())
        return z

    counter._discrete_noise = rec


@pytest.mark.parametrize("honaker", [False, True])
@pytest.mark.parametrize("chunks", [[37], [1] * 37, [5, 1, 13, 18]])
def test_integer_tree_kernel_matches_reference(honaker, chunks):
    T, d, gb = 37, 2, 6
    c = TreeCounter(T=T, d=d, privacy=("zcdp", 0.5), honaker=honaker, noise="seeded-discrete", seed=3, grid_bits=gb)
    noise: list = []
    _capture_noise(c, noise)
    X = np.random.default_rng(4).random((T, d))
    outs, i = [], 0
    for k in chunks:
        outs.append(c.release_many(X[i:i + k]))
        i += k
    got = np.concatenate(outs)
    Z = np.concatenate(noise).reshape(-1, d)
    if not honaker:  # one row per step, for the top (left-child) node; right children unused
        full = []
        for t in range(1, T + 1):
            hs = ref.tree_nodes_completed(t)
            full.extend([np.full(d, 10**9)] * (len(hs) - 1))  # never read: poison them
            full.append(Z[t - 1])
        Z = np.array(full)
    Xg = np.rint(X * 2.0**gb)
    want = ref.tree_reference(Xg, Z.astype(float), honaker, c.L) / 2.0**gb
    if honaker:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------- privacy loss
def _tree_nodes(xg: np.ndarray) -> np.ndarray:
    """Exact node sums in completion order (the order the Honaker tree draws node noise)."""
    out = []
    for t in range(1, len(xg) + 1):
        for h in ref.tree_nodes_completed(t):
            k = t // 2**h - 1
            out.append(xg[k * 2**h:(k + 1) * 2**h].sum())
    return np.array(out)


def _tree_left_nodes(xg: np.ndarray) -> np.ndarray:
    """Exact sums of the nodes the plain tree releases: the top node completed at each step."""
    out = []
    for t in range(1, len(xg) + 1):
        h = ref.tree_nodes_completed(t)[-1]
        out.append(xg[t - 2**h:t].sum())
    return np.array(out)


def _sqrt_encoder(xg: np.ndarray) -> np.ndarray:
    return np.rint(ref.sqrt_matrix(len(xg)) @ xg)


def _opt_encoder(xg: np.ndarray) -> np.ndarray:
    C, _, _ = mean_error_factorization(len(xg))
    return np.rint(C @ xg)


def _worst_neighbours(encode, T: int, gb: int, l2: bool):
    """Base stream of zeros; the neighbour replaces one event by the top of the bounds. The
    event maximising the L2 (or L1) change of the encoder's output is chosen by brute force."""
    q = 2**gb
    base = np.zeros(T)
    e0 = encode(base)
    best, best_d = -1.0, None
    for i in range(T):
        y = base.copy()
        y[i] = q
        dlt = encode(y) - e0
        v = float((dlt**2).sum()) if l2 else float(np.abs(dlt).sum())
        if v > best:
            best, best_d = v, dlt
    return best_d


def _privacy_losses(make, encode, runs: int, sabotage: float = 1.0):
    """Privacy loss L = log P(o | D) - log P(o | D') of the noisy encoder output o actually
    drawn on D (the all-zero stream) against the worst neighbour D', over ``runs`` runs."""
    c0 = make(0)
    T, gb = int(c0.T), c0.grid_bits
    kind = c0.guarantee.noise
    dlt = _worst_neighbours(encode, T, gb, l2=(kind == "discrete_gaussian"))
    Ls = []
    for r in range(runs):
        c = make(r)
        if sabotage != 1.0:  # a counter whose noise is smaller than its calibration claims
            from fractions import Fraction

            c._scale_q = c._scale_q * Fraction(sabotage).limit_denominator(64)
        noise: list = []
        _capture_noise(c, noise)
        c.release_many(np.zeros(T))
        Z = np.concatenate(noise).astype(float)
        if kind == "discrete_gaussian":  # the loss under the scale the noise was drawn at
            s2 = float(c._scale_q)
            Ls.append((((Z + dlt) ** 2) - Z**2).sum() / (2 * s2))
        else:
            b = float(c._scale_q)
            Ls.append((np.abs(Z + dlt) - np.abs(Z)).sum() / b)
    return np.array(Ls), c0


def _check_within_guarantee(Ls, c0) -> bool:
    spec = c0.privacy_loss(1)
    if spec[0] == "pure":  # the loss is bounded surely, not only on average
        return bool(np.abs(Ls).max() <= spec[1] * (1 + 1e-9))
    g = c0.guarantee  # the zCDP the discrete Gaussian is calibrated to (also for approx specs)
    rho = g.l2**2 / (2 * g.scale**2) + g.slack
    assert rho <= (spec[1] if spec[0] == "zcdp" else 1.0) * (1 + 1e-9)
    n = len(Ls)
    # E[L] = ||Delta||^2 / (2 sigma^2) <= rho, and Var(L) <= ||Delta||^2 / sigma^2 <= 2 rho
    mean_ok = Ls.mean() <= rho + 5 * math.sqrt(2 * rho / n)
    # privacy profile: the empirical delta(eps) = E[(1 - e^(eps - L))_+] is below the
    # guarantee's (tight zCDP conversion) up to 5 binomial-style standard errors
    prof_ok = True
    for eps in (0.5, 1.0, 2.0):
        v = np.maximum(0.0, 1.0 - np.exp(eps - Ls))
        prof_ok &= v.mean() <= zcdp_delta(rho, eps) + 5 * v.std() / math.sqrt(n) + 1e-12
    return bool(mean_ok and prof_ok)


CASES = {
    "tree-zcdp": (lambda s, **k: TreeCounter(T=16, privacy=("zcdp", 0.5), noise="seeded-discrete", seed=s,
                                            grid_bits=3), _tree_left_nodes),
    "tree-honaker-pure": (lambda s, **k: TreeCounter(T=16, privacy=("pure", 1.0), honaker=True,
                                                     noise="seeded-discrete", seed=s, grid_bits=0), _tree_nodes),
    "sqrt-zcdp": (lambda s, **k: SqrtFactorCounter(T=16, privacy=("zcdp", 0.5), noise="seeded-discrete", seed=s,
                                                  grid_bits=3), _sqrt_encoder),
    "sqrt-pure": (lambda s, **k: SqrtFactorCounter(T=16, privacy=("pure", 1.0), noise="seeded-discrete", seed=s,
                                                  grid_bits=2), _sqrt_encoder),
    "optimal-zcdp": (lambda s, **k: OptimalFactorCounter(T=12, privacy=("zcdp", 0.5), noise="seeded-discrete",
                                                        seed=s, grid_bits=3), _opt_encoder),
    "optimal-approx": (lambda s, **k: OptimalFactorCounter(T=12, privacy=("approx", 1.0, 1e-6),
                                                          noise="seeded-discrete", seed=s, grid_bits=3),
                       _opt_encoder),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_empirical_privacy_loss_within_guarantee(case):
    make, encode = CASES[case]
    Ls, c0 = _privacy_losses(make, encode, runs=1500)
    assert _check_within_guarantee(Ls, c0)


@pytest.mark.parametrize("case", ["tree-zcdp", "tree-honaker-pure", "sqrt-pure", "optimal-zcdp"])
def test_empirical_privacy_loss_rejects_undercalibrated_noise(case):
    """Sabotage: the same check fails when the drawn noise is smaller than calibrated (the
    Laplace scale halved, the Gaussian variance divided by 4)."""
    make, encode = CASES[case]
    c = make(0)
    factor = 0.5 if c.guarantee.noise == "discrete_laplace" else 0.25
    Ls, c0 = _privacy_losses(make, encode, runs=1500, sabotage=factor)
    assert not _check_within_guarantee(Ls, c0)


# ---------------------------------------------------------------------------- DP vote (selection)
def _vote(a, b, eps):
    keys = np.union1d(a, b)
    pa = np.array([np.mean(a == k) for k in keys])
    pb = np.array([np.mean(b == k) for k in keys])
    return max(np.maximum(0, pa - math.exp(eps) * pb).sum(), np.maximum(0, pb - math.exp(eps) * pa).sum())


def _outputs(make, X, n):
    return np.array([make(s).release_many(X) for s in range(n)])


@pytest.mark.parametrize("which", ["maxsum-svt", "sumselect-svt",
                                   pytest.param("maxsum-counters", marks=pytest.mark.slow),
                                   pytest.param("doubling", marks=pytest.mark.slow)])
def test_dp_vote_on_neighbouring_streams(which):
    """Histogram test on neighbouring streams (one event replaced): for a pure eps-DP mechanism
    sum_o max(0, p_D(o) - e^eps p_D'(o)) is 0 up to sampling error, bounded by
    4 (1 + e^eps) sqrt(K / n) over K bins. For the counter-based mechanisms the same test
    rejects the mechanism run at 30x the eps it is checked against (the sparse-vector routes
    at T = 6 rarely fire, so the vote has no power there: their round accounting is checked
    in test_privacy_maxsum.py)."""
    eps = 1.0
    n = 2000 if not which.endswith("svt") else 1000
    if which == "doubling":
        X0, X1 = np.zeros(6), np.r_[np.zeros(5), 1.0]
        mk = lambda e: (lambda s: DoublingCounter("tree", {"T": 2, "privacy": ("pure", e),  # noqa: E731
                                                           "noise": "seeded-discrete", "seed": s,
                                                           "grid_bits": 0}))
        stat = lambda y: np.clip(y[:, -1], -3, 4)  # noqa: E731
    else:
        X0 = np.zeros((6, 2))
        X1 = X0.copy()
        X1[5] = 1.0
        cls = MaxSum if which.startswith("maxsum") else SumSelect
        route = "svt" if which.endswith("svt") else "counters"
        mk = lambda e: (lambda s: cls(T=6, d=2, privacy=("pure", e), route=route,  # noqa: E731
                                      noise="seeded-discrete", seed=s, grid_bits=0))
        stat = lambda y: np.clip(y[:, -1], -3, 4)  # noqa: E731
    a, b = stat(_outputs(mk(eps), X0, n)), stat(_outputs(mk(eps), X1, n))
    K = len(np.union1d(a, b))
    assert _vote(a, b, eps) <= 4 * (1 + math.exp(eps)) * math.sqrt(K / n)
    if not which.endswith("svt"):
        a, b = stat(_outputs(mk(30 * eps), X0, n)), stat(_outputs(mk(30 * eps), X1, n))
        K = len(np.union1d(a, b))
        assert _vote(a, b, eps) > 4 * (1 + math.exp(eps)) * math.sqrt(K / n)
