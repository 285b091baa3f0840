"""Shared helpers of the serve tests: an independent oracle (plain OGD replay) and event data."""

from __future__ import annotations

import numpy as np

from onlinekit.oco import OGD

PARAMS = {"lr": 0.05}


def make_events(n: int, seed: int = 0, d: int = 3, kind: str = "dict") -> list[dict]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.linspace(1.0, -1.0, d) + 0.1 * rng.normal(size=n)
    if kind == "dict":
        return [{"x": {f"f{j}": float(X[i, j]) for j in range(d)}, "y": float(y[i])} for i in range(n)]
    return [{"x": [float(v) for v in X[i]], "y": float(y[i])} for i in range(n)]


def oracle(events: list[dict], params: dict | None = None) -> OGD:
    """An uninterrupted replay: a fresh OGD fed the events in order with learn_one."""
    m = OGD(**(params or PARAMS))
    for ev in events:
        x = np.asarray(ev["x"], dtype=np.float64) if isinstance(ev["x"], list) else ev["x"]
        m.learn_one(x, ev["y"])
    return m


def assert_same_state(a, b) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sorted(sa) == sorted(sb)
    for k in sa:
        va, vb = sa[k], sb[k]
        if isinstance(va, np.ndarray):
            assert va.shape == vb.shape and np.array_equal(va, vb), (k, va, vb)
        else:
            assert va == vb, (k, va, vb)
