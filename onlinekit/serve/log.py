"""Durable event log: SQLite in WAL mode, monotonically increasing offsets, idempotency keys.

The log is the source of truth of a served learner: the learner's state is always the result
of applying the logged events, in offset order, to a fresh learner (or to a snapshot taken at
some offset). Rows are written inside a transaction that the caller commits *before* it
acknowledges the events, so an acknowledged event is never lost by a process crash.

Two tables:

* ``events(offset INTEGER PRIMARY KEY, op TEXT, body TEXT)`` -- ``body`` is the normalised
  event as JSON; offsets start at 0 and grow by one per event;
* ``requests(key TEXT PRIMARY KEY, fingerprint TEXT, offset INTEGER, response TEXT, created REAL)`` -- one
  row per request that carried an idempotency key, holding the response that was sent, so a
  retried key is answered from here and never applied twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["EventLog", "SYNC_MODES", "LogDamagedError"]


class LogDamagedError(ValueError):
    """The event log file does not pass SQLite's integrity check (or cannot be read at all)."""

_ENCODE = json.JSONEncoder(allow_nan=False).encode  # built once (json.dumps with options builds one per call)

#: ``synchronous`` pragma per mode. ``normal``: in WAL mode a commit survives a crash of the
#: process (``kill -9``) but the last commits may be lost on power failure or an OS crash;
#: ``full``: every commit is fsynced (also survives power loss; costs one fsync per commit,
#: which the service amortises by committing concurrent requests together).
SYNC_MODES = {"normal": "NORMAL", "full": "FULL"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    offset INTEGER PRIMARY KEY,
    op TEXT NOT NULL,
    body TEXT NOT NULL,
    entropy BLOB
);
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    offset INTEGER NOT NULL,
    response TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


#: rows per INSERT statement: one statement with many VALUES tuples costs about half what
#: ``executemany`` does per row (100 rows x 4 columns stays under every SQLite's 999 parameters)
_ROWS_PER_INSERT = 100
_INSERTS: dict[tuple[str, int], str] = {}


def _insert_rows(conn: sqlite3.Connection, columns: str, rows: list[tuple]) -> None:
    """``INSERT INTO events(columns)`` of ``rows``, up to :data:`_ROWS_PER_INSERT` per statement."""
    for i in range(0, len(rows), _ROWS_PER_INSERT):
        part = rows[i:i + _ROWS_PER_INSERT]
        sql = _INSERTS.get((columns, len(part)))
        if sql is None:
            one = "(" + ", ".join("?" * len(part[0])) + ")"
            sql = _INSERTS[(columns, len(part))] = f"INSERT INTO events({columns}) VALUES " + ", ".join([one] * len(part))
        conn.execute(sql, [v for row in part for v in row])


