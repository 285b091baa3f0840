"""The cascading-rl experiment (quick config); the example script runs in tests/test_examples.py."""

from onlinekit.experiments import run_experiment
from onlinekit.experiments.cascading_rl import METHODS, Config


def test_paper_defaults():
    cfg = Config()
    assert (cfg.n_states, cfg.horizon, cfg.m, cfg.n_items) == (20, 3, 3, (10, 15, 20, 25))
    assert cfg.methods == METHODS and cfg.bonus_scale == 1.0  # valid confidence widths by default
    assert cfg.adapt_episodes <= cfg.n_episodes and cfg.oracle_episodes <= cfg.n_episodes


def test_quick_run_writes_outputs_and_passes_its_checks(tmp_path):
    res = run_experiment("cascading-rl", quick=True, n_seeds=3, out=tmp_path)
    assert res.failures == []
    by = {(r["method"], r["N"]): r for r in res.table}
    assert {m for m, _ in by} == set(METHODS) | {"CascadingBPI"}
    for N in Config.quick().n_items:
        assert by[("CascadingVI", f"N={N}")]["episodes_mean"] == Config.quick().n_episodes
        assert by[("AdaptVI", f"N={N}")]["episodes_mean"] == Config.quick().adapt_episodes
    verdicts = {c.claim: c.verdict for c in res.comparison}
    assert verdicts["CascadingVI-Oracle plays the same lists as CascadingVI (BestPerm is exact)"] == "pass"
    for name in ("table.md", "comparison.md", "comparison.csv", "regret_N4.png"):
        assert (tmp_path / name).exists(), name

