"""Redis stream source: a consumer group feeding a :class:`~onlinekit.serve.service.LearnerService`.

Each stream entry carries one event: field ``event`` holds the JSON event (the body the HTTP
route of the same operation takes), optional field ``op`` the operation (default ``learn``
for supervised learners, ``feedback`` for decision makers, ``release`` for counters,
``update`` for experts and OCO learners; ``play`` only with an OCO ``hint``, the one play
that changes state -- a play that only reads has nothing to do in a stream).

For each batch read with ``XREADGROUP``, the consumer **logs, applies, commits, then
acknowledges** (``XACK``). The entry id is the request's idempotency key
(``redis:<stream>:<id>``), stored in the same transaction as the event, so:

* a crash before the commit leaves the entries pending in the group; on restart the consumer
  first re-reads its own pending entries (id ``0``) and applies them -- nothing is lost;
* a crash after the commit but before ``XACK`` re-delivers entries whose key is already
  logged; they are acknowledged without being applied again -- nothing is doubled.

Every entry that fails on its own -- field names or ``op`` that are not UTF-8, malformed JSON, failed validation, an event the learner refuses or one that would
make its state non-finite -- is copied to the dead-letter stream ``<stream>:dead`` (with the
reason, and the raw ``event`` bytes when present) and acknowledged, so one bad entry never
blocks the stream. Run one consumer per state directory.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

from onlinekit.serve._schema import ROUND_OPS, Limits, RequestError, parse_json, validate_event, validate_round
from onlinekit.serve.service import LearnerService, Request

__all__ = ["RedisConsumer", "parse_stream_url"]

_logger = logging.getLogger("onlinekit.serve.consumer")
_LOGGED_OPS = ("learn", "feedback", "release", "update")  # the operation a stream message means by default


@dataclass(frozen=True)
class StreamURL:
    """Parsed ``redis://[:password@]HOST:PORT/STREAM[?db=N]``."""

    host: str
    port: int
    stream: str
    db: int = 0
    password: str | None = None
    ssl: bool = False


def parse_stream_url(url: str) -> StreamURL:
    """Split a stream URL into connection settings and the stream name.

    Examples
    --------
    >>> parse_stream_url("redis://127.0.0.1:6379/events?db=2")
    StreamURL(host='127.0.0.1', port=6379, stream='events', db=2, password=None, ssl=False)
    """
    u = urlparse(url)
    if u.scheme not in ("redis", "rediss"):
        raise ValueError(f"stream URL must start with redis:// or rediss://, got {url!r}")
    stream = unquote(u.path.lstrip("/"))
    if not stream:
        raise ValueError(f"stream URL {url!r} names no stream (redis://HOST:PORT/STREAM)")
    q = parse_qs(u.query)
    db = int(q.get("db", ["0"])[0])
    return StreamURL(u.hostname or "127.0.0.1", u.port or 6379, stream, db,
                     unquote(u.password) if u.password else None, u.scheme == "rediss")


