"""Write the golden state archives: one per registered learner, from the code of today.

Each learner (its first ``_unit_test_params`` set) meets the first ``START`` events of its
conformance scenario (``onlinekit.checks.drivers.scenario``, seed 0); its state archive
(:func:`onlinekit.base.state_to_bytes`) is written to ``<name>.npz`` with, in ``extra``, the
next ``MORE`` events and the outputs the learner produced on them (predictions, releases,
played points, actions). ``test_golden.py`` loads each archive with today's code and asserts
that the learner continues with the same outputs: snapshots written by a service before an
upgrade must survive it.

Decision learners meet an environment; the archive holds the observations and feedback the
environment gave in the continued rounds, so the test needs no environment state.
OCO gradients from ``_check_loss`` objects are recomputed by the test from ``(seed, t)``.

Run (only when the archives must be written anew, i.e. never after a layout change)::

    python tests/data/golden/make_golden.py
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
START, MORE, SEED = 30, 8, 0


def first_params(cls) -> dict:
    return next(iter(cls._unit_test_params()), {}) if hasattr(cls, "_unit_test_params") else {}


def _plain(v):
    """Outputs as archive-encodable data (dicts, lists, arrays, numbers)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, np.generic):
        return v.item()
    return v


def advance(learner, events: list, start: int, stop: int) -> list:
    """Feed ``events[start:stop]`` (supervised, release, play/update kinds); return outputs."""
    out = []
    proto = type(learner).protocol
    for t in range(start, stop):
        ev = events[t]
        if proto == "supervised":
            x, y, kw = ev
            p = [learner.predict_one(copy.deepcopy(x))]
            if hasattr(learner, "predict_proba_one"):
                p.append(learner.predict_proba_one(copy.deepcopy(x)))
            out.append(p)
            learner.learn_one(copy.deepcopy(x), y, **copy.deepcopy(kw))
        elif proto == "release":
            out.append(np.asarray(learner.release(copy.deepcopy(ev))))
        elif proto in ("oco", "experts"):
            out.append(np.array(learner.play(), copy=True))
            learner.update(ev if ev is not None else learner._check_loss(SEED, t))
        else:
            raise AssertionError(proto)
    return out


def decide(learner, rounds: list) -> list:
    """Feed recorded ``(obs, feedback)`` rounds to a decision learner; return its actions."""
    out = []
    for obs, fb in rounds:
        a = learner.act(copy.deepcopy(obs))
        out.append(copy.deepcopy(a))
        learner.update(copy.deepcopy(obs), copy.deepcopy(a), copy.deepcopy(fb))
    return out


def build(name: str):
    """``(learner, extra)`` for registered learner ``name`` after START events."""
    from onlinekit.checks.drivers import scenario
    from onlinekit.registry import learners

    cls = learners()[name].load()
    params = first_params(cls)
    m = cls(**params)
    golden = {"name": name, "params": _plain(params), "start": START, "seed": SEED}
    if hasattr(m, "act"):
        env = m._check_env(SEED)
        obs = env.reset(SEED)
        for _ in range(START):
            a = m.act(copy.deepcopy(obs))
            step = env.step(a)
            m.update(copy.deepcopy(obs), copy.deepcopy(a), copy.deepcopy(step.feedback))
            obs = step.obs
        twin = copy.deepcopy(m)  # the uninterrupted learner: no state round trip involved
        rounds, actions = [], []
        for _ in range(MORE):
            a = twin.act(copy.deepcopy(obs))
            step = env.step(a)
            rounds.append((copy.deepcopy(obs), copy.deepcopy(step.feedback)))
            actions.append(copy.deepcopy(a))
            twin.update(copy.deepcopy(obs), copy.deepcopy(a), copy.deepcopy(step.feedback))
            obs = step.obs
        golden["rounds"] = _plain(rounds)
        golden["outputs"] = _plain(actions)
        return m, golden
    events = scenario(m, SEED, n=START + MORE)[: START + MORE]
    start = min(START, len(events) * 2 // 3)  # short scenarios (e.g. a small horizon T)
    stop = min(start + MORE, len(events))
    golden["start"] = start
    advance(m, events, 0, start)
    twin = copy.deepcopy(m)
    golden["events"] = _plain(events[start:stop]) if events[start] is not None else None
    golden["outputs"] = _plain(advance(twin, events, start, stop))
    return m, golden


def main(names: list[str] | None = None) -> None:
    from onlinekit.base import state_to_bytes
    from onlinekit.registry import learners

    for name in names or list(learners()):
        m, golden = build(name)
        (HERE / f"{name}.npz").write_bytes(state_to_bytes(m, {"golden": golden}))
        print(f"{name}: {len(golden['outputs'])} outputs")


if __name__ == "__main__":
    main(sys.argv[1:] or None)
