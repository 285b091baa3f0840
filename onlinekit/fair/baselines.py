"""Baselines for the fairness experiments: per-group reservoir forest, River trees."""

from __future__ import annotations

import math
import numbers

import numpy as np
from river import base as river_base

from onlinekit.base import InvalidEvent
from onlinekit.fair.aranyani import check_sensitive, check_sensitive_many
from onlinekit.fair.forest import _N_CLASSES, _ForestBase, _kernels

__all__ = ["ReservoirFairForest", "prequential_river"]


class ReservoirFairForest(_ForestBase, river_base.Classifier):
    """Oblique forest with a demographic-parity penalty estimated on per-group reservoirs.

    The reservoir baseline of Aranyani's paper (official code ``src/reservoir.py``): keep a
    uniform sample (Algorithm R) of at most ``reservoir_size`` raw inputs per group; at each
    event, after adding the event to its group's reservoir, recompute every node's output on
    both reservoirs at the current parameters and add the gradient of
    ``lambda_ * sum_{t,i} |mean_{R_1} s_{t,i} - mean_{R_0} s_{t,i}|`` to the cross-entropy
    gradient of the routing parameters. It stores inputs and costs
    ``O(reservoir_size * n_trees * 2**depth * d)`` extra work per event, which is what
    Aranyani's running statistics avoid.

    Parameters
    ----------
    lambda_
        Weight of the fairness penalty.
    reservoir_size
        Inputs kept per group (paper: 500; 100 for Census).
    missing_sensitive
        ``"raise"`` (default) or ``"ignore"``: an event without a group joins no reservoir
        (as in :class:`~onlinekit.fair.Aranyani`).
    n_trees, depth, lr, beta1, beta2, eps, seed
        As in :class:`~onlinekit.fair.ObliqueForest`.

    Attributes
    ----------
    reservoir_ : ndarray of shape (2, reservoir_size, n_features)
        Stored inputs per group (the first ``min(seen_[a], reservoir_size)`` rows are used).
    seen_ : ndarray of shape (2,)
        Events seen per group.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.fair import ReservoirFairForest
    >>> rng = np.random.default_rng(0)
    >>> a = (rng.random(1000) < 0.5).astype(int)
    >>> X = rng.normal(size=(1000, 3)); X[:, 2] += 2.0 * a
    >>> y = (X[:, 0] + X[:, 2] > 1.0).astype(int)
    >>> model = ReservoirFairForest(lambda_=1.0, reservoir_size=50, lr=0.01, seed=0)
    >>> p = model.predict_learn_many(X, y, sensitive=a)
    >>> model.seen_.tolist(), model.reservoir_.shape
    ([527, 473], (2, 50, 3))

    Notes
    -----
    Binary sensitive attribute only. The penalty uses ``|F|`` (gradient ``sign(F)``), as in
    the official baseline. The reservoir draws come from the learner's generator, one
    uniform per event.
    """

    protocol = "supervised"

    def __init__(self, lambda_: float = 0.0, reservoir_size: int = 500, n_trees: int = 3, depth: int = 4,
                 lr: float = 2e-3, missing_sensitive: str = "raise", beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-7, seed: int | None = None):
        self.lambda_ = lambda_
        self.reservoir_size = reservoir_size
        self.missing_sensitive = missing_sensitive
        self.n_trees = n_trees
        self.depth = depth
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.seed = seed
        self._validate_params()
        self.reset()

    def _validate_params(self) -> None:
        super()._validate_params()
        lam = self.lambda_
        if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not math.isfinite(lam) or lam < 0:
            raise InvalidEvent(f"must be a finite number >= 0, got {lam!r}", field="lambda_")
        k = self.reservoir_size
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise InvalidEvent(f"must be an integer >= 1, got {k!r}", field="reservoir_size")
        if self.missing_sensitive not in ("raise", "ignore"):
            raise InvalidEvent(f"must be 'raise' or 'ignore', got {self.missing_sensitive!r}",
                               field="missing_sensitive")

    def _reset_fair(self) -> None:
        self.seen_ = np.zeros(2, dtype=np.int64)
        self.reservoir_ = np.zeros((2, self.reservoir_size, 0))

    def _feature_arrays(self) -> list[str]:
        return ["W_", "mW_", "vW_", "reservoir_"]

    def _sensitive_one(self, kwargs: dict) -> int:
        v = kwargs.get("sensitive")
        if v is None and self.missing_sensitive == "ignore":
            return -1
        return check_sensitive(v, 2)

    def _sensitive_many(self, kwargs: dict, n: int) -> np.ndarray:
        s = kwargs.get("sensitive")
        if s is None and self.missing_sensitive == "ignore":
            return np.full(n, -1, dtype=np.int64)
        return check_sensitive_many(s, n, 2)

    def _run(self, X, y, a, learn: bool) -> np.ndarray:
        if not learn:
            return super()._run(X, y, a, learn)
        k = _kernels()
        n = X.shape[0]
        u = self._rng.random(n)
        proba = np.empty((n, _N_CLASSES))
        k._reservoir_run(X, y, a, u, self.W_, self.B_, self.theta_, self.mW_, self.vW_, self.mB_,
                         self.vB_, self.mT_, self.vT_, self.step_, self.seen_, self.reservoir_,
                         float(self.lambda_), float(self.lr), float(self.beta1), float(self.beta2),
                         float(self.eps), True, proba)
        return proba

    def learn_one(self, x, y, *, sensitive=None, **kwargs) -> None:
        """One Adam step on ``(x, y)`` with the reservoir penalty; ``sensitive`` is 0 or 1."""
        super().learn_one(x, y, sensitive=sensitive, **kwargs)

    def learn_many(self, X, y, *, sensitive=None, **kwargs) -> None:
        """``learn_one`` over the rows in order."""
        self.predict_learn_many(X, y, sensitive=sensitive, **kwargs)

    def predict_learn_many(self, X, y, *, sensitive=None, **kwargs) -> np.ndarray:
        """For each row in order: predict ``P(y = 1)``, then learn."""
        return super().predict_learn_many(X, y, sensitive=sensitive, **kwargs)

    @classmethod
    def _unit_test_params(cls):
        # "ignore": River's estimator checks call learn_one(x, y) without a group
        yield {"lambda_": 1.0, "reservoir_size": 8, "missing_sensitive": "ignore", "seed": 0}
        yield {"lambda_": 0.0, "reservoir_size": 100, "n_trees": 1, "depth": 2, "lr": 0.05,
               "missing_sensitive": "ignore", "seed": 3}

    def _check_stream(self, seed: int):
        X, y, a = self._check_data(seed)
        return [(X[i].copy(), int(y[i]), {"sensitive": int(a[i])}) for i in range(len(y))]

    def _check_bad_events(self):
        X, y, a = self._check_data(0, n=5)
        xn = X[0].copy()
        xn[1] = np.nan
        bad_a = a.copy()
        bad_a[2] = 2
        events = [
            ("learn_one", (xn, 1), {"sensitive": 0}),
            ("learn_one", (X[0], 2), {"sensitive": 0}),
            ("learn_one", (X[0], 1), {"sensitive": 2}),
            ("learn_many", (X, y), {"sensitive": bad_a}),
        ]
        if self.missing_sensitive == "raise":
            events += [("learn_one", (X[0], 1), {}), ("learn_many", (X, y), {})]
        return events


