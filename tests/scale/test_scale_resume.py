"""Experiments write each seed when it finishes, resume where they stopped and clear what an
earlier run left; pool workers run one BLAS thread each."""

import json
import os
import types
from concurrent.futures import ProcessPoolExecutor

import pytest
from click.testing import CliRunner

from onlinekit._pool import blas_threads, worker_pool
from onlinekit.experiments import runner
from onlinekit.experiments.runner import load_experiment, run_experiment

_REAL = load_experiment("ogd-regret")
_CALLS: list[int] = []
_FAIL_AT: dict = {"seed": None}


def _interruptible_run(config, seed):
    """ogd-regret's run; raises for one seed (a lost head / killed worker) when armed."""
    _CALLS.append(seed)
    if seed == _FAIL_AT["seed"]:
        raise RuntimeError(f"killed while running seed {seed}")
    return _REAL.run(config, seed)


@pytest.fixture
def fake_experiment(monkeypatch):
    mod = types.SimpleNamespace(Config=_REAL.Config, run=_interruptible_run, check=_REAL.check)
    monkeypatch.setattr(runner, "load_experiment", lambda name: mod)
    _CALLS.clear()
    _FAIL_AT["seed"] = None
    yield
    _FAIL_AT["seed"] = None


def _files(d):
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_interrupted_run_resumes_to_the_uninterrupted_outputs_byte_for_byte(tmp_path, fake_experiment):
    cfg = _REAL.Config.quick()
    whole = run_experiment("x", config=cfg, n_seeds=5, seed=3, out=tmp_path / "whole")
    seeds = whole.seeds
    _CALLS.clear()
    _FAIL_AT["seed"] = seeds[3]  # seeds 0-2 finish, then the run dies
    with pytest.raises(RuntimeError, match="killed"):
        run_experiment("x", config=cfg, n_seeds=5, seed=3, out=tmp_path / "cut")
    left = sorted(p.name for p in (tmp_path / "cut" / "seeds").iterdir())
    assert left == ["seed-0000.json", "seed-0001.json", "seed-0002.json"]  # written as they finished
    _FAIL_AT["seed"] = None
    _CALLS.clear()
    again = run_experiment("x", config=cfg, n_seeds=5, seed=3, out=tmp_path / "cut", resume=True)
    assert _CALLS == seeds[3:]  # only the unfinished seeds ran
    assert again.seeds == seeds and again.table == whole.table
    a, b = _files(tmp_path / "whole"), _files(tmp_path / "cut")
    assert list(a) == list(b) and any(k.endswith(".png") for k in a)
    assert [k for k in a if a[k] != b[k]] == []


def test_resume_on_the_pool_writes_seeds_as_they_finish(tmp_path, fake_experiment):
    cfg = _REAL.Config.quick()
    whole = run_experiment("x", config=cfg, n_seeds=4, out=tmp_path / "whole")
    _FAIL_AT["seed"] = whole.seeds[0]
    with pytest.raises(RuntimeError, match="killed"):
        run_experiment("x", config=cfg, n_seeds=4, out=tmp_path / "cut", jobs=2)
    _FAIL_AT["seed"] = None
    run_experiment("x", config=cfg, n_seeds=4, out=tmp_path / "cut", jobs=2, resume=True)
    assert _files(tmp_path / "whole") == _files(tmp_path / "cut")


def test_resume_refuses_another_config(tmp_path, fake_experiment):
    cfg = _REAL.Config.quick()
    run_experiment("x", config=cfg, n_seeds=2, out=tmp_path)
    other = runner.config_from_params(cfg, {"lr": "0.07"})
    with pytest.raises(ValueError, match=r"another config \(lr="):
        run_experiment("x", config=other, n_seeds=2, out=tmp_path, resume=True)
    with pytest.raises(ValueError, match="number of seeds"):
        run_experiment("x", config=cfg, n_seeds=3, out=tmp_path, resume=True)
    with pytest.raises(ValueError, match="root seed"):
        run_experiment("x", config=cfg, n_seeds=2, seed=1, out=tmp_path, resume=True)
    _CALLS.clear()
    run_experiment("x", config=cfg, n_seeds=2, out=tmp_path, resume=True)
    assert _CALLS == []  # everything was there


def test_a_fresh_start_clears_what_an_earlier_run_left(tmp_path, fake_experiment):
    cfg = _REAL.Config.quick()
    run_experiment("x", config=cfg, n_seeds=3, out=tmp_path)
    (tmp_path / "failed_seeds.json").write_text("[]")
    (tmp_path / "old-curve.png").write_bytes(b"png")
    (tmp_path / "notes.txt").write_text("mine")
    res = run_experiment("x", config=cfg, n_seeds=2, out=tmp_path)
    names = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert names == {str(p.relative_to(tmp_path)) for p in res.files} | {"notes.txt"}
    assert "seeds/seed-0002.json" not in names and "failed_seeds.json" not in names


def test_cli_address_needs_ray_backend_and_resume_flag(tmp_path):
    from onlinekit.cli import main

    r = CliRunner().invoke(main, ["experiment", "ogd-regret", "--quick", "--address", "127.0.0.1:6555",
                                  "--out", str(tmp_path)])
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        "error: --address applies to the Ray backend: add --backend ray"]
    assert not (tmp_path / "config.json").exists()
    args = ["experiment", "ogd-regret", "--quick", "--seeds", "2", "--out", str(tmp_path)]
    assert CliRunner().invoke(main, args).exit_code == 0
    r = CliRunner().invoke(main, [*args, "-p", "lr=0.07", "--resume"])
    assert r.exit_code == 2 and "another config (lr=" in r.output and len(r.output.strip().splitlines()) == 1


def _blas_in_worker(_=None):
    return blas_threads(), os.environ.get("OPENBLAS_NUM_THREADS")


def test_pool_workers_run_one_blas_thread():
    with worker_pool(2) as pool:
        got = list(pool.map(_blas_in_worker, range(2)))
    assert got == [(1, "1")] * 2
    # the runner's pool is that pool: tasks see one BLAS thread too
    res = runner._run_local([(lambda_free_call, None, s) for s in range(3)], 3, 2, False, "t")
    assert res == [1, 1, 1]
    # without the initializer a worker gets the machine's default (sabotage check)
    if (os.cpu_count() or 1) > 1 and "OPENBLAS_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in os.environ:
        with ProcessPoolExecutor(1) as pool:
            assert pool.submit(_blas_in_worker).result()[0] > 1


def lambda_free_call(config, seed):
    return blas_threads()


def test_sharded_pool_uses_one_blas_thread_workers(monkeypatch):
    import numpy as np

    from onlinekit import _pool
    from onlinekit.oco import OGD
    from onlinekit.sharded import replay_sharded
    from onlinekit.streams import ArraySource

    made = []
    real = _pool.worker_pool
    monkeypatch.setattr(_pool, "worker_pool", lambda jobs: made.append(jobs) or real(jobs))
    rng = np.random.default_rng(0)
    src = ArraySource({"k": rng.choice(["a", "b", "c"], 300), "x": rng.normal(size=300), "y": rng.normal(size=300)})
    replay_sharded(OGD(), src, "k", jobs=2)
    assert made == [2]


def test_seed_results_json_roundtrip_is_exact(tmp_path, fake_experiment):
    cfg = _REAL.Config.quick()
    res = run_experiment("x", config=cfg, n_seeds=1, out=tmp_path)
    d = json.loads((tmp_path / "seeds" / "seed-0000.json").read_text())
    assert d["seed"] == res.seeds[0] and d["rows"] == json.loads(json.dumps(res.results[0]["rows"]))
