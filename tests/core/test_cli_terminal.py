"""The CLI as a user meets it: in a real terminal (pty) as well as piped.

Each defect of the newcomer issue has a test here that reproduced it before the fix.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import sys

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from clirun import PtyProcess, run_piped, run_pty  # noqa: E402


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["COLUMNS"] = "100"
    return env


@pytest.fixture
def small_csv(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,y\n1.0,2.0,1\n0.5,-1.0,0\n2.0,0.1,1\n")
    return p


def test_csv_replay_in_a_terminal_draws_a_bar_and_succeeds(small_csv, tmp_path):
    # was: "error: bool() undefined when iterable == total == None", exit 2 (a CSV source has
    # no length, and the progress bar was tested for truth)
    rc, text = run_pty(["replay", str(small_csv), "--target", "y"], cwd=tmp_path, env=_env(tmp_path))
    assert rc == 0, text
    assert "events" in text and "log_loss" in text  # 0/1 target: the default learner is logistic
    assert "replay" in text and "ev" in text, "the progress bar (drawn only on a terminal) did not run"


def test_jsonl_replay_in_a_terminal(tmp_path):
    p = tmp_path / "e.jsonl"
    rng = np.random.default_rng(0)
    with open(p, "w") as f:
        for _ in range(500):
            a = float(rng.normal())
            f.write(json.dumps({"a": a, "c": str(rng.choice(["u", "v"])), "y": 2 * a}) + "\n")
    rc, text = run_pty(["replay", str(p), "--target", "y"], cwd=tmp_path, env=_env(tmp_path))
    assert rc == 0, text
    assert "500" in text


def test_piped_replay_has_no_progress_bar(small_csv, tmp_path):
    r = run_piped(["replay", str(small_csv), "--target", "y"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ev/s" not in r.stderr and "it/s" not in r.stderr


def test_experiment_in_a_terminal(tmp_path):
    rc, text = run_pty(["experiment", "ogd-regret", "--quick", "--out", str(tmp_path / "exp")],
                       cwd=tmp_path, env=_env(tmp_path))
    assert rc == 0, text
    assert (tmp_path / "exp" / "table.md").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_in_a_terminal_and_answers(tmp_path):
    pytest.importorskip("uvicorn")
    import urllib.request

    port = _free_port()
    p = PtyProcess(["serve", "--learner", "ogd", "--state", str(tmp_path / "svc"), "--port", str(port)],
                   cwd=tmp_path, env=_env(tmp_path))
    try:
        text = p.read_until(lambda t: "serving" in t, timeout=120)
        assert "serving" in text, text
        body = None
        for _ in range(100):
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/health")
                with urllib.request.urlopen(req, timeout=2) as resp:
                    body = json.loads(resp.read())
                break
            except OSError:
                time.sleep(0.1)
        assert body is not None, p.read_until(lambda t: False, 1)
        p.interrupt()
        assert p.wait(30) == 0
    finally:
        p.close()


def test_ctrl_c_in_a_long_replay_says_where_it_stopped(tmp_path):
    # was: ~60 lines of numba errors. Now one line naming the event and how to resume.
    src = "synthetic:linear?n=200000000&d=5&seed=0"
    out = tmp_path / "run"
    p = PtyProcess(["replay", src, "--learner", "ogd", "--out", str(out), "--checkpoint-every", "100000",
                    "--block-size", "50000"], cwd=tmp_path, env=_env(tmp_path))
    try:
        p.read_until(lambda t: (out / "checkpoint.npz").exists(), timeout=120)
        assert (out / "checkpoint.npz").exists(), p.text
        p.interrupt()
        rc = p.wait(60)
    finally:
        p.close()
    assert rc == 130, p.text
    lines = [ln for ln in p.text.splitlines() if ln.strip() and "ev/s" not in ln and "replay:" not in ln]
    assert any(ln.startswith("error: interrupted at event") and "--resume" in ln for ln in lines), p.text
    assert "Traceback" not in p.text and "numba" not in p.text
