"""Poison Redis entries: every per-entry failure is dead-lettered with its reason and the
stream keeps flowing (the consumer is also run as the real ``onlinekit consume`` process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from serve_helpers import PARAMS, assert_same_state, make_events, oracle, subprocess_env

from onlinekit.serve.service import LearnerService

pytest.importorskip("redis")

# (fields of the entry, reason the dead letter must give)
POISON = [
    ({b"op": b"\xff\xfe", b"event": b'{"x": [1.0], "y": 1.0}'}, "op: operation b'\\xff\\xfe' is not UTF-8"),
    ({b"\xfeevent": b'{"x": [1.0], "y": 1.0}'}, "fields: field name b'\\xfeevent' is not UTF-8"),
    ({b"event": b"\xff{"}, "body: body is not UTF-8"),
    ({b"op": b"predict", b"event": b"{}"}, "op: operation 'predict' not served"),
    ({b"other": b"1"}, "event: missing required field"),
    # OGD refuses a diverging update itself (Diverged); learners without that guard are refused
    # by the service's own non-finite check ("event: refused: ...", tested in test_serve_guards)
    ({b"event": b'{"x": {"a": 1e200, "b": 1.0}, "y": 1e200}'}, "y: the update would make the weights non-finite"),
    ({b"event": b'{"x": {"a": 1.0}}'}, "y: missing required field"),
]


def _produce(client, events):
    """Good events with every poison kind spread among them; returns the poison entry ids."""
    pipe = client.pipeline()
    order = []
    for i, ev in enumerate(events):
        if i % 10 == 5 and i // 10 < len(POISON):
            pipe.xadd("events", POISON[i // 10][0])
            order.append(i // 10)
        pipe.xadd("events", {"event": json.dumps(ev)})
        order.append(None)
    ids = pipe.execute()
    return {ids[j]: order[j] for j in range(len(ids)) if order[j] is not None}


def _check_dead(client, poison_ids):
    dead = client.xrange("events:dead")
    assert len(dead) == len(poison_ids)
    by_id = {d[b"id"]: d for _, d in dead}
    for eid, k in poison_ids.items():
        reason = by_id[eid][b"error"].decode()
        assert reason.startswith(POISON[k][1]), (reason, POISON[k][1])
        raw = POISON[k][0].get(b"event")
        if raw is not None:
            assert by_id[eid][b"event"] == raw  # the evidence, byte for byte


def test_poison_entries_are_dead_lettered_in_process(tmp_path, redis_url):
    from onlinekit.serve.consumer import RedisConsumer

    url, client = redis_url
    events = make_events(80, seed=51)
    poison_ids = _produce(client, events)
    svc = LearnerService(tmp_path / "state", "ogd", PARAMS)
    cons = RedisConsumer(svc, url, "g", count=16, block_ms=50)
    n = cons.run(idle_timeout=0.3)
    assert (n, cons.applied, cons.dead) == (80 + len(POISON), 80, len(POISON))
    assert client.xpending("events", "g")["pending"] == 0
    _check_dead(client, poison_ids)
    assert_same_state(svc.learner, oracle(events))
    svc.close()


def test_poison_entries_do_not_stop_the_consume_command(tmp_path, redis_url):
    url, client = redis_url
    events = make_events(80, seed=52)
    poison_ids = _produce(client, events)
    state = tmp_path / "state"
    cmd = [sys.executable, "-m", "onlinekit.serve.server_cli", "consume", url, "--group", "g", "--learner", "ogd",
           "-p", f"lr={PARAMS['lr']}", "--state", str(state), "--count", "8", "--idle-timeout", "0.5"]
    r = subprocess.run(cmd, capture_output=True, env=subprocess_env(), timeout=120)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert f"80 applied, 0 already logged, {len(poison_ids)} dead-lettered" in r.stdout.decode()
    assert client.xpending("events", "g")["pending"] == 0
    _check_dead(client, poison_ids)
    svc = LearnerService(state)
    assert_same_state(svc.learner, oracle(events))
    svc.close()
