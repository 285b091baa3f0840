"""Protocols and the small shared base class every onlinekit learner uses.

Three protocols name what users type (DESIGN.md section 3):

* :class:`SupervisedLearner` -- River conventions: ``predict_one`` / ``learn_one`` plus the
  optional block fast paths ``predict_many`` / ``learn_many`` / ``predict_learn_many``.
* :class:`DecisionMaker` -- bandits, bidding, cascading RL: ``act`` / ``update``.
* :class:`ContinualRelease` -- private counters: ``release`` (and ``release_many``).

:class:`Learner` is the optional helper base. It stores constructor arguments verbatim, gives
``clone()``, turns ``seed`` into the learner's own :class:`numpy.random.Generator`, and
exposes learned state (attributes whose names end in ``_``) through ``state_dict()`` /
``load_state_dict()``, which round-trip through ``numpy.savez`` + JSON with
:func:`save_state` / :func:`load_state` -- no pickle is needed to restore a learner.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import io
import json
import math
import numbers
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "Diverged",
    "InvalidEvent",
    "Learner",
    "SupervisedLearner",
    "DecisionMaker",
    "ContinualRelease",
    "spawn_seeds",
    "save_state",
    "load_state",
    "state_to_bytes",
    "state_from_bytes",
    "write_state",
]


class InvalidEvent(ValueError):
    """An event (or a parameter) that a learner refuses.

    The message names the offending field and, when known, the event offset. A learner that
    raises it has not changed its state.

    Parameters
    ----------
    message
        What is wrong.
    field
        The input field (feature, column, keyword argument or parameter) at fault.
    offset
        Zero-based position of the event in its stream, when known.

    Examples
    --------
    >>> err = InvalidEvent("is NaN", field="x[3]", offset=17)
    >>> str(err)
    "event 17: field 'x[3]': is NaN"
    >>> isinstance(err, ValueError)
    True
    """

    def __init__(self, message: str, *, field: str | None = None, offset: int | None = None):
        self.message = message
        self.field = field
        self.offset = offset
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.offset is not None:
            parts.append(f"event {self.offset}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        parts.append(self.message)
        return ": ".join(parts)

    def at(self, offset: int) -> InvalidEvent:
        """Return a copy of this error located at stream ``offset``."""
        return type(self)(self.message, field=self.field, offset=offset)

    def __reduce__(self):
        return (_rebuild_invalid_event, (self.message, self.field, self.offset, type(self) is Diverged))


class Diverged(InvalidEvent):
    """An update that would make a learner's state non-finite; it was not applied.

    Replay stops at the first one: ``diverged at event N`` (try a smaller step size, or
    standardised features).

    Examples
    --------
    >>> err = Diverged("weights would be inf", offset=3)
    >>> isinstance(err, InvalidEvent), str(err.at(7))
    (True, 'event 7: weights would be inf')
    """


def _rebuild_invalid_event(message, field, offset, diverged=False):
    return (Diverged if diverged else InvalidEvent)(message, field=field, offset=offset)


# --------------------------------------------------------------------------------------------
# Protocols
# --------------------------------------------------------------------------------------------


@runtime_checkable
class SupervisedLearner(Protocol):
    """A learner fed (features, target) pairs, River style.

    ``x`` is a ``dict`` of feature name to number or a 1-d float array; ``y`` a number.
    Extra per-event columns (group memberships, sensitive attribute, weights) travel as
    keyword arguments. Optional block methods, when present, must give exactly the result of
    the per-event loop:

    * ``predict_many(X) -> ndarray`` -- predictions of the current state for each row;
    * ``learn_many(X, y, **kw) -> None`` -- ``learn_one`` over the rows in order;
    * ``predict_learn_many(X, y, **kw) -> ndarray`` -- for each row in order, predict with the
      current state, then learn that row (progressive validation in one call). The replay
      engine uses it when available.
    """

    def predict_one(self, x: Any) -> Any:
        """Predict the target of ``x`` with the current state."""

    def learn_one(self, x: Any, y: Any, **kwargs: Any) -> None:
        """Update the state with one labelled event."""


@runtime_checkable
class DecisionMaker(Protocol):
    """A policy that acts and learns from (possibly partial) feedback."""

    def act(self, obs: Any) -> Any:
        """Choose an action for observation ``obs``."""

    def update(self, obs: Any, action: Any, feedback: Any) -> None:
        """Learn from the feedback to ``action`` taken at ``obs``."""


@runtime_checkable
class ContinualRelease(Protocol):
    """A continual-release mechanism (e.g. a private counter)."""

    def release(self, x: Any) -> Any:
        """Consume one input and return the statistic after it."""


# --------------------------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------------------------


def spawn_seeds(seed: int | np.random.SeedSequence | None, n: int) -> list[int]:
    """Derive ``n`` independent integer seeds from one root ``seed``.

    Children come from :meth:`numpy.random.SeedSequence.spawn`, so they never give equal
    streams and do not depend on how work is scheduled.

    Examples
    --------
    >>> a = spawn_seeds(0, 3)
    >>> a == spawn_seeds(0, 3), len(set(a))
    (True, 3)
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [int(c.generate_state(1, dtype=np.uint64)[0]) for c in root.spawn(n)]


