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


# ---- the sort-based splitter: same shards as the quadratic reference, one key rule ----------

def _same_shards(a, b):
    assert list(a) == list(b)
    for k in a:
        ca, la = a[k]
        cb, lb = b[k]
        assert list(ca) == list(cb)
        for c in ca:
            assert ca[c].dtype == cb[c].dtype and ca[c].tobytes() == cb[c].tobytes(), (k, c)
        assert (la is None and lb is None) or la.tolist() == lb.tolist()


@pytest.mark.parametrize("seed", range(4))
def test_sort_based_split_equals_the_quadratic_reference(seed, tmp_path):
    from scale_reference import split_by_key_quadratic

    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    n_keys = int(rng.integers(1, 200))
    names = np.array([f"t{int(v)}" for v in rng.integers(0, 10**6, size=n_keys)])
    zipf = np.minimum(rng.zipf(1.3, size=n), n_keys) - 1  # skewed: a few large tenants, a long tail
    text_keys = names[zipf]
    float_keys = rng.choice(np.r_[np.arange(n_keys, dtype=float), [0.5, -2.25, 1e-3]], size=n)
    cols = {"x0": rng.normal(size=n), "x1": rng.normal(size=n), "y": rng.normal(size=n)}
    chunk = int(rng.integers(7, 500))  # many chunks: keys recur across chunk borders
    for keys in (text_keys, float_keys):
        src = ArraySource({"tenant": keys, **cols})
        new = split_by_key(src, Schema(target="y"), "tenant", chunk_size=chunk)[1]
        _same_shards(new, split_by_key_quadratic(src, Schema(target="y"), "tenant", chunk_size=chunk))
    # from CSV, with line numbers
    path = tmp_path / "s.csv"
    path.write_text("tenant,x0,y\n" + "".join(f"{k},{a!r},{b!r}\n" for k, a, b in zip(text_keys, cols["x0"].tolist(), cols["y"].tolist(),
                                                                                        strict=True)))
    from onlinekit.streams import open_source

    new = split_by_key(open_source(str(path)), Schema(target="y"), "tenant", chunk_size=chunk)[1]
    _same_shards(new, split_by_key_quadratic(open_source(str(path)), Schema(target="y"), "tenant", chunk_size=chunk))
    assert new[text_keys[0]][1][0] == 2  # lines kept (header is line 1)


def test_the_oracle_check_can_fail():
    """A splitter that loses the per-event order within a shard is caught."""
    from scale_reference import split_by_key_quadratic

    rng = np.random.default_rng(0)
    src = ArraySource({"tenant": rng.choice(["a", "b"], 100), "x0": rng.normal(size=100), "y": rng.normal(size=100)})
    good = split_by_key_quadratic(src, Schema(target="y"), "tenant")
    bad = {k: ({c: v[::-1] for c, v in cols.items()}, lines) for k, (cols, lines) in good.items()}
    with pytest.raises(AssertionError):
        _same_shards(bad, good)


def test_keys_from_csv_are_text_and_from_arrays_canonical_numbers(tmp_path):
    from onlinekit.streams import open_source

    path = tmp_path / "k.csv"
    path.write_text("tenant,x0,y\n3,1,1\n3.0,2,2\n03,3,3\n3,4,4\n")
    shards = split_by_key(open_source(str(path)), Schema(target="y"), "tenant")[1]
    assert {k: v[0]["x0"].tolist() for k, v in shards.items()} == {"3": [1.0, 4.0], "3.0": [2.0], "03": [3.0]}
    for arr in (np.array([3.0, 3.0, 3.0, 3.0]), np.array([3, 3, 3, 3]), np.array([3, 3.0, 3, 3], dtype=object)):
        src = ArraySource({"tenant": arr, "x0": np.arange(1.0, 5.0), "y": np.ones(4)})
        assert list(split_by_key(src, Schema(target="y"), "tenant")[1]) == ["3"]
    src = ArraySource({"tenant": np.array([0.5, -0.0, 1e20, 2.0**70]), "x0": np.ones(4), "y": np.ones(4)})
    assert list(split_by_key(src, Schema(target="y"), "tenant")[1]) == ["0.5", "0", str(10**20), str(2**70)]
    # a key named as a feature is read as a number from CSV too: then 3, 3.0 and 03 are one key
    schema = Schema(target="y", features=("tenant", "x0"))
    assert list(split_by_key(open_source(str(path)), schema, "tenant")[1]) == ["3"]


@pytest.mark.parametrize("values", [
    np.array(["a", "", "b"], dtype=object),
    np.array(["a", None, "b"], dtype=object),
    np.array([1.0, np.nan, 2.0]),
    np.array([1.0, np.inf, 2.0]),
])
def test_missing_keys_are_an_error_unless_pooled(values):
    src = ArraySource({"tenant": values, "x0": np.arange(3.0), "y": np.ones(3)})
    with pytest.raises(ValueError, match=r"event offset 1: shard key 'tenant' is missing .*missing_key='pool'"):
        split_by_key(src, Schema(target="y"), "tenant")
    shards = split_by_key(src, Schema(target="y"), "tenant", missing_key="pool")[1]
    assert shards[""][0]["x0"].tolist() == [1.0] and len(shards) == 3
    rep = replay_sharded(OGD(), src, "tenant", missing_key="pool")
    assert rep.reports[""].n_events == 1
    with pytest.raises(ValueError, match="missing_key"):
        split_by_key(src, Schema(target="y"), "tenant", missing_key="drop")


def test_missing_key_in_csv_names_the_line(tmp_path):
    from onlinekit.streams import open_source

    path = tmp_path / "k.csv"
    path.write_text("tenant,x0,y\na,1,1\n,2,2\n")
    with pytest.raises(ValueError, match=r"k.csv, line 3: shard key 'tenant' is missing"):
        replay_sharded(OGD(), open_source(str(path)), "tenant")


def test_jobs_cap_ray_tasks_in_flight(monkeypatch):
    from onlinekit.experiments import ray_backend

    seen = []

    def fake_map_tasks(fn, arg_tuples, **kw):
        seen.append(kw["max_in_flight"])
        return [fn(*kw["shared"], *a) for a in arg_tuples], []

    monkeypatch.setattr(ray_backend, "map_tasks", fake_map_tasks)
    src = ArraySource(_data(120))
    local = replay_sharded(OGD(), src, "advertiser")
    for jobs in (1, 3):
        rep = replay_sharded(OGD(), src, "advertiser", backend="ray", jobs=jobs)
        assert _strip(rep.to_dict(timing=False)) == _strip(local.to_dict(timing=False))
    assert seen == [None, 3]
