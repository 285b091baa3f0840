"""Accountant: zCDP -> (eps, delta) conversion and composition cross-checked against OpenDP and
dp-accounting (optional test dependencies); the Budget refuses what would exceed it and
changes nothing when it does."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.privacy import Budget, BudgetExceeded, SqrtFactorCounter, TreeCounter, compose
from onlinekit.privacy.accounting import zcdp_delta, zcdp_epsilon, zcdp_to_approx

GRID = [(rho, delta) for rho in (1e-4, 0.01, 0.125, 1.0, 10.0) for delta in (1e-3, 1e-6, 1e-10)]


def _opendp():
    dp = pytest.importorskip("opendp.prelude")
    dp.enable_features("contrib")
    return dp


def _gauss(dp, rho):
    return dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float),
                              scale=math.sqrt(1 / (2 * rho)))


def _lap(dp, eps):
    return dp.m.make_laplace(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=1 / eps)


@pytest.mark.parametrize("rho,delta", GRID)
def test_zcdp_to_approx_matches_opendp(rho, delta):
    dp = _opendp()
    theirs = dp.c.make_zCDP_to_approxDP(_gauss(dp, rho)).map(1.0).epsilon(delta)
    ours = zcdp_epsilon(rho, delta)
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert ours >= theirs * (1 - 1e-12)  # never optimistic beyond float noise
    assert zcdp_delta(rho, ours) <= delta * (1 + 1e-9)
    # the check discriminates: Bun-Steinke's looser bound is far from OpenDP's figure
    assert zcdp_to_approx(rho, delta) > theirs * (1 + 1e-3)


@pytest.mark.parametrize("rho,delta", GRID)
def test_zcdp_to_approx_against_dp_accounting(rho, delta):
    """dp-accounting's RDP accountant on a dense grid of orders evaluates the same conversion
    formula at finitely many orders: its eps is an upper bound on ours and close to it."""
    pytest.importorskip("dp_accounting")
    import dp_accounting
    from dp_accounting import rdp

    orders = np.unique(np.concatenate([1 + np.geomspace(1e-4, 1e4, 20000)]))
    acc = rdp.RdpAccountant(orders=list(orders))
    acc.compose(dp_accounting.ZCDpEvent(rho))
    theirs = acc.get_epsilon(delta)
    ours = zcdp_epsilon(rho, delta)
    assert ours <= theirs * (1 + 1e-9)
    assert ours == pytest.approx(theirs, rel=1e-4)


def test_composition_matches_opendp():
    dp = _opendp()
    # zCDP: rhos add, pure eps enters as eps^2 / 2
    meas = [_gauss(dp, 0.125), _gauss(dp, 0.3), dp.c.make_pureDP_to_zCDP(_lap(dp, 0.25))]
    theirs = dp.c.make_composition(meas).map(1.0)
    assert compose([("zcdp", 0.125), ("zcdp", 0.3), ("pure", 0.25)]) == ("zcdp", pytest.approx(theirs, rel=1e-12))
    # pure: eps add
    theirs = dp.c.make_composition([_lap(dp, 0.25), _lap(dp, 0.5)]).map(1.0)
    assert compose([("pure", 0.25), ("pure", 0.5)]) == ("pure", pytest.approx(theirs, rel=1e-12))
    # (eps, delta) of a zCDP composition
    prof = dp.c.make_zCDP_to_approxDP(dp.c.make_composition([_gauss(dp, 0.125), _gauss(dp, 0.3)])).map(1.0)
    kind, eps, delta = compose([("zcdp", 0.125), ("zcdp", 0.3)], kind="approx", delta=1e-6)
    assert (kind, delta) == ("approx", 1e-6) and eps == pytest.approx(prof.epsilon(1e-6), rel=1e-9)


def test_composition_with_approx_terms_and_pure_routes():
    # approx terms add to eps and delta; the zCDP part is converted at the delta left over
    kind, eps, delta = compose([("zcdp", 0.125), ("approx", 0.5, 1e-7)], delta=1.1e-6)
    assert eps == pytest.approx(0.5 + zcdp_epsilon(0.125, 1e-6), rel=1e-12)
    # pure terms: the better of "add eps" and "convert everything to zCDP"
    few = compose([("pure", 0.1)], kind="approx", delta=1e-6)[1]
    assert few == pytest.approx(0.1)  # (0.1, 0)-DP beats any conversion
    many = compose([("pure", 0.01)] * 400, kind="approx", delta=1e-6)[1]
    assert many == pytest.approx(zcdp_epsilon(400 * 0.01**2 / 2, 1e-6), rel=1e-12) and many < 4.0
    with pytest.raises(InvalidEvent, match="delta"):
        compose([("approx", 1.0, 1e-6)])
    assert compose([TreeCounter(T=8, privacy=("zcdp", 0.2), noise="seeded"),
                    SqrtFactorCounter(T=8, privacy=("zcdp", 0.3), noise="seeded")]) == ("zcdp", pytest.approx(0.5))


def test_budget_refuses_and_changes_nothing():
    b = Budget(("zcdp", 1.0))
    c1 = TreeCounter(T=32, privacy=("zcdp", 0.4))  # secure path
    ys = b.release_many(c1, np.ones(10))
    assert ys.shape == (10,) and b.spent[1] == pytest.approx(0.4)
    b.release(c1, 1.0)  # further releases of an admitted counter are covered by its guarantee
    assert b.spent[1] == pytest.approx(0.4) and len(b.charges) == 1
    c2 = SqrtFactorCounter(T=32, privacy=("zcdp", 0.7))
    state = c2.state_dict()
    with pytest.raises(BudgetExceeded, match="would exceed") as info:
        b.release(c2, 1.0)
    assert isinstance(info.value, InvalidEvent) and info.value.field == "budget"
    assert c2.t_ == 0 and all(np.array_equal(np.asarray(state[k]), np.asarray(v))
                              for k, v in c2.state_dict().items() if k != "_rng")
    assert b.spent[1] == pytest.approx(0.4) and len(b.charges) == 1
    assert not b.can_afford(c2) and b.can_afford(("pure", 1.0))  # 0.5 zCDP
    b.charge(("pure", 1.0), "histogram")
    assert b.spent[1] == pytest.approx(0.9) and b.remaining[1] == pytest.approx(0.1)
    with pytest.raises(BudgetExceeded, match="cannot be held"):
        b.charge(("approx", 0.01, 1e-9))


def test_pure_and_approx_budgets():
    p = Budget(("pure", 1.0))
    p.charge(("pure", 0.6))
    with pytest.raises(BudgetExceeded):
        p.charge(("pure", 0.5))
    with pytest.raises(BudgetExceeded, match="cannot be held"):
        p.charge(("zcdp", 0.01))
    p.charge(("pure", 0.4))
    assert p.spent == ("pure", pytest.approx(1.0))
    a = Budget(("approx", 3.0, 1e-6))
    a.charge(("zcdp", 0.125))  # 2.419 at delta 1e-6
    assert a.spent[1] == pytest.approx(zcdp_epsilon(0.125, 1e-6))
    with pytest.raises(BudgetExceeded):
        a.charge(("approx", 0.7, 5e-7))  # eps 0.7 + conversion at delta 5e-7 (2.49) > 3
    a.charge(("approx", 0.3, 1e-8))
    assert a.spent[1] == pytest.approx(0.3 + zcdp_epsilon(0.125, 1e-6 - 1e-8), rel=1e-12)
    with pytest.raises(InvalidEvent, match="total"):
        Budget(("zcdp", -1.0))


def test_discrete_gaussian_approx_calibration_is_tight_and_checked_by_opendp():
    """An ("approx", eps, delta) spec on the exact discrete path is met through the tight
    zCDP conversion: the reported eps is the target (not Bun-Steinke's looser one), OpenDP's
    conversion of the calibrated rho agrees, and the noise is smaller than the loose route's."""
    dp = _opendp()
    from onlinekit.privacy.accounting import approx_to_zcdp, approx_to_zcdp_tight

    c = TreeCounter(T=64, privacy=("approx", 1.0, 1e-6), noise="seeded-discrete", seed=0)
    kind, eps, delta = c.privacy_loss(1)
    assert (kind, delta) == ("approx", 1e-6) and 0.999 < eps <= 1.0
    g = c.guarantee
    rho = g.l2**2 / (2 * g.scale**2) + g.slack
    theirs = dp.c.make_zCDP_to_approxDP(_gauss(dp, rho)).map(1.0).epsilon(1e-6)
    assert theirs <= 1.0 * (1 + 1e-9) and theirs == pytest.approx(eps, rel=1e-9)
    assert approx_to_zcdp_tight(1.0, 1e-6) > 1.3 * approx_to_zcdp(1.0, 1e-6)
    assert c.check(1, ("approx", 1.0, 1e-6)) and not c.check(1, ("approx", 0.99, 1e-6))
