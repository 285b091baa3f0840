"""Sabotage tests of the groupwise experiments' checks: a groupwise learner whose meta layer
is Hedge with its update sign flipped (weight moves to the worse experts) must fail each
check. The honest quick runs (same configs and seeds) pass their checks in
``tests/experts/test_experts_experiments.py`` (``res.failures == []``), so they are not run twice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from onlinekit.base import spawn_seeds
from onlinekit.data import data_home
from onlinekit.experiments import _groupwise_common as common
from onlinekit.experiments import groupwise_adult, groupwise_medical, groupwise_synthetic

sys.path.insert(0, str(Path(__file__).parent))
from _broken_groupwise import flipped_hedge_losses, frozen_expert_losses  # noqa: E402

def _run(mod):
    cfg = mod.Config.quick()
    return cfg, [mod.run(cfg, s) for s in spawn_seeds(0, cfg.n_seeds)]


def _broken_fails(mod, broken, monkeypatch) -> list[str]:
    """The failures of ``mod.check`` on the quick run with the groupwise learner replaced by
    ``broken``."""
    monkeypatch.setattr(common, "_groupwise", broken)
    cfg, results = _run(mod)
    return mod.check(cfg, results)


@pytest.mark.parametrize("mod", [groupwise_synthetic, groupwise_medical])
def test_flipped_meta_fails(mod, monkeypatch):
    if mod is groupwise_medical and not (data_home() / "insurance.csv").exists():
        pytest.skip("insurance.csv not present")
    fails = _broken_fails(mod, flipped_hedge_losses, monkeypatch)
    assert any("groupwise regret < baseline regret" in f for f in fails), fails


def test_adult_quick_check_fails_with_frozen_experts(monkeypatch):
    """``--quick`` (a 2,000-row prefix) checks the meta-regret bound, which an expert that
    never learns breaks."""
    if not (data_home() / "adult" / "adult.data").exists():
        pytest.skip("adult not present")
    fails = _broken_fails(groupwise_adult, frozen_expert_losses, monkeypatch)
    assert any(f.startswith("meta-regret to the always_on expert") for f in fails), fails