# --------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------


class Learner:
    """Optional helper base: verbatim params, ``clone``, seeding and learned state.

    Subclasses store every ``__init__`` argument on an attribute of the same name, unchanged,
    and call :meth:`reset` at the end of ``__init__``. ``reset`` (override ``_reset``) builds
    all learned state; learned attributes end with ``_`` and hold arrays, numbers, strings,
    lists/dicts of those, or nested :class:`Learner` objects. The random generator, if the
    learner has a ``seed`` parameter, is ``self._rng``.

    Examples
    --------
    >>> class Mean(Learner):
    ...     def __init__(self, prior=0.0):
    ...         self.prior = prior
    ...         self.reset()
    ...     def _reset(self):
    ...         self.n_ = 0
    ...         self.mean_ = float(self.prior)
    ...     def learn_one(self, x, y):
    ...         self.n_ += 1
    ...         self.mean_ += (y - self.mean_) / self.n_
    ...     def predict_one(self, x):
    ...         return self.mean_
    >>> m = Mean(prior=1.0)
    >>> m.learn_one(None, 3.0)
    >>> m.predict_one(None), m.clone().predict_one(None)
    (3.0, 1.0)
    >>> m2 = Mean(prior=1.0)
    >>> m2.load_state_dict(m.state_dict())
    >>> m2.predict_one(None)
    3.0
    """

    #: Layout version of :meth:`state_dict` (archives record it). A class whose state layout
    #: changes raises it and overrides :meth:`migrate` to read the older layouts.
    state_version: int = 1

    # -- parameters ---------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, exactly as given."""
        return {name: getattr(self, name) for name in self._param_names()}

    def clone(
        self,
        new_params: dict[str, Any] | None = None,
        include_attributes: bool = False,
        **overrides: Any,
    ) -> Learner:
        """A fresh, unlearned copy with the same parameters (optionally some replaced).

        ``new_params`` (River's spelling) and keyword ``overrides`` replace parameters.
        Parameters that are learners are cloned too, so the copy shares no state. With
        ``include_attributes=True`` the learned state is copied as well.
        """
        params = {}
        for k, v in self.get_params().items():
            if isinstance(v, Learner):
                params[k] = v.clone()
            else:
                params[k] = copy.deepcopy(v)
        changes = {**(new_params or {}), **overrides}
        unknown = set(changes) - set(params)
        if unknown:
            raise TypeError(f"{type(self).__name__}.clone: unknown parameter(s) {sorted(unknown)}")
        params.update(changes)
        twin = type(self)(**params)
        if include_attributes:
            twin.load_state_dict(self.state_dict())
        return twin

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- state --------------------------------------------------------------------------
    def reset(self) -> Learner:
        """Forget everything learned; re-seed the generator from ``seed``."""
        if "seed" in self._param_names():
            self._rng = np.random.default_rng(self.seed)
        self._reset()
        return self

    def _reset(self) -> None:  # pragma: no cover - trivial default
        """Build the learned state (override)."""

    def _state_names(self) -> list[str]:
        return sorted(
            k for k in vars(self) if k.endswith("_") and not k.startswith("_")
        )

    def state_dict(self) -> dict[str, Any]:
        """Learned state as plain data (arrays, numbers, strings, lists, dicts).

        Nested learners appear as their own state dicts. The random generator's state is
        included under ``"_rng"`` so a restored learner continues the same random stream.
        """
        out: dict[str, Any] = {}
        for k in self._state_names():
            out[k] = _export(getattr(self, k))
        if hasattr(self, "_rng"):
            out["_rng"] = copy.deepcopy(self._rng.bit_generator.state)
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore state produced by :meth:`state_dict` of a learner with the same params
        (states written by earlier onlinekit versions go through :meth:`_upgrade_state`).

        A state read from an archive carries the ``state_version`` it was written with under
        the key ``"__state_version__"`` (absent: the current layout)."""
        state = dict(state)
        from_version = state.pop(_VERSION_KEY, None)
        state = self._upgrade_state(state, from_version)
        expected = set(self._state_names())
        given = {k for k in state if k != "_rng"}
        if expected and given != expected:
            missing, extra = sorted(expected - given), sorted(given - expected)
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: state keys do not match "
                f"(missing {missing}, unexpected {extra})"
            )
        for k in given:
            current = getattr(self, k, None)
            setattr(self, k, _import(state[k], current))
        if "_rng" in state:
            if not hasattr(self, "_rng"):
                self._rng = np.random.default_rng()
            self._rng.bit_generator.state = copy.deepcopy(state["_rng"])
        self._after_load()

    def _after_load(self) -> None:
        """Hook: rebuild derived caches after :meth:`load_state_dict` (override)."""

    def _upgrade_state(self, state: dict[str, Any], from_version: int | None = None) -> dict[str, Any]:
        """Hook: bring a state from an earlier onlinekit version to the current layout.

        ``from_version`` is the class's ``state_version`` when the state was written (``None``:
        written by this code). An older one goes through :meth:`migrate`; a newer one is refused.
        Overrides that also repair unversioned layouts call this first."""
        if from_version is None or int(from_version) == self.state_version:
            return state
        if int(from_version) > self.state_version:
            raise ValueError(f"{type(self).__name__}: the state was written with state_version {from_version}, "
                             f"newer than this onlinekit's {self.state_version}; upgrade onlinekit to load it")
        return self.migrate(state, int(from_version))

    def migrate(self, state: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Turn a state of layout ``from_version`` into the current layout (``state_version``).

        A class whose state layout changes raises its ``state_version`` and overrides this."""
        raise ValueError(f"{type(self).__name__} cannot migrate a state from state_version {from_version} "
                         f"to {self.state_version}")


