"""Work the event loop runs itself (``LearnerService.process_now`` / ``read_now``) against the
worker path (``process`` / ``predict``), and the log's background WAL checkpoints.

Oracle: the same requests through ``process`` on a second service (the path every commit took
before): same outcomes, same log rows and keys, same learner state, bit for bit. A sabotaged
inline path (idempotency keys not looked up) is caught by the same comparison. The refusals
to run inline (lock held, fsynced commits, over budget, a snapshot falling due, a learner
left to rebuild) are checked one by one; the WAL checkpoint against a sabotaged no-op.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from onlinekit.serve.service import LearnerService, Request, _Cost, _GroupCost

from serve_helpers import PARAMS, assert_same_state, count_inline, make_events

POISON = {"x": {"a": 1e200, "b": 1.0}, "y": 1e200}


def _script(seed: int) -> list[list[Request]]:
    """Groups of requests: keyed ones (some retried, some reusing a key for other events),
    batches (named and array events), poison, one bad feature value."""
    rng = np.random.default_rng(seed)
    named = make_events(60, seed=seed)
    arrays = make_events(30, seed=seed + 100, kind="array")
    groups, sent = [], []
    for g in range(12):
        group = []
        for _ in range(int(rng.integers(1, 7))):
            r = rng.random()
            if r < 0.15 and sent:                       # a retry of an earlier keyed request
                group.append(sent[int(rng.integers(len(sent)))])
                continue
            if r < 0.2 and sent:                        # a key reused for other events: 409
                old = sent[int(rng.integers(len(sent)))]
                group.append(Request("learn", [named[int(rng.integers(60))]], key=old.key))
                continue
            if r < 0.3:
                req = Request("learn", [POISON])
            elif r < 0.4:
                i = int(rng.integers(0, 25))
                req = Request("learn", arrays[i:i + 5], batch=True, key=f"a{g}-{len(group)}")
            elif r < 0.5:
                i = int(rng.integers(0, 55))
                req = Request("learn", named[i:i + 3] + ([POISON] if rng.random() < 0.3 else []), batch=True)
            else:
                req = Request("learn", [named[int(rng.integers(60))]], key=f"k{g}-{len(group)}")
            if req.key is not None:
                sent.append(req)
            group.append(req)
        groups.append(group)
    return groups


def _rows(svc) -> list:
    return list(svc.log.read(0))


def _run(a, b, groups, budget=1.0):
    """``a`` through process; ``b`` through process_now, what is left through process."""
    outs_a, outs_b = [], []
    for group in groups:
        outs_a += a.process(group)
        done, left = b.process_now(group, budget)
        outs_b += done + (b.process(left) if left else [])
    return outs_a, outs_b


def _same(outs_a, outs_b):
    return [(o.status, o.body, o.replayed) for o in outs_a] == [(o.status, o.body, o.replayed) for o in outs_b]


@pytest.mark.parametrize("seed", range(4))
def test_inline_groups_equal_the_worker_path(tmp_path, seed):
    a = LearnerService(tmp_path / "a", "ogd", PARAMS, snapshot_every=0)
    b = LearnerService(tmp_path / "b", "ogd", PARAMS, snapshot_every=0)
    first = [Request("learn", make_events(1, seed=99))]
    a.process(first), b.process(first)  # b measures its cost: process_now may run from here on
    inline = count_inline(b)
    outs_a, outs_b = _run(a, b, _script(seed))
    assert sum(inline) > 0
    assert _same(outs_a, outs_b)
    assert {o.status for o in outs_a} >= {200, 422}
    assert _rows(a) == _rows(b) and a.log.count_keys() == b.log.count_keys()
    assert_same_state(a.learner, b.learner)
    a.close(snapshot=False)
    b.close(snapshot=False)


def test_a_sabotaged_inline_path_is_caught(tmp_path, monkeypatch):
    """The comparison above fails when the inline path forgets the idempotency keys."""
    a = LearnerService(tmp_path / "a", "ogd", PARAMS, snapshot_every=0)
    b = LearnerService(tmp_path / "b", "ogd", PARAMS, snapshot_every=0)
    first = [Request("learn", make_events(1, seed=99))]
    a.process(first), b.process(first)
    real = b._process_locked

    def forgetful(pending, *, inline):
        if inline:
            for r in pending:
                r.key = None
        return real(pending, inline=inline)

    monkeypatch.setattr(b, "_process_locked", forgetful)
    groups = _script(1)
    groups.append([Request("learn", make_events(1, seed=5), key="again")] * 2)  # a retry within a group
    outs_a, outs_b = _run(a, b, groups)
    assert not _same(outs_a, outs_b)
    a.close(snapshot=False)
    b.close(snapshot=False)


def _measured(tmp_path, **kw) -> LearnerService:
    svc = LearnerService(tmp_path, "ogd", PARAMS, **kw)
    svc.process([Request("learn", make_events(1, seed=1))])
    svc.predict([make_events(1, seed=2)[0]["x"]])
    return svc


def test_nothing_runs_inline_while_the_lock_is_held(tmp_path):
    svc = _measured(tmp_path / "s", snapshot_every=0)
    reqs = [Request("learn", [ev]) for ev in make_events(3, seed=3)]
    x = make_events(1, seed=4)[0]["x"]
    assert svc.process_now(reqs[:1], 1.0)[0] and svc.read_now("predict", ([x],), 1.0) is not None
    held, release, result = threading.Event(), threading.Event(), {}

    def holder():
        with svc.lock:
            held.set()
            release.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(30)

    def caller():  # in a thread of its own: were it to wait for the lock, the join below times out
        result["now"] = svc.process_now(reqs[1:], 1.0)
        result["read"] = svc.read_now("predict", ([x],), 1.0)

    c = threading.Thread(target=caller)
    c.start()
    c.join(30)
    finished = not c.is_alive()
    release.set()
    t.join(30)
    c.join(30)
    assert finished
    assert result["now"] == ([], reqs[1:]) and result["read"] is None
    assert svc.offset == 2
    svc.close(snapshot=False)


def test_fsynced_commits_never_run_inline(tmp_path):
    svc = _measured(tmp_path / "s", snapshot_every=0, sync="full")
    reqs = [Request("learn", [ev]) for ev in make_events(3, seed=3)]
    assert svc.process_now(reqs, 1.0) == ([], reqs)
    svc.close(snapshot=False)


def test_the_budget_bounds_the_prefix(tmp_path):
    svc = _measured(tmp_path / "s", snapshot_every=0)
    svc._write_cost.one.per_event = 1e-3  # as if each one-event request cost 1 ms
    reqs = [Request("learn", [ev]) for ev in make_events(4, seed=3)]
    done, left = svc.process_now(reqs, 2.5e-3)
    assert [o.body["offset"] for o in done] == [1, 2] and left == reqs[2:]
    svc._write_cost.one.per_event = 1e-3
    batch = Request("learn", make_events(3, seed=4), batch=True)
    assert svc.process_now([batch], 2.5e-3) == ([], [batch])  # batch rate unknown: the 1 ms rate, 3 events
    svc._write_cost.many.per_event = 5e-4                      # measured: 1.5 ms, it fits
    assert len(svc.process_now([batch], 2.5e-3)[0]) == 1
    svc.close(snapshot=False)


def test_a_snapshot_falling_due_is_left_to_the_worker(tmp_path):
    svc = _measured(tmp_path / "s", snapshot_every=4)       # 1 event since the start
    reqs = [Request("learn", [ev]) for ev in make_events(4, seed=6)]
    done, left = svc.process_now(reqs[:2], 1.0)             # 3 < 4: taken whole
    assert len(done) == 2 and not left
    done, left = svc.process_now(reqs[2:], 1.0)             # the next one makes 4: not inline
    assert done == [] and left == reqs[2:] and svc.stats.snapshots == 0
    svc.process(left)                                       # the worker snapshots
    svc._writer.submit(lambda: None).result()
    assert svc.snapshots.offsets()[0] == 5
    svc.close(snapshot=False)


def test_a_torn_learner_is_rebuilt_before_anyone_reads_it(tmp_path):
    """OMD has no refusal of its own: one poison event leaves it non-finite, and the service
    rebuilds it from disk. Inline, the rebuild is left to the next holder of the lock; the
    answers and the state then equal the worker path's."""
    good = make_events(6, seed=7)
    a = LearnerService(tmp_path / "a", "omd-regressor", {}, snapshot_every=0)
    b = LearnerService(tmp_path / "b", "omd-regressor", {}, snapshot_every=0)
    for svc in (a, b):
        svc.process([Request("learn", [ev]) for ev in good[:2]])
    group = [Request("learn", [good[2]]), Request("learn", [POISON]), Request("learn", [good[3]])]
    outs_a = a.process(group[:2])                           # rebuilt from disk at once
    done, left = b.process_now(group, 1.0)
    assert [o.status for o in done] == [200, 422] and left == group[2:]
    assert b._needs_recover
    x = good[4]["x"]
    assert b.read_now("predict", ([x],), 1.0) is None       # not on the loop: the rebuild is pending
    assert b.process_now(left, 1.0) == ([], left)
    assert b.predict([x]) == a.predict([x]) and not b._needs_recover
    outs_a += a.process(left)
    assert [(o.status, o.body) for o in done + b.process(left)] == [(o.status, o.body) for o in outs_a]
    assert_same_state(a.learner, b.learner)
    a.close(snapshot=False)
    b.close(snapshot=False)


