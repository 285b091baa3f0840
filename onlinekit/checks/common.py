"""Conformance checks every public learner must pass (DESIGN.md section 7)."""

from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent, state_from_bytes, state_to_bytes
from onlinekit.checks._compare import assert_same, same
from onlinekit.checks.drivers import default_bad_events, kind_of, run_trace, scenario

__all__ = [
    "check_params_verbatim",
    "check_clone_unlearned",
    "check_inputs_not_mutated",
    "check_state_roundtrip",
    "check_seed_reproducible",
    "check_bad_input_leaves_state",
    "check_block_equals_loop",
]


def _fresh(learner):
    return learner.clone()


def check_params_verbatim(learner: Any) -> None:
    """Constructor arguments are stored unchanged on attributes of the same name."""
    sig = inspect.signature(type(learner).__init__)
    for name, p in sig.parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        assert hasattr(learner, name), f"parameter {name!r} not stored on the learner"
    params = learner.get_params()
    twin = type(learner)(**copy.deepcopy(params))
    for k, v in params.items():
        assert same(getattr(twin, k), v) or getattr(twin, k) is not None, f"parameter {k!r} changed"


def check_clone_unlearned(learner: Any) -> None:
    """``clone()`` equals a fresh instance in params and state, and shares no state."""
    events = scenario(learner)
    fresh = learner.clone()
    run_trace(learner, events, stop=len(events) // 2)
    cl = learner.clone()
    assert_same(cl.state_dict(), fresh.state_dict(), "clone of a trained learner is not unlearned")
    assert_same(cl.get_params(), learner.get_params(), "clone params differ")
    before = cl.state_dict()
    run_trace(learner, events, start=len(events) // 2)
    assert_same(cl.state_dict(), before, "training the original changed its clone")


def check_inputs_not_mutated(learner: Any) -> None:
    """Learning and predicting never modify the caller's inputs."""
    events = scenario(learner)
    snapshot = copy.deepcopy(events)
    run_trace(learner, events)
    assert_same(events, snapshot, "inputs were mutated")


def check_state_roundtrip(learner: Any) -> None:
    """state_dict saved mid-stream and loaded into a clone gives identical later outputs.

    Checked both through ``load_state_dict`` directly and through the npz+JSON archive.
    """
    events = scenario(learner)
    half = len(events) // 2
    _, env = run_trace(learner, events, stop=half)
    env_copy = copy.deepcopy(env)
    env_copy2 = copy.deepcopy(env)
    twin = learner.clone()
    twin.load_state_dict(learner.state_dict())
    restored, _ = state_from_bytes(state_to_bytes(learner))
    assert type(restored) is type(learner)
    a, _ = run_trace(learner, events, start=half, env_state=env)
    b, _ = run_trace(twin, events, start=half, env_state=env_copy)
    c, _ = run_trace(restored, events, start=half, env_state=env_copy2)
    assert_same(a, b, "outputs after load_state_dict")
    assert_same(a, c, "outputs after the npz+JSON round trip")


def check_seed_reproducible(learner: Any) -> None:
    """Same seed, same outputs (bit for bit); learners without ``seed`` are deterministic."""
    if "seed" in learner.get_params() and learner.get_params()["seed"] is None:
        learner = learner.clone(seed=42)
    events = scenario(learner)
    a, _ = run_trace(learner.clone(), events)
    b, _ = run_trace(learner.clone(), events)
    assert_same(a, b, "two runs with the same seed")


def _bad_events(learner: Any, events: list) -> list:
    if hasattr(learner, "_check_bad_events"):
        return list(learner._check_bad_events())
    return default_bad_events(learner, events)


def check_bad_input_leaves_state(learner: Any) -> None:
    """Each bad event raises :class:`InvalidEvent` and leaves the state unchanged."""
    events = scenario(learner)
    run_trace(learner, events, stop=len(events) // 2)
    bad = _bad_events(learner, events)
    assert bad or kind_of(learner) in ("oco",), f"{type(learner).__name__} declares no bad events"
    for method, args, kwargs in bad:
        before = state_to_bytes(learner)
        before_state = learner.state_dict()
        try:
            getattr(learner, method)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        except InvalidEvent:
            pass
        else:
            raise AssertionError(f"{method}{_short(args)} was accepted; expected InvalidEvent")
        assert_same(learner.state_dict(), before_state, f"state changed by rejected {method}{_short(args)}")
        assert state_to_bytes(learner) == before, f"archive changed by rejected {method}"


def _short(args) -> str:
    r = repr(args)
    return r if len(r) < 80 else r[:77] + "..."


def check_block_equals_loop(learner: Any) -> None:
    """Block methods equal the per-event loop (state and outputs, bit for bit)."""
    kind = kind_of(learner)
    events = scenario(learner)
    if kind == "supervised" and hasattr(learner, "predict_learn_many"):
        loop, blk = learner.clone(), learner.clone()
        preds_loop = []
        for x, y, kw in events:
            preds_loop.append(_score(loop, x))
            loop.learn_one(x, y, **kw)
        preds_blk, _ = run_trace(blk, events, block=True)
        assert_same(np.asarray(preds_blk), np.asarray(preds_loop), "predict_learn_many vs loop")
        assert_same(blk.state_dict(), loop.state_dict(), "state after predict_learn_many vs loop")
    if kind == "supervised" and hasattr(learner, "learn_many"):
        loop, blk = learner.clone(), learner.clone()
        for x, y, kw in events:
            loop.learn_one(x, y, **kw)
        third = max(1, len(events) // 3)
        for lo in range(0, len(events), third):
            evs = events[lo:lo + third]
            X = np.array([np.asarray(e[0], dtype=float) for e in evs])
            y = np.array([float(e[1]) for e in evs])
            kws = {k: np.array([e[2][k] for e in evs]) for k in evs[0][2]}
            blk.learn_many(X, y, **kws)
        assert_same(blk.state_dict(), loop.state_dict(), "state after learn_many vs learn_one loop")
    if kind == "release" and hasattr(learner, "release_many"):
        a, _ = run_trace(learner.clone(), events)
        b, _ = run_trace(learner.clone(), events, block=True)
        assert_same(a, b, "release_many vs release loop")


def _score(learner, x):
    from onlinekit.checks.drivers import _is_classifier

    if getattr(learner, "_multiclass", False) and hasattr(learner, "classes_"):
        p = learner.predict_one(x)  # class codes, as the block path returns them
        return -1.0 if p is None else float(learner.classes_.index(p))
    if _is_classifier(learner):
        return float(learner.predict_proba_one(x).get(True, 0.0))
    return float(learner.predict_one(x))
