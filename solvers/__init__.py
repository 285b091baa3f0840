"""Convex subproblems for onlinekit: closed-form projections, DPP CVXPY problems, and
best-in-hindsight comparators (installed as ``onlinekit.solvers``).

Importing this package is cheap: numba, scipy and cvxpy are imported only when a name that
needs them is first used (PEP 562 module ``__getattr__``). This package never imports the
learner families, the engine or ``onlinekit.streams``.

Public names
------------
- :class:`Solution` -- result record (value, primal, duals, status, solver, iterations).
- Closed-form projections: :func:`project_simplex`, :func:`project_l1_ball`,
  :func:`project_l2_ball`, :func:`project_box`, :func:`project_simplex_kl`,
  :func:`project_capped_simplex_kl`.
- DPP CVXPY projections: :class:`ProjectionProblem` with constraint builders
  :func:`simplex`, :func:`l1_ball`, :func:`l2_ball`, :func:`box`, :func:`polytope`.
- Comparators in hindsight: :func:`least_squares`, :func:`squared_loss_sufficient_stats`,
  :func:`logistic`.
"""

from __future__ import annotations

import importlib

from onlinekit.solvers.result import STATUSES, Solution

_LAZY = {
    "project_box": "projections",
    "project_capped_simplex_kl": "projections",
    "project_l1_ball": "projections",
    "project_l2_ball": "projections",
    "project_simplex": "projections",
    "project_simplex_kl": "projections",
    "ProjectionProblem": "cvx",
    "box": "cvx",
    "l1_ball": "cvx",
    "l2_ball": "cvx",
    "polytope": "cvx",
    "simplex": "cvx",
    "least_squares": "hindsight",
    "logistic": "hindsight",
    "squared_loss_sufficient_stats": "hindsight",
}

__all__ = ["STATUSES", "Solution", *sorted(_LAZY)]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'onlinekit.solvers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"onlinekit.solvers.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
