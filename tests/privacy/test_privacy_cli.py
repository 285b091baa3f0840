"""``onlinekit replay`` of value logs (the release protocol), piped and under a pty.

Oracles: the counter's own releases for the same seed (``releases.csv`` must hold them bit
for bit) and numpy's ``cumsum`` for the exact running sums behind ``mse``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.privacy import MaxSum, TreeCounter
from onlinekit.protocols.release import read_releases
from onlinekit.streams.protocol_logs import Counts, write_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from clirun import run_piped, run_pty  # noqa: E402

N = 700


@pytest.fixture
def counts_csv(tmp_path):
    return write_csv(Counts(n=N, seed=2), tmp_path / "counts.csv")


@pytest.fixture
def records_csv(tmp_path):
    return write_csv(Counts(n=N, d=3, p=0.25, seed=3), tmp_path / "records.csv")


def _report(out):
    return json.loads((out / "report.json").read_text())


def test_tree_counter_piped(counts_csv, tmp_path):
    out = tmp_path / "tree"
    r = run_piped(["replay", str(counts_csv), "--learner", "tree-counter", "--value", "count", "-p", "noise=seeded",
                   "-p", "seed=0", "-p", "honaker=true", "--out", str(out)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "expected_mse" in r.stdout and "rho" in r.stdout
    rep = _report(out)
    assert f"T={N}" in rep["learner"]  # inferred from the file
    x = np.loadtxt(counts_csv, skiprows=1)
    t, Y = read_releases(out / "releases.csv")
    ref = TreeCounter(T=N, noise="seeded", seed=0, honaker=True).release_many(x)
    assert np.array_equal(Y[:, 0], ref) and t.tolist() == list(range(1, N + 1))
    s = rep["summary"]
    assert s["mse"] == pytest.approx(float(np.mean((ref - np.cumsum(x)) ** 2)), rel=1e-9)
    assert s["expected_mse"] == pytest.approx(float(np.mean(TreeCounter(T=N, honaker=True, noise="seeded")
                                                            .variance())), rel=1e-12)
    assert (s["privacy"], s["rho"], s["private"]) == ("zcdp", 0.5, False)


def test_maxsum_with_values_in_a_terminal(records_csv, tmp_path):
    out = tmp_path / "maxsum"
    rc, text = run_pty(["replay", str(records_csv), "--learner", "maxsum", "--values", "c0,c1,c2",
                        "-p", "noise=seeded", "-p", "seed=1", "--out", str(out)], cwd=tmp_path)
    assert rc == 0, text
    assert "replay" in text and "ev" in text, "no progress bar on a terminal"
    X = np.loadtxt(records_csv, delimiter=",", skiprows=1)
    _, Y = read_releases(out / "releases.csv")
    ref = MaxSum(T=N, d=3, noise="seeded", seed=1).release_many(X)
    assert np.array_equal(Y[:, 0], ref)
    assert _report(out)["summary"]["max_abs_error"] == pytest.approx(
        float(np.max(np.abs(ref - np.cumsum(X, axis=0).max(axis=1)))), rel=1e-12)


def test_doubling_counter_needs_no_horizon(counts_csv, tmp_path):
    out = tmp_path / "dbl"
    r = run_piped(["replay", str(counts_csv), "--learner", "doubling-counter", "--value", "count",
                   "-p", 'params={"T": 16, "noise": "seeded", "seed": 0}', "--out", str(out)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert _report(out)["n_events"] == N
    r = run_piped(["replay", str(counts_csv), "--learner", "doubling-counter", "--value", "count", "--out",
                   str(tmp_path / "defaults")], cwd=tmp_path)  # no parameters at all
    assert r.returncode == 0, r.stderr
    assert _report(tmp_path / "defaults")["n_events"] == N


@pytest.mark.parametrize("args, needle", [
    (["--learner", "tree-counter"], "--value COL"),
    (["--learner", "tree-counter", "--value", "count", "--values", "count"], "both"),
    (["--learner", "tree-counter", "--value", "count", "-p", "T=100", "-p", "noise=seeded"], "horizon"),
])
def test_user_errors_are_one_line(counts_csv, tmp_path, args, needle):
    r = run_piped(["replay", str(counts_csv), *args], cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_a_value_outside_the_bounds_names_file_line_and_column(counts_csv, tmp_path):
    lines = counts_csv.read_text().splitlines()
    lines[51] = "3.0"  # file line 52
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    r = run_piped(["replay", str(bad), "--learner", "sqrt-factor-counter", "--value", "count",
                   "-p", "noise=seeded"], cwd=tmp_path)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "line 52" in err[0] and "count" in err[0] and "bounds" in err[0], err
