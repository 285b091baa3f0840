"""AdaptVI: tabular optimistic value iteration treating every list as one atomic action."""

from __future__ import annotations

import itertools

import numpy as np

from onlinekit.cascade import _protocol as P
from onlinekit.cascade.bestperm import TIE_TOL
from onlinekit.cascade.cascading_vi import _BONUSES, _CascadeMDPLearner, _kernels

__all__ = ["AdaptVI", "enumerate_lists"]


def enumerate_lists(n_items: int, m: int) -> np.ndarray:
    """All ordered lists of 1..m distinct items, shortest first, then lexicographic.

    Returns an ``(A, m)`` int64 array padded with -1, ``A = sum_k N! / (N - k)!``.

    Examples
    --------
    >>> from onlinekit.cascade import enumerate_lists
    >>> enumerate_lists(3, 2).tolist()[:5]
    [[0, -1], [1, -1], [2, -1], [0, 1], [0, 2]]
    >>> len(enumerate_lists(10, 3))
    820
    """
    n_items = P.check_size(n_items, "n_items")
    m = P.check_size(m, "m")
    rows = []
    for k in range(1, min(m, n_items) + 1):
        for perm in itertools.permutations(range(n_items), k):
            rows.append(list(perm) + [-1] * (m - k))
    return np.array(rows, dtype=np.int64).reshape(len(rows), m)


