"""The HTTP connection layer under the app: a deadline and a size cap for a request's head,
and the fast lane of the learner's operations.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``), but a connection that
opens and then sends its headers slowly (or never) is kept forever, and its httptools parser
has no cap on the size of an unfinished head. :func:`protocol_class` returns uvicorn's
httptools protocol (the C parser: several times faster per request than h11) with two guards:

* from the moment a connection opens, and again after each response, the client has
  ``header_timeout`` seconds to complete the next request head; otherwise the connection is
  closed (body reads have their own deadline in the app);
* a request head (request line and headers) longer than ``max_header_bytes`` gets
  ``431 Request Header Fields Too Large`` and the connection is closed.

The head deadline and keep-alive share one timer per connection, re-armed only when it fires
(not two timers armed and cancelled per request).

The fast lane: when the app has one (:class:`onlinekit.serve.app.FastLane`, the operations'
``POST`` routes), such a request is answered from the parser's callbacks (:class:`_FastCycle`):
no ASGI scope, task or coroutine, the answer in one write. It takes uvicorn's place in the
connection's pipeline, so pipelined requests keep their order, and it keeps the connection
limit, ``Connection: close``, HTTP/1.0 and the body deadline and size limit. Anything else
(other routes, ``Expect: 100-continue``, a query string) goes through ASGI; there a response's
head and body also leave in one write (:class:`_OneWritePerResponse`). The lane and the lazy
timer build on internals of uvicorn's protocol (its pipeline queue, ``_start_asgi_task``);
with a uvicorn that lacks them the class has the guards only (per-request timers, every
request through ASGI).

Where httptools is not installed, uvicorn's pure-Python h11 protocol is used with the same
deadline and its own incomplete-head cap.
"""

from __future__ import annotations

import time
from http import HTTPStatus

__all__ = ["protocol_class"]


def _guards(base):
    """``base`` (a uvicorn HTTP protocol class) with the head deadline and size cap."""

    class HeadGuarded(base):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._head_timer = None
            self._head_bytes = 0
            self._in_head = True
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_expired)

        def _disarm(self) -> None:
            t = getattr(self, "_head_timer", None)
            if t is not None:
                t.cancel()
                self._head_timer = None

        def _head_expired(self) -> None:
            self._head_timer = None
            in_flight = self.cycle is not None and not self.cycle.response_complete
            if not in_flight and not self.transport.is_closing():
                self.transport.close()

        def _head_done(self) -> None:
            self._in_head = False
            self._head_bytes = 0
            self._disarm()  # a request head arrived: the app's body deadline takes over

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
                self._in_head = True
                self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeadGuarded


class _OneWritePerResponse:
    """A transport that holds a response head until its body is written, then sends both in one
    ``write`` (one system call and one TCP segment per small response instead of two).

    A head whose body does not follow in the same loop iteration (a ``HEAD`` request, a
    streamed body) is sent on its own at the next iteration; ``close`` sends what is held first.
    Everything else is the wrapped transport's.
    """

    __slots__ = ("_transport", "_loop", "_held", "_handle")

    def __init__(self, transport, loop):
        self._transport = transport
        self._loop = loop
        self._held = None
        self._handle = None

    def write(self, data) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._handle.cancel()
            self._transport.write(held + data)
        elif data[:5] == b"HTTP/" and data[-4:] == b"\r\n\r\n":
            self._held = bytes(data)
            self._handle = self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._handle.cancel()
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name):
        return getattr(self._transport, name)


