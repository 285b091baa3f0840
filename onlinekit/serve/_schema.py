"""Strict parsing and validation of service requests (JSON in, normalised events out).

Every check raises :class:`RequestError` with an HTTP status and the field at fault; nothing
is coerced silently (booleans are not numbers, ``NaN``/``Infinity`` literals and numbers that
overflow to infinity are refused, duplicate object keys are refused).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

import numpy as np

__all__ = ["RequestError", "Limits", "parse_json", "parse_events", "validate_event", "validate_batch", "fingerprint",
           "encode_events", "to_jsonable", "OPS", "SERVED_OPS"]

#: operations that change state (logged) and those that only read
OPS = ("learn", "act", "feedback", "release")
READ_OPS = ("predict",)
#: operations of the experts and OCO protocols: ``update`` is logged; ``play`` reads, unless the
#: event stores something (an OCO hint: the protocol's ``play_writes``), then it is logged too
ROUND_OPS = ("play", "update")
#: every operation the service can host (a learner's protocol names its own, see
#: :data:`onlinekit.protocols.OPERATIONS`)
SERVED_OPS = frozenset(OPS + READ_OPS + ROUND_OPS)
_MAX_INT = 2**53
_MAX_DEPTH = 32


class RequestError(Exception):
    """A refused request: HTTP ``status``, the ``field`` at fault and a message."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def to_dict(self) -> dict:
        out = {"status": self.status, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class Limits:
    """Limits of one service: body bytes, events per batch, features per event, key length,
    and optionally the largest ``|value|`` of a feature or target (``max_abs_value``)."""

    def __init__(self, max_body: int = 1 << 20, max_batch: int = 1000, max_features: int = 10_000,
                 max_key: int = 200, max_abs_value: float | None = None):
        self.max_body = int(max_body)
        self.max_batch = int(max_batch)
        self.max_features = int(max_features)
        self.max_key = int(max_key)
        if max_abs_value is not None and not (max_abs_value > 0 and math.isfinite(max_abs_value)):
            raise ValueError(f"max_abs_value must be None or a finite number > 0, got {max_abs_value!r}")
        self.max_abs_value = None if max_abs_value is None else float(max_abs_value)


def _refuse_constant(name: str):
    raise RequestError(400, f"non-finite number {name} is not allowed", "body")


def _no_duplicates(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):  # some key came twice: name the first one repeated
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise RequestError(400, f"duplicate key {k!r}", "body")
            seen.add(k)
    return out


#: one strict decoder for every request (``json.loads`` with hooks builds a new one per call)
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
_SCAN = _DECODER.scan_once
#: the same without the duplicate-key hook (objects built in C): only for texts whose keys
#: are then counted (:func:`_keys_unique`)
_SCAN_PLAIN = json.JSONDecoder(parse_constant=_refuse_constant).scan_once
_WS = re.compile(r"[ \t\n\r]*")
_BATCH_HEAD = re.compile(r'[ \t\n\r]*\{[ \t\n\r]*"events"[ \t\n\r]*:[ \t\n\r]*\[')


def _text(raw: bytes) -> str:
    if not raw:
        raise RequestError(400, "empty body; expected a JSON object", "body")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(400, "body is not UTF-8", "body") from None


def _decode(text: str) -> Any:
    try:
        return _DECODER.decode(text)
    except RequestError:
        raise
    except RecursionError:
        raise RequestError(400, "JSON nested too deeply", "body") from None
    except ValueError as exc:
        raise RequestError(400, f"malformed JSON: {exc}", "body") from None


def parse_json(raw: bytes) -> Any:
    """Parse a request body strictly; 400 naming ``body`` on any problem."""
    return _decode(_text(raw))


def _split_batch(text: str, scan=_SCAN) -> tuple[list, list[tuple[int, int]]] | None:
    """``{"events": [e0, e1, ...]}`` -> the parsed events and the span of each one's text.

    Only for that exact shape (the key written plainly, nothing else in the object); any
    other text -- including every malformed one -- returns ``None`` and goes through
    :func:`parse_json`, which gives the answer (and the error) of record. ``scan`` is
    :data:`_SCAN` (duplicate keys refused) or :data:`_SCAN_PLAIN` (not checked: the caller
    checks them with :func:`_keys_unique`).
    """
    m = _BATCH_HEAD.match(text)
    if m is None:
        return None
    i = _WS.match(text, m.end()).end()
    events: list = []
    spans: list[tuple[int, int]] = []
    if text.startswith("]", i):
        return None  # empty batch: the strict path words the refusal
    ws = _WS.match
    try:
        while True:
            ev, end = scan(text, i)
            events.append(ev)
            spans.append((i, end))
            c = text[end:end + 1]
            if c != "," and c != "]":
                end = ws(text, end).end()
                c = text[end:end + 1]
            if c == ",":
                i = ws(text, end + 1).end()
            elif c == "]":
                break
            else:
                return None
    except RequestError:
        raise
    except (StopIteration, ValueError, RecursionError):
        return None
    i = ws(text, end + 1).end()
    if not text.startswith("}", i) or _WS.match(text, i + 1).end() != len(text):
        return None
    return events, spans


def parse_events(op: str, raw: bytes, limits: Limits, batch: bool = False) -> tuple[list[dict], list[str]]:
    """Parse and validate a request body: its normalised events and each one's JSON text.

    The text logged for an event is the client's own text of it when that decodes to the
    normalised event (it does whenever validation added no default field), so the numbers are
    not formatted a second time; otherwise the normalised event is encoded. Refusals are those
    of :func:`parse_json` with :func:`validate_event` / :func:`validate_batch`.

    Examples
    --------
    >>> parse_events("learn", b'{"x": [1, 2.5], "y": 3}', Limits())
    ([{'x': [1, 2.5], 'y': 3}], ['{"x": [1, 2.5], "y": 3}'])
    >>> evs, texts = parse_events("act", b'{"events": [{}, {"obs": 1}]}', Limits(), batch=True)
    >>> evs, texts
    ([{'obs': None}, {'obs': 1}], ['{"obs":null}', '{"obs": 1}'])
    """
    text = _text(raw)
    if not batch:
        doc = _decode(text)
        ev = _checked(op, doc, limits)
        if len(ev) == len(doc):
            return [ev], [text.strip(" \t\n\r")]
        return [ev], encode_events([ev])
    split = _split_batch(text, _SCAN_PLAIN) if op == "learn" else None
    if split is not None:
        docs, spans = split
        if len(docs) <= limits.max_batch and _plain_learn_batch(docs, limits) and _keys_unique(text, docs):
            return [{"x": d["x"], "y": d["y"]} for d in docs], [text[s:e] for s, e in spans]
    split = _split_batch(text)
    if split is None:
        doc = _decode(text)
        evs = validate_batch(op, doc, limits, _check=_checked)
        return evs, encode_events(evs)
    docs, spans = split
    evs = validate_batch(op, {"events": docs}, limits, _check=_checked)
    texts = [text[s:e] if len(ev) == len(d) else _ENCODE(ev)  # a default was added: encode the event
             for ev, d, (s, e) in zip(evs, docs, spans, strict=True)]
    return evs, texts


def _number(v: Any, field: str) -> float | int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RequestError(422, f"expected a number, got {_tname(v)}", field)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise RequestError(422, "number is not finite", field)
    elif abs(v) > _MAX_INT:
        raise RequestError(422, f"integer out of range (|v| <= 2**53), got {v}", field)
    return v


def _tname(v: Any) -> str:
    return "null" if v is None else {dict: "object", list: "array", str: "string", bool: "boolean"}.get(type(v), type(v).__name__)


def _json_value(v: Any, field: str, depth: int = 0) -> Any:
    """Any JSON value whose numbers are finite and in range."""
    if depth > _MAX_DEPTH:
        raise RequestError(422, "value nested too deeply", field)
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, float)):
        return _number(v, field)
    if isinstance(v, list):
        return [_json_value(x, f"{field}[{i}]", depth + 1) for i, x in enumerate(v)]
    if isinstance(v, dict):
        return {k: _json_value(x, f"{field}[{k!r}]", depth + 1) for k, x in v.items()}
    raise RequestError(422, f"unsupported value {_tname(v)}", field)  # pragma: no cover


