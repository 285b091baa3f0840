"""The ``release`` protocol: private continual release over a logged stream.

Each row of the log is one event: a number (``--value COL``: the counters) or a vector
(``--values COLS``: counters with ``d`` coordinates, and ``maxsum`` / ``sumselect``, whose
records are in {0,1}^d). The learner releases after every event; the releases go to
``releases.csv`` (``write_outputs``). The exact running sums are computed alongside for
evaluation only; they are never released. Summary keys:

* ``mse``: mean over events (and coordinates) of ``(y_t - S_t)^2``, ``S_t`` the exact running
  sum (``maxsum``: ``max_j S_{t,j}``; ``sumselect``: the gap ``max_j S_{t,j} - S_{t,j_t}`` of the
  selected column ``j_t``);
* ``expected_mse``: the closed form ``mean_{t<=n} Var(y_t - S_t)`` from the counter's
  ``variance`` (counters and ``doubling-counter`` only; ``maxsum`` / ``sumselect`` have none);
* ``max_abs_error``: ``max_t |y_t - S_t|`` (the largest gap for ``sumselect``);
* ``max_error_bound``: the learner's bound on ``max_t |y_t - S_t|`` holding with probability
  ``1 - beta`` (``beta = 0.05`` for the counters; the learner's ``beta`` for ``maxsum`` /
  ``sumselect``);
* the guarantee, as the learner reports it for one differing event (``privacy_loss(1)``):
  ``privacy`` (``"pure"``, ``"zcdp"`` or ``"approx"``) with ``epsilon``, ``rho`` or
  ``epsilon`` and ``delta``; ``noise`` and ``private`` (false for seeded or no noise, which
  give no privacy).

Parameters the data determines: ``T`` (the number of rows: ``len(source)``, or a first pass
over the value column for sources without a length) and ``d`` (the number of ``--values``
columns). ``doubling-counter`` needs no horizon.

Examples
--------
>>> import numpy as np
>>> from onlinekit.privacy import TreeCounter
>>> from onlinekit.protocols import replay_log
>>> from onlinekit.streams import ArraySource
>>> x = (np.random.default_rng(0).random(1024) < 0.3).astype(float)
>>> c = TreeCounter(T=1024, privacy=("zcdp", 0.5), noise="seeded", seed=0)
>>> rep = replay_log(c, ArraySource(columns={"clicks": x}), {"value": "clicks"})
>>> round(rep.summary["expected_mse"], 2), rep.summary["privacy"], rep.summary["rho"]
(55.01, 'zcdp', 0.5)
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.protocols._base import Columns, LogProtocol, Role, Tracker

__all__ = ["RELEASE", "ReleaseTracker", "read_releases"]

RELEASES_FILE = "releases.csv"


def _statistic(learner) -> str:
    """``"sum"`` (counters), ``"max"`` (MaxSum) or ``"argmax"`` (SumSelect)."""
    from onlinekit.privacy.maxsum import MaxSum, SumSelect

    if isinstance(learner, SumSelect):
        return "argmax"
    if isinstance(learner, MaxSum):
        return "max"
    return "sum"


def _counter(learner):
    """The counter whose parameters (``d``, ``bounds``, ``clip``) apply to the inputs."""
    from onlinekit.privacy.doubling import DoublingCounter

    return learner._template if isinstance(learner, DoublingCounter) else learner


def _room(learner) -> float:
    """Events the learner can still release (``inf``: unbounded)."""
    from onlinekit.privacy.doubling import DoublingCounter

    if isinstance(learner, DoublingCounter):
        return learner._capacity()
    return int(learner.T) - int(learner.t_)


class ReleaseTracker(Tracker):
    """Exact running sums (evaluation only), error figures and the releases of a replay."""

    def __init__(self, learner, names: tuple[str, ...]) -> None:
        self.names = tuple(names)
        self.stat = _statistic(learner)
        self.d = len(self.names)
        self.n = 0
        self.S = np.zeros(self.d)
        self.sq = 0.0
        self.max_abs = 0.0
        self.releases: list[np.ndarray] = []
        self._learner = learner
        self._csum = None  # cumulative closed-form variances (counters), grown on demand

    def update(self, X: np.ndarray, Y: np.ndarray) -> None:
        """One block: inputs ``(n, d)`` and releases ``(n, d)`` (counters) or ``(n,)``."""
        S = np.cumsum(np.vstack((self.S[None, :], X)), axis=0)[1:]
        if self.stat == "sum":
            err = Y.reshape(len(X), self.d) - S
        elif self.stat == "max":
            err = (Y - S.max(axis=1))[:, None]
        else:
            err = (S.max(axis=1) - S[np.arange(len(X)), Y.astype(np.int64)])[:, None]
        self.S = S[-1].copy()
        self.n += len(X)
        self.sq = float(np.cumsum(np.concatenate(([self.sq], (err * err).ravel())))[-1])
        self.max_abs = max(self.max_abs, float(np.abs(err).max()))
        self.releases.append(np.array(Y, copy=True))

    def _expected_mse(self) -> float | None:
        if self.stat != "sum":
            return None
        from onlinekit.privacy.doubling import DoublingCounter

        if self._csum is None or len(self._csum) < self.n:
            if isinstance(self._learner, DoublingCounter):
                m = max(self.n, 2 * (0 if self._csum is None else len(self._csum)), 1024)
                v = self._learner.variance(m)
            else:
                v = self._learner.variance()
            self._csum = np.cumsum(v)
        return float(self._csum[self.n - 1] / self.n)

    def get(self) -> dict[str, float]:
        if self.n == 0:
            return {"mse": math.nan, "max_abs_error": math.nan}
        out = {"mse": self.sq / (self.n * (self.d if self.stat == "sum" else 1)), "max_abs_error": self.max_abs}
        exp = self._expected_mse()
        if exp is not None:
            out["expected_mse"] = exp
        return out

    def release_matrix(self) -> np.ndarray:
        """All releases so far, one row per event."""
        if not self.releases:
            return np.empty((0, self.d if self.stat == "sum" else 1))
        Y = np.concatenate(self.releases, axis=0)
        return Y.reshape(len(Y), -1)

    def state_dict(self) -> dict:
        return {"names": list(self.names), "n": self.n, "S": self.S.copy(), "sq": self.sq,
                "max_abs": self.max_abs, "releases": self.release_matrix()}

    def load_state_dict(self, state: dict) -> None:
        if tuple(state["names"]) != self.names:
            raise ValueError(f"tracker state is for columns {state['names']}, not {list(self.names)}")
        self.n = int(state["n"])
        self.S = np.array(state["S"], dtype=np.float64)
        self.sq = float(state["sq"])
        self.max_abs = float(state["max_abs"])
        R = np.asarray(state["releases"])
        self.releases = [R[:, 0].copy() if R.shape[1] == 1 else R.copy()] if len(R) else []


def _takes(cls: type, name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


def read_releases(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(t, releases)`` read back from a ``releases.csv`` (``releases`` shape ``(n, k)``)."""
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    return data[:, 0].astype(np.int64), data[:, 1:]


