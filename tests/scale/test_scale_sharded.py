"""Sharded replay on the local backend: one learner per key, merged report."""

import json

import numpy as np
import pytest

from onlinekit.engine import replay
from onlinekit.oco import OGD
from onlinekit.sharded import replay_sharded, split_by_key
from onlinekit.streams import ArraySource, Schema, Stream


def _data(n=2400, seed=3):
    rng = np.random.default_rng(seed)
    key = rng.choice(["adv-a", "adv-b", "adv-c"], size=n, p=[0.5, 0.3, 0.2])
    X = rng.normal(size=(n, 3))
    coef = {"adv-a": [1.0, 0.0, -1.0], "adv-b": [0.0, 2.0, 0.5], "adv-c": [-1.0, -1.0, 0.0]}
    y = np.array([X[i] @ coef[k] for i, k in enumerate(key)]) + 0.1 * rng.normal(size=n)
    return {"advertiser": key, "x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "y": y}


def _strip(d):
    return json.loads(json.dumps(d))


def test_each_shard_equals_its_own_replay():
    cols = _data()
    rep = replay_sharded(OGD(lr=0.05), ArraySource(cols), "advertiser", record_every=200)
    first = list(dict.fromkeys(cols["advertiser"].tolist()))
    assert list(rep.reports) == first  # order of first appearance
    for key, r in rep.reports.items():
        m = cols["advertiser"] == key
        X = np.column_stack([cols["x0"][m], cols["x1"][m], cols["x2"][m]])
        alone = replay(OGD(lr=0.05), Stream(ArraySource(X=X, y=cols["y"][m]), Schema(target="y")), record_every=200)
        assert r.n_events == alone.n_events == m.sum()
        assert r.series == alone.series
        assert r.summary["squared_loss"] == alone.summary["squared_loss"]
    assert rep.n_events == len(cols["y"])
    total = sum(r.summary["squared_loss"] for r in rep.reports.values())
    assert rep.summary["squared_loss"] == pytest.approx(total, rel=1e-15)
    assert rep.summary["mean_squared_loss"] == pytest.approx(total / rep.n_events, rel=1e-15)


def test_jobs_do_not_change_the_report(tmp_path):
    cols = _data(900)
    a = replay_sharded(OGD(lr=0.05, schedule="sqrt"), ArraySource(cols), "advertiser", metrics=["loss", "regret"])
    b = replay_sharded(OGD(lr=0.05, schedule="sqrt"), ArraySource(cols), "advertiser", metrics=["loss", "regret"],
                       jobs=2)
    assert _strip(a.to_dict(timing=False)) == _strip(b.to_dict(timing=False))
    files = b.write(tmp_path)
    assert {p.name for p in files} == {"report.json", "shards.csv"}
    lines = (tmp_path / "shards.csv").read_text().splitlines()
    assert lines[0].startswith("advertiser,n_events,") and len(lines) == 4
    assert "advertiser=adv-a" in a.format_table()


def test_shard_column_is_not_a_feature_and_numeric_keys_read_as_integers():
    cols = _data(300)
    ids = np.where(cols["advertiser"] == "adv-a", 7.0, 12.0)
    src = ArraySource({"adv_id": ids, "x0": cols["x0"], "y": cols["y"]})
    schema, shards = split_by_key(src, Schema(target="y"), "adv_id")
    assert schema.features == ("x0",)
    assert list(shards) == list(dict.fromkeys(["7" if v == 7.0 else "12" for v in ids]))
    rep = replay_sharded(OGD(lr=0.05), src, "adv_id")
    for key, r in rep.reports.items():
        m = ids == float(key)
        alone = replay(OGD(lr=0.05), (cols["x0"][m, None], cols["y"][m]))
        assert r.summary["squared_loss"] == alone.summary["squared_loss"]
    kept = split_by_key(src, Schema(target="y", features=("adv_id", "x0")), "adv_id")[0]
    assert kept.features == ("adv_id", "x0")  # named explicitly: stays a feature


def test_a_failing_shard_is_reported_and_the_others_survive():
    cols = _data(600)
    cols["y"] = cols["y"].copy()
    bad = np.flatnonzero(cols["advertiser"] == "adv-b")[5]
    cols["y"][bad] = np.nan
    rep = replay_sharded(OGD(lr=0.05), ArraySource(cols), "advertiser")
    assert [f["key"] for f in rep.failures] == ["adv-b"]
    assert set(rep.reports) == {"adv-a", "adv-c"}
    assert "FAILED" in rep.format_table()


def test_unknown_shard_column_and_backend():
    src = ArraySource(_data(50))
    with pytest.raises(KeyError, match="nope"):
        replay_sharded(OGD(), src, "nope")
    with pytest.raises(ValueError, match="backend"):
        replay_sharded(OGD(), src, "advertiser", backend="dask")
