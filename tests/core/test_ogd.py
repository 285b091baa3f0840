import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onlinekit.base import InvalidEvent
from onlinekit.oco import OGD, OGDClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from ogd_reference import ogd_reference  # noqa: E402


@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("schedule", ["constant", "sqrt"])
@pytest.mark.parametrize("radius", [None, 0.7])
def test_kernel_matches_reference(loss, schedule, radius):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0])
    if loss == "logistic":
        y = (y > 0).astype(float)
    m = OGD(loss=loss, lr=0.1, schedule=schedule, radius=radius, l2=0.01)
    preds = m.predict_learn_many(X, y)
    rp, rw, rb = ogd_reference(X.tolist(), y.tolist(), lr=0.1, schedule=schedule, loss=loss,
                               radius=radius, l2=0.01)
    np.testing.assert_allclose(preds, rp, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.w_, rw, rtol=1e-12, atol=1e-12)
    assert m.b_ == pytest.approx(rb, abs=1e-12)
    if radius is not None:
        assert np.linalg.norm(m.w_) <= radius * (1 + 1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), split=st.integers(0, 40), seed=st.integers(0, 2**16))
def test_blocks_equal_loop_bitwise(n, split, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = rng.normal(size=n)
    a, b, c = OGD(lr=0.05, schedule="sqrt"), OGD(lr=0.05, schedule="sqrt"), OGD(lr=0.05, schedule="sqrt")
    pa = a.predict_learn_many(X, y)
    k = min(split, n)
    pb = np.concatenate([b.predict_learn_many(X[:k], y[:k]) if k else np.zeros(0),
                         b.predict_learn_many(X[k:], y[k:]) if k < n else np.zeros(0)])
    pc = []
    for i in range(n):
        pc.append(c.predict_one(X[i]))
        c.learn_one(X[i], y[i])
    assert np.array_equal(pa, pb) and np.array_equal(pa, np.array(pc))
    assert np.array_equal(a.w_, c.w_) and a.b_ == c.b_ and a.t_ == c.t_


def test_dict_and_array_inputs_agree():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    y = rng.normal(size=50)
    a, b = OGD(lr=0.1), OGD(lr=0.1)
    for i in range(50):
        a.learn_one(X[i], y[i])
        b.learn_one({"x0": X[i, 0], "x1": X[i, 1], "x2": X[i, 2]}, y[i])
    assert np.array_equal(a.w_, b.w_)


def test_emerging_features_grow_weights():
    m = OGD(lr=0.1)
    m.learn_one({"a": 1.0}, 1.0)
    m.learn_one({"b": 1.0}, 1.0)
    assert m.features_ == ["a", "b"] and len(m.w_) == 2
    assert m.predict_one({"zzz": 5.0}) == m.b_  # unknown features contribute nothing


@pytest.mark.parametrize("bad", [
    dict(lr=0), dict(lr=-1.0), dict(lr=float("nan")), dict(loss="hinge"), dict(schedule="cubic"),
    dict(radius=0.0), dict(l2=-1.0),
])
def test_bad_params(bad):
    with pytest.raises(InvalidEvent):
        OGD(**bad)


def test_bad_events_leave_state():
    m = OGD(lr=0.1)
    m.learn_one(np.array([1.0, 2.0]), 1.0)
    w, b, t = m.w_.copy(), m.b_, m.t_
    for x, y in [(np.array([np.nan, 1.0]), 1.0), (np.array([1.0, 2.0, 3.0]), 1.0),
                 (np.array([1.0, 2.0]), float("inf")), ({"x0": "a"}, 1.0)]:
        with pytest.raises(InvalidEvent):
            m.learn_one(x, y)
    X = np.ones((3, 2))
    X[2, 1] = np.inf
    with pytest.raises(InvalidEvent, match=r"X\[2, 1\]"):
        m.learn_many(X, np.zeros(3))
    assert np.array_equal(m.w_, w) and m.b_ == b and m.t_ == t
    clf = OGDClassifier()
    with pytest.raises(InvalidEvent, match="label"):
        clf.learn_one({"a": 1.0}, 3)
    with pytest.raises(InvalidEvent, match="labels in"):
        OGD(loss="logistic").learn_many(np.ones((2, 1)), np.array([0.0, 0.5]))


def test_logistic_classifier_learns_separable_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(float)
    clf = OGDClassifier(lr=0.5)
    p = clf.predict_learn_many(X, y)
    acc_late = np.mean((p[-1000:] >= 0.5) == y[-1000:])
    assert acc_late > 0.95


def test_fast_path_and_general_path_agree():
    rng = np.random.default_rng(4)
    X = np.asfortranarray(rng.normal(size=(200, 5)))  # rows are strided views: general path
    y = rng.normal(size=200)
    a, b = OGD(lr=0.05, radius=2.0), OGD(lr=0.05, radius=2.0)
    for i in range(200):
        assert a.predict_one(X[i]) == b.predict_one(np.ascontiguousarray(X[i]))
        a.learn_one(X[i], float(y[i]))
        b.learn_one(np.ascontiguousarray(X[i]), float(y[i]))
    assert np.array_equal(a.w_, b.w_) and a.b_ == b.b_
    with pytest.raises(InvalidEvent, match=r"x\[2\]"):
        b.predict_one(np.array([0.0, 0.0, np.nan, 0.0, 0.0]))


def test_runs_inside_river_pipeline_and_progressive_val_score():
    from river import compose, datasets, evaluate, metrics, preprocessing

    model = compose.Pipeline(preprocessing.StandardScaler(), OGDClassifier(lr=0.1))
    acc = evaluate.progressive_val_score(datasets.Phishing(), model, metrics.Accuracy())
    # the majority class of Phishing is ~56%; a learned linear model does far better
    assert acc.get() > 0.85
