"""Sabotage tests of sea-regret's check: deliberately broken variants must fail it, the honest
run must pass."""

from __future__ import annotations

import dataclasses

import pytest

from onlinekit.experiments import sea_regret as sea
from onlinekit.experiments.comparison import failures

pytestmark = pytest.mark.slow  # each check needs three full runs (about 2 minutes on 2 shared cores)

CFG = dataclasses.replace(sea.Config.quick(), noise_levels=(0.1,), n_points=8, sweep_horizon=2048,
                          sweep_points=4, ons_horizon=512, sigma_drifts=(0.01, 0.02), n_seeds=3)


def _results(cfg=CFG):
    return [sea.run(cfg, s) for s in (11, 12, 13)]


@pytest.fixture(scope="module")
def honest():
    return _results()


def test_honest_run_passes(honest):
    assert sea.check(CFG, honest) == []


def test_hint_zeroed_fails_the_optimism_row(monkeypatch):
    real = sea.learners

    def zeroed(config, G, strongly_convex=False, horizon=None, L=1.0):
        out = real(config, G, strongly_convex, horizon, L)
        if not strongly_convex:  # "optimistic" OMD with the hint dropped
            out["optimistic-omd"] = real(config, G, False, horizon, L)["omd-no-hint-same-eta"]
        return out

    monkeypatch.setattr(sea, "learners", zeroed)
    fails = sea.check(CFG, _results())
    assert any(f.startswith(f"{sea.OPTIMISM_REGIME}: optimism on vs off") for f in fails), fails


def test_constant_step_fails_the_sqrt_t_sweep(monkeypatch):
    from onlinekit.oco import OMD, L2Ball

    monkeypatch.setattr(sea, "sweep_learner", lambda config, G: OMD(n_dims=config.d, domain=L2Ball(config.radius),
                                                                     schedule="constant", lr=0.5))
    fails = sea.check(CFG, _results())
    assert any(f.startswith("T sweep") for f in fails), fails


def test_quadratic_bound_for_every_loss_fails_the_gradient_rows(honest):
    # the defect of issue 15: the quadratic's bound R + ||mu|| + noise used for the linear loss
    bad = []
    for res in honest:
        rows = []
        for r in res["rows"]:
            if sea.loss_family(r["regime"]) == "linear" and "G" in r:
                r = dict(r, G=r["G"] + CFG.radius)
            rows.append(r)
        bad.append({**res, "rows": rows})
    fails = failures(sea.compare(CFG, bad))
    assert [f for f in fails if f.startswith("gradient bound G, linear")], fails


def test_static_learner_as_dynamic_omd_fails_the_dynamic_rows(monkeypatch):
    real = sea.learners

    def static(config, G, strongly_convex=False, horizon=None, L=1.0):
        out = real(config, G, strongly_convex, horizon, L)
        if not strongly_convex:  # "dynamic" OMD that is the static-tuned OGD
            out["dynamic-omd"] = real(config, G, False, horizon, L)["ogd"]
        return out

    monkeypatch.setattr(sea, "learners", static)
    fails = sea.check(CFG, _results())
    assert any(f.startswith("drift: dynamic-omd dynamic regret") for f in fails), fails
