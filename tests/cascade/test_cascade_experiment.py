"""The cascading-rl experiment (quick config) and the example script."""

import subprocess
import sys
from pathlib import Path

from onlinekit.experiments import run_experiment
from onlinekit.experiments.cascading_rl import METHODS, Config

ROOT = Path(__file__).resolve().parents[2]


def test_paper_defaults():
    cfg = Config()
    assert (cfg.n_states, cfg.horizon, cfg.m, cfg.n_items) == (20, 3, 3, (10, 15, 20, 25))
    assert cfg.n_episodes >= 100_000 and cfg.methods == METHODS


def test_quick_run_writes_outputs_and_passes_its_checks(tmp_path):
    res = run_experiment("cascading-rl", quick=True, n_seeds=2, out=tmp_path)
    assert res.failures == []
    by = {r["method"]: r for r in res.table}
    assert set(by) == set(METHODS)
    assert by["CascadingVI"]["regret_mean"] == by["CascadingVI-Oracle"]["regret_mean"]
    assert by["CascadingVI"]["regret_mean"] < by["AdaptVI"]["regret_mean"]
    assert (tmp_path / "table.md").exists() and (tmp_path / "regret_N4.png").exists()


def test_example_runs_quick(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "cascade.py"), "--quick"], capture_output=True,
                       text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "CascadingVI" in r.stdout and "CascadeKL-UCB" in r.stdout
