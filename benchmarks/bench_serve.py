"""Load test of ``onlinekit serve`` on loopback: events/s and latency, against peers in the same run.

Starts the real server (``python -m onlinekit.serve.server_cli serve``, uvicorn, OGD, durable
SQLite log) in a subprocess on 127.0.0.1 and drives it with a small closed-loop HTTP/1.1
client (asyncio, keep-alive, ``concurrency`` connections, each sending its next request when
the previous one is answered). Bounded in count and time. Phases:

* ``learn_batch100``: 100 array events per request (``POST /learn/batch``, the learner's block
  path, one log transaction per group of requests);
* ``learn`` (16 connections): one event per request, log sync ``normal`` and ``full``;
* ``predict``: ``POST /predict`` idle, and while a 1M-feature model is being snapshotted
  (``POST /snapshot`` in a loop) -- the ratio of the two p99s (each phase runs for the time
  limit, reusing its payloads, so it spans dozens of snapshots);
* peer ``river``: River's ``LinearRegression`` behind the same server stack (uvicorn, the same
  httptools protocol class with its guards, a Starlette route) with no log -- what durability
  costs, as a ratio. The peer's route goes through ASGI (it has no fast lane), so the ratio
  also holds the gain of ours;
* peer ``redis``: ``XADD`` round trips (16 connections; and 100-entry pipelines) -- the floor of
  a network hop to a durable-ish broker; skipped when ``redis-server`` is not installed;
* ``in_process``: CPU per event of the ASGI app driven in process (no sockets) and of
  ``LearnerService.process`` alone -- the part of the server's cost that is ours, as opposed
  to uvicorn's HTTP protocol, the event loop and the kernel's socket work.

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


def start_server(state: str, *, sync: str = "normal", extra: tuple = (), env: dict | None = None, cmd=None):
    """Start the server subprocess; returns ``(process, port)`` once ``/health`` answers."""
    port = _free_port()
    if cmd is None:
        cmd = [sys.executable, "-m", "onlinekit.serve.server_cli", "serve", "--learner", "ogd", "-p", "lr=0.01",
               "--state", state, "--port", str(port), "--sync", sync, *extra]
    else:
        cmd = [*cmd, str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if b"200" in s.recv(100):
                    return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start in 180 s")


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


async def _load(port: int, payloads: list[bytes], concurrency: int, time_limit: float, total: int | None = None):
    lat: list[float] = []
    errors = 0
    nxt = 0
    deadline = time.perf_counter() + time_limit
    total = len(payloads) if total is None else total

    async def worker():
        nonlocal nxt, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while nxt < total and time.perf_counter() < deadline:
                i = nxt
                nxt += 1
                t = time.perf_counter()
                writer.write(payloads[i % len(payloads)])
                status, _ = await _read_response(reader)
                lat.append(time.perf_counter() - t)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, np.array(lat), errors


def drive(port: int, payloads: list[bytes], concurrency: int = 16, time_limit: float = 20.0,
          total: int | None = None) -> dict:
    """Send ``payloads`` (``total`` requests, cycling through them; default: each once) over
    ``concurrency`` keep-alive connections, for at most ``time_limit`` seconds; the figures."""
    wall, lat, errors = asyncio.run(_load(port, payloads, concurrency, time_limit, total))
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
    """Batches of array events (one width): they take the learner's block path."""
    rng = np.random.default_rng(seed)
    out = []
    for r in range(n_req):
        X = rng.normal(size=(size, d)).round(6)
        evs = [{"x": X[i].tolist(), "y": round(float(X[i].sum()), 6)} for i in range(size)]
        out.append(_request("/learn/batch", json.dumps({"events": evs}).encode(), {"Idempotency-Key": f"b{seed}-{r}"}))
    return out


def _predict_payloads(n: int, d: int = 10, seed: int = 2) -> list[bytes]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).round(6)
    return [_request("/predict", json.dumps({"x": {f"f{j}": X[i, j] for j in range(d)}}).encode()) for i in range(n)]