#: key under which an archived state carries the layout version it was written with
_VERSION_KEY = "__state_version__"


def _export(v: Any) -> Any:
    if isinstance(v, Learner):
        return {"__learner_state__": v.state_dict(), _VERSION_KEY: type(v).state_version}
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {k: _export(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if _all_str(v):  # e.g. a million feature names: strings are immutable, no copies
            return list(v)
        return [_export(x) for x in v]
    return copy.deepcopy(v)


def _all_str(v) -> bool:
    """Is ``v`` a list or tuple of ``str`` only (the fast path of big name lists)?

    A long list is checked in slices with a thread switch between them, so a thread encoding
    a snapshot of a million names never holds the GIL for long.
    """
    if type(v) not in (list, tuple):
        return False
    if len(v) <= _STR_PIECE:
        return not v or set(map(type, v)) == {str}
    import time

    for i in range(0, len(v), _STR_PIECE):
        if set(map(type, v[i:i + _STR_PIECE])) != {str}:
            return False
        time.sleep(0)
    return True


#: string lists at least this long are stored as one JSON text array in the archive, encoded
#: in pieces of _STR_PIECE names with a thread switch between pieces (a serving thread
#: encoding a million feature names never holds the GIL for long)
_STR_ARRAY_MIN = 50_000
_STR_PIECE = 5_000


def _strings_to_array(names: list[str]) -> np.ndarray:
    import time

    pieces = []
    for i in range(0, len(names), _STR_PIECE):
        pieces.append(_strings_piece(names[i:i + _STR_PIECE]))
        time.sleep(0)  # let other threads run between pieces
    return _join_pieces(pieces)


def _strings_piece(names: list[str]) -> bytes:
    """One piece of the JSON text array: the names, comma-separated, without brackets."""
    return json.dumps(names, ensure_ascii=False)[1:-1].encode("utf-8")


def _join_pieces(pieces: list[bytes]) -> np.ndarray:
    """The JSON text array of consecutive :func:`_strings_piece` pieces, as ``uint8``."""
    parts = [b"["]
    for i, piece in enumerate(pieces):
        if i:
            parts.append(b",")
        parts.append(piece)
    parts.append(b"]")
    return np.frombuffer(b"".join(parts), dtype=np.uint8)


class EncodedStrings:
    """A list of at least ``_STR_ARRAY_MIN`` strings given already encoded: ``data`` is what
    :func:`_strings_to_array` returns for the list (pieces of ``_STR_PIECE`` names). An archive
    stores it exactly as it stores the list; it reads back as the list.

    For a caller that keeps the pieces of a list that only grows (the serving layer's
    snapshots of a million feature names), so unchanged pieces are not encoded again.
    """

    __slots__ = ("data",)

    def __init__(self, data: np.ndarray):
        self.data = data


def _import(v: Any, current: Any) -> Any:
    if isinstance(v, dict) and "__learner_state__" in v:
        if not isinstance(current, Learner):
            raise ValueError("state holds a nested learner where the target has none")
        inner = dict(v["__learner_state__"])
        if _VERSION_KEY in v:
            inner[_VERSION_KEY] = v[_VERSION_KEY]
        current.load_state_dict(inner)
        return current
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, list):
        if _all_str(v):
            return tuple(v) if isinstance(current, tuple) else list(v)
        if isinstance(current, (list, tuple)) and len(current) == len(v):
            items = [_import(x, c) for x, c in zip(v, current, strict=True)]
        else:
            items = [_import(x, None) for x in v]
        return tuple(items) if isinstance(current, tuple) else items
    if isinstance(v, dict):
        cur = current if isinstance(current, dict) else {}
        return {k: _import(x, cur.get(k)) for k, x in v.items()}
    return copy.deepcopy(v)


# --------------------------------------------------------------------------------------------
# npz + JSON serialisation
# --------------------------------------------------------------------------------------------

_FORMAT = "onlinekit-state-1"


def _encode(obj: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    """Split ``obj`` into a JSON tree and named arrays."""
    if isinstance(obj, Learner):
        cls = type(obj)
        return {
            "__learner__": f"{cls.__module__}:{cls.__qualname__}",
            "params": _encode(obj.get_params(), arrays, path + ".params"),
        }
    if type(obj) is EncodedStrings:
        key = f"a{len(arrays)}"
        arrays[key] = obj.data
        return {"__strings__": key}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f"cannot serialise object array at {path}")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return {"__float__": repr(obj)}
    if obj is None or isinstance(obj, (bool, str, numbers.Integral)):
        return int(obj) if isinstance(obj, numbers.Integral) and not isinstance(obj, bool) else obj
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(x, arrays, f"{path}[{i}]") for i, x in enumerate(obj)]}
    if isinstance(obj, list):
        if _all_str(obj):
            if len(obj) >= _STR_ARRAY_MIN:
                key = f"a{len(arrays)}"
                arrays[key] = _strings_to_array(obj)
                return {"__strings__": key}
            return list(obj)
        return [_encode(x, arrays, f"{path}[{i}]") for i, x in enumerate(obj)]
    if isinstance(obj, dict):
        bad = [k for k in obj if not isinstance(k, str)]
        if bad:
            raise TypeError(f"cannot serialise non-string dict keys {bad!r} at {path}")
        if any(k.startswith("__") and k.endswith("__") for k in obj) and path != "":
            # reserved markers are escaped by nesting
            return {"__dict__": {k: _encode(v, arrays, f"{path}.{k}") for k, v in obj.items()}}
        return {k: _encode(v, arrays, f"{path}.{k}") for k, v in obj.items()}
    raise TypeError(f"cannot serialise {type(obj).__name__} at {path}")


