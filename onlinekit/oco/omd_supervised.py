"""OMD / optimistic OMD on linear models, as River regressors and classifiers."""

from __future__ import annotations

import numpy as np
from river import base as river_base

from onlinekit.base import InvalidEvent
from onlinekit.oco import geometry as geo
from onlinekit.oco._features import FeatureIndex, check_matrix, check_target
from onlinekit.oco._codes import LOSS_HINGE, LOSS_LOG, LOSS_SQ
from onlinekit.oco.omd import _kernels, _OMDBase

__all__ = ["OMDRegressor", "OMDClassifier"]

_SUPERVISED_HINTS = (None, "last", "extra-gradient")


class _LinearOMD(_OMDBase):
    """Shared implementation: weights ``w`` in the domain, optional unconstrained intercept."""

    _losses: dict = {}
    #: the feature index's names are only ever appended to (see ``OGD``)
    _append_only_state = ("features_",)

    @staticmethod
    def _default_domain():
        return geo.Unconstrained()

    def _dims_hint(self) -> int:
        dom = self.domain
        if isinstance(dom, geo.Box):
            for v in (dom.lo, dom.hi):
                if np.ndim(v) == 1:
                    return len(v)
        if isinstance(dom, geo.Polytope):
            return int(np.asarray(dom.A).shape[1])
        return 1

    def _validate(self) -> None:
        if self.loss not in self._losses:
            raise InvalidEvent(f"must be one of {sorted(self._losses)}, got {self.loss!r}", field="loss")
        if callable(self.hint) or self.hint not in _SUPERVISED_HINTS:
            raise InvalidEvent(f"must be one of {_SUPERVISED_HINTS} for a supervised learner, got {self.hint!r}",
                               field="hint")
        self._configure(self._dims_hint())
        if not self._closed:
            raise InvalidEvent("supervised OMD needs a closed-form (mirror, domain) pair; use OMD/OptimisticOMD "
                               "with loss objects for CVXPY domains", field="domain")

    def _reset(self) -> None:
        self._configure(self._dims_hint())
        self.iterates_ = np.zeros((4, 0))
        eta1 = _kernels()._eta(int(self._icfg[2]), 1.0, 0.0, 0.0, self._cfg)
        self.stats_ = np.array([0.0, eta1, 0.0, 0.0, 0.0])
        self._index = FeatureIndex()
        self.features_ = self._index.names

    def _after_load(self) -> None:
        self._index = FeatureIndex(self.features_)
        self.features_ = self._index.names
        d = self.iterates_.shape[1]
        self._configure(d if d else self._dims_hint())

    @property
    def weights(self) -> np.ndarray:
        """The weights used for the next prediction (the play point ``x_t``)."""
        return self.iterates_[1].copy()

    @property
    def intercept_value(self) -> float:
        return float(self.stats_[4])

    # -- dimension changes ---------------------------------------------------------------
    def _grown(self, d_new: int) -> np.ndarray:
        """Iterates for ``d_new`` features (without touching the state)."""
        V = self.iterates_
        d = V.shape[1]
        if d_new == d:
            return V.copy()
        if d == 0:
            self._configure(d_new)
            return self._initial_iterates(d_new)
        if not (self._domain.extendable and self._mirror.code != geo.MIRROR_ENTROPY):
            raise InvalidEvent(f"new feature(s) after {d} features, but the domain {self._domain!r} with "
                               f"{self._mirror!r} has a fixed dimension", field="x")
        W = np.zeros((4, d_new))
        W[:, :d] = V
        self._configure(d_new)
        return W

    def _label(self, y, field="y") -> float:
        return check_target(y, field)

    def _labels(self, y: np.ndarray) -> np.ndarray:
        return y

    # -- kernel call ---------------------------------------------------------------------
    def _call(self, X, y, V, st, learn):
        n = X.shape[0]
        vals, preds = np.empty(n), np.empty(n)
        icfg = self._icfg.copy()
        icfg[4] = self._losses[self.loss]
        icfg[5] = 1 if self.intercept else 0
        k = _kernels()
        if hasattr(k._omd_block, "compile"):
            bad = k._omd_block(X, y, self._noH_for(X.shape[1]), V, self._bounds, st, self._cfg, icfg,
                               learn, vals, preds)
        else:  # NUMBA_DISABLE_JIT: numpy scalars would warn where compiled code silently overflows
            with np.errstate(all="ignore"):
                bad = k._omd_block(X, y, self._noH_for(X.shape[1]), V, self._bounds, st, self._cfg, icfg,
                                   learn, vals, preds)
        if bad >= 0:
            raise InvalidEvent("non-finite value", field=f"X[{bad}]", offset=bad)
        return preds

    def _noH_for(self, d):
        if self._noH.shape[1] != d:
            self._noH = np.zeros((1, d))
        return self._noH

    def _score_one(self, x) -> float:
        d = self.iterates_.shape[1]
        v, _ = self._index.vector(x, grow=d == 0)
        if d == 0:
            # before the first update: the initial point for the features seen in x
            V = self._initial_iterates_for(len(v))
        else:
            V = self.iterates_.copy()
            if len(v) == 0:
                v = np.zeros(d)
        preds = self._call(np.ascontiguousarray(v[None, :]), np.zeros(1), V, self.stats_.copy(), False)
        return float(self._out(preds)[0])

    def _initial_iterates_for(self, d: int) -> np.ndarray:
        if d == 0:
            return np.zeros((4, 0))
        saved = (self._cfg, self._icfg, self._bounds, self._n, self._closed)
        try:
            self._configure(d)
            return self._initial_iterates(d)
        finally:
            self._cfg, self._icfg, self._bounds, self._n, self._closed = saved

    def learn_one(self, x, y, **kwargs) -> None:
        """One (optimistic) mirror-descent step on ``(x, y)``; rejected events change nothing."""
        yv = self._label(y)
        v, new = self._index.vector(x, grow=True)
        d = max(len(v), self.iterates_.shape[1])
        old_cfg = (self._cfg, self._icfg, self._bounds, self._n, self._closed)
        try:
            V = self._grown(d)
        except InvalidEvent:
            self._cfg, self._icfg, self._bounds, self._n, self._closed = old_cfg
            raise
        if len(v) < d:
            v = np.concatenate([v, np.zeros(d - len(v))])
        st = self.stats_.copy()
        self._call(np.ascontiguousarray(v[None, :]), np.array([yv]), V, st, True)
        self._index.add(new)
        self.iterates_, self.stats_ = V, st

    def _prepare_block(self, X, y):
        d = self.iterates_.shape[1]
        X, y = check_matrix(X, y, n_features=d)
        if y is not None:
            y = self._labels(y)
        V = self.iterates_.copy() if d else None
        return X, y, V

    def predict_many(self, X) -> np.ndarray:
        """Predictions of the current state for each row of ``X``."""
        X, _, V = self._prepare_block(X, None)
        if V is None:
            V = self._initial_iterates_for(X.shape[1])
        return self._out(self._call(X, np.zeros(X.shape[0]), V, self.stats_.copy(), False))

    def _out(self, preds: np.ndarray) -> np.ndarray:
        return preds

    def predict_learn_many(self, X, y, **kwargs) -> np.ndarray:
        """For each row in order: predict, then learn. Returns the predictions."""
        X, y, V = self._prepare_block(X, y)
        if V is None:
            self._configure(X.shape[1])
            V = self._initial_iterates(X.shape[1])
        st = self.stats_.copy()
        preds = self._call(X, y, V, st, True)
        if not self.iterates_.shape[1]:
            self._index.add([f"x{j}" for j in range(X.shape[1])])
        self.iterates_, self.stats_ = V, st
        return self._out(preds)

    def learn_many(self, X, y, **kwargs) -> None:
        """``learn_one`` over the rows of ``X`` in order (one kernel call)."""
        self.predict_learn_many(X, y)

    def _not_supervised(self):
        raise AttributeError("the OCO methods play/update/update_many are not part of the supervised API")

    play = property(_not_supervised)
    update = property(_not_supervised)
    update_many = property(_not_supervised)
    loss_at_play = property(_not_supervised)

    def _check_bad_events(self):
        from onlinekit.checks.drivers import default_bad_events, scenario

        return default_bad_events(self, scenario(self))


