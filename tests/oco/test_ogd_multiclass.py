"""OGDMulticlass (softmax regression by OGD) against a plain-Python reference."""

from __future__ import annotations

import numpy as np
import pytest

from onlinekit.base import Diverged, InvalidEvent
from onlinekit.oco.softmax import OGDMulticlass
from tests.reference.softmax_ref import SoftmaxRef


def _stream(n=400, d=4, k=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    lab = np.argmax(X @ rng.normal(size=(d, k)) + 0.3 * rng.normal(size=(n, k)), axis=1)
    names = np.array(["w", "x", "y", "z"])[lab]
    return X, names


@pytest.mark.parametrize("params", [{}, {"lr": 0.2, "schedule": "constant", "l2": 0.05},
                                    {"lr": 1.0, "intercept": False}])
def test_matches_the_reference_event_by_event(params):
    X, y = _stream()
    m, ref = OGDMulticlass(**params), SoftmaxRef(**{"lr": 0.5, "schedule": "sqrt", **params})
    for xi, yi in zip(X, y):
        assert m.predict_one(xi) == ref.predict(xi.tolist())
        m.learn_one(xi, str(yi))
        ref.learn(xi.tolist(), str(yi))
    assert m.classes_ == ref.classes
    np.testing.assert_allclose(m.W_, np.array(ref.W), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.b_, np.array(ref.b), rtol=1e-12, atol=1e-14)


def test_a_broken_step_is_caught_by_the_reference():
    """Sabotage: a learner whose gradient ignores the true class drifts from the reference."""
    X, y = _stream(n=50)
    m, ref = OGDMulticlass(), SoftmaxRef(lr=0.5)
    for xi, yi in zip(X, y):
        m.learn_one(xi, "same")  # wrong labels
        ref.learn(xi.tolist(), str(yi))
    assert m.W_.shape != np.array(ref.W).shape or not np.allclose(m.W_, ref.W)


def test_block_path_equals_the_event_loop_bit_for_bit():
    X, y = _stream(n=600)
    codes = {}
    yc = np.array([codes.setdefault(v, len(codes)) for v in y], dtype=float)
    a, b = OGDMulticlass(), OGDMulticlass()
    a.grow_classes(list(codes))
    preds = np.concatenate([a.predict_learn_many(X[:250], yc[:250]), a.predict_learn_many(X[250:], yc[250:])])
    loop = []
    for xi, yi in zip(X, y):
        p = b.predict_one(xi)
        loop.append(-1.0 if p is None else float(b.classes_.index(p)))
        b.learn_one(xi, str(yi))
    assert preds.tolist() == loop
    assert a.W_.tobytes() == b.W_.tobytes() and a.b_.tobytes() == b.b_.tobytes()


def test_learns_a_separable_problem():
    X, y = _stream(n=3000, seed=1)
    m = OGDMulticlass()
    hits = []
    for xi, yi in zip(X, y):
        hits.append(m.predict_one(xi) == yi)
        m.learn_one(xi, str(yi))
    assert np.mean(hits[-1000:]) > 0.8  # chance is about 0.25


def test_refused_events_change_nothing():
    m = OGDMulticlass()
    m.learn_one([1.0, 2.0], "a")
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else list(v) for k, v in m.state_dict().items()}
    with pytest.raises(InvalidEvent, match="non-finite"):
        m.learn_one([np.nan, 1.0], "b")
    with pytest.raises(InvalidEvent, match="class label"):
        m.learn_one([1.0, 1.0], None)
    big = OGDMulticlass(lr=1e300, schedule="constant")
    big.learn_one([1.0, 1.0], "a")
    with pytest.raises(Diverged):
        big.learn_one([1e300, 1e300], "b")
    assert big.classes_ == ["a"] and big.st_[0] == 1
    with pytest.raises(InvalidEvent, match="class code"):
        m.predict_learn_many(np.ones((1, 2)), np.array([5.0]))
    after = m.state_dict()
    for k, v in before.items():
        assert np.array_equal(np.asarray(after[k]), np.asarray(v)), k
