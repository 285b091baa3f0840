"""The learner host: one learner, its event log and snapshots, applied in log order.

:class:`LearnerService` is framework-free (no HTTP): the ASGI app, the Redis consumer, an
embedding application or a test call :meth:`LearnerService.process` with validated requests
and :meth:`LearnerService.predict` for reads.

Write path, for a group of requests (one SQLite transaction):

1. a request whose idempotency key is already logged is answered with the stored response
   (a key reused for a different request gets 409);
2. each event is appended to the log, then applied to the learner; an event the learner
   refuses (:class:`~onlinekit.base.InvalidEvent`) rolls the request back -- its log rows
   (savepoint) and, for a multi-event request, the learner state (in-memory copy taken before
   the request) -- and answers 422 naming the field;
3. the transaction commits, then responses are released. If the commit fails the service
   rebuilds its learner from disk, so memory never runs ahead of the log.

Guards, checked before the commit: a request that would grow the model past
``max_total_features`` is refused up front; after applying, a learned state holding a NaN or
an infinity (an update that overflowed, e.g. ``x = y = 1e200``) makes the request refused
(422) and undone -- from the in-memory copy for multi-event requests, by a rebuild from disk
for a single event (no copy is taken on that hot path, so each refused single event costs one
recovery; ``Limits.max_abs_value`` refuses such values before any work). Batches of array
events go through the learner's ``learn_many`` when it equals the ``learn_one`` loop bit for
bit (:data:`BLOCK_LEARNERS`).

Recovery (on start, and after an unexpected learner error): newest valid snapshot, then replay
of every logged event after its offset. The result equals an uninterrupted run over the
committed log. On start, a snapshot covering more events than the committed log holds (or
snapshots without ``events.db``) raises :class:`StateLossError` unless ``accept_loss``; the log
itself must pass ``PRAGMA quick_check``. Snapshots copy the state under the lock and encode it
in a writer thread; a list the learner declares append-only (``_append_only_state``: the
feature names of the linear learners, a million entries on big models) is copied as its
length under the lock and sliced to that length outside it, in pieces. The writer thread keeps
the encoded pieces of such a list between snapshots (:class:`_NamesCodec`: only names added
since are encoded) and streams the archive into the snapshot file, so a serving thread waits
little for the GIL while a big model is written.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.serve._schema import (
    SERVED_OPS,
    RequestError,
    encode_events,
    fingerprint,
    to_jsonable,
)
from onlinekit.protocols import OPERATIONS, event_protocol
from onlinekit.serve.log import EventLog
from onlinekit.serve.snapshots import SnapshotStore

__all__ = ["LearnerService", "Request", "Outcome", "StateLossError"]

_logger = logging.getLogger("onlinekit.serve")


@dataclass
class Request:
    """A validated write request: operation, normalised events, optional idempotency key."""

    op: str
    events: list[dict]
    key: str | None = None
    batch: bool = False  # answer with one result per event (batch routes)
    texts: list[str] | None = None  # the events as JSON text (computed once)
    fingerprint: str | None = None

    def __post_init__(self):
        if self.texts is None:
            self.texts = encode_events(self.events)
        if self.key is not None and self.fingerprint is None:
            self.fingerprint = fingerprint(self.op, self.texts, self.batch)


@dataclass
class Outcome:
    """What a request got: HTTP-like status, JSON body, whether it was answered from the log."""

    status: int
    body: dict
    replayed: bool = False
    applied: int = 0  # events applied by this request


@dataclass
class _Stats:
    events: dict = field(default_factory=dict)  # op -> events applied
    rejected: int = 0
    replayed: int = 0
    groups: int = 0
    recoveries: int = 0
    snapshots: int = 0
    snapshot_errors: int = 0


class LearnerService:
    """Host one registered learner with a durable event log and snapshots.

    Parameters
    ----------
    state_dir
        Directory holding ``events.db`` (the log) and ``snapshots/``. Nothing in it is ever
        unpickled.
    learner
        Registered learner name (``onlinekit learners``). May be omitted when ``state_dir``
        already holds a service; must match it otherwise.
    params
        Learner constructor arguments (JSON values).
    snapshot_every
        Write a snapshot after this many logged events (``0``: only on request / shutdown).
    sync
        Log durability: ``"normal"`` (survives process crashes) or ``"full"`` (fsync per
        commit; also survives power loss).
    keep_snapshots
        Snapshots kept on disk.
    key_retention
        Forget idempotency keys of requests older than this many events (checked at each
        snapshot); ``None`` keeps them all. A key retried after that is applied again.
    key_ttl
        Forget idempotency keys stored more than this many seconds ago (at each snapshot).
    compact_log
        After each snapshot, delete logged events below the oldest kept snapshot (once
        ``keep_snapshots`` of them exist), so every kept snapshot can still be replayed from.
    max_total_features
        Most features the model may hold (learners with a ``features_`` list); a request
        adding names past it gets 422.
    accept_loss
        Start even when the log lost events its snapshots cover: from the newest snapshot,
        moving the log's end up to it.
    warm
        Compile the learner's kernels at start (on a throwaway copy), and encode long
        feature-name lists for the snapshots to come (only names added later are encoded then).

    Attributes
    ----------
    learner : Learner
        The live learner (read it under :attr:`lock`).
    kind : str
        The learner's protocol (``supervised``, ``experts``, ``oco``, ``release``,
        ``logged-bandit``, ``auction``, ``environment``); :attr:`ops` are its operations.

    Examples
    --------
    >>> import tempfile
    >>> from onlinekit.serve.service import LearnerService, Request
    >>> d = tempfile.mkdtemp()
    >>> svc = LearnerService(d, "ogd", {"lr": 0.1})
    >>> out = svc.process([Request("learn", [{"x": {"a": 1.0}, "y": 2.0}], key="k1")])
    >>> out[0].status, out[0].body
    (200, {'offset': 0, 'count': 1})
    >>> svc.process([Request("learn", [{"x": {"a": 1.0}, "y": 2.0}], key="k1")])[0].replayed
    True
    >>> round(svc.predict([{"a": 1.0}])[0]["prediction"], 3)
    0.4
    >>> svc.close()
    >>> svc2 = LearnerService(d)          # restart: snapshot + log replay
    >>> svc2.offset, round(svc2.predict([{"a": 1.0}])[0]["prediction"], 3)
    (1, 0.4)
    >>> svc2.close()
    """

    def __init__(self, state_dir, learner: str | None = None, params: dict | None = None, *,
                 snapshot_every: int = 10_000, sync: str = "normal", keep_snapshots: int = 2,
                 key_retention: int | None = None, key_ttl: float | None = None, compact_log: bool = False,
                 max_total_features: int | None = None, accept_loss: bool = False, warm: bool = True):
        from onlinekit.registry import learners as registry

        if snapshot_every < 0:
            raise ValueError(f"snapshot_every must be >= 0, got {snapshot_every}")
        if key_retention is not None and key_retention < 1:
            raise ValueError(f"key_retention must be None or >= 1, got {key_retention}")
        if keep_snapshots < 1:
            raise ValueError(f"keep_snapshots must be >= 1, got {keep_snapshots}")
        if key_ttl is not None and not key_ttl > 0:
            raise ValueError(f"key_ttl must be None or > 0 seconds, got {key_ttl}")
        if max_total_features is not None and max_total_features < 1:
            raise ValueError(f"max_total_features must be None or >= 1, got {max_total_features}")
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lockfile = _lock_dir(self.state_dir)
        db = self.state_dir / "events.db"
        snap_dir = self.state_dir / "snapshots"
        orphans = (not db.exists() and snap_dir.is_dir()
                   and any(p.name.startswith("snapshot-") and p.name.endswith(".npz")
                           and p.name[9:-4].isdigit() and int(p.name[9:-4]) > 0 for p in snap_dir.iterdir()))
        if orphans and not accept_loss:
            self._lockfile.close()
            raise StateLossError(
                f"{snap_dir} holds snapshots but the event log {db} is missing: its events and idempotency "
                "keys are lost; restore events.db (with its -wal file) or pass --accept-loss to start from "
                "the newest snapshot")
        try:
            self.log = EventLog(db, sync=sync)
        except BaseException:
            self._lockfile.close()
            raise
        try:
            newest = SnapshotStore(snap_dir, keep=keep_snapshots).offsets()[:1]
            if newest and newest[0] > self.log.committed_offset and not accept_loss:
                raise StateLossError(self._loss_message(newest[0], self.log.committed_offset))
            stored = self.log.get_meta("service")
            if stored is None:
                if learner is None:
                    raise ValueError(f"{self.state_dir} holds no service yet; say which learner to serve")
                stored = {"learner": learner, "params": dict(params or {})}
            elif learner is not None and (learner != stored["learner"]
                                          or (params is not None and dict(params) != stored["params"])):
                raise ValueError(
                    f"{self.state_dir} serves learner {stored['learner']!r} with params {stored['params']}; "
                    f"refusing to start {learner!r} with params {dict(params or {})} on it (use a new --state directory)")
            reg = registry()
            if stored["learner"] not in reg:
                raise KeyError(f"unknown learner {stored['learner']!r}; known: {', '.join(reg)}")
            info = reg[stored["learner"]]
            ops = OPERATIONS[info.protocol]
            if not set(ops) <= SERVED_OPS:
                served = sorted(n for n, o in OPERATIONS.items() if set(o) <= SERVED_OPS)
                raise ValueError(f"learner {info.name!r} follows the {info.protocol!r} protocol (operations "
                                 f"{', '.join(ops)}); the service hosts {', '.join(served)} learners")
            self.name = info.name
            self.kind = info.protocol
            self.params = stored["params"]
            self._cls = info.load()
            self._template = self._cls(**self.params)  # validates params before anything is written
            self.log.set_meta("service", stored)
        except BaseException:
            self.log.close()
            self._lockfile.close()
            raise
        self.ops = OPERATIONS[self.kind]
        self.protocol = event_protocol(self.kind)
        #: the key of a play's answer (experts: ``probabilities``, OCO: ``point``)
        self._play_key = getattr(self.protocol, "play_key", "play")
        self.snapshots = SnapshotStore(self.state_dir / "snapshots", keep=keep_snapshots)
        self.snapshot_every = int(snapshot_every)
        self.key_retention = key_retention
        self.key_ttl = key_ttl
        self.compact_log = bool(compact_log)
        self.max_total_features = max_total_features
        self._names_cache = None
        #: draws noise from the OS CSPRNG: log the bits each event used (recovery repeats them)
        self._secure_noise = getattr(self._template, "noise", None) == "secure"
        #: the learner refuses (Diverged) any update that would make its state non-finite, so
        #: the generic scan of its state after each request is not needed
        self._self_guarded = bool(getattr(self._cls, "refuses_nonfinite", False))
        self._block_classes = _block_classes()
        self.lock = threading.RLock()
        #: set when an inline group (process_now) left the learner torn: the next holder of
        #: the lock rebuilds it from disk first (_whole)
        self._needs_recover = False
        self._write_cost = _GroupCost()  # seconds per request / event of process(), for process_now
        self._read_cost = _Cost()   # seconds per item of predict() / play()
        self._copy_cost = _Cost()   # seconds per state copy of snapshot()
        self._names_codec = _NamesCodec()  # the writer thread's encoded name pieces
        self.stats = _Stats()
        # snapshots are background work: their thread yields the CPU to the event loop
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onlinekit-snapshot",
                                          initializer=_lower_priority)
        self._closed = False
        self.learner: Learner
        self.snapshot_offset = 0
        try:
            with self.lock:
                self._recover(accept_loss=accept_loss)
                if self.offset == 0 and not self.snapshots.offsets() and self._unseeded():
                    # the initial state holds OS-seeded randomness a fresh clone would not repeat
                    self.snapshots.write(SnapshotStore.encode(self.learner, 0))
            if warm:
                self._warm()
                with self.lock:
                    state = self._state_copy()
                # encode the long name lists now, before serving: the first snapshot then only
                # encodes names added since (not a million names while requests are answered)
                self._names_codec.encoded(state)
        except BaseException:
            self._writer.shutdown(wait=False)
            self.log.close()
            self._lockfile.close()
            raise

    # -- recovery -----------------------------------------------------------------------------
    def _fresh(self) -> Learner:
        return self._template.clone()

    def _loss_message(self, snap: int, end: int) -> str:
        return (f"snapshot {SnapshotStore.path_for_name(snap)} covers {snap} events but the event log "
                f"{self.log.path} holds only {end}: acknowledged events were lost (truncated or missing WAL?); "
                "restore the log or pass --accept-loss to start from the newest snapshot")

    def _recover(self, *, accept_loss: bool = False) -> None:
        """Newest valid snapshot + replay of the committed log after it.

        A snapshot covering more events than the committed log holds means the log lost
        acknowledged events (a truncated or deleted WAL, a restored backup of ``events.db``
        alone): refused with :class:`StateLossError` unless ``accept_loss``, which starts from
        the newest readable snapshot and moves the log's end up to it (offsets are never
        reused).
        """
        t0 = time.perf_counter()
        end = self.log.committed_offset
        offsets = self.snapshots.offsets()
        if offsets and offsets[0] > end:
            if not accept_loss:
                raise StateLossError(self._loss_message(offsets[0], end))
            snap = self.snapshots.load_newest()
            if snap is not None and snap.offset > end:
                _logger.warning("accepting the loss of events %d..%d (and their idempotency keys): starting "
                                "from snapshot %s", end, snap.offset - 1, snap.path.name)
                self.log.advance_to(snap.offset)
                end = snap.offset
        else:
            snap = self.snapshots.load_newest(max_offset=end)
        for path, why in self.snapshots.skipped:
            _logger.warning("skipping snapshot %s: %s", path, why)
        if snap is not None and (type(snap.learner) is not self._cls
                                 or repr(snap.learner.get_params()) != repr(self._template.get_params())):
            raise ValueError(f"snapshot {snap.path} holds {snap.learner!r}, not {self._template!r}")
        learner = snap.learner if snap is not None else self._fresh()
        start = snap.offset if snap is not None else 0
        first = self.log.first_offset()
        if first > start:
            raise ValueError(f"the log starts at offset {first} but the newest valid snapshot covers only {start} "
                             "events; cannot rebuild the state")
        n = 0
        for off, op, body, blob in self.log.read(start, end, entropy=True):
            try:
                if blob:  # repeat the recorded secure draws: same state, no second privacy cost
                    from onlinekit.privacy.entropy import replaying

                    with replaying(blob):
                        self._apply(learner, op, body)
                else:
                    self._apply(learner, op, body)
            except Exception as exc:
                raise RuntimeError(f"replay of logged event {off} ({op}) failed: {exc}") from exc
            n += 1
        self.learner = learner
        self.snapshot_offset = start
        self._since_snapshot = end - start
        self.stats.recoveries += 1
        _logger.info("recovered %s at offset %d (snapshot %d + %d replayed) in %.3f s",
                     self.name, end, start, n, time.perf_counter() - t0)

    def _unseeded(self) -> bool:
        """Does the learner take a ``seed`` left at ``None`` (its random state differs per clone)?"""
        params = self._template.get_params() if hasattr(self._template, "get_params") else {}
        return "seed" in params and params["seed"] is None

    def _warm(self) -> None:
        """Compile the learner's kernels now (on a throwaway copy), not on the first request."""
        m = self._fresh()
        calls = {
            "learn": lambda: (m.learn_one(np.zeros(1), 0.0), m.learn_one(np.zeros(1), 0.0),
                              m.predict_one(np.zeros(1)), m.predict_one({"x0": 0.0}),
                              m.learn_one({"x0": 0.0}, 0.0),
                              hasattr(m, "learn_many") and m.learn_many(np.zeros((2, 1)), np.zeros(2))),
            "act": lambda: m.act(None),
            "release": lambda: m.release(0.0),
            "play": lambda: self._warm_round(m),
        }
        try:
            calls[self.ops[0]]()
        except Exception:  # noqa: BLE001 - warming is best effort (e.g. a classifier wants labels)
            _logger.debug("warm-up of %s stopped early", self.name, exc_info=True)

    def _warm_round(self, m: Learner) -> None:
        """Warm the experts / OCO paths: a play and an all-zero update of the right size."""
        if self.kind == "experts":
            ev = {"losses": [0.0] * int(m.n_experts)}
        else:
            ev = {"gradient": [0.0] * int(m.n_dims)}
        self._apply(m, "play", {})
        self._apply(m, "update", ev)

    # -- applying events -------------------------------------------------------------------------
    def _apply(self, learner: Learner, op: str, ev: dict) -> Any:
        """One validated event through the protocol's per-event path (requests and recovery)."""
        return self.protocol.apply_event(learner, op, ev)

    def _response(self, req: Request, first: int, results: list) -> dict:
        n = len(req.events)
        if req.op in ("learn", "feedback", "update"):
            return {"offset": first, "count": n}
        name = "action" if req.op == "act" else self._play_key if req.op == "play" else "estimate"
        if req.batch:
            return {"offset": first, "count": n, "results": [{name: to_jsonable(r)} for r in results]}
        return {"offset": first, name: to_jsonable(results[0])}

    def _block(self, req: Request):
        """``(X, y)`` when ``req`` can go through the learner's block path, else ``None``.

        Only for learners whose ``learn_many`` equals the ``learn_one`` loop bit for bit
        (:data:`BLOCK_LEARNERS`, checked by the tests), array events of one width and numeric
        (not boolean) targets without extra fields.
        """
        if req.op != "learn" or len(req.events) < 2 or type(self.learner) not in self._block_classes:
            return None
        width = None
        for ev in req.events:
            x, y = ev["x"], ev["y"]
            if len(ev) != 2 or type(x) is not list or type(y) not in (int, float):
                return None
            if width is None:
                width = len(x)
            elif len(x) != width:
                return None
        if not width:
            return None
        return (np.array([ev["x"] for ev in req.events], dtype=np.float64),
                np.array([ev["y"] for ev in req.events], dtype=np.float64))

    def _feature_room(self, req: Request) -> RequestError | None:
        """Refuse a request that would grow the model past ``max_total_features``."""
        cap = self.max_total_features
        if cap is None or req.op != "learn":
            return None
        names = getattr(self.learner, "features_", None)
        if not isinstance(names, list):
            return None
        n = len(names)
        if n + sum(len(ev["x"]) for ev in req.events) <= cap:
            return None  # cannot cross the cap even if every name is new
        cached = self._names_cache
        if cached is None or cached[0] is not names or cached[1] > n:
            cached = (names, n, set(names))
        elif cached[1] < n:
            cached[2].update(names[cached[1]:])
            cached = (names, n, cached[2])
        self._names_cache = cached
        known = cached[2]
        new: set = set()
        for i, ev in enumerate(req.events):
            x = ev["x"]
            if isinstance(x, dict):
                new.update(k for k in x if k not in known)
            elif n == 0:
                new.update(range(len(x)))
            if n + len(new) > cap:
                fld = f"events[{i}].x" if req.batch else "x"
                return RequestError(422, f"the model holds {n} features and this request adds {len(new)} new ones, "
                                         f"past the cap of {cap} (max_total_features)", fld)
        return None

    def _nonfinite_at(self, backup, req: Request) -> int:
        """Index of the first event of ``req`` that makes the state non-finite (state restored)."""
        for i, ev in enumerate(req.events):
            self._apply(self.learner, req.op, ev)
            if _nonfinite(self.learner) is not None:
                break
        else:  # pragma: no cover - only the whole block diverged
            i = len(req.events) - 1
        self.learner.load_state_dict(_materialized(backup))
        return i

    def _process_one(self, req: Request, known: dict, remember: list) -> Outcome:
        if req.op not in self.ops:
            return Outcome(404, {"error": RequestError(404, f"learner kind {self.kind!r} has no {req.op!r}",
                                                       "route").to_dict()})
        log = self.log
        if req.key is not None:
            hit = known.get(req.key)
            if hit is not None:
                fp, resp = hit
                if fp != req.fingerprint:
                    err = RequestError(409, "idempotency key already used for a different request", "Idempotency-Key")
                    return Outcome(409, {"error": err.to_dict()})
                self.stats.replayed += 1
                return Outcome(200, resp, replayed=True)
        err = self._feature_room(req)
        if err is not None:
            self.stats.rejected += 1
            return Outcome(err.status, {"error": err.to_dict()})
        block = self._block(req)
        backup = self._state_copy() if len(req.events) > 1 else None
        first = log.append_texts(req.op, req.texts)  # logged (uncommitted) before it is applied
        results = []
        i = 0
        try:
            if block is not None:
                self.learner.learn_many(*block)
                results = [None] * len(req.events)
            elif self._secure_noise:
                from onlinekit.privacy.entropy import recording

                for i, ev in enumerate(req.events):  # noqa: B007 - i names the refused event below
                    with recording() as tape:
                        results.append(self._apply(self.learner, req.op, ev))
                    if tape.segments:
                        log.set_entropy(first + i, tape.to_bytes())
            else:
                for i, ev in enumerate(req.events):  # noqa: B007 - i names the refused event below
                    results.append(self._apply(self.learner, req.op, ev))
        except InvalidEvent as exc:
            log.discard_from(first)
            if block is not None:
                i = exc.offset or 0
                self.learner.load_state_dict(_materialized(backup))
            elif i > 0:
                self.learner.load_state_dict(_materialized(backup))
            self.stats.rejected += 1
            fld = exc.field or "event"
            if block is not None:  # the block names X[row, col] / y[row]: say it as the route does
                fld = "x" if fld.startswith("X") else "y" if fld.startswith("y") else fld
            if req.batch:
                fld = f"events[{i}].{fld}"
            return Outcome(422, {"error": RequestError(422, exc.message, fld).to_dict()})
        except Exception as exc:  # a learner error outside its contract: state may be torn
            log.discard_from(first)
            self.stats.rejected += 1
            if backup is None:
                raise _Torn(RequestError(422, f"{type(exc).__name__}: {exc}", "event")) from exc
            self.learner.load_state_dict(_materialized(backup))
            msg = f"{type(exc).__name__}: {exc}"
            return Outcome(422, {"error": RequestError(422, msg, f"events[{i}]" if req.batch else "event").to_dict()})
        bad = None if self._self_guarded else _nonfinite(self.learner)
        if bad is not None:  # the update overflowed: refuse it, state and log as before
            log.discard_from(first)
            self.stats.rejected += 1
            msg = f"refused: the update would make the learner state non-finite ({bad})"
            if backup is None:  # single event: no copy was taken; rebuild from disk
                raise _Torn(RequestError(422, msg, "event"))
            self.learner.load_state_dict(_materialized(backup))
            fld = "event"
            if req.batch:
                fld = f"events[{self._nonfinite_at(backup, req)}]"
            return Outcome(422, {"error": RequestError(422, msg, fld).to_dict()})
        body = self._response(req, first, results)
        if req.key is not None:
            known[req.key] = (req.fingerprint, body)
            remember.append((req.key, req.fingerprint, first, body))
        self.stats.events[req.op] = self.stats.events.get(req.op, 0) + len(req.events)
        return Outcome(200, body, applied=len(req.events))

    def process(self, requests: list[Request]) -> list[Outcome]:
        """Log, apply and commit a group of requests in order; one outcome per request.

        Thread-safe. Outcomes with status 200 are durable (committed) when this returns.
        """
        t0 = time.thread_time()
        with self.lock:
            if self._closed:
                raise RuntimeError("service is closed")
            self._whole()
            outs = self._process_locked(list(requests), inline=False)
        self._write_cost.record([len(r.events) for r in requests], time.thread_time() - t0)
        return outs

    def process_now(self, requests: list[Request], budget: float) -> tuple[list[Outcome], list[Request]]:
        """Process the longest prefix of ``requests`` that can run now within ``budget`` seconds:
        ``(outcomes of that prefix, the requests left)``; for a caller that must not wait (the
        server's event loop), which sends what is left through :meth:`process` in a worker.

        Nothing runs (all requests are left) when the service's lock is held, when commits are
        fsynced (``sync="full"``), when a snapshot falls due within the prefix, when the log's
        WAL checkpoint is due (:meth:`process` runs it after its commit), when no cost per
        event has been measured yet, or when the first request alone would exceed the budget
        (as estimated from the measured cost per event). A request that leaves the learner
        to be rebuilt from disk ends the prefix; the rebuild is left to the next :meth:`process`.
        Outcomes are those :meth:`process` would give, and as durable.

        Examples
        --------
        >>> import tempfile
        >>> svc = LearnerService(tempfile.mkdtemp(), "ogd", {"lr": 0.1})
        >>> reqs = [Request("learn", [{"x": [1.0], "y": 1.0}]) for _ in range(3)]
        >>> svc.process_now(reqs, 0.005)[1] == reqs     # nothing measured yet: all left
        True
        >>> [o.body for o in svc.process(reqs[:1])]
        [{'offset': 0, 'count': 1}]
        >>> done, left = svc.process_now(reqs[1:], 0.005)
        >>> [o.body for o in done], left
        ([{'offset': 1, 'count': 1}, {'offset': 2, 'count': 1}], [])
        >>> svc.close()
        """
        if self.log.sync != "normal" or self._closed or self._needs_recover or self.log.checkpoint_due():
            return [], requests
        take = self._write_cost.fits([len(r.events) for r in requests], budget)
        if self.snapshot_every:
            room = self.snapshot_every - self._since_snapshot
            n = 0
            for i in range(take):
                n += len(requests[i].events)
                if n >= room:
                    take = i
                    break
        ran = self._without_waiting(lambda: self._process_locked(requests[:take], inline=True)) if take else None
        if ran is None:
            return [], requests
        outs, seconds = ran
        self._write_cost.record([len(r.events) for r in requests[:len(outs)]], seconds)
        return outs, requests[len(outs):]

    def _without_waiting(self, fn):
        """``(fn(), seconds it took)`` under the lock when the lock is free at once and the
        learner is whole; ``None`` (nothing run) otherwise. For the ``*_now`` methods."""
        if not self.lock.acquire(blocking=False):
            return None
        t0 = time.perf_counter()
        try:
            if self._closed or self._needs_recover:
                return None
            out = fn()
        finally:
            self.lock.release()
        return out, time.perf_counter() - t0

    def _whole(self) -> None:
        """Rebuild the learner from disk if an inline group left it torn (under the lock)."""
        if self._needs_recover:
            self._recover()
            self._needs_recover = False

    def _process_locked(self, pending: list[Request], *, inline: bool) -> list[Outcome]:
        outs: list[Outcome] = []
        recovered_at = 0
        while pending:
            done_before = len(outs)
            remember: list = []
            try:
                self.log.begin()
                keys = [r.key for r in pending if r.key is not None]
                known = self.log.lookup_many(keys) if keys else {}
                while pending:
                    req = pending[0]
                    try:
                        outs.append(self._process_one(req, known, remember))
                    except _Torn as torn:
                        # keep what is good, rebuild the learner from disk, go on
                        if remember:
                            self.log.remember(remember)
                        self.log.commit()
                        outs.append(Outcome(422, {"error": torn.error.to_dict()}))
                        pending.pop(0)
                        if inline:  # the rebuild may take long: the caller's worker does it
                            self._needs_recover = True
                            pending = []
                            recovered_at = len(outs)
                            break
                        self._recover()
                        recovered_at = len(outs)
                        break
                    pending.pop(0)
                else:
                    if remember:
                        self.log.remember(remember)
                    self.log.commit()
            except Exception:
                # the commit (or the log) failed: nothing of this group since the last
                # commit is durable, so the in-memory learner must not keep it either
                _logger.exception("event log write failed; rebuilding the learner from disk")
                try:
                    self.log.rollback()
                except Exception:  # noqa: BLE001 - the connection may be unusable
                    _logger.exception("rollback failed")
                self._recover()
                err = RequestError(503, "event log write failed; request not applied", None)
                for j in range(done_before, len(outs)):
                    if outs[j].status == 200:  # replays too: they may refer to this group
                        outs[j] = Outcome(503, {"error": err.to_dict()})
                outs += [Outcome(503, {"error": err.to_dict()}) for _ in pending]
                pending = []
        self.stats.groups += 1
        self._since_snapshot += sum(o.applied for o in outs[recovered_at:] if o.status == 200)
        if self.snapshot_every and self._since_snapshot >= self.snapshot_every:
            self._schedule_snapshot()
        if not inline and self.log.checkpoint_due():  # inline groups leave it to the worker
            try:
                self.log.checkpoint()  # the WAL restarts at the next commit
            except Exception:  # noqa: BLE001 - the commits stand; the next group tries again
                _logger.warning("WAL checkpoint of %s failed", self.log.path, exc_info=True)
        return outs

    # -- reads ----------------------------------------------------------------------------------
    def predict(self, xs: list) -> list[dict]:
        """Predictions of the current state (supervised learners); a consistent read."""
        return self._read("predict", (xs,))

    def play(self, events: list[dict], batch: bool = False) -> list[dict]:
        """The learner's current decision for each ``play`` event that only reads (experts:
        the probabilities for an optional ``awake`` mask; OCO: the point); a consistent read.

        A play that stores something (an OCO ``hint``) is a write: send it through
        :meth:`process` as ``Request("play", ...)``, which logs it.
        """
        return self._read("play", (events, batch))

    def read_now(self, op: str, args: tuple, budget: float) -> list[dict] | None:
        """``predict(*args)`` or ``play(*args)`` (``op``) answered now, or ``None`` when that
        would wait for the lock or (by the measured cost per item) take over ``budget``
        seconds; for the event loop, which then runs the read in a worker.

        Examples
        --------
        >>> import tempfile
        >>> svc = LearnerService(tempfile.mkdtemp(), "ogd", {"lr": 0.1})
        >>> print(svc.read_now("predict", ([[1.0]],), 0.005))   # nothing measured yet
        None
        >>> svc.predict([[1.0]]) == svc.read_now("predict", ([[1.0]],), 0.005)
        True
        >>> svc.close()
        """
        read = self._read_checked(op, args)
        if self._closed or self._needs_recover or not self._read_cost.fits([len(args[0])], budget):
            return None
        ran = self._without_waiting(lambda: read(*args))
        if ran is None:
            return None
        self._read_cost.record(len(args[0]), ran[1])
        return ran[0]

    def _read(self, op: str, args: tuple) -> list[dict]:
        read = self._read_checked(op, args)
        t0 = time.thread_time()
        with self.lock:
            self._whole()
            out = read(*args)
        self._read_cost.record(len(args[0]), time.thread_time() - t0)
        return out

    def _read_checked(self, op: str, args: tuple):
        if op not in ("predict", "play"):
            raise ValueError(f"not a read: {op!r}")
        if op not in self.ops:
            raise RequestError(404, f"learner kind {self.kind!r} has no {op!r}", "route")
        if op == "play" and any(self.protocol.play_writes(ev) for ev in args[0]):
            raise ValueError("a play that stores a hint is a write: use process([Request('play', ...)])")
        return self._predict_locked if op == "predict" else self._play_locked

    def _predict_locked(self, xs: list) -> list[dict]:
        out = []
        learner = self.learner
        proba = getattr(learner, "predict_proba_one", None)
        for x in xs:
            xv = np.asarray(x, dtype=np.float64) if isinstance(x, list) else x
            try:
                r = {"prediction": to_jsonable(learner.predict_one(xv))}
                if proba is not None:
                    r["proba"] = to_jsonable(proba(xv))
            except InvalidEvent as exc:
                raise RequestError(422, exc.message, exc.field or "x") from None
            out.append(r)
        return out

    def _play_locked(self, events: list[dict], batch: bool = False) -> list[dict]:
        out = []
        for i, ev in enumerate(events):
            try:
                out.append({self._play_key: to_jsonable(self._apply(self.learner, "play", ev))})
            except InvalidEvent as exc:
                fld = exc.field or "event"
                raise RequestError(422, exc.message, f"events[{i}].{fld}" if batch else fld) from None
        return out

    @property
    def offset(self) -> int:
        """Number of committed events (the offset the next event gets)."""
        return self.log.committed_offset

    def state_bytes(self) -> bytes:
        """The learner as ``state_to_bytes`` archive (a consistent copy, encoded outside the lock)."""
        with self.lock:
            self._whole()
            offset, state = self.offset, self._state_copy()
        return SnapshotStore.encode(self._rebuilt(_materialized(state, pause=True)), offset)[1]

    # -- snapshots ------------------------------------------------------------------------------
    def _rebuilt(self, state: dict) -> Learner:
        """A fresh learner standing for ``state`` when encoded (``state_dict`` returns it as is)."""
        learner = self._fresh()
        learner.state_dict = lambda: state  # the copy is ours: no second copy to encode it
        return learner

    def _state_copy(self) -> dict:
        """``learner.state_dict()``, faster for big flat lists of names (taken under the lock).

        A list the learner declares append-only comes back as a :class:`_Prefix` (the list and
        its length now); :func:`_materialized` turns the copy into a state dict.
        """
        learner = self.learner
        out: dict = {}
        append_only = getattr(type(learner), "_append_only_state", ())
        for k in learner._state_names():
            v = getattr(learner, k)
            if type(v) is list and k in append_only:
                out[k] = _Prefix(v, len(v))
            elif type(v) is np.ndarray:
                out[k] = v.copy()
            elif type(v) is list and set(map(type, v)) <= _ATOMS:
                out[k] = list(v)  # immutable items: a shallow copy is a deep one
            elif isinstance(v, Learner) or (isinstance(v, (list, tuple, dict)) and _holds_learner(v)):
                return learner.state_dict()
            else:
                out[k] = copy.deepcopy(v.item() if isinstance(v, np.generic) else v)
        if hasattr(learner, "_rng"):
            out["_rng"] = copy.deepcopy(learner._rng.bit_generator.state)
        return out

    def _retention(self) -> None:
        """Forget old idempotency keys and compact the log (under the lock, outside a transaction)."""
        if self.key_retention is not None and self.offset > self.key_retention:
            self.log.forget_keys_before(self.offset - self.key_retention)
        if self.key_ttl is not None:
            self.log.forget_keys_older_than(self.key_ttl)
        if self.compact_log:
            kept = self.snapshots.complete_offsets()
            if len(kept) >= self.snapshots.keep:  # every kept snapshot is a fallback: keep its tail
                self.log.truncate_before(min(kept))

    def _snapshot_job(self) -> tuple[int, dict]:
        """``(offset, copied state)`` for the writer thread (under the lock); the count of
        events since the last snapshot starts again."""
        job = (self.offset, self._state_copy())
        self._since_snapshot = 0
        return job

    def _schedule_snapshot(self) -> None:
        # only the copy is taken under the lock; encoding and writing run in the writer thread
        self._retention()
        self._writer.submit(self._write_snapshot, self._snapshot_job())

    def _write_snapshot(self, job) -> None:
        offset, state = job
        try:
            state = _materialized(self._names_codec.encoded(state), pause=True)
            self.snapshots.write_learner(self._rebuilt(state), offset)
            self.snapshot_offset = offset
            self.stats.snapshots += 1
        except Exception:  # noqa: BLE001 - a failed snapshot is retried at the next one
            self.stats.snapshot_errors += 1
            _logger.exception("snapshot at offset %d failed", offset)

    def snapshot(self) -> int:
        """Write a snapshot now (blocking); returns the offset it covers.

        Only copying the state holds the lock; reads and writes go on while it is encoded.
        """
        t0 = time.thread_time()
        with self.lock:
            self._whole()
            self._retention()
            job = self._snapshot_job()
        self._copy_cost.record(1, time.thread_time() - t0)
        self._writer.submit(self._write_snapshot, job).result()
        return job[0]

    def snapshot_now(self, budget: float):
        """Start a snapshot without waiting: the state is copied now and the writer thread
        encodes it; returns a :class:`concurrent.futures.Future` of the offset, or ``None``
        (nothing done) when the copy would wait for the lock, take over ``budget`` seconds by
        its measured cost, or be preceded by retention work (key expiry, log compaction).
        For the server's event loop (``POST /snapshot``), which otherwise calls :meth:`snapshot`
        in a worker: copied on the loop, the lock is never held while the thread that holds
        it waits for the interpreter.

        Examples
        --------
        >>> import tempfile
        >>> svc = LearnerService(tempfile.mkdtemp(), "ogd", {"lr": 0.1})
        >>> print(svc.snapshot_now(0.005))          # the copy's cost is not measured yet
        None
        >>> svc.snapshot(), svc.snapshot_now(0.005).result()
        (0, 0)
        >>> svc.close()
        """
        if (self._closed or self._needs_recover or not self._copy_cost.fits([1], budget)
                or self.key_retention is not None or self.key_ttl is not None or self.compact_log):
            return None
        ran = self._without_waiting(self._snapshot_job)
        if ran is None:
            return None
        job, seconds = ran
        self._copy_cost.record(1, seconds)

        def write() -> int:
            self._write_snapshot(job)
            return job[0]

        return self._writer.submit(write)

    def health(self) -> dict:
        """Learner name, kind and offsets."""
        return {"status": "ok", "learner": self.name, "kind": self.kind, "offset": self.offset,
                "snapshot_offset": self.snapshot_offset}

    def close(self, *, snapshot: bool = True) -> None:
        """Write a final snapshot (optional) and close the log."""
        if self._closed:
            return
        if snapshot and self._since_snapshot:
            self.snapshot()
        with self.lock:
            self._closed = True
            self._writer.shutdown(wait=True)
            self.log.close()
            self._lockfile.close()  # releases the directory lock

    def __enter__(self) -> LearnerService:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: learners whose ``learn_many`` equals their ``learn_one`` loop bit for bit (tested): batch