class _Release(LogProtocol):
    name = "release"
    operations = ("release",)
    roles = (
        Role("value", "--value", required=False, help="a numeric column: one event of a scalar stream per row"),
        Role("values", "--values", many=True, required=False,
             help="numeric columns: one coordinate each of a vector stream (maxsum / sumselect: 0/1)"),
    )
    summary_keys = ("mse", "expected_mse", "max_abs_error", "max_error_bound", "privacy")
    inferred = ("T", "d")

    def resolve_columns(self, given, available):
        cols = super().resolve_columns(given, available)
        if ("value" in cols) == ("values" in cols):
            raise ValueError("the release protocol needs --value COL (a scalar stream) or --values COLS "
                             f"(a vector stream), not {'both' if cols else 'neither'}; columns: {', '.join(available)}")
        return cols

    @staticmethod
    def _names(columns: Columns) -> tuple[str, ...]:
        return (columns["value"],) if "value" in columns else tuple(columns["values"])

    def infer_params(self, cls, columns: Columns, source) -> dict[str, Any]:
        from onlinekit.protocols._rows import count_rows

        names = self._names(columns)
        out: dict[str, Any] = {}
        if _takes(cls, "T"):
            out["T"] = count_rows(source, names[0])
        if _takes(cls, "d"):
            out["d"] = len(names)
        return out

    def new_tracker(self, learner, columns: Columns) -> ReleaseTracker:
        names = self._names(columns)
        d = int(_counter(learner).d)
        if d != len(names):
            raise ValueError(f"the learner counts d={d} coordinates but {len(names)} column(s) were named "
                             f"({', '.join(names)}); use --values with one column per coordinate")
        return ReleaseTracker(learner, names)

    def _check(self, learner, chunk, names, X: np.ndarray) -> None:
        """Reject a bad row with its file line and column before the learner sees the chunk."""
        bad = ~np.isfinite(X)
        why = "is not finite"
        if _statistic(learner) == "sum":
            c = _counter(learner)
            if not c.clip:
                lo, hi = c._lohi
                out = (X < lo) | (X > hi)
                if out.any() and not (bad & out).any():
                    bad, why = out, f"is outside the counter's bounds [{lo}, {hi}] (pass clip=True to clip)"
        else:
            bad = bad | ~((X == 0.0) | (X == 1.0))
            why = "must be 0 or 1 (records in {0,1}^d)"
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise InvalidEvent(f"{chunk.where(i)}: value {X[i, j]!r} {why}", field=names[j], offset=chunk.offset + i)
        room = _room(learner)
        if len(X) > room:
            i = int(room)
            raise InvalidEvent(f"{chunk.where(i)}: the learner's horizon is reached after {learner.t_ + i} events "
                               "(the noise is calibrated to it); give a larger T or replay fewer rows",
                               field=names[0], offset=chunk.offset + i)

    def apply_chunk(self, learner, chunk, columns: Columns, tracker: ReleaseTracker) -> None:
        names = tracker.names
        X = np.column_stack([chunk.columns[c] for c in names]).astype(np.float64)
        if len(X) == 0:
            return
        self._check(learner, chunk, names, X)
        Y = learner.release_many(X[:, 0] if X.shape[1] == 1 and tracker.stat == "sum" else X)
        tracker.update(X, np.asarray(Y))

    def summary(self, tracker: ReleaseTracker, learner) -> dict[str, Any]:
        out: dict[str, Any] = dict(tracker.get())
        if tracker.stat == "sum":
            from onlinekit.privacy.doubling import DoublingCounter

            err = (learner.expected_error(max(tracker.n, 1)) if isinstance(learner, DoublingCounter)
                   else learner.expected_error())
        else:
            err = learner.expected_error()
        out["max_error_bound"] = float(err["max_error_bound"])
        loss = learner.privacy_loss(1)
        out["privacy"] = loss[0]
        if loss[0] == "zcdp":
            out["rho"] = float(loss[1])
        else:
            out["epsilon"] = float(loss[1])
            if loss[0] == "approx":
                out["delta"] = float(loss[2])
        noise = _counter(learner).noise if tracker.stat == "sum" else learner.noise
        out["noise"] = noise
        out["private"] = noise == "secure"
        return out

    def write_outputs(self, tracker: ReleaseTracker, out: Path) -> list[Path]:
        from onlinekit._io import atomic_write_text

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        Y = tracker.release_matrix()
        if tracker.stat == "sum":
            head = ["release"] if tracker.d == 1 else [f"release_{c}" for c in tracker.names]
        else:
            head = ["release"] if tracker.stat == "max" else ["selected"]
        fmt = "{:d}" if tracker.stat == "argmax" else "{!r}"
        lines = [",".join(["t", *head])]
        for t, row in enumerate(Y, start=1):
            vals = (int(v) for v in row) if tracker.stat == "argmax" else (float(v) for v in row)
            lines.append(",".join([str(t), *(fmt.format(v) for v in vals)]))
        path = out / RELEASES_FILE
        atomic_write_text(path, "\n".join(lines) + "\n")
        return [path]


#: The release protocol.
RELEASE = _Release()
