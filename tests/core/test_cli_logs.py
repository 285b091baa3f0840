"""Real-world logs through `onlinekit replay`: delimiters, header-less files, categories, missing
cells, divergence, resume checks and the report's provenance."""

from __future__ import annotations

import json
import math
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from onlinekit.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from clirun import run_pty  # noqa: E402


def _write_log(path: Path, n=6000, seed=0, missing=0.1, late_text_at=None) -> None:
    """Semicolon-separated, no header: colour (text), amount (numeric, some cells empty),
    noise, yes/no target that depends on the colour only."""
    rng = np.random.default_rng(seed)
    colours = np.array(["red", "green", "blue", "teal"])
    c = rng.integers(0, 4, n)
    amount = rng.normal(5000, 2000, n)
    p = np.where(np.isin(c, [0, 2]), 0.9, 0.1)
    y = rng.random(n) < p
    with open(path, "w") as f:
        for i in range(n):
            a = "" if rng.random() < missing else f"{amount[i]:.2f}"
            if late_text_at is not None and i == late_text_at:
                a = "n/a-text"
            f.write(f"{colours[c[i]]};{a};{rng.normal():.4f};{'yes' if y[i] else 'no'}\n")


def _summary(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())["summary"]


def test_done_when_terminal_replay_learns_the_categorical_signal(tmp_path):
    log = tmp_path / "log.csv"
    _write_log(log)
    args = ["replay", str(log), "--no-header", "--target", 'c3 == "yes"', "--learner", "ogd-classifier",
            "-p", "lr=0.1", "--missing", "mean", "--scale", "standard", "-m", "accuracy"]
    rc, text = run_pty([*args, "--out", str(tmp_path / "a")], cwd=tmp_path)
    assert rc == 0, text
    acc = _summary(tmp_path / "a")["accuracy"]
    assert acc > 0.85, acc  # Bayes rate 0.9; the colour carries all the signal
    # sabotage: the same run without the categorical column learns nothing
    rc, text = run_pty([*args, "--features", "c1,c2", "--out", str(tmp_path / "b")], cwd=tmp_path)
    assert rc == 0, text
    assert _summary(tmp_path / "b")["accuracy"] < 0.6
    features = json.loads((tmp_path / "a" / "report.json").read_text())["features"]
    assert {f["name"] for f in features} >= {"c0=red", "c0=green", "c0=blue", "c0=teal", "c1", "c2"}
    assert next(f for f in features if f["name"] == "c1")["encoding"] == "standardised"


def test_missing_cells_raise_by_default_and_skip_counts(tmp_path):
    log = tmp_path / "log.csv"
    _write_log(log, n=200)
    r = CliRunner().invoke(main, ["replay", str(log), "--no-header", "--target", 'c3 == "yes"'])
    assert r.exit_code == 2
    assert "log.csv, line" in r.output and "column 'c1'" in r.output and "missing value" in r.output
    r = CliRunner().invoke(main, ["replay", str(log), "--no-header", "--target", 'c3 == "yes"', "--missing", "skip",
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    text = log.read_text().splitlines()
    n_missing = sum(1 for ln in text if ";;" in ln)
    assert rep["skipped"] == n_missing > 0 and rep["n_events"] == len(text) - n_missing


def test_text_later_in_a_numeric_column_names_file_line_and_column(tmp_path):
    log = tmp_path / "log.csv"
    # past the rows a source looks at to tell numbers from text (65,536)
    _write_log(log, n=70_000, missing=0.0, late_text_at=68_000)
    r = CliRunner().invoke(main, ["replay", str(log), "--no-header", "--target", 'c3 == "yes"'])
    assert r.exit_code == 2
    assert "log.csv, line 68001, column 'c1'" in r.output and "n/a-text" in r.output


def test_delimiter_sniffing_and_explicit_names(tmp_path):
    p = tmp_path / "pipes.csv"
    p.write_text("".join(f"{i % 3}|{i * 0.5}|{(i % 3) * 2.0}\n" for i in range(60)))
    r = CliRunner().invoke(main, ["replay", str(p), "--names", "k,x,target", "--target", "target", "--learner", "ogd"])
    assert r.exit_code == 0, r.output
    assert "60" in r.output
    r = CliRunner().invoke(main, ["replay", str(p), "--no-header", "--target", "2", "--learner", "ogd"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "2"])
    assert r.exit_code == 2 and "looks like data" in r.output and "--no-header" in r.output
    q = tmp_path / "numbers.csv"
    q.write_text("".join(f"{i},{i + 0.5},{2 * i + 1}\n" for i in range(10)))
    r = CliRunner().invoke(main, ["replay", str(q), "--target", "2"])
    assert r.exit_code == 2 and "looks like data" in r.output and "--no-header" in r.output
    r = CliRunner().invoke(main, ["replay", str(p), "--no-header", "--target", "7"])
    assert r.exit_code == 2 and "out of range" in r.output


def _unscaled(path: Path, n=3000, seed=0) -> None:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 65, n)
    bmi = rng.normal(30, 6, n)
    charges = 250 * age + 300 * bmi + rng.normal(0, 3000, n)
    with open(path, "w") as f:
        f.write("age,bmi,smoker,charges\n")
        for i in range(n):
            f.write(f"{age[i]},{bmi[i]:.2f},{'yes' if i % 5 == 0 else 'no'},{charges[i]:.2f}\n")


def test_divergence_stops_with_a_hint_and_scaling_fixes_it(tmp_path):
    p = tmp_path / "ins.csv"
    _unscaled(p)
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "charges", "--learner", "ogd", "-p", "lr=0.05"])
    assert r.exit_code == 2
    assert "diverged at event" in r.output and "--scale standard" in r.output
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "charges", "--learner", "ogd", "-p", "lr=0.05",
                                  "--scale", "standard", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    s = _summary(tmp_path / "o")
    assert math.isfinite(s["mean_squared_loss"])
    assert s["mean_squared_loss"] < np.var(np.loadtxt(p, delimiter=",", skiprows=1, usecols=3))