#: requests of array events go through it
BLOCK_LEARNERS = ("onlinekit.oco.ogd:OGD",)


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: its nice value +10; elsewhere nothing).

    For the snapshot writer: on a busy machine its encoding, checksums and copies then wait
    for the event loop and the commit worker instead of competing with them (measured with
    ``/predict`` while a 1M-feature model is snapshotted in a loop: p99 1.5-2.2 ms instead of
    1.5-3.5 ms; ``benchmarks/RESULTS.md``)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + 10))
    except (AttributeError, OSError):  # no such call, or not allowed: run as is
        pass


class _Cost:
    """Measured seconds per event (or item) of one kind of work, for deciding what may run on
    the event loop: a rise is taken at once, a fall a tenth at a time.

    >>> c = _Cost()
    >>> c.fits([1], 1.0)                # nothing measured: nothing fits
    0
    >>> c.record(10, 0.001); c.fits([5, 4, 3], 0.001)   # 100 us per event: 5 + 4 fit in 1 ms
    2
    """

    __slots__ = ("per_event",)

    def __init__(self):
        self.per_event: float | None = None

    def record(self, n: int, seconds: float) -> None:
        if n <= 0:
            return
        x = seconds / n
        cur = self.per_event
        self.per_event = x if cur is None or x > cur else cur + 0.1 * (x - cur)

    def fits(self, sizes: list[int], budget: float) -> int:
        """How many of the leading jobs (``sizes``: events each) fit in ``budget`` seconds."""
        per = self.per_event
        if per is None:
            return 0
        total = 0.0
        for i, n in enumerate(sizes):
            total += per * max(n, 1)
            if total > budget:
                return i
        return len(sizes)


