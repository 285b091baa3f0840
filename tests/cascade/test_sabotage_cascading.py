"""Sabotage tests of the cascading-rl experiment: every check fails on a broken variant.

Each test runs the experiment (or edits honest results) with one thing broken and asserts
that ``check()`` reports the claim that the breakage violates; the honest quick run passes.
"""

import copy
import dataclasses

import numpy as np
import pytest

from onlinekit.base import spawn_seeds
from onlinekit.cascade import CascadingVI
from onlinekit.cascade import _kernels as K
from onlinekit.experiments import cascading_rl as E

QUICK = E.Config.quick()


def _results(cfg, n_seeds=None):
    return [E.run(cfg, s) for s in spawn_seeds(0, n_seeds or cfg.n_seeds)]


@pytest.fixture(scope="module")
def honest():
    return _results(QUICK)


def _failing(failures, text):
    return [f for f in failures if text in f]


def test_honest_quick_run_passes_every_check(honest):
    assert E.check(QUICK, honest) == []
    verdicts = {c.claim: c.verdict for c in E.compare(QUICK, honest)}
    assert all(v != "fail" for v in verdicts.values())
    # the failable rows are present (so the sabotage below has something to fail)
    for text in ("CascadingVI-Oracle plays the same lists", "below CascadingVI-Bonus", "below AdaptVI",
                 "V* <= V_up at every", "epsilon-optimal policy", "stopping bound is valid",
                 "episodes vs 1/epsilon", "more episodes at delta"):
        assert any(text in c for c in verdicts), text


# -- sabotaged learners -------------------------------------------------------------------------


def test_zero_bonus_fails_the_confidence_bound_check(monkeypatch):
    """CascadingVI (and CascadingBPI) with every bonus zeroed: plug-in values are not optimistic."""
    real = K.cvi_plan

    def zero_bonus(rewards, n_q, n_click, n_p, P_cnt, L, scale, *rest):
        return real(rewards, n_q, n_click, n_p, P_cnt, L, 0.0, *rest)

    monkeypatch.setattr(K, "cvi_plan", zero_bonus)
    cfg = dataclasses.replace(QUICK, methods=("CascadingVI",), n_episodes=400, n_seeds=2)
    fails = E.check(cfg, _results(cfg))
    assert _failing(fails, "CascadingVI: V_lo <= V^pi and V* <= V_up")
    assert _failing(fails, "CascadingBPI's stopping bound is valid")


class _BrokenBestPerm(CascadingVI):
    """BestPerm that returns its list in ascending-weight order (the order step broken)."""

    def _plan(self):
        super()._plan()
        for h in range(self.horizon):
            for s in range(self.n_states):
                n = self.lengths_[h, s]
                self.policy_[h, s, :n] = self.policy_[h, s, :n][::-1].copy()


class _BrokenOracle(CascadingVI):
    """Exhaustive planner that loses the last item of every list of two or more."""

    def _plan(self):
        super()._plan()
        cut = self.lengths_ > 1
        self.policy_[cut, self.lengths_[cut] - 1] = -1
        self.lengths_[cut] -= 1


@pytest.mark.parametrize("broken_method,cls", [("CascadingVI", _BrokenBestPerm),
                                                ("CascadingVI-Oracle", _BrokenOracle)])
def test_broken_planner_fails_the_oracle_identity(monkeypatch, broken_method, cls):
    real = E._agent

    def agent(method, cfg, env):
        if method != broken_method:
            return real(method, cfg, env)
        kw = {"planner": "exhaustive"} if method == "CascadingVI-Oracle" else {}
        return cls(env.n_states, env.n_items, env.horizon, env.m, rewards=env.rewards,
                   bonus_scale=cfg.bonus_scale, delta=cfg.delta, **kw)

    monkeypatch.setattr(E, "_agent", agent)
    cfg = dataclasses.replace(QUICK, methods=("CascadingVI", "CascadingVI-Oracle"), n_episodes=150,
                              n_seeds=2, bpi_epsilons=(0.7,))
    fails = E.check(cfg, _results(cfg))
    assert _failing(fails, "CascadingVI-Oracle plays the same lists as CascadingVI")


