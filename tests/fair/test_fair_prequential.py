"""``prequential_river`` runs a River model through the supervised protocol's per-event path."""

import numpy as np
import pytest

from onlinekit.fair.baselines import prequential_river


def _loop(model, X, y, names):
    """The reference: predict then learn, row by row, labels as ints."""
    out = []
    for row, yi in zip(X.tolist(), y.tolist(), strict=True):
        x = dict(zip(names, row, strict=True))
        out.append(float(model.predict_proba_one(x).get(1, 0.0)))
        model.learn_one(x, int(yi))
    return np.array(out)


def test_matches_the_per_row_loop_bit_for_bit():
    tree = pytest.importorskip("river.tree")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1500, 3))
    y = (X[:, 0] - X[:, 2] + 0.3 * rng.normal(size=1500) > 0).astype(int)
    names = ["age", "education-num", "hours"]
    got = prequential_river(tree.HoeffdingTreeClassifier(grace_period=40), X, y, names)
    ref = _loop(tree.HoeffdingTreeClassifier(grace_period=40), X, y, names)
    assert np.array_equal(got, ref)
    shifted = _loop(tree.HoeffdingTreeClassifier(grace_period=40), X, np.roll(y, 1), names)
    assert not np.array_equal(got, shifted)  # learning a label one row late shows as a mismatch


def test_names_must_fit_the_columns():
    tree = pytest.importorskip("river.tree")
    with pytest.raises(ValueError, match="names"):
        prequential_river(tree.HoeffdingTreeClassifier(), np.zeros((3, 2)), np.zeros(3), ["a"])
