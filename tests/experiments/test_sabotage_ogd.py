"""Sabotage test of ogd-regret's check: an OGD whose ``sqrt`` schedule is silently the constant
step must fail it; the honest quick run passes."""

from __future__ import annotations

import onlinekit.oco as oco
from onlinekit.experiments import ogd_regret


def _results(cfg):
    return [ogd_regret.run(cfg, s) for s in (1, 2, 3)]


def test_constant_step_posing_as_sqrt_fails(monkeypatch):
    cfg = ogd_regret.Config.quick()
    assert ogd_regret.check(cfg, _results(cfg)) == []
    real = oco.OGD

    def broken(*args, schedule="constant", **kw):
        return real(*args, schedule="constant", **kw)  # the schedule argument is dropped

    monkeypatch.setattr(oco, "OGD", broken)
    fails = ogd_regret.check(cfg, _results(cfg))
    assert any("ogd-sqrt: growth exponent" in f for f in fails), fails
