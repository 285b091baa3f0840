"""OnlineRidge against closed-form ridge."""

from __future__ import annotations

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.experts import OnlineRidge


@pytest.mark.parametrize("vaw", [False, True])
def test_forecasts_equal_closed_form(vaw):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([0.5, -1.0, 2.0]) + 0.1 * rng.normal(size=40)
    m = OnlineRidge(l2=2.0, vaw=vaw)
    preds = m.predict_learn_many(X, y)
    for t in range(40):
        A = 2.0 * np.eye(3) + X[:t].T @ X[:t] + (np.outer(X[t], X[t]) if vaw else 0.0)
        assert np.isclose(preds[t], X[t] @ np.linalg.solve(A, X[:t].T @ y[:t]), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(m.w_, np.linalg.solve(2.0 * np.eye(3) + X.T @ X, X.T @ y), rtol=1e-10)


def test_intercept_and_dict_features_emerging():
    m = OnlineRidge(l2=1.0, intercept=True)
    m.learn_one({"a": 1.0}, 3.0)
    m.learn_one({"a": 2.0, "b": 1.0}, 1.0)
    # rows [1, a, b]: (1, 1, 0) -> 3, (1, 2, 1) -> 1
    Z = np.array([[1.0, 1.0, 0.0], [1.0, 2.0, 1.0]])
    w = np.linalg.solve(np.eye(3) + Z.T @ Z, Z.T @ np.array([3.0, 1.0]))
    np.testing.assert_allclose(m.w_, w, rtol=1e-12)
    assert np.isclose(m.predict_one({"b": 2.0}), w[0] + 2 * w[2])
    assert m.features_ == ["a", "b"]


def test_learn_many_equals_loop_bitwise():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 5)), rng.normal(size=30)
    a, b = OnlineRidge(vaw=True), OnlineRidge(vaw=True)
    pa = a.predict_learn_many(X, y)
    pb = []
    for i in range(30):
        pb.append(b.predict_one(X[i]))
        b.learn_one(X[i], y[i])
    assert np.array_equal(pa, np.array(pb)) and np.array_equal(a.Ainv_, b.Ainv_)


def test_bad_params_and_events():
    with pytest.raises(InvalidEvent, match="l2"):
        OnlineRidge(l2=0.0)
    m = OnlineRidge()
    m.learn_one(np.ones(2), 1.0)
    with pytest.raises(InvalidEvent, match="y"):
        m.learn_many(np.ones((3, 2)), np.array([1.0, np.nan, 0.0]))
    with pytest.raises(InvalidEvent):
        m.learn_one(np.ones(3), 1.0)
    assert m.t_ == 1