class _FastCycle:
    """One request on the fast lane (see :class:`onlinekit.serve.app.FastLane`): it stands
    where uvicorn keeps a request-response cycle (``protocol.cycle``, the pipeline queue), so
    keep-alive, pipelining order, shutdown and disconnects work as for any request, but no
    ASGI task or coroutine runs for it. The body is gathered from the parser's callbacks; the
    answer leaves in one write.
    """

    __slots__ = ("proto", "lane", "route", "headers", "keep_alive", "response_complete", "disconnected",
                 "chunks", "size", "more_body", "started", "key", "timer", "t0", "too_big")

    def __init__(self, proto, lane, route, headers: list, keep_alive: bool):
        self.proto = proto
        self.lane = lane
        self.route = route
        self.headers = headers
        self.keep_alive = keep_alive
        self.response_complete = False
        self.disconnected = False
        self.chunks: list = []
        self.size = 0
        self.more_body = True
        self.started = False
        self.key = None
        self.timer = None
        self.t0 = 0.0
        self.too_big = False

    @property
    def message_event(self):
        return self  # uvicorn sets a cycle's message event when the connection is lost

    def set(self) -> None:
        if self.disconnected:
            self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def start(self) -> None:
        """Its turn has come (first in the connection's pipeline)."""
        self.started = True
        self.t0 = time.perf_counter()
        lane = self.lane
        key = lane.begin(self.route, self.headers, self.send, self.t0)
        if key is lane.REFUSED:
            return
        self.key = key
        if not self.more_body:
            self._run()
        elif self.too_big:
            lane.refuse(self.route, 413, self.send, self.t0)
        else:
            self.timer = self.proto.loop.call_later(lane.body_timeout, self._expired)
            self.proto.flow.resume_reading()

    def body_part(self, data: bytes) -> None:
        if self.response_complete or self.too_big:
            return
        self.size += len(data)
        if self.size > self.lane.max_body:
            self.too_big = True
            self.chunks = []
            if self.started:
                self.lane.refuse(self.route, 413, self.send, self.t0)
            return
        self.chunks.append(data)

    def body_complete(self) -> None:
        self.more_body = False
        if self.started and not self.response_complete:
            self._cancel_timer()
            self._run()

    def _run(self) -> None:
        if self.too_big:
            self.lane.refuse(self.route, 413, self.send, self.t0)
            return
        chunks = self.chunks
        self.chunks = []
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.lane.run(self.route, self.key, body, self.send, self.t0)

    def _expired(self) -> None:
        self.timer = None
        if not self.response_complete:
            self.lane.refuse(self.route, 408, self.send, self.t0)

    def send(self, status: int, data: bytes, extra: bytes) -> None:
        """Write the answer (head and body in one write); then the connection's next request."""
        if self.response_complete:
            return
        self.response_complete = True
        self._cancel_timer()
        if self.disconnected:
            return
        proto = self.proto
        out = b"%s%s%scontent-length: %d\r\n%s%s\r\n%s" % (
            _status_line(status), proto.default_head(), _JSON_HEAD, len(data), extra,
            b"" if self.keep_alive else b"connection: close\r\n", data)
        if proto.flow.write_paused:  # the client is not reading its answers: wait for it
            proto.loop.create_task(self._send_later(out))
            return
        self._written(out)

    async def _send_later(self, out: bytes) -> None:
        await self.proto.flow.drain()
        if not self.disconnected:
            self._written(out)

    def _written(self, out: bytes) -> None:
        proto = self.proto
        if proto.transport.is_closing():
            return
        proto.transport.write(out)
        if not self.keep_alive:
            proto.transport.close()
        proto.on_response_complete()


_JSON_HEAD = b"content-type: application/json\r\n"
_STATUS_LINES: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    """``HTTP/1.1 200 OK\\r\\n`` and the like.

    >>> _status_line(404)
    b'HTTP/1.1 404 Not Found\\r\\n'
    """
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {phrase}\r\n".encode("ascii")
    return line


def _refuse_long_head(proto) -> None:
    """Answer 431 and close: the request head grew past ``max_header_bytes``."""
    msg = b"request head too large"
    proto.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
                          b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(msg), msg))
    proto.transport.close()


