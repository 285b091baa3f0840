"""OMD / optimistic OMD: kernel vs slow reference, block vs loop, CVXPY path vs closed forms."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.oco import (
    OMD,
    Box,
    ConvexSet,
    Euclidean,
    HingeLoss,
    L1Ball,
    L2Ball,
    LinearLoss,
    LogisticLoss,
    NegativeEntropy,
    OptimisticOMD,
    PNorm,
    Polytope,
    QuadraticLoss,
    Simplex,
    SquaredLoss,
    Unconstrained,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import oco_reference as ref  # noqa: E402

LOSSES = {"linear": LinearLoss, "quadratic": QuadraticLoss, "squared": SquaredLoss, "logistic": LogisticLoss,
          "hinge": HingeLoss}


def _data(loss, n, d, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, d))
    if loss == "logistic":
        b = (rng.random(n) < 0.5).astype(float)
    elif loss == "hinge":
        b = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    else:
        b = rng.normal(size=n)
    return A, b


def _loss_obj(loss, A, b):
    if loss in ("linear", "quadratic"):
        return LOSSES[loss](A)
    return LOSSES[loss](A, b)


CASES = [
    # (mirror name, mirror, domain name, domain, param, schedule, hint, loss)
    ("euclidean", Euclidean(), "l2", L2Ball(1.5), 1.5, "sqrt", "none", "linear"),
    ("euclidean", Euclidean(), "l2", L2Ball(1.0), 1.0, "variation", "last", "quadratic"),
    ("euclidean", Euclidean(), "l1", L1Ball(1.0), 1.0, "adagrad", "last", "squared"),
    ("euclidean", Euclidean(), "simplex", Simplex(2.0), 2.0, "constant", "extra-gradient", "logistic"),
    ("euclidean", Euclidean(), "box", Box(-0.3, 0.7), None, "strongly-convex", "last", "quadratic"),
    ("euclidean", Euclidean(), "free", Unconstrained(), None, "constant", "none", "hinge"),
    ("entropy", NegativeEntropy(), "simplex", Simplex(), 1.0, "variation", "last", "linear"),
    ("entropy", NegativeEntropy(), "simplex", Simplex(3.0), 3.0, "sqrt", "extra-gradient", "squared"),
    ("pnorm", PNorm(3.0), "free", Unconstrained(), None, "constant", "last", "squared"),
    ("pnorm", PNorm(1.5), "free", Unconstrained(), None, "adagrad", "none", "linear"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[2]}-{c[5]}-{c[6]}-{c[7]}" for c in CASES])
def test_kernel_matches_reference(case):
    mname, mirror, dname, domain, param, schedule, hint, loss = case
    n, d = 40, 4
    A, b = _data(loss, n, d, seed=hash(case[2] + case[5] + case[7]) % 1000)
    lr = 0.2
    learner = OptimisticOMD(n_dims=d, mirror=mirror, domain=domain, lr=lr, schedule=schedule,
                            hint=None if hint == "none" else hint, delta=0.5, strong_convexity=2.0)
    plays = []
    vals = []
    for i in range(n):
        plays.append(learner.play())
        vals.append(learner.loss_at_play(_loss_obj(loss, A[i], b[i])))
        learner.update(_loss_obj(loss, A[i], b[i]))
    lo, hi = (np.full(d, -0.3), np.full(d, 0.7)) if dname == "box" else (None, None)
    rv, _, rplays, rxhat, _ = ref.optimistic_omd(
        A, b, mirror=mname, domain=dname, param=param if param is not None else 1.0, p=getattr(mirror, "p", 2.0),
        lo=lo, hi=hi, schedule=schedule, lr=lr, delta=0.5, lam=2.0, hint=hint, loss=loss)
    np.testing.assert_allclose(np.array(plays), rplays, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(np.array(vals), rv, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(learner.mirror_point, rxhat, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("case", CASES[:8:2], ids=lambda c: f"{c[0]}-{c[2]}-{c[7]}")
def test_update_many_equals_loop_bitwise(case):
    _, mirror, _, domain, _, schedule, hint, loss = case
    A, b = _data(loss, 50, 3, seed=7)
    kw = dict(n_dims=3, mirror=mirror, domain=domain, lr=0.3, schedule=schedule,
              hint=None if hint == "none" else hint, strong_convexity=1.0)
    loop, blk = OptimisticOMD(**kw), OptimisticOMD(**kw)
    vals_loop = []
    for i in range(50):
        f = _loss_obj(loss, A[i], b[i])
        vals_loop.append(loop.loss_at_play(f))
        loop.update(f)
    vals_blk = np.concatenate([blk.update_many(_loss_obj(loss, A[:20], b[:20])),
                               blk.update_many(_loss_obj(loss, A[20:], b[20:]))])
    assert np.array_equal(np.array(vals_loop), vals_blk)
    assert np.array_equal(loop.iterates_, blk.iterates_) and np.array_equal(loop.stats_, blk.stats_)


@pytest.mark.parametrize("kw", [{}, {"domain": Unconstrained(), "lr": 0.1, "hint": None},
                                {"mirror": NegativeEntropy(), "domain": Simplex()}])
def test_raw_gradient_fast_path_equals_linear_loss(kw):
    rng = np.random.default_rng(3)
    G = rng.normal(size=(30, 5))
    a, b = OptimisticOMD(n_dims=5, **kw), OptimisticOMD(n_dims=5, **kw)
    for g in G:
        a.update(g)
        b.update(LinearLoss(g))
    assert np.array_equal(a.iterates_, b.iterates_)
    c = OptimisticOMD(n_dims=5, **kw)
    c.update_many(G)
    assert np.array_equal(a.iterates_, c.iterates_)


@pytest.mark.parametrize("kw", [
    {"schedule": "sqrt"},
    {"schedule": "variation", "domain": L1Ball(2.0)},
    {"mirror": NegativeEntropy(), "domain": Simplex(), "schedule": "adagrad"},
    {"mirror": PNorm(1.7), "domain": Unconstrained(), "lr": 0.1, "schedule": "constant"},
    {"domain": Box(-1.0, 0.5), "schedule": "strongly-convex", "strong_convexity": 0.5},
])
def test_optimistic_with_no_hint_is_omd_bitwise(kw):
    rng = np.random.default_rng(11)
    xi = rng.normal(size=(200, 4))
    a = OMD(n_dims=4, **kw)
    b = OptimisticOMD(n_dims=4, hint=None, **kw)
    va = a.update_many(QuadraticLoss(xi))
    vb = b.update_many(QuadraticLoss(xi))
    assert np.array_equal(va, vb)
    assert np.array_equal(a.iterates_, b.iterates_) and np.array_equal(a.stats_, b.stats_)


def test_given_and_callable_hints():
    rng = np.random.default_rng(5)
    G = rng.normal(size=(25, 3))
    H = rng.normal(size=(25, 3))
    a = OptimisticOMD(n_dims=3, hint="given", lr=0.4, schedule="constant")
    for g, h in zip(G, H, strict=True):
        a.update(g, hint=h)
    b = OptimisticOMD(n_dims=3, hint="given", lr=0.4, schedule="constant")
    b.update_many(G, hints=H)
    assert np.array_equal(a.iterates_, b.iterates_)
    # a callable hint(t) -> M_t sees t = 2, 3, ... (M_1 = 0)
    c = OptimisticOMD(n_dims=3, hint=lambda t: H[t - 2], lr=0.4, schedule="constant")
    c.update_many(G)
    assert np.array_equal(a.iterates_, c.iterates_)
    _, _, rplays, _, _ = ref.optimistic_omd(G, np.zeros(25), domain="l2", lr=0.4, hint="given", H=H)
    b2 = OptimisticOMD(n_dims=3, hint="given", lr=0.4, schedule="constant")
    plays = []
    for g, h in zip(G, H, strict=True):
        plays.append(b2.play())
        b2.update(g, hint=h)
    np.testing.assert_allclose(np.array(plays), rplays, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.play(), ref.mirror_step("euclidean", "l2", a.mirror_point, H[-1], 0.4), atol=1e-12)
    with pytest.raises(InvalidEvent):
        a.update(G[0])  # hint missing


def test_initial_point_is_argmin_of_psi():
    assert np.allclose(OMD(n_dims=4, mirror=NegativeEntropy(), domain=Simplex(2.0)).play(), 0.5)
    assert np.allclose(OMD(n_dims=3, domain=Simplex()).play(), 1 / 3)
    assert np.allclose(OMD(n_dims=2, domain=Box(0.5, 1.0)).play(), 0.5)
    assert np.allclose(OMD(n_dims=2).play(), 0.0)


# -- CVXPY general domains ------------------------------------------------------------------

def test_cvxpy_domain_matches_closed_form_and_compiles_once():
    from onlinekit.solvers import l2_ball, simplex

    rng = np.random.default_rng(2)
    xi = rng.normal(size=(15, 3))
    closed = OptimisticOMD(n_dims=3, domain=L2Ball(0.8))
    cvx = OptimisticOMD(n_dims=3, domain=ConvexSet(l2_ball(0.8), diameter=1.6))
    for i in range(15):
        closed.update(QuadraticLoss(xi[i]))
        cvx.update(QuadraticLoss(xi[i]))
        np.testing.assert_allclose(cvx.play(), closed.play(), atol=1e-6)
    assert cvx._cvx.n_compiles == 1 and cvx._cvx.n_solves == 1 + 2 * 15

    G = rng.random(size=(15, 4))
    hedge = OMD(n_dims=4, mirror=NegativeEntropy(), domain=Simplex(), lr=0.7, schedule="constant")
    hedge_cvx = OMD(n_dims=4, mirror=NegativeEntropy(), domain=ConvexSet(simplex()), lr=0.7, schedule="constant")
    hedge.update_many(G)
    hedge_cvx.update_many(G)
    np.testing.assert_allclose(hedge_cvx.play(), hedge.play(), atol=5e-5)  # exp-cone solver accuracy
    assert hedge_cvx._cvx.n_compiles == 1


def test_pnorm_cvxpy_matches_closed_form():
    rng = np.random.default_rng(4)
    G = rng.normal(size=(10, 3))
    closed = OMD(n_dims=3, mirror=PNorm(3.0), domain=Unconstrained(), lr=0.3, schedule="constant")
    cvx = OMD(n_dims=3, mirror=PNorm(3.0), domain=ConvexSet(lambda x: []), lr=0.3, schedule="constant")
    closed.update_many(G)
    cvx.update_many(G)
    np.testing.assert_allclose(cvx.play(), closed.play(), atol=1e-5)


def test_polytope_projection_is_feasible_and_optimal():
    import cvxpy as cp

    A = np.array([[1.0, 2.0], [-1.0, 0.0], [0.0, -1.0]])
    b = np.array([1.0, 0.0, 0.0])
    omd = OMD(n_dims=2, domain=Polytope(A, b), lr=1.0, schedule="constant")
    omd.update(np.array([-3.0, -1.0]))
    x = omd.play()
    assert np.all(A @ x <= b + 1e-7)
    # independent oracle: the same projection written directly in CVXPY
    z = cp.Variable(2)
    cp.Problem(cp.Minimize(cp.sum_squares(z - np.array([3.0, 1.0]))), [A @ z <= b]).solve()
    np.testing.assert_allclose(x, z.value, atol=1e-6)


# -- geometry ---------------------------------------------------------------------------------

def test_mirror_maps_bregman_and_duality():
    rng = np.random.default_rng(0)
    x, y = rng.random(5) + 0.1, rng.random(5) + 0.1
    xs, ys = x / x.sum(), y / y.sum()
    assert math.isclose(NegativeEntropy().bregman(xs, ys), float(np.sum(xs * np.log(xs / ys))), rel_tol=1e-12)
    assert math.isclose(Euclidean().bregman(x, y), 0.5 * float((x - y) @ (x - y)), rel_tol=1e-12)
    for p in (1.3, 2.0, 4.0):
        m = PNorm(p)
        u = rng.normal(size=5)
        np.testing.assert_allclose(m.grad_conj(m.grad(u)), u, rtol=1e-10)
        assert m.bregman(x, y) >= 0
    with pytest.raises(InvalidEvent, match="p"):
        PNorm(1.0)


def test_hedge_regret_within_textbook_bound():
    # EG with eta = sqrt(8 ln N / T) on losses in [0, 1]: regret <= sqrt(T ln N / 2)
    # (Cesa-Bianchi & Lugosi 2006, Thm. 2.2) -- a bound, checked exactly on one sequence.
    rng = np.random.default_rng(9)
    T, N = 2000, 10
    L = rng.random((T, N)) * np.linspace(0.6, 1.0, N)
    eta = math.sqrt(8 * math.log(N) / T)
    hedge = OMD(n_dims=N, mirror=NegativeEntropy(), domain=Simplex(), lr=eta, schedule="constant")
    vals = hedge.update_many(L)
    regret = vals.sum() - L.sum(axis=0).min()
    assert regret <= math.sqrt(T * math.log(N) / 2)


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("kw,field", [
    ({"n_dims": 0}, "n_dims"),
    ({"n_dims": 2, "lr": -1.0}, "lr"),
    ({"n_dims": 2, "lr": 0.0}, "lr"),
    ({"n_dims": 2, "domain": Unconstrained()}, "domain"),          # lr=None needs a bounded domain
    ({"n_dims": 2, "mirror": NegativeEntropy(), "domain": L2Ball()}, "domain"),
    ({"n_dims": 2, "schedule": "strongly-convex"}, "strong_convexity"),
    ({"n_dims": 2, "schedule": "nope"}, "schedule"),
    ({"n_dims": 2, "schedule": "constant"}, "lr"),
    ({"n_dims": 2, "domain": Box(np.zeros(3), np.ones(3))}, "domain.lo"),
    ({"n_dims": 2, "delta": 0.0}, "delta"),
])
def test_bad_params_name_the_field(kw, field):
    with pytest.raises(InvalidEvent) as info:
        OptimisticOMD(**kw)
    assert info.value.field == field


def test_bad_domains():
    with pytest.raises(InvalidEvent) as info:
        Box(1.0, 0.0)
    assert info.value.field == "hi"
    with pytest.raises(InvalidEvent):
        L2Ball(-1.0)
    empty = Polytope(np.array([[1.0], [-1.0]]), np.array([-1.0, -1.0]))   # x <= -1 and x >= 1
    with pytest.raises(InvalidEvent) as info:
        OMD(n_dims=1, domain=empty, lr=1.0)
    assert info.value.field == "domain"


def test_rejected_updates_leave_state_unchanged():
    omd = OptimisticOMD(n_dims=3)
    omd.update(np.array([1.0, 0.0, 0.0]))
    before = omd.state_dict()
    for bad in (np.array([np.nan, 0.0, 0.0]), np.ones(4), np.ones((1, 3)), "x"):
        with pytest.raises(InvalidEvent):
            omd.update(bad)
    with pytest.raises(InvalidEvent) as info:
        omd.update_many(np.array([[1.0, 0.0, 0.0], [0.0, np.inf, 0.0]]))
    assert info.value.offset == 1
    after = omd.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


# -- invariants (hypothesis) --------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

_grads = arrays(np.float64, (6, 3), elements=st.floats(-50, 50, allow_nan=False))
_DOMAINS = [(Euclidean(), Simplex(1.0)), (NegativeEntropy(), Simplex(2.0)), (Euclidean(), L1Ball(0.5)),
            (Euclidean(), L2Ball(0.7)), (Euclidean(), Box(-0.2, 0.4))]


@settings(max_examples=40, deadline=None)
@given(G=_grads, k=st.integers(0, len(_DOMAINS) - 1), lr=st.floats(0.01, 10.0),
       hint=st.sampled_from([None, "last"]))
def test_iterates_stay_in_the_domain(G, k, lr, hint):
    mirror, domain = _DOMAINS[k]
    learner = OptimisticOMD(n_dims=3, mirror=mirror, domain=domain, lr=lr, schedule="constant", hint=hint)
    for g in G:
        learner.update(g)
        assert domain.contains(learner.play(), tol=1e-9)
        assert domain.contains(learner.mirror_point, tol=1e-9)


def test_pnorm_step_on_l1_ball_matches_scipy():
    # one CVXPY Bregman step vs a direct numerical minimisation of the defining problem
    from scipy.optimize import minimize

    m = PNorm(1.5)
    omd = OMD(n_dims=3, mirror=m, domain=L1Ball(1.0), lr=1.0, schedule="constant")
    omd.update(np.array([-2.0, 0.5, 0.1]))
    src = np.zeros(3)   # x_1 = argmin psi over the ball = 0
    theta = m.grad(src) - np.array([-2.0, 0.5, 0.1])
    cons = [{"type": "ineq", "fun": lambda x: 1.0 - np.sum(np.sqrt(x * x + 1e-14))}]
    res = minimize(lambda x: m.value(x) - theta @ x, np.full(3, 0.1), constraints=cons, method="SLSQP",
                   options={"ftol": 1e-12, "maxiter": 500})
    np.testing.assert_allclose(omd.play(), res.x, atol=1e-4)
