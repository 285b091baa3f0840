"""The environment protocol: regret against closed forms and a numpy reference, resume, the CLI."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.bidding import SGDUCBBudgeter
from onlinekit.cascade import CascadeKLUCB, CascadingVI
from onlinekit.protocols.environment import ENVIRONMENT, simulate_env
from onlinekit.streams.cascade_env import cascade_value
from onlinekit.streams.environments import make_environment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from clirun import PtyProcess, run_piped, run_pty  # noqa: E402

MDP = "cascade-mdp?n_states=3&n_items=5&horizon=3&m=2&seed=4"


class FixedList:
    """Plays the same list every step and never learns."""

    def __init__(self, items):
        self.items = list(items)

    def act(self, obs):
        return list(self.items)

    def update(self, obs, action, feedback):
        pass


def test_info_regret_of_a_fixed_list_is_its_closed_form_gap():
    env = make_environment("cascading-bandit?n_items=6&m=2&seed=1")
    q = env.q[0]
    best = sorted(range(6), key=lambda a: -q[a])[:2]
    bad = [int(np.argmin(q)), best[0]]
    gap = cascade_value(best, q, np.ones(6), 0.0) - cascade_value(bad, q, np.ones(6), 0.0)
    rep = simulate_env(FixedList(bad), env, 500, seed=0, keep_episodes=True)
    assert rep.meta["regret"] == "info"
    assert rep.summary["regret"] == pytest.approx(500 * gap, rel=1e-12)
    np.testing.assert_allclose(rep.episode_regret, gap, rtol=1e-12)
    best_rep = simulate_env(FixedList(best), env, 200, seed=0)
    assert best_rep.summary["regret"] == pytest.approx(0.0, abs=1e-12)


def _plan_reference(agent, env, episodes, seed):
    """Plan regret with the environment's own (numpy) policy evaluation, step loop written out."""
    V_star = env.optimal_values()[0]
    obs = env.reset(seed)
    out = []
    for _ in range(episodes):
        V = env.policy_values(agent.policy_, agent.lengths_)
        out.append(V_star[obs[1]] - V[0, obs[1]])
        for _ in range(env.horizon):
            a = agent.act(obs)
            step = env.step(a)
            agent.update(obs, a, step.feedback)
            obs = step.obs
    return np.array(out)


def test_plan_regret_matches_the_numpy_reference():
    kw = ENVIRONMENT.infer_params(CascadingVI, make_environment(MDP))
    assert set(kw) == {"n_states", "n_items", "horizon", "m", "rewards"}
    rep = simulate_env(CascadingVI(**kw), make_environment(MDP), 150, seed=3, keep_episodes=True)
    want = _plan_reference(CascadingVI(**kw), make_environment(MDP), 150, seed=3)
    assert rep.meta["regret"] == "plan"
    np.testing.assert_allclose(rep.episode_regret, want, rtol=1e-9, atol=1e-12)
    assert rep.summary["steps"] == 450 and rep.summary["regret"] == pytest.approx(want.sum())


@pytest.mark.parametrize("spec,make", [
    (MDP, lambda env: CascadingVI(**ENVIRONMENT.infer_params(CascadingVI, env))),
    ("auctions?rounds_per_period=20&seed=2", lambda env: SGDUCBBudgeter(n_channels=3, ucb_scale=0.02)),
])
def test_resume_equals_an_uninterrupted_run(tmp_path, spec, make):
    env = make_environment(spec)
    full = make(env)
    want = simulate_env(full, env, 120, seed=5, record_every=10, keep_episodes=True)
    ck = tmp_path / "ck.npz"
    env1 = make_environment(spec)
    simulate_env(make(env1), env1, 50, seed=5, record_every=10, checkpoint=ck, checkpoint_every=25,
                 keep_episodes=True)
    env2 = make_environment(spec)
    again = make(env2)
    got = simulate_env(again, env2, 120, seed=5, record_every=10, checkpoint=ck, checkpoint_every=25,
                       resume=True, keep_episodes=True)
    assert got.resumed_from == 50
    drop = "episodes_per_s"
    assert {k: v for k, v in got.summary.items() if k != drop} == {k: v for k, v in want.summary.items() if k != drop}
    assert got.series == want.series
    np.testing.assert_array_equal(got.episode_reward, want.episode_reward)
    a, b = again.state_dict(), full.state_dict()
    for k in b:
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))