class _GroupCost:
    """The cost of a commit group, from two measured rates: seconds per one-event request and
    seconds per event of many-event (batch) requests, which go through block paths and cost
    far less per event. A group of one kind updates that kind's rate; a mixed group both
    (with its mean per event). A batch rate not measured yet is taken as the one-event rate
    (an over-estimate: such work goes to the worker, which measures it).

    >>> c = _GroupCost()
    >>> c.record([1, 1], 2e-4); c.record([100], 1e-3)   # 100 us per request, 10 us per batch event
    >>> c.fits([1, 1, 100, 1], 1.25e-3)                 # 0.1 + 0.1 + 1.0 ms fit, the 4th does not
    3
    """

    __slots__ = ("one", "many")

    def __init__(self):
        self.one = _Cost()
        self.many = _Cost()

    def record(self, sizes: list[int], seconds: float) -> None:
        n_one = sum(1 for n in sizes if n <= 1)
        n_many = sum(n for n in sizes if n > 1)
        if n_one and not n_many:
            self.one.record(n_one, seconds)
        elif n_many and not n_one:
            self.many.record(n_many, seconds)
        elif n_one:
            self.one.record(n_one + n_many, seconds)
            self.many.record(n_one + n_many, seconds)

    def fits(self, sizes: list[int], budget: float) -> int:
        """How many of the leading requests (``sizes``: events each) fit in ``budget`` seconds."""
        one = self.one.per_event
        many = self.many.per_event if self.many.per_event is not None else one
        total = 0.0
        for i, n in enumerate(sizes):
            per = one if n <= 1 else many
            if per is None:
                return i
            total += per * max(n, 1)
            if total > budget:
                return i
        return len(sizes)


