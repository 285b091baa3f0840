"""Online ridge regression (Sherman-Morrison updates), optionally the VAW forecaster."""

from __future__ import annotations

import numbers

import numpy as np
from river import base as river_base

from onlinekit.base import InvalidEvent, Learner
from onlinekit.oco._features import FeatureIndex, check_matrix, check_target

__all__ = ["OnlineRidge"]


def _kernels():
    from onlinekit.experts import _kernels

    return _kernels


def grow_inverse(Ainv: np.ndarray, w: np.ndarray, d_new: int, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Enlarge ``(Ainv, w)`` for new features: the new block of the Gram matrix is ``l2 I``.

    Works on the last two axes, so a stack ``(E, d, d)`` of inverses grows too.
    """
    d = Ainv.shape[-1]
    if d_new == d:
        return Ainv, w
    A2 = np.zeros(Ainv.shape[:-2] + (d_new, d_new))
    A2[..., :d, :d] = Ainv
    idx = np.arange(d, d_new)
    A2[..., idx, idx] = 1.0 / l2
    w2 = np.zeros(w.shape[:-1] + (d_new,))
    w2[..., :d] = w
    return A2, w2


class OnlineRidge(Learner, river_base.Regressor):
    """Online ridge regression, predict-then-update, with Sherman-Morrison updates.

    Before event ``t`` the model is ``w_t = A_t^{-1} b_t`` with
    ``A_t = l2 I + sum_{s<t} x_s x_s^T`` and ``b_t = sum_{s<t} y_s x_s``; the forecast is
    ``x_t . w_t`` (follow-the-regularised-leader on the squared loss). With ``vaw=True``
    the Vovk-Azoury-Warmuth forecaster adds ``x_t`` to the Gram matrix *before*
    predicting: ``x_t . (A_t + x_t x_t^T)^{-1} b_t = x_t . w_t / (1 + x_t^T A_t^{-1} x_t)``.
    ``A^{-1}`` is updated by the Sherman-Morrison formula and ``w`` by the matching
    recursive-least-squares step, so each event costs ``O(d^2)``. Predictions are not
    clipped.

    Parameters
    ----------
    l2
        Ridge penalty ``lambda > 0`` (the official groupwise-regret code uses 1).
    vaw
        Use the Vovk-Azoury-Warmuth forecast.
    intercept
        Add a constant feature (penalised like the others), kept as column 0 of ``A``.

    Attributes
    ----------
    Ainv_ : ndarray
        ``A_t^{-1}``, shape ``(d, d)`` (``d`` counts the intercept column).
    w_ : ndarray
        Current ridge weights ``A_t^{-1} b_t`` (intercept first).
    t_ : int
        Number of updates.
    features_ : list
        Feature names (``x0, x1, ...`` for array input), intercept excluded.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.experts import OnlineRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = X @ np.array([1.0, -2.0, 0.5])
    >>> model = OnlineRidge(l2=1.0)
    >>> preds = model.predict_learn_many(X, y)
    >>> np.round(model.w_, 3)
    array([ 0.998, -1.996,  0.499])
    >>> round(model.predict_one({"x0": 1.0, "x1": 1.0, "x2": 0.0}), 3)
    -0.998

    Notes
    -----
    Regret against every fixed ``u`` for the squared loss: ridge (FTRL) and VAW satisfy
    ``sum_t (x_t.w_t - y_t)^2 - sum_t (x_t.u - y_t)^2 <= l2 ||u||^2 + d Y^2 ln(1 + T X^2 /
    (l2 d))`` up to the constants of each analysis (Vovk 2001; Azoury & Warmuth 2001, Thm.
    4.6 for VAW, where ``Y`` bounds ``|y_t|`` and ``X`` bounds ``||x_t||``); VAW's bound
    does not need bounded predictions. Acharya et al. (2024) use the plain ridge forecast
    with ``l2 = 1`` as the per-group oracle.

    References
    ----------
    .. [1] V. Vovk. Competitive on-line statistics. Int. Stat. Review 69(2), 2001.
    .. [2] K. S. Azoury and M. K. Warmuth. Relative loss bounds for on-line density
       estimation with the exponential family of distributions. Machine Learning 43, 2001.
    """

    protocol = "supervised"

    def __init__(self, l2: float = 1.0, vaw: bool = False, intercept: bool = False):
        self.l2 = l2
        self.vaw = vaw
        self.intercept = intercept
        if isinstance(l2, bool) or not isinstance(l2, numbers.Real) or not (np.isfinite(l2) and l2 > 0):
            raise InvalidEvent(f"must be a finite number > 0, got {l2!r}", field="l2")
        if not isinstance(vaw, (bool, np.bool_)):
            raise InvalidEvent(f"must be a boolean, got {vaw!r}", field="vaw")
        if not isinstance(intercept, (bool, np.bool_)):
            raise InvalidEvent(f"must be a boolean, got {intercept!r}", field="intercept")
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"l2": 0.5, "vaw": True, "intercept": True}

    def _reset(self) -> None:
        k = 1 if self.intercept else 0
        self.Ainv_ = np.eye(k) / float(self.l2)
        self.w_ = np.zeros(k)
        self.t_ = 0
        self._index = FeatureIndex()
        self.features_ = self._index.names

    def _after_load(self) -> None:
        self._index = FeatureIndex(self.features_)
        self.features_ = self._index.names

    # -- helpers -------------------------------------------------------------------------
    def _full(self, v: np.ndarray) -> np.ndarray:
        return np.concatenate([[1.0], v]) if self.intercept else v

    def _vector(self, x, grow: bool):
        v, new = self._index.vector(x, grow=grow)
        d = len(self._index.names) + len(new)
        if len(v) < d:
            v = np.concatenate([v, np.zeros(d - len(v))])
        return self._full(v), new

    def _run(self, X, y, Ainv, w, learn: bool) -> np.ndarray:
        out = np.empty(X.shape[0])
        _kernels()._ridge_predict_learn(X, y if y is not None else out, Ainv, w, bool(self.vaw), learn, out)
        return out

    # -- River API -----------------------------------------------------------------------
    def predict_one(self, x, **kwargs) -> float:
        """Forecast for ``x`` (features not seen yet count with the prior ``1 / l2``)."""
        v, _ = self._vector(x, grow=True)
        Ainv, w = grow_inverse(self.Ainv_, self.w_, len(v), float(self.l2))
        out = self._run(v[None, :], None, Ainv.copy(), w.copy(), learn=False)
        return float(out[0])

    def learn_one(self, x, y, **kwargs) -> None:
        """One Sherman-Morrison step on ``(x, y)``; the state is unchanged if invalid."""
        yv = check_target(y)
        v, new = self._vector(x, grow=True)
        Ainv, w = grow_inverse(self.Ainv_, self.w_, len(v), float(self.l2))
        self._run(v[None, :], np.array([yv]), Ainv, w, learn=True)
        self._index.add(new)
        self.Ainv_, self.w_ = Ainv, w
        self.t_ += 1

    # -- blocks --------------------------------------------------------------------------
    def _prepare(self, X, y):
        X, y = check_matrix(X, y, n_features=len(self._index.names))
        new = [] if self._index.names else [f"x{j}" for j in range(X.shape[1])]
        if self.intercept:
            X = np.hstack([np.ones((X.shape[0], 1)), X])
        Ainv, w = grow_inverse(self.Ainv_, self.w_, X.shape[1], float(self.l2))
        return X, y, Ainv.copy(), w.copy(), new

    def predict_many(self, X) -> np.ndarray:
        """Forecasts of the current state for each row of ``X`` (no learning)."""
        X, _, Ainv, w, _ = self._prepare(X, None)
        return self._run(X, None, Ainv, w, learn=False)

    def predict_learn_many(self, X, y, **kwargs) -> np.ndarray:
        """For each row in order: forecast, then learn. Returns the forecasts."""
        X, y, Ainv, w, new = self._prepare(X, y)
        out = self._run(X, y, Ainv, w, learn=True)
        self._index.add(new)
        self.Ainv_, self.w_ = Ainv, w
        self.t_ += X.shape[0]
        return out

    def learn_many(self, X, y, **kwargs) -> None:
        """``learn_one`` over the rows of ``X`` in order (one kernel call)."""
        self.predict_learn_many(X, y)
