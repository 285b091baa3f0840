"""Closed-form projections: kernels vs slow references, vs the CVXPY DPP oracle, KKT."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onlinekit._numba import njit
from onlinekit.solvers import (
    ProjectionProblem,
    box,
    l1_ball,
    l2_ball,
    project_box,
    project_capped_simplex_kl,
    project_l1_ball,
    project_l2_ball,
    project_simplex,
    project_simplex_kl,
    simplex,
)
from onlinekit.solvers import _kernels as K

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import projections_reference as ref  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
TIGHT = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11}

radii = st.sampled_from([1e-6, 1e-3, 0.5, 1.0, 3.0, 1e3, 1e6]) | st.floats(1e-3, 1e3)


@st.composite
def vectors(draw, min_size=1, max_size=8, lo=-1e3, hi=1e3):
    """Random vectors with frequent ties and a few special shapes."""
    n = draw(st.integers(min_size, max_size))
    kind = draw(st.sampled_from(["free", "ties", "small", "int"]))
    if kind == "ties":
        pool = draw(st.lists(st.floats(lo, hi), min_size=1, max_size=3))
        return np.array([draw(st.sampled_from(pool)) for _ in range(n)])
    if kind == "small":
        return np.array(draw(st.lists(st.floats(-1e-3, 1e-3), min_size=n, max_size=n)))
    if kind == "int":
        return np.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), float)
    return np.array(draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n)))


# --------------------------------------------------------------- the CVXPY oracle (DPP)

_PROBLEMS: dict = {}


def _oracle(kind, n):
    """One compiled DPP problem per (kind, n); set sizes are parameters too."""
    key = (kind, n)
    if key not in _PROBLEMS:
        if kind in ("simplex", "l1", "l2"):
            r = cp.Parameter(nonneg=True)
            builder = {"simplex": simplex, "l1": l1_ball, "l2": l2_ball}[kind](r)
            _PROBLEMS[key] = (ProjectionProblem(n, builder, **TIGHT), (r,))
        else:
            lo, hi = cp.Parameter(n), cp.Parameter(n)
            _PROBLEMS[key] = (ProjectionProblem(n, box(lo, hi), **TIGHT), (lo, hi))
    return _PROBLEMS[key]


def _solve_oracle(kind, v, *params):
    prob, ps = _oracle(kind, v.shape[0])
    for p, val in zip(ps, params):
        p.value = val
    sol = prob.solve(v)
    assert sol.ok, sol.status
    return sol


def _check_against_oracle(x, v, sol, scale):
    """Closed form no worse than the solver's point, and the two points agree."""
    d_cf = float(np.sum((x - v) ** 2))
    assert d_cf <= sol.value + 1e-7 * (1.0 + sol.value + scale**2)
    # strong convexity: ||x - x_cvx||^2 <= gap; IPM points on degenerate faces are ~sqrt(tol) off
    np.testing.assert_allclose(x, sol.primal, atol=1e-4 * (1.0 + scale), rtol=0)


def _scale(v, *r):
    return float(max(np.abs(v).max(), *r))


# ------------------------------------------------------------------------------ simplex


@SETTINGS
@given(vectors(), radii)
def test_simplex_matches_reference_and_oracle(v, z):
    x = project_simplex(v, z)
    np.testing.assert_allclose(x, ref.proj_simplex(v, z), atol=1e-9 * (1 + _scale(v, z)))
    assert np.all(x >= 0) and np.isclose(x.sum(), z, rtol=1e-12, atol=1e-12 * _scale(v, z))
    _check_against_oracle(x, v, _solve_oracle("simplex", v, z), _scale(v, z))


@SETTINGS
@given(vectors(), radii)
def test_simplex_kkt_and_idempotent(v, z):
    x = project_simplex(v, z)
    tol = 1e-9 * (1 + _scale(v, z))
    support = x > 0
    assert support.any()
    theta = np.mean(v[support] - x[support])
    np.testing.assert_allclose(v[support] - x[support], theta, atol=tol)  # x = v - theta on support
    assert np.all(v[~support] <= theta + tol)  # and v <= theta off it
    np.testing.assert_allclose(project_simplex(x, z), x, atol=tol)


def test_simplex_feasible_point_and_ties_exact():
    v = np.array([0.25, 0.25, 0.5])
    np.testing.assert_allclose(project_simplex(v), v, atol=1e-15)
    np.testing.assert_allclose(project_simplex(np.full(4, 7.0)), np.full(4, 0.25))
    np.testing.assert_allclose(project_simplex(np.array([5.0])), [1.0])
    np.testing.assert_allclose(project_simplex(np.array([1.0, 1.0, -5.0]), 3.0), [1.5, 1.5, 0.0])


# ------------------------------------------------------------------------------ L1 / L2


