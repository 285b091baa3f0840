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
(group commit). The event loop never waits for the service's lock: a group runs on the loop
itself only when the lock is free at that moment, commits are not fsynced (``sync="normal"``),
no snapshot or WAL checkpoint falls due in it and its measured cost is within
``inline_budget`` (5 ms by default, the longest a worker thread may hold the interpreter
anyway); anything else runs in the commit worker thread (:meth:`LearnerService.process_now`,
:meth:`~LearnerService.process`). Predictions and plays are answered the same way
(:meth:`~LearnerService.read_now`, else a worker), and ``POST /snapshot`` copies the state on
the loop when it can (:meth:`~LearnerService.snapshot_now`; the writer thread encodes it).
Thread hand-offs cost more than small groups: this is what makes one-event requests cheap.
Reads only ever see committed, whole requests.

Served by ``onlinekit serve``, the operations' routes skip ASGI altogether: the HTTP protocol
of :mod:`onlinekit.serve.http_edge` runs them from its parser callbacks through
:class:`FastLane` (same checks, same answers; tested against the Starlette routes).

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
import logging
import sys
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
from onlinekit.serve.service import LearnerService, Request

__all__ = ["create_app"]

_WRITE_OPS = ("learn", "act", "feedback", "release")
_REPLAYED = {"Idempotent-Replayed": "true"}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="onlinekit"'}
_log = logging.getLogger("onlinekit.serve")


class _GroupCommitter:
    """Collects write requests from the event loop and commits them in groups.

    A group runs on the event loop itself when the service can take it at once within
    ``budget`` seconds (:meth:`LearnerService.process_now`: lock free, no fsync, measured
    cost); otherwise, or for what is left, in the commit worker thread.
    """

    def __init__(self, service: LearnerService, max_group: int = 512, budget: float = 0.005):
        from concurrent.futures import ThreadPoolExecutor

        self.service = service
        self.max_group = max_group
        self.budget = budget
        self._pending: list[tuple[Request, Any]] = []
        self._running = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onlinekit-commit")

    def enqueue(self, req: Request, done, failed) -> None:
        """Commit ``req`` with the next group; then ``done(status, body, headers)`` (or
        ``failed(exc)``) is called on the event loop."""
        self._pending.append((req, (done, failed)))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                await asyncio.sleep(0)  # let requests parsed in this loop iteration join the group
                group = self._pending[: self.max_group]
                del self._pending[: self.max_group]
                reqs = [r for r, _ in group]
                outs: list = []
                try:
                    if self.budget > 0:
                        outs, left = self.service.process_now(reqs, self.budget)
                        if outs and left:  # the rest waits for the next round (the loop reads meanwhile)
                            self._pending[:0] = group[len(outs):]
                            group = group[: len(outs)]
                    if not outs:  # off the loop: the loop keeps reading requests (they join the next group)
                        outs = await loop.run_in_executor(self._executor, self.service.process, reqs)
                except Exception as exc:  # noqa: BLE001 - answer every waiter
                    for _, (_, failed) in group:
                        failed(exc)
                    continue
                for (_, (done, _)), out in zip(group, outs, strict=True):
                    try:
                        done(out.status, out.body, _REPLAYED if out.replayed else None)
                    except Exception:  # noqa: BLE001 - the other waiters still get their answers
                        _log.exception("answering a committed request failed")
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


def _answer_bytes(body: Any) -> bytes:
    """A JSON answer's bytes (the usual write answer formatted directly)."""
    if len(body) == 2 and type(body.get("offset")) is int and type(body.get("count")) is int:
        return b'{"offset":%d,"count":%d}' % (body["offset"], body["count"])
    return _ENCODE(body).encode()


