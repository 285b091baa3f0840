"""The ``supervised`` protocol: predict each event, then learn it (progressive validation).

A supervised log is a table of feature columns, a target (``--target``), optional groups
(``--group NAME=EXPR``) and an optional sensitive attribute (``--sensitive``). Its replay
runs through :func:`onlinekit.engine.replay` (the :class:`~onlinekit.streams.Stream` /
block path, with feature encoding); this object holds what is specific to the kind: the
task of a learner (classification or regression), the default metrics and how one block or
one event is applied.

Examples
--------
>>> import numpy as np
>>> from onlinekit.oco import OGD, OGDClassifier
>>> from onlinekit.protocols import get_protocol
>>> sup = get_protocol("supervised")
>>> sup.task(OGD()), sup.task(OGDClassifier())
('regression', 'classification')
>>> [type(m).__name__ for m in sup.default_metrics(OGDClassifier())]
['CumulativeLoss', 'Accuracy']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.protocols._base import Protocol, Role

__all__ = ["SUPERVISED"]


class _Supervised(Protocol):
    name = "supervised"
    operations = ("learn", "predict")
    replays = True
    roles = (
        Role("features", "--features", many=True, required=False, help="feature columns (default: all others)"),
        Role("target", "--target", default="y", help="the target column or a 0/1 expression"),
        Role("group", "--group", many=True, required=False, help="NAME=EXPR group predicates"),
        Role("sensitive", "--sensitive", required=False, help="sensitive attribute column or expression"),
    )
    summary_keys = ("loss", "accuracy")
    inferred = ("n_groups",)  # from the distinct values of --sensitive

    def task(self, learner: Any) -> str:
        """``"multiclass"`` for multiclass classifiers (class-label targets, codes in and
        out), ``"classification"`` for binary classifiers (River classifiers or a logistic
        loss), else ``"regression"``."""
        try:
            from river import base

            if isinstance(learner, base.Classifier):
                return "multiclass" if getattr(learner, "_multiclass", False) else "classification"
        except ImportError:  # pragma: no cover
            pass
        if getattr(learner, "loss", None) == "logistic":
            return "classification"
        return "regression"

    def default_metrics(self, learner: Any, group_names: Sequence[str] = (), sensitive: bool = False) -> list:
        """Loss, accuracy for classifiers, per-group and fairness versions where the stream has
        groups or a sensitive attribute."""
        from onlinekit.metrics import default_metrics

        return default_metrics(self.task(learner), tuple(group_names), sensitive=sensitive)

    def metrics(self, names: Sequence[str], learner: Any, group_names: Sequence[str] = ()) -> list:
        """The metrics named on the command line (``--metric``)."""
        from onlinekit.metrics import make_metric

        out: list = []
        for name in names:
            out += make_metric(name, task=self.task(learner), group_names=tuple(group_names))
        return out

    def apply_block(self, learner: Any, block: Any) -> np.ndarray:
        """Predictions made before learning each event of ``block`` (then learned), through the
        learner's block path where it has one (bit-identical to the per-event loop)."""
        kw = block.learn_kwargs()
        grow = getattr(learner, "grow_features", None)
        if grow is not None and block.width > learner.n_features_in_:
            grow(block.feature_names)  # new encoded columns (e.g. a new category level) at weight 0
        if block.labels is not None and hasattr(learner, "grow_classes"):
            learner.grow_classes(block.labels)  # names of the class codes in y (active at first sight)
        if block.onehot is not None and hasattr(learner, "predict_learn_onehot"):
            # one-hot columns as indices: learners that read them never see the mostly-zero X
            try:
                out = learner.predict_learn_onehot(block.numeric, block.onehot, block.y, block.width, **kw)
            except InvalidEvent as exc:
                raise exc.at(block.offset + (exc.offset or 0)) from None
            if out is not None:  # None: no exact sparse path for this configuration
                return np.asarray(out, dtype=np.float64)
        if hasattr(learner, "predict_learn_many"):
            try:
                return np.asarray(learner.predict_learn_many(block.X, block.y, **kw), dtype=np.float64)
            except InvalidEvent as exc:
                raise exc.at(block.offset + (exc.offset or 0)) from None
        n = len(block)
        out = np.empty(n)
        as_dict = not isinstance(learner, Learner)
        names = block.feature_names
        task = self.task(learner)
        classify = task == "classification"
        labels = block.labels
        if task == "multiclass" and labels is None:
            raise ValueError("a multiclass learner needs class-label targets (the CLI codes text targets as labels)")
        for i in range(n):
            row = block.X[i]
            x = dict(zip(names, row.tolist(), strict=True)) if as_dict else row
            if labels is not None:  # predicted label -> class code (-1: none, or not a known class)
                p = learner.predict_one(x)
                out[i] = float(labels.index(p)) if p is not None and p in labels else -1.0
                yi = labels[int(block.y[i])]
            else:
                out[i] = self.predict_event(learner, x, classify)
                yi = bool(block.y[i]) if classify else float(block.y[i])
            try:
                learner.learn_one(x, yi, **{k: v[i] for k, v in kw.items()})
            except InvalidEvent as exc:
                raise exc.at(block.offset + i) from None
        return out

    @staticmethod
    def predict_event(learner: Any, x: Any, classify: bool) -> float:
        """One prediction: the probability of the positive class for a classifier with
        ``predict_proba_one``, else ``predict_one``."""
        if classify and hasattr(learner, "predict_proba_one"):
            proba = learner.predict_proba_one(x)
            return float(proba.get(True, proba.get(1, proba.get(1.0, 0.0))))
        return float(learner.predict_one(x))


#: The supervised protocol.
SUPERVISED = _Supervised()
