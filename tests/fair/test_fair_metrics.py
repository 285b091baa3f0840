"""Streaming fairness metrics vs brute-force numpy."""

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.fair import FairnessTracker, cumulative_fairness, fairness_summary


def _brute(y, p, a, G):
    rates = {}
    for name, mask_fn in (("dp", lambda g: a == g), ("tpr", lambda g: (a == g) & (y == 1)),
                          ("fpr", lambda g: (a == g) & (y == 0))):
        vals = [p[mask_fn(g)].mean() for g in range(G) if mask_fn(g).any()]
        rates[name] = max(vals) - min(vals) if len(vals) >= 2 else 0.0
    accs = [float((p[a == g] == y[a == g]).mean()) for g in range(G)]
    return rates, accs


@pytest.mark.parametrize("G", [2, 3])
def test_tracker_matches_brute_force_in_any_blocking(G):
    rng = np.random.default_rng(G)
    n = 500
    y = rng.integers(0, 2, n)
    p = rng.integers(0, 2, n)
    a = rng.integers(0, G, n)
    m = FairnessTracker(G)
    for lo in range(0, n, 77):
        m.update_many(y[lo:lo + 77], p[lo:lo + 77], a[lo:lo + 77])
    r = m.get()
    rates, accs = _brute(y, p, a, G)
    assert r["accuracy"] == pytest.approx((y == p).mean())
    assert r["dp_gap"] == pytest.approx(rates["dp"])
    assert r["tpr_gap"] == pytest.approx(rates["tpr"])
    assert r["fpr_gap"] == pytest.approx(rates["fpr"])
    assert r["eo_gap"] == pytest.approx(max(rates["tpr"], rates["fpr"]))
    assert r["group_accuracy"] == pytest.approx(accs)
    one = FairnessTracker(G)
    for i in range(n):
        one.update(int(y[i]), bool(p[i]), int(a[i]))
    assert one.get() == r


def test_cumulative_matches_summary_at_every_prefix():
    rng = np.random.default_rng(0)
    y, p, a = rng.integers(0, 2, 80), rng.integers(0, 2, 80), rng.integers(0, 2, 80)
    c = cumulative_fairness(y, p, a)
    for t in (1, 5, 40, 80):
        s = fairness_summary(y[:t], p[:t], a[:t])
        assert c["accuracy"][t - 1] == pytest.approx(s["accuracy"])
        assert c["dp_gap"][t - 1] == pytest.approx(s["dp_gap"])


def test_tracker_rejects_bad_values():
    m = FairnessTracker()
    with pytest.raises(InvalidEvent):
        m.update(1, 2, 0)
    with pytest.raises(InvalidEvent):
        m.update(1, 1, 2)
    with pytest.raises(InvalidEvent):
        m.update_many([1, 0], [1], [0, 1])
    assert m.get()["n"] == 0
