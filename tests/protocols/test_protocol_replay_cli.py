"""``onlinekit replay`` on logged-bandit and auction logs, piped and under a pty."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.bidding import DualPacingBidder, SGDUCBBudgeter
from onlinekit.cascade import CascadeKLUCB
from onlinekit.protocols import get_protocol, replay_log
from onlinekit.streams import open_source

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from clirun import run_piped, run_pty  # noqa: E402


def _env():
    env = dict(os.environ)
    env["COLUMNS"] = "100"
    return env


def _summary(out: Path) -> dict:
    s = json.loads((out / "report.json").read_text())["summary"]
    s.pop("events_per_s")
    return s


def _same(cli: dict, py: dict) -> None:
    py = {k: v for k, v in py.items() if k != "events_per_s"}
    assert cli.keys() == py.keys()
    for k, v in py.items():
        assert cli[k] == v or (v != v and cli[k] is None), k  # NaN is written as null


def _obd(data_dir) -> Path:
    f = data_dir / "obd" / "random" / "all" / "all.csv"
    if not f.exists():
        pytest.skip(f"Open Bandit Dataset sample not present ({f}); get it with: onlinekit data fetch obd")
    return f


def test_obd_sample_piped_equals_python(data_dir, tmp_path):
    f = _obd(data_dir)
    out = tmp_path / "obd"
    r = run_piped(["replay", str(f), "--learner", "cascade-klucb", "--out", str(out)], cwd=tmp_path, env=_env())
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert "ips_value" in r.stdout and "accepted" in r.stdout
    src = open_source(str(f))
    P = get_protocol("logged-bandit")
    cols = P.resolve_columns({}, src.column_names())
    want = replay_log(CascadeKLUCB(**P.infer_params(CascadeKLUCB, cols, src)), src, cols).summary
    _same(_summary(out), want)


@pytest.mark.slow  # the terminal path is covered by the auction log below; this one adds the real file
def test_obd_sample_under_a_terminal(data_dir, tmp_path):
    f = _obd(data_dir)
    rc, text = run_pty(["replay", str(f), "--learner", "cascade-ucb1", "--item", "item_id", "--position", "position",
                        "--reward", "click", "--propensity", "propensity_score"], cwd=tmp_path, env=_env())
    assert rc == 0, text
    assert "replay:" in text and "snips_value" in text and "Traceback" not in text


def _write(path: Path, cols: dict) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(cols))
        for row in zip(*(np.asarray(v).tolist() for v in cols.values()), strict=True):
            w.writerow([repr(x) for x in row])
    return path


def _auction_log(n=3000, **kw):
    spec = "synthetic:auction-log?" + "&".join(f"{k}={v}" for k, v in {"n": n, "rounds_per_period": 50, **kw}.items())
    chunk = next(open_source(spec).chunks(chunk_size=n))
    return spec, {k: np.asarray(v) for k, v in chunk.columns.items()}


def test_generated_auction_log_written_to_csv_replays_from_the_cli(tmp_path):
    spec, cols = _auction_log()
    f = _write(tmp_path / "auctions.csv", cols)
    out = tmp_path / "sgd"
    r = run_piped(["replay", str(f), "--learner", "sgd-ucb-budgeter", "-p", "ucb_scale=0.02", "--value", "value",
                   "--competing-bid", "competing_bid", "--channel", "channel", "--out", str(out)], env=_env())
    assert r.returncode == 0, r.stderr
    names = {"value": "value", "competing_bid": "competing_bid", "channel": "channel", "period": "period"}
    want = replay_log(SGDUCBBudgeter(n_channels=3, ucb_scale=0.02), open_source(spec), names).summary
    _same(_summary(out), want)
    assert _summary(out)["periods"] == 3000 // 150


def test_dual_pacing_on_a_log_with_its_own_column_names(tmp_path):
    _, cols = _auction_log(n=2000)
    f = _write(tmp_path / "bids.csv", {"conv": cols["value"], "top_bid": cols["competing_bid"]})
    out = tmp_path / "pacing"
    r = run_piped(["replay", str(f), "--learner", "dual-pacing-bidder", "-p", "auction=first", "-p", "budget_rate=0.05",
                   "--value", "conv", "--competing-bid", "top_bid", "--out", str(out)], env=_env())
    assert r.returncode == 0, r.stderr
    learner = DualPacingBidder(budget_rate=0.05, auction="first")
    want = replay_log(learner, open_source(str(f)), {"value": "conv", "competing_bid": "top_bid"}).summary
    _same(_summary(out), want)


def test_synthetic_auction_log_under_a_terminal(tmp_path):
    rc, text = run_pty(["replay", "synthetic:auction-log?n=20000&seed=2", "--learner", "sgd-ucb-budgeter"],
                       cwd=tmp_path, env=_env())
    assert rc == 0, text
    assert "replay:" in text and "roi_violation" in text and "periods" in text


@pytest.mark.parametrize("make,args,msg", [
    (lambda p: _write(p, {"item_id": [1.0, 2.0], "position": [1.0, 0.0], "click": [0.0, 1.0],
                          "propensity_score": [0.5, 0.5]}),
     ["--learner", "cascade-klucb"], "line 3: column 'position'"),
    (lambda p: _write(p, {"item_id": [1.0], "position": [1.0], "click": [0.0], "propensity_score": [0.5]}),
     ["--learner", "cascade-klucb", "--item", "nosuch"], "--item: no column 'nosuch'"),
    (lambda p: _write(p, {"item_id": [1.0], "position": [1.0], "click": [0.0]}),
     ["--learner", "cascade-ucb1"], "--propensity"),
    (lambda p: _write(p, {"value": [0.5], "competing_bid": [0.2], "channel": [0.0]}),
     ["--learner", "sgd-ucb-budgeter"], "--period COL"),
    (lambda p: _write(p, {"value": [0.5, -1.0], "competing_bid": [0.2, 0.1]}),
     ["--learner", "dual-pacing-bidder"], "line 3: column 'value'"),
])
def test_bad_logs_get_one_line_and_exit_2(tmp_path, make, args, msg):
    f = make(tmp_path / "log.csv")
    r = run_piped(["replay", str(f), *args], cwd=tmp_path, env=_env())
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and msg in lines[0], r.stderr
