"""The HTTP connection layer under the app: a deadline for a request's headers.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) and caps the size of an
unfinished request head (``h11_max_incomplete_event_size``), but a connection that opens and
then sends its headers slowly (or never) is kept forever. :func:`protocol_class` returns
uvicorn's h11 protocol with one more timer: from the moment a connection opens, and again
after each response, the client has ``header_timeout`` seconds to complete the next request
head; otherwise the connection is closed. Body reads have their own deadline in the app.
"""

from __future__ import annotations

__all__ = ["protocol_class"]


def protocol_class(header_timeout: float):
    """uvicorn ``http=`` protocol class (h11) that closes connections slow to send headers.

    Examples
    --------
    >>> cls = protocol_class(5.0)
    >>> cls.header_timeout
    5.0
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    if not header_timeout > 0:
        raise ValueError(f"header_timeout must be > 0, got {header_timeout!r}")

    class HeaderDeadlineH11(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._head_timer = None
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

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()  # a request head arrived: the app's body deadline takes over

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
                self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    HeaderDeadlineH11.header_timeout = float(header_timeout)
    return HeaderDeadlineH11
