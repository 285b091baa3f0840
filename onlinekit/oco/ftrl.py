"""Optimistic follow-the-regularised-leader on the Euclidean ball (Sachs et al. 2022)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.oco.losses import LinearLoss, QuadraticLoss, loss_rows

__all__ = ["OptimisticFTRL"]


def _kernels():
    from onlinekit.oco import _kernels

    return _kernels


def _positive(v, field):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (0 < v < math.inf):
        raise InvalidEvent(f"must be a finite number > 0, got {v!r}", field=field)


class OptimisticFTRL(Learner):
    """Optimistic FTRL with the adaptive step size of Sachs et al. (2022), on an L2 ball.

    ``x_t = argmin_{||x|| <= R} <S_{t-1} + M_t, x> + ||x||^2 / (2 eta_t) = Proj(-eta_t (S_{t-1} + M_t))``
    with ``S_{t-1} = sum_{s<t} g_s``, the hint ``M_t = g_{t-1}`` and
    ``eta_t = D^2 / (nu + sum_{s<t} eta_s ||g_s - M_s||^2)``, ``D = 2R``.

    Parameters
    ----------
    n_dims
        Dimension.
    radius
        Radius ``R`` of the ball.
    nu
        Offset of the step size; ``None`` uses the paper's tuning ``nu = L D^2 + D G``.
    smoothness, grad_bound
        ``L`` and ``G`` of that tuning.

    Attributes
    ----------
    iterates_ : ndarray, shape (4, n_dims)
        Cumulative gradient, play point, hint, scratch.
    stats_ : ndarray, shape (3,)
        ``[t, eta_{t+1}, sum eta_s ||g_s - M_s||^2]``.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import OptimisticFTRL
    >>> ftrl = OptimisticFTRL(n_dims=2)
    >>> vals = ftrl.update_many(np.tile([0.6, 0.8], (30, 1)))
    >>> np.round(ftrl.play(), 3)
    array([-0.6, -0.8])

    Notes
    -----
    Sachs, Hadiji, van Erven, Guzman (2022), Thm. 4 (our reading): with ``F_t`` convex and
    ``L``-smooth and ``nu = L D^2 + D G`` the expected regret is
    ``O(D sqrt(sigma^2_{1:T}) + D sqrt(Sigma^2_{1:T}) + L D^2 + D G)``. The tuning of ``nu``
    is the paper's; ``smoothness = grad_bound = 1`` defaults are ours.

    References
    ----------
    .. [1] S. Sachs, H. Hadiji, T. van Erven, C. Guzman. Between stochastic and adversarial
       online convex optimization: improved regret bounds via smoothness. NeurIPS 2022.
    """

    protocol = "oco"

    def __init__(self, n_dims: int, radius: float = 1.0, nu: float | None = None, smoothness: float = 1.0,
                 grad_bound: float = 1.0):
        self.n_dims = n_dims
        self.radius = radius
        self.nu = nu
        self.smoothness = smoothness
        self.grad_bound = grad_bound
        if isinstance(n_dims, bool) or not isinstance(n_dims, numbers.Integral) or n_dims < 1:
            raise InvalidEvent(f"must be an integer >= 1, got {n_dims!r}", field="n_dims")
        _positive(radius, "radius")
        _positive(smoothness, "smoothness")
        _positive(grad_bound, "grad_bound")
        if nu is not None:
            _positive(nu, "nu")
        D = 2.0 * float(radius)
        nu_v = float(nu) if nu is not None else float(smoothness) * D * D + D * float(grad_bound)
        self._cfg = np.array([float(radius), D * D, nu_v])
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {"n_dims": 3}
        yield {"n_dims": 2, "radius": 2.0, "nu": 3.0}

    def _reset(self) -> None:
        self.iterates_ = np.zeros((4, int(self.n_dims)))
        self.stats_ = np.array([0.0, self._cfg[1] / self._cfg[2], 0.0])

    def play(self) -> np.ndarray:
        """The point ``x_t`` (a copy)."""
        return self.iterates_[1].copy()

    def _rows(self, obj, field, block):
        code, A, b = loss_rows(obj, self.n_dims, field, block)
        return code, A, b

    def _run(self, code, A, b):
        V, st = self.iterates_.copy(), self.stats_.copy()
        vals = np.empty(A.shape[0])
        bad = _kernels()._oftrl_block(A, b, V, st, self._cfg, code, vals)
        if bad >= 0:
            raise InvalidEvent("non-finite value", field=f"row {bad}", offset=bad)
        self.iterates_, self.stats_ = V, st
        return vals

    def update(self, grad) -> None:
        """Finish the round with the gradient at the played point (or a loss object)."""
        self._run(*self._rows(grad, "grad", False))

    def update_many(self, losses) -> np.ndarray:
        """A block of rounds (rows of gradients or a block loss); returns ``f_t(x_t)``."""
        return self._run(*self._rows(losses, "losses", True))

    def _check_loss(self, seed, t):
        rng = np.random.default_rng([seed, t])
        return QuadraticLoss(rng.normal(scale=0.5, size=self.n_dims)) if t % 2 else LinearLoss(
            rng.normal(size=self.n_dims))

    def _check_bad_events(self):
        d = self.n_dims
        g = np.ones(d)
        g[-1] = np.inf
        return [("update", (g,), {}), ("update", (np.ones(d + 1),), {}),
                ("update_many", (np.ones((2, d + 1)),), {})]