def _bounded(v: Any, field: str, limits: Limits) -> Any:
    v = _number(v, field)
    m = limits.max_abs_value
    if m is not None and abs(v) > m:
        raise RequestError(422, f"|value| above the bound {m:g} (--max-abs-value), got {v!r}", field)
    return v


def _all_fine(values, limits: Limits) -> bool:
    """Fast path: every value a float, finite and within the bound (else check one by one)."""
    if not values or set(map(type, values)) != _FLOAT_ONLY:
        return False
    if not math.isfinite(sum(values)):  # an overflowing sum only sends us to the exact check
        return False
    m = limits.max_abs_value
    return m is None or max(map(abs, values)) <= m


_FLOAT_ONLY = {float}


def _plain_number(v: Any, limits: Limits) -> bool:
    """Fast path: ``v`` a finite float or an in-range int, within the bound (else the exact check)."""
    t = type(v)
    if t is float:
        if not math.isfinite(v):
            return False
    elif t is not int or abs(v) > _MAX_INT:
        return False
    m = limits.max_abs_value
    return m is None or abs(v) <= m


def _features(v: Any, field: str, limits: Limits) -> Any:
    if isinstance(v, dict):
        if len(v) > limits.max_features:
            raise RequestError(413, f"too many features ({len(v)} > {limits.max_features})", field)
        if not _all_fine(list(v.values()), limits):
            for k, x in v.items():
                _bounded(x, f"{field}[{k!r}]", limits)
        return v
    if isinstance(v, list):
        if len(v) > limits.max_features:
            raise RequestError(413, f"too many features ({len(v)} > {limits.max_features})", field)
        if not _all_fine(v, limits):
            for i, x in enumerate(v):
                _bounded(x, f"{field}[{i}]", limits)
        return v
    raise RequestError(422, f"expected an object of numbers or an array of numbers, got {_tname(v)}", field)