def test_resume_refuses_another_seed(tmp_path):
    ck = tmp_path / "ck.npz"
    simulate_env(CascadeKLUCB(6, 2), make_environment("cascading-bandit?n_items=6&m=2"), 20, seed=1,
                 checkpoint=ck, checkpoint_every=10)
    with pytest.raises(ValueError, match="was written for"):
        simulate_env(CascadeKLUCB(6, 2), make_environment("cascading-bandit?n_items=6&m=2"), 40, seed=2,
                     checkpoint=ck, resume=True)


# -- the command ---------------------------------------------------------------------------------


def _env():
    env = dict(os.environ)
    env["COLUMNS"] = "100"
    return env


BANDIT = "cascading-bandit?n_items=8&m=3&seed=2"


def _summary(out):
    doc = json.loads((out / "report.json").read_text())
    doc["summary"].pop("episodes_per_s")
    return doc


def test_cli_piped_writes_report_series_and_plots(tmp_path):
    out = tmp_path / "run"
    r = run_piped(["simulate", MDP, "--learner", "cascading-vi", "--episodes", "200", "--out", str(out)],
                  cwd=tmp_path, env=_env())
    assert r.returncode == 0, r.stderr
    assert "regret" in r.stdout and r.stderr == ""  # no progress bar on a pipe
    doc = json.loads((out / "report.json").read_text())
    assert doc["protocol"] == "environment" and doc["summary"]["episodes"] == 200
    assert doc["command"].startswith("onlinekit simulate")
    assert (out / "series.csv").exists() and (out / "regret.png").exists()
    # the same run in Python gives the same figures (the CLI spawns the env and learner seeds)
    from onlinekit.base import spawn_seeds

    env = make_environment(MDP)
    rep = simulate_env(CascadingVI(**ENVIRONMENT.infer_params(CascadingVI, env)), env, 200, spawn_seeds(0, 2)[0])
    assert doc["summary"]["regret"] == rep.summary["regret"]


