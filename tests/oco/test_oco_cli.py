"""``onlinekit replay`` of gradient logs (the oco protocol), piped and under a pty.

Oracles: an independent numpy optimistic OMD (given hints, constant step) and the per-event
``play``/``update`` loop; the comparator by its closed form on the unit ball.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.oco import ONS
from onlinekit.streams.protocol_logs import OCOGradients, write_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from clirun import run_piped, run_pty  # noqa: E402

N = 1500


@pytest.fixture
def grads_csv(tmp_path):
    return write_csv(OCOGradients(n=N, d=3, hints=1, seed=7), tmp_path / "grads.csv")


def _data(path):
    D = np.loadtxt(path, delimiter=",", skiprows=1)
    return D[:, :3], D[:, 3:6]


def _numpy_optimistic(G, H, lr):
    def proj(v):
        n = np.linalg.norm(v)
        return v if n <= 1.0 else v / n

    xh, loss = np.zeros(3), 0.0
    for g, m in zip(G, H, strict=True):
        loss += float(g @ proj(xh - lr * m))
        xh = proj(xh - lr * g)
    return loss


def _summary(out):
    return json.loads((out / "report.json").read_text())


def test_optimistic_omd_with_given_hints_piped(grads_csv, tmp_path):
    out = tmp_path / "oomd"
    r = run_piped(["replay", str(grads_csv), "--learner", "optimistic-omd", "--gradient", "g0,g1,g2",
                   "--hint", "h0,h1,h2", "-p", "schedule=constant", "-p", "lr=0.05", "--out", str(out)],
                  cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "comparator_loss" in r.stdout and "ev/s" not in r.stderr
    rep = _summary(out)
    assert "n_dims=3" in rep["learner"] and "hint='given'" in rep["learner"]  # inferred
    G, H = _data(grads_csv)
    s = rep["summary"]
    assert s["loss"] == pytest.approx(_numpy_optimistic(G, H, 0.05), rel=1e-10)
    assert s["comparator_loss"] == pytest.approx(-np.linalg.norm(G.sum(axis=0)), rel=1e-12)
    assert s["regret"] == pytest.approx(s["loss"] - s["comparator_loss"], rel=1e-12)
    # the oracle tells the hint conventions apart: hints one round late give another loss
    late = np.vstack([np.zeros((1, 3)), H[:-1]])
    assert not math.isclose(s["loss"], _numpy_optimistic(G, late, 0.05), rel_tol=1e-6)


def test_ons_in_a_terminal(grads_csv, tmp_path):
    out = tmp_path / "ons"
    rc, text = run_pty(["replay", str(grads_csv), "--learner", "ons", "--gradient", "g0,g1,g2", "--out", str(out)],
                       cwd=tmp_path)
    assert rc == 0, text
    assert "replay" in text and "ev" in text, "no progress bar on a terminal"
    G, _ = _data(grads_csv)
    ref, loss = ONS(n_dims=3), 0.0
    for g in G:
        loss += float(g @ ref.play())
        ref.update(g)
    assert _summary(out)["summary"]["loss"] == pytest.approx(loss, rel=1e-10)


def test_dynamic_omd_horizon_is_inferred_from_the_file(grads_csv, tmp_path):
    out = tmp_path / "dyn"
    r = run_piped(["replay", str(grads_csv), "--learner", "dynamic-omd", "--gradient", "g0,g1,g2", "--out", str(out)],
                  cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rep = _summary(out)
    assert f"horizon={N}" in rep["learner"] and rep["n_events"] == N


@pytest.mark.parametrize("args, needle", [
    (["--learner", "omd", "--gradient", "g0,g1,g2", "--hint", "h0,h1,h2"], "--hint needs"),
    (["--learner", "omd", "--gradient", "g0,g1,nope"], "nope"),
    (["--learner", "optimistic-omd", "--gradient", "g0,g1,g2", "--hint", "h0"], "--hint names 1"),
    (["--learner", "ons"], "--gradient"),
])
def test_user_errors_are_one_line(grads_csv, tmp_path, args, needle):
    r = run_piped(["replay", str(grads_csv), *args], cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_a_bad_gradient_names_file_line_and_column(grads_csv, tmp_path):
    lines = grads_csv.read_text().splitlines()
    cells = lines[100].split(",")
    cells[1] = "inf"  # column g1 of file line 101
    lines[100] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    r = run_piped(["replay", str(bad), "--learner", "omd", "--gradient", "g0,g1,g2"], cwd=tmp_path)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "line 101" in err[0] and "g1" in err[0], err