_FIELDS = {
    "learn": ({"x", "y"}, {"groups", "sensitive"}),
    "predict": ({"x"}, set()),
    "act": (set(), {"obs"}),
    "feedback": ({"action", "feedback"}, {"obs"}),
    "release": ({"x"}, set()),
}


def _check_fields(ev: Any, required: set, optional: set, prefix: str) -> None:
    """``ev`` is a JSON object with every ``required`` field and no field outside both sets."""
    if not isinstance(ev, dict):
        raise RequestError(422, f"expected a JSON object, got {_tname(ev)}", prefix.rstrip(".") or "body")
    for k in ev:
        if k not in required and k not in optional:
            raise RequestError(422, f"unknown field (allowed: {', '.join(sorted(required | optional))})", prefix + k)
    for k in sorted(required):
        if k not in ev:
            raise RequestError(422, "missing required field", prefix + k)


def validate_event(op: str, ev: Any, limits: Limits, prefix: str = "") -> dict:
    """Check one event of operation ``op``; returns it normalised (a new dict)."""
    _check_fields(ev, *_FIELDS[op], prefix)
    out: dict = {}
    if op in ("learn", "predict"):
        out["x"] = _features(ev["x"], prefix + "x", limits)
    if op == "learn":
        y = ev["y"]
        out["y"] = y if isinstance(y, bool) else _bounded(y, prefix + "y", limits)
        if "groups" in ev:
            g = ev["groups"]
            if not isinstance(g, list) or not all(isinstance(b, bool) for b in g):
                raise RequestError(422, "expected an array of booleans", prefix + "groups")
            out["groups"] = g
        if "sensitive" in ev:
            s = ev["sensitive"]
            if isinstance(s, bool) or not isinstance(s, (int, float, str)):
                raise RequestError(422, f"expected a number or a string, got {_tname(s)}", prefix + "sensitive")
            out["sensitive"] = s if isinstance(s, str) else _number(s, prefix + "sensitive")
    elif op == "act":
        out["obs"] = _json_value(ev.get("obs"), prefix + "obs")
    elif op == "feedback":
        out["obs"] = _json_value(ev.get("obs"), prefix + "obs")
        out["action"] = _json_value(ev["action"], prefix + "action")
        out["feedback"] = _json_value(ev["feedback"], prefix + "feedback")
    elif op == "release":
        x = ev["x"]
        if isinstance(x, list):
            for i, v in enumerate(x):
                _number(v, f"{prefix}x[{i}]")
        else:
            _number(x, prefix + "x")
        out["x"] = x
    return out


