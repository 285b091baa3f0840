"""The ``oco`` protocol: online convex optimisation with linear losses from a log.

Each row of the log is one round ``t``: the gradient ``g_t`` of the linear loss
``f_t(x) = <g_t, x>`` (``--gradient COLS``, one column per dimension) and, optionally, the
optimistic hint ``M_t`` of that round (``--hint COLS``, same dimensions), known before the
learner plays. The learner plays ``x_t`` (with the hint, for ``optimistic-omd`` with
``hint="given"``), pays ``<g_t, x_t>`` and updates. Summary keys:

* ``loss``: ``sum_t <g_t, x_t>``;
* ``comparator_loss``: ``min_{x in X} <G, x>`` for ``G = sum_t g_t`` and the learner's domain
  ``X`` (the best fixed point in hindsight; closed forms and CVXPY in
  :mod:`onlinekit.oco.comparator`);
* ``regret``: ``loss - comparator_loss``.

Parameters the data determines: ``n_dims`` (the number of gradient columns), ``horizon``
for ``dynamic-omd`` (the number of rows; a source without a length is counted in a first
pass) and ``hint="given"`` for ``optimistic-omd`` when ``--hint`` is given.

Examples
--------
>>> import numpy as np
>>> from onlinekit.oco import OMD
>>> from onlinekit.protocols import replay_log
>>> from onlinekit.streams import ArraySource
>>> G = np.random.default_rng(0).normal(loc=[0.5, -0.2], size=(1000, 2))
>>> src = ArraySource(columns={"g0": G[:, 0], "g1": G[:, 1]})
>>> rep = replay_log(OMD(n_dims=2), src, {"gradient": ("g0", "g1")})
>>> bool(np.isclose(rep.summary["comparator_loss"], -np.linalg.norm(G.sum(axis=0))))  # unit ball
True
>>> round(rep.summary["loss"], 2), round(rep.summary["regret"], 2)
(-466.67, 54.94)
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.protocols._base import Columns, LogProtocol, Role, Tracker

__all__ = ["OCO", "OCOTracker", "domain_of"]


def domain_of(learner) -> Any:
    """The feasible set of an OCO learner (a domain of :mod:`onlinekit.oco.geometry`)."""
    from onlinekit.oco import geometry as geo

    dom = getattr(learner, "_domain", None)
    if isinstance(dom, geo._Domain):
        return dom
    radius = getattr(learner, "radius", None)  # optimistic FTRL, dynamic OMD: an L2 ball
    if radius is not None:
        return geo.L2Ball(float(radius))
    raise TypeError(f"{type(learner).__name__} has no domain the oco protocol knows")


class OCOTracker(Tracker):
    """Cumulative loss ``sum <g_t, x_t>`` and summed gradient ``G`` of a replay."""

    def __init__(self, domain, n_dims: int) -> None:
        from onlinekit.oco.comparator import LinearComparator

        self.n_dims = int(n_dims)
        self.loss = 0.0
        self.G = np.zeros(self.n_dims)
        self._comparator = LinearComparator(domain, self.n_dims)

    def update(self, losses: np.ndarray, grads: np.ndarray) -> None:
        """One block: the learner's per-round losses ``(n,)`` and the gradients ``(n, d)``.

        Sums run row by row (``cumsum`` is sequential), so the figures do not depend on how
        the log was cut into blocks."""
        self.loss = float(np.cumsum(np.concatenate(([self.loss], losses)))[-1])
        self.G = np.cumsum(np.vstack((self.G[None, :], grads)), axis=0)[-1].copy()

    def get(self) -> dict[str, float]:
        comp = self._comparator.value(self.G)
        return {"loss": self.loss, "comparator_loss": comp, "regret": self.loss - comp}

    def state_dict(self) -> dict:
        return {"n_dims": self.n_dims, "loss": self.loss, "G": self.G.copy()}

    def load_state_dict(self, state: dict) -> None:
        if int(state["n_dims"]) != self.n_dims:
            raise ValueError(f"tracker state is for n_dims={state['n_dims']}, not {self.n_dims}")
        self.loss = float(state["loss"])
        self.G = np.array(state["G"], dtype=np.float64)


def _vector(v, d: int, field: str) -> np.ndarray:
    """A request's gradient or hint (finite numbers, checked by the request schema) of
    dimension ``d``."""
    if len(v) != d:
        raise InvalidEvent(f"expected {d} numbers (n_dims), got {len(v)}", field=field)
    return np.array(v, dtype=np.float64)


def _takes(cls: type, name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


def _given_hints(learner) -> bool:
    return getattr(learner, "hint", None) == "given"


class _OCO(LogProtocol):
    name = "oco"
    operations = ("play", "update")
    roles = (
        Role("gradient", "--gradient", many=True, help="one column per dimension of the loss gradient g_t"),
        Role("hint", "--hint", many=True, required=False,
             help="the optimistic hint M_t of the round, one column per dimension, same order"),
    )
    summary_keys = ("loss", "comparator_loss", "regret")
    inferred = ("n_dims", "horizon", "hint")

    def resolve_columns(self, given, available):
        cols = super().resolve_columns(given, available)
        if "hint" in cols and len(cols["hint"]) != len(cols["gradient"]):
            raise ValueError(f"--hint names {len(cols['hint'])} columns, --gradient {len(cols['gradient'])}; "
                             "give one hint column per gradient column, in the same order")
        return cols

    def infer_params(self, cls, columns: Columns, source) -> dict[str, Any]:
        from onlinekit.protocols._rows import count_rows

        out: dict[str, Any] = {"n_dims": len(columns["gradient"])}
        if _takes(cls, "horizon"):
            out["horizon"] = count_rows(source, columns["gradient"][0])
        if "hint" in columns and _takes(cls, "hint"):
            out["hint"] = "given"
        return out

    # -- one event (serve): {"hint"?} to play, {"gradient", "hint"?} to update ----------------
    #: the key of a play's answer in ``serve`` responses
    play_key = "point"

    def play_writes(self, event: Mapping[str, Any]) -> bool:
        """A play with a ``hint`` stores it (``set_hint`` moves the play point): a write."""
        return event.get("hint") is not None

    def apply_event(self, learner, op: str, event: Mapping[str, Any]) -> Any:
        """One round's event, as a row of a log is replayed (``hint``: the round's own hint
        ``M_t``, known before play; only for learners with ``hint="given"``).

        ``play``: ``set_hint(hint)`` when a hint is given, then the point ``x_t``.
        ``update``: ``set_hint(hint)`` when a hint is given, then ``update(gradient)``; a
        given-hint learner passes its current hint on as the next round's until the next
        one replaces it (so events one by one give :meth:`apply_chunk`'s state bit for bit).
        A refused event changes nothing.

        >>> from onlinekit.oco import OptimisticOMD
        >>> o = OptimisticOMD(n_dims=2, hint="given", schedule="constant", lr=0.5)
        >>> OCO.apply_event(o, "play", {"hint": [1.0, 0.0]}).tolist()
        [-0.5, 0.0]
        >>> OCO.apply_event(o, "update", {"gradient": [1.0, 0.0]})
        >>> OCO.apply_event(o, "play", {}).tolist()
        [-1.0, 0.0]
        """
        if op not in ("play", "update"):
            return super().apply_event(learner, op, event)
        d = int(learner.n_dims)
        H = None
        if event.get("hint") is not None:
            if not _given_hints(learner):
                raise InvalidEvent(f"{type(learner).__name__} takes no hints (hint={getattr(learner, 'hint', None)!r}; "
                                   "only optimistic-omd with hint=given does)", field="hint")
            H = _vector(event["hint"], d, "hint")
        if op == "play":
            if H is not None:
                learner.set_hint(H)
            return learner.play()
        g = _vector(event["gradient"], d, "gradient")
        before = learner.state_dict() if H is not None else None
        try:
            if H is None and not _given_hints(learner):
                learner.update(g)
            else:
                if H is not None:
                    learner.set_hint(H)
                learner.update(g, hint=learner.iterates_[2].copy())
        except InvalidEvent as exc:
            if before is not None:  # set_hint went through, the update did not
                learner.load_state_dict(before)
            raise InvalidEvent(exc.message, field="hint" if exc.field == "hint" else "gradient") from None
        return None

    def new_tracker(self, learner, columns: Columns) -> OCOTracker:
        d = int(learner.n_dims)
        if d != len(columns["gradient"]):
            raise ValueError(f"the learner has n_dims={d} but --gradient names {len(columns['gradient'])} columns")
        if "hint" in columns and not _given_hints(learner):
            raise ValueError(f"--hint needs a learner that takes given hints (optimistic-omd with hint=given); "
                             f"{type(learner).__name__} has hint={getattr(learner, 'hint', None)!r}")
        if "hint" not in columns and _given_hints(learner):
            raise ValueError("the learner has hint='given': name the hint columns with --hint")
        return OCOTracker(domain_of(learner), d)

    @staticmethod
    def _matrix(chunk, names, role: str) -> np.ndarray:
        M = np.column_stack([chunk.columns[c] for c in names]).astype(np.float64)
        bad = ~np.isfinite(M)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise InvalidEvent(f"{chunk.where(i)}: {role} {M[i, j]!r} is not finite", field=names[j],
                               offset=chunk.offset + i)
        return np.ascontiguousarray(M)

    def apply_chunk(self, learner, chunk, columns: Columns, tracker: OCOTracker) -> None:
        G = self._matrix(chunk, columns["gradient"], "gradient")
        if len(G) == 0:
            return
        if "hint" in columns:
            H = self._matrix(chunk, columns["hint"], "hint")
            # row t's hint is played at round t; the learner takes the next round's hint with
            # each update, so the block gets the hints shifted by one (the last row's own hint
            # stands in until the next chunk's first row replaces it, as in the per-row loop)
            learner.set_hint(H[0])
            vals = learner.update_many(G, hints=np.vstack([H[1:], H[-1:]]))
        else:
            vals = learner.update_many(G)
        tracker.update(vals, G)


#: The oco protocol.
OCO = _OCO()
