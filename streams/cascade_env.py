"""Cascading bandit and cascading MDP environments (Kveton et al. 2015; Du et al. 2024).

Both follow :mod:`onlinekit.streams.env`: ``reset(seed) -> obs`` and
``step(action) -> Step(feedback, obs, reward, info)``.

* observation: ``(h, s)``, the step within the episode and the state;
* action: an ordered list of 1..m distinct items (top position first);
* feedback: :class:`CascadeFeedback` ``(click, next_obs)`` -- the clicked position (0-based)
  or ``None``, and the next observation. After the last step of an episode the next
  observation is the first one of a new episode (``info["episode_end"]`` is True).

The user scans the list top down; item ``a`` is attractive with probability ``q[s, a]``
independently of the others; the first attractive item is clicked, the reward is
``r[s, a]`` and the next state is drawn from ``P[s, a]``; with no click the reward is 0 and
the next state comes from ``P[s, N]`` (the virtual item ``a_bot``).

This module does not import the learner families: the exact optimum is computed here with
its own (numpy) BestPerm recursion.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from onlinekit.streams.env import Step

__all__ = [
    "CascadeFeedback",
    "CascadingMDPEnv",
    "CascadingBanditEnv",
    "random_cascading_mdp",
    "movielens_like_mdp",
    "cascade_value",
    "n_lists",
]


class CascadeFeedback(NamedTuple):
    """What a cascade learner observes after one list: click position and next observation."""

    click: int | None
    next_obs: tuple[int, int]


def cascade_value(items, q, w, w_bot) -> float:
    """Value of an ordered list under the cascade model.

    ``sum_i prod_{j<i}(1 - q[A_j]) q[A_i] w[A_i] + prod_j (1 - q[A_j]) w_bot``.

    Examples
    --------
    >>> round(cascade_value([1, 0], [0.5, 0.25], [1.0, 2.0], 0.5), 4)
    1.0625
    """
    v = float(w_bot)
    for a in reversed(list(items)):
        v = q[a] * w[a] + (1.0 - q[a]) * v
    return float(v)


def _best_list(q, w, w_bot, m):
    """Optimal value and list of :func:`cascade_value` (Du et al. 2024, Lemma 1 + Alg. 1)."""
    n = len(q)
    order = sorted(range(n), key=lambda a: (-w[a], a))
    cand = [a for a in order if w[a] > w_bot]
    if not cand:
        a = max(range(n), key=lambda a: (q[a] * w[a] + (1 - q[a]) * w_bot, -order.index(a)))
        return q[a] * w[a] + (1 - q[a]) * w_bot, [a]
    J = len(cand)
    F = np.full((J + 1, m + 1), float(w_bot))
    for i in range(J - 1, -1, -1):
        a = cand[i]
        for k in range(1, m + 1):
            F[i, k] = max(F[i + 1, k], q[a] * w[a] + (1 - q[a]) * F[i + 1, k - 1])
    items, k = [], m
    for i in range(J):
        if k == 0:
            break
        a = cand[i]
        if q[a] * w[a] + (1 - q[a]) * F[i + 1, k - 1] >= F[i + 1, k]:
            items.append(a)
            k -= 1
    return float(F[0, m]), items


def _check_int(x, name, lo=1):
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    return int(x)


class CascadingMDPEnv:
    """A finite-horizon cascading MDP (Du, Srikant and Chen 2024).

    Parameters
    ----------
    q
        Attraction probabilities, shape ``(S, N)``.
    rewards
        Reward of a click on item ``a`` in state ``s``, shape ``(S, N)``, in ``[0, 1]``.
    P
        Transition probabilities, shape ``(S, N + 1, S)``; row ``N`` is the no-click one.
    horizon
        Steps per episode ``H``.
    m
        Maximum list length.
    initial
        Initial-state distribution, shape ``(S,)`` (``None``: uniform).

    Attributes
    ----------
    n_states, n_items : int

    Examples
    --------
    >>> from onlinekit.streams.cascade_env import random_cascading_mdp
    >>> env = random_cascading_mdp(n_states=3, n_items=4, horizon=2, m=2, seed=0)
    >>> obs = env.reset(seed=1)
    >>> obs
    (0, 1)
    >>> step = env.step([0, 1])
    >>> step.feedback.next_obs[0], step.info["episode_end"]
    (1, False)
    >>> round(env.optimal_value(), 4)
    0.5285
    """

    def __init__(self, q, rewards, P, horizon: int, m: int, initial=None):
        q = np.array(q, dtype=float)
        r = np.array(rewards, dtype=float)
        P = np.array(P, dtype=float)
        if q.ndim != 2 or q.shape != r.shape:
            raise ValueError(f"q and rewards must be (S, N) arrays of one shape, got {q.shape}, {r.shape}")
        S, N = q.shape
        if P.shape != (S, N + 1, S):
            raise ValueError(f"P must have shape (S, N + 1, S) = {(S, N + 1, S)}, got {P.shape}")
        if not (np.all(np.isfinite(q)) and q.min() >= 0 and q.max() <= 1):
            raise ValueError("q must lie in [0, 1]")
        if not (np.all(np.isfinite(r)) and r.min() >= 0 and r.max() <= 1):
            raise ValueError("rewards must lie in [0, 1]")
        if not (np.all(P >= 0) and np.allclose(P.sum(axis=2), 1.0)):
            raise ValueError("each row of P must be a probability distribution")
        init = np.full(S, 1.0 / S) if initial is None else np.array(initial, dtype=float)
        if init.shape != (S,) or np.any(init < 0) or not np.isclose(init.sum(), 1.0):
            raise ValueError(f"initial must be a distribution over {S} states")
        self.q, self.rewards, self.P, self.initial = q, r, P, init
        self.horizon = _check_int(horizon, "horizon")
        self.m = _check_int(m, "m")
        self.n_states, self.n_items = S, N
        self._cum_P = np.cumsum(P, axis=2)
        self._cum_init = np.cumsum(init)
        self._V = None
        self.reset(None)

    # -- protocol ------------------------------------------------------------------------
    def reset(self, seed: int | None = None):
        """Start a fresh episode stream; returns the first observation ``(0, s)``."""
        self._rng = np.random.default_rng(seed)
        self._h = 0
        self._s = self._draw(self._cum_init)
        return (0, self._s)

    def _draw(self, cum) -> int:
        u = self._rng.random()
        return int(min(np.searchsorted(cum, u, side="right"), len(cum) - 1))

    def check_action(self, action) -> list[int]:
        """The action as a list of ints; ``ValueError`` if it is not a valid list."""
        a = np.asarray(action)
        if a.ndim != 1 or a.dtype.kind not in "iu":
            raise ValueError(f"action must be a 1-d list of item indices, got {action!r}")
        items = [int(x) for x in a]
        if not 1 <= len(items) <= self.m:
            raise ValueError(f"action must hold 1 to m={self.m} items, got {len(items)}")
        if min(items) < 0 or max(items) >= self.n_items:
            raise ValueError(f"items must be in [0, {self.n_items}), got {items}")
        if len(set(items)) != len(items):
            raise ValueError(f"items must be distinct, got {items}")
        return items

    def step(self, action) -> Step:
        """Show ``action`` to the user in the current state."""
        items = self.check_action(action)
        h, s = self._h, self._s
        u = self._rng.random(len(items))
        click = None
        for i, a in enumerate(items):
            if u[i] < self.q[s, a]:
                click = i
                break
        if click is None:
            reward = 0.0
            nxt = self._draw(self._cum_P[s, self.n_items])
        else:
            a = items[click]
            reward = float(self.rewards[s, a])
            nxt = self._draw(self._cum_P[s, a])
        expected = cascade_value(items, self.q[s], self.rewards[s], 0.0)
        info = {"h": h, "state": s, "episode_end": h == self.horizon - 1, "expected_reward": expected}
        if self.horizon == 1:
            info["optimal_reward"] = float(self.optimal_values()[0, s])
        if h + 1 < self.horizon:
            self._h, self._s = h + 1, nxt
        else:
            self._h = 0
            self._s = self._draw(self._cum_init)
        obs = (self._h, self._s)
        return Step(CascadeFeedback(click, obs), obs, reward, info)

    # -- exact dynamic programming -------------------------------------------------------
    def _weights(self, V_next, s):
        w = self.rewards[s] + self.P[s, : self.n_items] @ V_next
        return w, float(self.P[s, self.n_items] @ V_next)

    def optimal_values(self) -> np.ndarray:
        """``V*[h, s]``, shape ``(H + 1, S)``, by backward induction with BestPerm."""
        if self._V is None:
            V = np.zeros((self.horizon + 1, self.n_states))
            lists = np.full((self.horizon, self.n_states, self.m), -1, dtype=np.int64)
            for h in range(self.horizon - 1, -1, -1):
                for s in range(self.n_states):
                    w, wb = self._weights(V[h + 1], s)
                    V[h, s], items = _best_list(self.q[s], w, wb, self.m)
                    lists[h, s, : len(items)] = items
            self._V, self._lists = V, lists
        return self._V.copy()

    def optimal_policy(self) -> tuple[np.ndarray, np.ndarray]:
        """An optimal list policy: ``lists`` ``(H, S, m)`` padded with -1, and ``lengths``."""
        self.optimal_values()
        lengths = (self._lists >= 0).sum(axis=2)
        return self._lists.copy(), lengths

    def optimal_value(self, s: int | None = None) -> float:
        """``V*_1(s)``, or its mean over the initial distribution when ``s`` is None."""
        V = self.optimal_values()
        return float(V[0, s]) if s is not None else float(self.initial @ V[0])

    def policy_values(self, lists, lengths) -> np.ndarray:
        """``V^pi[h, s]`` of a deterministic list policy (``lists[h, s, :lengths[h, s]]``)."""
        lists = np.asarray(lists)
        lengths = np.asarray(lengths)
        V = np.zeros((self.horizon + 1, self.n_states))
        for h in range(self.horizon - 1, -1, -1):
            for s in range(self.n_states):
                w, wb = self._weights(V[h + 1], s)
                V[h, s] = cascade_value(lists[h, s, : lengths[h, s]], self.q[s], w, wb)
        return V


class CascadingBanditEnv(CascadingMDPEnv):
    """Cascading bandit (Kveton et al. 2015): one state, episodes of one step, reward 1 per click.

    Parameters
    ----------
    q
        Attraction probabilities of the ``N`` items.
    m
        Number of positions ``K`` (the list length).

    Examples
    --------
    >>> from onlinekit.streams.cascade_env import CascadingBanditEnv
    >>> env = CascadingBanditEnv([0.1, 0.5, 0.3], m=2)
    >>> env.reset(seed=0)
    (0, 0)
    >>> round(env.optimal_value(), 2)
    0.65
    >>> step = env.step([1, 2])
    >>> step.info["optimal_reward"] == env.optimal_value()
    True
    """

    def __init__(self, q, m: int):
        qa = np.array(q, dtype=float)
        if qa.ndim != 1:
            raise ValueError(f"q must be 1-d, got shape {qa.shape}")
        N = len(qa)
        super().__init__(qa[None, :], np.ones((1, N)), np.ones((1, N + 1, 1)), horizon=1, m=m)

    @classmethod
    def random(cls, n_items: int, m: int, seed: int = 0, a: float = 1.0, b: float = 10.0):
        """Attractions drawn from Beta(a, b) (the ts_tutorial set-up uses Beta(1, 10))."""
        rng = np.random.default_rng(seed)
        return cls(rng.beta(a, b, size=_check_int(n_items, "n_items")), m)


def random_cascading_mdp(n_states: int, n_items: int, horizon: int, m: int, seed: int = 0,
                         q_max: float = 0.5, alpha: float = 0.5, rewards=None) -> CascadingMDPEnv:
    """A random cascading MDP (our generator; the paper's is not public).

    ``q ~ U[0, q_max]`` (state 0, the "low" state, has its attractions scaled by 0.3),
    ``r ~ U[0, 1]`` unless ``rewards`` is given, ``P(.|s, a) ~ Dirichlet(alpha)``, and the
    no-click row mixes a Dirichlet draw with a jump to state 0, so long-term value matters.
    The initial state is uniform.

    Examples
    --------
    >>> env = random_cascading_mdp(4, 6, horizon=3, m=2, seed=1)
    >>> env.q.shape, env.P.shape
    ((4, 6), (4, 7, 4))
    """
    S, N = _check_int(n_states, "n_states"), _check_int(n_items, "n_items")
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.0, q_max, size=(S, N))
    q[0] *= 0.3
    r = rng.uniform(0.0, 1.0, size=(S, N)) if rewards is None else np.array(rewards, dtype=float)
    P = rng.dirichlet(np.full(S, alpha), size=(S, N + 1))
    P[:, N] *= 0.5
    P[:, N, 0] += 0.5
    return CascadingMDPEnv(q, r, P, horizon, m)


def movielens_like_mdp(n_genres: int = 20, n_items: int = 25, horizon: int = 3, m: int = 3,
                       seed: int = 0, attraction_scale: float = 0.6, stay_on_click: float = 0.7,
                       stay_no_click: float = 0.5) -> CascadingMDPEnv:
    """A MovieLens-like cascading MDP: states are last-watched genres, items are movies.

    Synthetic, in the spirit of the paper's MovieLens set-up (its preprocessing is not
    published, see the research notes section 2.6): each movie has a genre and a quality
    ``theta ~ Beta(2, 2)`` (a normalised mean rating); genres sit on a circle, and the
    affinity of a user in genre ``s`` for genre ``g`` is ``exp(-d(s, g) / 2)``.
    ``q(s, a) = attraction_scale * theta_a * affinity(s, g_a)``, ``r(s, a) = theta_a``.
    After a click the user moves to the clicked movie's genre with probability
    ``stay_on_click``, else to a uniform genre; with no click the user stays with
    probability ``stay_no_click``, else moves uniformly.

    Examples
    --------
    >>> env = movielens_like_mdp(n_genres=5, n_items=8, horizon=2, m=2, seed=0)
    >>> env.n_states, env.n_items, float(env.q.max()) <= 0.6
    (5, 8, True)
    """
    S, N = _check_int(n_genres, "n_genres"), _check_int(n_items, "n_items")
    rng = np.random.default_rng(seed)
    genre = np.concatenate([np.arange(min(S, N)), rng.integers(0, S, size=max(N - S, 0))])
    rng.shuffle(genre)
    theta = rng.beta(2.0, 2.0, size=N)
    idx = np.arange(S)
    d = np.abs(idx[:, None] - idx[None, :])
    d = np.minimum(d, S - d)
    aff = np.exp(-d / 2.0)
    q = attraction_scale * theta[None, :] * aff[:, genre]
    r = np.tile(theta, (S, 1))
    P = np.empty((S, N + 1, S))
    for s in range(S):
        for a in range(N):
            P[s, a] = (1.0 - stay_on_click) / S
            P[s, a, genre[a]] += stay_on_click
        P[s, N] = (1.0 - stay_no_click) / S
        P[s, N, s] += stay_no_click
    return CascadingMDPEnv(q, r, P, horizon, m)


def n_lists(n_items: int, m: int) -> int:
    """Number of ordered lists of 1..m distinct items: ``sum_k N! / (N - k)!``.

    Examples
    --------
    >>> [n_lists(n, 3) for n in (10, 15, 20, 25)]
    [820, 2955, 7240, 14425]
    """
    return sum(math.perm(n_items, k) for k in range(1, min(m, n_items) + 1))

