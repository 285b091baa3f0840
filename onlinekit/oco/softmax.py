"""Multiclass logistic (softmax) regression trained by online gradient descent."""

from __future__ import annotations

import numbers

import numpy as np
from river import base as river_base

from onlinekit.base import Diverged, InvalidEvent, Learner
from onlinekit.oco._features import FeatureIndex

__all__ = ["OGDMulticlass"]

_SCHEDULES = {"constant": 0, "sqrt": 1}


def _kernels():
    from onlinekit.oco import _softmax_kernels

    return _softmax_kernels


def _check_label(y):
    if isinstance(y, (bool, np.bool_)):
        return bool(y)
    if isinstance(y, numbers.Integral):
        return int(y)
    if isinstance(y, str):
        return y
    if isinstance(y, numbers.Real) and np.isfinite(float(y)):
        return float(y)
    raise InvalidEvent(f"expected a class label (text, integer or number), got {y!r}", field="y")


class OGDMulticlass(Learner, river_base.Classifier):
    r"""Softmax regression over the classes seen so far, one gradient step per event.

    With ``k`` classes seen (in order of first appearance) the model scores class ``c`` as
    ``z_c = w_c . x + b_c`` and predicts ``p = softmax(z)``. On event ``(x, y)`` (``y`` joins
    the classes if new, with zero weights), the step on the log loss ``-log p_y`` is

    .. math::  w_c \leftarrow (1 - \eta_t \lambda) w_c - \eta_t (p_c - [c = y])\, x,
               \qquad b_c \leftarrow b_c - \eta_t (p_c - [c = y])

    for every seen class ``c``, with ``eta_t = lr`` (``schedule="constant"``) or
    ``lr / sqrt(t + 1)`` (``"sqrt"``, ``t`` = updates so far) and ``lambda = l2``. An update
    that would make a weight non-finite is refused (:class:`~onlinekit.base.Diverged`).

    Parameters
    ----------
    lr : float
        Step size.
    schedule : {"sqrt", "constant"}
    l2 : float
        Ridge penalty on the weights (not the intercepts).
    intercept : bool

    Attributes
    ----------
    classes_ : list
        Class labels in order of first appearance (class code ``c`` is ``classes_[c]``).
    W_, b_ : ndarray
        Weights ``(len(classes_), n_features)`` and intercepts.

    Examples
    --------
    >>> m = OGDMulticlass(lr=0.5)
    >>> for _ in range(30):
    ...     m.learn_one({"a": 1.0, "b": 0.0}, "red")
    ...     m.learn_one({"a": 0.0, "b": 1.0}, "blue")
    ...     m.learn_one({"a": -1.0, "b": -1.0}, "green")
    >>> m.predict_one({"a": 2.0, "b": 0.0}), m.classes_
    ('red', ['red', 'blue', 'green'])
    >>> round(sum(m.predict_proba_one({"a": 0.0, "b": 0.0}).values()), 12)
    1.0
    """

    #: the feature index's names are only ever appended to (see ``OGD``)
    _append_only_state = ("features_",)

    protocol = "supervised"
    #: every update that would make the weights non-finite is refused (:class:`Diverged`)
    refuses_nonfinite = True

    def __init__(self, lr: float = 0.5, schedule: str = "sqrt", l2: float = 0.0, intercept: bool = True):
        self.lr = lr
        self.schedule = schedule
        self.l2 = l2
        self.intercept = intercept
        if schedule not in _SCHEDULES:
            raise InvalidEvent(f"must be one of {sorted(_SCHEDULES)}, got {schedule!r}", field="schedule")
        if isinstance(lr, bool) or not (isinstance(lr, numbers.Real) and 0 < lr < float("inf")):
            raise InvalidEvent(f"must be a finite number > 0, got {lr!r}", field="lr")
        if isinstance(l2, bool) or not (isinstance(l2, numbers.Real) and 0 <= l2 < float("inf")):
            raise InvalidEvent(f"must be a finite number >= 0, got {l2!r}", field="l2")
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"lr": 0.1, "schedule": "constant", "l2": 0.01}

    def _check_stream(self, seed):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(60, 3))
        lab = np.argmax(X @ rng.normal(size=(3, 3)), axis=1)
        code: dict = {}  # integer labels in order of first appearance: also the block path's codes
        return [(X[i].copy(), code.setdefault(int(lab[i]), len(code)), {}) for i in range(60)]

    def _reset(self) -> None:
        self.W_ = np.zeros((0, 0))
        self.b_ = np.zeros(0)
        self.st_ = np.zeros(2)  # [updates, active classes]
        self.classes_: list = []
        self._index = FeatureIndex()
        self.features_ = self._index.names
        self._hp = np.array([float(self.lr), float(_SCHEDULES[self.schedule]), float(self.l2),
                             1.0 if self.intercept else 0.0])

    def _after_load(self) -> None:
        self._index = FeatureIndex(self.features_)
        self.features_ = self._index.names

    @property
    def _multiclass(self) -> bool:
        return True

    @property
    def n_features_in_(self) -> int:
        return self.W_.shape[1]

    # -- growth ----------------------------------------------------------------------------
    def grow_features(self, names) -> None:
        """Extend to the features ``names`` (current ones first) at weight 0."""
        names = list(names)
        d = self.W_.shape[1]
        if len(names) < d:
            raise InvalidEvent(f"cannot shrink from {d} to {len(names)} features", field="names")
        if len(names) > d:
            self._index.add(names[d:])
            self.W_ = np.hstack([self.W_, np.zeros((self.W_.shape[0], len(names) - d))])

    def grow_classes(self, labels) -> None:
        """Name the class codes of a block replay: ``labels`` (current classes first); codes
        past the active ones become active at their first event, as in :meth:`learn_one`."""
        labels = [_check_label(v) for v in labels]
        if labels[:len(self.classes_)] != self.classes_:
            raise InvalidEvent(f"class list {labels[:len(self.classes_)]} does not extend {self.classes_}",
                               field="labels")
        extra = len(labels) - self.W_.shape[0]
        if extra > 0:
            self.W_ = np.vstack([self.W_, np.zeros((extra, self.W_.shape[1]))])
            self.b_ = np.concatenate([self.b_, np.zeros(extra)])
        self.classes_ = labels

    # -- per event ---------------------------------------------------------------------------
    def _vector(self, x, grow: bool):
        v, new = self._index.vector(x, grow=grow)
        d = self.W_.shape[1]
        if len(v) < d:
            v = np.concatenate([v, np.zeros(d - len(v))])
        return np.ascontiguousarray(v, dtype=np.float64), new

    def predict_proba_one(self, x) -> dict:
        k = int(self.st_[1])
        if k == 0:
            return {}
        v, _ = self._vector(x, grow=False)
        z = self.W_[:k] @ v + self.b_[:k]
        z = np.exp(z - z.max())
        p = z / z.sum()
        return {self.classes_[c]: float(p[c]) for c in range(k)}

    def predict_one(self, x):
        k = int(self.st_[1])
        if k == 0:
            return None
        v, _ = self._vector(x, grow=False)
        out = np.empty(1)
        row, code = _kernels().predict_learn_block(v[None, :], np.zeros(1), self.W_, self.b_, self.st_,
                                                   self._hp, False, out)
        if row >= 0:
            raise InvalidEvent("non-finite value", field=f"x[{code}]")
        return self.classes_[int(out[0])]

    def learn_one(self, x, y, **kwargs) -> None:
        """One gradient step on ``(x, y)``; the state is unchanged if the event is refused."""
        label = _check_label(y)
        v, new = self._vector(x, grow=True)
        W, b = self.W_, self.b_
        if len(v) > W.shape[1]:
            W = np.hstack([W, np.zeros((W.shape[0], len(v) - W.shape[1]))])
        try:
            code = self.classes_.index(label)
        except ValueError:
            code = len(self.classes_)
        if code >= W.shape[0]:
            W = np.vstack([W, np.zeros((1, W.shape[1]))])
            b = np.concatenate([b, np.zeros(1)])
        W = W.copy() if W is self.W_ else W
        b = b.copy() if b is self.b_ else b
        st = self.st_.copy()
        if code > int(st[1]):  # a block replay named classes not yet active: only the next may start
            raise InvalidEvent(f"class {label!r} comes after classes not yet seen", field="y")
        row, bad = _kernels().predict_learn_block(v[None, :], np.array([float(code)]), W, b, st, self._hp, True,
                                                  np.empty(1))
        self._raise(row, bad, label)
        self._index.add(new)
        if code == len(self.classes_):
            self.classes_.append(label)
        self.W_, self.b_, self.st_ = W, b, st

    def _raise(self, row, code, y, offset=None) -> None:
        if row < 0:
            return
        k = _kernels()
        where = "" if offset is None else f"[{row}]"
        if code == k.DIVERGED:
            raise Diverged("the update would make the weights non-finite (not applied)", field=f"y{where}",
                           offset=offset)
        if code == k.BAD_LABEL:
            raise InvalidEvent(f"class code {y!r} is not a known class or the next new one", field=f"y{where}",
                               offset=offset)
        raise InvalidEvent("non-finite value", field=f"X[{row}, {code}]" if offset is not None else f"x[{code}]",
                           offset=offset)

    # -- blocks --------------------------------------------------------------------------------
    def predict_learn_many(self, X, y, **kwargs) -> np.ndarray:
        """Predicted class codes (``-1`` before any class), then a step, per row in order.

        ``y`` holds class *codes*: ``c`` is ``classes_[c]`` (name them first with
        :meth:`grow_classes`; an unnamed class is named by its code), and a code past the
        active classes must be the next new one.
        Bit for bit the :meth:`learn_one` loop. On a refused row nothing is applied.
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.dtype.kind not in "fiub":
            raise InvalidEvent(f"expected a 2-d array of numbers, got shape {X.shape}", field="X")
        X = np.ascontiguousarray(X, dtype=np.float64)
        y = np.ascontiguousarray(np.asarray(y, dtype=np.float64))
        if y.shape != (X.shape[0],):
            raise InvalidEvent(f"expected {X.shape[0]} class codes, got shape {y.shape}", field="y")
        d = self.W_.shape[1]
        if d and X.shape[1] != d:
            raise InvalidEvent(f"expected {d} features, got {X.shape[1]}", field="X")
        W = self.W_.copy() if d else np.zeros((self.W_.shape[0], X.shape[1]))
        b, st = self.b_.copy(), self.st_.copy()
        k_new = int(y.max()) + 1 if len(y) and np.isfinite(y).all() else 0
        if k_new > int(st[1]) + len(y):  # each row can start at most one new class
            row = int(np.argmax(y >= st[1] + len(y)))
            self._raise(row, _kernels().BAD_LABEL, y[row], offset=row)
        if k_new > W.shape[0]:  # room for codes not named yet (each still becomes active at its event)
            W = np.vstack([W, np.zeros((k_new - W.shape[0], W.shape[1]))])
            b = np.concatenate([b, np.zeros(k_new - b.shape[0])])
        out = np.empty(X.shape[0])
        row, code = _kernels().predict_learn_block(X, y, W, b, st, self._hp, True, out)
        if row >= 0:
            self._raise(row, code, y[row], offset=row)
        if not d:
            self._index.add([f"x{j}" for j in range(X.shape[1])])
        self.classes_ = self.classes_ + list(range(len(self.classes_), int(st[1])))
        self.W_, self.b_, self.st_ = W, b, st
        return out
