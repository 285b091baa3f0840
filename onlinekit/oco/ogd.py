"""Projected online gradient descent for linear models (squared or logistic loss)."""

from __future__ import annotations

import numpy as np
from river import base as river_base

from onlinekit.base import Diverged, InvalidEvent, Learner
from onlinekit.oco._features import FeatureIndex, check_target

__all__ = ["OGD", "OGDClassifier"]

_LOSSES = {"squared": 0, "logistic": 1}
_SCHEDULES = {"constant": 0, "sqrt": 1}


_K = None
_F64 = np.dtype(np.float64)
_PREDICT = None  # entry points of the per-event kernels (see onlinekit._numba.entry_point)
_LEARN = None


def _kernels():
    """The kernels module, imported on first use (keeps ``import onlinekit.oco`` light)."""
    global _K, _PREDICT, _LEARN
    if _K is None:
        from numba import types

        from onlinekit._numba import entry_point
        from onlinekit.oco import _ogd_kernels

        vec = types.float64[::1]
        _PREDICT = entry_point(_ogd_kernels._predict_one, (vec, vec, vec, vec))
        _LEARN = entry_point(_ogd_kernels._learn_one, (vec, types.float64, vec, vec, vec))
        _K = _ogd_kernels
    return _K


def _fast(x, w) -> bool:
    """``x`` is a contiguous float64 vector matching ``w``: the exact kernel signature."""
    return type(x) is np.ndarray and x.dtype is _F64 and x.shape == w.shape and x.strides == _UNIT


_UNIT = (8,)
_FLOATS = (float, np.float64)


