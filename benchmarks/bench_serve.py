"""Load test of ``onlinekit serve`` on loopback: sustained events/s and p50/p99 latency.

Starts the real server (``python -m onlinekit.serve.server_cli serve``, uvicorn, OGD, durable
SQLite log) in a subprocess on 127.0.0.1 and drives it with a small closed-loop HTTP/1.1
client (asyncio, keep-alive, ``concurrency`` connections, each sending its next request when
the previous one is answered). Bounded in count and time. Phases:

* ``learn``: one event per request (``POST /learn``), log sync ``normal`` and ``full``;
* ``learn_batch``: 100 events per request (``POST /learn/batch``);
* ``predict``: ``POST /predict``.

Latencies are per request, measured by the client (they include the client's own overhead,
which shares the machine's cores with the server).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(state: str, *, sync: str = "normal", extra: tuple = (), env: dict | None = None):
    """Start the server subprocess; returns ``(process, port)`` once ``/health`` answers."""
    port = _free_port()
    cmd = [sys.executable, "-m", "onlinekit.serve.server_cli", "serve", "--learner", "ogd", "-p", "lr=0.01",
           "--state", state, "--port", str(port), "--sync", sync, *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b"200" in s.recv(100):
                    return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start in 60 s")


def _request(path: str, body: bytes, headers: dict | None = None) -> bytes:
    h = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{h}\r\n").encode() + body


async def _read_response(reader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    n = 0
    for ln in lines[1:]:
        if ln.lower().startswith("content-length:"):
            n = int(ln.split(":", 1)[1])
    body = await reader.readexactly(n) if n else b""
    return status, body


async def _load(port: int, payloads: list[bytes], concurrency: int, time_limit: float):
    lat: list[float] = []
    errors = 0
    nxt = 0
    deadline = time.perf_counter() + time_limit

    async def worker():
        nonlocal nxt, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while nxt < len(payloads) and time.perf_counter() < deadline:
                i = nxt
                nxt += 1
                t = time.perf_counter()
                writer.write(payloads[i])
                status, _ = await _read_response(reader)
                lat.append(time.perf_counter() - t)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, np.array(lat), errors


def drive(port: int, payloads: list[bytes], concurrency: int = 16, time_limit: float = 20.0) -> dict:
    """Send ``payloads`` over ``concurrency`` keep-alive connections; returns the figures."""
    wall, lat, errors = asyncio.run(_load(port, payloads, concurrency, time_limit))
    return {"requests": int(len(lat)), "errors": int(errors), "wall_s": round(wall, 3),
            "requests_per_s": round(len(lat) / wall, 1),
            "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 3) if len(lat) else None,
            "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 3) if len(lat) else None}


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return None


def _measure(proc, port, payloads, conc, limit, events_per_request=1) -> dict:
    c0 = _cpu_seconds(proc.pid)
    r = drive(port, payloads, conc, limit)
    c1 = _cpu_seconds(proc.pid)
    r["events_per_s"] = round(r["requests_per_s"] * events_per_request, 1)
    if c0 is not None and c1 is not None and c1 > c0:
        # server CPU per event: what one dedicated core would sustain, less sensitive to the
        # other processes sharing this machine than the wall-clock rate
        r["server_cpu_us_per_event"] = round((c1 - c0) / (r["requests"] * events_per_request) * 1e6, 1)
        r["events_per_server_cpu_s"] = round(r["requests"] * events_per_request / (c1 - c0), 1)
    return r


def _learn_payloads(n: int, d: int = 10, seed: int = 0, keys: bool = True) -> list[bytes]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).round(6)
    y = (X @ np.linspace(-1, 1, d)).round(6)
    out = []
    for i in range(n):
        body = json.dumps({"x": {f"f{j}": X[i, j] for j in range(d)}, "y": y[i]}).encode()
        out.append(_request("/learn", body, {"Idempotency-Key": f"k{seed}-{i}"} if keys else None))
    return out


def _batch_payloads(n_req: int, size: int, d: int = 10, seed: int = 1) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for r in range(n_req):
        X = rng.normal(size=(size, d)).round(6)
        evs = [{"x": {f"f{j}": X[i, j] for j in range(d)}, "y": float(X[i].sum())} for i in range(size)]
        out.append(_request("/learn/batch", json.dumps({"events": evs}).encode(), {"Idempotency-Key": f"b{seed}-{r}"}))
    return out


def _predict_payloads(n: int, d: int = 10, seed: int = 2) -> list[bytes]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).round(6)
    return [_request("/predict", json.dumps({"x": {f"f{j}": X[i, j] for j in range(d)}}).encode()) for i in range(n)]


def run(quick: bool = False) -> dict:
    n = 4_000 if quick else 40_000
    limit = 10.0 if quick else 30.0
    conc = 16
    res: dict = {"concurrency": conc, "features": 10, "time_limit_s": limit,
                 "note": "client and server share the machine's cores; loopback only"}
    for sync in ("normal", "full"):
        with tempfile.TemporaryDirectory() as tmp:
            proc, port = start_server(str(Path(tmp) / "state"), sync=sync)
            try:
                drive(port, _learn_payloads(500, seed=99), conc, 10)  # warm-up (JIT, connections)
                res[f"learn_{sync}"] = _measure(proc, port, _learn_payloads(n), conc, limit)
                if sync == "normal":
                    nb = max(20, n // 100)
                    res["learn_batch100_normal"] = _measure(proc, port, _batch_payloads(nb, 100), 4, limit, 100)
                    res["predict"] = _measure(proc, port, _predict_payloads(n), conc, limit)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:  # pragma: no cover
                    proc.kill()
    res["target_learn_events_per_s"] = 5000
    res["target_p99_ms"] = 20
    return res


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2), flush=True)
