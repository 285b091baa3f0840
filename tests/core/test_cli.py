import json

import numpy as np
import pytest
from click.testing import CliRunner

from onlinekit.cli import main


@pytest.fixture
def csv_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = X @ np.array([1.0, 2.0, -1.0])
    p = tmp_path / "d.csv"
    lines = ["a,b,c,target,kind"] + [",".join(repr(float(v)) for v in (*r, t)) + ("," + ("u" if r[0] > 0 else "v"))
                                    for r, t in zip(X, y, strict=True)]
    p.write_text("\n".join(lines) + "\n")
    return p


def test_learners_and_streams_lists():
    r = CliRunner().invoke(main, ["learners"])
    assert r.exit_code == 0 and "ogd" in r.output and "[supervised]" in r.output
    r = CliRunner().invoke(main, ["streams"])
    assert r.exit_code == 0 and "synthetic" in r.output and "linear" in r.output


def test_replay_synthetic_with_out(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["replay", "synthetic:linear?n=3000&d=3&seed=1", "-l", "ogd", "-p", "lr=0.05",
                                  "-m", "loss", "-m", "regret", "--out", str(out), "--record-every", "500"])
    assert r.exit_code == 0, r.output
    assert "regret" in r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["n_events"] == 3000 and len(rep["series"]["events"]) == 6
    assert (out / "series.csv").exists() and (out / "regret.png").exists()


def test_replay_csv_with_groups_and_resume(tmp_path, csv_file):
    out = tmp_path / "o"
    args = ["replay", str(csv_file), "--target", "target", "-f", "a,b,c", "-g", 'pos=kind=="u"',
            "-g", "big=c>0.5", "--out", str(out), "--checkpoint-every", "100", "--record-every", "50"]
    r1 = CliRunner().invoke(main, args + ["--max-events", "150"])
    assert r1.exit_code == 0, r1.output
    r2 = CliRunner().invoke(main, args + ["--resume"])
    assert r2.exit_code == 0, r2.output
    full = tmp_path / "full"
    r3 = CliRunner().invoke(main, [a if a != str(out) else str(full) for a in args])
    assert r3.exit_code == 0, r3.output
    a = json.loads((out / "report.json").read_text())
    b = json.loads((full / "report.json").read_text())
    assert a["series"] == b["series"] and "squared_loss[pos]" in a["summary"]


@pytest.mark.parametrize("args,msg", [
    (["replay", "missing.csv"], "no such file"),
    (["replay", "synthetic:linear", "-l", "nope"], "unknown learner"),
    (["replay", "synthetic:linear", "-p", "lr=-1"], "lr"),
    (["replay", "synthetic:linear", "-p", "bogus=1"], "bogus"),
    (["replay", "synthetic:linear", "-g", "bad group"], "NAME=EXPR"),
    (["replay", "synthetic:linear", "--target", "nope"], "'nope'"),
    (["experiment", "nope"], "unknown experiment"),
])
def test_user_errors_are_one_line(args, msg):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2
    assert msg in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_malformed_csv_raise_and_skip(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("x,y\n1,2\n3,oops\n4,5\n")
    r = CliRunner().invoke(main, ["replay", str(p)])
    assert r.exit_code == 2 and "line 3" in r.output and "'y'" in r.output
    r = CliRunner().invoke(main, ["replay", str(p), "--errors", "skip"])
    assert r.exit_code == 0 and "events             2" in r.output


def test_debug_shows_traceback():
    r = CliRunner().invoke(main, ["replay", "synthetic:linear", "-l", "nope", "--debug"])
    assert r.exit_code != 0 and isinstance(r.exception, KeyError)


def test_experiment_list_and_quick(tmp_path):
    r = CliRunner().invoke(main, ["experiment", "--list"])
    assert r.exit_code == 0 and "ogd-regret" in r.output
    out = tmp_path / "e"
    r = CliRunner().invoke(main, ["experiment", "ogd-regret", "--quick", "--seeds", "2", "--out", str(out),
                                  "-p", "horizon=1000"])
    assert r.exit_code == 0, r.output
    assert "ogd-sqrt" in r.output and (out / "table.csv").exists() and (out / "regret.png").exists()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["config"]["horizon"] == 1000 and len(cfg["seeds"]) == 2


def test_experiment_jobs_do_not_change_results(tmp_path):
    from onlinekit.experiments import run_experiment

    a = run_experiment("ogd-regret", quick=True, n_seeds=2, jobs=1)
    b = run_experiment("ogd-regret", quick=True, n_seeds=2, jobs=2)
    assert a.table == b.table


def test_ogd_regret_check_fails_on_sabotaged_results():
    # a "sqrt" run that behaves like the constant step (linear regret) must fail the check
    from onlinekit.experiments import ogd_regret

    cfg = ogd_regret.Config.quick()
    good = ogd_regret.run(cfg, seed=1)
    assert ogd_regret.check(cfg, [good]) == []
    rows = {r["method"]: r for r in good["rows"]}
    x = good["curves"]["regret"]["x"]
    linear = 0.05 * x  # what a fixed step that never settles gives
    bad = {"rows": [dict(rows["ogd-constant"]),
                    dict(rows["ogd-sqrt"], slope=ogd_regret.growth_exponent(x, linear),
                         avg_regret=0.05, avg_regret_first_decile=0.05)]}
    fails = ogd_regret.check(cfg, [bad])
    assert len(fails) == 4 and "did not decrease" in fails[0] and "not sublinearly" in fails[1]
    assert any("growth exponent" in f for f in fails[2:]) and any("average regret" in f for f in fails[2:])