def _head_lines(headers: dict) -> bytes:
    """Extra response header lines, ``name: value\\r\\n`` each."""
    return b"".join(b"%s: %s\r\n" % (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())


async def _send_json(send, status: int, body: Any, headers: dict | None = None) -> None:
    data = _answer_bytes(body)
    head = [_JSON_TYPE, (b"content-length", b"%d" % len(data))]
    if headers:
        head += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": data})


class _Op:
    """An operation's route: ``check(headers)`` -> idempotency key (or a refusal), then
    ``plan(body, key)`` -> a :class:`Request` to commit or ``(fn, args, batch)``, a read."""

    __slots__ = ("path", "check", "plan")

    def __init__(self, path: str, check, plan):
        self.path = path
        self.check = check
        self.plan = plan


_REFUSED = object()  # FastLane.begin answered the request already (a refusal)


class FastLane:
    """The operations' routes as plain callbacks, for the HTTP protocol of
    :mod:`onlinekit.serve.http_edge` (no ASGI cycle, task or coroutine per request).

    The protocol looks a request's target up in ``routes`` (exact bytes, ``POST`` only) and
    then calls, in order: ``begin(route, raw_headers, send, t0)`` when the request's turn comes
    (Host/Origin/token and header checks; returns the idempotency key, or ``REFUSED`` once it
    has answered); ``run(route, key, body, send, t0)`` with the whole body; or
    ``refuse(route, 413 | 408, send, t0)`` when the body is over ``max_body`` bytes or not
    received within ``body_timeout`` seconds. Each answers through ``send(status, data,
    extra_head)`` exactly once, possibly later (after the group commit or a worker thread).
    """

    REFUSED = _REFUSED
    __slots__ = ("routes", "max_body", "body_timeout", "begin", "run", "refuse")

    def __init__(self, routes: dict, max_body: int, body_timeout: float, begin, run, refuse):
        self.routes = routes
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.begin = begin
        self.run = run
        self.refuse = refuse


class _App:
    """The ASGI app: the hot ``POST`` routes (the learner's operations) answered straight from
    the ASGI scope, everything else (and any request under a mount point) by the Starlette app.
    ``fast_lane`` (a :class:`FastLane`) serves the same routes to the HTTP protocol of
    :mod:`onlinekit.serve.http_edge` without ASGI."""

    def __init__(self, inner, hot: dict, fast_lane: FastLane | None = None):
        self._inner = inner
        self._hot = hot
        self.state = inner.state
        self.fast_lane = fast_lane

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
               allowed_hosts=None, allowed_origins=(), body_timeout: float = 30.0, inline_budget: float | None = None):
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
    inline_budget
        Longest a group commit or a read may run on the event loop itself, by the service's
        measured cost (seconds; default: the interpreter's thread switch interval, 5 ms, the
        longest a worker thread may hold the interpreter anyway). Longer work, work that
        would wait for the service's lock, and fsynced commits run in worker threads. ``0``
        runs everything in workers.

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
    if inline_budget is None:
        inline_budget = sys.getswitchinterval()
    if not inline_budget >= 0:
        raise ValueError(f"inline_budget must be >= 0 seconds, got {inline_budget!r}")
    committer = _GroupCommitter(service, max_group=max_group, budget=inline_budget)
    token_b = token.encode("utf-8") if token is not None else None
    known_routes = set()

    def _authorized(headers) -> RequestError | None:
        if token_b is None:
            return None
        auth = headers.get("authorization")
        if auth is None:
            return RequestError(401, "missing bearer token", "Authorization")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8", "replace"), token_b):
            return RequestError(401, "invalid bearer token", "Authorization")
        return None

    hosts = None if allowed_hosts is None else {h.lower().strip("[]") for h in allowed_hosts}
    origins = {o.rstrip("/").lower() for o in allowed_origins}

    def _edge(headers) -> RequestError | None:
        if hosts is not None:
            host = headers.get("host", "")
            if _host_name(host) not in hosts:
                return RequestError(403, f"Host {host!r} is not served here", "Host")
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in origins:
            return RequestError(403, f"cross-origin request from {origin!r} refused", "Origin")
        return None

    def _gate(headers) -> None:
        """Host, Origin, then the token (every route but ``GET /health``)."""
        err = _edge(headers) or _authorized(headers)
        if err is not None:
            raise err

    def endpoint(route: str, fn, *, auth: bool = True):
        known_routes.add(route)

        async def handler(request):
            t0 = time.perf_counter()
            headers = None
            try:
                err = _edge(request.headers)
                if err is not None:
                    raise err
                if auth:
                    err = _authorized(request.headers)
                    if err is not None:
                        raise err
                resp = await fn(request)
                if type(resp) is tuple:  # (status, body, headers) of an operation's route
                    resp = _json(resp[1], resp[0], resp[2])
            except RequestError as err:
                if err.status == 401:
                    headers = _CHALLENGE
                resp = _error(err, headers)
            metrics.observe(route, resp.status_code, time.perf_counter() - t0)
            return resp

        return handler

    def _idempotency_key(headers) -> str | None:
        key = headers.get("idempotency-key")
        if key is None:
            return None
        if not key or len(key) > limits.max_key or not key.isascii() or not key.isprintable():
            raise RequestError(400, f"must be 1 to {limits.max_key} printable ASCII characters", "Idempotency-Key")
        return key

    def _body_head(headers) -> None:
        """What the headers say of the body: JSON (415), a valid length within the limit (400, 413)."""
        ctype = headers.get("content-type", "")
        if ctype.split(";", 1)[0].strip().lower() != "application/json":
            raise RequestError(415, f"expected Content-Type application/json, got {ctype or 'none'!r}", "Content-Type")
        cl = headers.get("content-length")
        if cl is not None:
            if not cl.isdigit():
                raise RequestError(400, "invalid Content-Length", "Content-Length")
            if int(cl) > limits.max_body:
                raise RequestError(413, f"body larger than {limits.max_body} bytes", "body")

    # An operation's route is an _Op: ``check(headers)`` (after the gate) returns the
    # idempotency key or refuses; ``plan(body, key)`` parses and validates the body and returns
    # what to do: a Request (logged, group-committed) or ``(fn, args, batch)``, a read run in a
    # worker thread. Three ways run them: endpoint() under Starlette, raw_endpoint() straight
    # over ASGI, and the HTTP protocol's fast lane (FastLane, from the parser's callbacks).
    def _served(op: str) -> None:
        if op not in service.ops:
            raise RequestError(404, f"learner {service.name!r} ({service.kind}) has no /{op}", "route")

    def op_route(path: str, op: str, keyed: bool, plan) -> _Op:
        def check(headers):
            _served(op)
            key = _idempotency_key(headers) if keyed else None
            _body_head(headers)
            return key
        return _Op(path, check, plan)

    def write_plan(op: str, batch: bool):
        def plan(body: bytes, key):
            events, texts = parse_events(op, body, limits, batch)
            return Request(op, events, key=key, batch=batch, texts=texts)
        return plan

    def predict_plan(batch: bool):
        def plan(body: bytes, key):
            events, _ = parse_events("predict", body, limits, batch)
            return "predict", ([e["x"] for e in events],), batch
        return plan

    # play / update of the experts and OCO protocols: a play that only reads (no OCO hint) is
    # answered like /predict, anything else is a logged, group-committed write
    def round_plan(op: str, batch: bool):
        def plan(body: bytes, key):
            doc = parse_json(body)
            if batch:
                events = validate_round_batch(service.kind, op, doc, limits)
            else:
                events = [validate_round(service.kind, op, doc, limits)]
            if op == "play" and not any(service.protocol.play_writes(ev) for ev in events):
                return "play", (events, batch), batch
            return Request(op, events, key=key, batch=batch)
        return plan

    def _start(action, done, failed) -> None:
        """Run a route's ``action``: a Request joins the group commit; a read is answered now
        when the service allows (``read_now``), else in a worker. Then ``done(status, body,
        headers)`` or ``failed(exc)`` (a RequestError for a refusal), once, on the event loop."""
        if type(action) is Request:
            committer.enqueue(action, done, failed)
            return
        op, args, batch = action
        try:
            out = service.read_now(op, args, inline_budget) if inline_budget > 0 else None
        except Exception as exc:  # noqa: BLE001 - a refusal (422) or a failure, as from a worker
            failed(exc)
            return
        if out is not None:
            done(*_read_answer(out, batch))
            return

        def read_done(fut) -> None:
            exc = fut.exception()
            if exc is not None:
                failed(exc)
            else:
                done(*_read_answer(fut.result(), batch))

        asyncio.get_running_loop().run_in_executor(None, getattr(service, op), *args).add_done_callback(read_done)

    async def _execute(action):
        """:func:`_start` awaited: ``(status, body, headers)``, or the exception raised."""
        fut = asyncio.get_running_loop().create_future()

        def done(*answer) -> None:
            if not fut.done():
                fut.set_result(answer)

        def failed(exc: BaseException) -> None:
            if not fut.done():
                fut.set_exception(exc)

        _start(action, done, failed)
        return await fut

    async def _read_stream(request) -> bytes:
        """A Starlette request's body, refused past the size limit (413) or deadline (408)."""
        chunks = []
        size = 0
        try:
            async with asyncio.timeout(body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limits.max_body:
                        raise RequestError(413, f"body larger than {limits.max_body} bytes", "body")
                    chunks.append(chunk)
        except TimeoutError:
            raise RequestError(408, f"body not received within {body_timeout:g} s", "body") from None
        return b"".join(chunks)

    def starlette_fn(route: _Op):
        async def fn(request):
            key = route.check(request.headers)
            return await _execute(route.plan(await _read_stream(request), key))
        return fn

    def raw_endpoint(route: _Op):
        """``route`` as a raw ASGI handler: the checks of :func:`endpoint`, no Starlette
        request or response objects."""

        async def handler(scope, receive, send):
            t0 = time.perf_counter()
            request = _RawRequest(scope, receive)
            headers = None
            try:
                _gate(request.headers)
                key = route.check(request.headers)
                body = await request.read(limits.max_body, body_timeout)
                status, body, headers = await _execute(route.plan(body, key))
            except RequestError as err:
                status, body = err.status, {"error": err.to_dict()}
                if status == 401:
                    headers = _CHALLENGE
            except _Disconnected:
                return  # nobody to answer
            except Exception:
                err = RequestError(500, "internal error", None)
                await _send_json(send, 500, {"error": err.to_dict()})
                metrics.observe(route.path, 500, time.perf_counter() - t0)
                raise  # the server logs it
            await _send_json(send, status, body, headers)
            metrics.observe(route.path, status, time.perf_counter() - t0)

        return handler

    # -- the fast lane: the same steps as raw_endpoint, driven by the HTTP protocol's callbacks
    def _reply(route: _Op, send, t0: float, status: int, body, headers) -> None:
        data = _answer_bytes(body)
        send(status, data, _head_lines(headers) if headers else b"")
        metrics.observe(route.path, status, time.perf_counter() - t0)

    def _refuse(route: _Op, send, t0: float, err: RequestError) -> None:
        _reply(route, send, t0, err.status, {"error": err.to_dict()}, _CHALLENGE if err.status == 401 else None)

    def lane_begin(route: _Op, raw_headers: list, send, t0: float):
        headers = _RawHeaders(raw_headers)
        try:
            _gate(headers)
            return route.check(headers)
        except RequestError as err:
            _refuse(route, send, t0, err)
            return _REFUSED

    def lane_run(route: _Op, key, body: bytes, send, t0: float) -> None:
        try:
            action = route.plan(body, key)
        except RequestError as err:
            _refuse(route, send, t0, err)
            return
        except Exception:
            _lane_failed(route, send, t0)
            return

        def done(status: int, out_body, headers) -> None:
            _reply(route, send, t0, status, out_body, headers)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, RequestError):
                _refuse(route, send, t0, exc)
            else:
                _lane_failed(route, send, t0, exc)

        _start(action, done, failed)

    def _lane_failed(route: _Op, send, t0: float, exc: BaseException | None = None) -> None:
        _log.error("Exception in %s", route.path, exc_info=exc if exc is not None else True)
        _reply(route, send, t0, 500, {"error": RequestError(500, "internal error", None).to_dict()}, None)

    def lane_refuse(route: _Op, status: int, send, t0: float) -> None:
        """A refusal found while receiving the body: too large (413) or too slow (408)."""
        if status == 413:
            err = RequestError(413, f"body larger than {limits.max_body} bytes", "body")
        else:
            err = RequestError(408, f"body not received within {body_timeout:g} s", "body")
        _refuse(route, send, t0, err)

    def _read_answer(results: list, batch: bool):
        return 200, ({"results": results} if batch else results[0]), None

    async def health(request):
        return _json(service.health())

    async def metrics_route(request):
        return Response(metrics.render(service), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def snapshot(request):
        started = service.snapshot_now(inline_budget) if inline_budget > 0 else None
        if started is not None:  # copied on the loop; encoded and written by the writer thread
            off = await asyncio.wrap_future(started)
        else:
            off = await asyncio.to_thread(service.snapshot)
        return _json({"offset": off})

    routes = [
        Route("/health", endpoint("/health", health, auth=False), methods=["GET"]),
        Route("/metrics", endpoint("/metrics", metrics_route), methods=["GET"]),
        Route("/snapshot", endpoint("/snapshot", snapshot), methods=["POST"]),
    ]
    hot = {}  # POST routes of the learner's operations: answered without Starlette

    def add(path: str, op: str, keyed: bool, plan) -> None:
        route = op_route(path, op, keyed, plan)
        routes.append(Route(path, endpoint(path, starlette_fn(route)), methods=["POST"]))
        if op in service.ops:
            hot[path] = route

    add("/predict", "predict", False, predict_plan(False))
    add("/predict/batch", "predict", False, predict_plan(True))
    for op in _WRITE_OPS:
        add(f"/{op}", op, True, write_plan(op, False))
        add(f"/{op}/batch", op, True, write_plan(op, True))
    for op in ("play", "update"):
        add(f"/{op}", op, True, round_plan(op, False))
        add(f"/{op}/batch", op, True, round_plan(op, True))
    lane = FastLane({p.encode("ascii"): r for p, r in hot.items()}, limits.max_body, body_timeout,
                    lane_begin, lane_run, lane_refuse)


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
    return _App(inner, {p: raw_endpoint(r) for p, r in hot.items()}, lane)