def _block_classes() -> tuple:
    import importlib

    out = []
    for q in BLOCK_LEARNERS:
        mod, _, name = q.partition(":")
        out.append(getattr(importlib.import_module(mod), name))
    return tuple(out)


def _lock_dir(state_dir: Path):
    """Hold an exclusive lock on ``state_dir`` (one process per state directory).

    The OS drops the lock when the process dies, so a crash never leaves it stale.
    """
    fh = open(state_dir / "LOCK", "a+b")  # noqa: SIM115 - kept open while the service runs
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no cross-process guard
        return fh
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise OSError(f"state directory {state_dir} is in use by another process") from None
    return fh


class StateLossError(ValueError):
    """Starting would silently drop acknowledged events (the log is behind its snapshots)."""


class _Torn(Exception):
    """A single event left the learner in a state to drop (it raised outside its contract, or
    the update made the state non-finite): rebuild from disk, answer ``error``."""

    def __init__(self, error: RequestError):
        super().__init__(error.message)
        self.error = error


_ATOMS = {str, int, float, bool, type(None)}


class _Prefix:
    """The first ``n`` items of a list that is only ever appended to (a state copy taken under
    the lock without copying the items: appends after it leave ``items[:n]`` as it was)."""

    __slots__ = ("items", "n")

    def __init__(self, items: list, n: int):
        self.items, self.n = items, n


