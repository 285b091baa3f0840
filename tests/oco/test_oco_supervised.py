"""OMDRegressor / OMDClassifier: OGD is OMD with the Euclidean map, block == loop, conformance."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.oco import (
    OGD,
    L1Ball,
    L2Ball,
    NegativeEntropy,
    OGDClassifier,
    OMDClassifier,
    OMDRegressor,
    Simplex,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import oco_reference as ref  # noqa: E402


@pytest.mark.parametrize("kw", [
    {},
    {"lr": 0.05, "schedule": "sqrt", "radius": 1.5},
    {"lr": 0.02, "radius": 0.5, "intercept": False},
])
def test_ogd_is_omd_with_euclidean_map(kw):
    # the same arithmetic in the same order: equal bit for bit, in blocks and per event
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = X @ rng.normal(size=5) + 0.3 * rng.normal(size=400)
    ogd = OGD(**kw)
    omd = OMDRegressor(domain=L2Ball(kw["radius"]) if "radius" in kw else None, lr=kw.get("lr", 0.01),
                       schedule=kw.get("schedule", "constant"), intercept=kw.get("intercept", True))
    assert np.array_equal(ogd.predict_learn_many(X, y), omd.predict_learn_many(X, y))
    assert np.array_equal(ogd.w_, omd.weights)
    assert ogd.b_ == omd.intercept_value
    ogd2, omd2 = ogd.clone(), omd.clone()
    for i in range(50):
        x = {f"f{j}": X[i, j] for j in range(5)}
        assert ogd2.predict_one(x) == omd2.predict_one(x)
        ogd2.learn_one(x, y[i])
        omd2.learn_one(x, y[i])
    assert np.array_equal(ogd2.w_, omd2.weights)


def test_omd_regressor_matches_plain_python_ogd_exactly():
    # the same arithmetic, in the same order, as projected OGD written in plain Python floats
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([0.5, -1.0, 2.0]) + 0.2 * rng.normal(size=200)
    r, lr = 1.0, 0.1
    w, b, preds = [0.0, 0.0, 0.0], 0.0, []
    for t in range(200):
        z = b
        for j in range(3):
            z += w[j] * X[t, j]
        preds.append(z)
        eta = lr / math.sqrt(t + 1)
        g = z - y[t]
        w = [w[j] - eta * (g * X[t, j]) for j in range(3)]
        b -= eta * g
        s = 0.0
        for j in range(3):
            s += w[j] * w[j]
        if s > r * r:
            scale = r / math.sqrt(s)
            w = [v * scale for v in w]
    m = OMDRegressor(domain=L2Ball(r), lr=lr, schedule="sqrt")
    assert np.array_equal(m.predict_learn_many(X, y), np.array(preds))
    assert np.array_equal(m.weights, np.array(w)) and m.intercept_value == b


def test_ogd_classifier_is_omd_classifier():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(float)
    a = OGDClassifier(lr=0.1, radius=2.0, schedule="sqrt")
    b = OMDClassifier(lr=0.1, domain=L2Ball(2.0), schedule="sqrt")
    np.testing.assert_allclose(a.predict_learn_many(X, y), b.predict_learn_many(X, y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.w_, b.weights, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kw", [
    {"mirror": NegativeEntropy(), "domain": Simplex(2.0), "lr": 0.1, "intercept": False, "schedule": "variation",
     "hint": "last"},
    {"domain": L1Ball(1.0), "lr": 0.1, "hint": "extra-gradient", "schedule": "adagrad"},
])
def test_block_equals_loop_and_reference(kw):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 4))
    y = X @ np.array([0.5, 1.0, 0.3, 0.2]) + 0.1 * rng.normal(size=120)
    blk, loop = OMDRegressor(**kw), OMDRegressor(**kw)
    pb = np.concatenate([blk.predict_learn_many(X[:50], y[:50]), blk.predict_learn_many(X[50:], y[50:])])
    pl = []
    for i in range(120):
        pl.append(loop.predict_one(X[i]))
        loop.learn_one(X[i], y[i])
    assert np.array_equal(pb, np.array(pl))
    assert np.array_equal(blk.iterates_, loop.iterates_)
    mname = "entropy" if "mirror" in kw else "euclidean"
    dname = "simplex" if mname == "entropy" else "l1"
    _, rpred, _, _, _ = ref.optimistic_omd(
        X, y, mirror=mname, domain=dname, param=2.0 if mname == "entropy" else 1.0, schedule=kw["schedule"],
        lr=0.1, hint=kw["hint"], loss="squared", intercept=kw.get("intercept", True))
    np.testing.assert_allclose(pb, rpred, rtol=1e-9, atol=1e-11)


def test_entropic_regressor_rejects_new_features_and_keeps_state():
    m = OMDRegressor(mirror=NegativeEntropy(), domain=Simplex(), lr=0.1)
    m.learn_one({"a": 1.0, "b": 2.0}, 1.0)
    before = m.state_dict()
    with pytest.raises(InvalidEvent) as info:
        m.learn_one({"a": 1.0, "c": 2.0}, 1.0)
    assert info.value.field == "x"
    assert all(np.array_equal(before[k], m.state_dict()[k]) for k in ("iterates_", "stats_"))
    assert m.features_ == ["a", "b"]


def test_supervised_rejects_cvxpy_domains_and_external_hints():
    from onlinekit.oco import Polytope

    with pytest.raises(InvalidEvent) as info:
        OMDRegressor(domain=Polytope(np.eye(2), np.ones(2)))
    assert info.value.field == "domain"
    with pytest.raises(InvalidEvent) as info:
        OMDRegressor(hint="given")
    assert info.value.field == "hint"
    with pytest.raises(InvalidEvent) as info:
        OMDClassifier(loss="squared")
    assert info.value.field == "loss"


def test_hinge_classifier_learns_separable_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(float)
    clf = OMDClassifier(loss="hinge", domain=L2Ball(10.0), lr=0.1)
    p = clf.predict_learn_many(X, y)
    assert set(np.unique(p)) <= {0.0, 1.0}
    assert np.mean(p[1000:] == y[1000:]) > 0.95