def _decode(obj: Any, arrays: Any, allowed: tuple[str, ...] = ("onlinekit",)) -> Any:
    if isinstance(obj, list):
        if _all_str(obj):
            return obj
        return [_decode(x, arrays, allowed) for x in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            return np.array(arrays[obj["__array__"]])
        if "__strings__" in obj:
            return json.loads(bytes(arrays[obj["__strings__"]]).decode("utf-8"))
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__tuple__" in obj:
            return tuple(_decode(x, arrays, allowed) for x in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: _decode(v, arrays, allowed) for k, v in obj["__dict__"].items()}
        if "__learner__" in obj:
            return _make_learner(obj["__learner__"], _decode(obj["params"], arrays, allowed), allowed)
        return {k: _decode(v, arrays, allowed) for k, v in obj.items()}
    return obj


def _make_learner(qualified: str, params: dict[str, Any], allowed: tuple[str, ...]) -> Learner:
    module, _, name = qualified.partition(":")
    if not any(module == p or module.startswith(p + ".") for p in allowed):
        raise ValueError(
            f"refusing to load learner class {qualified!r} from outside {', '.join(allowed)}"
        )
    cls = importlib.import_module(module)
    for part in name.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and issubclass(cls, Learner)):
        raise ValueError(f"{qualified!r} is not an onlinekit Learner")
    return cls(**params)


def state_to_bytes(learner: Learner, extra: dict[str, Any] | None = None) -> bytes:
    """Serialise ``learner`` (class, params and state) and ``extra`` to ``.npz`` bytes
    (:func:`write_state` into memory)."""
    buf = io.BytesIO()
    write_state(learner, buf, extra)
    return buf.getvalue()


