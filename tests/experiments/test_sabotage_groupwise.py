"""Sabotage tests of the groupwise experiments' checks: a groupwise learner whose meta layer
is Hedge with its update sign flipped (weight moves to the worse experts) must fail each
check; the honest quick runs pass."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from onlinekit.base import spawn_seeds
from onlinekit.data import data_home
from onlinekit.experiments import _groupwise_common as common
from onlinekit.experiments import groupwise_medical, groupwise_synthetic

sys.path.insert(0, str(Path(__file__).parent))
from _broken_groupwise import flipped_hedge_losses  # noqa: E402

pytestmark = pytest.mark.slow  # the broken learner is a per-round Python loop


def _run(mod):
    cfg = mod.Config.quick()
    return cfg, [mod.run(cfg, s) for s in spawn_seeds(0, cfg.n_seeds)]


@pytest.mark.parametrize("mod", [groupwise_synthetic, groupwise_medical])
def test_flipped_meta_fails_and_honest_passes(mod, monkeypatch):
    if mod is groupwise_medical and not (data_home() / "insurance.csv").exists():
        pytest.skip("insurance.csv not present")
    cfg, honest = _run(mod)
    assert mod.check(cfg, honest) == []
    monkeypatch.setattr(common, "_groupwise", flipped_hedge_losses)
    cfg, broken = _run(mod)
    fails = mod.check(cfg, broken)
    assert any("groupwise regret < baseline regret" in f for f in fails), fails
