"""Online Newton step for exp-concave losses (Hazan, Agarwal, Kale 2007)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.oco import geometry as geo
from onlinekit.oco.losses import SquaredLoss, loss_rows

__all__ = ["ONS"]


def _kernels():
    from onlinekit.oco import _kernels

    return _kernels


def _positive(v, field):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (0 < v < math.inf):
        raise InvalidEvent(f"must be a finite number > 0, got {v!r}", field=field)


class ONS(Learner):
    """Online Newton step: ``x_{t+1} = Proj^{A_t}(x_t - A_t^{-1} g_t / gamma)``, ``A_t = eps I + sum g g^T``.

    ``Proj^{A}`` is the generalised projection ``argmin_{x in X} (x - y)^T A (x - y)``: closed
    form on :class:`~onlinekit.oco.Unconstrained`, a trust-region solve
    (:func:`onlinekit.solvers.least_squares` with a radius: eigendecomposition plus a secular
    equation) on :class:`~onlinekit.oco.L2Ball`, and a DPP CVXPY problem built once
    (:class:`onlinekit.solvers.ProjectionProblem` with the Mahalanobis norm) on other domains.

    Parameters
    ----------
    n_dims
        Dimension.
    domain
        Feasible set (default: the unit :class:`~onlinekit.oco.L2Ball`).
    exp_concavity
        ``alpha`` of the losses.
    grad_bound
        ``G`` with ``||g_t|| <= G``.
    gamma, epsilon
        Step parameter and initial ``A_0 = epsilon I``; ``None`` uses the paper's
        ``gamma = min(1 / (4 G D), alpha) / 2`` and ``epsilon = 1 / (gamma^2 D^2)``, which need
        a bounded domain of known diameter ``D``.

    Attributes
    ----------
    x_ : ndarray
        The play point.
    A_ : ndarray, shape (n_dims, n_dims)
        ``A_t``.
    A_inv_ : ndarray, shape (n_dims, n_dims)
        ``A_t^{-1}`` (Sherman-Morrison updates).
    t_ : int
        Rounds so far.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import ONS, L2Ball, SquaredLoss
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = X @ np.array([0.3, -0.2, 0.1])
    >>> ons = ONS(n_dims=3, domain=L2Ball(1.0), exp_concavity=0.1, grad_bound=5.0)
    >>> _ = ons.update_many(SquaredLoss(X, y))
    >>> np.round(ons.play(), 2)
    array([ 0.3, -0.2,  0.1])

    Notes
    -----
    Hazan, Agarwal, Kale (2007), Thm. 2: for ``alpha``-exp-concave losses with the paper's
    ``gamma`` and ``epsilon``, regret ``<= 5 (1/alpha + G D) n log T``. Chen et al. (2023)
    use an optimistic variant for the SEA model (``O(d log(sigma^2_{1:T} + Sigma^2_{1:T}))``);
    that variant is not implemented here.

    References
    ----------
    .. [1] E. Hazan, A. Agarwal, S. Kale. Logarithmic regret algorithms for online convex
       optimization. Machine Learning, 2007.
    """

    protocol = "oco"

    def __init__(self, n_dims: int, domain=None, exp_concavity: float = 1.0, grad_bound: float = 1.0,
                 gamma: float | None = None, epsilon: float | None = None):
        self.n_dims = n_dims
        self.domain = domain
        self.exp_concavity = exp_concavity
        self.grad_bound = grad_bound
        self.gamma = gamma
        self.epsilon = epsilon
        if isinstance(n_dims, bool) or not isinstance(n_dims, numbers.Integral) or n_dims < 1:
            raise InvalidEvent(f"must be an integer >= 1, got {n_dims!r}", field="n_dims")
        dom = geo.L2Ball() if domain is None else domain
        if not isinstance(dom, geo._Domain):
            raise InvalidEvent(f"must be a domain, got {dom!r}", field="domain")
        dom.check_dims(int(n_dims))
        _positive(exp_concavity, "exp_concavity")
        _positive(grad_bound, "grad_bound")
        for name, v in (("gamma", gamma), ("epsilon", epsilon)):
            if v is not None:
                _positive(v, name)
        D = dom.diameter_of(int(n_dims))
        if gamma is None or epsilon is None:
            if not (math.isfinite(D) and D > 0):
                raise InvalidEvent("gamma/epsilon = None need a bounded domain of known diameter", field="domain")
        self._gamma = float(gamma) if gamma is not None else 0.5 * min(1.0 / (4 * grad_bound * D), exp_concavity)
        self._eps = float(epsilon) if epsilon is not None else 1.0 / (self._gamma**2 * D * D)
        self._domain = dom
        self._prob = None
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {"n_dims": 3}
        yield {"n_dims": 2, "domain": geo.Unconstrained(), "gamma": 0.5, "epsilon": 1.0}
        yield {"n_dims": 3, "domain": geo.Simplex(), "grad_bound": 2.0}

    def _reset(self) -> None:
        d = int(self.n_dims)
        self.x_ = self._project(np.zeros(d), np.eye(d))
        self.A_ = self._eps * np.eye(d)
        self.A_inv_ = np.eye(d) / self._eps
        self.t_ = 0

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_prob"] = None
        return state

    def _project(self, y: np.ndarray, A: np.ndarray) -> np.ndarray:
        code = self._domain.code
        if code == geo.DOMAIN_FREE:
            return y
        if code == geo.DOMAIN_L2:
            r = float(self._domain.radius)
            if float(y @ y) <= r * r:
                return y
            from onlinekit.solvers import least_squares

            sol = least_squares(A, A @ y, float(y @ A @ y), 1, radius=r)
            return np.asarray(sol.primal, dtype=np.float64)
        if self._prob is None:
            from onlinekit.solvers import ProjectionProblem

            self._prob = ProjectionProblem(int(self.n_dims), self._domain.constraints, norm="mahalanobis")
        sol = self._prob.solve(y, A=A)
        if sol.status not in ("optimal", "optimal_inaccurate"):
            raise InvalidEvent(f"generalised projection status {sol.status!r}", field="domain")
        return np.asarray(sol.primal, dtype=np.float64)

    def play(self) -> np.ndarray:
        """The point ``x_t`` (a copy)."""
        return self.x_.copy()

    def _rows(self, obj, field, block):
        code, A, b = loss_rows(obj, self.n_dims, field, block)
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
            i = int(np.flatnonzero(~(np.isfinite(A).all(axis=1) & np.isfinite(b)))[0])
            raise InvalidEvent("non-finite value", field=f"row {i}", offset=i)
        return code, A, b

    def _run(self, code, A, b) -> np.ndarray:
        k = _kernels()
        x, M, Minv, t = self.x_.copy(), self.A_.copy(), self.A_inv_.copy(), self.t_
        vals = np.empty(A.shape[0])
        g = np.empty(self.n_dims)
        for i in range(A.shape[0]):
            vals[i] = k._loss_eval(code, x, A[i], b[i], 0.0, g)[0]
            M += np.outer(g, g)
            Ag = Minv @ g
            Minv -= np.outer(Ag, Ag) / (1.0 + g @ Ag)
            x = self._project(x - (Minv @ g) / self._gamma, M)
            t += 1
        self.x_, self.A_, self.A_inv_, self.t_ = x, M, Minv, t
        return vals

    def update(self, grad) -> None:
        """Finish the round with the gradient at the played point (or a loss object)."""
        self._run(*self._rows(grad, "grad", False))

    def update_many(self, losses) -> np.ndarray:
        """A block of rounds; returns ``f_t(x_t)`` per round."""
        return self._run(*self._rows(losses, "losses", True))

    def _check_loss(self, seed, t):
        rng = np.random.default_rng([seed, t])
        return SquaredLoss(rng.normal(size=self.n_dims), float(rng.normal()))

    def _check_bad_events(self):
        d = self.n_dims
        g = np.ones(d)
        g[0] = np.nan
        return [("update", (g,), {}), ("update", (np.ones(d + 1),), {}),
                ("update_many", (np.ones((2, d + 1)),), {})]
