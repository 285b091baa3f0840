"""Sabotage tests of ``autobidding``'s check: a bidder with random budgets and one that ignores
the ROI dual must fail it; the honest quick run must pass it."""

from __future__ import annotations

import numpy as np
import pytest

from onlinekit.experiments import autobidding as ab


class _RandomBudgets:
    """Plays a uniformly random grid budget on every channel, learns nothing."""

    def __init__(self, config, M):
        self.grid = np.asarray(config.grid)
        self.M = M
        self.rng = np.random.default_rng(0)

    def act(self, obs=None):
        return self.rng.choice(self.grid, size=self.M)

    def update(self, obs, action, feedback):
        pass


def _ignores_roi(config, M):
    """SGD-UCB told the ROI target is 0: its ROI multiplier decays to 0 and never acts."""
    from onlinekit.bidding import SGDUCBBudgeter

    return SGDUCBBudgeter(grid=config.grid, n_channels=M, total_budget=config.total_budget, target_roi=0.0,
                          ucb_scale=config.ucb_scale, lr=config.lr)


@pytest.fixture(scope="module")
def config():
    return ab.Config.quick()


def _results(config):
    return [ab.run(config, s) for s in (1, 2)]


def test_honest_quick_run_passes(config):
    res = _results(config)
    assert ab.check(config, res) == []
    assert {c.verdict for c in ab.compare(config, res)} <= {"pass", "info"}


def test_random_budgets_fail(config, monkeypatch):
    monkeypatch.setattr(ab, "_learner", _RandomBudgets)
    fails = ab.check(config, _results(config))
    assert any("regret exponent" in f for f in fails), fails
    assert any("sgd-ucb/lp: time-averaged BUDGET violation" in f for f in fails), fails


def test_ignoring_roi_dual_fails(config, monkeypatch):
    monkeypatch.setattr(ab, "_learner", _ignores_roi)
    fails = ab.check(config, _results(config))
    assert any("sgd-ucb/lp: time-averaged ROI violation" in f for f in fails), fails


def test_benchmark_is_shared_and_precise(config):
    """One benchmark per configuration (the same object for every seed), with a standard error
    far below the per-round conversion differences the claims rest on."""
    a, b = ab.benchmark(config), ab.benchmark(config)
    assert a is b
    assert 0 < a["grid_lp_se"] < 0.01 * a["grid_lp"]
    assert a["grid_lp"] <= a["fluid_glopt"] * 1.01
