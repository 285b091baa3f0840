"""The HTTP connection layer under the app: a deadline and a size cap for a request's head.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``), but a connection that
opens and then sends its headers slowly (or never) is kept forever, and its httptools parser
has no cap on the size of an unfinished head. :func:`protocol_class` returns uvicorn's
httptools protocol (the C parser: several times faster per request than h11) with two guards:

* from the moment a connection opens, and again after each response, the client has
  ``header_timeout`` seconds to complete the next request head; otherwise the connection is
  closed (body reads have their own deadline in the app);
* a request head (request line and headers) longer than ``max_header_bytes`` gets
  ``431 Request Header Fields Too Large`` and the connection is closed.

With httptools, a response's head and body also leave in one write (:class:`_OneWritePerResponse`).

Where httptools is not installed, uvicorn's pure-Python h11 protocol is used with the same
deadline and its own incomplete-head cap.
"""

from __future__ import annotations

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


def _httptools_class():
    import httptools  # noqa: F401 - only to fall back to h11 without it
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
                msg = b"request head too large"
                self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
                                     b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(msg), msg))
                self.transport.close()

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
