"""Optimistic FTRL and the dynamic-regret ensemble: kernels vs references, behaviour."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.oco import DynamicOMD, OptimisticFTRL, QuadraticLoss

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import oco_reference as ref  # noqa: E402


def test_optimistic_ftrl_matches_reference():
    G = np.random.default_rng(0).normal(size=(60, 3))
    f = OptimisticFTRL(n_dims=3, radius=0.7, nu=2.5)
    plays = []
    for g in G:
        plays.append(f.play())
        f.update(g)
    np.testing.assert_allclose(np.array(plays), ref.optimistic_ftrl(G, 0.7, 2.5), rtol=1e-10, atol=1e-12)
    f2 = OptimisticFTRL(n_dims=3, radius=0.7, nu=2.5)
    f2.update_many(G)
    assert np.array_equal(f.iterates_, f2.iterates_)


@pytest.mark.parametrize("loss", ["linear", "quadratic"])
def test_dynamic_omd_matches_reference(loss):
    A = np.random.default_rng(1).normal(scale=0.6, size=(80, 2))
    dyn = DynamicOMD(n_dims=2, horizon=500, radius=1.0, grad_bound=2.0)
    plays = []
    for a in A:
        plays.append(dyn.play())
        dyn.update(QuadraticLoss(a) if loss == "quadratic" else a)
    want = ref.dynamic_omd(A, loss, dyn.etas_, 1.0, 1.0, 2.0)
    np.testing.assert_allclose(np.array(plays), want, rtol=1e-9, atol=1e-12)
    assert len(dyn.etas_) >= 2


def test_dynamic_omd_tracks_a_drifting_optimum_better_than_a_static_learner():
    # dynamic regret against u_t = mu_t (inside the ball): the ensemble must beat OGD with
    # eta_t ~ 1/sqrt(t), whose shrinking steps cannot follow the drift
    from onlinekit.oco import OMD, L2Ball
    from onlinekit.streams.sea import SEAStream

    T = 4000
    xi, mu, _ = SEAStream(n=T, d=3, regime="drift", noise=0.05, drift=0.005, mean_norm=0.6, seed=3).arrays()
    f_opt = 0.5 * np.sum((mu - xi) ** 2, axis=1)
    dyn = DynamicOMD(n_dims=3, horizon=T, radius=1.0, grad_bound=2.0)
    ogd = OMD(n_dims=3, domain=L2Ball(1.0), schedule="sqrt", lr=1.0)
    reg_dyn = np.sum(dyn.update_many(QuadraticLoss(xi)) - f_opt)
    reg_ogd = np.sum(ogd.update_many(QuadraticLoss(xi)) - f_opt)
    assert reg_dyn < 0.5 * reg_ogd


def test_bad_params():
    with pytest.raises(InvalidEvent) as info:
        DynamicOMD(n_dims=2, horizon=0)
    assert info.value.field == "horizon"
    with pytest.raises(InvalidEvent) as info:
        OptimisticFTRL(n_dims=2, radius=-1.0)
    assert info.value.field == "radius"


@pytest.mark.parametrize("radius", [None, 0.5])
def test_ons_matches_reference(radius):
    from onlinekit.oco import ONS, L2Ball, SquaredLoss, Unconstrained

    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -0.5, 0.3]) + 0.1 * rng.normal(size=40)
    dom = Unconstrained() if radius is None else L2Ball(radius)
    ons = ONS(n_dims=3, domain=dom, gamma=0.3, epsilon=2.0)
    plays = []
    for i in range(40):
        plays.append(ons.play())
        ons.update(SquaredLoss(X[i], y[i]))
    want = ref.ons(X, y, "squared", 0.3, 2.0, radius)
    np.testing.assert_allclose(np.array(plays), want, rtol=1e-8, atol=1e-10)


def test_ons_ball_fast_path_equals_cvxpy_path():
    from onlinekit.oco import ONS, ConvexSet, L2Ball, SquaredLoss
    from onlinekit.solvers import l2_ball

    rng = np.random.default_rng(7)
    X = rng.normal(size=(25, 2))
    y = X @ np.array([2.0, 1.0])
    a = ONS(n_dims=2, domain=L2Ball(1.0), exp_concavity=0.5, grad_bound=4.0)
    b = ONS(n_dims=2, domain=ConvexSet(l2_ball(1.0), diameter=2.0), exp_concavity=0.5, grad_bound=4.0)
    a.update_many(SquaredLoss(X, y))
    b.update_many(SquaredLoss(X, y))
    np.testing.assert_allclose(a.play(), b.play(), atol=1e-5)
    assert b._prob.n_compiles == 1


def test_ons_needs_a_bounded_domain_for_default_constants():
    from onlinekit.oco import ONS, Unconstrained

    with pytest.raises(InvalidEvent) as info:
        ONS(n_dims=2, domain=Unconstrained())
    assert info.value.field == "domain"
