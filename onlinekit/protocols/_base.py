"""The protocol interface (see ``docs/protocols.md``).

A :class:`Protocol` holds no state: it describes how a kind of learner meets events. A
:class:`LogProtocol` can also replay a logged file: it names the columns it reads (its
:class:`Role` s, each filled by a CLI flag), infers parameters the data determines, applies a
chunk of rows to a learner in exact row order, and keeps its running figures in a
:class:`Tracker` (whose state goes into checkpoints).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Role", "Tracker", "Protocol", "LogProtocol", "Columns"]

#: role name -> column name (a role with ``many=True`` maps to a tuple of names)
Columns = Mapping[str, Any]


@dataclass(frozen=True)
class Role:
    """A column (or list of columns) a protocol reads, and the CLI flag that names it.

    ``many``: the flag takes a comma-separated list (``--experts e0,e1,e2``).
    ``required``: the replay cannot run without it. ``default``: the column name used when the
    flag is not given and the file has a column of that name (``None``: no default).
    """

    name: str
    flag: str
    many: bool = False
    required: bool = True
    default: str | None = None
    help: str = ""


class Tracker(ABC):
    """Running figures of a replay (the summary keys); its state is checkpointed."""

    @abstractmethod
    def get(self) -> dict[str, float]:
        """Current figures, keyed as the protocol's summary keys."""

    @abstractmethod
    def state_dict(self) -> dict:
        """Plain data (numbers, lists, numpy arrays) that :meth:`load_state_dict` restores."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""


class Protocol:
    """How a kind of learner meets events.

    Attributes
    ----------
    name
        The protocol's name (``supervised``, ``experts``, ...).
    operations
        The HTTP operations ``onlinekit serve`` exposes for it.
    replays
        Whether ``onlinekit replay`` can drive it from a log (``environment`` cannot: it is
        driven by ``onlinekit simulate``).
    """

    name: str = ""
    operations: tuple[str, ...] = ()
    replays: bool = False
    roles: tuple[Role, ...] = ()
    summary_keys: tuple[str, ...] = ()
    #: learner parameters that replay infers from the data (where the class has them and the
    #: user gave none); ``onlinekit learners NAME`` lists them
    inferred: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<protocol {self.name}>"

    def apply_event(self, learner: Any, op: str, event: Mapping[str, Any]) -> Any:
        """One event through the learner's per-event API (``serve`` requests and its log
        recovery): a validated request body ``event`` for operation ``op``.

        ``learn``: ``learn_one(x, y, groups=, sensitive=)``; ``predict``: ``predict_one(x)``;
        ``act``: ``act(obs)``; ``feedback``: ``update(obs, action, feedback)``; ``release``:
        ``release(x)``; ``play``: ``play()``; ``update``: ``update(losses)``. Returns what
        the learner returned (``None`` for updates)."""
        import numpy as np

        if op not in self.operations:
            raise ValueError(f"the {self.name} protocol has no operation {op!r}")
        if op in ("learn", "predict"):
            x = event["x"]
            if isinstance(x, list):
                x = np.asarray(x, dtype=np.float64)
            if op == "predict":
                return learner.predict_one(x)
            kw = {}
            if "groups" in event:
                kw["groups"] = np.asarray(event["groups"], dtype=bool)
            if "sensitive" in event:
                kw["sensitive"] = event["sensitive"]
            learner.learn_one(x, event["y"], **kw)
            return None
        if op == "act":
            return learner.act(event.get("obs"))
        if op == "feedback":
            learner.update(event.get("obs"), event["action"], event["feedback"])
            return None
        if op == "release":
            return learner.release(event["x"])
        if op == "play":
            return learner.play()
        learner.update(event["x"])
        return None


class LogProtocol(Protocol, ABC):
    """A protocol that replays a log: columns in, per-row learner calls, running figures out."""

    replays = True

    def resolve_columns(self, given: Mapping[str, Any], available: Sequence[str]) -> dict[str, Any]:
        """Role -> column(s), from the flags given (``None`` for flags not given) and the
        file's columns. Fills defaults present in the file; raises ``ValueError`` naming the
        flag for a missing required role or a column the file lacks."""
        out: dict[str, Any] = {}
        have = set(available)
        for role in self.roles:
            val = given.get(role.name)
            if val in (None, "", ()):
                if role.default is not None and role.default in have:
                    val = (role.default,) if role.many else role.default
                elif role.required:
                    raise ValueError(f"the {self.name} protocol needs {role.flag} "
                                     f"({role.help or role.name}); columns: {', '.join(available)}")
                else:
                    continue
            if role.many:
                val = tuple(c for part in ([val] if isinstance(val, str) else val)
                            for c in str(part).split(",") if c)
            missing = [c for c in ((val,) if isinstance(val, str) else val) if c not in have]
            if missing:
                raise ValueError(f"{role.flag}: no column {missing[0]!r}; columns: {', '.join(available)}")
            out[role.name] = val
        return out

    def kinds(self, columns: Columns) -> dict[str, str]:
        """Column -> ``"float"`` or ``"str"``: what the source must parse (default: floats)."""
        out: dict[str, str] = {}
        for v in columns.values():
            for c in ((v,) if isinstance(v, str) else v):
                out[c] = "float"
        return out

    def infer_params(self, cls: type, columns: Columns, source: Any) -> dict[str, Any]:
        """Learner parameters the data determines (applied only where the user gave none)."""
        return {}

    @abstractmethod
    def new_tracker(self, learner: Any, columns: Columns) -> Tracker:
        """A fresh tracker for a replay of ``learner``."""

    @abstractmethod
    def apply_chunk(self, learner: Any, chunk: Any, columns: Columns, tracker: Tracker) -> None:
        """Apply every row of ``chunk`` to ``learner`` in order, updating ``tracker``.

        A bad row raises :class:`onlinekit.InvalidEvent` naming the row (``chunk.where(i)``)
        and the column, before the learner sees it."""

    def write_outputs(self, tracker: Tracker, out: Path) -> list[Path]:
        """Extra files a replay writes to ``--out`` (e.g. ``releases.csv``)."""
        return []

    def summary(self, tracker: Tracker, learner: Any) -> dict[str, Any]:
        """The final summary (default: the tracker's figures)."""
        return dict(tracker.get())