class RedisConsumer:
    """Consume a Redis stream with a consumer group into a learner service.

    Parameters
    ----------
    service
        The learner host (its log holds the idempotency keys that make restarts exact).
    url
        ``redis://HOST:PORT/STREAM`` (see :func:`parse_stream_url`).
    group
        Consumer group name (created at the start of the stream if missing).
    consumer
        This consumer's name in the group; reuse it across restarts to resume its pending
        entries.
    count
        Entries read (and committed together) per round trip.
    block_ms
        How long one read waits for new entries.
    client
        An existing ``redis.Redis`` client (tests); built from ``url`` otherwise.

    Examples
    --------
    >>> from onlinekit.serve.consumer import RedisConsumer
    >>> RedisConsumer.key_for("events", b"1700000000000-0")
    'redis:events:1700000000000-0'
    """

    def __init__(self, service: LearnerService, url: str, group: str, *, consumer: str = "onlinekit",
                 count: int = 256, block_ms: int = 1000, limits: Limits | None = None, client=None):
        self.service = service
        self.url = parse_stream_url(url)
        self.stream = self.url.stream
        self.group = group
        self.consumer = consumer
        self.count = int(count)
        self.block_ms = int(block_ms)
        self.limits = limits or Limits()
        self.dead_stream = f"{self.stream}:dead"
        self.default_op = next(op for op in _LOGGED_OPS if op in service.ops)
        if client is None:
            import redis

            client = redis.Redis(host=self.url.host, port=self.url.port, db=self.url.db, password=self.url.password,
                                 ssl=self.url.ssl)
        self.redis = client
        self.applied = 0
        self.duplicates = 0
        self.dead = 0
        self._stop = False
        self._retry = False

    @staticmethod
    def key_for(stream: str, entry_id) -> str:
        """Idempotency key of a stream entry."""
        eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        return f"redis:{stream}:{eid}"

    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if missing."""
        import redis

        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current batch."""
        self._stop = True

    def _decode(self, fields: dict) -> tuple[str, dict]:
        f = {}
        for k, v in fields.items():
            if isinstance(k, bytes):
                try:
                    k = k.decode("utf-8")
                except UnicodeDecodeError:
                    raise RequestError(422, f"field name {k!r} is not UTF-8", "fields") from None
            f[k] = v
        op = f.get("op", self.default_op)
        if isinstance(op, bytes):
            try:
                op = op.decode("utf-8")
            except UnicodeDecodeError:
                raise RequestError(422, f"operation {op!r} is not UTF-8", "op") from None
        if op not in self.service.ops or op == "predict":
            raise RequestError(422, f"operation {op!r} not served by {self.service.name!r}", "op")
        if "event" not in f:
            raise RequestError(422, "missing required field", "event")
        raw = f["event"]
        doc = parse_json(raw if isinstance(raw, bytes) else str(raw).encode())
        if op in ROUND_OPS:
            ev = validate_round(self.service.kind, op, doc, self.limits)
            if op == "play" and not self.service.protocol.play_writes(ev):
                raise RequestError(422, "a play that stores nothing only reads (ask POST /play)", "op")
            return op, ev
        return op, validate_event(op, doc, self.limits)

    def _dead_letter(self, entry_id, fields, reason: str, pipe) -> None:
        eid = entry_id.decode("ascii", "replace") if isinstance(entry_id, bytes) else str(entry_id)
        doc = {"id": eid, "error": reason}
        if fields:
            raw = fields.get(b"event", fields.get("event"))
            if raw is not None:
                doc["event"] = raw  # bytes as they came: the dead letter keeps the evidence
        pipe.xadd(self.dead_stream, doc)
        self.dead += 1

    def handle(self, entries: list) -> int:
        """Log, apply, commit and acknowledge ``[(id, fields), ...]``; returns entries handled."""
        if not entries:
            return 0
        reqs, ids, bad = [], [], []
        for eid, fields in entries:
            if fields is None:  # trimmed from the stream while pending: nothing to apply
                bad.append((eid, None, "entry no longer in the stream"))
                continue
            try:
                op, ev = self._decode(fields)
            except RequestError as err:
                bad.append((eid, fields, f"{err.field}: {err.message}"))
                continue
            except Exception as exc:  # noqa: BLE001 - any per-entry failure is dead-lettered, never fatal
                bad.append((eid, fields, f"entry: {type(exc).__name__}: {exc}"))
                continue
            reqs.append(Request(op, [ev], key=self.key_for(self.stream, eid)))
            ids.append((eid, fields))
        outs = self.service.process(reqs) if reqs else []
        ack = [eid for eid, _, _ in bad]
        pipe = self.redis.pipeline(transaction=True)
        for eid, fields, reason in bad:
            self._dead_letter(eid, fields, reason, pipe)
        retry = False
        for (eid, fields), out in zip(ids, outs, strict=True):
            if out.status == 200:
                ack.append(eid)
                if out.replayed:
                    self.duplicates += 1
                else:
                    self.applied += 1
            elif out.status < 500:
                err = out.body.get("error", {})
                self._dead_letter(eid, fields, f"{err.get('field')}: {err.get('message')}", pipe)
                ack.append(eid)
            else:  # log write failed: leave it pending, it is read again
                retry = True
        if ack:
            pipe.xack(self.stream, self.group, *ack)
        pipe.execute()
        if retry:
            self._retry = True
            time.sleep(0.5)
        return len(entries)

    def _read(self, last_id) -> list:
        resp = self.redis.xreadgroup(self.group, self.consumer, {self.stream: last_id}, count=self.count,
                                     block=None if last_id != ">" else self.block_ms)
        if not resp:
            return []
        return resp[0][1]

    def drain_pending(self) -> int:
        """Re-handle entries delivered to this consumer but never acknowledged (after a crash)."""
        n = 0
        while not self._stop:
            entries = self._read("0")
            if not entries:
                return n
            n += self.handle(entries)
        return n

    def run(self, *, max_entries: int | None = None, idle_timeout: float | None = None) -> int:
        """Consume until :meth:`stop`, ``max_entries`` handled, or ``idle_timeout`` s without entries."""
        self.ensure_group()
        n = self.drain_pending()
        idle_since = time.monotonic()
        while not self._stop and (max_entries is None or n < max_entries):
            entries = self._read(">")
            if entries:
                n += self.handle(entries)
                idle_since = time.monotonic()
            elif idle_timeout is not None and time.monotonic() - idle_since >= idle_timeout:
                break
            if self._retry:
                self._retry = False
                n += self.drain_pending()
        return n

