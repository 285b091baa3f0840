"""The Ray backend (``pytest -m ray``): experiment seeds and sharded replay as Ray tasks,
identical to the local backend; retried and reported failures."""

import os
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from onlinekit.experiments import load_experiment, run_experiment  # noqa: E402
from onlinekit.experiments.ray_backend import map_tasks, run_seeds  # noqa: E402

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from onlinekit.experiments.ray_backend import ensure_ray

    started = not ray.is_initialized()
    if started:
        ensure_ray(num_cpus=2)
    # functions defined in this test module travel by value (workers cannot import it)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    if started:
        ray.shutdown()


def same(a, b) -> bool:
    """Deep, bit-for-bit equality (arrays: same dtype, shape and bytes; NaN equals NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("name", ["ogd-regret", "sea-regret"])
def test_ray_seeds_equal_local_backend_bit_for_bit(name):
    local = run_experiment(name, quick=True, n_seeds=3, seed=5)
    mod = load_experiment(name)
    results, failures = run_seeds(mod.run, local.config, local.seeds)
    assert failures == []
    assert same(results, local.results)


def _flaky(marker_dir, seed):
    """Fails on the first attempt for each seed (leaves a marker file), then succeeds: a
    transient connection error, or (seed 2) a worker that dies."""
    marker = Path(marker_dir) / f"tried-{seed}"
    if not marker.exists():
        marker.write_text("1")
        if seed == 2:
            os._exit(1)  # the worker process crashes: a system failure
        raise ConnectionError(f"transient failure for seed {seed}")
    return {"rows": [{"method": "x", "seed": float(seed)}], "curves": {}}


def _broken_for_seven(marker_dir, seed):
    with open(Path(marker_dir) / f"attempts-{seed}", "a") as fh:
        fh.write("x")
    if seed == 7:
        raise ValueError("seed 7 cannot be run")
    return {"rows": [{"method": "x", "v": float(seed) * 2.0}], "curves": {}}


def test_system_failures_and_transient_errors_are_retried(tmp_path, capsys):
    results, failures = run_seeds(_flaky, str(tmp_path), [1, 2, 3], max_retries=2)
    assert failures == []
    assert [r["rows"][0]["seed"] for r in results] == [1.0, 2.0, 3.0]
    # Ray's retry notices arrive from a background thread: stderr, one line each, never stdout
    deadline = time.time() + 10
    err = ""
    while "retries remaining" not in err and time.time() < deadline:
        time.sleep(0.2)
        err += capsys.readouterr().err
    out = capsys.readouterr()
    assert "retries remaining" in err and "raylet" not in err + out.err and out.out == ""
    assert all(line.startswith("ray: ") for line in err.splitlines())


def test_a_deterministic_error_is_not_retried_and_the_rest_survive(tmp_path):
    results, failures = run_seeds(_broken_for_seven, str(tmp_path), [3, 7, 9], max_retries=2)
    assert results[1] is None
    assert [r["rows"][0]["v"] for r in (results[0], results[2])] == [6.0, 18.0]
    assert len(failures) == 1
    f = failures[0]
    assert (f["index"], f["seed"]) == (1, 7) and "ValueError" in f["error"] and "seed 7" in f["error"]
    assert (tmp_path / "attempts-7").read_text() == "x"  # one attempt, no retries


def _interval(marker_dir, i):
    t0 = time.time()
    time.sleep(0.3)
    (Path(marker_dir) / f"run-{i}").write_text(f"{t0} {time.time()}")
    return i


def _overlaps(d):
    iv = sorted(tuple(map(float, p.read_text().split())) for p in Path(d).glob("run-*"))
    return any(b[0] < a[1] for a, b in zip(iv, iv[1:], strict=False))


def test_max_in_flight_caps_running_tasks(tmp_path):
    seen = []
    one, two = tmp_path / "one", tmp_path / "all"
    one.mkdir(), two.mkdir()
    res, fails = map_tasks(_interval, [(i,) for i in range(4)], shared=(str(one),), max_in_flight=1,
                           on_result=lambda i, r: seen.append((i, r)))
    assert res == [0, 1, 2, 3] and fails == [] and sorted(seen) == [(i, i) for i in range(4)]
    assert not _overlaps(one)
    map_tasks(_interval, [(i,) for i in range(4)], shared=(str(two),))  # uncapped: 2 CPUs run 2 at once
    assert _overlaps(two)
    with pytest.raises(ValueError, match="max_in_flight"):
        map_tasks(_interval, [(0,)], shared=(str(one),), max_in_flight=0)


def test_probe_accepts_a_real_cluster():
    from onlinekit.experiments.ray_backend import probe_address

    probe_address(ray.get_runtime_context().gcs_address, timeout=5)  # no error


def test_ray_failed_seed_then_local_resume_equals_a_whole_run(tmp_path, monkeypatch):
    from onlinekit.experiments import runner

    real = load_experiment("ogd-regret")
    whole = run_experiment("ogd-regret", quick=True, n_seeds=3, out=tmp_path / "whole")
    mod = types.SimpleNamespace(Config=real.Config, run=_fails_for(whole.seeds[1]), check=real.check)
    monkeypatch.setattr(runner, "load_experiment", lambda name: mod)
    cut = run_experiment("ogd-regret", quick=True, n_seeds=3, out=tmp_path / "cut", backend="ray", jobs=1)
    assert [f["index"] for f in cut.failed_seeds] == [1] and (tmp_path / "cut" / "failed_seeds.json").exists()
    monkeypatch.setattr(runner, "load_experiment", lambda name: real)
    run_experiment("ogd-regret", quick=True, n_seeds=3, out=tmp_path / "cut", resume=True)
    files = lambda d: {str(p.relative_to(d)): p.read_bytes() for p in d.rglob("*") if p.is_file()}  # noqa: E731
    assert files(tmp_path / "whole") == files(tmp_path / "cut")


def _fails_for(bad):
    def run(config, seed):
        if seed == bad:
            raise RuntimeError("head lost")
        from onlinekit.experiments import load_experiment as load

        return load("ogd-regret").run(config, seed)

    return run


def test_map_tasks_keeps_input_order():
    results, failures = map_tasks(pow, [(2, k) for k in range(6)])
    assert results == [1, 2, 4, 8, 16, 32] and failures == []


def test_sharded_replay_ray_equals_local():
    from onlinekit.oco import OGD
    from onlinekit.sharded import replay_sharded
    from onlinekit.streams import ArraySource

    rng = np.random.default_rng(4)
    n = 1500
    key = rng.choice(["t1", "t2", "t3", "t4"], size=n)
    x = rng.normal(size=(n, 2))
    y = x @ np.array([1.0, -2.0]) + rng.normal(size=n) * (key == "t2")
    cols = {"tenant": key, "a": x[:, 0], "b": x[:, 1], "y": y}
    y_bad = y.copy()
    y_bad[np.flatnonzero(key == "t3")[2]] = np.inf
    for target in (y, y_bad):
        cols["y"] = target
        loc = replay_sharded(OGD(lr=0.05), ArraySource(cols), "tenant", metrics=["loss", "regret"])
        rem = replay_sharded(OGD(lr=0.05), ArraySource(cols), "tenant", metrics=["loss", "regret"], backend="ray")
        assert same(loc.to_dict(timing=False), rem.to_dict(timing=False))
    assert [f["key"] for f in rem.failures] == ["t3"]