class _LinearOGD(Learner):
    """Shared implementation of :class:`OGD` and :class:`OGDClassifier`."""

    #: every update that would make the weights non-finite is refused (:class:`Diverged`)
    refuses_nonfinite = True
    #: state lists only ever appended to in place (the feature index's names): a consistent
    #: copy of them is their length, read under the serving lock, then a slice taken later
    _append_only_state = ("features_",)

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
        self.bt_ = np.zeros(2)  # [intercept, number of updates]
        self._index = FeatureIndex()
        self.features_ = self._index.names  # shared list: the index appends to it
        self._hp = np.array([
            float(self.lr),
            float(_SCHEDULES[self.schedule]),
            float(_LOSSES[self.loss]),
            float(self.radius) if self.radius is not None else -1.0,
            float(self.l2),
            1.0 if self.intercept else 0.0,
        ])

    def _after_load(self) -> None:
        self._index = FeatureIndex(self.features_)
        self.features_ = self._index.names

    @property
    def n_features_in_(self) -> int:
        """Number of features (weights) so far."""
        return len(self.w_)

    def grow_features(self, names) -> None:
        """Extend the model to the features ``names`` (the current ones first), new ones at
        weight 0 -- exactly the state ``learn_one`` reaches when a new dict key appears, so
        a replay whose encoder adds columns (a new category level) stays exact.

        Examples
        --------
        >>> m = OGD(lr=0.1)
        >>> m.learn_many(np.ones((3, 2)), np.ones(3))
        >>> m.grow_features(["x0", "x1", "colour=red"])
        >>> m.features_, float(m.w_[2])
        (['x0', 'x1', 'colour=red'], 0.0)
        """
        names = list(names)
        d = len(self.w_)
        if len(names) < d:
            raise InvalidEvent(f"cannot shrink from {d} to {len(names)} features", field="names")
        if len(names) == d:
            return
        self._index.add(names[d:])
        self.w_ = np.concatenate([self.w_, np.zeros(len(names) - d)])

    @property
    def b_(self) -> float:
        """Intercept."""
        return float(self.bt_[0])

    @property
    def t_(self) -> int:
        """Number of updates so far."""
        return int(self.bt_[1])

    # -- validation errors from kernel return codes ----------------------------------------
    def _raise(self, code: int, row: int | None = None, y=None) -> None:
        k = _kernels()
        where = "" if row is None else f"[{row}]"
        if code == k.BAD_Y:
            raise InvalidEvent(f"non-finite value {y!r}", field=f"y{where}", offset=row)
        if code == k.BAD_LABEL:
            raise InvalidEvent(f"logistic loss needs labels in {{0, 1}}, got {y!r}", field=f"y{where}", offset=row)
        if code == k.DIVERGED:
            raise Diverged("the update would make the weights non-finite (not applied)", field=f"y{where}", offset=row)
        field = f"x[{code}]" if row is None else f"X[{row}, {code}]"
        raise InvalidEvent("non-finite value", field=field, offset=row)

    # -- River API -----------------------------------------------------------------------
    def _score_sparse(self, x: dict) -> float:
        """``b + <w, x>`` for a dict event, over its known keys only (a model with a million
        features is not densified for a ten-key event): the kernel's left-to-right sum over
        the non-zero terms in column order, which equals the dense sum (zero terms add
        nothing, up to the sign of a zero score), then the same link."""
        d = len(self.w_)
        terms = [(j, v) for j, v in self._index.known(x) if j < d]
        w = self.w_
        z = float(self.bt_[0])
        for j, v in terms:
            z += float(w[j]) * v
        if self._hp[2] != 1.0:  # not logistic: the identity link
            return z
        return float(_kernels()._sigmoid(z))  # the kernel's own sigmoid: bit for bit the dense path

    def _score_one(self, x) -> float:
        w = self.w_
        if type(x) is dict and len(x) * 8 < len(w):
            return self._score_sparse(x)
        if _fast(x, w):
            _K or _kernels()
            p = _PREDICT(x, w, self.bt_, self._hp)
            if p == p:
                return p
            v = x
        else:
            v, _ = self._index.vector(x, grow=False)
            if v.shape[0] != w.shape[0]:
                v = np.zeros(w.shape[0])
            p = _kernels()._predict_one(np.ascontiguousarray(v), w, self.bt_, self._hp)
        if p != p and not np.isfinite(v).all():  # NaN from diverged weights is a prediction
            j = int(np.flatnonzero(~np.isfinite(v))[0])
            raise InvalidEvent("non-finite value", field=f"x[{j}]")
        return p

    def predict_one(self, x) -> float:
        """Prediction for ``x`` (``P(y = 1)`` for the logistic loss)."""
        w = self.w_
        if (_PREDICT is not None and type(x) is np.ndarray and x.dtype is _F64 and x.shape == w.shape
                and x.strides == _UNIT):
            p = _PREDICT(x, w, self.bt_, self._hp)
            if p == p:
                return p
        return self._score_one(x)

    def learn_one(self, x, y, **kwargs) -> None:
        """One gradient step on ``(x, y)``; the state is unchanged if the event is invalid."""
        w = self.w_
        if (type(x) is np.ndarray and x.dtype is _F64 and x.shape == w.shape and x.strides == _UNIT
                and w.shape[0] and type(y) in _FLOATS):
            if _LEARN is None:
                _kernels()
            code = _LEARN(x, y, w, self.bt_, self._hp)  # the kernel validates before updating
            if code != -1:
                self._raise(code, y=y)
            return
        yv = check_target(y)
        v, new = self._index.vector(x, grow=True)
        if not new and len(v) == len(w) and len(w) and v.dtype is _F64 and v.strides == _UNIT and type(yv) is float:
            # only known names (the usual dict event): in place, as the array path above
            if _LEARN is None:
                _kernels()
            code = _LEARN(v, yv, w, self.bt_, self._hp)
            if code != -1:
                self._raise(code, y=yv)
            return
        if len(v) > len(w):
            w = np.concatenate([w, np.zeros(len(v) - len(w))])
        elif len(v) < len(w):
            v = np.concatenate([v, np.zeros(len(w) - len(v))])
        bt = self.bt_.copy()
        w2 = w.copy() if w is self.w_ else w  # work on copies: a rejected event changes nothing
        code = _kernels()._learn_one(v, yv, w2, bt, self._hp)
        if code != -1:
            self._raise(code, y=yv)
        self._index.add(new)
        self.w_, self.bt_ = w2, bt

    # -- blocks --------------------------------------------------------------------------
    def _block(self, X, y, learn: bool) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise InvalidEvent(f"expected a 2-d array, got shape {X.shape}", field="X")
        if X.dtype.kind not in "fiub":
            raise InvalidEvent(f"expected numbers, got dtype {X.dtype}", field="X")
        X = np.ascontiguousarray(X, dtype=np.float64)
        d = len(self.w_)
        if d and X.shape[1] != d:
            raise InvalidEvent(f"expected {d} features, got {X.shape[1]}", field="X")
        if learn:
            y = np.asarray(y)
            if y.shape != (X.shape[0],) or y.dtype.kind not in "fiub":
                raise InvalidEvent(f"expected {X.shape[0]} numbers, got shape {y.shape}, dtype {y.dtype}", field="y")
            y = np.ascontiguousarray(y, dtype=np.float64)
        else:
            y = np.zeros(X.shape[0])
        w = self.w_.copy() if d else np.zeros(X.shape[1])
        bt = self.bt_.copy()
        out = np.empty(X.shape[0])
        row, code = _kernels()._predict_learn_block(X, y, w, bt, self._hp, learn, out)
        if row >= 0:
            if not learn:
                raise InvalidEvent("non-finite value", field=f"X[{row}, {code}]", offset=row)
            self._raise(code, row=row, y=y[row])
        if learn:
            if not d:
                self._index.add([f"x{j}" for j in range(X.shape[1])])
            self.w_, self.bt_ = w, bt
        return out

    def predict_learn_onehot(self, numeric, onehot, y, width: int, **kwargs) -> np.ndarray:
        """:meth:`predict_learn_many` on features given in sparse form, bit for bit.

        The features of row ``i`` are ``numeric[i]`` (columns ``0 .. p - 1``), 1.0 in each
        column ``onehot[i, q] >= 0`` and 0.0 in the other of the ``width`` columns (a
        :class:`~onlinekit.streams.block.Block` from a categorical encoder). Weights of the
        zero columns are left alone where that is exact (``l2 = 0``, no ``radius``; see
        ``_ogd_kernels._predict_learn_onehot``), so a step costs O(p + k), not O(width).

        Examples
        --------
        >>> import numpy as np
        >>> num = np.array([[0.5], [-1.0], [2.0]]); hot = np.array([[1, 3], [2, -1], [1, 2]])
        >>> a, b = OGD(lr=0.1), OGD(lr=0.1)
        >>> pa = a.predict_learn_onehot(num, hot, np.array([1.0, 0.0, 2.0]), 4)
        >>> X = np.array([[0.5, 1, 0, 1], [-1.0, 0, 1, 0], [2.0, 1, 1, 0]])
        >>> pb = b.predict_learn_many(X, np.array([1.0, 0.0, 2.0]))
        >>> pa.tolist() == pb.tolist(), a.w_.tolist() == b.w_.tolist()
        (True, True)
        """
        numeric = np.asarray(numeric)
        onehot = np.asarray(onehot)
        if numeric.ndim != 2 or numeric.dtype.kind not in "fiub":
            raise InvalidEvent(f"expected a 2-d array of numbers, got shape {numeric.shape}, dtype {numeric.dtype}",
                               field="numeric")
        n = numeric.shape[0]
        if onehot.ndim != 2 or onehot.shape[0] != n or onehot.dtype.kind not in "iu":
            raise InvalidEvent(f"expected {n} rows of integer column indices, got shape {onehot.shape}, "
                               f"dtype {onehot.dtype}", field="onehot")
        width = int(width)
        d = len(self.w_)
        if d and width != d:
            raise InvalidEvent(f"expected {d} features, got {width}", field="width")
        if width < numeric.shape[1]:
            raise InvalidEvent(f"width {width} is less than the {numeric.shape[1]} numeric columns", field="width")
        y = np.asarray(y)
        if y.shape != (n,) or y.dtype.kind not in "fiub":
            raise InvalidEvent(f"expected {n} numbers, got shape {y.shape}, dtype {y.dtype}", field="y")
        numeric = np.ascontiguousarray(numeric, dtype=np.float64)
        onehot = np.ascontiguousarray(onehot, dtype=np.int64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        w = self.w_.copy() if d else np.zeros(width)
        bt = self.bt_.copy()
        out = np.empty(n)
        k = _kernels()
        row, code = k._predict_learn_onehot(numeric, onehot, y, w, bt, self._hp, out)
        if row >= 0:
            if code == k.BAD_INDEX:
                raise InvalidEvent(f"one-hot column outside [{numeric.shape[1]}, {width}): "
                                   f"{onehot[row].tolist()}", field=f"onehot[{row}]", offset=row)
            self._raise(code, row=row, y=y[row])
        if not d:
            self._index.add([f"x{j}" for j in range(width)])
        self.w_, self.bt_ = w, bt
        return out

    def predict_many(self, X) -> np.ndarray:
        """Predictions of the current state for each row of ``X``."""
        return self._block(X, None, learn=False)

    def predict_learn_many(self, X, y, **kwargs) -> np.ndarray:
        """For each row in order: predict, then learn. Returns the predictions."""
        return self._block(X, y, learn=True)

    def learn_many(self, X, y, **kwargs) -> None:
        """``learn_one`` over the rows of ``X`` in order (one kernel call)."""
        self._block(X, y, learn=True)


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
    bt_ : ndarray
        ``[b, t]``: the intercept and the number of updates (read them as ``b_`` and ``t_``).
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

    protocol = "supervised"

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
        # River's check_estimator learns TrumpApproval's raw features (||x||^2 up to 5e11):
        # unprojected constant steps diverge there (and are refused), so the ball bounds w
        yield {"radius": 1.0}
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

    protocol = "supervised"

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