_SUP_PARAMS = """
    mirror
        :class:`~onlinekit.oco.Euclidean` (default), :class:`~onlinekit.oco.NegativeEntropy`
        (weights on a :class:`~onlinekit.oco.Simplex`) or :class:`~onlinekit.oco.PNorm`.
    domain
        Closed-form domain of the weights: :class:`~onlinekit.oco.Unconstrained` (default),
        :class:`~onlinekit.oco.L2Ball`, :class:`~onlinekit.oco.L1Ball`,
        :class:`~onlinekit.oco.Box` or :class:`~onlinekit.oco.Simplex`. New features may appear
        over time only for domains that contain the zero-padded weights (balls, boxes with
        scalar bounds around 0, the simplex, the whole space), where they start at weight 0,
        and not with the negative entropy (a zero weight would stay zero).
    lr, schedule, delta, strong_convexity
        Step size rule, as in :class:`~onlinekit.oco.OMD` (default: constant ``lr = 0.01``).
    hint
        ``None`` (plain OMD, default), ``"last"`` or ``"extra-gradient"`` (optimistic OMD:
        predictions use the hinted play point).
    intercept
        Learn an unconstrained intercept with plain gradient steps of the same ``eta_t``."""


class OMDRegressor(_LinearOMD, river_base.Regressor):

    protocol = "supervised"
    __doc__ = """Online mirror descent on a linear regressor (River regressor).

    Each event: predict ``<w_t, x> + b``, then one (optimistic) OMD round on the squared loss
    ``0.5 (<w, x> + b - y)^2`` (or the absolute-free hinge-free ``"squared"`` only).

    Parameters
    ----------
    loss
        ``"squared"``.""" + _SUP_PARAMS + """

    Attributes
    ----------
    iterates_ : ndarray, shape (4, n_features)
        Mirror point, play point (the weights), hint, last gradient.
    stats_ : ndarray, shape (5,)
        ``[t, eta_{t+1}, sum ||g||_*^2, sum ||g_s - g_{s-1}||_*^2, intercept]``.
    features_ : list
        Feature names in column order.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import OMDRegressor, L2Ball
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(3000, 3)); y = X @ np.array([0.5, -0.5, 0.2])
    >>> model = OMDRegressor(domain=L2Ball(1.0), lr=0.05)
    >>> preds = model.predict_learn_many(X, y)
    >>> np.round(model.weights, 2)
    array([ 0.5, -0.5,  0.2])

    Notes
    -----
    With the Euclidean map this is :class:`~onlinekit.oco.OGD` (``domain=L2Ball(r)`` is its
    ``radius=r``); the two give identical predictions and weights (tested). Regret bounds
    are those of :class:`~onlinekit.oco.OMD` for the convex losses ``w -> l(<w, x_t>, y_t)``.
    ``learn_many`` / ``predict_learn_many`` run one numba kernel over the rows in order, so
    they equal the ``learn_one`` loop bit for bit.

    References
    ----------
    .. [1] A. Beck, M. Teboulle. Mirror descent and nonlinear projected subgradient methods
       for convex optimization. Operations Research Letters, 2003.
    """

    _losses = {"squared": LOSS_SQ}

    def __init__(self, loss: str = "squared", mirror=None, domain=None, lr: float | None = 0.01,
                 schedule: str = "constant", hint=None, delta: float = 1.0,
                 strong_convexity: float | None = None, intercept: bool = True):
        self.loss = loss
        self.mirror = mirror
        self.domain = domain
        self.lr = lr
        self.schedule = schedule
        self.hint = hint
        self.delta = delta
        self.strong_convexity = strong_convexity
        self.intercept = intercept
        self._validate()
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"domain": geo.L2Ball(2.0), "lr": 0.5, "schedule": "variation", "hint": "last"}
        yield {"domain": geo.Simplex(2.0), "lr": 0.1, "intercept": False}
        yield {"domain": geo.L1Ball(3.0), "lr": 0.05, "schedule": "sqrt", "hint": "extra-gradient"}

    def predict_one(self, x) -> float:
        """Prediction ``<w_t, x> + b`` of the current state."""
        return self._score_one(x)


