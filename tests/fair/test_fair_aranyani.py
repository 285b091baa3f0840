"""Aranyani / ObliqueForest / reservoir baseline: API, conventions, state, bad input."""

import numpy as np
import pytest

from onlinekit.base import InvalidEvent, state_to_bytes
from onlinekit.checks import yield_checks
from onlinekit.checks.common import check_bad_input_leaves_state
from onlinekit.fair import Aranyani, ObliqueForest, ReservoirFairForest


def _data(n, seed=0, d=4):
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < 0.4).astype(np.int64)
    X = rng.normal(size=(n, d)) + 1.0 * a[:, None]
    y = (X[:, 0] - X[:, 1] + rng.normal(size=n) > 0.5).astype(np.int64)
    return X, y, a


@pytest.mark.parametrize("params", [
    {"lambda_": 2.0, "seed": 0},                      # default missing_sensitive="raise"
    {"lambda_": 0.5, "penalty": "huber", "n_groups": 4, "seed": 3},
])
def test_onlinekit_checks_with_sensitive_required(params):
    m = Aranyani(**params)
    for check in yield_checks(m):
        if check.__name__ != "check_river_estimator":  # River's checks pass no sensitive value
            check(m.clone())


def test_reservoir_checks_with_sensitive_required():
    m = ReservoirFairForest(lambda_=1.0, reservoir_size=5, seed=0)
    for check in yield_checks(m):
        if check.__name__ != "check_river_estimator":
            check(m.clone())


def test_state_size_independent_of_stream_length():
    X, y, a = _data(5000)
    short, long_ = Aranyani(lambda_=1.0, seed=0), Aranyani(lambda_=1.0, seed=0)
    short.learn_many(X[:100], y[:100], sensitive=a[:100])
    long_.learn_many(X, y, sensitive=a)

    def shapes(m):
        return {k: np.shape(v) for k, v in m.state_dict().items() if k != "_rng"}

    assert shapes(short) == shapes(long_)
    assert len(state_to_bytes(short)) == len(state_to_bytes(long_))
    assert long_.count_.sum() == 5000 and long_.count_.tolist() == [int((a == 0).sum()), int((a == 1).sum())]


def test_learn_one_loop_equals_block_bit_for_bit():
    X, y, a = _data(300, seed=2)
    loop, blk = Aranyani(lambda_=3.0, seed=5), Aranyani(lambda_=3.0, seed=5)
    preds = []
    for i in range(len(y)):
        preds.append(loop.predict_proba_one(X[i])[True])
        loop.learn_one(X[i], int(y[i]), sensitive=int(a[i]))
    out = blk.predict_learn_many(X, y, sensitive=a)
    np.testing.assert_array_equal(out, np.array(preds))
    np.testing.assert_array_equal(loop.W_, blk.W_)
    np.testing.assert_array_equal(loop.grad_w_mean_, blk.grad_w_mean_)


def test_lambda_zero_equals_plain_forest():
    X, y, a = _data(500, seed=4)
    p1 = Aranyani(lambda_=0.0, seed=7).predict_learn_many(X, y, sensitive=a)
    p2 = ObliqueForest(seed=7).predict_learn_many(X, y)
    np.testing.assert_array_equal(p1, p2)


def test_seeds():
    X, y, a = _data(200)
    p = [Aranyani(lambda_=1.0, seed=s).predict_learn_many(X, y, sensitive=a) for s in (1, 1, 2)]
    np.testing.assert_array_equal(p[0], p[1])
    assert not np.array_equal(p[0], p[2])


def test_missing_sensitive_raises_and_ignore_mode_skips_statistics():
    X, y, a = _data(50)
    m = Aranyani(lambda_=1.0, seed=0)
    m.learn_many(X, y, sensitive=a)
    before = state_to_bytes(m)
    with pytest.raises(InvalidEvent, match="sensitive"):
        m.learn_one(X[0], 1)
    with pytest.raises(InvalidEvent, match="sensitive"):
        m.learn_one(X[0], 1, sensitive=2)
    with pytest.raises(InvalidEvent) as err:
        m.learn_many(X[:5], y[:5], sensitive=np.array([0, 1, 0.5, 1, 0]))
    assert err.value.field == "sensitive[2]" and err.value.offset == 2
    with pytest.raises(InvalidEvent) as err:
        m.learn_many(np.where(np.arange(5)[:, None] == 3, np.nan, X[:5]), y[:5], sensitive=a[:5])
    assert err.value.offset == 3
    with pytest.raises(InvalidEvent, match="binary label"):
        m.learn_one(X[0], 2, sensitive=1)
    assert state_to_bytes(m) == before
    ign = Aranyani(lambda_=1.0, missing_sensitive="ignore", seed=0)
    ign.learn_many(X, y, sensitive=a)
    counts = ign.count_.copy()
    w = ign.W_.copy()
    ign.learn_one(X[0], 1)
    np.testing.assert_array_equal(ign.count_, counts)
    assert not np.array_equal(ign.W_, w)


