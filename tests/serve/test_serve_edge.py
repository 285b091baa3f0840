"""The HTTP edge of ``onlinekit serve`` (a subprocess): content type, Host/Origin, slow or huge
request heads, body deadline, connection limit, poison events and a feature flood; and the
event loop staying free while the service lock is held (in-process uvicorn)."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from click.testing import CliRunner  # noqa: E402
from serve_helpers import PARAMS, call, free_port, make_events, oracle, start_server  # noqa: E402

from onlinekit.serve.server_cli import serve  # noqa: E402
from onlinekit.serve.service import LearnerService  # noqa: E402


def _running(state, *extra):
    """A server on a free port for as long as the generator is open (a fixture's body)."""
    port = free_port()
    proc = start_server(state, port, *extra)
    yield port
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


@pytest.fixture
def server(tmp_path, request):
    yield from _running(tmp_path / "state", *getattr(request, "param", ()))


#: one server per HTTP protocol for the edge checks that leave no state behind (none is applied):
#: a slow head, a huge head and a slow body are refused by independent limits
EDGE = ("--header-timeout", "1", "--body-timeout", "1", "--max-header-bytes", "4096")


@pytest.fixture(scope="module")
def edge_httptools(tmp_path_factory):
    yield from _running(tmp_path_factory.mktemp("edge-httptools") / "state", *EDGE)


@pytest.fixture(scope="module")
def edge_h11(tmp_path_factory):
    yield from _running(tmp_path_factory.mktemp("edge-h11") / "state", *EDGE, "--http", "h11")


@pytest.fixture(params=["httptools", "h11"])
def edge_server(request):
    return request.getfixturevalue(f"edge_{request.param}")


def _raw(port, data: bytes, wait: float = 10.0) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it (or ``wait`` s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk
        except TimeoutError:
            return out + b"<still open>"


def test_content_type_host_and_origin(server):
    port = server
    ev = make_events(1)[0]
    status, body = call(port, "POST", "/learn", json.dumps(ev).encode(), {"Content-Type": "text/plain"})
    assert status == 415 and body["error"]["field"] == "Content-Type"
    status, body = call(port, "POST", "/learn", ev, {"Origin": "http://evil.example"})
    assert status == 403 and body["error"]["field"] == "Origin"
    status, body = call(port, "POST", "/learn", ev, {"Host": f"evil.example:{port}"})
    assert status == 403 and body["error"]["field"] == "Host"
    status, body = call(port, "POST", "/snapshot", b"", {"Origin": "null"})
    assert status == 403
    assert call(port, "GET", "/health")[1]["offset"] == 0  # none of them was applied
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        status, body = call(port, "POST", "/learn", ev, {"Host": host})
        assert status == 200, (host, body)
    assert call(port, "GET", "/health")[1]["offset"] == 3


def test_slow_request_heads_are_cut(edge_server):
    port = edge_server
    t0 = time.monotonic()
    with ThreadPoolExecutor(2) as pool:  # both wait out the same deadline at once
        half_head = pool.submit(_raw, port, b"POST /learn HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        silent = pool.submit(_raw, port, b"")  # a connection that sends nothing
        assert half_head.result() == b""  # closed, no response
        assert silent.result() == b""
    assert time.monotonic() - t0 < 9  # closed by the deadline, not by the client's own timeout
    assert call(port, "GET", "/health")[0] == 200


def test_huge_request_head_is_refused(edge_httptools):
    port = edge_httptools
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (64 << 10)
    out = _raw(port, head)
    assert out.startswith(b"HTTP/1.1 431"), out[:200]  # refused, then closed
    assert b"<still open>" not in out
    assert call(port, "GET", "/health")[0] == 200


def test_huge_request_head_is_refused_by_h11_too(edge_h11):
    port = edge_h11
    out = _raw(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (64 << 10))
    assert out == b"" or out.startswith(b"HTTP/1.1 400"), out[:200]
    assert b"<still open>" not in out
    assert call(port, "GET", "/health")[0] == 200


def test_body_deadline(edge_httptools):
    port = edge_httptools
    head = (b"POST /learn HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{\"x\": [1")
    out = _raw(port, head)
    assert out.startswith(b"HTTP/1.1 408"), out[:200]
    assert call(port, "GET", "/health")[1]["offset"] == 0


@pytest.mark.parametrize("server", [("--max-connections", "3", "--header-timeout", "60")], indirect=True)
def test_connection_limit(server):
    port = server
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        time.sleep(0.3)
        status, _ = call(port, "GET", "/health")
        assert status == 503
    finally:
        for s in idle:
            s.close()
    deadline = time.monotonic() + 10
    while call(port, "GET", "/health")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert call(port, "GET", "/health")[0] == 200


def test_poison_event_over_http_and_after_restart(tmp_path):
    state = tmp_path / "state"
    port = free_port()
    good = make_events(5, seed=61)
    proc = start_server(state, port)
    try:
        for ev in good:
            assert call(port, "POST", "/learn", ev)[0] == 200
        status, body = call(port, "POST", "/learn", {"x": {"a": 1e200, "b": 1}, "y": 1e200})
        assert status == 422 and "non-finite" in body["error"]["message"]
        x = good[0]["x"]
        assert call(port, "POST", "/predict", {"x": x})[1]["prediction"] == oracle(good).predict_one(x)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = start_server(state, port)
    try:
        assert call(port, "GET", "/health")[1]["offset"] == 5
        assert call(port, "POST", "/predict", {"x": x})[1]["prediction"] == oracle(good).predict_one(x)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


@pytest.mark.parametrize("server", [("--max-total-features", "1000")], indirect=True)
def test_feature_flood(server):
    port = server
    for r in range(4):
        ev = {"x": {f"r{r}-{j}": 1.0 for j in range(300)}, "y": 1.0}
        status, body = call(port, "POST", "/learn", ev)
        assert status == (200 if r < 3 else 422), body
    assert body["error"]["field"] == "x" and "900 features" in body["error"]["message"]
    assert call(port, "GET", "/health")[1]["offset"] == 3


def test_bind_and_token_checks(tmp_path):
    r = CliRunner().invoke(serve, ["--learner", "ogd", "--state", str(tmp_path / "s"), "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "without --token-file" in r.output
    tok = tmp_path / "tok"
    tok.write_text("sécret-token-0123456789\n", encoding="utf-8")
    r = CliRunner().invoke(serve, ["--learner", "ogd", "--state", str(tmp_path / "s"), "--token-file", str(tok)])
    assert r.exit_code == 2 and "printable ASCII" in r.output
    assert not (tmp_path / "s").exists()  # refused before anything was created


# -- the event loop stays free ------------------------------------------------------------------
def test_event_loop_answers_while_the_service_lock_is_held(tmp_path):
    import uvicorn

    from onlinekit.serve.app import create_app

    svc = LearnerService(tmp_path / "state", "ogd", PARAMS, snapshot_every=0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(svc), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        ev = make_events(1)[0]
        assert call(port, "POST", "/learn", ev)[0] == 200
        held, release = threading.Event(), threading.Event()

        def hold():
            with svc.lock:  # as a long snapshot copy or a slow group would
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(10)
        results = {}

        def predict():
            results["predict"] = call(port, "POST", "/predict", {"x": ev["x"]}, timeout=30)

        p = threading.Thread(target=predict)
        p.start()
        try:
            # the loop is free: health answers and the predict waits in a worker thread
            assert call(port, "GET", "/health", timeout=5)[1]["offset"] == 1
            assert "predict" not in results
        finally:
            release.set()
            holder.join(10)
        p.join(30)
        assert results["predict"][0] == 200
    finally:
        server.should_exit = True
        th.join(30)
        svc.close(snapshot=False)


def test_snapshot_is_encoded_outside_the_lock(tmp_path, monkeypatch):
    from onlinekit.serve.snapshots import SnapshotStore

    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=5)
    free_during_encode = []
    real, real_write = SnapshotStore.encode, SnapshotStore.write_learner

    def lock_is_free() -> bool:
        got = []

        def probe():
            ok = svc.lock.acquire(timeout=2)
            if ok:
                svc.lock.release()
            got.append(ok)

        t = threading.Thread(target=probe)
        t.start()
        t.join()
        return got[0]

    def encode(learner, offset):  # state_bytes
        free_during_encode.append(lock_is_free())
        return real(learner, offset)

    def write_learner(self, learner, offset):  # snapshots: encoded straight into the file
        free_during_encode.append(lock_is_free())
        return real_write(self, learner, offset)

    monkeypatch.setattr(SnapshotStore, "encode", staticmethod(encode))
    monkeypatch.setattr(SnapshotStore, "write_learner", write_learner)
    from onlinekit.serve.service import Request

    events = make_events(10, seed=62)
    svc.process([Request("learn", [ev]) for ev in events[:5]])  # a scheduled snapshot
    svc.snapshot()  # an explicit one
    svc.state_bytes()
    svc._writer.submit(lambda: None).result()
    assert free_during_encode == [True, True, True]
    snap = svc.snapshots.load_newest()
    assert snap.offset == 5
    assert np.array_equal(snap.learner.w_, oracle(events[:5]).w_)
    svc.close()


def test_body_deadline_when_no_body_byte_comes(edge_httptools):
    """The head alone: the route's first receive has to wait (the deadline's other path)."""
    port = edge_httptools

    def head_only(path):
        head = (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            t = time.monotonic()
            s.sendall(head)
            out = s.recv(65536)
            return out, time.monotonic() - t

    with ThreadPoolExecutor(2) as pool:  # both wait out the same deadline at once
        for out, waited in pool.map(head_only, (b"/learn", b"/learn/batch")):
            assert out.startswith(b"HTTP/1.1 408"), out[:200]
            assert 0.9 < waited < 5, waited
    assert call(port, "GET", "/health")[1]["offset"] == 0


@pytest.mark.parametrize("server", [("--body-timeout", "5")], indirect=True)
def test_body_arriving_late_within_the_deadline_is_applied(server):
    """Head first, body 0.3 s later (in two parts): the waiting receive finishes normally."""
    port = server
    body = json.dumps({"x": [1.0, 2.0], "y": 3.0}).encode()
    head = (b"POST /learn HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        time.sleep(0.3)
        s.sendall(body[:5])
        time.sleep(0.3)
        s.sendall(body[5:])
        out = s.recv(65536)
    assert out.startswith(b"HTTP/1.1 200"), out[:200]
    assert out.endswith(b'{"offset":0,"count":1}')
    assert call(port, "GET", "/health")[1]["offset"] == 1
