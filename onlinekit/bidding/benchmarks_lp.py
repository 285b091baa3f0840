"""Offline benchmarks of multi-channel autobidding: GL-OPT, the expected grid LP, ROI-only levers.

* :func:`glopt` -- the global optimum in hindsight (LP relaxation of GL-OPT) in closed form
  (ratio threshold over the pooled auctions), with per-channel values and spends;
  :class:`GLOptLP` is the same LP as a DPP CVXPY problem (built once, re-solved), used to
  check the closed form.
* :class:`GridLP` -- the expected-case grid LP: a randomised choice of one grid budget per
  channel maximising expected conversion under the aggregate ROI and budget constraints in
  expectation. SGD-UCB's regret is stated against it.
* :func:`budget_lever_value` -- conversion reached when only per-channel budgets are set.
* :func:`roi_only_optimum` -- the best per-channel ROI targets (no budgets) on a grid.

cvxpy is imported on first use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.bidding.lp_bidder import _check_items, _check_scalar, ch_opt
from onlinekit.solvers.result import Solution

__all__ = ["GLOptLP", "GridLP", "budget_lever_value", "glopt", "roi_only_optimum"]

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


def _channels(values, costs) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values, costs = [values], [costs]
    if not isinstance(values, (list, tuple)) or not isinstance(costs, (list, tuple)) or len(values) != len(costs) \
            or len(values) == 0:
        raise InvalidEvent("must be one array or equally long non-empty lists of arrays (one per channel)",
                           field="values")
    vs, ds = [], []
    for j, (v, d) in enumerate(zip(values, costs, strict=True)):
        try:
            vj, dj = _check_items(v, d)
        except InvalidEvent as exc:
            raise InvalidEvent(exc.message, field=f"channel {j}: {exc.field}") from None
        vs.append(vj)
        ds.append(dj)
    return vs, ds


def glopt(values, costs, budget: float = math.inf, target_roi: float = 0.0) -> Solution:
    """GL-OPT in hindsight (LP relaxation), in closed form.

    ``max sum_{j,n} v z  s.t.  sum d z <= budget,  sum (v - gamma d) z >= 0,  z in [0, 1]``
    over the auctions of all channels pooled.

    Parameters
    ----------
    values, costs
        One array per channel (a list), or a single array: conversion values and costs
        (highest competing bids) of the auctions.
    budget, target_roi
        Aggregate budget (``inf``: none) and ROI target.

    Returns
    -------
    Solution
        ``value``; ``primal = {"z": [per-channel arrays], "channel_value": (M,),
        "channel_spend": (M,), "threshold": float}``.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.bidding import glopt
    >>> sol = glopt([np.array([1.0, 0.2]), np.array([0.6])], [np.array([0.5, 0.5]), np.array([0.5])], budget=1.0)
    >>> round(sol.value, 6), sol.primal["channel_spend"].tolist()
    (1.6, [0.5, 0.5])
    """
    vs, ds = _channels(values, costs)
    b = _check_scalar(budget, "budget", allow_inf=True)
    g = _check_scalar(target_roi, "target_roi", allow_inf=False)
    p = ch_opt(np.concatenate(vs), np.concatenate(ds), b, g)
    cuts = np.cumsum([0] + [len(v) for v in vs])
    zs = [p.z[cuts[j]:cuts[j + 1]] for j in range(len(vs))]
    cval = np.array([float(v @ z) for v, z in zip(vs, zs, strict=True)])
    cspend = np.array([float(d @ z) for d, z in zip(ds, zs, strict=True)])
    return Solution(p.value, {"z": zs, "channel_value": cval, "channel_spend": cspend, "threshold": p.threshold},
                    {}, "optimal", "closed-form:ratio-threshold", None)


def budget_lever_value(values, costs, budgets) -> tuple[float, np.ndarray]:
    """Conversion when channel ``j`` gets budget ``budgets[j]`` and no ROI target.

    Each channel solves its own ``CH-OPT`` (:func:`onlinekit.bidding.ch_opt`). Returns the
    total and the per-channel conversions.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.bidding import budget_lever_value, glopt
    >>> v = [np.array([1.0, 0.2]), np.array([0.6])]; d = [np.array([0.5, 0.5]), np.array([0.5])]
    >>> sol = glopt(v, d, budget=1.0)
    >>> total, per_channel = budget_lever_value(v, d, sol.primal["channel_spend"])
    >>> round(total, 6) == round(sol.value, 6)
    True
    """
    vs, ds = _channels(values, costs)
    b = np.array(budgets, dtype=float)
    if b.shape != (len(vs),) or np.any(np.isnan(b)) or np.any(b < 0):
        raise InvalidEvent(f"must be {len(vs)} budgets >= 0", field="budgets")
    per = np.array([ch_opt(v, d, float(bj), 0.0).value for v, d, bj in zip(vs, ds, b, strict=True)])
    return float(per.sum()), per


def roi_only_optimum(values, costs, budget: float, target_roi: float, roi_grid) -> dict[str, Any]:
    """Best per-channel ROI targets (no per-channel budgets), by exhaustive search on a grid.

    Channel ``j`` given target ``gamma_j`` (and no budget) solves ``CH-OPT(gamma_j, inf)``;
    a channel may also be switched off. The search keeps the combination with the largest
    total conversion that meets the aggregate budget and ROI constraints; it enumerates
    ``(len(roi_grid) + 1) ** M`` combinations (fine for a few channels).

    Returns
    -------
    dict
        ``value``, ``roi_targets`` (``inf`` marks a channel switched off), ``spend`` and
        ``channel_value``.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.bidding import glopt, roi_only_optimum
    >>> v = [np.ones(100), np.array([0.01])]; d = [np.ones(100), np.array([0.005])]
    >>> best = roi_only_optimum(v, d, budget=1.0, target_roi=0.0, roi_grid=np.linspace(0, 3, 31))
    >>> round(best["value"], 4), round(glopt(v, d, budget=1.0).value, 4)
    (0.01, 1.005)
    """
    vs, ds = _channels(values, costs)
    b = _check_scalar(budget, "budget", allow_inf=True)
    g = _check_scalar(target_roi, "target_roi", allow_inf=False)
    grid = np.array(roi_grid, dtype=float)
    if grid.ndim != 1 or len(grid) == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise InvalidEvent("must be a non-empty 1-d array of finite ROI targets >= 0", field="roi_grid")
    M, G = len(vs), len(grid)
    Vt = np.zeros((M, G + 1))
    Dt = np.zeros((M, G + 1))
    for j in range(M):
        for a, gj in enumerate(grid):
            p = ch_opt(vs[j], ds[j], math.inf, float(gj))
            Vt[j, a], Dt[j, a] = p.value, p.spend
    targets = np.append(grid, np.inf)
    tv, td = Vt[0], Dt[0]
    for j in range(1, M):  # all (G + 1)^M combinations, by broadcasting
        tv = np.add.outer(tv, Vt[j])
        td = np.add.outer(td, Dt[j])
    tol = 1e-9 * np.maximum(1.0, td)
    feasible = (td <= b + tol) & (tv >= g * td - tol)
    score = np.where(feasible, tv, -np.inf)
    flat = int(np.argmax(score))  # all-off is always feasible
    idx = np.array(np.unravel_index(flat, score.shape))
    V = Vt[np.arange(M), idx]
    return {"value": float(score.flat[flat]), "roi_targets": targets[idx], "spend": float(td.flat[flat]),
            "channel_value": V}


class GLOptLP:
    """GL-OPT's LP relaxation over ``n_items`` pooled auctions as a DPP CVXPY problem.

    Built once; :meth:`solve` only sets parameter values, so CVXPY reuses its compiled
    parameter-to-data map (``n_compiles`` stays 1). The ROI coefficients ``v - gamma d`` are
    one parameter (a product of two parameters would not be DPP).

    Parameters
    ----------
    n_items
        Number of auctions.
    solver
        CVXPY solver (default ``"CLARABEL"``).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.bidding import GLOptLP, glopt
    >>> rng = np.random.default_rng(0)
    >>> v, d = rng.random(30), rng.random(30)
    >>> lp = GLOptLP(30)
    >>> for budget in (1.0, 2.0):
    ...     s = lp.solve(v, d, budget, target_roi=1.5)
    ...     print(s.status, abs(s.value - glopt(v, d, budget, 1.5).value) < 1e-6)
    optimal True
    optimal True
    >>> lp.n_compiles
    1
    """

    def __init__(self, n_items: int, solver: str = "CLARABEL"):
        if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)) or n_items < 1:
            raise InvalidEvent(f"must be an integer >= 1, got {n_items!r}", field="n_items")
        cp = _cvxpy()
        self.n_items = int(n_items)
        self.solver = solver
        n = self.n_items
        self.z = cp.Variable(n, name="z")
        self.v = cp.Parameter(n, name="v", nonneg=True)
        self.d = cp.Parameter(n, name="d", nonneg=True)
        self.a = cp.Parameter(n, name="roi_coef")
        self.budget = cp.Parameter(name="budget", nonneg=True)
        self.constraints = [self.d @ self.z <= self.budget, self.a @ self.z >= 0, self.z >= 0, self.z <= 1]
        self.problem = cp.Problem(cp.Maximize(self.v @ self.z), self.constraints)
        assert self.problem.is_dpp()
        self.n_solves = 0
        self.n_compiles = 0
        self._param_prog = None

    def solve(self, values, costs, budget: float = math.inf, target_roi: float = 0.0) -> Solution:
        """Solve for one instance; ``primal`` is ``z``, duals ``"budget"`` and ``"roi"``."""
        v, d = _check_items(values, costs)
        if len(v) != self.n_items:
            raise InvalidEvent(f"expected {self.n_items} items, got {len(v)}", field="values")
        b = _check_scalar(budget, "budget", allow_inf=True)
        g = _check_scalar(target_roi, "target_roi", allow_inf=False)
        self.v.value = v
        self.d.value = d
        self.a.value = v - g * d
        self.budget.value = b if math.isfinite(b) else float(d.sum()) + 1.0
        return self._solve()

    def _solve(self) -> Solution:
        cp = _cvxpy()
        self.n_solves += 1
        try:
            self.problem.solve(solver=self.solver)
            status = _STATUS.get(self.problem.status or "", "error")
        except cp.error.SolverError:
            status = "error"
        prog = getattr(getattr(self.problem, "_cache", None), "param_prog", None)
        if prog is not None and prog is not self._param_prog:
            self.n_compiles += 1
            self._param_prog = prog
        if status in ("optimal", "optimal_inaccurate"):
            z = np.clip(np.array(self.z.value, dtype=float), 0.0, 1.0)
            duals = {"budget": float(self.constraints[0].dual_value), "roi": float(self.constraints[1].dual_value)}
            iters = self.problem.solver_stats.num_iters
            return Solution(float(self.problem.value), z, duals, status, f"cvxpy:{self.solver}",
                            None if iters is None else int(iters))
        return Solution(math.nan, np.full(self.n_items, np.nan), {}, status, f"cvxpy:{self.solver}", None)


class GridLP:
    """Expected-case grid LP: the benchmark of SGD-UCB (DPP CVXPY, built once, re-solved).

    ``max_p sum_{j,b} p_{j,b} V_j(b)`` s.t. ``sum_b p_{j,b} = 1`` (one budget distribution per
    channel), ``sum p (V - gamma D) >= 0`` and ``sum p D <= rho``, ``p >= 0``, where
    ``V_j(b)`` and ``D_j(b)`` are channel ``j``'s expected conversion and spend at grid
    budget ``b`` (``D = b`` under the binding-budget assumption). ``M K`` variables,
    ``M + 2`` constraints.

    Parameters
    ----------
    n_channels, n_arms
        ``M`` and the grid size ``K``.
    solver
        CVXPY solver (default ``"CLARABEL"``).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.bidding import GridLP
    >>> grid = np.array([0.0, 0.5, 1.0])
    >>> V = np.array([np.sqrt(grid), 0.5 * grid])          # two channels
    >>> sol = GridLP(2, 3).solve(V, np.tile(grid, (2, 1)), budget=0.5, target_roi=0.0)
    >>> sol.status, round(sol.value, 4), np.round(sol.primal, 3)[0].tolist()
    ('optimal', 0.7071, [0.0, 1.0, 0.0])
    """

    def __init__(self, n_channels: int, n_arms: int, solver: str = "CLARABEL"):
        for name, x in (("n_channels", n_channels), ("n_arms", n_arms)):
            if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
                raise InvalidEvent(f"must be an integer >= 1, got {x!r}", field=name)
        cp = _cvxpy()
        self.n_channels, self.n_arms, self.solver = int(n_channels), int(n_arms), solver
        shape = (self.n_channels, self.n_arms)
        self.p = cp.Variable(shape, name="p", nonneg=True)
        self.V = cp.Parameter(shape, name="V")
        self.D = cp.Parameter(shape, name="D", nonneg=True)
        self.A = cp.Parameter(shape, name="roi_coef")
        self.budget = cp.Parameter(name="budget", nonneg=True)
        self.constraints = [
            cp.sum(self.p, axis=1) == 1,
            cp.sum(cp.multiply(self.A, self.p)) >= 0,
            cp.sum(cp.multiply(self.D, self.p)) <= self.budget,
        ]
        self.problem = cp.Problem(cp.Maximize(cp.sum(cp.multiply(self.V, self.p))), self.constraints)
        assert self.problem.is_dpp()
        self.n_solves = 0
        self.n_compiles = 0
        self._param_prog = None

    def solve(self, V, D, budget: float, target_roi: float = 0.0) -> Solution:
        """Solve for expected conversions ``V`` and spends ``D`` (both ``(M, K)``).

        ``primal`` is ``p`` (rows are distributions over the grid); duals ``"roi"`` and
        ``"budget"``.
        """
        shape = (self.n_channels, self.n_arms)
        Va, Da = np.array(V, dtype=float), np.array(D, dtype=float)
        for name, a in (("V", Va), ("D", Da)):
            if a.shape != shape or not np.all(np.isfinite(a)) or np.any(a < 0):
                raise InvalidEvent(f"must be a finite array >= 0 of shape {shape}", field=name)
        b = _check_scalar(budget, "budget", allow_inf=False)
        g = _check_scalar(target_roi, "target_roi", allow_inf=False)
        self.V.value, self.D.value, self.A.value, self.budget.value = Va, Da, Va - g * Da, b
        cp = _cvxpy()
        self.n_solves += 1
        try:
            self.problem.solve(solver=self.solver)
            status = _STATUS.get(self.problem.status or "", "error")
        except cp.error.SolverError:
            status = "error"
        prog = getattr(getattr(self.problem, "_cache", None), "param_prog", None)
        if prog is not None and prog is not self._param_prog:
            self.n_compiles += 1
            self._param_prog = prog
        if status in ("optimal", "optimal_inaccurate"):
            p = np.clip(np.array(self.p.value, dtype=float), 0.0, None)
            duals = {"roi": float(self.constraints[1].dual_value), "budget": float(self.constraints[2].dual_value)}
            return Solution(float(self.problem.value), p, duals, status, f"cvxpy:{self.solver}", None)
        value = -math.inf if status == "infeasible" else math.nan
        return Solution(value, np.full(shape, np.nan), {}, status, f"cvxpy:{self.solver}", None)