def test_reads_now_equal_reads_in_workers(tmp_path):
    svc = _measured(tmp_path / "s", snapshot_every=0)
    svc.process([Request("learn", make_events(20, seed=8), batch=True)])
    xs = [ev["x"] for ev in make_events(5, seed=9)]
    assert svc.read_now("predict", (xs,), 1.0) == svc.predict(xs)
    svc._read_cost.per_event = 1.0
    assert svc.read_now("predict", (xs,), 1.0) is None      # 5 s by the estimate: a worker's job
    svc.close(snapshot=False)


def test_cost_estimate_rises_at_once_and_falls_slowly():
    c = _Cost()
    c.record(10, 1e-3)
    c.record(10, 1e-2)
    assert c.per_event == 1e-3                              # a rise is taken at once
    c.record(10, 0.0)
    assert c.per_event == pytest.approx(0.9e-3)              # a fall a tenth at a time
    assert c.fits([1] * 5, 0.0) == 0 and c.fits([], 1.0) == 0


def test_group_cost_keeps_one_event_and_batch_rates_apart():
    c = _GroupCost()
    assert c.fits([1], 1.0) == 0                             # nothing measured
    c.record([1] * 4, 4e-4)                                  # 100 us per one-event request
    assert c.fits([50], 4e-3) == 0 and c.fits([30], 4e-3) == 1   # batches priced at 100 us/event
    c.record([50, 50], 1e-3)                                 # 10 us per batch event
    assert c.one.per_event == pytest.approx(1e-4) and c.many.per_event == pytest.approx(1e-5)
    assert c.fits([1] * 10 + [200], 3.01e-3) == 11
    c.record([1, 99], 1e-3)                                  # mixed: both take the mean (10 us)
    assert c.one.per_event == pytest.approx(0.9e-4 + 0.1e-5) and c.many.per_event == pytest.approx(1e-5)


