"""Crash tests: ``kill -9`` the real server (and the Redis consumer) at random points, restart,
and check the state equals an uninterrupted replay of every acknowledged event.

The client sends learn events with idempotency keys from several threads; after a crash it
retries what was not acknowledged (same key), as a real client would. At the end:

* every event is in the log exactly once (none lost, none doubled);
* the recovered learner equals a fresh OGD fed the logged events in log order, and each
  acknowledged response's offset points at that very event.
"""

from __future__ import annotations

import http.client
import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from serve_helpers import PARAMS, assert_same_state, make_events, oracle, start_server  # noqa: E402
from serve_helpers import free_port as _free_port  # noqa: E402
from serve_helpers import subprocess_env as _env  # noqa: E402

from onlinekit.serve.service import LearnerService  # noqa: E402


def _start_server(state: Path, port: int) -> subprocess.Popen:
    return start_server(state, port, "--snapshot-every", "37")


def _post(conn, ev, key):
    body = json.dumps(ev)
    conn.request("POST", "/learn", body=body, headers={"Content-Type": "application/json", "Idempotency-Key": key})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise AssertionError(f"{r.status} {data!r}")
    return json.loads(data)


def _run_fault(tmp_path, n_events: int, n_kills: int, n_threads: int, seed: int):
    rng = random.Random(seed)
    events = make_events(n_events, seed=seed)
    state = tmp_path / "state"
    port = _free_port()
    acked: dict[int, int] = {}  # event index -> offset in the acknowledgement
    lock = threading.Lock()
    todo = list(range(n_events))
    kills = 0
    proc = _start_server(state, port)
    try:
        while todo:
            stop = threading.Event()
            queue = list(todo)

            def worker(stop=stop, queue=queue):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                try:
                    while not stop.is_set():
                        with lock:
                            if not queue:
                                return
                            i = queue.pop(0)
                        try:
                            resp = _post(conn, events[i], f"ev-{i}")
                        except (OSError, http.client.HTTPException):
                            return  # server gone: i stays unacknowledged
                        with lock:
                            acked[i] = resp["offset"]
                finally:
                    conn.close()

            threads = [threading.Thread(target=worker) for _ in range(n_threads)]
            for t in threads:
                t.start()
            if kills < n_kills:
                # kill at a random point while requests are in flight: after a random number
                # of further acknowledgements
                target = len(acked) + rng.randint(1, max(1, len(todo) // (n_kills - kills + 1)))
                deadline = time.monotonic() + 60
                while len(acked) < target and time.monotonic() < deadline:
                    time.sleep(0.002)
                assert len(acked) < n_events, "the kill came too late to hit in-flight requests"
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                stop.set()
            for t in threads:
                t.join(60)
            todo = [i for i in range(n_events) if i not in acked]
            if proc.poll() is not None:
                proc = _start_server(state, port)
        assert kills == n_kills
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    svc = LearnerService(state)
    try:
        logged = [(off, body) for off, _, body in svc.log.read(0)]
        # none lost, none doubled
        assert len(logged) == n_events == svc.offset
        index = {json.dumps(ev, sort_keys=True): i for i, ev in enumerate(events)}
        order = [index[json.dumps(body, sort_keys=True)] for _, body in logged]
        assert sorted(order) == list(range(n_events))
        # each acknowledgement names the offset of its own event
        assert all(order[off] == i for i, off in acked.items())
        # state = uninterrupted replay of the acknowledged events in log order
        assert_same_state(svc.learner, oracle([events[i] for i in order]))
    finally:
        svc.close(snapshot=False)
    return kills


def test_kill9_server_fast(tmp_path):
    _run_fault(tmp_path, n_events=400, n_kills=2, n_threads=4, seed=11)


@pytest.mark.slow
def test_kill9_server_many(tmp_path):
    _run_fault(tmp_path, n_events=3000, n_kills=10, n_threads=8, seed=12)


# -- Redis consumer ------------------------------------------------------------------------------
# the redis_url fixture lives in conftest.py (shared with the poison-entry tests)


def _produce(client, events, bad_every=0):
    ids = []
    pipe = client.pipeline()
    for i, ev in enumerate(events):
        payload = json.dumps(ev)
        if bad_every and i % bad_every == bad_every - 1:
            pipe.xadd("events", {"event": b'{"x": {"a": NaN}, "y": 1}'})
        pipe.xadd("events", {"event": payload})
    for r in pipe.execute():
        ids.append(r)
    return ids


def test_consumer_in_process(tmp_path, redis_url):
    from onlinekit.serve.consumer import RedisConsumer

    url, client = redis_url
    events = make_events(300, seed=21)
    _produce(client, events, bad_every=50)
    svc = LearnerService(tmp_path / "state", "ogd", PARAMS)
    cons = RedisConsumer(svc, url, "g", count=64, block_ms=50)
    n = cons.run(idle_timeout=0.3)
    assert n == 306 and cons.applied == 300 and cons.dead == 6
    assert client.xlen("events:dead") == 6
    assert client.xpending("events", "g")["pending"] == 0
    assert_same_state(svc.learner, oracle(events))
    # entries handled again (as after a crash before XACK) are not applied twice
    entries = client.xrange("events")
    assert cons.handle(entries) == len(entries) and cons.duplicates == 300
    assert svc.offset == 300
    svc.close()


def _consume_cmd(url, state):
    return [sys.executable, "-m", "onlinekit.serve.server_cli", "consume", url, "--group", "g", "--learner", "ogd",
            "-p", f"lr={PARAMS['lr']}", "--state", str(state), "--count", "16", "--snapshot-every", "53",
            "--idle-timeout", "1.0"]


def _logged(state: Path) -> int:
    """Committed events in a running consumer's log (a concurrent WAL reader)."""
    import sqlite3

    db = state / "events.db"
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute("SELECT MAX(offset) FROM events").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0
    return 0 if row[0] is None else row[0] + 1


def _run_consumer_fault(tmp_path, redis_url, n_events, n_kills, seed):
    url, client = redis_url
    rng = random.Random(seed)
    events = make_events(n_events, seed=seed)
    _produce(client, events)  # XADD returned: all of them are acknowledged by the broker
    state = tmp_path / "state"
    kills = 0
    errfile = tmp_path / "consumer.err"
    for _ in range(n_kills + 20):
        with open(errfile, "wb") as err:
            proc = subprocess.Popen(_consume_cmd(url, state), stdout=subprocess.DEVNULL, stderr=err, env=_env())
        if kills < n_kills:
            # kill mid-stream: once the log has grown by a random number of entries
            start = _logged(state)
            target = start + rng.randint(1, max(1, (n_events - start) // 2))
            deadline = time.monotonic() + 60
            while _logged(state) < target and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                assert _logged(state) < n_events
            proc.wait()
            continue
        proc.wait(timeout=120)
        assert proc.returncode == 0, errfile.read_text()[-3000:]
        if client.xpending("events", "g")["pending"] == 0:
            break
    svc = LearnerService(state)
    try:
        assert svc.offset == n_events  # none lost, none doubled
        assert client.xpending("events", "g")["pending"] == 0
        assert_same_state(svc.learner, oracle(events))  # stream order = log order
    finally:
        svc.close(snapshot=False)
    return kills


def test_kill9_consumer_fast(tmp_path, redis_url):
    assert _run_consumer_fault(tmp_path, redis_url, n_events=3000, n_kills=2, seed=31) >= 1


@pytest.mark.slow
def test_kill9_consumer_many(tmp_path, redis_url):
    assert _run_consumer_fault(tmp_path, redis_url, n_events=20000, n_kills=8, seed=32) >= 4
