"""The ``experts`` protocol: prediction with (sleeping) expert advice from per-round losses.

Each row of the log holds every expert's loss for one round (``--experts COLS``) and,
optionally, which experts were awake (``--awake COLS``, 0/1, same order). The learner plays a
distribution over the awake experts, pays its expected loss, and updates. Summary keys:

* ``loss``: the learner's cumulative expected loss;
* ``regret``: ``max_i`` of the sleeping-experts regret to expert ``i``, the sum over the rounds
  where ``i`` was awake of (learner's expected loss - ``i``'s loss) (with every expert always
  awake: the learner's loss minus the best expert's);
* ``best_expert``: the column of that expert; ``best_expert_loss``: its loss on its awake
  rounds.

Examples
--------
>>> import numpy as np
>>> from onlinekit.experts import Hedge
>>> from onlinekit.protocols import replay_log
>>> from onlinekit.streams import ArraySource
>>> L = np.random.default_rng(0).random((500, 3)) * np.array([1.0, 0.5, 1.0])
>>> src = ArraySource(columns={"a": L[:, 0], "b": L[:, 1], "c": L[:, 2]})
>>> rep = replay_log(Hedge(n_experts=3), src, {"experts": ("a", "b", "c")}, record_every=100)
>>> rep.summary["best_expert"], round(rep.summary["regret"], 2)
('b', 2.09)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.protocols._base import Columns, LogProtocol, Role, Tracker

__all__ = ["EXPERTS", "ExpertsTracker"]


def _running(total, rows: np.ndarray):
    """``total`` plus the rows of ``rows``, added one at a time in order."""
    if len(rows) == 0:
        return total
    acc = np.cumsum(np.concatenate([np.asarray(total, dtype=np.float64)[None], rows]), axis=0)[-1]
    return float(acc) if np.ndim(total) == 0 else acc


class ExpertsTracker(Tracker):
    """Cumulative expected loss of the learner and per-expert sleeping regrets."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = tuple(names)
        k = len(self.names)
        self.loss = 0.0
        self.regret = np.zeros(k)
        self.expert_loss = np.zeros(k)

    def update(self, learner_loss: np.ndarray, losses: np.ndarray, awake: np.ndarray) -> None:
        """Rows of one block: learner's expected losses ``(n,)``, losses and masks ``(n, k)``."""
        # sums in row order (cumsum, not pairwise sum): the figures do not depend on where
        # chunks start, so a resumed replay equals an uninterrupted one bit for bit
        self.loss = _running(self.loss, learner_loss)
        self.regret = _running(self.regret, np.where(awake, learner_loss[:, None] - losses, 0.0))
        self.expert_loss = _running(self.expert_loss, np.where(awake, losses, 0.0))

    def get(self) -> dict[str, Any]:
        i = int(np.argmax(self.regret))
        return {"loss": self.loss, "regret": float(self.regret[i]), "best_expert": self.names[i],
                "best_expert_loss": float(self.expert_loss[i])}

    def state_dict(self) -> dict:
        return {"names": list(self.names), "loss": self.loss, "regret": self.regret.copy(),
                "expert_loss": self.expert_loss.copy()}

    def load_state_dict(self, state: dict) -> None:
        if tuple(state["names"]) != self.names:
            raise ValueError(f"tracker state is for experts {state['names']}, not {list(self.names)}")
        self.loss = float(state["loss"])
        self.regret = np.array(state["regret"], dtype=np.float64)
        self.expert_loss = np.array(state["expert_loss"], dtype=np.float64)


def _mask(awake, n: int) -> np.ndarray:
    """A request's awake mask (0/1 numbers or booleans) as booleans, checked for length."""
    if len(awake) != n:
        raise InvalidEvent(f"expected a mask of {n} entries (one per expert), got {len(awake)}", field="awake")
    for j, v in enumerate(awake):
        if v is not True and v is not False and not (type(v) in (int, float) and v in (0, 1)):
            raise InvalidEvent(f"expected 0/1 or a boolean, got {v!r}", field=f"awake[{j}]")
    return np.array([bool(v) for v in awake], dtype=np.bool_)