class EventLog:
    """Append-only event log in one SQLite file (WAL mode).

    Writes happen between :meth:`begin` and :meth:`commit` (or :meth:`rollback`); the object is
    meant to be used by one writer at a time (the service holds a lock around it). Offsets are
    assigned by :meth:`append` and are contiguous in the committed log.

    Parameters
    ----------
    path
        The database file (created with its directory if missing).
    sync
        ``"normal"`` (default) or ``"full"``; see :data:`SYNC_MODES`.
    check
        Run ``PRAGMA quick_check`` on open; a damaged file raises :class:`LogDamagedError`
        (so does a file SQLite cannot read at all).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = EventLog(pathlib.Path(tempfile.mkdtemp()) / "events.db")
    >>> log.begin()
    >>> log.append("learn", {"x": [1.0], "y": 2.0}), log.append("learn", {"x": [0.5], "y": 1.0})
    (0, 1)
    >>> log.commit()
    >>> log.next_offset, [(o, op, b["y"]) for o, op, b in log.read(1)]
    (2, [(1, 'learn', 1.0)])
    >>> log.close()
    """

    def __init__(self, path: str | os.PathLike, *, sync: str = "normal", check: bool = True):
        if sync not in SYNC_MODES:
            raise ValueError(f"sync must be one of {sorted(SYNC_MODES)}, got {sync!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.sync = sync
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={SYNC_MODES[sync]}")
            # no checkpoint inside a commit (it copies pages and syncs): see checkpoint()
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            if check:
                bad = [r[0] for r in self._conn.execute("PRAGMA quick_check(5)").fetchall() if r[0] != "ok"]
                if bad:
                    raise sqlite3.DatabaseError("; ".join(str(b).replace("\n", " ") for b in bad))
            self._conn.executescript(_SCHEMA)
            cols = {r[1] for r in self._conn.execute("PRAGMA table_info(requests)")}
            if "created" not in cols:  # logs written before key TTLs existed
                self._conn.execute("ALTER TABLE requests ADD COLUMN created REAL NOT NULL DEFAULT 0")
            if "entropy" not in {r[1] for r in self._conn.execute("PRAGMA table_info(events)")}:
                self._conn.execute("ALTER TABLE events ADD COLUMN entropy BLOB")  # logs from before recorded entropy
            row = self._conn.execute("SELECT MAX(offset) FROM events").fetchone()
            base = self._conn.execute("SELECT value FROM meta WHERE name = 'truncated_before'").fetchone()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise LogDamagedError(
                f"event log {self.path} is damaged ({exc}); restore it from a backup or move the state "
                "directory aside -- refusing to start on it") from None
        self._next = max(0 if row[0] is None else int(row[0]) + 1, 0 if base is None else int(json.loads(base[0])))
        self._committed_next = self._next
        self._in_tx = False
        self._lock = threading.Lock()  # guards the connection against concurrent readers
        # rows appended in the open transaction, written in one statement before it commits
        # (or before anything reads the table); ``_written`` is the next offset in the table
        self._rows: list[tuple[int, str, str]] = []
        self._entropy: dict[int, bytes] = {}
        self._written = self._next
        self._since_checkpoint = [0, 0]  # commits, rows

    #: a checkpoint falls due after this many commits or logged rows since the last one
    CHECKPOINT_COMMITS = 256
    CHECKPOINT_ROWS = 20_000

    def checkpoint_due(self) -> bool:
        """Has enough been committed since the last :meth:`checkpoint` for another?"""
        commits, rows = self._since_checkpoint
        return commits >= self.CHECKPOINT_COMMITS or rows >= self.CHECKPOINT_ROWS

    def checkpoint(self) -> None:
        """Copy the committed WAL into the database file (``PRAGMA wal_checkpoint(PASSIVE)``,
        outside a transaction); the next commit then writes the WAL from its start again.

        Commits never checkpoint by themselves (``wal_autocheckpoint=0``): the copy (and, with
        ``sync="normal"``, its fsyncs) runs where the caller chooses -- the service runs it
        after a commit in its worker thread, never on the server's event loop. Closing the log
        checkpoints what is left.
        """
        with self._lock:
            if self._in_tx:
                raise RuntimeError("checkpoint inside a transaction")
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self._since_checkpoint = [0, 0]

    def _flush(self) -> None:
        """Write the held rows (inside the open transaction; the caller holds ``_lock``)."""
        rows = self._rows
        if not rows:
            return
        if self._entropy:
            ent = self._entropy
            _insert_rows(self._conn, "offset, op, body, entropy", [(o, op, b, ent.get(o)) for o, op, b in rows])
            ent.clear()
        else:
            _insert_rows(self._conn, "offset, op, body", rows)
        self._written = rows[-1][0] + 1
        self._rows = []

    # -- transactions ----------------------------------------------------------------------
    def begin(self) -> None:
        """Start a write transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._in_tx = True

    def commit(self) -> None:
        """Make everything appended since :meth:`begin` durable."""
        with self._lock:
            self._flush()
            n = self._next - self._committed_next
            self._conn.execute("COMMIT")
            self._in_tx = False
            self._committed_next = self._next
            self._since_checkpoint[0] += 1
            self._since_checkpoint[1] += n

    def rollback(self) -> None:
        """Forget everything appended since :meth:`begin`."""
        with self._lock:
            self._rows = []
            self._entropy.clear()
            if self._in_tx:
                self._conn.execute("ROLLBACK")
            self._in_tx = False
            self._next = self._written = self._committed_next

    # -- writes ------------------------------------------------------------------------------
    def append(self, op: str, body: Any) -> int:
        """Append one event (inside a transaction); returns its offset."""
        return self.append_texts(op, [json.dumps(body, separators=(",", ":"), allow_nan=False)])

    def append_texts(self, op: str, texts: list[str]) -> int:
        """Append events already encoded as JSON text, in order; returns the first offset.

        Inside a transaction the rows are held and written together just before it commits
        (one statement for a whole group of requests); outside one they are written at once.
        """
        first = self._next
        with self._lock:
            if len(texts) == 1:
                self._rows.append((first, op, texts[0]))
            else:
                self._rows += [(first + i, op, t) for i, t in enumerate(texts)]
            if not self._in_tx:
                self._flush()
        self._next = first + len(texts)
        return first

    def set_entropy(self, offset: int, blob: bytes) -> None:
        """Attach the recorded secure-noise bits of the (uncommitted) event at ``offset``
        (see :mod:`onlinekit.privacy.entropy`); a replay of the log then repeats its draws."""
        if offset < self._committed_next or offset >= self._next:
            raise ValueError(f"offset {offset} is not an uncommitted event of this transaction")
        with self._lock:
            if offset >= self._written:  # still held: written with its row
                self._entropy[offset] = blob
            else:
                self._conn.execute("UPDATE events SET entropy = ? WHERE offset = ?", (blob, offset))

    def discard_from(self, offset: int) -> None:
        """Remove the uncommitted events at ``offset`` and after (a refused request)."""
        if offset < self._committed_next:
            raise ValueError(f"offset {offset} is committed")
        offset = int(offset)
        with self._lock:
            self._rows = [r for r in self._rows if r[0] < offset]
            for o in [o for o in self._entropy if o >= offset]:
                del self._entropy[o]
            if offset < self._written:
                self._conn.execute("DELETE FROM events WHERE offset >= ?", (offset,))
                self._written = offset
        self._next = offset

    def remember(self, rows: list[tuple[str, str, int, Any]]) -> None:
        """Record ``(key, fingerprint, offset, response)`` of keyed requests (inside a transaction)."""
        with self._lock:
            now = time.time()
            self._conn.executemany(
                "INSERT INTO requests(key, fingerprint, offset, response, created) VALUES (?, ?, ?, ?, ?)",
                [(k, f, o, _ENCODE(r), now) for k, f, o, r in rows])

    def set_meta(self, name: str, value: Any) -> None:
        """Store a JSON value under ``name`` (committed immediately when outside a transaction)."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", (name, json.dumps(value)))

    # -- reads -------------------------------------------------------------------------------
    def lookup(self, key: str) -> tuple[str, Any] | None:
        """``(fingerprint, response)`` stored for ``key``, or ``None``."""
        with self._lock:
            row = self._conn.execute("SELECT fingerprint, response FROM requests WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def lookup_many(self, keys: list[str]) -> dict[str, tuple[str, Any]]:
        """``{key: (fingerprint, response)}`` for the ``keys`` that are stored."""
        out: dict[str, tuple[str, Any]] = {}
        keys = list(dict.fromkeys(keys))
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            marks = ",".join("?" * len(part))
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT key, fingerprint, response FROM requests WHERE key IN ({marks})", part).fetchall()
            for k, f, r in rows:
                out[k] = (f, json.loads(r))
        return out

    def get_meta(self, name: str, default: Any = None) -> Any:
        """The JSON value stored under ``name``."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return default if row is None else json.loads(row[0])

    @property
    def next_offset(self) -> int:
        """Offset the next appended event gets (= number of events logged, uncommitted included)."""
        return self._next

    @property
    def committed_offset(self) -> int:
        """Number of committed events."""
        return self._committed_next

    def read(self, start: int = 0, stop: int | None = None, chunk: int = 4096, *,
             entropy: bool = False) -> Iterator[tuple]:
        """Committed (and own uncommitted) events with ``start <= offset < stop``, in order:
        ``(offset, op, body)``, or ``(offset, op, body, entropy)`` with ``entropy=True``
        (``entropy`` is the recorded-noise blob, or ``None``)."""
        pos = int(start)
        end = (1 << 62) if stop is None else int(stop)
        cols = "offset, op, body, entropy" if entropy else "offset, op, body"
        while pos < end:
            with self._lock:
                self._flush()
                rows = self._conn.execute(
                    f"SELECT {cols} FROM events WHERE offset >= ? AND offset < ? ORDER BY offset LIMIT ?",
                    (pos, end, chunk)).fetchall()
            if not rows:
                return
            for row in rows:
                yield (int(row[0]), row[1], json.loads(row[2])) + ((row[3],) if entropy else ())
            pos = int(rows[-1][0]) + 1

    def count_keys(self) -> int:
        """Number of remembered idempotency keys."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    def forget_keys_before(self, offset: int) -> int:
        """Drop idempotency keys of requests logged before ``offset`` (outside a transaction).

        A retry of such a request would be applied again; callers keep a window much longer
        than any client's retry horizon.
        """
        with self._lock:
            cur = self._conn.execute("DELETE FROM requests WHERE offset < ?", (int(offset),))
        return cur.rowcount

    def forget_keys_older_than(self, seconds: float) -> int:
        """Drop idempotency keys stored more than ``seconds`` ago (outside a transaction)."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM requests WHERE created < ?", (time.time() - float(seconds),))
        return cur.rowcount

    def first_offset(self) -> int:
        """Offset of the oldest event still in the log (``next_offset`` when empty)."""
        with self._lock:
            self._flush()
            row = self._conn.execute("SELECT MIN(offset) FROM events").fetchone()
        return self._next if row[0] is None else int(row[0])

    def truncate_before(self, offset: int) -> int:
        """Delete committed events with ``offset`` below ``offset`` (after a snapshot covers them).

        Returns the number of rows deleted. Offsets of later events do not change.
        """
        offset = min(int(offset), self._committed_next)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            cur = self._conn.execute("DELETE FROM events WHERE offset < ?", (offset,))
            row = self._conn.execute("SELECT value FROM meta WHERE name = 'truncated_before'").fetchone()
            mark = max(offset, 0 if row is None else int(json.loads(row[0])))  # never lowered
            self._conn.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('truncated_before', ?)",
                               (json.dumps(mark),))
            self._conn.execute("COMMIT")
        return cur.rowcount

    def advance_to(self, offset: int) -> None:
        """Make ``offset`` the next offset of an empty tail (after an accepted loss of events).

        Offsets below it are never reused, so stored responses and snapshots stay unambiguous.
        """
        offset = int(offset)
        if offset < self._committed_next:
            raise ValueError(f"offset {offset} is below the committed end {self._committed_next}")
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('truncated_before', ?)",
                               (json.dumps(offset),))
        self._next = self._committed_next = self._written = offset

    def close(self) -> None:
        """Roll back any open transaction and close the file."""
        with self._lock:
            self._rows = []
            if self._in_tx:
                self._conn.execute("ROLLBACK")
                self._in_tx = False
            self._conn.close()
