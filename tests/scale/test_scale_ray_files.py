"""``onlinekit replay DATASET --shard-by COL --backend ray`` on a 2-node cluster started by
``ray start`` (a head and a worker, own ports): the parallel read equals the local sharded
replay, a killed task resumes its shard from its checkpoint (``pytest -m ray``)."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from onlinekit.oco import OGD  # noqa: E402
from onlinekit.sharded import replay_sharded  # noqa: E402
from onlinekit.streams import open_source  # noqa: E402

pytestmark = pytest.mark.ray

ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONWARNINGS": "ignore"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """Head and worker node, one CPU each, stopped (only they) at the end."""
    ray_bin = str(Path(sys.executable).with_name("ray"))
    tmp = tempfile.mkdtemp(prefix="okray")  # short: Ray's socket paths must fit 107 bytes
    gcs = _port()
    node = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--block", "--disable-usage-stats",
            "--node-manager-port", "0", "--object-manager-port", "0"]
    logs = [open(f"{tmp}/head.log", "w"), open(f"{tmp}/worker.log", "w")]
    procs = [subprocess.Popen([ray_bin, "start", "--head", "--port", str(gcs), "--include-dashboard", "false",
                               "--ray-client-server-port", str(_port()), "--temp-dir", tmp, *node],
                              stdout=logs[0], stderr=subprocess.STDOUT, env=ENV)]
    try:
        deadline = time.time() + 180
        while True:
            try:
                socket.create_connection(("127.0.0.1", gcs), 1).close()
                break
            except OSError:
                if time.time() > deadline or procs[0].poll() is not None:
                    pytest.fail("the Ray head did not start: " + Path(f"{tmp}/head.log").read_text()[-2000:])
                time.sleep(0.5)
        procs.append(subprocess.Popen([ray_bin, "start", "--address", f"127.0.0.1:{gcs}", *node],
                                      stdout=logs[1], stderr=subprocess.STDOUT, env=ENV))
        os.environ["RAY_AUTH_MODE"] = "disabled"
        from onlinekit.experiments.ray_backend import ensure_ray

        if ray.is_initialized():
            ray.shutdown()
        ensure_ray(f"127.0.0.1:{gcs}")
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            if time.time() > deadline:
                pytest.fail("the Ray worker node did not join: " + Path(f"{tmp}/worker.log").read_text()[-2000:])
            time.sleep(0.5)
        yield f"127.0.0.1:{gcs}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(90)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in logs:
            f.close()


def _dataset(folder: Path, n=3000, seed=5, files=4, null_at=None):
    """A partitioned Parquet dataset (``files`` parts, small row groups) and the same rows as one file."""
    rng = np.random.default_rng(seed)
    tenant = rng.choice(["t-a", "t-b", "t-c", "t-d", "t-e"], size=n, p=[0.4, 0.3, 0.15, 0.1, 0.05]).astype(object)
    if null_at is not None:
        tenant[null_at] = None
    X = rng.normal(size=(n, 2))
    y = X @ np.array([1.0, -0.5]) + np.where(tenant == "t-b", 2.0, 0.0) + 0.1 * rng.normal(size=n)
    t = pa.table({"tenant": pa.array(tenant, pa.string()), "x0": X[:, 0], "x1": X[:, 1], "y": y})
    folder.mkdir(parents=True)
    cuts = np.linspace(0, n, files + 1).astype(int)
    for i in range(files):
        pq.write_table(t.slice(cuts[i], cuts[i + 1] - cuts[i]), folder / f"part-{i:02d}.parquet", row_group_size=250)
    whole = folder.parent / f"{folder.name}-whole.parquet"
    pq.write_table(t, whole)
    return whole


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "onlinekit.cli", "replay", *map(str, args)], capture_output=True,
                          text=True, env=ENV, timeout=400)


def test_cli_reads_a_partitioned_dataset_on_two_nodes_like_the_local_sharded_replay(cluster, tmp_path):
    whole = _dataset(tmp_path / "events")
    r = _cli(tmp_path / "events", "-l", "ogd", "-p", "lr=0.05", "--shard-by", "tenant", "--backend", "ray",
             "--address", cluster, "--metric", "loss", "--metric", "regret", "--record-every", "200",
             "--out", tmp_path / "ray", "--no-progress")
    assert r.returncode == 0, r.stderr[-3000:]
    # oracle: the driver-read local sharded replay of the same rows in one file
    want = replay_sharded(OGD(lr=0.05), open_source(str(whole)), "tenant", metrics=["loss", "regret"],
                          record_every=200)
    want.write(tmp_path / "local")
    assert (tmp_path / "ray" / "shards.csv").read_text() == (tmp_path / "local" / "shards.csv").read_text()
    got = json.loads((tmp_path / "ray" / "report.json").read_text())
    assert got["summary"] == want.summary and list(got["shards"]) == list(want.reports)
    for key, rep in want.reports.items():  # the series, written by the workers
        shard = json.loads((tmp_path / "ray" / got["shards"][key]["shard_file"]).read_text())
        assert shard["key"] == key and shard["n_events"] == rep.n_events
        assert shard["series"] == json.loads(json.dumps(rep.series))
        assert shard["summary"]["squared_loss"] == rep.summary["squared_loss"]


def test_missing_keys_fail_by_default_and_pool_like_the_local_path(cluster, tmp_path):
    from onlinekit.sharded_dataset import replay_sharded_files

    whole = _dataset(tmp_path / "events", null_at=[1700, 40])
    with pytest.raises(ValueError, match=r"part-0\d\.parquet, event offset \d+: shard key 'tenant' is missing"):
        replay_sharded_files(OGD(lr=0.05), str(tmp_path / "events"), "tenant", address=cluster)
    got = replay_sharded_files(OGD(lr=0.05), str(tmp_path / "events"), "tenant", missing_key="pool", address=cluster)
    want = replay_sharded(OGD(lr=0.05), open_source(str(whole)), "tenant", missing_key="pool")
    assert "" in want.reports and got.summary == want.summary
    assert {k: r.summary["squared_loss"] for k, r in got.reports.items()} == {
        k: r.summary["squared_loss"] for k, r in want.reports.items()}


def test_a_task_killed_mid_shard_is_retried_and_resumes_from_the_checkpoint(cluster, tmp_path):
    from onlinekit._faults import CrashOnceOGD
    from onlinekit.sharded_dataset import replay_sharded_files

    whole = _dataset(tmp_path / "events", n=4000)
    marker = tmp_path / "crashed"
    learner = CrashOnceOGD(str(marker), crash_at=1300, lr=0.05)  # t-a has ~1600 events: dies inside it
    got = replay_sharded_files(learner, str(tmp_path / "events"), "tenant", out=tmp_path / "out",
                               checkpoint_every=500, record_every=100, address=cluster)
    assert marker.exists(), "the worker was not killed"
    assert got.failures == []
    # the killed shard resumed from its last checkpoint, not from event 0
    shard = json.loads((tmp_path / "out" / got.reports["t-a"].meta["shard_file"]).read_text())
    assert 500 <= shard["resumed_from"] <= 1300
    # oracle: an uninterrupted local run (the marker now exists, so it does not crash)
    want = replay_sharded(learner, open_source(str(whole)), "tenant", record_every=100)
    assert got.summary == want.summary
    for key, rep in want.reports.items():
        shard = json.loads((tmp_path / "out" / got.reports[key].meta["shard_file"]).read_text())
        assert shard["series"] == json.loads(json.dumps(rep.series)), key
        assert shard["summary"]["squared_loss"] == rep.summary["squared_loss"], key
    # a rerun with resume continues every long shard from its final checkpoint (nothing replayed
    # again); without resume the checkpoints are cleared first and every shard starts at event 0
    again = replay_sharded_files(learner, str(tmp_path / "events"), "tenant", out=tmp_path / "out",
                                 checkpoint_every=500, record_every=100, address=cluster, resume=True)
    fresh = replay_sharded_files(learner, str(tmp_path / "events"), "tenant", out=tmp_path / "out",
                                 checkpoint_every=500, record_every=100, address=cluster)
    for rep in (again, fresh):
        assert rep.summary == want.summary
    long = [k for k, r in want.reports.items() if r.n_events > 500]
    assert long and all(again.reports[k].resumed_from == want.reports[k].n_events for k in long)
    assert all(r.resumed_from == 0 for r in fresh.reports.values())
