"""Best fixed point in hindsight for linear losses: ``min_{x in X} <G, x>``.

With linear losses ``f_t(x) = <g_t, x>`` the best fixed comparator of a domain ``X`` over
rounds ``1..T`` minimises ``<G, x>`` for the summed gradient ``G = sum_t g_t``. Closed forms:

* :class:`~onlinekit.oco.L2Ball` of radius ``R`` (centred at 0): ``-R ||G||_2``;
* :class:`~onlinekit.oco.Simplex` of mass ``z``: ``z min_i G_i``;
* :class:`~onlinekit.oco.L1Ball` of radius ``R``: ``-R max_i |G_i|``;
* :class:`~onlinekit.oco.Box` ``[lo, hi]``: ``sum_i min(lo_i G_i, hi_i G_i)``;
* :class:`~onlinekit.oco.Unconstrained`: ``0`` if ``G = 0``, else ``-inf``.

Every other domain (:class:`~onlinekit.oco.Polytope`, :class:`~onlinekit.oco.ConvexSet`)
is one DPP CVXPY linear program over the domain's constraints with ``G`` a parameter,
built once per :class:`LinearComparator` and re-solved (``-inf`` when unbounded).

Examples
--------
>>> import numpy as np
>>> from onlinekit.oco import L2Ball, Simplex
>>> LinearComparator(L2Ball(2.0), 2).value(np.array([3.0, 4.0]))
-10.0
>>> LinearComparator(Simplex(), 3).value(np.array([3.0, -1.0, 2.0]))
-1.0
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit.oco import geometry as geo

__all__ = ["LinearComparator", "linear_min_cvxpy"]


def linear_min_cvxpy(domain, G: np.ndarray) -> float:
    """``min_{x in domain} <G, x>`` as one CVXPY problem (any domain with constraints; the
    oracle the closed forms are tested against). ``-inf`` when unbounded below."""
    return _CvxLinearMin(domain, len(G)).solve(np.asarray(G, dtype=np.float64))


class _CvxLinearMin:
    def __init__(self, domain, n_dims: int) -> None:
        import cvxpy as cp

        self.x = cp.Variable(n_dims)
        self.g = cp.Parameter(n_dims)
        self.problem = cp.Problem(cp.Minimize(self.g @ self.x), list(domain.constraints(self.x)))

    def solve(self, G: np.ndarray) -> float:
        import cvxpy as cp

        self.g.value = G
        try:
            self.problem.solve(solver="CLARABEL")
        except cp.error.SolverError as exc:
            raise ValueError(f"CVXPY could not solve the comparator problem: {exc}") from None
        status = self.problem.status
        if status in ("unbounded", "unbounded_inaccurate"):
            return -math.inf
        if status not in ("optimal", "optimal_inaccurate"):
            raise ValueError(f"comparator problem status {status!r} (empty domain?)")
        return float(self.problem.value)


class LinearComparator:
    """``min_{x in X} <G, x>`` for one domain and dimension (closed form or CVXPY).

    Parameters
    ----------
    domain
        A domain of :mod:`onlinekit.oco.geometry`.
    n_dims
        Dimension of ``x``.
    """

    def __init__(self, domain, n_dims: int) -> None:
        if not isinstance(domain, geo._Domain):
            raise TypeError(f"expected a domain of onlinekit.oco.geometry, got {domain!r}")
        self.domain = domain
        self.n_dims = int(n_dims)
        self._cvx = None

    @property
    def closed_form(self) -> bool:
        """Whether the domain has a closed form (no CVXPY)."""
        return self.domain.code != geo.DOMAIN_CVXPY

    def value(self, G: np.ndarray) -> float:
        """``min_{x in X} <G, x>``."""
        G = np.asarray(G, dtype=np.float64)
        code = self.domain.code
        if code == geo.DOMAIN_L2:
            return -float(self.domain.radius) * math.sqrt(float(G @ G))
        if code == geo.DOMAIN_SIMPLEX:
            return float(self.domain.z) * float(G.min())
        if code == geo.DOMAIN_L1:
            return -float(self.domain.radius) * float(np.abs(G).max())
        if code == geo.DOMAIN_BOX:
            lo, hi = self.domain.bounds(self.n_dims)
            return float(np.minimum(lo * G, hi * G).sum())
        if code == geo.DOMAIN_FREE:
            return 0.0 if not G.any() else -math.inf
        if self._cvx is None:
            self._cvx = _CvxLinearMin(self.domain, self.n_dims)
        return self._cvx.solve(G)
