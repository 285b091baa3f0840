"""The autobidding experiment (quick config), the example script and the benchmark smoke run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_quick_experiment_runs_and_meets_claims(tmp_path):
    from onlinekit.experiments import run_experiment

    res = run_experiment("autobidding", quick=True, n_seeds=2, out=tmp_path)
    assert res.failures == []
    rows = {r["method"]: r for r in res.table if not r["method"].startswith("levers:")}
    assert set(rows) == {"sgd-ucb/lp", "sgd-ucb/pacing", "equal-split/lp", "sgd-ucb/lp+pacing-competitors"}
    assert any(c.claim.startswith("budget-only levers reach GL-OPT") and c.verdict == "pass" for c in res.comparison)
    assert (tmp_path / "comparison.md").exists()
    lp = rows["sgd-ucb/lp"]
    assert lp["conversion_mean"] <= lp["fluid_glopt_mean"]
    assert lp["grid_lp_mean"] <= lp["fluid_glopt_mean"] * 1.01
    assert lp["roi_violation_mean"] < lp["roi_violation_first_mean"]
    assert (tmp_path / "table.md").exists() and (tmp_path / "roi_violation.png").exists()


def test_default_config_is_paper_like():
    from onlinekit.experiments.autobidding import Config

    c = Config()
    assert c.n_periods >= 10_000 and len(c.n_competitors) == 3 and c.n_seeds >= 3
    assert c.grid == tuple(round(0.1 * i, 1) for i in range(11))


@pytest.mark.bench
def test_benchmark_quick_smoke():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_bidding

    figs = bench_bidding._lp_times(2)
    assert figs["glopt_dpp_ms"] > 0 and figs["grid_lp_rebuild_ms"] > 0


@pytest.mark.slow
def test_default_experiment_claims_hold():
    """Paper-like horizon (2 x 10^4 periods): the experiment's own claims, two seeds (minutes)."""
    from onlinekit.experiments import run_experiment

    res = run_experiment("autobidding", n_seeds=2)
    assert res.failures == []
    rows = {r["method"]: r for r in res.table}
    assert rows["sgd-ucb/lp"]["ratio_to_grid_lp_mean"] >= 0.99
    assert rows["sgd-ucb/lp"]["roi_violation_mean"] <= 1e-3
