"""``onlinekit replay`` dispatches on the learner's protocol before building it.

Oracle for the figures: the slow per-round sleeping-experts reference
(``tests/reference/experts_reference.py``), not the learner's block path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from onlinekit.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from clirun import run_piped, run_pty  # noqa: E402
from experts_reference import meta_run  # noqa: E402

N = 1200


def _losses(seed: int = 1):
    rng = np.random.default_rng(seed)
    L = rng.random((N, 3)) * np.array([1.0, 0.6, 1.0])
    A = np.ones((N, 3), dtype=bool)
    A[::3, 1] = False  # expert e1 sleeps every third round
    return L, A


@pytest.fixture
def losses_csv(tmp_path):
    L, A = _losses()
    p = tmp_path / "experts.csv"
    with open(p, "w") as f:
        f.write("round,e0,e1,e2,w0,w1,w2\n")
        for i in range(N):
            f.write(f"{i},{float(L[i, 0])!r},{float(L[i, 1])!r},{float(L[i, 2])!r},{int(A[i, 0])},{int(A[i, 1])},{int(A[i, 2])}\n")
    return p


def _reference(meta: str, awake: bool) -> dict:
    L, A = _losses()
    if not awake:
        A = np.ones_like(A)
    P, _, _ = meta_run(L, A, meta)
    mine = (P * np.where(A, L, 0.0)).sum(axis=1)
    regret = np.where(A, mine[:, None] - L, 0.0).sum(axis=0)
    i = int(np.argmax(regret))
    return {"loss": mine.sum(), "regret": regret[i], "best_expert": f"e{i}",
            "best_expert_loss": np.where(A, L, 0.0).sum(axis=0)[i]}


def _summary(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())["summary"]


def _check(summary: dict, ref: dict) -> None:
    assert summary["best_expert"] == ref["best_expert"]
    for k in ("loss", "regret", "best_expert_loss"):
        assert summary[k] == pytest.approx(ref[k], rel=1e-9, abs=1e-9), k


def test_hedge_replays_an_expert_loss_file_piped(losses_csv, tmp_path):
    out = tmp_path / "hedge"
    r = run_piped(["replay", str(losses_csv), "--learner", "hedge", "--experts", "e0,e1,e2", "--out", str(out)],
                  cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "regret" in r.stdout and "best_expert" in r.stdout
    assert "ev/s" not in r.stderr  # piped: no progress bar
    rep = json.loads((out / "report.json").read_text())
    assert rep["learner"].startswith("Hedge(n_experts=3")  # inferred from --experts
    _check(rep["summary"], _reference("hedge", awake=False))
    with pytest.raises(AssertionError):  # the oracle tells learners apart: AdaNormalHedge's figures differ
        _check(rep["summary"], _reference("anh", awake=False))


def test_adanormalhedge_with_awake_masks_in_a_terminal(losses_csv, tmp_path):
    out = tmp_path / "anh"
    rc, text = run_pty(["replay", str(losses_csv), "--learner", "adanormalhedge", "--experts", "e0,e1,e2",
                        "--awake", "w0,w1,w2", "--out", str(out)], cwd=tmp_path)
    assert rc == 0, text
    assert "ev" in text and "replay" in text, "no progress bar on a terminal"
    _check(_summary(out), _reference("anh", awake=True))


def test_resume_equals_an_uninterrupted_run(losses_csv, tmp_path):
    base = ["replay", str(losses_csv), "--learner", "adanormalhedge", "--experts", "e0,e1,e2", "--awake",
            "w0,w1,w2", "--record-every", "100", "--block-size", "256"]
    full = tmp_path / "full"
    assert run_piped([*base, "--out", str(full)], cwd=tmp_path).returncode == 0
    part = tmp_path / "part"
    r = run_piped([*base, "--out", str(part), "--checkpoint-every", "300", "--max-events", "750"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads((part / "report.json").read_text())["n_events"] == 750
    r = run_pty([*base, "--out", str(part), "--checkpoint-every", "300", "--resume"], cwd=tmp_path)
    assert r[0] == 0, r[1]
    a, b = (json.loads((d / "report.json").read_text()) for d in (full, part))
    assert b["resumed_from"] == 750 and b["n_events"] == N
    drop = lambda s: {k: v for k, v in s.items() if k != "events_per_s"}  # noqa: E731
    assert drop(a["summary"]) == drop(b["summary"])
    assert (full / "series.csv").read_text() == (part / "series.csv").read_text()


def test_a_bad_cell_is_one_line_with_file_line_and_column(losses_csv, tmp_path):
    lines = losses_csv.read_text().splitlines()
    cells = lines[41].split(",")
    cells[2] = "abc"  # column e1 of file line 42
    lines[41] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    r = run_piped(["replay", str(bad), "--learner", "hedge", "--experts", "e0,e1,e2"], cwd=tmp_path)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "line 42" in err[0] and "'e1'" in err[0], err
    assert "Traceback" not in r.stderr


def _invoke(*args):
    return CliRunner().invoke(main, ["replay", *map(str, args)])


def _one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for n in needles:
        assert n in lines[0], lines[0]


def test_flags_the_protocol_does_not_read_are_refused(losses_csv):
    _one_line_error(_invoke(losses_csv, "--learner", "hedge", "--experts", "e0,e1,e2", "--gradient", "e0"),
                    "--gradient", "experts protocol")
    _one_line_error(_invoke(losses_csv, "--learner", "hedge", "--experts", "e0,e1,e2", "--target", "e0"),
                    "--target", "supervised")
    _one_line_error(_invoke(losses_csv, "--learner", "ogd", "--target", "e0", "--experts", "e1"),
                    "--experts", "supervised")
    _one_line_error(_invoke(losses_csv, "--learner", "hedge"), "--experts")
    _one_line_error(_invoke(losses_csv, "--learner", "hedge", "--experts", "e0,nope"), "nope")
    _one_line_error(_invoke(losses_csv, "--learner", "hedge", "--experts", "e0,e1,e2", "-p", "n_experts=2"),
                    "n_experts=2")


def test_a_learner_that_cannot_replay_names_simulate_and_the_ones_that_can(losses_csv, monkeypatch):
    import onlinekit.protocols as protocols
    from onlinekit.protocols import Protocol

    try:
        protocols.get_protocol("environment")
    except ModuleNotFoundError:  # the environment module lands with the simulate command
        env = type("Env", (Protocol,), {"name": "environment", "replays": False})()
        real = protocols.get_protocol
        monkeypatch.setattr(protocols, "get_protocol", lambda n: env if n == "environment" else real(n))
    _one_line_error(_invoke(losses_csv, "--learner", "cascading-vi"), "onlinekit simulate", "hedge",
                    "adanormalhedge")


def test_a_protocol_module_not_present_is_one_line(losses_csv, monkeypatch):
    from onlinekit import protocols

    monkeypatch.setitem(protocols.PROTOCOLS, "experts", "onlinekit.protocols.not_here:X")
    _one_line_error(_invoke(losses_csv, "--learner", "hedge", "--experts", "e0,e1,e2"), "not available")


def test_learners_name_shows_parameters_protocol_columns_and_inferred():
    import inspect

    from onlinekit.experts import Hedge

    res = CliRunner().invoke(main, ["learners", "hedge"])
    assert res.exit_code == 0, res.output
    text = res.output
    assert "protocol  experts" in text
    for name, p in inspect.signature(Hedge).parameters.items():
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(name + " "))
        assert repr(p.default) in line
    assert "inferred from the data" in next(ln for ln in text.splitlines() if ln.strip().startswith("n_experts"))
    assert "--experts COLS" in text and "--awake COLS" in text
    assert "onlinekit replay FILE --learner hedge --experts" in text
    sup = CliRunner().invoke(main, ["learners", "aranyani"]).output
    assert "protocol  supervised" in sup and "--target COL" in sup and "n_groups" in sup.split("inferred:")[1]
    bad = CliRunner().invoke(main, ["learners", "nope"])
    assert bad.exit_code == 2 and "unknown learner 'nope'" in bad.output


def test_every_role_of_every_present_protocol_has_its_replay_flag():
    from onlinekit.cli import replay
    from onlinekit.protocols import PROTOCOLS, find_protocol

    flags = {o for p in replay.params for o in p.opts}
    for name in PROTOCOLS:
        protocol = find_protocol(name)
        for role in getattr(protocol, "roles", ()):
            assert role.flag in flags, f"{name}: role {role.name} reads {role.flag}, which replay does not have"