def test_bpi_that_stops_at_once_fails_the_epsilon_check(monkeypatch):
    """A stopping rule that ignores epsilon (stop after the first episode)."""
    from onlinekit.cascade import CascadingBPI

    class StopAtOnce(CascadingBPI):
        def _end_episode(self):
            super()._end_episode()
            self.done_ = self.converged_ = True

    monkeypatch.setattr(E, "_bpi_agent", lambda cfg, env, eps, delta: StopAtOnce(
        env.n_states, env.n_items, env.horizon, env.m, epsilon=eps, rewards=env.rewards, delta=delta))
    cfg = dataclasses.replace(QUICK, instance="random", methods=("CascadingVI",), n_episodes=100, n_seeds=2,
                              bpi_size=(3, 6, 2, 2), bpi_epsilons=(0.05, 0.04, 0.03))
    fails = E.check(cfg, _results(cfg))
    assert _failing(fails, "CascadingBPI returns an epsilon-optimal policy")


# -- sabotaged results (one number changed in honest results) ------------------------------------


def _edit_rows(results, method, key, field, fn):
    out = copy.deepcopy(results)
    for res in out:
        for r in res["rows"]:
            if r["method"] == method and (key is None or r["N"] == key):
                r[field] = fn(r)
    return out


def test_reversed_bonus_ablation_fails(honest):
    """-Bonus with a tenth of CascadingVI's regret: the ordering is significantly reversed."""
    bad = copy.deepcopy(honest)
    for res in bad:
        cvi = {r["N"]: r["regret"] for r in res["rows"] if r["method"] == "CascadingVI"}
        for r in res["rows"]:
            if r["method"] == "CascadingVI-Bonus":
                r["regret"] = 0.1 * cvi[r["N"]]
    assert _failing(E.check(QUICK, bad), "regret below CascadingVI-Bonus")


def test_adapt_vi_better_than_cascading_vi_fails(honest):
    bad = copy.deepcopy(honest)
    for res in bad:
        for k in list(res["at_adapt"]):
            if k.startswith("AdaptVI|"):
                res["at_adapt"][k] = 0.1 * res["at_adapt"]["CascadingVI|" + k.split("|")[1]]
    assert _failing(E.check(QUICK, bad), "regret below AdaptVI")


def test_bpi_sample_complexity_growing_as_eps_cubed_fails(honest):
    eps0 = QUICK.bpi_epsilons[0]
    bad = _edit_rows(honest, "CascadingBPI", None, "episodes",
                     lambda r: 1000.0 * (eps0 / float(r["N"].split(",")[0][4:])) ** 3)
    assert _failing(E.check(QUICK, bad), "episodes vs 1/epsilon")
    bad = _edit_rows(honest, "CascadingBPI", None, "true_gap", lambda r: 2.0)
    assert _failing(E.check(QUICK, bad), "epsilon-optimal policy")


def test_running_time_claims_fail_without_a_cost_gap(honest):
    """Relabel the quick run's largest N as N = 12 (1,464 lists at m = 3) so the cost rows are
    tested: equal times fail, a tenfold gap passes."""
    cfg = dataclasses.replace(QUICK, n_items=(3, 12), m=3)

    def relabel(results, scale):
        out = copy.deepcopy(results)
        for res in out:
            cvi = next(r["ms_per_episode"] for r in res["rows"] if r["method"] == "CascadingVI" and r["N"] == "N=4")
            for r in res["rows"]:
                if r["N"] == "N=4":
                    r["N"] = "N=12"
                    if r["method"] in ("AdaptVI", "CascadingVI-Oracle"):
                        r["ms_per_episode"] = scale * cvi
            for d in (res["at_adapt"], res["cum"]["series"]):
                for k in [k for k in d if k.endswith("|N=4")]:
                    d[k.replace("N=4", "N=12")] = d.pop(k)
            res["oracle"]["N=12"] = res["oracle"].pop("N=4")
        return out

    fails = E.check(cfg, relabel(honest, 1.0))
    assert _failing(fails, "AdaptVI has a much higher running time")
    assert _failing(fails, "suffers a much higher running time")
    assert not _failing(E.check(cfg, relabel(honest, 10.0)), "running time")


def test_nested_instances_share_items():
    base = E._base_instance(QUICK, 3, 6, 2, 2)
    small = E.nested_instance(base, 4)
    np.testing.assert_array_equal(small.q, base.q[:, :4])
    np.testing.assert_array_equal(small.P[:, :4], base.P[:, :4])
    np.testing.assert_array_equal(small.P[:, 4], base.P[:, 6])
    assert small.optimal_value() <= base.optimal_value() + 1e-12  # more items never hurt
    with pytest.raises(ValueError):
        E.nested_instance(base, 7)
