"""Comparators in hindsight vs numpy.linalg.lstsq and CVXPY."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from onlinekit.solvers import least_squares, logistic, squared_loss_sufficient_stats



def _data(seed, n, d, rank=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if rank is not None:  # exactly rank-deficient: columns are combinations of `rank` columns
        X = X[:, :rank] @ rng.normal(size=(rank, d))
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    return X, y


def _cvx_ls(X, y, ridge, radius):
    w = cp.Variable(X.shape[1])
    con = [cp.sum_squares(w) <= radius**2]
    prob = cp.Problem(cp.Minimize(cp.sum_squares(X @ w - y) + ridge * cp.sum_squares(w)), con)
    prob.solve(solver="CLARABEL")
    assert prob.status == "optimal"
    return prob.value, w.value, float(np.ravel(con[0].dual_value)[0])


@pytest.mark.parametrize(
    "n, d, rank", [(40, 3, None), (30, 5, 2), (4, 8, None), (25, 4, 1), (10, 3, 3)]
)
def test_least_squares_matches_lstsq(n, d, rank):
    X, y = _data(n + d, n, d, rank)
    sol = least_squares(*squared_loss_sufficient_stats(X, y))
    w_ref, *_ = np.linalg.lstsq(X, y, rcond=None)
    value_ref = float(np.sum((X @ w_ref - y) ** 2))
    assert sol.status == "optimal" and sol.duals == {}
    np.testing.assert_allclose(sol.value, value_ref, rtol=1e-8, atol=1e-9 * float(y @ y))
    np.testing.assert_allclose(sol.primal, w_ref, atol=1e-6 * (1 + np.abs(w_ref).max()))
    # the value is the loss of the returned point
    np.testing.assert_allclose(np.sum((X @ sol.primal - y) ** 2), sol.value, rtol=1e-8, atol=1e-9)


def test_least_squares_ridge_closed_form():
    X, y = _data(3, 20, 4)
    sol = least_squares(*squared_loss_sufficient_stats(X, y), ridge=2.5)
    w = np.linalg.solve(X.T @ X + 2.5 * np.eye(4), X.T @ y)
    np.testing.assert_allclose(sol.primal, w, rtol=1e-10)
    np.testing.assert_allclose(sol.value, np.sum((X @ w - y) ** 2) + 2.5 * w @ w, rtol=1e-10)


@pytest.mark.parametrize(
    "n, d, rank, ridge, radius",
    [
        (40, 3, None, 0.0, 0.5),  # active ball
        (40, 3, None, 1.0, 0.3),  # active ball with ridge
        (40, 3, None, 0.0, 100.0),  # inactive ball: mu = 0
        (30, 5, 2, 0.0, 0.4),  # singular XtX, active ball
        (4, 8, None, 0.0, 0.2),  # d > n, active ball
    ],
)
def test_least_squares_ball_matches_cvxpy(n, d, rank, ridge, radius):
    X, y = _data(7 * n + d, n, d, rank)
    sol = least_squares(*squared_loss_sufficient_stats(X, y), ridge=ridge, radius=radius)
    value, w, mu = _cvx_ls(X, y, ridge, radius)
    assert sol.ok
    assert np.linalg.norm(sol.primal) <= radius * (1 + 1e-12)
    np.testing.assert_allclose(sol.value, value, rtol=1e-6)
    assert sol.value <= value + 1e-7 * (1 + value)  # never worse than the solver
    np.testing.assert_allclose(sol.primal, w, atol=1e-4)
    np.testing.assert_allclose(sol.duals["radius"], mu, rtol=1e-3, atol=1e-5)
    # KKT of the trust-region subproblem
    H = X.T @ X + (ridge + sol.duals["radius"]) * np.eye(d)
    np.testing.assert_allclose(H @ sol.primal, X.T @ y, atol=1e-8 * (1 + np.abs(X.T @ y).max()))


def test_least_squares_hard_case():
    # XtX singular and Xty orthogonal to its null space: the secular equation has no
    # root mu > 0 once the radius exceeds the minimum-norm solution's norm; every
    # w_mn + z with z in the null space and ||w|| <= radius is optimal.
    XtX = np.diag([4.0, 1.0, 0.0])
    Xty = np.array([4.0, 1.0, 0.0])
    yty = 3.0
    w_mn = np.array([1.0, 1.0, 0.0])
    for radius in (np.sqrt(2.0), 1.5, 10.0):
        sol = least_squares(XtX, Xty, yty, 3, radius=radius)
        np.testing.assert_allclose(sol.primal, w_mn, atol=1e-12)
        np.testing.assert_allclose(sol.value, 3.0 - 5.0, atol=1e-12)
        assert sol.duals["radius"] == 0.0
        w = cp.Variable(3)
        prob = cp.Problem(cp.Minimize(cp.quad_form(w, XtX) - 2 * Xty @ w + yty), [cp.norm(w) <= radius])
        prob.solve(solver="CLARABEL")
        np.testing.assert_allclose(sol.value, prob.value, atol=1e-6)
    # just inside the hard case: a radius below ||w_mn|| makes mu > 0 again
    sol = least_squares(XtX, Xty, yty, 3, radius=1.0)
    mu = sol.duals["radius"]
    assert mu > 0 and np.isclose(np.linalg.norm(sol.primal), 1.0)
    np.testing.assert_allclose((XtX + mu * np.eye(3)) @ sol.primal, Xty, atol=1e-12)
    # near-hard case: a tiny component along the null space
    Xty2 = np.array([4.0, 1.0, 1e-9])
    XtX2 = np.diag([4.0, 1.0, 1e-12])
    sol = least_squares(XtX2, Xty2, 10.0, 3, radius=2.0)
    w = cp.Variable(3)
    prob = cp.Problem(cp.Minimize(cp.quad_form(w, XtX2) - 2 * Xty2 @ w + 10.0), [cp.norm(w) <= 2.0])
    prob.solve(solver="CLARABEL")
    np.testing.assert_allclose(sol.value, prob.value, atol=1e-6)


def test_least_squares_edge_cases():
    sol = least_squares(np.zeros((2, 2)), np.zeros(2), 0.0, 0)
    assert sol.ok and sol.value == 0.0
    np.testing.assert_array_equal(sol.primal, np.zeros(2))
    # Xty outside the range of XtX: not valid statistics, unbounded without a ball
    bad = least_squares(np.diag([1.0, 0.0]), np.array([1.0, 1.0]), 1.0, 2)
    assert bad.status == "unbounded" and bad.value == -np.inf and not bad.ok
    # ... bounded with a ball: min over ||w|| <= 1 of w0^2 - 2 w0 - 2 w1 + 1
    sol = least_squares(np.diag([1.0, 0.0]), np.array([1.0, 1.0]), 1.0, 2, radius=1.0)
    w = cp.Variable(2)
    prob = cp.Problem(cp.Minimize(cp.square(w[0]) - 2 * cp.sum(w) + 1), [cp.norm(w) <= 1])
    prob.solve(solver="CLARABEL")
    np.testing.assert_allclose(sol.value, prob.value, atol=1e-6)


def test_least_squares_validation():
    XtX, Xty, yty, n = squared_loss_sufficient_stats(np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="XtX must have shape"):
        least_squares(np.eye(3), Xty, yty, n)
    with pytest.raises(ValueError, match="XtX must be symmetric"):
        least_squares(np.array([[1.0, 1.0], [0.0, 1.0]]), Xty, yty, n)
    with pytest.raises(ValueError, match="Xty must be a 1-d"):
        least_squares(XtX, np.ones((2, 1)), yty, n)
    with pytest.raises(ValueError, match="yty must be a finite"):
        least_squares(XtX, Xty, np.nan, n)
    with pytest.raises(ValueError, match="n must be a nonnegative integer"):
        least_squares(XtX, Xty, yty, -1)
    with pytest.raises(ValueError, match="ridge must be"):
        least_squares(XtX, Xty, yty, n, ridge=-1.0)
    with pytest.raises(ValueError, match="radius must be"):
        least_squares(XtX, Xty, yty, n, radius=0.0)
    with pytest.raises(ValueError, match="X must be a 2-d"):
        squared_loss_sufficient_stats(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="y must have shape"):
        squared_loss_sufficient_stats(np.ones((3, 1)), np.ones(2))


def test_sufficient_stats_add_up_over_blocks():
    X, y = _data(5, 30, 3)
    a = squared_loss_sufficient_stats(X[:10], y[:10])
    b = squared_loss_sufficient_stats(X[10:], y[10:])
    full = squared_loss_sufficient_stats(X, y)
    for u, v, w in zip(a, b, full):
        np.testing.assert_allclose(np.asarray(u) + np.asarray(v), w)


# ----------------------------------------------------------------------------- logistic


def _cvx_logistic(X, y, l2=0.0, radius=None, fit_intercept=False):
    w = cp.Variable(X.shape[1])
    b = cp.Variable() if fit_intercept else 0.0
    m = X @ w + b
    cons = [cp.norm(w) <= radius] if radius is not None else []
    prob = cp.Problem(cp.Minimize(cp.sum(cp.logistic(m)) - y @ m + l2 * cp.sum_squares(w)), cons)
    prob.solve(solver="CLARABEL")
    assert prob.status == "optimal"
    return prob.value, w.value


def _logistic_data(seed, n=40, d=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    p = 1.0 / (1.0 + np.exp(-(X @ rng.normal(size=d) + 0.5)))
    return X, (rng.random(n) < p).astype(int)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("l2, radius", [(0.0, None), (0.5, None), (0.0, 0.3), (0.2, 0.3), (0.0, 100.0)])
def test_logistic_matches_cvxpy(fit_intercept, l2, radius):
    X, y = _logistic_data(11 + int(10 * l2) + fit_intercept)
    sol = logistic(X, y, l2=l2, radius=radius, fit_intercept=fit_intercept)
    value, w = _cvx_logistic(X, y, l2, radius, fit_intercept)
    assert sol.status == "optimal"
    coef = sol.primal["coef"] if fit_intercept else sol.primal
    np.testing.assert_allclose(sol.value, value, rtol=1e-6)
    assert sol.value <= value + 1e-7 * value
    np.testing.assert_allclose(coef, w, atol=1e-4)
    if radius is not None:
        assert np.linalg.norm(coef) <= radius * (1 + 1e-12)
        assert sol.duals["radius"] >= 0.0


def test_logistic_separable_is_unbounded_with_infimum_zero():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 3))
    y = (X @ np.array([1.0, 2.0, -1.0]) > 0).astype(int)
    sol = logistic(X, y)
    assert sol.status == "unbounded" and sol.value == 0.0 and not sol.ok
    d = sol.primal
    assert np.isclose(np.linalg.norm(d), 1.0)
    assert np.all((2 * y - 1) * (X @ d) > 0)  # a separating direction
    # with a ball or a penalty the minimum exists again; check against CVXPY
    for kw in ({"radius": 2.0}, {"l2": 0.1}):
        sol = logistic(X, y, **kw)
        value, _ = _cvx_logistic(X, y, kw.get("l2", 0.0), kw.get("radius"))
        assert sol.status == "optimal"
        np.testing.assert_allclose(sol.value, value, rtol=1e-6)


def test_logistic_quasi_separable_infimum():
    # rows 0-3 are separated by the first feature; rows 4-6 overlap on the second
    X = np.array([[1.0, 0], [2, 0], [-1, 0], [-2, 0], [0, 1], [0, -1], [0, 2]])
    y = np.array([1, 1, 0, 0, 1, 0, 0])
    sol = logistic(X, y)
    value, _ = _cvx_logistic(X[4:, 1:], y[4:])
    assert sol.status == "unbounded"
    np.testing.assert_allclose(sol.value, value, rtol=1e-7)
    # the value is approached along the direction from the overlap minimiser
    w = np.array([0.0, _cvx_logistic(X[4:, 1:], y[4:])[1][0]])
    for t in (10.0, 40.0):
        m = X @ (w + t * sol.primal)
        assert np.sum(np.logaddexp(0, m) - y * m) >= sol.value - 1e-9
    np.testing.assert_allclose(np.sum(np.logaddexp(0, m) - y * m), sol.value, rtol=1e-6)


def test_logistic_single_class_with_intercept():
    X = np.ones((5, 2))
    for kw in ({}, {"l2": 1.0}, {"radius": 1.0}):
        sol = logistic(X, np.ones(5, dtype=int), fit_intercept=True, **kw)
        assert sol.status == "unbounded" and sol.value == 0.0
        assert sol.primal["intercept"] == 1.0


def test_logistic_validation():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="y must contain only labels 0 and 1"):
        logistic(X, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="y must have shape"):
        logistic(X, np.array([0, 1]))
    with pytest.raises(ValueError, match="X must be a 2-d"):
        logistic(np.ones(3), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="X must contain only finite"):
        logistic(np.full((3, 2), np.nan), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="l2 must be"):
        logistic(X, np.array([0, 1, 1]), l2=-1)
    with pytest.raises(ValueError, match="radius must be"):
        logistic(X, np.array([0, 1, 1]), radius=-1)
