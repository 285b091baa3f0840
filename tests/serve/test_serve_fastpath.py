"""The fast paths of the service's request handling against the strict reference paths.

* :func:`parse_events` (span-aware batch parse, the client's own event text logged, the
  checked-at-once learn shape) against ``parse_json`` + ``validate_event``/``validate_batch``
  + ``encode_events``: same events, same refusals, and logged texts that decode to the events;
* the raw-ASGI hot routes against the same app reached through Starlette (a mount point sends
  every request through the Starlette routes): same statuses, bodies, headers and final state.
"""

from __future__ import annotations

import json

import pytest

from onlinekit.serve._schema import Limits, RequestError, encode_events, parse_events, parse_json, validate_batch, validate_event

from serve_helpers import PARAMS, assert_same_state, make_events, route_requests

hyp = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
from hypothesis import HealthCheck, given, settings  # noqa: E402

LIMITS = Limits(max_batch=6, max_features=5)


def _strict(op, raw, batch):
    """The reference: strict parse, then validation, then the normalised events encoded."""
    doc = parse_json(raw)
    evs = validate_batch(op, doc, LIMITS) if batch else [validate_event(op, doc, LIMITS)]
    return evs, encode_events(evs)


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except RequestError as err:
        return "refused", (err.status, err.field)


_num = st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64), st.integers(-2**60, 2**60),
                 st.booleans(), st.none(), st.just("1"), st.just(1e308))
_x = st.one_of(st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e", "f"]), _num, max_size=6),
               st.lists(_num, max_size=6), _num)
_learn = st.fixed_dictionaries({"x": _x, "y": _num},
                               optional={"groups": st.lists(st.booleans(), max_size=2), "w": _num})
