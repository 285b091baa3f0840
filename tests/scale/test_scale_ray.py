"""The Ray backend (``pytest -m ray``): experiment seeds and sharded replay as Ray tasks,
identical to the local backend; retried and reported failures."""

import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from onlinekit.experiments import load_experiment, run_experiment  # noqa: E402
from onlinekit.experiments.ray_backend import map_tasks, run_seeds  # noqa: E402

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
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
    """Fails on the first attempt for each seed (leaves a marker file), then succeeds."""
    marker = Path(marker_dir) / f"tried-{seed}"
    if not marker.exists():
        marker.write_text("1")
        raise RuntimeError(f"transient failure for seed {seed}")
    return {"rows": [{"method": "x", "seed": float(seed)}], "curves": {}}


def _broken_for_seven(config, seed):
    if seed == 7:
        raise ValueError("seed 7 cannot be run")
    return {"rows": [{"method": "x", "v": float(seed) * config}], "curves": {}}


def test_failed_tasks_are_retried(tmp_path):
    results, failures = run_seeds(_flaky, str(tmp_path), [1, 2, 3], max_retries=2)
    assert failures == []
    assert [r["rows"][0]["seed"] for r in results] == [1.0, 2.0, 3.0]


def test_a_seed_that_keeps_failing_is_reported_and_the_rest_survive():
    results, failures = run_seeds(_broken_for_seven, 2.0, [3, 7, 9], max_retries=1)
    assert results[1] is None
    assert [r["rows"][0]["v"] for r in (results[0], results[2])] == [6.0, 18.0]
    assert len(failures) == 1
    f = failures[0]
    assert (f["index"], f["seed"]) == (1, 7) and "ValueError" in f["error"] and "seed 7" in f["error"]


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
