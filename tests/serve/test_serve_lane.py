"""The HTTP fast lane (the operations' routes answered from the parser's callbacks, no ASGI
task per request) against the ASGI/Starlette reference, on a real uvicorn server.

The server runs in a thread of this process (uvicorn with :func:`protocol_class`), so the
tests can count what went through the lane and through ``process_now``; the subprocess
tests (test_serve_edge, test_serve_fault, test_serve_restart) drive the same code through
``onlinekit serve``. Checks: same statuses, bodies and headers as the Starlette routes;
pipelined requests answered in order with reads seeing every earlier write; bodies in pieces,
chunked, too large, too slow or cut off; ``Connection: close`` and HTTP/1.0; keep-alive and
the head deadline with the connection's one lazy timer (and a sabotaged timer caught).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import numpy as np
import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from onlinekit.serve import LearnerService, create_app  # noqa: E402
from onlinekit.serve._schema import Limits  # noqa: E402
from onlinekit.serve.http_edge import protocol_class  # noqa: E402

from serve_helpers import (  # noqa: E402
    PARAMS, assert_same_state, count_inline, free_port, make_events, oracle, route_requests)

J = {"Content-Type": "application/json"}


@contextlib.contextmanager
def live(app, *, keep_alive: float = 5.0, header_timeout: float = 10.0, max_connections: int = 100,
         plain: bool = False):
    """uvicorn serving ``app`` on a free loopback port in a thread; yields the port. ``plain``:
    the protocol class without the fast lane and lazy timer (what older uvicorns get)."""
    import uvicorn

    from onlinekit.serve.http_edge import _httptools_class

    if plain:
        cls = _httptools_class(lane=False)
        cls.header_timeout, cls.max_header_bytes = header_timeout, 16384
    else:
        cls = protocol_class(header_timeout, 16384)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                            lifespan="on", http=cls,
                            limit_concurrency=max_connections, proxy_headers=False, timeout_keep_alive=keep_alive)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


def request(path: str, body: bytes = b"", headers: dict | None = None, method: str = "POST",
            version: str = "1.1") -> bytes:
    h = {"Host": "127.0.0.1", **(headers if headers is not None else J)}
    if method == "POST" and "Transfer-Encoding" not in h:
        h["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/{version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode("latin-1") + body


class Reader:
    """Reads HTTP/1.1 responses (Content-Length bodies) off one socket, in order."""

    def __init__(self, sock: socket.socket):
        self.sock, self.buf = sock, b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def response(self) -> tuple[int, dict, bytes]:
        while b"\r\n\r\n" not in self.buf:
            assert self._fill(), f"connection closed before a response (got {self.buf!r})"
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for ln in lines[1:]:
            k, v = ln.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", 0))
        if status == 100:
            return status, headers, b""
        while len(self.buf) < n:
            assert self._fill(), "connection closed inside a body"
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self, timeout: float = 10.0) -> bool:
        """True once the server closes the connection (waits up to ``timeout``)."""
        self.sock.settimeout(timeout)
        try:
            return not self._fill() and True
        except TimeoutError:
            return False


def connect(port: int) -> tuple[socket.socket, Reader]:
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    return s, Reader(s)


def counted(app):
    """Count the requests the app's fast lane begins (wrapping ``FastLane.begin``)."""
    lane = app.fast_lane
    seen = []
    begin = lane.begin

    def counting(route, *args):
        seen.append(route.path)
        return begin(route, *args)

    lane.begin = counting
    return seen