def write_state(learner: Learner, fh: Any, extra: dict[str, Any] | None = None) -> None:
    """Write the ``.npz`` archive of ``learner`` (class, params and state) and ``extra`` to the
    binary file ``fh`` (written straight to a file, big arrays go out without a copy in memory).

    The archive holds arrays plus one JSON document; it is read back without pickle. The
    document records the onlinekit version and the class's ``state_version`` (the layout of
    its state); :func:`state_from_bytes` hands an older layout to the class's ``migrate``.
    """
    from onlinekit import __version__

    arrays: dict[str, np.ndarray] = {}
    doc = {
        "format": _FORMAT,
        "onlinekit_version": __version__,
        "state_version": type(learner).state_version,
        "learner": _encode(learner, arrays, "learner"),
        "state": _encode(learner.state_dict(), arrays, "state"),
        "extra": _encode(extra or {}, arrays, "extra"),
    }
    meta = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    _write_npz(fh, {"__meta__": meta, **arrays})


def _write_npz(fh: Any, arrays: dict[str, np.ndarray]) -> None:
    """What ``np.savez(fh, **arrays)`` writes (a stored zip of ``.npy`` members, read back by
    ``np.load``), with each array's bytes handed to the zip member as a view: no copy of a
    big array is made (``savez`` copies each one with ``tobytes``, holding the GIL), and the
    CRC and the file writes run without the GIL.

    >>> import io
    >>> buf = io.BytesIO()
    >>> _write_npz(buf, {"a": np.arange(3.0), "b": np.array([[1, 2], [3, 4]], dtype=np.int8).T,
    ...                  "c": np.array(2.5)})
    >>> with np.load(io.BytesIO(buf.getvalue()), allow_pickle=False) as z:
    ...     z["a"].tolist(), z["b"].tolist(), z["c"].shape
    ([0.0, 1.0, 2.0], [[1, 3], [2, 4]], ())
    """
    import zipfile

    from numpy.lib import format as npy

    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            arr = np.asarray(arr)
            if not arr.flags.c_contiguous:
                arr = arr.copy(order="C")  # (ascontiguousarray would make a 0-d array 1-d)
            if arr.dtype.hasobject:
                raise TypeError(f"cannot serialise object array {name!r}")
            with zf.open(name + ".npy", mode="w", force_zip64=True) as out:
                npy.write_array_header_1_0(out, npy.header_data_from_array_1_0(arr))
                if arr.size:
                    out.write(memoryview(arr.reshape(-1).view(np.uint8)))


def state_from_bytes(
    data: bytes, allowed_modules: tuple[str, ...] = ("onlinekit",)
) -> tuple[Learner, dict[str, Any]]:
    """Inverse of :func:`state_to_bytes`: returns ``(learner, extra)``.

    Only learner classes from modules under ``allowed_modules`` are instantiated (default:
    onlinekit's own), so an archive cannot make the loader import arbitrary code.
    """
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        doc = json.loads(bytes(z["__meta__"]).decode("utf-8"))
        if doc.get("format") != _FORMAT:
            raise ValueError(f"not an onlinekit state archive (format {doc.get('format')!r})")
        arrays = {k: z[k] for k in z.files}
        learner = _decode(doc["learner"], arrays, tuple(allowed_modules))
        state = _decode(doc["state"], arrays, tuple(allowed_modules))
        state[_VERSION_KEY] = int(doc.get("state_version", 1))  # archives before the field: layout 1
        learner.load_state_dict(state)
        extra = _decode(doc["extra"], arrays, tuple(allowed_modules))
    return learner, extra


def save_state(learner: Learner, path: Any, extra: dict[str, Any] | None = None) -> None:
    """Write ``learner`` to ``path`` atomically (temp file, fsync, rename).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from onlinekit.oco import OGD
    >>> m = OGD(lr=0.1)
    >>> m.learn_one({"a": 1.0}, 2.0)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ogd.npz"
    >>> save_state(m, p)
    >>> m2, _ = load_state(p)
    >>> m2.predict_one({"a": 1.0}) == m.predict_one({"a": 1.0})
    True
    """
    from onlinekit._io import atomic_write_bytes

    atomic_write_bytes(path, state_to_bytes(learner, extra))


def load_state(path: Any) -> tuple[Learner, dict[str, Any]]:
    """Read a learner written by :func:`save_state`; returns ``(learner, extra)``."""
    with open(path, "rb") as fh:
        return state_from_bytes(fh.read())
