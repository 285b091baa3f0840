"""Projected online gradient descent for linear models (squared or logistic loss)."""

from __future__ import annotations

import numpy as np
from river import base as river_base

from onlinekit.base import InvalidEvent, Learner
from onlinekit.oco._features import FeatureIndex, check_matrix, check_target

__all__ = ["OGD", "OGDClassifier"]

_LOSSES = {"squared": 0, "logistic": 1}
_SCHEDULES = {"constant": 0, "sqrt": 1}


def _kernels():
    from onlinekit.oco import _kernels

    return _kernels


class _LinearOGD(Learner):
    """Shared implementation of :class:`OGD` and :class:`OGDClassifier`."""

    def _validate_params(self) -> None:
        if self.loss not in _LOSSES:
            raise InvalidEvent(f"must be one of {sorted(_LOSSES)}, got {self.loss!r}", field="loss")
        if self.schedule not in _SCHEDULES:
            raise InvalidEvent(f"must be one of {sorted(_SCHEDULES)}, got {self.schedule!r}", field="schedule")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and np.isfinite(self.lr)):
            raise InvalidEvent(f"must be a finite number > 0, got {self.lr!r}", field="lr")
        if self.radius is not None and not (self.radius > 0 and np.isfinite(self.radius)):
            raise InvalidEvent(f"must be None or a finite number > 0, got {self.radius!r}", field="radius")
        if not (self.l2 >= 0 and np.isfinite(self.l2)):
            raise InvalidEvent(f"must be a finite number >= 0, got {self.l2!r}", field="l2")

    def _reset(self) -> None:
        self.w_ = np.zeros(0)
        self.b_ = 0.0
        self.t_ = 0
        self._index = FeatureIndex()
        self.features_ = self._index.names  # shared list: the index appends to it

    def _after_load(self) -> None:
        self._index = FeatureIndex(self.features_)
        self.features_ = self._index.names

    # -- kernel call ---------------------------------------------------------------------
    def _run(self, X: np.ndarray, y: np.ndarray | None, w: np.ndarray, learn: bool) -> tuple[np.ndarray, float, int]:
        k = _kernels()
        bt = np.array([self.b_, float(self.t_)])
        out = np.empty(X.shape[0])
        k._ogd_predict_learn(
            X,
            y if y is not None else out,
            w,
            bt,
            float(self.lr),
            _SCHEDULES[self.schedule],
            _LOSSES[self.loss],
            float(self.radius) if self.radius is not None else -1.0,
            float(self.l2),
            bool(self.intercept),
            learn,
            out,
        )
        return out, float(bt[0]), int(bt[1])

    def _check_label(self, y: float, field: str = "y") -> None:
        if self.loss == "logistic" and y not in (0.0, 1.0):
            raise InvalidEvent(f"logistic loss needs labels in {{0, 1}}, got {y!r}", field=field)

    # -- River API -----------------------------------------------------------------------
    def _score_one(self, x) -> float:
        v, _ = self._index.vector(x, grow=False)
        if len(v) == 0:
            v = np.zeros(len(self.w_))
        out, _, _ = self._run(v[None, :], None, self.w_.copy(), learn=False)
        return float(out[0])

    def predict_one(self, x) -> float:
        """Prediction for ``x`` (``P(y = 1)`` for the logistic loss)."""
        return self._score_one(x)

    def learn_one(self, x, y, **kwargs) -> None:
        """One gradient step on ``(x, y)``; the state is unchanged if the event is invalid."""
        yv = check_target(y)
        self._check_label(yv)
        v, new = self._index.vector(x, grow=True)
        w = np.concatenate([self.w_, np.zeros(len(v) - len(self.w_))]) if len(v) > len(self.w_) else self.w_
        if len(v) < len(w):
            v = np.concatenate([v, np.zeros(len(w) - len(v))])
        _, b, t = self._run(v[None, :], np.array([yv]), w, learn=True)
        self._index.add(new)
        self.w_, self.b_, self.t_ = w, b, t

    # -- blocks --------------------------------------------------------------------------
    def _prepare_block(self, X, y):
        X, y = check_matrix(X, y, n_features=len(self.w_))
        if y is not None and self.loss == "logistic":
            bad = (y != 0.0) & (y != 1.0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InvalidEvent(f"logistic loss needs labels in {{0, 1}}, got {y[i]!r}", field=f"y[{i}]", offset=i)
        w = self.w_.copy() if len(self.w_) else np.zeros(X.shape[1])
        return X, y, w

    def predict_many(self, X) -> np.ndarray:
        """Predictions of the current state for each row of ``X``."""
        X, _, w = self._prepare_block(X, None)
        out, _, _ = self._run(X, None, w, learn=False)
        return out

    def predict_learn_many(self, X, y, **kwargs) -> np.ndarray:
        """For each row in order: predict, then learn. Returns the predictions."""
        X, y, w = self._prepare_block(X, y)
        out, b, t = self._run(X, y, w, learn=True)
        if not len(self.w_):
            self._index.add([f"x{j}" for j in range(X.shape[1])])
        self.w_, self.b_, self.t_ = w, b, t
        return out

    def learn_many(self, X, y, **kwargs) -> None:
        """``learn_one`` over the rows of ``X`` in order (one kernel call)."""
        self.predict_learn_many(X, y)


class OGD(_LinearOGD, river_base.Regressor):
    """Projected online gradient descent on a linear model.

    Each event: predict ``p = <w, x> + b`` (``sigmoid`` of it for the logistic loss), then
    take a gradient step ``w <- Proj(w - eta_t (g x + l2 w))`` with ``g = p - y``, which is
    the gradient of ``0.5 (p - y)^2`` (squared) or of the log-loss (logistic, ``y`` in
    {0, 1}). ``Proj`` is the Euclidean projection onto ``{||w||_2 <= radius}`` (the intercept
    is not projected).

    Parameters
    ----------
    loss
        ``"squared"`` (regression) or ``"logistic"`` (predicts ``P(y = 1)``; see
        :class:`OGDClassifier` for River's classifier interface).
    lr
        Base step size ``eta`` (> 0).
    schedule
        ``"constant"`` (``eta_t = lr``) or ``"sqrt"`` (``eta_t = lr / sqrt(t)``, the
        ``O(D G sqrt(T))`` schedule of Zinkevich 2003).
    radius
        Radius of the L2 ball the weights are projected on; ``None`` for no projection.
    l2
        L2 regularisation strength (>= 0).
    intercept
        Learn an intercept ``b``.

    Attributes
    ----------
    w_ : ndarray
        Weights, one per feature seen (dict keys in order of first appearance).
    b_ : float
        Intercept.
    t_ : int
        Number of updates so far.
    features_ : list
        Feature names (``x0, x1, ...`` for array input).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import OGD
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 3)); y = X @ np.array([1.0, -2.0, 0.5])
    >>> model = OGD(lr=0.05)
    >>> preds = model.predict_learn_many(X, y)   # progressive: predict, then learn, per row
    >>> np.round(model.w_, 2)
    array([ 1. , -2. ,  0.5])
    >>> model.predict_one({"x0": 1.0, "x1": 0.0, "x2": 0.0})
    1.0...

    Notes
    -----
    With ``schedule="sqrt"``, convex losses, gradients bounded by ``G`` and a comparator set
    of diameter ``D`` (the ball), regret is ``O(D G sqrt(T))`` (Zinkevich 2003, Thm. 1).
    ``learn_many`` and ``predict_learn_many`` run one numba kernel that processes the rows
    in order, so they equal the ``learn_one`` loop bit for bit.

    References
    ----------
    .. [1] M. Zinkevich. Online convex programming and generalized infinitesimal gradient
       ascent. ICML 2003.
    """

    def __init__(
        self,
        loss: str = "squared",
        lr: float = 0.01,
        schedule: str = "constant",
        radius: float | None = None,
        l2: float = 0.0,
        intercept: bool = True,
    ):
        self.loss = loss
        self.lr = lr
        self.schedule = schedule
        self.radius = radius
        self.l2 = l2
        self.intercept = intercept
        self._validate_params()
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"lr": 0.05, "schedule": "sqrt", "radius": 5.0, "l2": 0.01}