def prequential_river(model, X, y, names=None) -> np.ndarray:
    """Predict-then-learn a River classifier over the rows of ``X``; returns ``P(y = 1)``.

    Rows become dicts keyed by ``names`` (default ``x0, x1, ...``); labels are passed as
    booleans. Used to run River's Hoeffding trees in the same harness as the forests; the
    events go through :func:`onlinekit.engine.iter_replay` (the supervised protocol).

    Examples
    --------
    >>> import numpy as np
    >>> from river import tree
    >>> from onlinekit.fair import prequential_river
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); y = (X[:, 0] > 0).astype(int)
    >>> p = prequential_river(tree.HoeffdingTreeClassifier(grace_period=50), X, y)
    >>> bool(np.mean((p[250:] > 0.5) == y[250:]) > 0.8)
    True
    """
    from onlinekit.engine import iter_replay
    from onlinekit.streams import ArraySource, Schema, Stream

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if names is None:
        names = [f"x{j}" for j in range(X.shape[1])]
    if len(names) != X.shape[1] or "__target__" in names:
        raise ValueError(f"names must give one new name per column of X ({X.shape[1]}), got {list(names)}")
    src = ArraySource(columns={**{n: X[:, j] for j, n in enumerate(names)}, "__target__": y.astype(np.float64)})
    stream = Stream(src, Schema(features=tuple(names), target="__target__"))
    # the supervised protocol's per-event path (River models have no block path)
    return np.concatenate([np.empty(0)] + [step.out for step in iter_replay(model, stream)])
