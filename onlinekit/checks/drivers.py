"""Drive a learner through a deterministic scenario and record its outputs.

A learner tells the checks how to exercise it through optional hooks:

* supervised: ``_check_stream(seed) -> list[(x, y, kwargs)]`` (default: 60 events of a
  4-feature regression, or binary labels for River classifiers);
* decision makers: ``_check_env(seed)`` returning an environment
  (:class:`onlinekit.streams.env.Environment`: ``reset(seed) -> obs``,
  ``step(action) -> Step(feedback, obs, reward, info)``);
* continual release: ``_check_inputs(seed) -> list``;
* OCO (``play`` / ``update``): ``_check_grads(seed) -> list`` of gradients, or
  ``_check_loss(seed, t)`` returning the loss object / gradient given to ``update`` at round t;
* every kind: ``_check_bad_events() -> list[(method, args, kwargs)]``: calls that must raise
  :class:`onlinekit.InvalidEvent` and leave the state unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

__all__ = ["kind_of", "scenario", "run_trace", "default_bad_events"]


#: how the checks drive one event, by the operations of the learner's protocol
_DRIVERS = {("learn", "predict"): "supervised", ("act", "feedback"): "decision", ("release",): "release",
            ("play", "update"): "oco"}


def kind_of(learner: Any) -> str:
    """How the checks drive ``learner``: by the operations of its declared protocol
    (``supervised``, ``decision`` for act/feedback, ``release``, ``oco`` for play/update).

    >>> from onlinekit.oco import OGD
    >>> kind_of(OGD())
    'supervised'
    """
    from onlinekit.protocols import operations_of

    return _DRIVERS[operations_of(learner)]


def _is_classifier(learner: Any) -> bool:
    try:
        from river import base
    except ImportError:  # pragma: no cover
        return False
    return isinstance(learner, base.Classifier)


def scenario(learner: Any, seed: int = 0, n: int = 60) -> list:
    """The events the checks feed to ``learner`` (a list, so it can be replayed)."""
    kind = kind_of(learner)
    if kind == "supervised":
        if hasattr(learner, "_check_stream"):
            return list(learner._check_stream(seed))
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, 4))
        if _is_classifier(learner):
            y = X @ np.array([1.0, -1.0, 0.5, 0.0]) + 0.3 * rng.normal(size=n) > 0
            return [(X[i].copy(), bool(y[i]), {}) for i in range(n)]
        y = X @ np.array([1.0, -1.0, 0.5, 0.0]) + 0.1 * rng.normal(size=n)
        return [(X[i].copy(), float(y[i]), {}) for i in range(n)]
    if kind == "release":
        if hasattr(learner, "_check_inputs"):
            return list(learner._check_inputs(seed))
        rng = np.random.default_rng(seed)
        return [float(v) for v in rng.random(n)]
    if kind == "oco":
        if hasattr(learner, "_check_grads"):
            return list(learner._check_grads(seed))
        return [None] * n  # gradients computed by _check_loss at run time
    if kind == "decision":
        return [None] * n  # driven by the environment
    raise AssertionError(kind)


def run_trace(learner: Any, events: list, seed: int = 0, start: int = 0, stop: int | None = None,
              env_state: Any = None, block: bool = False) -> tuple[list, Any]:
    """Feed ``events[start:stop]``; return ``(outputs, env_state)``.

    For decision makers the environment is built with ``_check_env(seed)`` and its state is
    carried via ``env_state`` (a deep copy of the environment object) so a run can be split.
    ``block=True`` uses the block methods (``predict_learn_many`` / ``learn_many`` /
    ``release_many``) where the learner has them.
    """
    kind = kind_of(learner)
    stop = len(events) if stop is None else stop
    out: list = []
    if kind == "supervised":
        evs = events[start:stop]
        if block and hasattr(learner, "predict_learn_many") and evs and all(not e[2] or True for e in evs):
            X = np.array([np.asarray(e[0], dtype=float) for e in evs])
            y = np.array([float(e[1]) for e in evs])
            kw = _stack_kwargs([e[2] for e in evs])
            preds = learner.predict_learn_many(X, y, **kw)
            return [float(p) for p in preds], env_state
        for x, y, kw in evs:
            out.append(_prediction(learner, x))
            learner.learn_one(copy.deepcopy(x), y, **copy.deepcopy(kw))
        return out, env_state
    if kind == "release":
        evs = events[start:stop]
        if block and hasattr(learner, "release_many") and evs:
            res = learner.release_many(np.asarray(evs))
            return [np.asarray(r) for r in res], env_state
        return [np.asarray(learner.release(copy.deepcopy(v))) for v in evs], env_state
    if kind == "oco":
        for t in range(start, stop):
            x = np.array(learner.play(), copy=True)
            out.append(x)
            g = events[t] if events[t] is not None else learner._check_loss(seed, t)
            learner.update(g)
        return out, env_state
    if kind == "decision":
        if env_state is None:
            env = learner._check_env(seed)
            obs = env.reset(seed)
            env_state = (env, obs)
        env, obs = env_state
        for _ in range(start, stop):
            a = learner.act(copy.deepcopy(obs))
            out.append(copy.deepcopy(a))
            step = env.step(a)
            learner.update(copy.deepcopy(obs), copy.deepcopy(a), copy.deepcopy(step.feedback))
            obs = step.obs
        return out, (env, obs)
    raise AssertionError(kind)


def _stack_kwargs(kws: list[dict]) -> dict:
    if not kws or not kws[0]:
        return {}
    return {k: np.array([kw[k] for kw in kws]) for k in kws[0]}


def _prediction(learner: Any, x: Any) -> Any:
    if hasattr(learner, "predict_proba_one") and _is_classifier(learner):
        return learner.predict_proba_one(copy.deepcopy(x))
    return learner.predict_one(copy.deepcopy(x))


def default_bad_events(learner: Any, events: list) -> list[tuple[str, tuple, dict]]:
    """Generic rejected calls for supervised learners (NaN / inf / wrong shape)."""
    if kind_of(learner) != "supervised" or not events:
        return []
    x, y, kw = events[0]
    bad = []
    if isinstance(x, np.ndarray):
        xn = x.copy()
        xn[0] = np.nan
        bad.append(("learn_one", (xn, y), dict(kw)))
        bad.append(("learn_one", (np.concatenate([x, [1.0]]), y), dict(kw)))
        bad.append(("learn_one", (x.reshape(1, -1), y), dict(kw)))
    elif isinstance(x, dict):
        k = next(iter(x))
        bad.append(("learn_one", ({**x, k: float("nan")}, y), dict(kw)))
    bad.append(("learn_one", (x, float("inf")), dict(kw)))
    return bad
