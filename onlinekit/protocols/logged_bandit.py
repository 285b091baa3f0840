"""The ``logged-bandit`` protocol: off-policy evaluation and learning from logged slot feedback.

A log holds one row per (impression, slot), as the Open Bandit Dataset does: the item shown
(``--item``, whole numbers ``0 .. n_items - 1``), its slot (``--position``, **1-based**: 1 is
the first slot), the 0/1 reward (``--reward``, a click) and the logging policy's probability
of showing that item in that slot (``--propensity``, in ``(0, 1]``). Defaults: the OBD
column names ``item_id``, ``position``, ``click``, ``propensity_score``.

How a list policy meets a row. A list/slot policy (``cascade-ucb1``, ``cascade-klucb``:
``act()`` returns items best first) chooses, for a row logged at slot ``k``, the item its
current list holds at slot ``k`` (none when the list is shorter than ``k``). The row is
**accepted** when that item is the logged one (Li et al. 2011, extended slot by slot); the
policy then learns from it as from a one-item list it showed, ``update(obs, [item],
(0 if reward else None, obs))``: the item was examined and clicked or not. Rejected rows do
not reach the policy. A list policy's choice depends on its state only, so the protocol asks
for the list again only after an update. ``n_items`` is inferred as the largest item + 1 and
``m`` as the largest slot.

Policy value, per logged row (the expected reward of the policy's item in the row's slot,
slots weighted as in the log), of the sequence of policies the learner goes through. With
``w_i = pi_i(a_i | k_i) / mu_i`` (``pi_i`` is 1 for the policy's item, so ``w_i = 1 /
mu_i`` on accepted rows and 0 elsewhere), ``r_i`` the reward and ``n`` the rows:

* ``replay_value``: the mean reward of the accepted rows (unbiased on uniform-random logs);
  stderr ``sd(r over accepted) / sqrt(accepted)``;
* ``ips_value = sum_i w_i r_i / n``; stderr ``sd(w r) / sqrt(n)``;
* ``snips_value = sum_i w_i r_i / sum_i w_i``; stderr by the delta method,
  ``sqrt(sum_i w_i^2 (r_i - V)^2) / sum_i w_i``;
* ``dr_value = sum_i (qhat_i(pi_i's item) + w_i (r_i - qhat_i(a_i))) / n``; stderr
  ``sd / sqrt(n)``. The reward model ``qhat_i(a, k) = (clicks(a, k) + g) / (shown(a, k) + 1)``
  counts the rows *before* ``i`` only (no look-ahead), shrunk to their mean reward ``g``; the
  policy's reward in a slot it leaves empty is 0.

Also ``accepted`` (rows the policy learned from) and ``logged_value`` (mean logged reward).
The ``sd`` are sample deviations (``ddof=1``); a figure with no data is NaN.

Examples
--------
>>> import numpy as np
>>> from onlinekit.cascade import CascadeUCB1
>>> from onlinekit.protocols import replay_log
>>> from onlinekit.streams import ArraySource
>>> rng = np.random.default_rng(0)
>>> n = 20000
>>> item, pos = rng.integers(0, 5, n), rng.integers(1, 3, n)
>>> click = (rng.random(n) < np.array([0.05, 0.3, 0.1, 0.25, 0.02])[item]).astype(float)
>>> src = ArraySource(columns={"item_id": item, "position": pos, "click": click,
...                            "propensity_score": np.full(n, 0.2)})
>>> cols = {"item": "item_id", "position": "position", "reward": "click", "propensity": "propensity_score"}
>>> rep = replay_log(CascadeUCB1(n_items=5, m=2), src, cols)
>>> rep.summary["accepted"], round(rep.summary["replay_value"], 3), round(rep.summary["ips_value"], 3)
(4001, 0.239, 0.239)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.protocols._base import Columns, LogProtocol, Role, Tracker
from onlinekit.protocols._columns import int_column, real_column

__all__ = ["LOGGED_BANDIT", "BanditTracker", "estimates"]


def _kernels():
    from onlinekit.protocols import _bandit_kernels

    return _bandit_kernels


def _sd_mean(s: float, s2: float, n: float) -> float:
    """Standard error of a mean from the sum and the sum of squares of ``n`` values."""
    if n < 2:
        return math.nan
    var = max(s2 - s * s / n, 0.0) / (n - 1.0)
    return math.sqrt(var / n)


def estimates(sums: np.ndarray) -> dict[str, float]:
    """The summary figures from the running sums of the scan (see ``_bandit_kernels``)."""
    n, clicks, swr, swr2, sw, sw2r, sw2, sd, sd2, acc, sar, sar2 = (float(x) for x in sums)
    nan = math.nan
    out = {"replay_value": sar / acc if acc else nan, "replay_value_stderr": _sd_mean(sar, sar2, acc),
           "ips_value": swr / n if n else nan, "ips_value_stderr": _sd_mean(swr, swr2, n)}
    if sw > 0:
        v = swr / sw
        out["snips_value"] = v
        out["snips_value_stderr"] = math.sqrt(max(swr2 - 2.0 * v * sw2r + v * v * sw2, 0.0)) / sw
    else:
        out["snips_value"] = out["snips_value_stderr"] = nan
    out["dr_value"] = sd / n if n else nan
    out["dr_value_stderr"] = _sd_mean(sd, sd2, n)
    out["accepted"] = int(acc)
    out["logged_value"] = clicks / n if n else nan
    return out


class BanditTracker(Tracker):
    """Running sums of the estimators and the (item, slot) counts of the reward model."""

    def __init__(self, n_items: int) -> None:
        self.n_items = int(n_items)
        self.sums = np.zeros(_N_SUMS)
        self.shown = np.zeros((self.n_items, 1))
        self.clicks = np.zeros((self.n_items, 1))

    def widen(self, n_slots: int) -> None:
        """Make room in the reward model for slots ``0 .. n_slots - 1``."""
        extra = n_slots - self.shown.shape[1]
        if extra > 0:
            pad = np.zeros((self.n_items, extra))
            self.shown = np.ascontiguousarray(np.hstack([self.shown, pad]))
            self.clicks = np.ascontiguousarray(np.hstack([self.clicks, pad]))

    def get(self) -> dict[str, Any]:
        return estimates(self.sums)

    def state_dict(self) -> dict:
        return {"n_items": self.n_items, "sums": self.sums.copy(), "shown": self.shown.copy(),
                "clicks": self.clicks.copy()}

    def load_state_dict(self, state: dict) -> None:
        if int(state["n_items"]) != self.n_items:
            raise ValueError(f"tracker state is for n_items={state['n_items']}, not {self.n_items}")
        self.sums = np.array(state["sums"], dtype=np.float64)
        self.shown = np.ascontiguousarray(np.array(state["shown"], dtype=np.float64))
        self.clicks = np.ascontiguousarray(np.array(state["clicks"], dtype=np.float64))


_N_SUMS = 12


def _slate(learner, m_slots: int) -> np.ndarray:
    """The policy's current list as an int64 array (-1 past its end)."""
    items = [int(a) for a in learner.act((0, 0))]
    out = np.full(max(m_slots, len(items)), -1, dtype=np.int64)
    out[: len(items)] = items
    return out


