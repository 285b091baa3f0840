"""Sharded replay read in parallel by Ray Data on a local 2-node cluster (``pytest -m ray``)."""

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

# Ray Data warns about its own deprecated settings while it initialises
pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def two_nodes():
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    from onlinekit.experiments.ray_backend import ensure_ray

    ensure_ray(cluster.address)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def _events(n=3000, seed=2):
    rng = np.random.default_rng(seed)
    tenant = rng.choice(["t-a", "t-b", "t-c", "t-d", "t-e"], size=n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    X = rng.normal(size=(n, 2))
    coef = {"t-a": [1.0, 0.0], "t-b": [0.0, -2.0], "t-c": [1.0, 1.0], "t-d": [-1.0, 0.5], "t-e": [0.3, 0.3]}
    y = np.array([X[i] @ coef[t] for i, t in enumerate(tenant)]) + 0.1 * rng.normal(size=n)
    return {"tenant": tenant, "event": np.arange(n, dtype=np.int64), "x0": X[:, 0], "x1": X[:, 1], "y": y}


def _strip(d):
    import json

    return json.loads(json.dumps(d))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_parallel_read_on_two_nodes_equals_the_local_sharded_replay(two_nodes, tmp_path, fmt):
    from onlinekit.oco import OGD
    from onlinekit.sharded import replay_sharded
    from onlinekit.sharded_dataset import replay_sharded_dataset
    from onlinekit.streams import ArraySource, Schema

    ev = _events()
    table = pa.table(ev)
    # a partitioned dataset: files of interleaved rows, so each file holds every tenant
    for i in range(4):
        part = table.take(np.arange(i, len(ev["y"]), 4))
        if fmt == "parquet":
            pq.write_table(part, tmp_path / f"part-{i}.parquet")
        else:
            from pyarrow import csv as pacsv

            pacsv.write_csv(part, tmp_path / f"part-{i}.csv")
    assert len({n["NodeID"] for n in ray.nodes() if n["Alive"]}) == 2
    got = replay_sharded_dataset(OGD(lr=0.05), str(tmp_path), "tenant", "event", metrics=["loss", "regret"],
                                 fmt=fmt, num_partitions=4)
    cols = {k: v for k, v in ev.items() if k != "event"}
    want = replay_sharded(OGD(lr=0.05), ArraySource(cols), "tenant", schema=Schema(target="y"),
                          metrics=["loss", "regret"])
    assert got.failures == []
    a, b = _strip(got.to_dict(timing=False)), _strip(want.to_dict(timing=False))
    a.pop("source"), b.pop("source")
    for d in (a, b):
        for s in d["shards"].values():
            s.pop("source")
    assert a == b
    assert list(got.reports) == list(want.reports)  # order of first appearance