#: items sliced per piece when a prefix is copied outside the lock (one piece holds the GIL
#: for well under a millisecond; other threads run between pieces)
_PREFIX_PIECE = 20_000


class _NamesCodec:
    """The encoded pieces of the append-only name lists, kept from one snapshot to the next
    (used by the writer thread only).

    A list that is only appended to keeps its first ``k * _STR_PIECE`` names, so the JSON
    pieces of those full slices (:func:`onlinekit.base._strings_piece`) stay valid while the
    list object is the same; a snapshot encodes only the slices not seen yet and the partial
    last one. The archive bytes are those :func:`~onlinekit.base.state_to_bytes` writes for
    the list itself.
    """

    def __init__(self):
        self._lists: dict = {}  # state key -> (the list object, encoded full pieces)

    def encoded(self, state: dict) -> dict:
        """``state`` with each long all-string :class:`_Prefix` as
        :class:`~onlinekit.base.EncodedStrings` (others are left for :func:`_materialized`)."""
        from onlinekit import base

        out = state
        for k, v in state.items():
            if type(v) is not _Prefix or v.n < base._STR_ARRAY_MIN:
                continue
            enc = self._encode(k, v, base)
            if enc is not None:
                out = dict(out) if out is state else out
                out[k] = enc
        return out

    def _encode(self, key: str, prefix: _Prefix, base):
        items, n, size = prefix.items, prefix.n, base._STR_PIECE
        held = self._lists.get(key)
        pieces = held[1] if held is not None and held[0] is items else []
        self._lists[key] = (items, pieces)
        full = n // size
        while len(pieces) < full:
            names = items[len(pieces) * size:(len(pieces) + 1) * size]
            if set(map(type, names)) != {str}:
                return None
            pieces.append(base._strings_piece(names))
            time.sleep(0)
        use = pieces[:full]
        tail = items[full * size:n]
        if tail:
            if set(map(type, tail)) != {str}:
                return None
            use.append(base._strings_piece(tail))
        return base.EncodedStrings(base._join_pieces(use))


