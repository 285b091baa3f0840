"""Embed a durable online learner in an existing web app, without the ``onlinekit serve`` CLI.

The host application (here a small Starlette app with its own routes) mounts onlinekit's
ASGI app under ``/model`` and also calls the learner service directly from its own handler.
Every learn event is logged (SQLite WAL) before it is applied, so a restart -- simulated
below by closing and reopening the service on the same state directory -- continues exactly.

Run: ``python examples/serve_embed.py [--quick]`` (needs ``pip install onlinekit[serve]``).
With ``--port N`` it serves on 127.0.0.1:N with uvicorn instead of the in-process demo.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import asynccontextmanager

import numpy as np


def build_app(state_dir: str):
    """The host application: its own routes plus onlinekit mounted under /model."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from onlinekit.serve import LearnerService, create_app

    service = LearnerService(state_dir, "ogd", {"lr": 0.05}, snapshot_every=500)

    async def home(request):
        return JSONResponse({"app": "shop", "model_offset": service.offset})

    async def price(request):
        # the host's own handler reads the model directly (a consistent read under its lock)
        q = request.query_params
        x = {"size": float(q.get("size", 1.0)), "age": float(q.get("age", 0.0))}
        return JSONResponse({"price": service.predict([x])[0]["prediction"]})

    @asynccontextmanager
    async def lifespan(app):
        yield
        service.close()  # final snapshot; mounted sub-apps get no lifespan events of their own

    app = Starlette(routes=[Route("/", home), Route("/price", price), Mount("/model", create_app(service))],
                    lifespan=lifespan)
    return app, service


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--port", type=int, default=None, help="serve on 127.0.0.1:PORT instead of the demo")
    ap.add_argument("--state", default=None, help="state directory (default: a temporary one)")
    args = ap.parse_args(argv)
    state = args.state or tempfile.mkdtemp(prefix="onlinekit-embed-")

    if args.port is not None:
        import uvicorn

        app, _ = build_app(state)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
        return

    from starlette.testclient import TestClient

    n = 300 if args.quick else 3000
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2, size=(n, 2))
    y = 3.0 * X[:, 0] - 1.0 * X[:, 1] + 0.5

    app, service = build_app(state)
    with TestClient(app) as client:
        half = n // 2
        for i in range(half):  # one event per request, with an idempotency key
            ev = {"x": {"size": X[i, 0], "age": X[i, 1]}, "y": y[i]}
            r = client.post("/model/learn", json=ev, headers={"Idempotency-Key": f"order-{i}"})
            assert r.status_code == 200, r.text
        again = client.post("/model/learn", json={"x": {"size": X[0, 0], "age": X[0, 1]}, "y": y[0]},
                            headers={"Idempotency-Key": "order-0"})
        print("retried key applied again?", again.headers.get("Idempotent-Replayed") != "true")
        bad = client.post("/model/learn", json={"x": {"size": "big"}, "y": 1.0})
        print("bad event ->", bad.status_code, bad.json()["error"]["field"])
        before = client.get("/price", params={"size": 1.0, "age": 1.0}).json()["price"]
    print(f"after {service.offset} events: price(size=1, age=1) = {before:.4f}")

    # restart on the same state directory: the snapshot + log replay give the same model
    app, service = build_app(state)
    with TestClient(app) as client:
        after = client.get("/price", params={"size": 1.0, "age": 1.0}).json()["price"]
        print("same prediction after restart:", after == before)
        events = [{"x": {"size": X[i, 0], "age": X[i, 1]}, "y": y[i]} for i in range(half, n)]
        for j in range(0, len(events), 100):
            client.post("/model/learn/batch", json={"events": events[j:j + 100]})
        final = client.get("/price", params={"size": 1.0, "age": 1.0}).json()["price"]
        print(f"after {service.offset} events: price(size=1, age=1) = {final:.4f} (true 2.5)")
        metrics = client.get("/model/metrics").text
    print(next(ln for ln in metrics.splitlines() if ln.startswith('onlinekit_events_total')))


if __name__ == "__main__":
    main()
