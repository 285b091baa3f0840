"""Streaming metrics: cumulative loss, accuracy, regret against the best fixed comparator in
hindsight, and per-group versions of each.

A metric consumes blocks of events in order (``update(y, pred, X=None, groups=None)``) and
reports scalars (``get()``). Running sums are accumulated strictly left to right, so the value
after ``n`` events does not depend on how the events were split into blocks -- which is what
makes a resumed replay identical to an uninterrupted one. Metric state round-trips through
``state_dict`` / ``load_state_dict`` like a learner's.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "ClassAccuracy",
    "Metric",
    "CumulativeLoss",
    "Accuracy",
    "Regret",
    "Grouped",
    "Fairness",
    "pointwise_loss",
    "default_metrics",
    "make_metric",
]

_LOSSES = ("squared", "absolute", "log", "zero_one")
_EPS = 1e-15


def pointwise_loss(loss: str, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per-event loss of predictions ``pred`` for targets ``y``.

    ``squared``: ``(p - y)^2``; ``absolute``: ``|p - y|``; ``log``: binary log-loss of
    ``P(y = 1) = p`` (clipped to ``[1e-15, 1 - 1e-15]``); ``zero_one``: ``1[(p >= 0.5) != y]``.

    Examples
    --------
    >>> import numpy as np
    >>> pointwise_loss("squared", np.array([1.0, 0.0]), np.array([0.5, 0.5])).tolist()
    [0.25, 0.25]
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if loss == "squared":
        return (p - y) ** 2
    if loss == "absolute":
        return np.abs(p - y)
    if loss == "log":
        q = np.clip(p, _EPS, 1.0 - _EPS)
        return -(y * np.log(q) + (1.0 - y) * np.log1p(-q))
    if loss == "zero_one":
        return ((p >= 0.5) != (y >= 0.5)).astype(np.float64)
    raise ValueError(f"unknown loss {loss!r}; expected one of {_LOSSES}")


def _seqsum(start: float, values: np.ndarray) -> float:
    """``start + v0 + v1 + ...`` strictly left to right (partition independent)."""
    if len(values) == 0:
        return float(start)
    return float(np.cumsum(np.concatenate(([start], values)))[-1])


class Metric(abc.ABC):
    """Base class: ``update`` blocks, ``get`` scalars, plain-data state."""

    name = "metric"
    #: Does ``update`` read ``X``? (A replay passes ``X=None`` to metrics that do not, so a
    #: block in sparse form is never made dense for them.)
    uses_X = True

    @abc.abstractmethod
    def update(self, y, pred, X=None, groups=None, **extra) -> None:
        """Consume a block of events in order (extra columns arrive as keywords)."""

    @abc.abstractmethod
    def get(self) -> dict[str, float]:
        """Current values."""

    def state_dict(self) -> dict[str, Any]:
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(self).items()
                if k.endswith("_")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v.copy() if isinstance(v, np.ndarray) else v)

    @abc.abstractmethod
    def fresh(self) -> Metric:
        """An empty metric with the same settings."""


class CumulativeLoss(Metric):
    """Total and mean loss of the progressive predictions.

    Examples
    --------
    >>> import numpy as np
    >>> m = CumulativeLoss("absolute")
    >>> m.update(np.array([1.0, 2.0]), np.array([0.0, 2.5]))
    >>> m.get()
    {'absolute_loss': 1.5, 'mean_absolute_loss': 0.75}
    """

    uses_X = False

    def __init__(self, loss: str = "squared"):
        if loss not in _LOSSES:
            raise ValueError(f"unknown loss {loss!r}; expected one of {_LOSSES}")
        self.loss = loss
        self.name = f"{loss}_loss"
        self.total_ = 0.0
        self.n_ = 0

    def fresh(self):
        return CumulativeLoss(self.loss)

    def update(self, y, pred, X=None, groups=None, **extra):
        self.total_ = _seqsum(self.total_, pointwise_loss(self.loss, y, pred))
        self.n_ += len(y)

    def get(self):
        mean = self.total_ / self.n_ if self.n_ else float("nan")
        return {f"{self.loss}_loss": self.total_, f"mean_{self.loss}_loss": mean}


class ClassAccuracy(Metric):
    """Fraction of events whose predicted class code equals the target code (multiclass).

    Examples
    --------
    >>> import numpy as np
    >>> m = ClassAccuracy()
    >>> m.update(np.array([0.0, 2.0, 1.0, 1.0]), np.array([0.0, 2.0, 2.0, -1.0]))
    >>> m.get()
    {'accuracy': 0.5}
    """

    name = "accuracy"
    uses_X = False

    def __init__(self):
        self.correct_ = 0
        self.n_ = 0

    def fresh(self):
        return ClassAccuracy()

    def update(self, y, pred, X=None, groups=None, **extra):
        y = np.asarray(y)
        self.correct_ += int(np.sum(np.asarray(pred) == y))
        self.n_ += len(y)

    def get(self):
        return {"accuracy": self.correct_ / self.n_ if self.n_ else float("nan")}


class Accuracy(Metric):
    """Fraction of events whose thresholded prediction equals the binary target.

    Examples
    --------
    >>> import numpy as np
    >>> m = Accuracy()
    >>> m.update(np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.2, 0.3]))
    >>> round(m.get()["accuracy"], 3)
    0.667
    """

    name = "accuracy"
    uses_X = False

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        self.correct_ = 0
        self.n_ = 0

    def fresh(self):
        return Accuracy(self.threshold)

    def update(self, y, pred, X=None, groups=None, **extra):
        y = np.asarray(y)
        self.correct_ += int(np.sum((np.asarray(pred) >= self.threshold) == (y >= 0.5)))
        self.n_ += len(y)

    def get(self):
        return {"accuracy": self.correct_ / self.n_ if self.n_ else float("nan")}


class Regret(Metric):
    """Regret against the best fixed linear predictor in hindsight.

    ``regret(t) = sum_{s<=t} loss(p_s, y_s) - min_w sum_{s<=t} loss(<w, x_s> (+ b), y_s)``
    over ``{||w||_2 <= radius}`` (unconstrained when ``radius`` is ``None``), with the same
    loss for learner and comparator: ``squared`` (comparator solved exactly from sufficient
    statistics, memory ``O(d^2)``) or ``log`` (logistic comparator; stores the features,
    memory ``O(t d)``). The comparator is computed when :meth:`get` is called, i.e. at the
    report's record points. Comparators come from :mod:`onlinekit.solvers.hindsight`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = X @ np.array([1.0, 2.0])
    >>> m = Regret("squared", intercept=False)
    >>> m.update(y, np.zeros(100), X)          # a learner that always predicts 0
    >>> r = m.get()
    >>> abs(r["regret"] - float(y @ y)) < 1e-9   # the comparator fits exactly: loss 0
    True
    """

    def __init__(self, loss: str = "squared", intercept: bool = True, radius: float | None = None,
                 ridge: float = 0.0):
        if loss not in ("squared", "log"):
            raise ValueError(f"regret supports loss 'squared' or 'log', got {loss!r}")
        self.loss = loss
        self.intercept = intercept
        self.radius = radius
        self.ridge = ridge
        self.name = "regret"
        self.learner_loss_ = 0.0
        self.n_ = 0
        self.XtX_ = None
        self.Xty_ = None
        self.yty_ = 0.0
        self.X_ = None
        self.y_ = None

    def fresh(self):
        return Regret(self.loss, self.intercept, self.radius, self.ridge)

    def _design(self, X, n):
        X = np.zeros((n, 0)) if X is None else np.asarray(X, dtype=np.float64)
        if self.intercept:
            X = np.hstack([X, np.ones((n, 1))])
        return X

    def update(self, y, pred, X=None, groups=None, **extra):
        y = np.asarray(y, dtype=np.float64)
        n = len(y)
        if n == 0:
            return
        self.learner_loss_ = _seqsum(self.learner_loss_, pointwise_loss(self.loss, y, pred))
        self.n_ += n
        Z = self._design(X, n)
        if self.loss == "squared":
            if self.XtX_ is None:
                d = Z.shape[1]
                self.XtX_, self.Xty_ = np.zeros((d, d)), np.zeros(d)
            from onlinekit._metric_kernels import _accumulate_gram

            G, b = self.XtX_.copy(), self.Xty_.copy()
            _accumulate_gram(G, b, np.ascontiguousarray(Z), y)
            self.XtX_, self.Xty_ = G, b
            self.yty_ = _seqsum(self.yty_, y * y)
        else:
            # kept as a list of blocks (concatenated when the comparator is solved)
            self.X_ = [Z.copy()] if self.X_ is None else [*self.X_, Z.copy()]
            self.y_ = [y.copy()] if self.y_ is None else [*self.y_, y.copy()]

    def comparator(self):
        """The hindsight :class:`~onlinekit.solvers.Solution` over the events so far."""
        from onlinekit.solvers import hindsight

        if self.loss == "squared":
            return hindsight.least_squares(self.XtX_, self.Xty_, self.yty_, self.n_,
                                           ridge=self.ridge, radius=self.radius)
        X, y = np.vstack(self.X_), np.concatenate(self.y_)
        self.X_, self.y_ = [X], [y]
        return hindsight.logistic(X, y, l2=self.ridge, radius=self.radius)

    def get(self):
        if self.n_ == 0:
            return {"regret": 0.0, "comparator_loss": 0.0}
        sol = self.comparator()
        return {"regret": self.learner_loss_ - sol.value, "comparator_loss": float(sol.value)}


class Grouped(Metric):
    """A metric computed separately on each group's subsequence (groups may intersect).

    Examples
    --------
    >>> import numpy as np
    >>> m = Grouped(CumulativeLoss("absolute"), ("a", "b"))
    >>> G = np.array([[True, False], [True, True]])
    >>> m.update(np.array([1.0, 1.0]), np.array([0.0, 0.5]), groups=G)
    >>> m.get()["absolute_loss[a]"], m.get()["absolute_loss[b]"]
    (1.5, 0.5)
    """

    def __init__(self, metric: Metric, group_names):
        self.metric = metric
        self.group_names = tuple(group_names)
        self.name = f"{metric.name}_by_group"
        self.parts_ = [metric.fresh() for _ in self.group_names]

    def fresh(self):
        return Grouped(self.metric.fresh(), self.group_names)

    @property
    def uses_X(self) -> bool:
        return getattr(self.metric, "uses_X", True)

    def update(self, y, pred, X=None, groups=None, **extra):
        if groups is None:
            raise ValueError("grouped metric needs group memberships")
        y, pred = np.asarray(y), np.asarray(pred)
        for j, part in enumerate(self.parts_):
            mask = groups[:, j]
            if mask.any():
                part.update(y[mask], pred[mask], None if X is None else X[mask])

    def get(self):
        out = {}
        for g, part in zip(self.group_names, self.parts_, strict=True):
            for k, v in part.get().items():
                out[f"{k}[{g}]"] = v
        return out

    def state_dict(self):
        return {"parts_": [p.state_dict() for p in self.parts_]}

    def load_state_dict(self, state):
        for p, s in zip(self.parts_, state["parts_"], strict=True):
            p.load_state_dict(s)


def _group_gap(num: np.ndarray, den: np.ndarray) -> float:
    """Largest minus smallest of ``num / den`` over groups with ``den > 0`` (0 if < 2)."""
    ok = den > 0
    if ok.sum() < 2:
        return 0.0
    r = num[ok] / den[ok]
    return float(r.max() - r.min())


class Fairness(Metric):
    """Group-fairness gaps of thresholded predictions across the ``sensitive`` column.

    Sensitive values (numbers or text) become groups in order of first appearance. Gaps are
    the largest minus the smallest group rate over the groups seen so far:
    demographic parity ``P(yhat = 1 | a)`` (``dp_gap``), true-positive rate
    (``tpr_gap``, equal opportunity) and false-positive rate (``fpr_gap``); ``eo_gap`` is the
    larger of the last two. Seven counters per group: memory does not grow with the stream.
    ``groups``: the sensitive values, fixed in advance (any other value is refused).
    :class:`onlinekit.fair.FairnessTracker` counts with this metric.

    Examples
    --------
    >>> import numpy as np
    >>> m = Fairness()
    >>> m.update(np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.9, 0.8, 0.2, 0.1]),
    ...          sensitive=np.array(["a", "a", "b", "b"], dtype=object))
    >>> r = m.get()
    >>> r["dp_gap"], r["tpr_gap"], r["fpr_gap"], r["eo_gap"]
    (1.0, 1.0, 1.0, 1.0)
    """

    name = "fairness"
    uses_X = False

    def __init__(self, threshold: float = 0.5, groups: Sequence | None = None):
        self.threshold = threshold
        self.groups = None if groups is None else tuple(groups)
        self.values_ = list(self.groups or ())
        self.counts_ = np.zeros((len(self.values_), 7), dtype=np.int64)  # n, pred1, correct, y1, tp, y0, fp

    def fresh(self):
        return Fairness(self.threshold, self.groups)

    def update(self, y, pred, X=None, groups=None, sensitive=None, **extra):
        if sensitive is None:
            raise ValueError("the fairness metric needs the sensitive column (replay --sensitive COL)")
        y = np.asarray(y) >= 0.5
        yhat = np.asarray(pred) >= self.threshold
        sens = np.asarray(sensitive)
        keys = [v.item() if isinstance(v, np.generic) else v for v in sens.tolist()]
        index = {v: i for i, v in enumerate(self.values_)}
        new = [v for v in dict.fromkeys(keys) if v not in index]
        if new and self.groups is not None:
            raise ValueError(f"sensitive value {new[0]!r} is none of the groups {list(self.groups)}")
        if new:
            self.values_ = [*self.values_, *new]
            index = {v: i for i, v in enumerate(self.values_)}
            self.counts_ = np.vstack([self.counts_, np.zeros((len(new), 7), dtype=np.int64)])
        g = np.fromiter((index[v] for v in keys), dtype=np.int64, count=len(keys))
        cols = [np.ones_like(y), yhat, yhat == y, y, yhat & y, ~y, yhat & ~y]
        counts = self.counts_.copy()
        for c, v in enumerate(cols):
            counts[:, c] += np.bincount(g, weights=v.astype(np.int64), minlength=len(self.values_)).astype(np.int64)
        self.counts_ = counts

    def gaps(self) -> dict[str, float]:
        """``dp_gap``, ``tpr_gap``, ``fpr_gap`` and ``eo_gap`` over the groups seen."""
        c = self.counts_
        dp, tpr, fpr = _group_gap(c[:, 1], c[:, 0]), _group_gap(c[:, 4], c[:, 3]), _group_gap(c[:, 6], c[:, 5])
        return {"dp_gap": dp, "tpr_gap": tpr, "fpr_gap": fpr, "eo_gap": max(tpr, fpr)}

    def get(self):
        c = self.counts_
        out = self.gaps()
        for v, row in zip(self.values_, c, strict=True):
            if row[0]:
                out[f"accuracy[{self.name}={v}]"] = float(row[2] / row[0])
        return out

    def state_dict(self):
        return {"values_": list(self.values_), "counts_": self.counts_.copy()}


def make_metric(spec: str, *, task: str = "regression", group_names=(), radius=None) -> list[Metric]:
    """Metrics from a short name (used by the CLI).

    ``loss`` (the task's loss), ``accuracy``, ``regret``, ``squared``/``absolute``/``log``/
    ``zero_one``; with ``group_names`` each also gets a per-group version. For the
    ``multiclass`` task (predictions and targets are class codes) only ``accuracy`` applies
    (``loss`` means it too).
    """
    loss = "log" if task == "classification" else "squared"
    if task == "multiclass":
        if spec not in ("loss", "accuracy"):
            raise ValueError(f"metric {spec!r} does not apply to class labels; multiclass replays report accuracy")
        base: Metric = ClassAccuracy()
        return [base] + ([Grouped(base.fresh(), group_names)] if group_names else [])
    if spec == "loss":
        base: Metric = CumulativeLoss(loss)
    elif spec == "accuracy":
        base = Accuracy()
    elif spec == "regret":
        base = Regret(loss, radius=radius)
    elif spec == "fairness":
        return [Fairness()]
    elif spec in _LOSSES:
        base = CumulativeLoss(spec)
    else:
        raise ValueError(f"unknown metric {spec!r}; expected loss, accuracy, regret, fairness or one of {_LOSSES}")
    out = [base]
    if group_names:
        out.append(Grouped(base.fresh(), group_names))
    return out


def default_metrics(task: str, group_names=(), sensitive: bool = False) -> list[Metric]:
    """Loss (+ accuracy for classification), overall and per group; fairness gaps when the
    stream has a sensitive column and the task is classification."""
    specs = {"classification": ["loss", "accuracy"], "multiclass": ["accuracy"]}.get(task, ["loss"])
    out: list[Metric] = []
    for s in specs:
        out += make_metric(s, task=task, group_names=group_names)
    if sensitive and task == "classification":
        out.append(Fairness())
    return out