class OMDClassifier(_LinearOMD, river_base.Classifier):

    protocol = "supervised"
    __doc__ = """Online mirror descent on a linear binary classifier (River classifier).

    Parameters
    ----------
    loss
        ``"logistic"`` (predicts ``P(y = 1) = sigmoid(<w, x> + b)``) or ``"hinge"``
        (``P(y = 1)`` is reported as 1 when the score is >= 0, else 0).""" + _SUP_PARAMS + """

    Attributes
    ----------
    iterates_ : ndarray, shape (4, n_features)
        Mirror point, play point (the weights), hint, last gradient.
    stats_ : ndarray, shape (5,)
        ``[t, eta_{t+1}, sum ||g||_*^2, sum ||g_s - g_{s-1}||_*^2, intercept]``.
    features_ : list
        Feature names in column order.

    Examples
    --------
    >>> from onlinekit.oco import OMDClassifier, L2Ball
    >>> clf = OMDClassifier(domain=L2Ball(5.0), lr=0.5)
    >>> for _ in range(50):
    ...     clf.learn_one({"a": 1.0}, True)
    ...     clf.learn_one({"a": -1.0}, False)
    >>> clf.predict_one({"a": 2.0}), round(clf.predict_proba_one({"a": 2.0})[True], 2)
    (True, 1.0)

    Notes
    -----
    Labels are booleans or 0/1 (mapped to -1/+1 for the hinge loss). The logistic loss is
    convex and 1/4-smooth in the score, so the optimistic variants apply (Chen et al. 2023);
    the hinge loss is not smooth.

    References
    ----------
    .. [1] A. Beck, M. Teboulle. Mirror descent and nonlinear projected subgradient methods
       for convex optimization. Operations Research Letters, 2003.
    """

    _losses = {"logistic": LOSS_LOG, "hinge": LOSS_HINGE}

    def __init__(self, loss: str = "logistic", mirror=None, domain=None, lr: float | None = 0.01,
                 schedule: str = "constant", hint=None, delta: float = 1.0,
                 strong_convexity: float | None = None, intercept: bool = True):
        self.loss = loss
        self.mirror = mirror
        self.domain = domain
        self.lr = lr
        self.schedule = schedule
        self.hint = hint
        self.delta = delta
        self.strong_convexity = strong_convexity
        self.intercept = intercept
        self._validate()
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"loss": "hinge", "domain": geo.L2Ball(3.0), "lr": 0.1, "hint": "last", "schedule": "sqrt"}

    @property
    def _multiclass(self) -> bool:
        return False

    def _label(self, y, field="y") -> float:
        if not isinstance(y, (bool, np.bool_)) and y not in (0, 1):
            raise InvalidEvent(f"expected a boolean or 0/1 label, got {y!r}", field=field)
        v = float(bool(y))
        return 2.0 * v - 1.0 if self.loss == "hinge" else v

    def _labels(self, y: np.ndarray) -> np.ndarray:
        bad = (y != 0.0) & (y != 1.0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidEvent(f"expected 0/1 labels, got {y[i]!r}", field=f"y[{i}]", offset=i)
        return 2.0 * y - 1.0 if self.loss == "hinge" else y

    def _out(self, preds: np.ndarray) -> np.ndarray:
        if self.loss == "hinge":
            return (preds >= 0.0).astype(np.float64)
        return preds

    def predict_proba_one(self, x) -> dict:
        p = self._score_one(x)
        return {False: 1.0 - p, True: p}

    def predict_one(self, x) -> bool:
        return self._score_one(x) >= 0.5