@SETTINGS
@given(vectors(), radii)
def test_l1_ball_matches_reference_and_oracle(v, r):
    x = project_l1_ball(v, r)
    tol = 1e-9 * (1 + _scale(v, r))
    np.testing.assert_allclose(x, ref.proj_l1_ball(v, r), atol=tol)
    assert np.abs(x).sum() <= r + 1e-12 * _scale(v, r)
    np.testing.assert_allclose(project_l1_ball(x, r), x, atol=tol)
    if np.abs(v).sum() <= r:
        np.testing.assert_array_equal(x, v)
    _check_against_oracle(x, v, _solve_oracle("l1", v, r), _scale(v, r))


@SETTINGS
@given(vectors(), radii)
def test_l2_ball_matches_reference_and_oracle(v, r):
    x = project_l2_ball(v, r)
    tol = 1e-9 * (1 + _scale(v, r))
    np.testing.assert_allclose(x, ref.proj_l2_ball(v, r), atol=tol)
    assert np.linalg.norm(x) <= r * (1 + 1e-12)
    np.testing.assert_allclose(project_l2_ball(x, r), x, atol=tol)
    # optimality: v - x is a nonnegative multiple of x (normal cone of the ball)
    assert float((v - x) @ x) >= -tol * (1 + _scale(v, r))
    _check_against_oracle(x, v, _solve_oracle("l2", v, r), _scale(v, r))


# ---------------------------------------------------------------------------------- box


@SETTINGS
@given(vectors(), st.data())
def test_box_matches_reference_and_oracle(v, data):
    n = v.shape[0]
    a = np.array(data.draw(st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n)))
    w = np.array(data.draw(st.lists(st.floats(0, 1e3), min_size=n, max_size=n)))
    lo, hi = a, a + w  # w = 0 gives degenerate (point) intervals
    x = project_box(v, lo, hi)
    np.testing.assert_array_equal(x, ref.proj_box(v, lo, hi))
    np.testing.assert_array_equal(project_box(x, lo, hi), x)
    _check_against_oracle(x, v, _solve_oracle("box", v, lo, hi), _scale(v, np.abs(a).max() + w.max()))


def test_box_scalar_and_infinite_bounds():
    v = np.array([-3.0, 0.2, 9.0])
    np.testing.assert_array_equal(project_box(v, 0.0, 1.0), [0.0, 0.2, 1.0])
    np.testing.assert_array_equal(project_box(v, -np.inf, 1.0), [-3.0, 0.2, 1.0])
    np.testing.assert_array_equal(project_box(v, 0.0, np.inf), [0.0, 0.2, 9.0])


# ---------------------------------------------------------------------------------- KL

def _kl_oracle(v, cap=None):
    """Fresh exponential-cone problem per call (no solver state carried between examples).

    The KL projection is invariant to rescaling ``v``, so the oracle sees ``v / sum(v)``.
    """
    n = v.shape[0]
    x = cp.Variable(n)
    cons = [cp.sum(x) == 1] + ([x <= cap] if cap is not None else [])
    prob = cp.Problem(cp.Minimize(cp.sum(cp.rel_entr(x, v / v.sum()))), cons)
    return prob, x


