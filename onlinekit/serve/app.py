"""ASGI app (Starlette) exposing a :class:`~onlinekit.serve.service.LearnerService` as JSON.

Routes (all ``POST`` bodies are JSON objects; batch bodies are ``{"events": [...]}``):

================  =======================================  ==============================
route             body                                     learner kind
================  =======================================  ==============================
``/predict``      ``{"x": {...} | [...]}``                 supervised (read only)
``/learn``        ``{"x": ..., "y": ..., "groups"?, ...}``  supervised
``/act``          ``{"obs"?: ...}``                         decision
``/feedback``     ``{"obs"?, "action", "feedback"}``        decision
``/release``      ``{"x": number | [numbers]}``             release
``/play``         ``{"awake"?: [0/1, ...]}``               experts (read only)
``/play``         ``{"hint"?: [numbers]}``                 oco (read; logged with a hint)
``/update``       ``{"losses", "awake"?, "mixture_loss"?}``  experts
``/update``       ``{"gradient", "hint"?}``                oco
``/<op>/batch``   ``{"events": [...]}``                     as above
``/snapshot``     (none)                                   any
``GET /health``   --                                       any (no token needed)
``GET /metrics``  --                                       any (Prometheus text)
================  =======================================  ==============================

Write requests may carry an ``Idempotency-Key`` header; a retry with the same key gets the
stored response (header ``Idempotent-Replayed: true``) and is not applied again. A retry is
recognised by its events' JSON text (what the log stores: the client's own text of each event,
see :func:`~onlinekit.serve._schema.parse_events`), so it must resend the same body; the same
key with other text gets 409. Errors are
``{"error": {"status", "field", "message"}}`` with a 4xx status naming the field; a refused
request changes neither the learner nor the log.

Concurrent write requests are grouped: the requests that arrive while a group is being
committed form the next group, which is logged, applied and committed in one transaction
(group commit), in one worker thread. Predictions run in worker threads too: nothing that
takes the service's lock (applying events, copying state for a snapshot) runs on the event
loop, so ``/health`` and request parsing never wait for it. Reads only ever see committed,
whole requests.

The edge: ``POST`` bodies must be ``Content-Type: application/json`` (415); with
``allowed_hosts`` a request naming another ``Host`` is refused (403, DNS rebinding); a request
carrying an ``Origin`` not in ``allowed_origins`` is refused (403, cross-site writes from a
browser); a body not received within ``body_timeout`` seconds gets 408.

Experts and OCO learners (``hedge``, ``adanormalhedge``; ``omd``, ``optimistic-omd``, ``ons``,
...) use the field names of ``onlinekit replay``: ``null`` is a sleeping expert's unknown
loss, ``hint`` is the round's own hint (``optimistic-omd`` with ``hint="given"``).
``/play`` answers ``{"probabilities": [...]}`` (experts) or ``{"point": [...]}`` (OCO) and
is a read, except an OCO play with a ``hint``: it stores the hint (``set_hint``), so it is
logged and committed like ``/update`` and answers ``{"offset", "point"}``. ``/update``
answers ``{"offset", "count"}``.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any

from onlinekit.serve._schema import (  # _ENCODE: the compact, strict JSON encoder of the log's events
    _ENCODE,
    Limits,
    RequestError,
    parse_events,
    parse_json,
    validate_round,
    validate_round_batch,
)
from onlinekit.serve.telemetry import Telemetry
from onlinekit.serve.service import LearnerService, Outcome, Request

__all__ = ["create_app"]

_WRITE_OPS = ("learn", "act", "feedback", "release")
_REPLAYED = {"Idempotent-Replayed": "true"}


class _GroupCommitter:
    """Collects write requests from the event loop and commits them in groups."""

    def __init__(self, service: LearnerService, max_group: int = 512):
        from concurrent.futures import ThreadPoolExecutor

        self.service = service
        self.max_group = max_group
        self._pending: list[tuple[Request, asyncio.Future]] = []
        self._running = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onlinekit-commit")

    async def submit(self, req: Request) -> Outcome:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._pending.append((req, fut))
        if not self._running:
            self._running = True
            loop.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(0)  # let requests parsed in this loop iteration join the group
                group = self._pending[: self.max_group]
                del self._pending[: self.max_group]
                reqs = [r for r, _ in group]
                try:  # off the loop: the loop keeps reading requests (they join the next group)
                    outs = await asyncio.get_running_loop().run_in_executor(self._executor, self.service.process, reqs)
                except Exception as exc:  # noqa: BLE001 - answer every waiter
                    for _, fut in group:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for (_, fut), out in zip(group, outs, strict=True):
                    if not fut.done():
                        fut.set_result(out)
        finally:
            self._running = False


def _host_name(host: str) -> str:
    """The name part of a Host header: ``[::1]:8000`` -> ``::1``, ``localhost:8000`` -> ``localhost``.

    >>> _host_name("[::1]:8000"), _host_name("LocalHost:80"), _host_name("127.0.0.1")
    ('::1', 'localhost', '127.0.0.1')
    """
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _json(body: Any, status: int = 200, headers: dict | None = None):
    from starlette.responses import Response

    return Response(_ENCODE(body), status_code=status, media_type="application/json", headers=headers)


class _Disconnected(Exception):
    """The client went away before its request body arrived."""


class _RawHeaders:
    """Read access to an ASGI scope's headers, ``get(name)`` as Starlette's (first value wins)."""

    __slots__ = ("_d",)

    def __init__(self, raw):
        self._d = dict(reversed(raw))  # names are lower case (ASGI); reversed: the first one wins

    def get(self, name: str, default=None):
        v = self._d.get(name.encode("latin-1"))
        return default if v is None else v.decode("latin-1")


class _RawRequest:
    """What the route code reads of a request, straight from the ASGI scope (no Starlette)."""

    __slots__ = ("headers", "receive")

    def __init__(self, scope, receive):
        self.headers = _RawHeaders(scope["headers"])
        self.receive = receive

    async def read(self, max_body: int, timeout: float) -> bytes:
        """The body, refused past ``max_body`` bytes (413) or ``timeout`` seconds (408).

        The usual body is already buffered by the server when the route runs, so its receive
        completes without waiting: that first step runs without a timer; any wait (a body
        still on its way, or more of it) runs under the deadline.
        """
        deadline = None
        chunks = []
        size = 0
        while True:
            msg = None
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + timeout
                step = self.receive()
                try:
                    pending = step.send(None)
                except StopIteration as done:
                    msg = done.value
                else:  # it has to wait: go on waiting, under the deadline
                    msg = await _deadline(_Resumed(step, pending), deadline, timeout)
            else:
                msg = await _deadline(self.receive(), deadline, timeout)
            if msg["type"] != "http.request":
                raise _Disconnected
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > max_body:
                raise RequestError(413, f"body larger than {max_body} bytes", "body")
            chunks.append(chunk)
            if not msg.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _Resumed:
    """Awaitable finishing coroutine ``coro`` that already ran up to its first suspension
    (``pending``, what it yielded): what the task sends or throws in goes on to ``coro``."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro, pending):
        self._coro = coro
        self._pending = pending

    def __await__(self):
        coro, out = self._coro, self._pending
        while True:
            try:
                value = yield out
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation (the deadline) and the like
                try:
                    out = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    out = coro.send(value)
                except StopIteration as done:
                    return done.value