def _wal_bytes(svc) -> int:
    wal = svc.log.path.with_name(svc.log.path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


@pytest.mark.parametrize("sabotage", [False, True])
def test_the_wal_is_checkpointed_by_the_worker_path(tmp_path, monkeypatch, sabotage):
    """Commits never checkpoint by themselves; the checkpoints ``process`` runs keep the WAL
    from growing with the log (sabotage: a no-op checkpoint lets it grow)."""
    from onlinekit.serve.log import EventLog

    monkeypatch.setattr(EventLog, "CHECKPOINT_COMMITS", 20)
    if sabotage:
        monkeypatch.setattr(EventLog, "checkpoint", lambda self: setattr(self, "_since_checkpoint", [0, 0]))
    svc = LearnerService(tmp_path / "s", "ogd", PARAMS, snapshot_every=0)
    evs = make_events(40, seed=10)
    sizes = []
    for i in range(400):
        svc.process([Request("learn", [evs[i % 40]], key=f"k{i}")])
        if i % 100 == 99:
            sizes.append(_wal_bytes(svc))
    n = svc.offset
    grew = sizes[-1] > 2 * sizes[0]
    assert grew == sabotage, sizes
    svc.close(snapshot=False)
    again = LearnerService(tmp_path / "s")                  # nothing lost either way
    assert again.offset == n == 400
    again.close(snapshot=False)


def test_a_due_checkpoint_is_left_to_the_worker(tmp_path, monkeypatch):
    from onlinekit.serve.log import EventLog

    monkeypatch.setattr(EventLog, "CHECKPOINT_COMMITS", 3)
    svc = _measured(tmp_path / "s", snapshot_every=0)       # one commit so far
    reqs = [Request("learn", [ev]) for ev in make_events(5, seed=11)]
    assert len(svc.process_now(reqs[:1], 1.0)[0]) == 1
    assert len(svc.process_now(reqs[1:2], 1.0)[0]) == 1      # the third commit: a checkpoint is due
    assert svc.process_now(reqs[2:3], 1.0) == ([], reqs[2:3])
    svc.process(reqs[2:3])                                   # commits, then checkpoints
    assert not svc.log.checkpoint_due()
    assert len(svc.process_now(reqs[3:], 1.0)[0]) == 2
    svc.close(snapshot=False)


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="thread priorities: Linux only")
def test_the_snapshot_writer_runs_at_a_lower_priority(tmp_path):
    import os

    svc = LearnerService(tmp_path / "s", "ogd", PARAMS, snapshot_every=0)

    def nice_of(tid: int) -> int:
        with open(f"/proc/self/task/{tid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[16])

    writer_tid = svc._writer.submit(threading.get_native_id).result()
    assert nice_of(writer_tid) == min(19, nice_of(threading.get_native_id()) + 10)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == nice_of(threading.get_native_id())
    svc.close(snapshot=False)
