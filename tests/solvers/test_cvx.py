"""ProjectionProblem: DPP build-once / re-solve, statuses, Mahalanobis metric, validation."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from onlinekit.solvers import (
    ProjectionProblem,
    Solution,
    box,
    l2_ball,
    polytope,
    project_box,
    project_simplex,
    simplex,
)

TIGHT = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11}


def test_dpp_problem_is_compiled_once_and_reused():
    rng = np.random.default_rng(0)
    prob = ProjectionProblem(6, simplex(), **TIGHT)
    assert prob.problem.is_dpp()
    first = prob.solve(rng.normal(size=6))
    cache_key = prob.problem._cache.param_prog
    for _ in range(5):
        v = rng.normal(size=6)
        sol = prob.solve(v)
        assert sol.ok and sol.solver == "cvxpy:CLARABEL" and sol.iterations > 0
        np.testing.assert_allclose(sol.primal, project_simplex(v), atol=1e-5)
    assert first.ok
    assert prob.problem._cache.param_prog is cache_key  # second solve reused the cache
    assert (prob.n_builds, prob.n_compiles, prob.n_solves) == (1, 1, 6)


def test_duals_are_reported_per_constraint():
    prob = ProjectionProblem(3, simplex(), **TIGHT)
    v = np.array([0.2, 1.4, -1.0])
    sol = prob.solve(v)
    assert set(sol.duals) == {"c0", "c1"}
    # stationarity: 2 (x - v) - lambda_nonneg + nu = 0 with lambda = duals of x >= 0
    nu = float(sol.duals["c1"])
    lam = np.asarray(sol.duals["c0"])
    np.testing.assert_allclose(2 * (sol.primal - v) - lam + nu, 0.0, atol=1e-6)
    assert np.all(lam >= -1e-8)


def test_infeasible_is_a_status_not_an_exception():
    prob = ProjectionProblem(2, polytope(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-1.0, -1.0])))
    sol = prob.solve(np.zeros(2))
    assert isinstance(sol, Solution)
    assert sol.status == "infeasible" and not sol.ok and sol.value == np.inf
    assert np.all(np.isnan(sol.primal)) and sol.duals == {}


def test_polytope_with_parameters_resolves_without_rebuild():
    A, b = cp.Parameter((1, 2)), cp.Parameter(1)
    prob = ProjectionProblem(2, polytope(A, b))
    A.value, b.value = np.array([[1.0, 1.0]]), np.array([1.0])
    np.testing.assert_allclose(prob.solve([1.0, 1.0]).primal, [0.5, 0.5], atol=1e-6)
    A.value, b.value = np.array([[1.0, 0.0]]), np.array([0.0])
    np.testing.assert_allclose(prob.solve([1.0, 1.0]).primal, [0.0, 1.0], atol=1e-6)
    assert prob.n_compiles == 1


def test_mahalanobis_matches_closed_forms():
    rng = np.random.default_rng(1)
    n = 4
    prob = ProjectionProblem(n, box(-0.5, 0.5), norm="mahalanobis", **TIGHT)
    for _ in range(5):
        v = 2 * rng.normal(size=n)
        # a diagonal metric leaves the box projection coordinatewise: clipping
        A = np.diag(rng.uniform(0.1, 10.0, size=n))
        sol = prob.solve(v, A)
        np.testing.assert_allclose(sol.primal, project_box(v, -0.5, 0.5), atol=1e-5)
        x = sol.primal
        np.testing.assert_allclose(sol.value, (x - v) @ A @ (x - v), rtol=1e-6, atol=1e-9)
    # a full metric on an affine set: x = v - A^{-1} 1 (1^T A^{-1} 1)^{-1} (1^T v - 1)
    B = rng.normal(size=(n, n))
    A = B @ B.T + 0.5 * np.eye(n)
    aff = ProjectionProblem(n, polytope(np.vstack([np.ones(n), -np.ones(n)]), np.array([1.0, -1.0])),
                            norm="mahalanobis", **TIGHT)
    v = rng.normal(size=n)
    Ainv1 = np.linalg.solve(A, np.ones(n))
    expected = v - Ainv1 * (v.sum() - 1.0) / Ainv1.sum()
    np.testing.assert_allclose(aff.solve(v, A).primal, expected, atol=1e-6)
    # a PSD (singular) metric is accepted
    P = np.diag([1.0, 1.0, 0.0, 2.0])
    assert aff.solve(v, P).ok
    assert aff.n_compiles == 1 and prob.n_compiles == 1


def test_validation():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        ProjectionProblem(0, simplex())
    with pytest.raises(ValueError, match="norm must be"):
        ProjectionProblem(2, simplex(), norm="l1")
    with pytest.raises(ValueError, match="constraint_builder must be callable"):
        ProjectionProblem(2, None)
    with pytest.raises(ValueError, match="not DPP"):
        p = cp.Parameter()
        ProjectionProblem(2, lambda x: [p * p * cp.sum(x) <= 1])
    prob = ProjectionProblem(2, simplex())
    with pytest.raises(ValueError, match="v must be a finite array of shape"):
        prob.solve([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="v must be a finite array"):
        prob.solve([1.0, np.nan])
    with pytest.raises(ValueError, match="A is only used"):
        prob.solve([1.0, 2.0], np.eye(2))
    mprob = ProjectionProblem(2, simplex(), norm="mahalanobis")
    with pytest.raises(ValueError, match="A is required"):
        mprob.solve([1.0, 2.0])
    with pytest.raises(ValueError, match="A must be symmetric"):
        mprob.solve([1.0, 2.0], np.array([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive semidefinite"):
        mprob.solve([1.0, 2.0], -np.eye(2))
    with pytest.raises(ValueError, match="A must be a finite array of shape"):
        mprob.solve([1.0, 2.0], np.eye(3))


def test_solution_record():
    s = Solution(1, np.zeros(1), {}, "optimal_inaccurate", "x", None)
    assert s.ok and isinstance(s.value, float)
    with pytest.raises(ValueError, match="status must be one of"):
        Solution(0.0, np.zeros(1), {}, "done", "x", None)
    with pytest.raises(AttributeError):
        s.value = 2.0