# -- peers ---------------------------------------------------------------------------------------
def river_app():
    """River's ``LinearRegression`` behind Starlette with ``/learn``, ``/learn/batch``, ``/predict``
    and ``/health`` -- the same request parsing and validation as the service, no log."""
    import threading

    from river import linear_model, optim
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from onlinekit.serve._schema import Limits, parse_events

    model = linear_model.LinearRegression(optimizer=optim.SGD(0.01))
    lock = threading.Lock()
    limits = Limits()

    def _x(x):
        return {f"x{j}": v for j, v in enumerate(x)} if isinstance(x, list) else x

    async def learn(request):
        ev = parse_events("learn", await request.body(), limits)[0][0]
        with lock:
            model.learn_one(_x(ev["x"]), ev["y"])
        return Response(b'{"count":1}', media_type="application/json")

    async def learn_batch(request):
        evs = parse_events("learn", await request.body(), limits, batch=True)[0]
        with lock:
            for ev in evs:
                model.learn_one(_x(ev["x"]), ev["y"])
        return Response(json.dumps({"count": len(evs)}).encode(), media_type="application/json")

    async def predict(request):
        ev = parse_events("predict", await request.body(), limits)[0][0]
        with lock:
            p = model.predict_one(_x(ev["x"]))
        return Response(json.dumps({"prediction": p}).encode(), media_type="application/json")

    async def health(request):
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route("/learn", learn, methods=["POST"]), Route("/learn/batch", learn_batch, methods=["POST"]),
                             Route("/predict", predict, methods=["POST"]), Route("/health", health, methods=["GET"])])


def _serve_river(port: int) -> None:
    import uvicorn

    from onlinekit.serve.http_edge import protocol_class

    uvicorn.run(river_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False,
                http=protocol_class(10.0), limit_concurrency=1000, h11_max_incomplete_event_size=16384)