def _checked(op: str, ev: Any, limits: Limits, prefix: str = "") -> dict:
    """:func:`validate_event`, with the common learn shape (``{"x": all-float features,
    "y": number}``) checked at once; any other event takes the full check."""
    if op == "learn" and type(ev) is dict and len(ev) == 2:
        x, y = ev.get("x"), ev.get("y")
        if _plain_number(y, limits) and type(x) in (dict, list) and len(x) <= limits.max_features \
                and _all_fine(x if type(x) is list else list(x.values()), limits):
            return {"x": x, "y": y}
    return validate_event(op, ev, limits, prefix)


def _plain_learn_batch(docs: list, limits: Limits) -> bool:
    """Are all of ``docs`` ``{"x": finite floats (array or object), "y": plain number}``
    within the limits? Checked for the whole batch at once; ``False`` sends it to the
    per-event check (which then finds and names the fault, if any)."""
    flat: list = []
    ys: list = []
    mf = limits.max_features
    for d in docs:
        if type(d) is not dict or len(d) != 2:
            return False
        x = d.get("x")
        if type(x) is list:
            if not x or len(x) > mf:
                return False
            flat += x
        elif type(x) is dict:
            if not x or len(x) > mf:
                return False
            flat += x.values()
        else:
            return False
        ys.append(d.get("y"))
    if not _all_fine(flat, limits):
        return False
    return _all_fine(ys, limits) or all(_plain_number(y, limits) for y in ys)


def _keys_unique(text: str, docs: list) -> bool:
    """No object in batch ``text`` repeats a key, for ``docs`` (its events, parsed without the
    duplicate check) that :func:`_plain_learn_batch` accepted.

    Every value there is a number, so the only strings in the text are the keys: the
    ``"events"`` key and those of each event and of its ``x`` object. A string has at least
    two quote marks and a repeated key leaves a parsed object with fewer keys than its text,
    so exactly two quote marks per parsed key means no key came twice (escaped quotes in a
    key only add marks: such a batch takes the checked path).

    >>> t = '{"events": [{"x": {"a": 1.0}, "y": 1}, {"x": [2.0], "y": 2}]}'
    >>> _keys_unique(t, [{"x": {"a": 1.0}, "y": 1}, {"x": [2.0], "y": 2}])
    True
    >>> _keys_unique('{"events": [{"x": [2.0], "y": 1, "y": 2}]}', [{"x": [2.0], "y": 2}])
    False
    """
    keys = 1
    for d in docs:
        x = d["x"]
        keys += 2 + len(x) if type(x) is dict else 2
    return text.count('"') == 2 * keys


def validate_batch(op: str, doc: Any, limits: Limits, *, _check=validate_event) -> list[dict]:
    """``{"events": [...]}`` -> normalised events (1 to ``limits.max_batch`` of them)."""
    if not isinstance(doc, dict):
        raise RequestError(422, f"expected a JSON object, got {_tname(doc)}", "body")
    extra = set(doc) - {"events"}
    if extra:
        raise RequestError(422, "unknown field (allowed: events)", sorted(extra)[0])
    evs = doc.get("events")
    if not isinstance(evs, list):
        raise RequestError(422, "expected an array of events" if "events" in doc else "missing required field", "events")
    if not evs:
        raise RequestError(422, "empty batch", "events")
    if len(evs) > limits.max_batch:
        raise RequestError(413, f"batch too large ({len(evs)} > {limits.max_batch} events)", "events")
    return [_check(op, ev, limits, prefix=f"events[{i}].") for i, ev in enumerate(evs)]


_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def encode_events(events: list[dict]) -> list[str]:
    """Compact JSON text of each event (what the log stores)."""
    return [_ENCODE(ev) for ev in events]


def fingerprint(op: str, texts: list[str], batch: bool = False) -> str:
    """Digest of a request (operation, batch route or not, encoded events), to refuse a reused
    idempotency key: ``/act`` and ``/act/batch`` with the same event are different requests."""
    h = hashlib.sha256(op.encode() + (b"/batch" if batch else b""))
    if texts:  # each text preceded by a newline, hashed in one call
        h.update(("\n" + "\n".join(texts)).encode())
    return h.hexdigest()


