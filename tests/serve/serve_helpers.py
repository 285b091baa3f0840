"""Shared helpers of the serve tests: an independent oracle (plain OGD replay) and event data."""

from __future__ import annotations

import numpy as np

from onlinekit.oco import OGD

PARAMS = {"lr": 0.05}


def make_events(n: int, seed: int = 0, d: int = 3, kind: str = "dict") -> list[dict]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.linspace(1.0, -1.0, d) + 0.1 * rng.normal(size=n)
    if kind == "dict":
        return [{"x": {f"f{j}": float(X[i, j]) for j in range(d)}, "y": float(y[i])} for i in range(n)]
    return [{"x": [float(v) for v in X[i]], "y": float(y[i])} for i in range(n)]


def oracle(events: list[dict], params: dict | None = None) -> OGD:
    """An uninterrupted replay: a fresh OGD fed the events in order with learn_one."""
    m = OGD(**(params or PARAMS))
    for ev in events:
        x = np.asarray(ev["x"], dtype=np.float64) if isinstance(ev["x"], list) else ev["x"]
        m.learn_one(x, ev["y"])
    return m


def assert_same_state(a, b) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sorted(sa) == sorted(sb)
    for k in sa:
        va, vb = sa[k], sb[k]
        if isinstance(va, np.ndarray):
            assert va.shape == vb.shape and np.array_equal(va, vb), (k, va, vb)
        else:
            assert va == vb, (k, va, vb)


def count_inline(svc) -> list[int]:
    """Wrap ``svc.process_now``: the returned list gets the number of requests each call ran."""
    real = svc.process_now
    ran: list[int] = []

    def counting(reqs, budget):
        done, left = real(reqs, budget)
        ran.append(len(done))
        return done, left

    svc.process_now = counting
    return ran


def route_requests():
    """``(path, body, headers)`` of requests to an OGD service covering every answer of the
    operations' routes: 200, replayed, 409, 415, 403, 400, 422, 404."""
    evs = make_events(10, seed=3)
    arr = make_events(6, seed=4, kind="array")
    j = {"Content-Type": "application/json"}
    yield "/learn", json.dumps(evs[0]).encode(), {**j, "Idempotency-Key": "k1"}
    yield "/learn", json.dumps(evs[0]).encode(), {**j, "Idempotency-Key": "k1"}     # replayed
    yield "/learn", json.dumps(evs[1]).encode(), {**j, "Idempotency-Key": "k1"}     # 409
    yield "/learn", json.dumps(evs[1]).encode(), {"Content-Type": "text/plain"}    # 415
    yield "/learn", json.dumps(evs[1]).encode(), {**j, "Origin": "http://evil"}    # 403
    yield "/learn", json.dumps(evs[1]).encode(), {**j, "Idempotency-Key": ""}      # 400
    yield "/learn", b'{"x": {"a": 1}, "x": {"a": 2}, "y": 1}', j                      # 400 duplicate
    yield "/learn", b'{"x": {"a": 1e999}, "y": 1}', j                                  # 422
    yield "/learn", json.dumps(evs[2]).encode(), j
    yield "/learn/batch", json.dumps({"events": evs[3:8]}).encode(), {**j, "Idempotency-Key": "b1"}
    yield "/learn/batch", json.dumps({"events": evs[3:8]}).encode(), {**j, "Idempotency-Key": "b1"}
    yield "/learn/batch", json.dumps({"events": [evs[8], {"x": {"a": "1"}, "y": 1}]}).encode(), j
    yield "/learn/batch", json.dumps({"events": arr}).encode(), j                     # array events after named ones
    yield "/predict", json.dumps({"x": evs[0]["x"]}).encode(), j
    yield "/predict/batch", json.dumps({"events": [{"x": e["x"]} for e in evs[:3]]}).encode(), j
    yield "/predict", b'{"x": {"a": true}}', j
    yield "/act", b"{}", j                                                              # 404: not this learner's


# -- the real server as a subprocess ---------------------------------------------------------------
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def serve_cmd(state, port, *extra) -> list[str]:
    return [sys.executable, "-m", "onlinekit.serve.server_cli", "serve", "--learner", "ogd", "-p",
            f"lr={PARAMS['lr']}", "--state", str(state), "--port", str(port), *extra]


def start_server(state, port, *extra, errfile=None) -> subprocess.Popen:
    """Start ``onlinekit serve`` and wait until ``/health`` answers."""
    errfile = Path(errfile or Path(state).parent / "server.err")
    with open(errfile, "ab") as err:
        proc = subprocess.Popen(serve_cmd(state, port, *extra), stdout=subprocess.DEVNULL, stderr=err,
                                env=subprocess_env())
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("server exited: " + errfile.read_text()[-3000:])
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
            if r.status == 200:
                return proc
        except OSError:
            time.sleep(0.05)
        finally:
            c.close()
    proc.kill()
    raise AssertionError("server did not come up")


def run_server_to_exit(state, port, *extra, timeout=90) -> tuple[int, str]:
    """Run ``onlinekit serve`` expecting it to refuse to start: ``(exit status, stderr)``."""
    r = subprocess.run(serve_cmd(state, port, *extra), capture_output=True, env=subprocess_env(), timeout=timeout)
    return r.returncode, r.stderr.decode("utf-8", "replace")


def call(port, method, path, body=None, headers=None, timeout=10) -> tuple[int, dict]:
    """One HTTP request; ``(status, JSON body)``. ``body`` may be a dict (sent as JSON) or bytes."""
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers={k: v for k, v in h.items() if v is not None})
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    try:
        return r.status, (json.loads(data) if data else {})
    except ValueError:  # uvicorn's own plain-text answers (503 past the connection limit)
        return r.status, {"raw": data.decode("latin-1")}
