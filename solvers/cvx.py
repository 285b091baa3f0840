"""Projections as DPP CVXPY problems, built once and re-solved (DESIGN.md section 5).

:class:`ProjectionProblem` is the generic path for convex sets without a closed form and
the oracle the closed forms in :mod:`onlinekit.solvers.projections` are tested against.
cvxpy is imported on first use, so importing this module stays cheap.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from onlinekit.solvers.result import Solution

__all__ = ["ProjectionProblem", "box", "l1_ball", "l2_ball", "polytope", "simplex"]

_STATUS = {
    "optimal": "optimal",
    "optimal_inaccurate": "optimal_inaccurate",
    "infeasible": "infeasible",
    "infeasible_inaccurate": "infeasible",
    "unbounded": "unbounded",
    "unbounded_inaccurate": "unbounded",
}


def _cvxpy():
    import cvxpy

    return cvxpy


def _status(cvx_status: str | None) -> str:
    return _STATUS.get(cvx_status or "", "error")


class ProjectionProblem:
    """Projection onto a convex set, compiled once as a DPP CVXPY problem.

    Solves ``min_x ||x - v||_2^2`` (``norm="euclidean"``) or
    ``min_x (x - v)^T A (x - v)`` (``norm="mahalanobis"``, ``A`` symmetric PSD) subject to
    ``constraint_builder(x)``. The point ``v`` (and, for the Mahalanobis norm, a square
    root ``L`` of ``A`` together with ``L v``) are :class:`cvxpy.Parameter` objects, so
    the problem is built once and every :meth:`solve` reuses CVXPY's compiled
    parameter-to-data map (the objective is written as ``sum_squares(L @ x - c)`` with
    ``c = L v``, because ``L @ (x - v)`` would multiply two parameters and not be DPP).

    Parameters
    ----------
    n : int
        Dimension of ``x`` (``n >= 1``).
    constraint_builder : callable
        ``constraint_builder(x) -> list`` of cvxpy constraints over the
        ``cvxpy.Variable`` ``x``. Ready-made builders: :func:`simplex`,
        :func:`l1_ball`, :func:`l2_ball`, :func:`box`, :func:`polytope`. Constraints may
        contain the builder's own ``cvxpy.Parameter`` objects (set their values before
        solving); the problem must be DPP.
    norm : {"euclidean", "mahalanobis"}, default "euclidean"
        Distance to minimise.
    solver : str, default "CLARABEL"
        CVXPY solver name.
    **solver_options
        Passed to ``problem.solve``.

    Attributes
    ----------
    n_builds : int
        How many times the CVXPY problem was constructed (always 1).
    n_compiles : int
        How many solves had to (re)compile the problem to solver data; stays 1 after the
        first solve when the DPP cache is reused.
    n_solves : int
        Number of :meth:`solve` calls.
    problem : cvxpy.Problem
        The underlying problem (``problem.is_dpp()`` is ``True``).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.solvers import ProjectionProblem, simplex
    >>> prob = ProjectionProblem(3, simplex())
    >>> sol = prob.solve(np.array([0.2, 1.4, -1.0]))
    >>> sol.status, np.round(sol.primal, 6) + 0.0
    ('optimal', array([0., 1., 0.]))
    >>> sol = prob.solve(np.array([0.2, 0.3, 0.1]))
    >>> prob.n_builds, prob.n_compiles, prob.n_solves
    (1, 1, 2)
    """

    def __init__(
        self,
        n: int,
        constraint_builder: Callable[[Any], list],
        norm: str = "euclidean",
        *,
        solver: str = "CLARABEL",
        **solver_options: Any,
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if norm not in ("euclidean", "mahalanobis"):
            raise ValueError(f"norm must be 'euclidean' or 'mahalanobis', got {norm!r}")
        if not callable(constraint_builder):
            raise ValueError("constraint_builder must be callable")
        cp = _cvxpy()
        self.n = int(n)
        self.norm = norm
        self.solver = solver
        self.solver_options = dict(solver_options)
        self.x = cp.Variable(self.n, name="x")
        self.v = cp.Parameter(self.n, name="v")
        if norm == "euclidean":
            self.L = None
            objective = cp.sum_squares(self.x - self.v)
        else:
            self.L = cp.Parameter((self.n, self.n), name="L")
            objective = cp.sum_squares(self.L @ self.x - self.v)
        self.constraints = list(constraint_builder(self.x))
        self.problem = cp.Problem(cp.Minimize(objective), self.constraints)
        if not self.problem.is_dpp():
            raise ValueError("the projection problem is not DPP; check constraint_builder")
        self.n_builds = 1
        self.n_compiles = 0
        self.n_solves = 0
        self._param_prog = None

    def _sqrt(self, A) -> np.ndarray:
        A = np.asarray(A, dtype=np.float64)
        if A.shape != (self.n, self.n) or not np.all(np.isfinite(A)):
            raise ValueError(f"A must be a finite array of shape {(self.n, self.n)}")
        if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(A).max())):
            raise ValueError("A must be symmetric")
        lam, Q = np.linalg.eigh(0.5 * (A + A.T))
        if lam[0] < -1e-10 * max(1.0, abs(lam[-1])):
            raise ValueError("A must be positive semidefinite")
        return (Q * np.sqrt(np.clip(lam, 0.0, None))) @ Q.T

    def solve(self, v, A=None) -> Solution:
        """Project ``v``; re-uses the compiled problem.

        Parameters
        ----------
        v : array_like, shape (n,)
            Point to project (finite).
        A : array_like, shape (n, n), optional
            Symmetric PSD metric; required for ``norm="mahalanobis"``, not allowed
            otherwise.

        Returns
        -------
        Solution
            ``value`` is the squared distance, ``primal`` the projection, ``duals``
            maps ``"c0", "c1", ...`` (one per constraint, in builder order) to the
            dual values. Infeasible sets give ``status="infeasible"``.
        """
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (self.n,) or not np.all(np.isfinite(v)):
            raise ValueError(f"v must be a finite array of shape {(self.n,)}, got shape {v.shape}")
        if self.norm == "mahalanobis":
            if A is None:
                raise ValueError("A is required for norm='mahalanobis'")
            L = self._sqrt(A)
            self.L.value = L
            self.v.value = L @ v
        else:
            if A is not None:
                raise ValueError("A is only used with norm='mahalanobis'")
            self.v.value = v
        self.n_solves += 1
        cp = _cvxpy()
        iterations = None
        used = self.solver
        status = self._solve_with(cp, self.solver, self.solver_options)
        if status == "error":
            # a numerical failure of one interior-point solver (seen on degenerate boxes):
            # retry with the other installed conic solvers before giving up
            for alt in ("CLARABEL", "SCS"):
                if alt != self.solver and alt in cp.installed_solvers():
                    status = self._solve_with(cp, alt, {})
                    if status != "error":
                        used = alt
                        break
        prog = getattr(getattr(self.problem, "_cache", None), "param_prog", None)
        if prog is not None and prog is not self._param_prog:
            self.n_compiles += 1
            self._param_prog = prog
        stats = self.problem.solver_stats if status != "error" else None
        if stats is not None and stats.num_iters is not None:
            iterations = int(stats.num_iters)
        if status in ("optimal", "optimal_inaccurate"):
            primal = np.array(self.x.value, dtype=np.float64)
            duals = {f"c{i}": c.dual_value for i, c in enumerate(self.constraints)}
            value = float(self.problem.value)
        else:
            primal = np.full(self.n, np.nan)
            duals = {}
            value = {"infeasible": np.inf, "unbounded": -np.inf}.get(status, np.nan)
        return Solution(value, primal, duals, status, f"cvxpy:{used}", iterations)

    def _solve_with(self, cp, solver: str, options: dict) -> str:
        try:
            with warnings.catch_warnings():
                # cvxpy warns on inaccurate solves; the status already says so
                warnings.filterwarnings(
                    "ignore", message="Solution may be inaccurate", category=UserWarning
                )
                self.problem.solve(solver=solver, **options)
            return _status(self.problem.status)
        except cp.error.SolverError:
            return "error"


def simplex(z=1.0):
    """Constraint builder for ``{x >= 0, sum(x) = z}``.

    Parameters
    ----------
    z : float or cvxpy.Parameter, default 1.0
        Total mass.

    Returns
    -------
    callable
        ``builder(x) -> list`` of constraints, for :class:`ProjectionProblem`.

    Examples
    --------
    >>> from onlinekit.solvers import ProjectionProblem, simplex
    >>> sol = ProjectionProblem(2, simplex(2.0)).solve([0.2, 0.3])
    >>> print(round(float(sol.primal.sum()), 6))
    2.0
    """

    def build(x):
        cp = _cvxpy()
        return [x >= 0, cp.sum(x) == z]

    return build


def l1_ball(r=1.0):
    """Constraint builder for ``{x : ||x||_1 <= r}``.

    Parameters
    ----------
    r : float or cvxpy.Parameter, default 1.0
        Radius.

    Returns
    -------
    callable
        ``builder(x) -> list`` of constraints, for :class:`ProjectionProblem`.

    Examples
    --------
    >>> from onlinekit.solvers import ProjectionProblem, l1_ball
    >>> sol = ProjectionProblem(2, l1_ball(1.0)).solve([2.0, 0.0])
    >>> print(abs(sol.primal.round(6)))
    [1. 0.]
    """

    def build(x):
        cp = _cvxpy()
        return [cp.norm1(x) <= r]

    return build


def l2_ball(r=1.0):
    """Constraint builder for ``{x : ||x||_2 <= r}``.

    Parameters
    ----------
    r : float or cvxpy.Parameter, default 1.0
        Radius.

    Returns
    -------
    callable
        ``builder(x) -> list`` of constraints, for :class:`ProjectionProblem`.

    Examples
    --------
    >>> from onlinekit.solvers import ProjectionProblem, l2_ball
    >>> sol = ProjectionProblem(2, l2_ball(1.0)).solve([3.0, 4.0])
    >>> print(sol.primal.round(6))
    [0.6 0.8]
    """

    def build(x):
        cp = _cvxpy()
        return [cp.norm(x, 2) <= r]

    return build


def box(lo, hi):
    """Constraint builder for ``{x : lo <= x <= hi}``.

    Parameters
    ----------
    lo, hi : float, array_like or cvxpy.Parameter
        Finite bounds (broadcast against ``x``).

    Returns
    -------
    callable
        ``builder(x) -> list`` of constraints, for :class:`ProjectionProblem`.

    Examples
    --------
    >>> from onlinekit.solvers import ProjectionProblem, box
    >>> sol = ProjectionProblem(2, box(0.0, 1.0)).solve([-1.0, 0.5])
    >>> print(abs(sol.primal.round(6)))
    [0.  0.5]
    """

    def build(x):
        return [x >= lo, x <= hi]

    return build


def polytope(A, b):
    """Constraint builder for the polyhedron ``{x : A x <= b}``.

    Parameters
    ----------
    A : array_like, shape (m, n), or cvxpy.Parameter
        Constraint matrix.
    b : array_like, shape (m,), or cvxpy.Parameter
        Right-hand side.

    Returns
    -------
    callable
        ``builder(x) -> list`` of constraints, for :class:`ProjectionProblem`.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.solvers import ProjectionProblem, polytope
    >>> prob = ProjectionProblem(2, polytope(np.array([[1.0, 1.0]]), np.array([1.0])))
    >>> print(prob.solve([1.0, 1.0]).primal.round(6))
    [0.5 0.5]
    >>> prob2 = ProjectionProblem(1, polytope(np.array([[1.0], [-1.0]]), np.array([-1.0, -1.0])))
    >>> prob2.solve([0.0]).status
    'infeasible'
    """

    def build(x):
        return [A @ x <= b]

    return build