_float = st.floats(allow_nan=False, allow_infinity=False, width=64)
_plain = st.fixed_dictionaries({  # the common shape (all-float features), with any target
    "x": st.one_of(st.lists(_float, min_size=1, max_size=6),
                   st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e", "f"]), _float, min_size=1, max_size=6)),
    "y": _num})
_act = st.fixed_dictionaries({}, optional={"obs": st.one_of(_num, st.lists(_num, max_size=3))})
_fmt = st.sampled_from([(",", ":"), (", ", ": "), (" , ", " : "), (",\n", ":\t")])


def _dump(doc, seps, indent, reorder):
    if reorder and isinstance(doc, dict):
        doc = dict(reversed(list(doc.items())))
    return json.dumps(doc, separators=seps, indent=indent, allow_nan=True).encode()


@settings(max_examples=300, deadline=None)
@given(evs=st.lists(st.one_of(_learn, _plain), min_size=0, max_size=8),
       seps=_fmt, indent=st.sampled_from([None, 0, 2]), reorder=st.booleans(), pad=st.sampled_from(["", " ", "\n\t "]))
def test_parse_events_equals_the_strict_path(evs, seps, indent, reorder, pad):
    for batch, doc in ((True, {"events": evs}), (False, evs[0] if evs else {})):
        raw = pad.encode() + _dump(doc, seps, indent, reorder) + pad.encode()
        want = _outcome(_strict, "learn", raw, batch)
        got = _outcome(parse_events, "learn", raw, LIMITS, batch)
        if want[0] == "refused":
            assert got == want, raw
            continue
        assert got[0] == "ok", (raw, got)
        (w_evs, _), (g_evs, g_texts) = want[1], got[1]
        assert g_evs == w_evs
        assert [type(v) for e in g_evs for v in e.values()] == [type(v) for e in w_evs for v in e.values()]
        decoded = [json.loads(t) for t in g_texts]
        assert decoded == w_evs and len(g_texts) == len(w_evs)
        # the numbers of the logged text are the very floats/ints of the request
        assert json.dumps(decoded, sort_keys=True) == json.dumps(w_evs, sort_keys=True)


@settings(max_examples=150, deadline=None)
@given(evs=st.lists(_act, min_size=1, max_size=4), seps=_fmt)
def test_parse_events_adds_defaults_like_the_strict_path(evs, seps):
    raw = _dump({"events": evs}, seps, None, False)
    want = _outcome(_strict, "act", raw, True)
    got = _outcome(parse_events, "act", raw, LIMITS, True)
    if want[0] == "refused":
        assert got == want
        return
    assert got[1][0] == want[1][0]
    assert [json.loads(t) for t in got[1][1]] == want[1][0]  # {"obs": null} added where it was left out


@pytest.mark.parametrize("raw", [
    b'{"events": [{"x": [1.0], "y": 1.0}], "events": [{"x": [2.0], "y": 2.0}]}',  # duplicate top key
    b'{"events": [{"x": [1.0], "y": 1.0},]}',                                      # trailing comma
    b'{"events": [{"x": [1.0], "y": 1.0}] ',                                        # unclosed
    b'{"events": [{"x": [1.0], "y": 1.0}]} x',                                      # trailing text
    b'{"events": [{"x": [1.0], "y": 1.0} {"x": [1.0], "y": 1.0}]}',                # missing comma
    b'{"events": [{"x": [1.0], "y": NaN}]}',                                        # NaN literal
    b'{"events": [{"x": {"a": 1, "a": 2}, "y": 1}]}',                               # duplicate inner key
    b'{"events": []}',
    b'{"\\u0065vents": [{"x": [1.0], "y": 1.0}]}',                                  # escaped key: strict path
    b'{"events": [{"x": [1.0], "y": 1.0}], "more": 1}',
    b'{"events": [{"x": [1.0], "x": [2.0], "y": 1.0}]}',                           # repeated key, array events
    b'{"events": [{"x": [1.0], "y": 1.0, "y": 2.0}, {"x": [1.0], "y": 1.0}]}',
    b'{"events": [{"x": [1.0], "y": 1.0}, {"x": [2.0], "\\u0079": 3.0}]}',          # escaped key: same event
    b'{"events": [{"x": [1.0, -0.0, 1e-320], "y": -0}]}',
    b'{"events": [{"x": [1.0], "y": 1.0}, {"x": [2.0], "y": Infinity}]}',
    b'{"events": [' + b'[' * 3000 + b']' * 3000 + b']}',                            # nested too deeply
    b'{"events": [{"x": {"a": 1.0, "a": 2.0}, "y": 1.0}]}',                          # repeated key, all floats
    b'{"events": [{"x": {"a": 1.0}, "y": 1.0}, {"x": {"b": 1.0, "c": 2.0, "b": 3.0}, "y": 2.0}]}',
    b'{"events": [{"x": [1.0, 2.0], "y": 1.0, "y": 2.0}]}',
    b'{"events": [{"x": {"a\\"b": 1.0}, "y": 1.0}]}',                               # a quote inside a key
    b'{"events": [{"x": {"a\\"": 1.0, "a\\"": 2.0}, "y": 1.0}]}',
])
def test_odd_batch_bodies_get_the_strict_answer(raw):
    want = _outcome(_strict, "learn", raw, True)
    got = _outcome(parse_events, "learn", raw, LIMITS, True)
    assert got[0] == want[0]
    if want[0] == "refused":
        assert got == want
    else:
        assert got[1][0] == want[1][0] and [json.loads(t) for t in got[1][1]] == want[1][0]


def test_a_broken_splitter_is_caught(monkeypatch):
    """Sabotage: a splitter that drops the last character of each event's text must fail the check."""
    import onlinekit.serve._schema as schema

    real = schema._split_batch

    def broken(text, scan=schema._SCAN):
        out = real(text, scan)
        return None if out is None else (out[0], [(s, e - 1) for s, e in out[1]])

    monkeypatch.setattr(schema, "_split_batch", broken)
    raw = json.dumps({"events": [{"x": [1.0, 2.0], "y": 3.0}]}).encode()
    _, texts = parse_events("learn", raw, LIMITS, True)
    with pytest.raises(json.JSONDecodeError):
        [json.loads(t) for t in texts]


def test_a_key_count_that_misses_repeats_is_caught(monkeypatch):
    """Sabotage: without the key count, a batch repeating a key inside an event is taken
    as its last value; the strict path refuses it, and the comparison sees the difference."""
    import onlinekit.serve._schema as schema

    raw = b'{"events": [{"x": {"a": 1.0, "a": 2.0}, "y": 1.0}]}'
    want = _outcome(_strict, "learn", raw, True)
    assert want == ("refused", (400, "body"))
    monkeypatch.setattr(schema, "_keys_unique", lambda text, docs: True)
    assert _outcome(parse_events, "learn", raw, LIMITS, True) != want


# -- the hot routes against the Starlette routes ------------------------------------------------------


@pytest.mark.parametrize("inline_budget", [None, 0.0])
def test_hot_routes_answer_as_the_starlette_routes(tmp_path, inline_budget):
    """Also with every commit and read in a worker thread (``inline_budget=0``)."""
    pytest.importorskip("starlette")
    pytest.importorskip("httpx2", reason="starlette's TestClient needs httpx2")
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from onlinekit.serve import LearnerService, create_app

    a = LearnerService(tmp_path / "a", "ogd", PARAMS, snapshot_every=0)
    b = LearnerService(tmp_path / "b", "ogd", PARAMS, snapshot_every=0)
    hot = create_app(a, allowed_hosts=["testserver"], inline_budget=inline_budget)
    mounted = Starlette(routes=[Mount("/m", create_app(b, allowed_hosts=["testserver"], inline_budget=0.0))])
    seen = []
    with TestClient(hot) as ca, TestClient(mounted) as cb:
        for path, body, headers in route_requests():
            ra = ca.post(path, content=body, headers=headers)
            rb = cb.post("/m" + path, content=body, headers=headers)
            assert (ra.status_code, ra.json()) == (rb.status_code, rb.json()), path
            assert ra.headers.get("idempotent-replayed") == rb.headers.get("idempotent-replayed")
            assert ra.headers["content-type"] == rb.headers["content-type"]
            seen.append(ra.status_code)
        assert ca.post("/learn", content=b"{}", headers={"Host": "evil.example", "Content-Type": "application/json"}
                       ).status_code == 403
    assert {200, 400, 403, 404, 409, 415, 422} <= set(seen)
    assert a.offset == b.offset and a.log.count_keys() == b.log.count_keys() == 2
    assert_same_state(a.learner, b.learner)
    a.close(snapshot=False)
    b.close(snapshot=False)


def test_hot_play_and_update_answer_as_the_starlette_routes(tmp_path):
    """The experts routes (/play, /update and their batches) on the hot path and through a mount."""
    pytest.importorskip("starlette")
    pytest.importorskip("httpx2", reason="starlette's TestClient needs httpx2")
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from onlinekit.serve import LearnerService, create_app

    params = {"n_experts": 3}
    a = LearnerService(tmp_path / "a", "hedge", params, snapshot_every=0)
    b = LearnerService(tmp_path / "b", "hedge", params, snapshot_every=0)
    j = {"Content-Type": "application/json"}
    calls = [
        ("/play", {}, j),
        ("/update", {"losses": [0.2, 0.5, 0.9]}, {**j, "Idempotency-Key": "u1"}),
        ("/update", {"losses": [0.2, 0.5, 0.9]}, {**j, "Idempotency-Key": "u1"}),    # replayed
        ("/update", {"losses": [0.1, 0.5, 0.9]}, {**j, "Idempotency-Key": "u1"}),    # 409
        ("/play", {"awake": [1, 0, 1]}, j),
        ("/update/batch", {"events": [{"losses": [0.3, None, 0.1], "awake": [1, 0, 1]},
                                      {"losses": [0.0, 1.0, 0.5]}]}, j),
        ("/update", {"losses": [0.1, 0.2]}, j),                                         # 422 length
        ("/play/batch", {"events": [{}, {"awake": [0, 1, 1]}]}, j),
        ("/learn", {"x": [1.0], "y": 1.0}, j),                                          # 404 for experts
    ]
    hot = create_app(a)
    assert {"/play", "/play/batch", "/update", "/update/batch"} <= set(hot._hot) and "/learn" not in hot._hot
    with TestClient(hot) as ca, TestClient(Starlette(routes=[Mount("/m", create_app(b))])) as cb:
        statuses = []
        for path, body, headers in calls:
            ra = ca.post(path, content=json.dumps(body).encode(), headers=headers)
            rb = cb.post("/m" + path, content=json.dumps(body).encode(), headers=headers)
            assert (ra.status_code, ra.json()) == (rb.status_code, rb.json()), path
            assert ra.headers.get("idempotent-replayed") == rb.headers.get("idempotent-replayed")
            statuses.append(ra.status_code)
    assert statuses == [200, 200, 200, 409, 200, 200, 422, 200, 404]
    assert a.offset == b.offset == 3
    assert_same_state(a.learner, b.learner)
    a.close(snapshot=False)
    b.close(snapshot=False)


# -- the edge's one write per response ---------------------------------------------------------------
class _Recorder:
    def __init__(self):
        self.writes, self.closed = [], False

    def write(self, data):
        assert not self.closed
        self.writes.append(bytes(data))

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 1) if name == "peername" else default