def test_cli_resume_equals_an_uninterrupted_run(tmp_path):
    base = ["simulate", BANDIT, "-l", "cascade-klucb", "--record-every", "50", "--no-progress"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert run_piped([*base, "-k", "600", "--out", str(full)], env=_env()).returncode == 0
    r = run_piped([*base, "-k", "250", "--out", str(part), "--checkpoint-every", "100"], env=_env())
    assert r.returncode == 0, r.stderr
    r = run_piped([*base, "-k", "600", "--out", str(part), "--checkpoint-every", "100", "--resume"], env=_env())
    assert r.returncode == 0, r.stderr
    a, b = _summary(full), _summary(part)
    assert b["resumed_from"] == 250
    assert a["summary"] == b["summary"] and a["series"] == b["series"]


@pytest.mark.parametrize("args,msg", [
    (["cascading-bandit", "-l", "cascade-ucb1", "-k", "10", "-p", "m=-1"], "m"),
    (["cascading-bandit", "-l", "cascade-ucb1", "-k", "10", "-p", "colour=3"], "colour"),
    (["cascading-bandit", "-l", "hedge", "-k", "10"], "learners that do: adapt-vi"),
    (["no-such-env", "-l", "cascade-ucb1", "-k", "10"], "known: cascading-bandit"),
    (["cascade-mdp?n_states=0", "-l", "cascading-vi", "-k", "10"], "n_states"),
    (["cascading-bandit", "-l", "cascade-ucb1", "-k", "0"], "--episodes"),
    (["cascading-bandit", "-l", "cascade-ucb1", "-k", "5", "--resume"], "--out"),
    (["cascading-bandit", "-l", "cascading-bpi", "-k", "5"], "epsilon"),
    (["auctions", "-l", "dual-pacing-bidder", "-k", "5"], "dual-pacing-bidder on auctions:"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args, msg):
    r = run_piped(["simulate", *args], cwd=tmp_path, env=_env())
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and msg in lines[0], r.stderr


def test_cli_under_a_terminal_shows_progress(tmp_path):
    rc, text = run_pty(["simulate", BANDIT, "-l", "cascade-ucb1", "-k", "3000"], cwd=tmp_path, env=_env())
    assert rc == 0, text
    assert "simulate:" in text and "ev/s" in text and "regret" in text  # the bar, then the table


@pytest.mark.slow
def test_cli_ctrl_c_under_a_terminal_then_resume_equals_an_uninterrupted_run(tmp_path):
    out = tmp_path / "long"
    base = ["simulate", BANDIT, "-l", "cascade-klucb", "--record-every", "100", "--checkpoint-every", "1000",
            "--out", str(out)]
    p = PtyProcess([*base, "-k", "100000000"], cwd=tmp_path, env=_env())
    try:
        p.read_until(lambda t: (out / "checkpoint.npz").exists(), timeout=120)
        assert (out / "checkpoint.npz").exists(), p.text
        p.interrupt()
        rc = p.wait(60)
    finally:
        p.close()
    assert rc == 130, p.text
    m = re.search(r"error: interrupted at event [\d,]+; rerun with --resume to continue from the checkpoint at "
                  r"event ([\d,]+)", p.text)
    assert m, p.text
    at = int(m.group(1).replace(",", ""))
    n = at + 500
    r = run_piped([*base, "-k", str(n), "--resume", "--no-progress"], env=_env())
    assert r.returncode == 0, r.stderr
    straight = tmp_path / "straight"
    r2 = run_piped(["simulate", BANDIT, "-l", "cascade-klucb", "--record-every", "100", "-k", str(n), "--out",
                    str(straight), "--no-progress"], env=_env())
    assert r2.returncode == 0, r2.stderr
    a, b = _summary(straight), _summary(out)
    assert b["resumed_from"] == at
    assert a["summary"] == b["summary"] and a["series"] == b["series"]


def test_grid_lp_regret_on_stationary_auctions_against_scipy():
    from scipy.optimize import linprog

    from onlinekit.protocols.environment import grid_lp_optimum

    spec = "auctions?rounds_per_period=20&competitor_pacing=0&seed=1"
    learner = SGDUCBBudgeter(grid=(0.0, 0.1, 0.2, 0.4), n_channels=3, total_budget=0.3, target_roi=1.0,
                             ucb_scale=0.02)
    env = make_environment(spec)
    rep = simulate_env(learner, env, 60, seed=0, keep_episodes=True)
    assert rep.meta["regret"] == "grid-lp"
    # the benchmark: the same curves, the LP solved by scipy's HiGHS instead of CVXPY
    V, D = make_environment(spec).channel_curves(np.asarray(learner.grid), n_periods=200, seed=0)
    M, K = V.shape
    A_eq = np.kron(np.eye(M), np.ones(K))
    res = linprog(-V.ravel(), A_ub=np.vstack([-(V - 1.0 * D).ravel(), D.ravel()]), b_ub=[0.0, 0.3],
                  A_eq=A_eq, b_eq=np.ones(M), bounds=(0, None), method="highs")
    assert res.status == 0
    opt = -res.fun
    assert grid_lp_optimum(learner, make_environment(spec)) == pytest.approx(opt, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(rep.episode_regret, opt - rep.episode_reward, rtol=1e-6, atol=1e-8)
    # sabotage: a benchmark without the ROI constraint is larger, and the check above would fail
    loose = linprog(-V.ravel(), A_ub=D.ravel()[None, :], b_ub=[0.3], A_eq=A_eq, b_eq=np.ones(M), bounds=(0, None),
                    method="highs")
    assert -loose.fun > opt + 1e-3


def test_no_regret_where_the_auctions_have_no_fixed_optimum():
    rep = simulate_env(SGDUCBBudgeter(n_channels=3), make_environment("auctions?rounds_per_period=20"), 5, seed=0)
    assert "regret" not in rep.summary and rep.meta["regret"] is None
