"""Restart safety: a log that lost acknowledged events (truncated or deleted WAL, snapshots
without their log) or a damaged ``events.db`` makes ``onlinekit serve`` refuse to start with one
line and exit status 2; ``--accept-loss`` starts from the newest snapshot without reusing
offsets. The server runs as a subprocess and is killed with SIGKILL, as in a crash.
"""

from __future__ import annotations

import signal
import sqlite3
import time

import numpy as np
import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from serve_helpers import (  # noqa: E402
    PARAMS,
    assert_same_state,
    call,
    free_port,
    make_events,
    oracle,
    run_server_to_exit,
    start_server,
)

from onlinekit.serve.service import LearnerService, StateLossError  # noqa: E402


def _crash_with_snapshots(tmp_path, n=120, every=50):
    """Serve ``n`` learn events one by one (snapshots every ``every``), then SIGKILL the server."""
    state = tmp_path / "state"
    port = free_port()
    events = make_events(n, seed=41)
    proc = start_server(state, port, "--snapshot-every", str(every))
    try:
        for i, ev in enumerate(events):
            status, body = call(port, "POST", "/learn", ev, {"Idempotency-Key": f"e{i}"})
            assert status == 200 and body["offset"] == i
        newest = (n // every) * every
        side = state / "snapshots" / f"snapshot-{newest:020d}.sha256"
        deadline = time.monotonic() + 30
        while not side.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert side.exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    wal = state / "events.db-wal"
    assert wal.exists() and wal.stat().st_size > 0  # the commits sit in the WAL (no checkpoint yet)
    return state, events, newest


def _committed(db) -> int:
    conn = sqlite3.connect(str(db))
    try:
        row = conn.execute("SELECT MAX(offset) FROM events").fetchone()
    except sqlite3.OperationalError:  # the table itself was created in the lost WAL
        return 0
    finally:
        conn.close()
    return 0 if row[0] is None else row[0] + 1


def _assert_refused(state, needle):
    rc, err = run_server_to_exit(state, free_port())
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0] and "Traceback" not in err
    return lines[0]


def _accept_and_check(state, events, newest):
    """--accept-loss: start from the newest snapshot; the next offset is the snapshot's."""
    port = free_port()
    proc = start_server(state, port, "--accept-loss")
    try:
        status, h = call(port, "GET", "/health")
        assert h["offset"] == newest
        status, body = call(port, "POST", "/learn", events[newest], {"Idempotency-Key": "after"})
        assert status == 200 and body["offset"] == newest  # not an offset an acknowledged event had
        ref = oracle(events[:newest + 1])
        x = events[0]["x"]
        assert call(port, "POST", "/predict", {"x": x})[1]["prediction"] == ref.predict_one(x)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_truncated_wal_refuses_to_start(tmp_path):
    state, events, newest = _crash_with_snapshots(tmp_path)
    wal = state / "events.db-wal"
    data = wal.read_bytes()
    wal.write_bytes(data[: len(data) // 3])  # the tail of the WAL (the newest commits) is gone
    end = _committed(state / "events.db")
    assert end < newest  # precondition: the log now ends before the newest snapshot
    line = _assert_refused(state, f"covers {newest} events but the event log")
    assert f"holds only {end}" in line and "--accept-loss" in line
    _accept_and_check(state, events, newest)


def test_deleted_wal_refuses_to_start(tmp_path):
    state, events, newest = _crash_with_snapshots(tmp_path)
    (state / "events.db-wal").unlink()
    (state / "events.db-shm").unlink(missing_ok=True)
    end = _committed(state / "events.db")
    assert end < newest
    line = _assert_refused(state, f"covers {newest} events")
    assert f"holds only {end}" in line
    _accept_and_check(state, events, newest)


def test_snapshots_without_their_log_refuse_to_start(tmp_path):
    state, events, newest = _crash_with_snapshots(tmp_path)
    for p in state.glob("events.db*"):
        p.unlink()
    _assert_refused(state, "event log")
    assert not (state / "events.db").exists()  # refusing created nothing
    _accept_and_check(state, events, newest)


def test_corrupt_db_page_gives_a_clear_error(tmp_path):
    state = tmp_path / "state"
    events = make_events(400, seed=42)
    svc = LearnerService(state, "ogd", PARAMS, snapshot_every=0)
    from onlinekit.serve.service import Request

    svc.process([Request("learn", [ev], key=f"k{i}") for i, ev in enumerate(events)])
    svc.close(snapshot=False)
    db = state / "events.db"
    assert not (state / "events.db-wal").exists()  # checkpointed on close
    page = 4096
    assert db.stat().st_size >= 4 * page
    raw = bytearray(db.read_bytes())
    raw[2 * page:3 * page] = np.random.default_rng(0).integers(0, 256, page, dtype=np.uint8).tobytes()
    db.write_bytes(bytes(raw))
    line = _assert_refused(state, "is damaged")
    assert str(db) in line


def test_service_refuses_log_behind_snapshot_in_process(tmp_path):
    """The same refusal without HTTP, and accept_loss continuing exactly from the snapshot."""
    events = make_events(30, seed=43)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0)
    from onlinekit.serve.service import Request

    svc.process([Request("learn", [ev]) for ev in events[:20]])
    svc.snapshot()
    svc.close(snapshot=False)
    # replace the log by an older copy holding only 12 events (a stale backup of events.db)
    import sqlite3 as sq

    conn = sq.connect(str(tmp_path / "events.db"))
    conn.execute("DELETE FROM events WHERE offset >= 12")
    conn.commit()
    conn.close()
    with pytest.raises(StateLossError, match="covers 20 events but the event log .* holds only 12"):
        LearnerService(tmp_path)
    svc = LearnerService(tmp_path, accept_loss=True)
    assert svc.offset == 20 and svc.snapshot_offset == 20
    assert_same_state(svc.learner, oracle(events[:20]))
    out = svc.process([Request("learn", [events[20]])])[0]
    assert out.body["offset"] == 20
    svc.close()
    svc = LearnerService(tmp_path)  # the accepted state is now consistent: starts without the flag
    assert svc.offset == 21
    assert_same_state(svc.learner, oracle(events[:21]))
    svc.close()