def test_one_write_per_response_keeps_every_byte_in_order():
    import asyncio

    from onlinekit.serve.http_edge import _OneWritePerResponse

    head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"

    async def main():
        rec = _Recorder()
        out = _OneWritePerResponse(rec, asyncio.get_running_loop())
        out.write(head)
        out.write(b"{}")                      # head and body together: one write
        assert rec.writes == [head + b"{}"]
        out.write(head)                       # a head alone (HEAD request): sent at the next iteration
        assert rec.writes == [head + b"{}"]
        await asyncio.sleep(0)
        assert rec.writes == [head + b"{}", head]
        out.write(b"chunk")                   # not a head: straight through
        out.write(head)
        out.close()                           # close sends what is held first
        assert rec.writes == [head + b"{}", head, b"chunk", head] and rec.closed
        assert out.get_extra_info("peername") == ("127.0.0.1", 1)
        await asyncio.sleep(0)                # the cancelled flush does not write again
        assert len(rec.writes) == 4

    asyncio.run(main())


# -- the log's held rows ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_held_log_rows_match_a_plain_model(tmp_path, seed):
    """Random appends, refusals (discard_from), recorded entropy, commits and rollbacks: the log's
    table, read by a second connection, always equals a plain list of what was committed."""
    import random
    import sqlite3

    from onlinekit.serve.log import EventLog

    rng = random.Random(seed)
    log = EventLog(tmp_path / "events.db")
    committed: list[tuple] = []
    for _ in range(60):
        log.begin()
        tx: list[list] = []
        for _ in range(rng.randint(0, 6)):
            r = rng.random()
            if r < 0.6 or not tx:
                n = rng.randint(1, 4)
                texts = [json.dumps({"i": rng.randint(0, 999)}) for _ in range(n)]
                first = log.append_texts("learn", texts)
                assert first == len(committed) + len(tx)
                tx += [[first + i, "learn", t, None] for i, t in enumerate(texts)]
            elif r < 0.75:
                off = rng.randrange(len(committed), len(committed) + len(tx))
                log.discard_from(off)
                del tx[off - len(committed):]
            elif r < 0.9:
                off = rng.randrange(len(committed), len(committed) + len(tx))
                blob = bytes([rng.randrange(256)]) * 3
                log.set_entropy(off, blob)
                tx[off - len(committed)][3] = blob
            else:  # a read inside the transaction sees its own rows (and writes the held ones)
                got = [(o, op, json.dumps(b)) for o, op, b in log.read(len(committed))]
                assert got == [(o, op, json.dumps(json.loads(t))) for o, op, t, _ in tx]
        if rng.random() < 0.8:
            log.commit()
            committed += [tuple(r) for r in tx]
        else:
            log.rollback()
        assert log.next_offset == log.committed_offset == len(committed)
        with sqlite3.connect(tmp_path / "events.db") as other:
            rows = other.execute("SELECT offset, op, body, entropy FROM events ORDER BY offset").fetchall()
        assert rows == committed
    log.close()


def test_fingerprint_is_the_stored_definition():
    """Fingerprints already stored in logs stay valid: sha256(op [+ "/batch"]), then for each
    text a newline and the text -- computed here the plain way."""
    import hashlib
    import random

    from onlinekit.serve._schema import fingerprint

    def reference(op, texts, batch):
        h = hashlib.sha256(op.encode() + (b"/batch" if batch else b""))
        for t in texts:
            h.update(b"\n")
            h.update(t.encode())
        return h.hexdigest()

    rng = random.Random(0)
    for _ in range(200):
        texts = [json.dumps({"x": [rng.random()], "s": "\u00e9\n" * rng.randint(0, 2)}, ensure_ascii=rng.random() < 0.5)
                 for _ in range(rng.randint(0, 5))]
        batch = rng.random() < 0.5
        assert fingerprint("learn", texts, batch) == reference("learn", texts, batch)
    assert fingerprint("act", ["{}"]) != fingerprint("act", ["{}"], batch=True)