def _plain_httptools_class():
    """uvicorn's httptools protocol with the guards and one write per response, but neither
    the fast lane nor the lazy timer: for uvicorn versions whose protocol lacks the internals
    those build on (``_start_asgi_task``, added in uvicorn 0.4x)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeadGuardedHttpTools(_guards(HttpToolsProtocol)):
        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head = True

        def on_headers_complete(self) -> None:
            self._head_done()
            super().on_headers_complete()
            if self.cycle is not None:
                out = getattr(self, "_one_write", None)
                if out is None or out._transport is not self.transport:
                    out = self._one_write = _OneWritePerResponse(self.transport, self.loop)
                self.cycle.transport = out

        def data_received(self, data: bytes) -> None:
            if self._in_head:
                self._head_bytes += len(data)
            super().data_received(data)
            if self._in_head and self._head_bytes > self.max_header_bytes and not self.transport.is_closing():
                _refuse_long_head(self)

    return HeadGuardedHttpTools


def _httptools_class(lane: bool | None = None):
    """The httptools protocol class; ``lane``: with the fast lane and the lazy timer (default:
    when this uvicorn has the internals they build on)."""
    import httptools  # noqa: F401 - only to fall back to h11 without it
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    if lane is None:
        lane = hasattr(HttpToolsProtocol, "_start_asgi_task")
    if not lane:
        return _plain_httptools_class()

    class HeadGuardedHttpTools(HttpToolsProtocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            lane = getattr(self.app, "fast_lane", None)  # None under a middleware or another app
            self._lane = lane if not self.root_path else None
            self._head_cache = (None, b"")
            self._watch_handle = None
            self._head_bytes = 0
            self._in_head = False  # between a message's first byte and its headers' end

        # -- the head deadline and keep-alive: one lazy timer per connection -----------------
        # ``_idle_at``: when the connection last became idle (opened, or its last response
        # sent); ``_quiet``: no byte arrived since a response. The timer is re-armed when it
        # fires (never per request): an idle connection is closed ``timeout_keep_alive``
        # seconds after a response if nothing came, and ``header_timeout`` seconds after
        # becoming idle if no whole request head came.
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._idle_at = self.loop.time()
            self._quiet = False  # keep-alive starts after the first response (as uvicorn's)
            self._watch_handle = self.loop.call_later(min(self.header_timeout, self.timeout_keep_alive), self._watch)

        def _watch(self) -> None:
            self._watch_handle = None
            if self.transport.is_closing():
                return
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:  # a request in flight
                delay = self.header_timeout
            else:
                deadline = self._idle_at + self.header_timeout
                if self._quiet:
                    deadline = min(deadline, self._idle_at + self.timeout_keep_alive)
                delay = deadline - self.loop.time()
                if delay <= 0:
                    self.transport.close()
                    return
            self._watch_handle = self.loop.call_later(delay, self._watch)

        def connection_lost(self, exc) -> None:
            if self._watch_handle is not None:
                self._watch_handle.cancel()
                self._watch_handle = None
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            # uvicorn's, with the lazy timer instead of a keep-alive timer per response
            self.server_state.total_requests += 1
            if self.transport.is_closing():
                return
            self.flow.resume_reading()
            if self.pipeline:
                cycle, app = self.pipeline.pop()
                self._start_asgi_task(cycle, app)
            else:
                self._idle_at = self.loop.time()
                self._quiet = True

        def default_head(self) -> bytes:
            """The server's default header lines (uvicorn renews the list with the date)."""
            listed, lines = self._head_cache
            current = self.server_state.default_headers
            if listed is not current:
                lines = b"".join(b"%s: %s\r\n" % (k, v) for k, v in current)
                self._head_cache = (current, lines)
            return lines

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head = True
            self._head_bytes = 0

        def on_headers_complete(self) -> None:
            self._in_head = False
            lane = self._lane
            if lane is not None and not self.expect_100_continue:
                route = lane.routes.get(self.url)
                if route is not None and self.parser.get_method() == b"POST" and not self._saturated():
                    parser = self.parser
                    keep = parser.should_keep_alive() and parser.get_http_version() != "1.0"
                    cycle = _FastCycle(self, lane, route, self.headers, keep)
                    current = self.cycle
                    self.cycle = cycle
                    if current is None or current.response_complete:
                        cycle.start()
                    else:  # pipelined behind a request still in flight: its turn comes later
                        self.flow.pause_reading()
                        self.pipeline.appendleft((cycle, None))
                    return
            super().on_headers_complete()
            if self.cycle is not None and type(self.cycle) is not _FastCycle:
                out = getattr(self, "_one_write", None)
                if out is None or out._transport is not self.transport:
                    out = self._one_write = _OneWritePerResponse(self.transport, self.loop)
                self.cycle.transport = out

        def _saturated(self) -> bool:
            limit = self.limit_concurrency
            return limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit)

        def _start_asgi_task(self, cycle, app) -> None:
            if type(cycle) is _FastCycle:
                cycle.start()
            else:
                super()._start_asgi_task(cycle, app)

        def on_body(self, body: bytes) -> None:
            cycle = self.cycle
            if type(cycle) is _FastCycle:
                cycle.body_part(body)
            else:
                super().on_body(body)

        def on_message_complete(self) -> None:
            cycle = self.cycle
            if type(cycle) is _FastCycle:
                cycle.body_complete()
            else:
                super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            self._quiet = False
            was_in_head = self._in_head
            super().data_received(data)
            if was_in_head or self._in_head:  # the bytes of a head still arriving (a whole read counts)
                self._head_bytes += len(data)
            if self._in_head and self._head_bytes > self.max_header_bytes and not self.transport.is_closing():
                _refuse_long_head(self)

    return HeadGuardedHttpTools


def _h11_class():
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadGuardedH11(_guards(H11Protocol)):
        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:
                self._head_done()

    return HeadGuardedH11


def protocol_class(header_timeout: float, max_header_bytes: int = 64 << 10, *, prefer: str = "httptools"):
    """uvicorn ``http=`` protocol class that closes connections slow to send a request head
    and refuses heads longer than ``max_header_bytes``.

    Examples
    --------
    >>> cls = protocol_class(5.0, 8192)
    >>> cls.header_timeout, cls.max_header_bytes
    (5.0, 8192)
    """
    if not header_timeout > 0:
        raise ValueError(f"header_timeout must be > 0, got {header_timeout!r}")
    if not max_header_bytes > 0:
        raise ValueError(f"max_header_bytes must be > 0, got {max_header_bytes!r}")
    cls = None
    if prefer == "httptools":
        try:
            cls = _httptools_class()
        except ImportError:
            cls = None
    if cls is None:
        cls = _h11_class()
    cls.header_timeout = float(header_timeout)
    cls.max_header_bytes = int(max_header_bytes)
    return cls