def test_bool_and_float_group_values_are_accepted():
    X, y, _ = _data(4)
    m = Aranyani(seed=0)
    m.learn_one(X[0], True, sensitive=True)
    m.learn_one(X[1], 0, sensitive=0.0)
    assert m.count_.tolist() == [1, 1]


@pytest.mark.parametrize("kw", [{"lambda_": -1.0}, {"penalty": "l2"}, {"depth": 1}, {"n_trees": 0},
                                {"lr": 0.0}, {"huber_delta": 0.0}, {"n_groups": 1},
                                {"missing_sensitive": "drop"}, {"seed": 1.5}])
def test_bad_params(kw):
    with pytest.raises(InvalidEvent):
        Aranyani(**kw)


def test_params_are_not_state():
    m = Aranyani(lambda_=3.0, seed=0)
    assert "lambda_" not in m.state_dict()
    assert m.clone().lambda_ == 3.0


def test_dict_inputs_emerging_features_and_order():
    m1, m2 = ObliqueForest(seed=0), ObliqueForest(seed=0)
    m1.learn_one({"b": 1.0, "a": 2.0}, 1)
    m2.learn_one({"a": 2.0, "b": 1.0}, 1)
    np.testing.assert_array_equal(m1.W_, m2.W_)
    assert m1.features_ == ["a", "b"]
    p = m1.predict_proba_one({"a": 2.0, "b": 1.0, "c": 5.0})  # unseen feature ignored
    assert p == m1.predict_proba_one({"a": 2.0, "b": 1.0})
    m1.learn_one({"c": 1.0}, 0)
    assert m1.features_ == ["a", "b", "c"] and m1.W_.shape == (3, 15, 3)


def test_node_gaps_shrink_on_synthetic_stream():
    X, y, a = _data(6000, seed=1)
    g0 = Aranyani(lambda_=0.0, lr=0.01, seed=0)
    g1 = Aranyani(lambda_=10.0, lr=0.01, seed=0)
    g0.learn_many(X, y, sensitive=a)
    g1.learn_many(X, y, sensitive=a)
    assert np.abs(g1.node_gaps()).mean() < 0.2 * np.abs(g0.node_gaps()).mean()


def test_default_bad_events_declared_state_unchanged():
    check_bad_input_leaves_state(Aranyani(lambda_=1.0, seed=0))


def test_replay_cli_with_sensitive_column(tmp_path):
    from click.testing import CliRunner

    from onlinekit.cli import main

    X, y, a = _data(400, seed=6)
    path = tmp_path / "s.csv"
    with open(path, "w") as fh:
        fh.write("x0,x1,x2,x3,y,a\n")
        for i in range(len(y)):
            fh.write(",".join(f"{v:.6g}" for v in X[i]) + f",{y[i]},{a[i]}\n")
    res = CliRunner().invoke(main, ["replay", str(path), "--learner", "aranyani", "-p", "lambda_=1.0",
                                    "-p", "seed=0", "--target", "y", "--sensitive", "a",
                                    "-f", "x0,x1,x2,x3", "--metric", "accuracy"])
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("accuracy"))
    p = Aranyani(lambda_=1.0, seed=0).predict_learn_many(X, y, sensitive=a)
    assert float(line.split()[1]) == pytest.approx(np.mean((p >= 0.5) == y), abs=1e-5)


def test_empty_block_changes_nothing():
    m = Aranyani(seed=0)
    before = state_to_bytes(m)
    assert m.predict_learn_many(np.zeros((0, 3)), np.zeros(0), sensitive=np.zeros(0)).shape == (0,)
    assert state_to_bytes(m) == before