class AdaptVI(_CascadeMDPLearner):
    """UCB value iteration over atomic list actions (the paper's baseline).

    Each ordered list of 1..m items is one action of a tabular MDP with
    ``A = sum_k N!/(N-k)!`` actions per state; the learner keeps, per (state, list), the
    empirical reward and next-state distribution and plans optimistically. It ignores which
    items were examined, so it cannot share information between lists: this is the point of
    the comparison with :class:`CascadingVI`.

    Parameters
    ----------
    n_states, n_items, horizon, m, rewards, bonus, bonus_scale, delta
        As in :class:`CascadingVI` (the reward of a list is ``r(s, clicked item)`` or 0).

    Attributes
    ----------
    n_sa_, r_sum_, r_sq_ : ndarray (S, A)
        Visits and reward sums / sums of squares per (state, list).
    n_tr_ : ndarray (S, A)
        Transitions observed per (state, list) (the last step of an episode has none).
    P_cnt_ : ndarray (S, A, S)
        Transition counts.
    best_ : ndarray of int64 (H, S)
        Index of the planned list; ``policy_`` / ``lengths_`` hold the lists themselves.
    V_up_ : ndarray (H + 1, S)

    Examples
    --------
    >>> from onlinekit.cascade import AdaptVI
    >>> from onlinekit.streams.cascade_env import random_cascading_mdp
    >>> env = random_cascading_mdp(n_states=2, n_items=3, horizon=2, m=2, seed=0)
    >>> agent = AdaptVI(2, 3, 2, 2, rewards=env.rewards, bonus_scale=0.2)
    >>> agent.n_actions
    9
    >>> obs = env.reset(seed=0)
    >>> for _ in range(200):
    ...     items = agent.act(obs)
    ...     step = env.step(items)
    ...     agent.update(obs, items, step.feedback)
    ...     obs = step.obs
    >>> int(agent.n_sa_.sum())
    200

    Notes
    -----
    Tabular optimistic VI in the style of UCBVI-Bernstein (Azar et al. 2017), with the
    constants of :class:`CascadingVI`: with ``L = log(2 S (N+1) H k / delta)``, ``n`` the
    visits of (state, list), ``n_tr`` its observed transitions and ``F = H - h - 1``,
    reward bonus ``b_r = scale (2 sqrt(Var_hat(r) L / n) + 5 L / n)`` and future bonus
    ``b_p = scale (2 sqrt(Var_p_hat(V_up) L / n_tr) + 5 F L / n_tr)``
    (``"hoeffding"``: the variances replaced by their maxima, ``1/4`` and ``F^2 / 4``);
    ``Q_up = min(min(r_hat + b_r, 1) + min(p_hat^T V_up + b_p, F), H - h)``, and an unvisited
    list gets ``H - h``. Planning costs ``O(H S A)`` plus ``O(S)`` per visited pair; memory is
    ``O(S^2 A)``. Du et al. (2024) call this baseline AdaptVI.

    References
    ----------
    .. [1] M. G. Azar, I. Osband, R. Munos. Minimax regret bounds for reinforcement
       learning. ICML 2017.
    .. [2] Y. Du, R. Srikant, W. Chen. Cascading Reinforcement Learning. ICLR 2024.
    """

    protocol = "environment"

    def __init__(self, n_states: int, n_items: int, horizon: int, m: int, rewards=None,
                 bonus: str = "bernstein", bonus_scale: float = 1.0, delta: float = 0.05):
        self.n_states = n_states
        self.n_items = n_items
        self.horizon = horizon
        self.m = m
        self.rewards = rewards
        self.bonus = bonus
        self.bonus_scale = bonus_scale
        self.delta = delta
        self._validate_common()
        self._actions = enumerate_lists(n_items, m)
        self._index = {tuple(int(a) for a in row if a >= 0): i for i, row in enumerate(self._actions)}
        self.reset()

    @property
    def n_actions(self) -> int:
        """Number of atomic list actions per state."""
        return len(self._actions)

    @classmethod
    def _unit_test_params(cls):
        yield {"n_states": 3, "n_items": 4, "horizon": 2, "m": 2}
        yield {"n_states": 2, "n_items": 4, "horizon": 3, "m": 3, "bonus": "hoeffding", "bonus_scale": 0.3}

    def _reset(self) -> None:
        S, H, A = self.n_states, self.horizon, len(self._actions)
        self.n_sa_ = np.zeros((S, A))
        self.r_sum_ = np.zeros((S, A))
        self.r_sq_ = np.zeros((S, A))
        self.n_tr_ = np.zeros((S, A))
        self.P_cnt_ = np.zeros((S, A, S))
        self.episodes_ = 0
        self.V_up_ = np.zeros((H + 1, S))
        self.best_ = np.zeros((H, S), dtype=np.int64)
        self.policy_ = np.full((H, S, self.m), -1, dtype=np.int64)
        self.lengths_ = np.zeros((H, S), dtype=np.int64)
        self._plan()

    def _plan(self) -> None:
        self.V_up_[:] = 0.0
        _kernels().adapt_plan(self.n_sa_, self.r_sum_, self.r_sq_, self.n_tr_, self.P_cnt_,
                              self._log_term(), float(self.bonus_scale), _BONUSES[self.bonus],
                              TIE_TOL * self.horizon, self.V_up_, self.best_)
        self.policy_[:] = self._actions[self.best_]
        self.lengths_[:] = (self.policy_ >= 0).sum(axis=2)

    def act(self, obs) -> list[int]:
        """The list to show at observation ``(h, s)``."""
        h, s = P.check_obs(obs, self.horizon, self.n_states)
        return [int(a) for a in self.policy_[h, s, : self.lengths_[h, s]]]

    def update(self, obs, action, feedback) -> None:
        """Learn from ``(click position or None, next observation)``; replans after an episode."""
        h, s, items, pos, s2 = self._check_update(obs, action, feedback)
        a = self._index[tuple(items)]
        reward = float(self._r[s, items[pos]]) if pos >= 0 else 0.0
        self.n_sa_[s, a] += 1.0
        self.r_sum_[s, a] += reward
        self.r_sq_[s, a] += reward * reward
        if h + 1 < self.horizon:
            self.n_tr_[s, a] += 1.0
            self.P_cnt_[s, a, s2] += 1.0
        else:
            self.episodes_ += 1
            self._plan()