class _Experts(LogProtocol):
    name = "experts"
    operations = ("play", "update")
    roles = (
        Role("experts", "--experts", many=True, help="one column of per-round losses per expert"),
        Role("awake", "--awake", many=True, required=False, help="0/1 columns, one per expert, same order"),
    )
    summary_keys = ("loss", "regret", "best_expert", "best_expert_loss")
    inferred = ("n_experts",)

    def resolve_columns(self, given, available):
        cols = super().resolve_columns(given, available)
        if "awake" in cols and len(cols["awake"]) != len(cols["experts"]):
            raise ValueError(f"--awake names {len(cols['awake'])} columns, --experts {len(cols['experts'])}; "
                             "give one mask column per expert, in the same order")
        return cols

    def infer_params(self, cls, columns: Columns, source) -> dict[str, Any]:
        return {"n_experts": len(columns["experts"])}

    # -- one event (serve): {"awake"?} to play, {"losses", "awake"?, "mixture_loss"?} to update
    #: the key of a play's answer in ``serve`` responses
    play_key = "probabilities"

    def play_writes(self, event: Mapping[str, Any]) -> bool:
        """A play only reads the learner (no randomness, nothing stored)."""
        return False

    def apply_event(self, learner, op: str, event: Mapping[str, Any]) -> Any:
        """``play``: ``learner.play(awake)``, the probabilities over the experts (a round
        with no awake expert is refused); ``update``: ``learner.update(losses, awake,
        mixture_loss)``, where a ``None`` loss (JSON ``null``) stands for a sleeping
        expert's unknown loss. The same kernel as :meth:`apply_chunk`'s ``update_many``, so
        events one by one give the replay's state bit for bit.

        >>> from onlinekit.experts import Hedge
        >>> h = Hedge(n_experts=3, lr=1.0)
        >>> EXPERTS.apply_event(h, "update", {"losses": [1.0, 0.0, None], "awake": [1, 1, 0]})
        >>> EXPERTS.apply_event(h, "play", {}).round(3).tolist()   # exp(R), R = [-0.5, 0.5, 0]
        [0.186, 0.506, 0.307]
        """
        if op not in ("play", "update"):
            return super().apply_event(learner, op, event)
        n = int(learner.n_experts)
        mask = None
        if event.get("awake") is not None:
            mask = _mask(event["awake"], n)
        if op == "play":
            if mask is not None and not mask.any():
                raise InvalidEvent("no awake expert", field="awake")
            return learner.play(awake=mask)
        losses = event["losses"]
        if len(losses) != n:
            raise InvalidEvent(f"expected {n} losses (one per expert), got {len(losses)}", field="losses")
        for j, v in enumerate(losses):
            if v is None and (mask is None or mask[j]):
                raise InvalidEvent("null loss for an awake expert", field=f"losses[{j}]")
        L = np.array([np.nan if v is None else v for v in losses], dtype=np.float64)
        learner.update(L, awake=mask, mixture_loss=event.get("mixture_loss"))
        return None

    def new_tracker(self, learner, columns: Columns) -> ExpertsTracker:
        n = int(learner.n_experts)
        if n != len(columns["experts"]):
            raise ValueError(f"the learner has n_experts={n} but --experts names {len(columns['experts'])} columns")
        return ExpertsTracker(tuple(columns["experts"]))

    def apply_chunk(self, learner, chunk, columns: Columns, tracker: ExpertsTracker) -> None:
        L = np.column_stack([chunk.columns[c] for c in columns["experts"]]).astype(np.float64)
        if "awake" in columns:
            A = np.column_stack([chunk.columns[c] for c in columns["awake"]])
            ok = (A == 0) | (A == 1)
            if not ok.all():
                i, j = (int(v) for v in np.argwhere(~ok)[0])
                raise InvalidEvent(f"{chunk.where(i)}: awake mask must be 0 or 1, got {A[i, j]!r}",
                                   field=columns["awake"][j], offset=chunk.offset + i)
            A = A == 1
        else:
            A = np.ones(L.shape, dtype=np.bool_)
        bad = A & ~np.isfinite(L)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise InvalidEvent(f"{chunk.where(i)}: loss {L[i, j]!r} for an awake expert",
                               field=columns["experts"][j], offset=chunk.offset + i)
        P = learner.update_many(L, A)
        tracker.update(np.einsum("ij,ij->i", P, np.where(A, L, 0.0)), L, A)


#: The experts protocol.
EXPERTS = _Experts()
