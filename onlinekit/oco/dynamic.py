"""Dynamic regret: a pool of optimistic OGD learners under an optimistic Hedge meta-learner."""

from __future__ import annotations

import math
import numbers

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.oco.losses import LinearLoss, QuadraticLoss, loss_rows

__all__ = ["DynamicOMD"]


def _kernels():
    from onlinekit.oco import _kernels

    return _kernels


def _positive(v, field):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (0 < v < math.inf):
        raise InvalidEvent(f"must be a finite number > 0, got {v!r}", field=field)


class DynamicOMD(Learner):
    """Two-layer optimistic OMD for dynamic regret in the SEA model (Euclidean ball).

    Bases ``i = 1..N``: optimistic OGD with fixed steps
    ``eta_i = min(1/(8L), sqrt(D^2 / (8 G^2 T)) 2^(i-1))``,
    ``N = ceil(log2(G^2 T / (8 L^2 D^2)) / 2) + 1``, all hinted with the combined learner's
    last gradient. Meta: optimistic Hedge with the switching-cost-corrected losses
    ``l_{t,i} = <g_t, x_{t,i}> + lam ||x_{t,i} - x_{t-1,i}||^2``, hint
    ``<g_{t-1}, x_{t,i}> + lam ||x_{t,i} - x_{t-1,i}||^2`` and rate
    ``eps_t = min(1/(8 D^2 L), sqrt(ln N / (D^2 sum_{s<t} ||g_s - g_{s-1}||^2)))``.
    The learner plays ``x_t = sum_i p_{t,i} x_{t,i}`` and queries one gradient per round.

    Parameters
    ----------
    n_dims
        Dimension.
    horizon
        ``T`` (sets the step-size pool).
    radius
        Radius ``R`` of the ball (``D = 2R``).
    smoothness, grad_bound
        ``L`` and ``G``.
    switching_cost
        ``lam``; ``None`` uses ``2 L`` (PyNOL's SwordPP default; the PQVP_1d notebook uses 1).

    Attributes
    ----------
    etas_ : ndarray, shape (N,)
        The step-size pool.
    weights_ : ndarray, shape (N,)
        Meta weights ``p_t``.
    play_ : ndarray, shape (n_dims,)
        The combined play point.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import DynamicOMD, QuadraticLoss
    >>> dyn = DynamicOMD(n_dims=2, horizon=2000, radius=1.0, grad_bound=2.0)
    >>> t = np.arange(2000)[:, None]
    >>> target = 0.5 * np.hstack([np.cos(t / 300), np.sin(t / 300)])   # a slowly moving optimum
    >>> losses = dyn.update_many(QuadraticLoss(target))
    >>> round(float(losses[-500:].mean()), 4) < 1e-3
    True

    Notes
    -----
    Structure of Zhao, Zhang, Zhang, Zhou (Sword++, JMLR 2024) as used by Chen et al. (2023)
    for the SEA model; claimed bound
    ``E[D-Reg_T] = O(sqrt((1 + P_T + sigma^2_{1:T} + Sigma^2_{1:T})(1 + P_T)))`` with ``P_T`` the
    comparators' path length (exact form not verified by us). The pool, ``eps_t`` and the
    default ``lam`` follow PyNOL's ``SwordPP``; bases start at the centre of the ball.

    References
    ----------
    .. [1] P. Zhao, Y.-J. Zhang, L. Zhang, Z.-H. Zhou. Adaptivity and non-stationarity:
       problem-dependent dynamic regret for online convex optimization. JMLR 2024.
    .. [2] S. Chen, Y.-J. Yang, L. Zhang, P. Zhao. Optimistic online mirror descent for
       bridging stochastic and adversarial online convex optimization. ICML 2023.
    """

    protocol = "oco"

    def __init__(self, n_dims: int, horizon: int, radius: float = 1.0, smoothness: float = 1.0,
                 grad_bound: float = 1.0, switching_cost: float | None = None):
        self.n_dims = n_dims
        self.horizon = horizon
        self.radius = radius
        self.smoothness = smoothness
        self.grad_bound = grad_bound
        self.switching_cost = switching_cost
        for name, v in (("n_dims", n_dims), ("horizon", horizon)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise InvalidEvent(f"must be an integer >= 1, got {v!r}", field=name)
        _positive(radius, "radius")
        _positive(smoothness, "smoothness")
        _positive(grad_bound, "grad_bound")
        if switching_cost is not None and (isinstance(switching_cost, bool) or not isinstance(
                switching_cost, numbers.Real) or not 0 <= switching_cost < math.inf):
            raise InvalidEvent(f"must be None or a finite number >= 0, got {switching_cost!r}",
                               field="switching_cost")
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {"n_dims": 3, "horizon": 100}
        yield {"n_dims": 2, "horizon": 1000, "radius": 2.0, "grad_bound": 4.0, "switching_cost": 1.0}

    def _pool(self) -> np.ndarray:
        L, G, T = float(self.smoothness), float(self.grad_bound), int(self.horizon)
        D = 2.0 * float(self.radius)
        arg = G * G * T / (8.0 * L * L * D * D)
        N = max(1, math.ceil(0.5 * math.log2(arg)) + 1) if arg > 1 else 1
        base = math.sqrt(D * D / (8.0 * G * G * T))
        return np.array([min(1.0 / (8.0 * L), base * 2.0**i) for i in range(N)])

    def _reset(self) -> None:
        d = int(self.n_dims)
        self.etas_ = self._pool()
        N = len(self.etas_)
        L = float(self.smoothness)
        lam = 2.0 * L if self.switching_cost is None else float(self.switching_cost)
        D = 2.0 * float(self.radius)
        self._cfg = np.array([float(self.radius), D * D, L, lam, math.log(N)])
        self.mirror_points_ = np.zeros((N, d))
        self.base_plays_ = np.zeros((N, d))
        self.prev_base_plays_ = np.zeros((N, d))
        self.cum_losses_ = np.zeros(N)
        self.weights_ = np.full(N, 1.0 / N)
        self.play_ = np.zeros(d)
        self.last_grad_ = np.zeros(d)
        self.stats_ = np.zeros(2)
        _kernels()._dyn_prepare(self.mirror_points_, self.base_plays_, self.prev_base_plays_, self.cum_losses_,
                                self.weights_, self.play_, self.last_grad_, self.etas_, self.stats_, self._cfg)

    def _after_load(self) -> None:
        L = float(self.smoothness)
        lam = 2.0 * L if self.switching_cost is None else float(self.switching_cost)
        D = 2.0 * float(self.radius)
        self._cfg = np.array([float(self.radius), D * D, L, lam, math.log(len(self.etas_))])

    def play(self) -> np.ndarray:
        """The combined point ``x_t`` (a copy)."""
        return self.play_.copy()

    def _rows(self, obj, field, block):
        code, A, b = loss_rows(obj, self.n_dims, field, block)
        return code, A, b

    def _run(self, code, A, b) -> np.ndarray:
        names = ("mirror_points_", "base_plays_", "prev_base_plays_", "cum_losses_", "weights_", "play_",
                 "last_grad_")
        arrs = [getattr(self, k).copy() for k in names]
        st = self.stats_.copy()
        vals = np.empty(A.shape[0])
        bad = _kernels()._dyn_block(A, b, code, *arrs, self.etas_, st, self._cfg, vals)
        if bad >= 0:
            raise InvalidEvent("non-finite value", field=f"row {bad}", offset=bad)
        for k, v in zip(names, arrs, strict=True):
            setattr(self, k, v)
        self.stats_ = st
        return vals

    def update(self, grad) -> None:
        """Finish the round with the gradient at the played point (or a loss object)."""
        self._run(*self._rows(grad, "grad", False))

    def update_many(self, losses) -> np.ndarray:
        """A block of rounds; returns ``f_t(x_t)`` per round."""
        return self._run(*self._rows(losses, "losses", True))

    def _check_loss(self, seed, t):
        rng = np.random.default_rng([seed, t])
        return QuadraticLoss(rng.normal(scale=0.5, size=self.n_dims)) if t % 2 else LinearLoss(
            rng.normal(size=self.n_dims))

    def _check_bad_events(self):
        d = self.n_dims
        g = np.ones(d)
        g[0] = np.nan
        return [("update", (g,), {}), ("update", (np.ones(d + 2),), {}),
                ("update_many", (np.ones((3, d + 1)),), {})]