def _solve_kl(prob):
    """Solve an exponential-cone oracle; inaccurate solves are allowed a looser tolerance."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert prob.status in ("optimal", "optimal_inaccurate")
    return 5e-5 if prob.status == "optimal" else 5e-4


positive_vectors = st.lists(st.floats(1e-3, 1e2), min_size=1, max_size=7).map(np.array)


@SETTINGS
@given(positive_vectors)
def test_simplex_kl_matches_reference_and_oracle(v):
    x = project_simplex_kl(v)
    np.testing.assert_allclose(x, ref.proj_simplex_kl(v), rtol=1e-12)
    prob, xv = _kl_oracle(v)
    atol = _solve_kl(prob)
    np.testing.assert_allclose(x, xv.value, atol=atol)
    np.testing.assert_allclose(project_simplex_kl(x), x, rtol=1e-12)


@SETTINGS
@given(positive_vectors, st.floats(0.0, 1.0))
def test_capped_simplex_kl_matches_reference_and_oracle(v, u):
    n = v.shape[0]
    cap = 1.0 / n + u * (1.0 - 1.0 / n)
    x = project_capped_simplex_kl(v, cap)
    assert np.all(x <= cap * (1 + 1e-12)) and np.isclose(x.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(x, ref.proj_capped_simplex_kl(v, cap), atol=1e-9)
    # KKT: x = min(cap, s v) for one scale s
    free = x < cap * (1 - 1e-9)
    if free.any():
        s = x[free] / v[free]
        np.testing.assert_allclose(s, s[0], rtol=1e-9)
        assert np.all(v[~free] * s[0] >= cap * (1 - 1e-9))
    prob, xv = _kl_oracle(v, cap)
    atol = _solve_kl(prob)
    np.testing.assert_allclose(x, xv.value, atol=atol)
    np.testing.assert_allclose(project_capped_simplex_kl(x, cap), x, atol=1e-12)


def test_kl_zero_entries_stay_zero():
    v = np.array([0.0, 3.0, 1.0, 0.0])
    np.testing.assert_allclose(project_simplex_kl(v), [0, 0.75, 0.25, 0])
    np.testing.assert_allclose(project_capped_simplex_kl(v, 0.5), [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(project_capped_simplex_kl(v, 0.6), [0, 0.6, 0.4, 0])
    np.testing.assert_allclose(project_capped_simplex_kl(np.ones(4), 5.0), np.full(4, 0.25))
    np.testing.assert_allclose(
        project_capped_simplex_kl(v, 0.6), ref.proj_capped_simplex_kl(v, 0.6), atol=1e-12
    )


# ------------------------------------------------------------ kernels: in place, nested


@SETTINGS
@given(vectors(), radii)
def test_inplace_kernels_match_copying_kernels(v, r):
    for inplace, copying in [
        (K._proj_simplex_inplace, K._proj_simplex),
        (K._proj_l1_ball_inplace, K._proj_l1_ball),
        (K._proj_l2_ball_inplace, K._proj_l2_ball),
    ]:
        x = v.copy()
        inplace(x, r)
        np.testing.assert_array_equal(x, copying(v, r))
    x = v.copy()
    K._proj_box_scalar_inplace(x, -r, r)
    np.testing.assert_array_equal(x, ref.proj_box(v, -r, r))
    lo, hi = np.full_like(v, -r), np.full_like(v, r)
    x = v.copy()
    K._proj_box_inplace(x, lo, hi)
    np.testing.assert_array_equal(x, K._proj_box(v, lo, hi))
    w = np.abs(v) + 1e-3
    x = w.copy()
    K._proj_simplex_kl_inplace(x, r)
    np.testing.assert_allclose(x, ref.proj_simplex_kl(w, r), rtol=1e-12)
    x = w.copy()
    K._proj_capped_simplex_kl_inplace(x, 0.5 + 0.5 / w.shape[0])
    np.testing.assert_allclose(x, ref.proj_capped_simplex_kl(w, 0.5 + 0.5 / w.shape[0]), atol=1e-9)


@njit(cache=False)
def _projected_steps(x, grads, eta, r):
    """A learner-style hot loop calling the kernels from another kernel."""
    for t in range(grads.shape[0]):
        x -= eta * grads[t]
        K._proj_l2_ball_inplace(x, r)
    return K._proj_simplex(x, 1.0)


def test_kernels_callable_from_other_kernels():
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(20, 4))
    x = np.zeros(4)
    out = _projected_steps(x, grads, 0.3, 0.5)
    y = np.zeros(4)
    for g in grads:
        y = ref.proj_l2_ball(y - 0.3 * g, 0.5)
    np.testing.assert_allclose(x, y, atol=1e-12)
    np.testing.assert_allclose(out, ref.proj_simplex(y), atol=1e-12)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: project_simplex(np.ones((2, 2))), "v must be a 1-d"),
        (lambda: project_simplex([]), "v must not be empty"),
        (lambda: project_simplex([1.0, np.nan]), "v must contain only finite"),
        (lambda: project_simplex([1.0, np.inf]), "v must contain only finite"),
        (lambda: project_simplex([1.0], z=0.0), "z must be a positive"),
        (lambda: project_simplex([1.0], z="a"), "z must be a positive"),
        (lambda: project_l1_ball([1.0], r=-1.0), "r must be a positive"),
        (lambda: project_l2_ball([1.0], r=np.inf), "r must be a positive"),
        (lambda: project_box([1.0, 2.0], 1.0, 0.0), "lo must be <= hi"),
        (lambda: project_box([1.0, 2.0], [0.0, 0.0, 0.0], 1.0), "lo must be a scalar"),
        (lambda: project_box([1.0, 2.0], 0.0, np.nan), "hi must not contain NaN"),
        (lambda: project_simplex_kl([1.0, -1.0]), "v must be nonnegative"),
        (lambda: project_simplex_kl([0.0, 0.0]), "v must have a positive sum"),
        (lambda: project_capped_simplex_kl([1.0, 1.0, 0.0], 0.4), "cap=0.4 is infeasible"),
        (lambda: project_capped_simplex_kl([1.0], 0.0), "cap must be a positive"),
    ],
)
def test_validation_errors_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrappers_do_not_mutate_and_accept_lists_and_ints():
    v = np.array([3.0, -1.0, 0.5])
    keep = v.copy()
    for f in (project_simplex, project_l1_ball, project_l2_ball):
        out = f(v)
        assert out is not v
    project_box(v, 0.0, 1.0)
    np.testing.assert_array_equal(v, keep)
    np.testing.assert_allclose(project_simplex([1, 0]), [1.0, 0.0])