def test_lane_answers_as_the_starlette_routes(tmp_path):
    """Oracle: the same requests through a Starlette mount (the framework's routing and
    request objects) of a second service: same answers, same final state and log."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    a = LearnerService(tmp_path / "a", "ogd", PARAMS, snapshot_every=0)
    b = LearnerService(tmp_path / "b", "ogd", PARAMS, snapshot_every=0)
    app = create_app(a, allowed_hosts=["127.0.0.1"])
    lane_paths = counted(app)
    inline = count_inline(a)
    reqs = list(route_requests())
    with live(app) as port, TestClient(Starlette(routes=[Mount("/m", create_app(b, allowed_hosts=["testserver"]))])) as cb:
        sock, reader = connect(port)
        with sock:
            for path, body, headers in reqs:
                sock.sendall(request(path, body, headers))
                status, head, data = reader.response()
                rb = cb.post("/m" + path, content=body, headers=headers)
                assert (status, json.loads(data)) == (rb.status_code, rb.json()), path
                assert head.get("idempotent-replayed") == rb.headers.get("idempotent-replayed")
                assert head["content-type"] == rb.headers["content-type"] == "application/json"
            sock.sendall(request("/learn", b"{}", {**J, "Host": "evil.example"}))
            assert reader.response()[0] == 403
    # every operation of this learner went through the lane (/act is not an OGD route)
    assert lane_paths == [p for p, _, _ in reqs if p != "/act"] + ["/learn"]
    assert sum(inline) > 0  # and some groups were committed on the event loop itself
    assert a.offset == b.offset and a.log.count_keys() == b.log.count_keys() == 2
    assert_same_state(a.learner, b.learner)
    a.close(snapshot=False)
    b.close(snapshot=False)


@pytest.mark.parametrize("plain", [False, True])
def test_pipelined_requests_are_answered_in_order(tmp_path, plain):
    """Requests sent in one write, fast-lane and framework routes mixed: answered in order,
    each read seeing every write before it (oracle: a plain OGD replay). Also with the plain
    protocol class (no fast lane)."""
    evs = make_events(4, seed=7)
    svc = LearnerService(tmp_path / "s", "ogd", PARAMS, snapshot_every=0)
    app = create_app(svc, allowed_hosts=["127.0.0.1"])
    burst = [
        request("/learn", json.dumps(evs[0]).encode(), {**J, "Idempotency-Key": "p1"}),
        request("/health", method="GET", headers={}),
        request("/learn/batch", json.dumps({"events": evs[1:3]}).encode()),
        request("/predict", json.dumps({"x": evs[3]["x"]}).encode()),
        request("/nope", b"{}"),
        request("/learn", json.dumps(evs[3]).encode(), {"Content-Type": "text/plain"}),
        request("/learn", json.dumps(evs[0]).encode(), {**J, "Idempotency-Key": "p1"}),
        request("/learn", json.dumps(evs[3]).encode()),
        request("/health", method="GET", headers={}),
    ]
    with live(app, plain=plain) as port:
        sock, reader = connect(port)
        with sock:
            sock.sendall(b"".join(burst))
            got = [reader.response() for _ in burst]
    statuses = [g[0] for g in got]
    bodies = [json.loads(g[2]) for g in got]
    assert statuses == [200, 200, 200, 200, 404, 415, 200, 200, 200]
    assert bodies[0] == {"offset": 0, "count": 1}
    assert bodies[1]["offset"] == 1                       # the write before it is committed
    assert bodies[2] == {"offset": 1, "count": 2}
    want = oracle(evs[:3]).predict_one(evs[3]["x"])
    assert bodies[3]["prediction"] == want                # sees all three events, exactly
    assert got[6][1].get("idempotent-replayed") == "true" and bodies[6] == bodies[0]
    assert bodies[7] == {"offset": 3, "count": 1} and bodies[8]["offset"] == 4
    assert_same_state(svc.learner, oracle(evs))
    svc.close(snapshot=False)


@pytest.mark.parametrize("plain", [False, True])
def test_bodies_in_pieces_chunked_too_large_and_cut_off(tmp_path, plain):
    evs = make_events(3, seed=8)
    svc = LearnerService(tmp_path / "s", "ogd", PARAMS, snapshot_every=0)
    app = create_app(svc, allowed_hosts=["127.0.0.1"], limits=Limits(max_body=400))
    seen = counted(app)
    with live(app, plain=plain) as port:
        sock, reader = connect(port)
        with sock:
            body = json.dumps(evs[0]).encode()
            raw = request("/learn", body)
            head_end = raw.index(b"\r\n\r\n") + 4
            for part in (raw[:head_end], body[:5], body[5:20], body[20:]):  # the body in pieces
                sock.sendall(part)
                time.sleep(0.05)
            assert reader.response()[0] == 200
            # chunked transfer coding
            body = json.dumps(evs[1]).encode()
            chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
            sock.sendall(request("/learn", chunks, {**J, "Transfer-Encoding": "chunked"}))
            status, _, data = reader.response()
            assert (status, json.loads(data)) == (200, {"offset": 1, "count": 1})
            # over max_body without a Content-Length: 413 once past it; the connection goes on
            big = json.dumps({"x": {f"f{i}": 0.5 for i in range(60)}, "y": 1.0}).encode()
            assert len(big) > 400
            sock.sendall(request("/learn", b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big),
                                 {**J, "Transfer-Encoding": "chunked"}))
            status, _, data = reader.response()
            assert status == 413 and json.loads(data)["error"]["field"] == "body"
            # and with a Content-Length over it: refused from the head
            sock.sendall(request("/learn", big))
            assert reader.response()[0] == 413
            sock.sendall(request("/learn", json.dumps(evs[2]).encode()))
            status, _, data = reader.response()
            assert (status, json.loads(data)) == (200, {"offset": 2, "count": 1})
        # a client that goes away mid-body: nothing applied
        sock, reader = connect(port)
        raw = request("/learn", json.dumps(evs[0]).encode())
        sock.sendall(raw[:-10])
        time.sleep(0.1)
        sock.close()
        time.sleep(0.1)
        sock, reader = connect(port)
        with sock:
            sock.sendall(request("/health", method="GET", headers={}))
            assert json.loads(reader.response()[2])["offset"] == 3
    assert seen == ([] if plain else ["/learn"] * 6)
    assert_same_state(svc.learner, oracle(evs))
    svc.close(snapshot=False)


def test_body_deadline_on_the_lane(tmp_path):
    svc = LearnerService(tmp_path / "s", "ogd", PARAMS, snapshot_every=0)
    app = create_app(svc, allowed_hosts=["127.0.0.1"], body_timeout=0.3)
    with live(app) as port:
        sock, reader = connect(port)
        with sock:
            sock.sendall(request("/learn", b'{"x": [1.0], "y": 1.0}')[:-8])  # the body never ends
            status, _, data = reader.response()
            assert status == 408 and json.loads(data)["error"]["field"] == "body"
    assert svc.offset == 0
    svc.close(snapshot=False)


def test_connection_close_http10_and_expect_continue(tmp_path):
    svc = LearnerService(tmp_path / "s", "ogd", PARAMS, snapshot_every=0)
    app = create_app(svc, allowed_hosts=["127.0.0.1"])
    body = b'{"x": [1.0, 2.0], "y": 1.0}'
    with live(app) as port:
        sock, reader = connect(port)
        with sock:
            sock.sendall(request("/learn", body, {**J, "Connection": "close"}))
            status, head, _ = reader.response()
            assert status == 200 and head.get("connection") == "close" and reader.closed()
        sock, reader = connect(port)
        with sock:
            sock.sendall(request("/learn", body, version="1.0"))
            assert reader.response()[0] == 200 and reader.closed()
        sock, reader = connect(port)
        with sock:  # Expect: 100-continue takes the framework path; same answer
            raw = request("/learn", body, {**J, "Expect": "100-continue"})
            sock.sendall(raw[:-len(body)])
            assert reader.response()[0] == 100
            sock.sendall(body)
            status, _, data = reader.response()
            assert (status, json.loads(data)) == (200, {"offset": 2, "count": 1})
    svc.close(snapshot=False)


def _paced_requests(port: int, n: int, gap: float) -> tuple[int, bool]:
    """``n`` requests ``gap`` seconds apart on one connection: ``(answered, closed early)``."""
    sock, reader = connect(port)
    answered = 0
    with sock:
        for i in range(n):
            try:
                sock.sendall(request("/predict", b'{"x": [1.0]}'))
                if reader.response()[0] == 200:
                    answered += 1
            except (AssertionError, OSError):
                return answered, True
            time.sleep(gap)
    return answered, False


def test_keep_alive_counts_from_the_last_response(tmp_path):
    """A connection busy more often than the keep-alive period stays open well past it; an
    idle one is closed after it. Sabotage: a timer that never moves its start (the deadline
    counted from the connection's opening) closes the busy connection, and the check sees it."""
    svc = LearnerService(tmp_path / "s", "ogd", PARAMS, snapshot_every=0)
    with live(create_app(svc, allowed_hosts=["127.0.0.1"]), keep_alive=2.0, header_timeout=3.0) as port:
        answered, closed = _paced_requests(port, 8, 0.4)  # 3.2 s on one connection, gaps of 0.4 s
        assert (answered, closed) == (8, False)
        sock, reader = connect(port)
        with sock:
            sock.sendall(request("/predict", b'{"x": [1.0]}'))
            assert reader.response()[0] == 200
            assert reader.closed(timeout=10)  # idle after its response: closed
        sock, reader = connect(port)
        with sock:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # a head never finished
            assert reader.closed(timeout=10)

    cls = protocol_class(3.0, 16384)
    real = cls.on_response_complete

    def frozen(self):
        idle_at = self._idle_at
        real(self)
        self._idle_at = idle_at  # the sabotage: the deadline never moves

    cls.on_response_complete = frozen
    import uvicorn

    port = free_port()
    app = create_app(svc, allowed_hosts=["127.0.0.1"])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           http=cls, timeout_keep_alive=2.0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        answered, closed = _paced_requests(port, 8, 0.4)
        assert closed and answered < 8
    finally:
        server.should_exit = True
        thread.join(30)
    svc.close(snapshot=False)


def test_predictions_on_the_lane_match_the_model(tmp_path):
    """Reads answered on the loop (``read_now``) and in workers give the model's own numbers."""
    evs = make_events(30, seed=9)
    svc = LearnerService(tmp_path / "s", "ogd", PARAMS, snapshot_every=0)
    app = create_app(svc, allowed_hosts=["127.0.0.1"])
    with live(app) as port:
        sock, reader = connect(port)
        with sock:
            sock.sendall(request("/learn/batch", json.dumps({"events": evs}).encode()))
            assert reader.response()[0] == 200
            model = oracle(evs)
            for ev in evs[:10]:
                sock.sendall(request("/predict", json.dumps({"x": ev["x"]}).encode()))
                assert json.loads(reader.response()[2])["prediction"] == model.predict_one(ev["x"])
            sock.sendall(request("/predict/batch", json.dumps({"events": [{"x": e["x"]} for e in evs]}).encode()))
            got = [r["prediction"] for r in json.loads(reader.response()[2])["results"]]
    assert np.array_equal(got, [model.predict_one(e["x"]) for e in evs])
    svc.close(snapshot=False)


@pytest.mark.parametrize("budget", ["0", "5"])
def test_the_served_cli_answers_alike_with_and_without_inline_work(tmp_path, budget):
    """``onlinekit serve --inline-budget 0`` (every commit and read in a worker) and the
    default: the same answers, the model of an uninterrupted replay (the oracle)."""
    from serve_helpers import call, start_server

    evs = make_events(12, seed=12)
    port = free_port()
    proc = start_server(tmp_path / "state", port, "--inline-budget", budget)
    try:
        for i, ev in enumerate(evs[:6]):
            assert call(port, "POST", "/learn", ev, {"Idempotency-Key": f"k{i}"}) == (200, {"offset": i, "count": 1})
        assert call(port, "POST", "/learn", evs[0], {"Idempotency-Key": "k0"})[1] == {"offset": 0, "count": 1}
        assert call(port, "POST", "/learn/batch", {"events": evs[6:]}) == (200, {"offset": 6, "count": 6})
        status, body = call(port, "POST", "/predict", {"x": evs[0]["x"]})
        assert status == 200 and body["prediction"] == oracle(evs).predict_one(evs[0]["x"])
    finally:
        proc.terminate()
        proc.wait(60)


def test_tokens_and_methods_on_the_lane(tmp_path):
    """Bearer token checks answered by the lane as by the framework routes (401 with the
    challenge header); other methods and targets with a query string go through ASGI."""
    svc = LearnerService(tmp_path / "s", "ogd", PARAMS, snapshot_every=0)
    token = "t" * 24
    app = create_app(svc, token=token, allowed_hosts=["127.0.0.1"])
    seen = counted(app)
    body = b'{"x": [1.0], "y": 1.0}'
    with live(app) as port:
        sock, reader = connect(port)
        with sock:
            sock.sendall(request("/learn", body))
            status, head, data = reader.response()
            assert status == 401 and head["www-authenticate"] == 'Bearer realm="onlinekit"'
            assert json.loads(data)["error"]["field"] == "Authorization"
            sock.sendall(request("/learn", body, {**J, "Authorization": "Bearer nope"}))
            assert reader.response()[0] == 401
            sock.sendall(request("/learn", body, {**J, "Authorization": f"Bearer {token}"}))
            assert reader.response()[0] == 200
            sock.sendall(request("/learn?debug=1", body, {**J, "Authorization": f"Bearer {token}"}))
            status, _, data = reader.response()
            assert (status, json.loads(data)) == (200, {"offset": 1, "count": 1})
            sock.sendall(request("/learn", method="GET", headers={"Authorization": f"Bearer {token}"}))
            status, _, data = reader.response()
            assert status == 405 and json.loads(data)["error"]["field"] == "method"
    assert seen == ["/learn"] * 3  # the query-string and GET requests took the ASGI path
    assert svc.offset == 2
    svc.close(snapshot=False)