def to_jsonable(v: Any) -> Any:
    """numpy scalars/arrays, tuples and non-string dict keys -> plain JSON (non-finite -> null)."""
    if isinstance(v, np.ndarray):
        return to_jsonable(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [to_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k).lower() if isinstance(k, bool) else str(k): to_jsonable(x) for k, x in v.items()}
    return str(v)


# -- play / update of the experts and OCO protocols ------------------------------------------------
#: (protocol, operation) -> (required fields, optional fields)
_ROUND_FIELDS = {
    ("experts", "play"): (set(), {"awake"}),
    ("experts", "update"): ({"losses"}, {"awake", "mixture_loss"}),
    ("oco", "play"): (set(), {"hint"}),
    ("oco", "update"): ({"gradient"}, {"hint"}),
}


def _numbers(v: Any, field: str, limits: Limits, nulls: bool = False) -> list:
    """An array of finite (bounded) numbers; with ``nulls``, ``null`` entries too."""
    if not isinstance(v, list):
        raise RequestError(422, f"expected an array of numbers, got {_tname(v)}", field)
    if len(v) > limits.max_features:
        raise RequestError(413, f"too many entries ({len(v)} > {limits.max_features})", field)
    if not _all_fine(v, limits):
        for i, x in enumerate(v):
            if not (nulls and x is None):
                _bounded(x, f"{field}[{i}]", limits)
    return v


def _mask01(v: Any, field: str, limits: Limits) -> list:
    """An array of booleans or numbers that are exactly 0 or 1."""
    if not isinstance(v, list):
        raise RequestError(422, f"expected an array of 0/1 or booleans, got {_tname(v)}", field)
    if len(v) > limits.max_features:
        raise RequestError(413, f"too many entries ({len(v)} > {limits.max_features})", field)
    for i, x in enumerate(v):
        if not isinstance(x, bool) and not (type(x) in (int, float) and x in (0, 1)):
            raise RequestError(422, f"expected 0, 1 or a boolean, got {x!r}", f"{field}[{i}]")
    return v


def validate_round(kind: str, op: str, ev: Any, limits: Limits, prefix: str = "") -> dict:
    """Check one ``play`` or ``update`` event of a learner of protocol ``kind`` (``experts``:
    ``losses``, ``awake``, ``mixture_loss``; ``oco``: ``gradient``, ``hint``); returns it
    normalised (a new dict). Lengths are the learner's to check (its protocol's
    ``apply_event``).

    >>> validate_round("experts", "update", {"losses": [0.5, None], "awake": [1, 0]}, Limits())
    {'losses': [0.5, None], 'awake': [1, 0]}
    >>> try:
    ...     validate_round("experts", "update", {"losses": [0.5, 0.2], "awake": [1, 2]}, Limits())
    ... except RequestError as err:
    ...     print(err.status, err.field, err.message)
    422 awake[1] expected 0, 1 or a boolean, got 2
    """
    fields = _ROUND_FIELDS.get((kind, op))
    if fields is None:
        raise RequestError(404, f"the {kind} protocol has no /{op}", "route")
    _check_fields(ev, *fields, prefix)
    out: dict = {}
    for k in ("losses", "gradient", "hint"):
        if k in ev:
            out[k] = _numbers(ev[k], prefix + k, limits, nulls=k == "losses")
    if "awake" in ev:
        out["awake"] = _mask01(ev["awake"], prefix + "awake", limits)
    if "mixture_loss" in ev:
        out["mixture_loss"] = _bounded(ev["mixture_loss"], prefix + "mixture_loss", limits)
    return out


def validate_round_batch(kind: str, op: str, doc: Any, limits: Limits) -> list[dict]:
    """``{"events": [...]}`` of ``play`` / ``update`` events -> normalised events."""
    return validate_batch(op, doc, limits,
                          _check=lambda op, ev, limits, prefix: validate_round(kind, op, ev, limits, prefix))


__all__ += ["ROUND_OPS", "validate_round", "validate_round_batch"]