async def _deadline(awaitable, deadline: float, timeout: float):
    try:
        async with asyncio.timeout_at(deadline):
            return await awaitable
    except TimeoutError:
        raise RequestError(408, f"body not received within {timeout:g} s", "body") from None


_JSON_TYPE = (b"content-type", b"application/json")


async def _send_json(send, status: int, body: Any, headers: dict | None = None) -> None:
    if len(body) == 2 and type(body.get("offset")) is int and type(body.get("count")) is int:
        data = b'{"offset":%d,"count":%d}' % (body["offset"], body["count"])  # the usual answer
    else:
        data = _ENCODE(body).encode()
    head = [_JSON_TYPE, (b"content-length", b"%d" % len(data))]
    if headers:
        head += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": data})


class _App:
    """The ASGI app: the hot ``POST`` routes (writes, predictions) answered straight from the
    ASGI scope, everything else (and any request under a mount point) by the Starlette app."""

    def __init__(self, inner, hot: dict):
        self._inner = inner
        self._hot = hot
        self.state = inner.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            handler = self._hot.get(scope["path"])
            if handler is not None:
                await handler(scope, receive, send)
                return
        await self._inner(scope, receive, send)


def _error(err: RequestError, headers: dict | None = None):
    return _json({"error": err.to_dict()}, err.status, headers)


