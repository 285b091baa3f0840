"""The ``oco`` protocol: replaying gradient logs through the OCO learners.

Oracles: a per-event loop (``play`` / ``update``) computing the same sums by brute force, an
independent numpy optimistic OMD for the hint semantics, and CVXPY for the comparator's
closed forms. Sabotaged variants (sign-flipped comparator, hints off by one round) must fail
the same checks.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.oco import (
    OMD,
    ONS,
    Box,
    DynamicOMD,
    L1Ball,
    L2Ball,
    NegativeEntropy,
    OptimisticFTRL,
    OptimisticOMD,
    Polytope,
    Simplex,
    Unconstrained,
)
from onlinekit.oco import comparator as cmp
from onlinekit.protocols import get_protocol, replay_log
from onlinekit.protocols.oco import OCO, domain_of
from onlinekit.streams import ArraySource

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from nolen_source import NoLenSource  # noqa: E402

D = 3


def _log(n=400, d=D, seed=0, hints=False):
    rng = np.random.default_rng(seed)
    G = rng.normal(loc=np.linspace(0.6, -0.4, d), size=(n, d))
    cols = {f"g{j}": G[:, j] for j in range(d)}
    H = None
    if hints:
        H = G + 0.3 * rng.normal(size=(n, d))
        cols.update({f"h{j}": H[:, j] for j in range(d)})
    return G, H, cols


def _cols(d=D, hints=False):
    out = {"gradient": tuple(f"g{j}" for j in range(d))}
    if hints:
        out["hint"] = tuple(f"h{j}" for j in range(d))
    return out


LEARNERS = {
    "omd": lambda: OMD(n_dims=D),
    "omd-simplex": lambda: OMD(n_dims=D, mirror=NegativeEntropy(), domain=Simplex(), schedule="adagrad"),
    "omd-box": lambda: OMD(n_dims=D, domain=Box(-0.5, 0.5), lr=0.2, schedule="sqrt"),
    "omd-l1": lambda: OMD(n_dims=D, domain=L1Ball(2.0)),
    "optimistic-omd": lambda: OptimisticOMD(n_dims=D),
    "optimistic-ftrl": lambda: OptimisticFTRL(n_dims=D, radius=1.5),
    "ons": lambda: ONS(n_dims=D),
    "dynamic-omd": lambda: DynamicOMD(n_dims=D, horizon=400, radius=1.0, grad_bound=3.0),
}


def _brute(learner, G, H=None):
    """Per-event loop: play, pay <g, x> (numpy), update; the comparator by brute force."""
    loss = 0.0
    for t in range(len(G)):
        if H is not None:
            learner.set_hint(H[t])
        x = learner.play()
        loss += float(G[t] @ x)
        if H is not None:
            learner.update(G[t], hint=H[t])
        else:
            learner.update(G[t])
    return loss


def _closed_form(domain, S):
    """min over the domain of <S, x>, written out independently of onlinekit.oco.comparator."""
    if isinstance(domain, L2Ball):
        return -domain.radius * math.sqrt(sum(s * s for s in S))
    if isinstance(domain, Simplex):
        return domain.z * min(S)
    if isinstance(domain, L1Ball):
        return -domain.radius * max(abs(s) for s in S)
    if isinstance(domain, Box):
        return sum(min(domain.lo * s, domain.hi * s) for s in S)
    raise AssertionError(domain)


def _agrees(summary, loss, comp):
    return (math.isclose(summary["loss"], loss, rel_tol=1e-10, abs_tol=1e-9)
            and math.isclose(summary["comparator_loss"], comp, rel_tol=1e-10, abs_tol=1e-9)
            and math.isclose(summary["regret"], loss - comp, rel_tol=1e-10, abs_tol=1e-9))


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_regret_matches_brute_force_loop(name):
    G, _, cols = _log()
    rep = replay_log(LEARNERS[name](), ArraySource(columns=cols), _cols(), record_every=50, chunk_size=97)
    ref = LEARNERS[name]()
    loss = _brute(ref, G)
    comp = _closed_form(domain_of(ref), G.sum(axis=0))
    assert _agrees(rep.summary, loss, comp), (rep.summary, loss, comp)
    assert rep.n_events == len(G)
    assert rep.series["events"][-1] == len(G) and len(rep.series["regret"]) == len(rep.series["events"])


def test_sabotaged_comparator_fails_the_oracle(monkeypatch):
    G, _, cols = _log()
    ref = OMD(n_dims=D)
    loss = _brute(ref, G)
    comp = _closed_form(L2Ball(1.0), G.sum(axis=0))
    real = cmp.LinearComparator.value
    monkeypatch.setattr(cmp.LinearComparator, "value", lambda self, S: -real(self, S))  # sign flipped
    rep = replay_log(OMD(n_dims=D), ArraySource(columns=cols), _cols())
    assert not _agrees(rep.summary, loss, comp)


@pytest.mark.parametrize("name", ["omd", "omd-simplex", "optimistic-omd", "optimistic-ftrl", "ons", "dynamic-omd"])
def test_block_path_is_bit_identical_to_per_event_loop(name):
    G, _, cols = _log(n=150)
    blocked = LEARNERS[name]()
    replay_log(blocked, ArraySource(columns=cols), _cols(), chunk_size=64, record_every=10)
    looped = LEARNERS[name]()
    for g in G:
        looped.play()
        looped.update(g)
    a, b = blocked.state_dict(), looped.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(np.asarray(a[k]), np.asarray(b[k])), k


def test_figures_do_not_depend_on_chunking():
    G, H, cols = _log(n=300, hints=True)
    reps = [replay_log(OptimisticOMD(n_dims=D, hint="given"), ArraySource(columns=cols), _cols(hints=True),
                       chunk_size=c, record_every=r) for c, r in ((1, 1), (7, 13), (8192, 1000))]
    for r in reps[1:]:
        assert r.summary["loss"] == reps[0].summary["loss"]
        assert r.summary["regret"] == reps[0].summary["regret"]


def _numpy_optimistic(G, H, lr, R=1.0):
    """Optimistic OMD on the L2 ball with given hints, constant step: x_t = P(xh - lr M_t),
    xh <- P(xh - lr g_t) (Rakhlin-Sridharan); returns sum_t <g_t, x_t>."""
    def proj(v):
        n = np.linalg.norm(v)
        return v if n <= R else v * (R / n)

    xh = np.zeros(G.shape[1])
    loss = 0.0
    for g, m in zip(G, H, strict=True):
        x = proj(xh - lr * m)
        loss += float(g @ x)
        xh = proj(xh - lr * g)
    return loss


def _hinted(**kw):
    return OptimisticOMD(n_dims=D, hint="given", schedule="constant", lr=0.05, **kw)


def test_hint_of_row_t_is_played_at_round_t():
    G, H, cols = _log(n=500, hints=True)
    rep = replay_log(_hinted(), ArraySource(columns=cols), _cols(hints=True), chunk_size=33)
    assert math.isclose(rep.summary["loss"], _numpy_optimistic(G, H, 0.05), rel_tol=1e-10)
    # an exact hint beats a useless one: the hint column is really used
    exact = dict(cols, **{f"h{j}": G[:, j] for j in range(D)})
    zero = dict(cols, **{f"h{j}": np.zeros(len(G)) for j in range(D)})
    r_exact = replay_log(_hinted(), ArraySource(columns=exact), _cols(hints=True)).summary["regret"]
    r_zero = replay_log(_hinted(), ArraySource(columns=zero), _cols(hints=True)).summary["regret"]
    assert r_exact < r_zero


def test_hints_off_by_one_round_fail_the_oracle():
    G, H, cols = _log(n=500, hints=True)
    # sabotage: the learner's own convention (update(g_t, hint=M_t)) without set_hint plays
    # M_t one round late
    late = _hinted()
    loss = 0.0
    for g, m in zip(G, H, strict=True):
        loss += float(g @ late.play())
        late.update(g, hint=m)
    assert not math.isclose(loss, _numpy_optimistic(G, H, 0.05), rel_tol=1e-6)


def test_hinted_block_is_bit_identical_to_per_event_loop():
    G, H, cols = _log(n=200, hints=True)
    blocked = _hinted()
    replay_log(blocked, ArraySource(columns=cols), _cols(hints=True), chunk_size=37, record_every=11)
    looped = _hinted()
    _brute(looped, G, H)
    assert np.array_equal(blocked.iterates_, looped.iterates_)
    assert np.array_equal(blocked.stats_, looped.stats_)


@pytest.mark.parametrize("domain", [L2Ball(1.7), Simplex(2.0), L1Ball(0.5), Box(-0.3, 0.8)])
def test_comparator_closed_forms_agree_with_cvxpy(domain):
    pytest.importorskip("cvxpy")
    rng = np.random.default_rng(1)
    for _ in range(3):
        S = rng.normal(size=4) * 10
        closed = cmp.LinearComparator(domain, 4).value(S)
        assert cmp.LinearComparator(domain, 4).closed_form
        assert math.isclose(closed, cmp.linear_min_cvxpy(domain, S), rel_tol=1e-6, abs_tol=1e-6)
        assert math.isclose(closed, _closed_form(domain, S), rel_tol=1e-12, abs_tol=1e-12)


def test_comparator_cvxpy_domains_and_unbounded():
    pytest.importorskip("cvxpy")
    # the box [-1, 2]^2 written as a polytope: CVXPY path, checked against the box's corners
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    poly = Polytope(A, np.array([2.0, 1.0, 2.0, 1.0]))
    c = cmp.LinearComparator(poly, 2)
    assert not c.closed_form
    corners = [np.array([a, b]) for a in (-1.0, 2.0) for b in (-1.0, 2.0)]
    for S in (np.array([1.0, -3.0]), np.array([-2.0, 0.5])):
        assert math.isclose(c.value(S), min(float(S @ v) for v in corners), rel_tol=1e-6)
    assert cmp.LinearComparator(Unconstrained(), 2).value(np.array([0.0, 1.0])) == -math.inf
    assert cmp.LinearComparator(Unconstrained(), 2).value(np.zeros(2)) == 0.0


def test_polytope_learner_replays_with_cvxpy_comparator():
    pytest.importorskip("cvxpy")
    A = np.array([[1.0, 1.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])
    dom = Polytope(A, np.array([1.0, 0.0, 0.0, 0.0]))  # {x >= 0, sum x <= 1}
    G, _, cols = _log(n=40)
    rep = replay_log(OMD(n_dims=D, domain=dom, lr=0.3, schedule="sqrt"), ArraySource(columns=cols), _cols())
    S = G.sum(axis=0)
    vertices = [np.zeros(D)] + [np.eye(D)[j] for j in range(D)]
    assert math.isclose(rep.summary["comparator_loss"], min(float(S @ v) for v in vertices), rel_tol=1e-6)


def test_infer_params_dimension_horizon_and_hint():
    G, H, cols = _log(n=123, hints=True)
    src = ArraySource(columns=cols)
    p = OCO.resolve_columns({"gradient": "g0,g1,g2", "hint": "h0,h1,h2"}, src.column_names())
    assert p == _cols(hints=True)
    assert OCO.infer_params(OMD, p, src) == {"n_dims": 3}
    assert OCO.infer_params(OptimisticOMD, p, src) == {"n_dims": 3, "hint": "given"}
    assert OCO.infer_params(DynamicOMD, _cols(), NoLenSource(src)) == {"n_dims": 3, "horizon": 123}
    params = OCO.infer_params(DynamicOMD, _cols(), src)
    rep = replay_log(DynamicOMD(**params), src, _cols())
    assert rep.n_events == 123


def test_bad_input_errors():
    G, H, cols = _log(n=50, hints=True)
    src = ArraySource(columns=cols)
    with pytest.raises(ValueError, match="--gradient"):
        OCO.resolve_columns({}, src.column_names())
    with pytest.raises(ValueError, match="--hint names 2 columns"):
        OCO.resolve_columns({"gradient": "g0,g1,g2", "hint": "h0,h1"}, src.column_names())
    with pytest.raises(ValueError, match="--hint needs"):
        replay_log(OMD(n_dims=D), src, _cols(hints=True))
    with pytest.raises(ValueError, match="name the hint columns"):
        replay_log(_hinted(), src, _cols())
    with pytest.raises(ValueError, match="n_dims=2"):
        replay_log(OMD(n_dims=2), src, _cols())
    bad = dict(cols, g1=np.where(np.arange(50) == 17, np.nan, cols["g1"]))
    learner = OMD(n_dims=D)
    with pytest.raises(InvalidEvent, match="row 17") as e:
        replay_log(learner, ArraySource(columns=bad), _cols(), chunk_size=10)
    assert e.value.field == "g1"
    assert learner.n_rounds == 10  # the chunks before the bad one were applied, nothing after


def test_resume_equals_uninterrupted(tmp_path):
    G, _, cols = _log(n=300)
    full = replay_log(OptimisticOMD(n_dims=D), ArraySource(columns=cols), _cols(), chunk_size=50)
    ck = tmp_path / "ck.bin"
    first = OptimisticOMD(n_dims=D)
    replay_log(first, ArraySource(columns=cols), _cols(), chunk_size=50, checkpoint=ck,
               checkpoint_every=50, max_events=150)
    again = OptimisticOMD(n_dims=D)
    rep = replay_log(again, ArraySource(columns=cols), _cols(), chunk_size=50, checkpoint=ck, resume=True)
    assert rep.resumed_from == 150 and rep.n_events == 300
    assert rep.summary["loss"] == full.summary["loss"] and rep.summary["regret"] == full.summary["regret"]


def test_protocol_is_declared_by_every_oco_learner():
    from onlinekit.protocols import protocol_of

    for cls in (OMD, OptimisticOMD, OptimisticFTRL, ONS, DynamicOMD):
        assert protocol_of(cls) is get_protocol("oco")
