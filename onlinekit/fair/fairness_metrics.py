"""Streaming group-fairness metrics: demographic parity, equalized odds, per-group accuracy."""

from __future__ import annotations

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.metrics import Fairness

__all__ = ["FairnessTracker", "fairness_summary", "cumulative_fairness"]


class FairnessTracker:
    """Running accuracy and group-fairness gaps of hard binary predictions.

    The arrays API of :class:`onlinekit.metrics.Fairness` (which does the counting) for
    groups ``0 .. n_groups - 1``, with per-group accuracy and positive rate.

    Holds seven counters per group, so memory is independent of the stream length. Gaps are
    the largest minus the smallest group rate over the groups seen (for two groups:
    ``|rate_1 - rate_0|``):

    * demographic parity: ``P(yhat = 1 | a)``;
    * equalized odds: true-positive rate ``P(yhat = 1 | y = 1, a)`` (equal opportunity) and
      false-positive rate ``P(yhat = 1 | y = 0, a)``; ``eo_gap`` is the larger of the two;
    * per-group accuracy.

    Parameters
    ----------
    n_groups
        Number of sensitive groups (values ``0 .. n_groups - 1``).

    Examples
    --------
    >>> from onlinekit.fair import FairnessTracker
    >>> m = FairnessTracker()
    >>> for y, yhat, a in [(1, 1, 1), (0, 1, 1), (1, 0, 0), (0, 0, 0)]:
    ...     m.update(y, yhat, a)
    >>> r = m.get()
    >>> r["accuracy"], r["dp_gap"], r["tpr_gap"], r["fpr_gap"], r["group_accuracy"]
    (0.5, 1.0, 1.0, 1.0, [0.5, 0.5])
    """

    def __init__(self, n_groups: int = 2):
        if isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer)) or n_groups < 2:
            raise InvalidEvent(f"must be an integer >= 2, got {n_groups!r}", field="n_groups")
        self.n_groups = n_groups
        # the counting is the replay metric's (groups fixed to 0 .. n_groups - 1)
        self._metric = Fairness(threshold=0.5, groups=range(int(n_groups)))

    @property
    def counts(self) -> np.ndarray:
        """Per-group counters: n, pred1, correct, y1, tp, y0, fp."""
        return self._metric.counts_

    def update(self, y_true, y_pred, sensitive) -> None:
        """Add one event (labels and prediction 0/1 or bool; ``sensitive`` a group index)."""
        self.update_many(np.array([y_true]), np.array([y_pred]), np.array([sensitive]))

    def update_many(self, y_true, y_pred, sensitive) -> None:
        """Add a block of events (arrays of the same length)."""
        y = np.asarray(y_true)
        p = np.asarray(y_pred)
        a = np.asarray(sensitive)
        if not (y.ndim == p.ndim == a.ndim == 1 and len(y) == len(p) == len(a)):
            raise InvalidEvent("y_true, y_pred and sensitive must be 1-d of one length", field="y_pred")
        for name, v in (("y_true", y), ("y_pred", p)):
            if v.dtype.kind not in "biuf" or not np.isin(v, (0, 1)).all():
                raise InvalidEvent("expected binary values (0/1 or bool)", field=name)
        if a.dtype.kind not in "biuf" or not np.isin(a, np.arange(self.n_groups)).all():
            raise InvalidEvent(f"expected group indices in 0..{self.n_groups - 1}", field="sensitive")
        self._metric.update(y.astype(np.float64), p.astype(np.float64), sensitive=a.astype(np.int64))

    def get(self) -> dict:
        """Current values: ``n``, ``accuracy``, ``dp_gap``, ``tpr_gap``, ``fpr_gap``, ``eo_gap``,
        ``group_accuracy``, ``group_positive_rate``, ``group_n``."""
        c = self.counts.astype(np.float64)
        n = c[:, 0]
        tot = n.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            gacc = np.where(n > 0, c[:, 2] / np.maximum(n, 1), np.nan)
            gpos = np.where(n > 0, c[:, 1] / np.maximum(n, 1), np.nan)
        return {
            "n": int(tot),
            "accuracy": float(c[:, 2].sum() / tot) if tot else float("nan"),
            **self._metric.gaps(),
            "group_accuracy": [float(v) for v in gacc],
            "group_positive_rate": [float(v) for v in gpos],
            "group_n": [int(v) for v in n],
        }


def fairness_summary(y_true, y_pred, sensitive, n_groups: int = 2) -> dict:
    """:meth:`FairnessTracker.get` over whole arrays.

    Examples
    --------
    >>> from onlinekit.fair import fairness_summary
    >>> r = fairness_summary([1, 0, 1, 0], [1, 1, 1, 0], [1, 1, 0, 0])
    >>> r["accuracy"], r["dp_gap"]
    (0.75, 0.5)
    """
    m = FairnessTracker(n_groups)
    m.update_many(y_true, y_pred, sensitive)
    return m.get()


def cumulative_fairness(y_true, y_pred, sensitive) -> dict:
    """Cumulative accuracy and demographic-parity gap after each event (binary groups).

    Returns arrays ``accuracy`` and ``dp_gap`` of the stream length (the gap is 0 until
    both groups have been seen), as logged at every step by the paper's code.

    Examples
    --------
    >>> from onlinekit.fair.fairness_metrics import cumulative_fairness
    >>> c = cumulative_fairness([1, 0, 1], [1, 1, 1], [1, 0, 0])
    >>> c["accuracy"].round(2).tolist(), c["dp_gap"].tolist()
    ([1.0, 0.5, 0.67], [0.0, 0.0, 0.0])
    """
    y = np.asarray(y_true).astype(np.int64)
    p = np.asarray(y_pred).astype(np.int64)
    a = np.asarray(sensitive).astype(np.int64)
    t = np.arange(1, len(y) + 1)
    acc = np.cumsum(p == y) / t
    n1 = np.cumsum(a == 1)
    n0 = np.cumsum(a == 0)
    r1 = np.cumsum(p * (a == 1)) / np.maximum(n1, 1)
    r0 = np.cumsum(p * (a == 0)) / np.maximum(n0, 1)
    dp = np.where((n1 > 0) & (n0 > 0), np.abs(r1 - r0), 0.0)
    return {"accuracy": acc, "dp_gap": dp}