class OGDClassifier(_LinearOGD, river_base.Classifier):
    """:class:`OGD` with the logistic loss, as a River binary classifier.

    ``predict_proba_one`` returns ``{False: 1 - p, True: p}`` and ``predict_one`` the more
    likely label. Targets are booleans or 0/1.

    Examples
    --------
    >>> from onlinekit.oco import OGDClassifier
    >>> clf = OGDClassifier(lr=0.5)
    >>> for _ in range(50):
    ...     clf.learn_one({"a": 1.0}, True)
    ...     clf.learn_one({"a": -1.0}, False)
    >>> clf.predict_one({"a": 2.0}), round(clf.predict_proba_one({"a": 2.0})[True], 2)
    (True, 1.0)
    """

    def __init__(
        self,
        lr: float = 0.01,
        schedule: str = "constant",
        radius: float | None = None,
        l2: float = 0.0,
        intercept: bool = True,
    ):
        self.loss = "logistic"
        self.lr = lr
        self.schedule = schedule
        self.radius = radius
        self.l2 = l2
        self.intercept = intercept
        self._validate_params()
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"lr": 0.1, "schedule": "sqrt", "radius": 5.0}

    @property
    def _multiclass(self) -> bool:
        return False

    def predict_proba_one(self, x) -> dict:
        p = self._score_one(x)
        return {False: 1.0 - p, True: p}

    def predict_one(self, x) -> bool:
        return self._score_one(x) >= 0.5

    def learn_one(self, x, y, **kwargs) -> None:
        """One gradient step; ``y`` is a boolean or 0/1 label."""
        if not isinstance(y, (bool, np.bool_)) and y not in (0, 1):
            raise InvalidEvent(f"expected a boolean or 0/1 label, got {y!r}", field="y")
        super().learn_one(x, float(bool(y)))