class _LoggedBandit(LogProtocol):
    name = "logged-bandit"
    operations = ("act", "feedback")
    roles = (
        Role("item", "--item", default="item_id", help="item shown, 0 .. n_items - 1"),
        Role("position", "--position", default="position", help="1-based slot of the row"),
        Role("reward", "--reward", default="click", help="0/1 reward (click)"),
        Role("propensity", "--propensity", default="propensity_score",
             help="logging probability of the item in that slot, in (0, 1]"),
    )
    inferred = ("n_items", "m")
    summary_keys = ("replay_value", "replay_value_stderr", "ips_value", "ips_value_stderr", "snips_value",
                    "snips_value_stderr", "dr_value", "dr_value_stderr", "accepted", "logged_value")

    def infer_params(self, cls, columns: Columns, source) -> dict[str, Any]:
        """``n_items`` (largest item + 1) and ``m`` (largest slot), from one pass over the log."""
        top_item, top_pos = -1, 0
        kinds = {columns["item"]: "float", columns["position"]: "float"}
        for chunk in source.chunks(start=0, chunk_size=65536, kinds=kinds):
            if len(chunk):
                top_item = max(top_item, int(int_column(chunk, columns["item"], 0).max()))
                top_pos = max(top_pos, int(int_column(chunk, columns["position"], 1).max()))
        if top_item < 0:
            raise ValueError(f"{getattr(source, 'name', 'the log')} has no rows to infer n_items from")
        return {"n_items": top_item + 1, "m": top_pos}

    def new_tracker(self, learner, columns: Columns) -> BanditTracker:
        for attr in ("act", "update", "n_items"):
            if not hasattr(learner, attr):
                raise ValueError(f"{type(learner).__name__} is not a list/slot policy (no {attr!r})")
        return BanditTracker(int(learner.n_items))

    def apply_chunk(self, learner, chunk, columns: Columns, tracker: BanditTracker) -> None:
        n_items = tracker.n_items
        item = int_column(chunk, columns["item"], 0, n_items,
                          what=f"expected an item in 0 .. {n_items - 1} (the learner's n_items={n_items})")
        slot = int_column(chunk, columns["position"], 1) - 1
        reward = real_column(chunk, columns["reward"], 0.0, 1.0)
        bad = (reward != 0.0) & (reward != 1.0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidEvent(f"{chunk.where(i)}: column {columns['reward']!r}: expected 0 or 1, got {reward[i]!r}",
                               field=columns["reward"], offset=chunk.offset + i)
        prop = real_column(chunk, columns["propensity"], 0.0, 1.0, open_lo=True)
        if len(item) == 0:
            return
        tracker.widen(int(slot.max()) + 1)
        k = _kernels()
        m_slots = tracker.shown.shape[1]
        slate = _slate(learner, m_slots)
        i = 0
        while i < len(item):
            j = k.scan(item, slot, reward, prop, slate, tracker.shown, tracker.clicks, tracker.sums, i)
            if j == len(item):
                break
            obs = (0, 0)
            learner.update(obs, [int(item[j])], (0 if reward[j] == 1.0 else None, obs))
            slate = _slate(learner, m_slots)
            i = j + 1


#: The logged-bandit protocol.
LOGGED_BANDIT = _LoggedBandit()