def test_ogd_never_applies_a_diverging_update():
    from onlinekit import Diverged
    from onlinekit.oco import OGD

    m = OGD(lr=1.0)
    m.learn_one({"a": 1.0}, 1.0)
    before = m.state_dict()
    with pytest.raises(Diverged):
        m.learn_one({"a": 1e200}, -1e200)
    after = m.state_dict()
    assert all(np.array_equal(np.asarray(before[k]), np.asarray(after[k])) for k in before)
    X = np.array([[1.0], [1e200]])
    with pytest.raises(Diverged, match="non-finite"):
        m.learn_many(X, np.array([1.0, -1e200]))
    assert np.array_equal(m.w_, np.asarray(before["w_"]))


def test_resume_refuses_another_file_and_continues_exactly(tmp_path):
    log = tmp_path / "log.csv"
    _write_log(log, n=5000)
    other = tmp_path / "other.csv"
    _write_log(other, n=5000, seed=1)
    base = ["--no-header", "--target", 'c3 == "yes"', "--missing", "mean", "--block-size", "700"]
    full = tmp_path / "full"
    r = CliRunner().invoke(main, ["replay", str(log), *base, "--out", str(full)])
    assert r.exit_code == 0, r.output
    part = tmp_path / "part"
    r = CliRunner().invoke(main, ["replay", str(log), *base, "--out", str(part), "--checkpoint-every", "1000",
                                  "--max-events", "2345"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["replay", str(other), *base, "--out", str(part), "--resume"])
    assert r.exit_code == 2 and "was written for source" in r.output and "log.csv" in r.output
    r = CliRunner().invoke(main, ["replay", str(log), *base, "--out", str(part), "--resume"])
    assert r.exit_code == 0, r.output
    a, b = _summary(full), _summary(part)
    for k in a:
        if k != "events_per_s":
            assert a[k] == b[k], k


def test_report_provenance_nulls_stale_plots_and_modes(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "o"
    out.mkdir()
    (out / "old_metric.png").write_bytes(b"stale")
    r = CliRunner().invoke(main, ["replay", "synthetic:linear?n=3000&d=3&seed=0", "--learner", "ogd", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    import onlinekit

    assert rep["onlinekit_version"] == onlinekit.__version__
    assert rep["command"].startswith("onlinekit replay") and "--learner ogd" in rep["command"]
    assert [f["name"] for f in rep["features"]] == ["x0", "x1", "x2"]
    assert not (out / "old_metric.png").exists()
    for f in out.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) & 0o044, f"{f.name} is private to its owner"
    from onlinekit.report import Report

    Report("m", "s", 1, {"x": float("nan")}, {}).write(out)
    assert json.loads((out / "report.json").read_text())["summary"]["x"] is None


RIVER_SETS = ["AirlinePassengers", "Bananas", "ChickWeights", "ImageSegments", "Phishing", "Shuttle", "SP500Stocks",
              "TrumpApproval", "WaterFlow"]


@pytest.mark.parametrize("name", RIVER_SETS)
def test_every_bundled_river_dataset_replays_with_defaults(name, tmp_path):
    r = CliRunner().invoke(main, ["replay", f"river:{name}", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    s = _summary(tmp_path)
    assert all(v is not None and math.isfinite(v) for v in s.values()), s
    if "accuracy" in s:
        assert s["accuracy"] > 0.5
    else:  # beats the running-mean predictor's loss by no more than a small factor
        assert s["mean_squared_loss"] < 1e6


def test_text_target_needs_a_multiclass_learner():
    r = CliRunner().invoke(main, ["replay", "river:ImageSegments", "--learner", "ogd"])
    assert r.exit_code == 2 and "class labels" in r.output and "ogd-multiclass" in r.output


def test_text_labels_replay_as_classes_and_resume_exactly(tmp_path):
    """Three text classes from a linear rule: the default (softmax) learner beats the majority
    class by far; a run cut at event 1,500 and resumed equals an uninterrupted run."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 3))
    lab = np.array(["red", "green", "blue"])[np.argmax(X @ rng.normal(size=(3, 3)), axis=1)]
    p = tmp_path / "c.csv"
    p.write_text("a;b;c;colour\n" + "".join(f"{x[0]:.5f};{x[1]:.5f};{x[2]:.5f};{c}\n" for x, c in zip(X, lab)))
    full, cut = tmp_path / "full", tmp_path / "cut"
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "colour", "--out", str(full)])
    assert r.exit_code == 0, r.output
    s = _summary(full)
    majority = max(np.mean(lab == v) for v in ("red", "green", "blue"))
    assert s["accuracy"] > majority + 0.3, (s, majority)
    args = ["replay", str(p), "--target", "colour", "--out", str(cut), "--checkpoint-every", "500"]
    assert CliRunner().invoke(main, args + ["--max-events", "1500"]).exit_code == 0
    assert CliRunner().invoke(main, args + ["--resume"]).exit_code == 0
    a, b = _summary(full), _summary(cut)
    assert a["accuracy"] == b["accuracy"]


def test_jsonl_categorical_features(tmp_path):
    p = tmp_path / "e.jsonl"
    rng = np.random.default_rng(0)
    with open(p, "w") as f:
        for _ in range(3000):
            c = str(rng.choice(["u", "v"]))
            f.write(json.dumps({"c": c, "z": float(rng.normal()), "y": float(c == "u")}) + "\n")
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "y", "-m", "accuracy", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert _summary(tmp_path / "o")["accuracy"] > 0.95


def test_fair_learner_sizes_its_groups_from_the_sensitive_column(tmp_path):
    p = tmp_path / "f.csv"
    rng = np.random.default_rng(0)
    groups = np.array(["north", "south", "east"])
    with open(p, "w") as f:
        f.write("a,b,region,y\n")
        for _ in range(600):
            a, b = rng.normal(size=2)
            f.write(f"{a:.4f},{b:.4f},{groups[rng.integers(0, 3)]},{int(a + b > 0)}\n")
    out = tmp_path / "o"
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "y", "--sensitive", "region", "--learner", "aranyani",
                                  "-m", "accuracy", "-m", "fairness", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    assert "n_groups=3" in rep["learner"]
    assert rep["summary"]["accuracy"] > 0.7
    assert [f["name"] for f in rep["features"]] == ["a", "b"]  # the sensitive column is not a feature
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "y", "--sensitive", "region", "--learner", "aranyani",
                                  "-p", "n_groups=2"])
    assert r.exit_code == 2 and "the data has 3 groups, more than n_groups=2" in r.output


def test_jsonl_null_is_a_missing_cell(tmp_path):
    p = tmp_path / "e.jsonl"
    rows = [{"a": 1.0, "c": "u", "y": 1.0}, {"a": None, "c": None, "y": 0.0}, {"a": 3.0, "c": "v", "y": 1.0}]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "y"])
    assert r.exit_code == 2 and "line 2" in r.output and "missing value" in r.output
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "y", "--missing", "mean"])
    assert r.exit_code == 0, r.output


def test_parquet_categorical_and_missing(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(3)
    c = [str(v) for v in rng.choice(["u", "v", "w"], 2000)]
    a = [None if rng.random() < 0.1 else float(rng.normal()) for _ in range(2000)]
    y = [float(v == "u") for v in c]
    p = tmp_path / "e.parquet"
    pq.write_table(pa.table({"c": c, "a": a, "y": y}), p)
    out = tmp_path / "o"
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "y", "--missing", "zero", "-m", "accuracy",
                                  "--out", str(out)])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["summary"]["accuracy"] > 0.95
    assert {f["name"] for f in rep["features"]} == {"a", "c=u", "c=v", "c=w"}


def test_sharded_replay_encodes_each_shard_and_handles_missing_keys(tmp_path):
    p = tmp_path / "t.csv"
    rng = np.random.default_rng(5)
    with open(p, "w") as f:
        f.write("tenant,colour,x,y\n")
        for i in range(900):
            t = "" if i == 400 else str(rng.choice(["a", "b"]))
            c = str(rng.choice(["red", "blue"]))
            f.write(f"{t},{c},{rng.normal():.3f},{int(c == 'red')}\n")
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "y", "--shard-by", "tenant"])
    assert r.exit_code == 2 and "line 402" in r.output and "--missing-key pool" in r.output
    out = tmp_path / "o"
    r = CliRunner().invoke(main, ["replay", str(p), "--target", "y", "--shard-by", "tenant", "--missing-key", "pool",
                                  "-m", "accuracy", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "[tenant=a]" in r.output and "[tenant=]" in r.output
    # the categorical colour column carries the label: each shard learns it from its own levels
    assert json.loads((out / "report.json").read_text())["summary"]["accuracy"] > 0.8
