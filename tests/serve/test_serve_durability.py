"""Event log, snapshots and recovery: restart = newest valid snapshot + log replay, exactly."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest
from serve_helpers import PARAMS, assert_same_state, make_events, oracle

from onlinekit.base import state_to_bytes
from onlinekit.oco import OGD
from onlinekit.serve.log import EventLog
from onlinekit.serve.service import LearnerService, Request
from onlinekit.serve.snapshots import SnapshotStore


def _learn(svc, events, key_prefix=None, start=0):
    reqs = [Request("learn", [ev], key=None if key_prefix is None else f"{key_prefix}{start + i}")
            for i, ev in enumerate(events)]
    return svc.process(reqs)


# -- event log ------------------------------------------------------------------------------
def test_log_offsets_are_contiguous_and_survive_reopen(tmp_path):
    log = EventLog(tmp_path / "e.db")
    log.begin()
    assert [log.append("learn", {"i": i}) for i in range(5)] == [0, 1, 2, 3, 4]
    log.commit()
    log.begin()
    first = log.append_texts("learn", ['{"i":5}', '{"i":6}'])
    log.discard_from(first)  # a refused request
    assert log.next_offset == 5
    log.append("learn", {"i": 7})
    log.rollback()  # an uncommitted transaction never reaches the log
    assert log.next_offset == log.committed_offset == 5
    log.close()
    log = EventLog(tmp_path / "e.db")
    assert log.next_offset == 5
    assert [b["i"] for _, _, b in log.read(0)] == [0, 1, 2, 3, 4]
    assert [o for o, _, _ in log.read(2, 4)] == [2, 3]
    assert log.truncate_before(3) == 3 and log.first_offset() == 3
    log.close()
    log = EventLog(tmp_path / "e.db")  # offsets keep growing after truncation
    assert log.next_offset == 5 and log.first_offset() == 3
    log.close()


def test_log_truncated_to_empty_keeps_offsets(tmp_path):
    log = EventLog(tmp_path / "e.db")
    log.begin()
    for i in range(3):
        log.append("learn", {"i": i})
    log.commit()
    log.truncate_before(3)
    log.close()
    log = EventLog(tmp_path / "e.db")
    assert log.next_offset == 3 and list(log.read(0)) == []
    log.close()


def test_log_is_sqlite_wal_and_refuses_bad_sync(tmp_path):
    log = EventLog(tmp_path / "e.db", sync="full")
    assert log._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log._conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    log.close()
    with pytest.raises(ValueError, match="sync"):
        EventLog(tmp_path / "f.db", sync="sometimes")


# -- snapshots --------------------------------------------------------------------------------
def _trained(n=20):
    return oracle(make_events(n))


def test_snapshot_newest_valid_wins_and_corrupt_ones_are_skipped(tmp_path):
    store = SnapshotStore(tmp_path, keep=3)
    store.write(store.encode(_trained(10), 10))
    store.write(store.encode(_trained(20), 20))
    snap = store.load_newest()
    assert snap.offset == 20
    assert_same_state(snap.learner, _trained(20))
    # corrupt the newest archive: it is skipped, the older one loads
    p = store.path_for(20)
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    snap = store.load_newest()
    assert snap.offset == 10 and "checksum" in store.skipped[0][1]
    # a snapshot covering more events than the log holds is not used
    assert store.load_newest(max_offset=5) is None


def test_snapshot_keep_prunes_old_files(tmp_path):
    store = SnapshotStore(tmp_path, keep=2)
    for off in (1, 2, 3):
        store.write(store.encode(_trained(off), off))
    assert store.offsets() == [3, 2]


def test_snapshot_never_unpickles(tmp_path):
    store = SnapshotStore(tmp_path)

    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("unpickled a snapshot",))

    # a pickle under a snapshot name, with a matching checksum: refused, not executed
    p = store.path_for(7)
    payload = pickle.dumps(Boom())
    p.write_bytes(payload)
    import hashlib

    p.with_suffix(".sha256").write_text(hashlib.sha256(payload).hexdigest())
    # an npz whose member is a pickled object array: np.load(allow_pickle=False) refuses it
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(b"{}", dtype=np.uint8), a0=np.array([Boom()], dtype=object))
    p2 = store.path_for(9)
    p2.write_bytes(buf.getvalue())
    p2.with_suffix(".sha256").write_text(hashlib.sha256(buf.getvalue()).hexdigest())
    assert store.load_newest() is None
    assert len(store.skipped) == 2


def test_snapshot_refuses_classes_outside_onlinekit(tmp_path):
    store = SnapshotStore(tmp_path)
    data = state_to_bytes(OGD(lr=0.1), extra={"offset": 0})
    # rewrite the class path inside the archive to something outside onlinekit
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            raw = zin.read(item.filename)
            if item.filename == "__meta__.npy":
                raw = raw.replace(b"onlinekit.oco.ogd:OGD", b"os.path:join_xxxxxxxx")
            zout.writestr(item, raw)
    store.write((0, out.getvalue()))
    assert store.load_newest() is None
    assert "refusing" in store.skipped[0][1] or "Error" in store.skipped[0][1]


# -- recovery ----------------------------------------------------------------------------------
@pytest.mark.parametrize("snapshot_every", [0, 7, 50])
def test_recovery_equals_uninterrupted_replay(tmp_path, snapshot_every):
    events = make_events(120, seed=1)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=snapshot_every)
    outs = _learn(svc, events[:60], "k")
    assert [o.body["offset"] for o in outs] == list(range(60))
    svc.close(snapshot=False)  # as after a crash: no final snapshot
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=snapshot_every)
    assert svc.offset == 60
    assert_same_state(svc.learner, oracle(events[:60]))
    _learn(svc, events[60:], "k", start=60)
    svc.close()
    svc = LearnerService(tmp_path)
    assert_same_state(svc.learner, oracle(events))
    svc.close()


def test_recovery_falls_back_when_newest_snapshot_is_torn(tmp_path):
    events = make_events(40, seed=2)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=10)
    for i in range(0, 40, 5):
        _learn(svc, events[i:i + 5])
    svc.close(snapshot=False)
    store = SnapshotStore(tmp_path / "snapshots")
    newest = store.offsets()[0]
    store.path_for(newest).write_bytes(b"torn")
    svc = LearnerService(tmp_path)
    assert svc.snapshot_offset < newest
    assert_same_state(svc.learner, oracle(events))
    svc.close()


def test_batch_and_group_processing_match_replay(tmp_path):
    events = make_events(50, seed=3, kind="list")
    svc = LearnerService(tmp_path, "ogd", PARAMS)
    out = svc.process([Request("learn", events[:20], batch=True), Request("learn", events[20:30], key="b")]
                      + [Request("learn", [ev]) for ev in events[30:]])
    assert [o.status for o in out] == [200] * 22
    assert_same_state(svc.learner, oracle(events))
    svc.close()


def test_refused_batch_rolls_back_learner_and_log(tmp_path):
    events = make_events(10, seed=4, kind="list")
    svc = LearnerService(tmp_path, "ogd", PARAMS)
    svc.process([Request("learn", events[:5], batch=True)])
    before = svc.learner.clone(include_attributes=True)
    bad = events[5:8] + [{"x": [1.0, 2.0], "y": 0.0}]  # wrong width at index 3 (learner refuses)
    out = svc.process([Request("learn", bad, batch=True, key="bad")])[0]
    assert out.status == 422 and out.body["error"]["field"] == "events[3].x"
    assert svc.offset == 5 and svc.log.lookup("bad") is None
    assert_same_state(svc.learner, before)
    out = svc.process([Request("learn", events[5:], batch=True, key="bad")])[0]  # key still free
    assert out.status == 200
    svc.close(snapshot=False)
    svc = LearnerService(tmp_path)
    assert_same_state(svc.learner, oracle(events))
    svc.close()


def test_idempotency_key_not_applied_twice_and_not_reusable(tmp_path):
    ev = make_events(2, seed=5)
    svc = LearnerService(tmp_path, "ogd", PARAMS)
    a, b, c = svc.process([Request("learn", [ev[0]], key="k"), Request("learn", [ev[0]], key="k"),
                           Request("learn", [ev[1]], key="k")])
    assert (a.status, a.replayed, b.status, b.replayed, b.body) == (200, False, 200, True, a.body)
    assert c.status == 409 and c.body["error"]["field"] == "Idempotency-Key"
    svc.close(snapshot=False)
    svc = LearnerService(tmp_path)
    d = svc.process([Request("learn", [ev[0]], key="k")])[0]  # a retry after a restart
    assert d.replayed and svc.offset == 1
    assert_same_state(svc.learner, oracle(ev[:1]))
    svc.close()


def test_state_dir_identity_is_checked(tmp_path):
    LearnerService(tmp_path, "ogd", PARAMS).close()
    with pytest.raises(ValueError, match="refusing"):
        LearnerService(tmp_path, "ogd", {"lr": 0.5})
    with pytest.raises(ValueError, match="no service"):
        LearnerService(tmp_path / "new")
    with pytest.raises(KeyError, match="unknown learner"):
        LearnerService(tmp_path / "other", "no-such-learner")
    with pytest.raises(ValueError, match="lr"):
        LearnerService(tmp_path / "bad", "ogd", {"lr": -1.0})


def test_failed_commit_rebuilds_learner_from_disk(tmp_path, monkeypatch):
    events = make_events(6, seed=6)
    svc = LearnerService(tmp_path, "ogd", PARAMS)
    _learn(svc, events[:3])

    def broken_commit():
        raise OSError("disk full")

    monkeypatch.setattr(svc.log, "commit", broken_commit)
    outs = _learn(svc, events[3:], "z")
    assert {o.status for o in outs} == {503}
    monkeypatch.undo()
    assert svc.offset == 3
    assert_same_state(svc.learner, oracle(events[:3]))
    assert [o.status for o in _learn(svc, events[3:], "z")] == [200] * 3
    assert_same_state(svc.learner, oracle(events))
    svc.close()


def test_truncated_log_needs_a_covering_snapshot(tmp_path):
    events = make_events(30, seed=7)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0)
    _learn(svc, events[:20])
    assert svc.snapshot() == 20
    svc.log.truncate_before(20)
    _learn(svc, events[20:])
    svc.close(snapshot=False)
    svc = LearnerService(tmp_path)
    assert_same_state(svc.learner, oracle(events))
    svc.close()
    for p in (tmp_path / "snapshots").glob("snapshot-*"):
        p.unlink()
    with pytest.raises(ValueError, match="cannot rebuild"):
        LearnerService(tmp_path)


def test_one_process_per_state_dir(tmp_path):
    svc = LearnerService(tmp_path, "ogd", PARAMS)
    with pytest.raises(OSError, match="in use"):
        LearnerService(tmp_path, "ogd", PARAMS)
    svc.close()
    LearnerService(tmp_path).close()


def test_key_retention_forgets_old_keys_only(tmp_path):
    events = make_events(30, seed=8)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=10, key_retention=15)
    _learn(svc, events, "r")
    # one group of 30 requests, then a snapshot at offset 30: keys of offsets < 15 are forgotten
    assert [svc.log.lookup(f"r{i}") is None for i in (0, 14, 15, 29)] == [True, True, False, False]
    svc.close()


@pytest.mark.parametrize("n", [1, 2, 99, 100, 101, 250])
def test_multi_row_inserts_write_what_executemany_writes(tmp_path, n):
    """``_insert_rows`` (many VALUES tuples per statement) against ``executemany``, the oracle."""
    import sqlite3

    from onlinekit.serve.log import _insert_rows

    rows = [(i, "learn" if i % 3 else "act", f'{{"x": [{i}.5], "y": {i}}}', bytes([i % 256]) if i % 2 else None)
            for i in range(n)]
    got, want = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    for c in (got, want):
        c.execute("CREATE TABLE events (offset INTEGER PRIMARY KEY, op TEXT, body TEXT, entropy BLOB)")
    _insert_rows(got, "offset, op, body, entropy", rows)
    want.executemany("INSERT INTO events(offset, op, body, entropy) VALUES (?, ?, ?, ?)", rows)
    q = "SELECT offset, op, body, entropy FROM events ORDER BY offset"
    assert got.execute(q).fetchall() == want.execute(q).fetchall() == rows
    _insert_rows(got, "offset, op, body", [(n + 1, "learn", "{}")])
    assert got.execute("SELECT COUNT(*), MAX(offset) FROM events").fetchone() == (n + 1, n + 1)