def create_app(service: LearnerService, *, token: str | None = None, limits: Limits | None = None,
               metrics: Telemetry | None = None, close_service: bool = False, max_group: int = 512,
               allowed_hosts=None, allowed_origins=(), body_timeout: float = 30.0):
    """Build the Starlette application serving ``service``.

    Parameters
    ----------
    service
        The learner host (it keeps running after the app stops unless ``close_service``).
    token
        Bearer token required on every route except ``GET /health`` (compared in constant
        time); ``None`` for no authentication.
    limits
        Body size, batch size, features per event and idempotency-key length limits.
    metrics
        Shared :class:`~onlinekit.serve.telemetry.Telemetry` (a new one by default).
    close_service
        Close the service (final snapshot) when the app shuts down.
    max_group
        Most requests committed in one transaction.
    allowed_hosts
        Host header names accepted (port ignored); ``None`` accepts any (the CLI passes the
        loopback names and the bind address).
    allowed_origins
        ``Origin`` values accepted; a request with any other ``Origin`` gets 403.
    body_timeout
        Seconds allowed to receive a request body (408 after).

    Returns
    -------
    ASGI application
        The routes of the learner's operations are answered straight over ASGI (the hot path:
        the same checks, no per-request framework objects); the rest by a Starlette app
        (also every request under a mount point). ``app.state.service`` and
        ``app.state.metrics`` are reachable.

    Examples
    --------
    >>> import tempfile
    >>> from starlette.testclient import TestClient
    >>> from onlinekit.serve import LearnerService, create_app
    >>> svc = LearnerService(tempfile.mkdtemp(), "ogd", {"lr": 0.1})
    >>> with TestClient(create_app(svc, close_service=True)) as client:
    ...     r = client.post("/learn", json={"x": [1.0, 2.0], "y": 3.0})
    ...     print(r.status_code, r.json())
    ...     print(client.post("/learn", json={"x": [1.0], "y": "a"}).json()["error"]["field"])
    200 {'offset': 0, 'count': 1}
    y
    """
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import Response
    from starlette.routing import Route

    limits = limits or Limits()
    metrics = metrics or Telemetry()
    committer = _GroupCommitter(service, max_group=max_group)
    token_b = token.encode("utf-8") if token is not None else None
    known_routes = set()

    def _authorized(request) -> RequestError | None:
        if token_b is None:
            return None
        auth = request.headers.get("authorization")
        if auth is None:
            return RequestError(401, "missing bearer token", "Authorization")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8", "replace"), token_b):
            return RequestError(401, "invalid bearer token", "Authorization")
        return None

    hosts = None if allowed_hosts is None else {h.lower().strip("[]") for h in allowed_hosts}
    origins = {o.rstrip("/").lower() for o in allowed_origins}

    def _edge(request) -> RequestError | None:
        if hosts is not None:
            host = request.headers.get("host", "")
            if _host_name(host) not in hosts:
                return RequestError(403, f"Host {host!r} is not served here", "Host")
        origin = request.headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in origins:
            return RequestError(403, f"cross-origin request from {origin!r} refused", "Origin")
        return None

    def _require_json(request) -> None:
        ctype = request.headers.get("content-type", "")
        if ctype.split(";", 1)[0].strip().lower() != "application/json":
            raise RequestError(415, f"expected Content-Type application/json, got {ctype or 'none'!r}", "Content-Type")

    async def _read_body(request) -> bytes:
        _require_json(request)
        if type(request) is _RawRequest:  # its own deadline, armed only when it has to wait
            return await _read_body_now(request)
        try:
            async with asyncio.timeout(body_timeout):
                return await _read_body_now(request)
        except TimeoutError:
            raise RequestError(408, f"body not received within {body_timeout:g} s", "body") from None

    async def _read_body_now(request) -> bytes:
        cl = request.headers.get("content-length")
        if cl is not None:
            if not cl.isdigit():
                raise RequestError(400, "invalid Content-Length", "Content-Length")
            if int(cl) > limits.max_body:
                raise RequestError(413, f"body larger than {limits.max_body} bytes", "body")
        if type(request) is _RawRequest:
            return await request.read(limits.max_body, body_timeout)
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body:
                raise RequestError(413, f"body larger than {limits.max_body} bytes", "body")
            chunks.append(chunk)
        return b"".join(chunks)

    def endpoint(route: str, fn, *, auth: bool = True):
        known_routes.add(route)

        async def handler(request):
            t0 = time.perf_counter()
            headers = None
            try:
                err = _edge(request)
                if err is not None:
                    raise err
                if auth:
                    err = _authorized(request)
                    if err is not None:
                        raise err
                resp = await fn(request)
                if type(resp) is tuple:  # (status, body, headers) of a hot route's code
                    resp = _json(resp[1], resp[0], resp[2])
            except RequestError as err:
                if err.status == 401:
                    headers = {"WWW-Authenticate": 'Bearer realm="onlinekit"'}
                resp = _error(err, headers)
            metrics.observe(route, resp.status_code, time.perf_counter() - t0)
            return resp

        return handler

    def raw_endpoint(route: str, fn):
        """``fn`` (a route's code) as a raw ASGI handler: the checks of :func:`endpoint`, no
        Starlette request or response objects."""

        async def handler(scope, receive, send):
            t0 = time.perf_counter()
            request = _RawRequest(scope, receive)
            headers = None
            try:
                err = _edge(request) or _authorized(request)
                if err is not None:
                    raise err
                status, body, headers = await fn(request)
            except RequestError as err:
                status, body = err.status, {"error": err.to_dict()}
                if status == 401:
                    headers = {"WWW-Authenticate": 'Bearer realm="onlinekit"'}
            except _Disconnected:
                return  # nobody to answer
            except Exception:
                err = RequestError(500, "internal error", None)
                await _send_json(send, 500, {"error": err.to_dict()})
                metrics.observe(route, 500, time.perf_counter() - t0)
                raise  # the server logs it
            await _send_json(send, status, body, headers)
            metrics.observe(route, status, time.perf_counter() - t0)

        return handler

    def _idempotency_key(request) -> str | None:
        key = request.headers.get("idempotency-key")
        if key is None:
            return None
        if not key or len(key) > limits.max_key or not key.isascii() or not key.isprintable():
            raise RequestError(400, f"must be 1 to {limits.max_key} printable ASCII characters", "Idempotency-Key")
        return key

    # route code returns (status, body, extra headers): answered by endpoint() through Starlette
    # or by raw_endpoint() straight over ASGI (the routes of the learner's own operations)
    def _served(op: str) -> None:
        if op not in service.ops:
            raise RequestError(404, f"learner {service.name!r} ({service.kind}) has no /{op}", "route")

    async def _committed(req: Request):
        out = await committer.submit(req)
        return out.status, out.body, _REPLAYED if out.replayed else None

    def _read_answer(results: list, batch: bool):
        return 200, ({"results": results} if batch else results[0]), None

    def write_route(op: str, batch: bool):
        async def fn(request):
            _served(op)
            key = _idempotency_key(request)
            events, texts = parse_events(op, await _read_body(request), limits, batch)
            return await _committed(Request(op, events, key=key, batch=batch, texts=texts))
        return fn

    def predict_route(batch: bool):
        async def fn(request):
            _served("predict")
            events, _ = parse_events("predict", await _read_body(request), limits, batch)
            return _read_answer(await asyncio.to_thread(service.predict, [e["x"] for e in events]), batch)
        return fn

    # play / update of the experts and OCO protocols: a play that only reads (no OCO hint) is
    # answered like /predict, anything else is a logged, group-committed write
    def round_route(op: str, batch: bool):
        async def fn(request):
            _served(op)
            key = _idempotency_key(request)
            doc = parse_json(await _read_body(request))
            if batch:
                events = validate_round_batch(service.kind, op, doc, limits)
            else:
                events = [validate_round(service.kind, op, doc, limits)]
            if op == "play" and not any(service.protocol.play_writes(ev) for ev in events):
                return _read_answer(await asyncio.to_thread(service.play, events, batch), batch)
            return await _committed(Request(op, events, key=key, batch=batch))
        return fn

    async def health(request):
        return _json(service.health())

    async def metrics_route(request):
        return Response(metrics.render(service), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def snapshot(request):
        off = await asyncio.to_thread(service.snapshot)
        return _json({"offset": off})

    routes = [
        Route("/health", endpoint("/health", health, auth=False), methods=["GET"]),
        Route("/metrics", endpoint("/metrics", metrics_route), methods=["GET"]),
        Route("/snapshot", endpoint("/snapshot", snapshot), methods=["POST"]),
    ]
    hot = {}  # POST routes of the learner's operations: answered without Starlette

    def add(path: str, fn, op: str) -> None:
        routes.append(Route(path, endpoint(path, fn), methods=["POST"]))
        if op in service.ops:
            hot[path] = raw_endpoint(path, fn)

    add("/predict", predict_route(False), "predict")
    add("/predict/batch", predict_route(True), "predict")
    for op in _WRITE_OPS:
        add(f"/{op}", write_route(op, False), op)
        add(f"/{op}/batch", write_route(op, True), op)
    for op in ("play", "update"):
        add(f"/{op}", round_route(op, False), op)
        add(f"/{op}/batch", round_route(op, True), op)

    async def http_error(request, exc: HTTPException):
        # unknown routes (404) and wrong methods (405): JSON like every other error
        t0 = time.perf_counter()
        path = request.url.path
        if exc.status_code == 404:
            err = RequestError(404, f"no route {path!r}", "route")
        elif exc.status_code == 405:
            err = RequestError(405, f"method {request.method} not allowed on {path}", "method")
        else:
            err = RequestError(exc.status_code, str(exc.detail), None)
        resp = _error(err, getattr(exc, "headers", None))
        metrics.observe(path if path in known_routes else "other", resp.status_code, time.perf_counter() - t0)
        return resp

    @asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            committer._executor.shutdown(wait=True)
            if close_service:
                await asyncio.to_thread(service.close)

    inner = Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error}, lifespan=lifespan)
    inner.state.service = service
    inner.state.metrics = metrics
    return _App(inner, hot)