def _materialized(state: dict, *, pause: bool = False) -> dict:
    """``state`` with each :class:`_Prefix` replaced by a list of its ``n`` first items.

    Slicing is atomic under the GIL, so pieces may be taken while another thread appends;
    ``pause`` switches threads between pieces (outside the lock). Items that are not atoms
    are deep-copied, as :meth:`LearnerService._state_copy` does for other lists.
    """
    if not any(type(v) is _Prefix for v in state.values()):
        return state
    out = dict(state)
    for k, v in state.items():
        if type(v) is not _Prefix:
            continue
        items, n = v.items, v.n
        copied: list = []
        for i in range(0, n, _PREFIX_PIECE):
            piece = items[i:min(i + _PREFIX_PIECE, n)]
            copied.extend(piece if set(map(type, piece)) <= _ATOMS else copy.deepcopy(piece))
            if pause:
                time.sleep(0)
        out[k] = copied
    return out


def _holds_learner(v) -> bool:
    items = v.values() if isinstance(v, dict) else v
    return any(isinstance(x, Learner) or (isinstance(x, (list, tuple, dict)) and _holds_learner(x))
               for x in items if not isinstance(x, (str, int, float, np.ndarray)))


def _nonfinite(obj, depth: int = 0) -> str | None:
    """Name of the first learned attribute of ``obj`` holding a NaN or an infinity, or ``None``.

    Float arrays are checked through their sum (finite sum => every entry finite; the exact
    test runs only when the sum is not finite); lists whose first item is a name are skipped.
    """
    items = ((k, getattr(obj, k)) for k in obj._state_names()) if isinstance(obj, Learner) else None
    if items is None:
        if isinstance(obj, dict):
            items = obj.items()
        else:
            items = enumerate(obj)
    for k, v in items:
        t = type(v)
        if t is np.ndarray:
            if v.dtype.kind in "fc" and v.size:
                with np.errstate(all="ignore"):  # the sum of inf and -inf is NaN: no warning
                    finite_sum = np.isfinite(v.sum())
                if not finite_sum and not np.isfinite(v).all():
                    return str(k)
        elif t is float or isinstance(v, np.floating):
            if not math.isfinite(v):
                return str(k)
        elif depth < 4 and (isinstance(v, Learner) or (isinstance(v, (list, tuple, dict)) and v)):
            if isinstance(v, (list, tuple)) and isinstance(v[0], (str, int, bool)):
                continue
            if isinstance(v, dict) and isinstance(next(iter(v.values())), (str, int, bool)):
                continue
            sub = _nonfinite(v, depth + 1)
            if sub is not None:
                return f"{k}.{sub}" if not isinstance(v, (list, tuple)) else f"{k}[{sub}]"
    return None
