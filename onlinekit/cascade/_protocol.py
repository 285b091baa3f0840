"""Validation of the cascade decision-maker protocol (shared by every cascade learner).

* observation: ``(h, s)`` -- step within the episode and state (two integers);
* action: a list of 1..m distinct item indices, top position first;
* feedback: ``(click, next_obs)`` -- ``click`` is the 0-based clicked position or ``None``
  (no click), or equivalently a 0/1 vector over the list's positions with at most one 1;
  ``next_obs`` is the observation after the step (the next episode's first one after the
  last step). Only cascade feedback is used: the items up to the click were examined.
"""

from __future__ import annotations

import numbers

import numpy as np

from onlinekit.base import InvalidEvent


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_int(x, field: str, lo: int, hi: int) -> int:
    if not _is_int(x):
        raise InvalidEvent(f"must be an integer, got {x!r}", field=field)
    if not lo <= int(x) < hi:
        raise InvalidEvent(f"must be in [{lo}, {hi}), got {x!r}", field=field)
    return int(x)


def check_obs(obs, horizon: int, n_states: int, field: str = "obs") -> tuple[int, int]:
    """``(h, s)`` as two Python ints, range-checked."""
    if isinstance(obs, np.ndarray):
        obs = obs.tolist()
    if not isinstance(obs, (tuple, list)) or len(obs) != 2:
        raise InvalidEvent(f"must be a pair (h, s), got {obs!r}", field=field)
    h = check_int(obs[0], f"{field}[0]", 0, horizon)
    s = check_int(obs[1], f"{field}[1]", 0, n_states)
    return h, s


def check_action(action, n_items: int, m: int) -> list[int]:
    """A list of 1..m distinct items in ``[0, n_items)``."""
    if isinstance(action, np.ndarray):
        if action.ndim != 1 or action.dtype.kind not in "iu":
            raise InvalidEvent(f"must be a 1-d integer list, got an array of shape {action.shape} "
                               f"and dtype {action.dtype}", field="action")
        action = action.tolist()
    if not isinstance(action, (list, tuple)):
        raise InvalidEvent(f"must be a list of item indices, got {action!r}", field="action")
    if not 1 <= len(action) <= m:
        raise InvalidEvent(f"must hold 1 to m={m} items, got {len(action)}", field="action")
    out = []
    for i, a in enumerate(action):
        out.append(check_int(a, f"action[{i}]", 0, n_items))
    if len(set(out)) != len(out):
        raise InvalidEvent(f"items must be distinct, got {out}", field="action")
    return out


def check_click(click, length: int) -> int:
    """Clicked position (``-1`` for none) from ``None``, an int or a 0/1 vector."""
    if click is None:
        return -1
    if _is_int(click):
        return check_int(click, "feedback.click", 0, length)
    if isinstance(click, (list, tuple, np.ndarray)):
        vec = list(np.asarray(click).tolist()) if isinstance(click, np.ndarray) else list(click)
        if len(vec) != length:
            raise InvalidEvent(f"click vector must have one entry per position ({length}), got {len(vec)}",
                               field="feedback.click")
        pos = -1
        for i, c in enumerate(vec):
            if isinstance(c, bool) or c not in (0, 1):
                raise InvalidEvent(f"click vector entries must be 0 or 1, got {c!r}", field=f"feedback.click[{i}]")
            if c == 1:
                if pos >= 0:
                    raise InvalidEvent(f"click on position {i}, which the user never examined "
                                       f"(the cascade stops at the click on position {pos})",
                                       field=f"feedback.click[{i}]")
                pos = i
        return pos
    raise InvalidEvent(f"must be None, a position or a 0/1 vector, got {click!r}", field="feedback.click")


def split_feedback(feedback):
    if isinstance(feedback, dict) or not isinstance(feedback, (tuple, list)) or len(feedback) != 2:
        raise InvalidEvent(f"must be a pair (click, next_obs), got {feedback!r}", field="feedback")
    return feedback[0], feedback[1]


def check_mdp_feedback(feedback, length: int, h: int, horizon: int, n_states: int) -> tuple[int, int]:
    """``(click position or -1, next state)``; ``next_obs`` must follow ``(h, .)``."""
    click, nxt = split_feedback(feedback)
    pos = check_click(click, length)
    h2, s2 = check_obs(nxt, horizon, n_states, field="feedback.next_obs")
    expected = h + 1 if h + 1 < horizon else 0
    if h2 != expected:
        raise InvalidEvent(f"next observation must be at step {expected} after step {h}, got {h2}",
                           field="feedback.next_obs[0]")
    return pos, s2


def check_rewards(rewards, n_states: int, n_items: int) -> np.ndarray:
    if rewards is None:
        return np.ones((n_states, n_items))
    r = np.asarray(rewards, dtype=float)
    if r.shape != (n_states, n_items):
        raise InvalidEvent(f"must have shape ({n_states}, {n_items}), got {r.shape}", field="rewards")
    if not np.all(np.isfinite(r)) or r.min() < 0.0 or r.max() > 1.0:
        raise InvalidEvent("rewards must lie in [0, 1]", field="rewards")
    return np.ascontiguousarray(r)


def check_size(x, field: str, lo: int = 1) -> int:
    if not _is_int(x) or x < lo:
        raise InvalidEvent(f"must be an integer >= {lo}, got {x!r}", field=field)
    return int(x)


def check_positive(x, field: str, upper: float | None = None) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(x) or x <= 0:
        raise InvalidEvent(f"must be a finite number > 0, got {x!r}", field=field)
    if upper is not None and x >= upper:
        raise InvalidEvent(f"must be < {upper}, got {x!r}", field=field)
    return float(x)