def _redis_floor(n: int, conc: int, time_limit: float) -> dict:
    """``XADD`` round trips to a private redis-server: one entry per round trip (``conc``
    connections) and 100-entry pipelines."""
    import shutil

    exe = shutil.which("redis-server")
    if exe is None:
        return {"skipped": "redis-server not on PATH"}
    try:
        import redis.asyncio as aredis
    except ImportError:
        return {"skipped": "redis-py not installed"}
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                 "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            async def main():
                clients = [aredis.Redis(port=port) for _ in range(conc)]
                for _ in range(200):
                    try:
                        await clients[0].ping()
                        break
                    except Exception:  # noqa: BLE001 - not up yet
                        await asyncio.sleep(0.02)
                body = json.dumps({"x": [0.1] * 10, "y": 1.0})
                lat: list[float] = []
                nxt = 0
                deadline = time.perf_counter() + time_limit

                async def one(c):
                    nonlocal nxt
                    while nxt < n and time.perf_counter() < deadline:
                        nxt += 1
                        t = time.perf_counter()
                        await c.xadd("bench", {"event": body})
                        lat.append(time.perf_counter() - t)

                t0 = time.perf_counter()
                await asyncio.gather(*(one(c) for c in clients))
                wall = time.perf_counter() - t0
                single = {"round_trips_per_s": round(len(lat) / wall, 1),
                          "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 3),
                          "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 3)}
                k = 0
                t0 = time.perf_counter()
                while k < n // 100 and time.perf_counter() - t0 < time_limit:
                    pipe = clients[0].pipeline(transaction=False)
                    for _ in range(100):
                        pipe.xadd("bench", {"event": body})
                    await pipe.execute()
                    k += 1
                batch = {"events_per_s": round(k * 100 / (time.perf_counter() - t0), 1)}
                for c in clients:
                    await c.aclose()
                return {"xadd_single_16conn": single, "xadd_pipeline100": batch}

            return asyncio.run(main())
        finally:
            proc.terminate()
            proc.wait(10)


def _big_state(path: str, n_features: int) -> None:
    """A served OGD model with ``n_features`` named features (built in-process, then snapshotted)."""
    from onlinekit.serve.service import LearnerService, Request

    svc = LearnerService(path, "ogd", {"lr": 0.01}, snapshot_every=0)
    per = 10_000
    for r in range(n_features // per):
        svc.process([Request("learn", [{"x": {f"w{r}-{j}": 0.001 for j in range(per)}, "y": 1.0}])])
    svc.close()  # final snapshot


def _predict_during_snapshots(state: str, conc: int, limit: float, n: int) -> dict:
    import threading
    import urllib.request

    proc, port = start_server(state, extra=("--snapshot-every", "0"))
    try:
        payloads = _predict_payloads(n, seed=7)
        drive(port, payloads[:200], conc, 5)
        total = 10 * n  # each phase runs for the time limit (predictions are cheap), payloads reused
        idle = drive(port, payloads, conc, limit, total)
        stop = threading.Event()
        snaps: list[float] = []

        def snapshotter():
            while not stop.is_set():
                t = time.perf_counter()
                req = urllib.request.Request(f"http://127.0.0.1:{port}/snapshot", data=b"", method="POST")
                with urllib.request.urlopen(req, timeout=120) as r:
                    r.read()
                snaps.append(time.perf_counter() - t)

        th = threading.Thread(target=snapshotter, daemon=True)
        th.start()
        time.sleep(0.2)
        busy = drive(port, payloads, conc, limit, total)
        stop.set()
        th.join(180)
        return {"idle": idle, "during_snapshot": busy, "snapshots_written": len(snaps),
                "snapshot_s": round(float(np.mean(snaps)), 3) if snaps else None,
                "p99_ratio": round(busy["p99_ms"] / idle["p99_ms"], 2) if idle["p99_ms"] else None}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()


def _split_request(raw: bytes) -> tuple[str, list, bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    path = lines[0].split(b" ")[1].decode()
    return path, [(k.lower(), v) for k, v in (ln.split(b": ", 1) for ln in lines[1:])], body


def _inprocess(n: int, nb: int) -> dict:
    """Server CPU per event without sockets: the ASGI app called in process (16 concurrent
    single learns / 8 concurrent 100-event batches, keys as in the HTTP phases), and
    ``LearnerService.process`` alone on pre-parsed requests (groups of 16 / of 4 batches).
    What the HTTP rows cost beyond these is uvicorn's HTTP/1.1 protocol, the event loop and
    the kernel's socket work."""
    from onlinekit.serve import LearnerService, create_app
    from onlinekit.serve._schema import Limits, parse_events
    from onlinekit.serve.service import Request

    def app_cpu(payloads, conc, per):
        reqs = [_split_request(p) for p in payloads]

        async def main(app):
            nxt = 0

            async def call(path, headers, body):
                got = []

                async def receive():
                    if not got:
                        got.append(True)
                        return {"type": "http.request", "body": body, "more_body": False}
                    await asyncio.sleep(3600)  # pragma: no cover - never asked twice

                status = []

                async def send(msg):
                    if msg["type"] == "http.response.start":
                        status.append(msg["status"])

                scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                         "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                         "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}
                await app(scope, receive, send)
                if status != [200]:
                    raise RuntimeError(f"in-process request got {status}")

            async def worker():
                nonlocal nxt
                while nxt < len(reqs):
                    i = nxt
                    nxt += 1
                    await call(*reqs[i])

            c0 = time.process_time()
            await asyncio.gather(*(worker() for _ in range(conc)))
            return (time.process_time() - c0) / (len(reqs) * per) * 1e6

        with tempfile.TemporaryDirectory() as tmp:
            svc = LearnerService(tmp, "ogd", {"lr": 0.01}, snapshot_every=10_000)
            try:
                try:  # the loop uvicorn runs on
                    import uvloop
                    factory = uvloop.new_event_loop
                except ImportError:  # pragma: no cover
                    factory = None
                with asyncio.Runner(loop_factory=factory) as runner:
                    return round(runner.run(main(create_app(svc))), 1)
            finally:
                svc.close()

    def process_cpu(payloads, batch, group):
        lim = Limits()
        reqs = []
        c0 = time.process_time()
        for i, p in enumerate(payloads):
            evs, texts = parse_events("learn", _split_request(p)[2], lim, batch)
            reqs.append(Request("learn", evs, key=f"k{i}", batch=batch, texts=texts))
        c1 = time.process_time()
        with tempfile.TemporaryDirectory() as tmp:
            svc = LearnerService(tmp, "ogd", {"lr": 0.01}, snapshot_every=10_000)
            try:
                for i in range(0, len(reqs), group):
                    svc.process(reqs[i:i + group])
            finally:
                c2 = time.process_time()
                svc.close()
        m = sum(len(r.events) for r in reqs)
        return {"parse_validate_fingerprint_us_per_event": round((c1 - c0) / m * 1e6, 1),
                "process_us_per_event": round((c2 - c1) / m * 1e6, 1)}

    single = _learn_payloads(n, seed=5)
    batches = _batch_payloads(nb, 100, seed=6)
    return {"app_learn_us_per_event": app_cpu(single, 16, 1),
            "app_learn_batch100_us_per_event": app_cpu(batches, 8, 100),
            "service_learn": process_cpu(single, False, 16),
            "service_learn_batch100": process_cpu(batches, True, 4)}


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()


def run(quick: bool = False) -> dict:
    n = 4_000 if quick else 30_000
    limit = 6.0 if quick else 15.0
    conc = 16
    res: dict = {"concurrency": conc, "features": 10, "time_limit_s": limit,
                 "note": "client and server share the machine's cores; loopback only"}
    nb = max(20, n // 10)  # batch requests: long enough a phase to cover snapshots, checkpoints and warm-up
    for sync in ("normal", "full"):
        with tempfile.TemporaryDirectory() as tmp:
            proc, port = start_server(str(Path(tmp) / "state"), sync=sync)
            try:
                t = time.perf_counter()
                drive(port, _learn_payloads(1, seed=98), 1, 60)
                res[f"first_request_ms_{sync}"] = round((time.perf_counter() - t) * 1e3, 1)  # kernels warmed at start
                drive(port, _learn_payloads(500, seed=99), conc, 10)  # warm-up (connections)
                res[f"learn_{sync}"] = _measure(proc, port, _learn_payloads(n), conc, limit)
                if sync == "normal":
                    res["learn_batch100_normal"] = _measure(proc, port, _batch_payloads(nb, 100), 8, limit, 100)
                    res["predict"] = _measure(proc, port, _predict_payloads(n), conc, limit)
            finally:
                _stop(proc)
    # peer: River behind the same ASGI stack, no log
    proc, port = start_server("", cmd=[sys.executable, "-m", "benchmarks.bench_serve", "--river-peer"])
    try:
        drive(port, _learn_payloads(500, seed=99, keys=False), conc, 10)
        res["river_learn"] = _measure(proc, port, _learn_payloads(n, keys=False), conc, limit)
        res["river_learn_batch100"] = _measure(proc, port, _batch_payloads(nb, 100), 8, limit, 100)
    finally:
        _stop(proc)
    res["durable_vs_river_learn"] = round(res["learn_normal"]["events_per_s"] / res["river_learn"]["events_per_s"], 2)
    res["durable_vs_river_batch100"] = round(res["learn_batch100_normal"]["events_per_s"]
                                             / res["river_learn_batch100"]["events_per_s"], 2)
    res["redis_floor"] = _redis_floor(n, conc, limit)
    res["in_process"] = _inprocess(min(n, 10_000), max(20, min(n, 20_000) // 100))
    # predict latency while a 1M-feature model is snapshotted
    n_big = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        state = str(Path(tmp) / "big")
        t = time.perf_counter()
        _big_state(state, n_big)
        res["big_model_features"] = n_big
        res["big_model_build_s"] = round(time.perf_counter() - t, 1)
        res["predict_during_snapshot"] = _predict_during_snapshots(state, conc, limit, n)
    res["target_batch_events_per_s"] = 100_000
    res["target_learn_events_per_s"] = 10_000
    res["target_p99_ms"] = 20
    res["target_predict_p99_ratio_during_snapshot"] = 2.0
    return res


if __name__ == "__main__":
    if "--river-peer" in sys.argv:
        _serve_river(int(sys.argv[-1]))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=2), flush=True)
