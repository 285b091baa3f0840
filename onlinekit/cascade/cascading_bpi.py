"""CascadingBPI: best-policy identification in cascading MDPs (Du, Srikant and Chen 2024)."""

from __future__ import annotations

import math

import numpy as np

from onlinekit.cascade import _protocol as P
from onlinekit.cascade.cascading_vi import CascadingVI

__all__ = ["CascadingBPI"]


class CascadingBPI(CascadingVI):
    """Explore optimistically until the current plan is provably ``epsilon``-optimal.

    Runs the CascadingVI loop (Bernstein bonuses, BestPerm planner). After each episode the
    gap ``V_up[0, s] - V_lo[0, s]`` bounds the sub-optimality of the current plan at every
    initial state ``s`` seen so far (``V_up >= V*`` by optimism, ``V_lo <= V^pi`` by
    pessimism, both with probability ``1 - delta`` with the default ``bonus_scale = 1``; a
    smaller scale voids this guarantee and with it the stopping rule's). When the
    largest gap is ``<= epsilon`` the plan is frozen and returned by :meth:`recommend`.

    Parameters
    ----------
    n_states, n_items, horizon, m, rewards, bonus_scale, delta
        As in :class:`CascadingVI`.
    epsilon
        Target accuracy.
    max_episodes
        Sample budget: stop after this many episodes even if the gap is larger
        (``converged_`` is then False). ``None``: no budget.

    Attributes
    ----------
    done_ : bool
        The plan is frozen (``epsilon`` reached or budget spent).
    converged_ : bool
        Stopped by the ``epsilon`` rule.
    gap_ : float
        Largest ``V_up[0, s] - V_lo[0, s]`` over the initial states seen.
    initial_seen_ : ndarray of bool (S,)
        States observed at step 0.

    Examples
    --------
    >>> from onlinekit.cascade import CascadingBPI
    >>> from onlinekit.streams.cascade_env import CascadingBanditEnv
    >>> env = CascadingBanditEnv([0.1, 0.7, 0.3], m=1)
    >>> bpi = CascadingBPI(1, 3, 1, 1, epsilon=0.2)
    >>> obs = env.reset(seed=0)
    >>> while not bpi.done_:
    ...     items = bpi.act(obs)
    ...     step = env.step(items)
    ...     bpi.update(obs, items, step.feedback)
    ...     obs = step.obs
    >>> lists, lengths = bpi.recommend()
    >>> bpi.converged_, lists[0, 0, :lengths[0, 0]].tolist()
    (True, [1])

    Notes
    -----
    Du, Srikant and Chen (2024), Section 5: sample complexity
    ``O~(H^3 S N / eps^2 log(1/delta) + H^2.5 S N / eps^1.5 (log(1/delta) + S))``; see
    :meth:`sample_complexity` (constants set to 1, logarithmic factors in ``S, N, H, eps``
    dropped: an order of magnitude, not a guarantee). The stopping statistic ``V_up - V_lo``
    is our reconstruction of the paper's prose description.

    References
    ----------
    .. [1] Y. Du, R. Srikant, W. Chen. Cascading Reinforcement Learning. ICLR 2024.
    """

    protocol = "environment"

    def __init__(self, n_states: int, n_items: int, horizon: int, m: int, epsilon: float,
                 rewards=None, delta: float = 0.05, bonus_scale: float = 1.0,
                 max_episodes: int | None = None):
        self.n_states = n_states
        self.n_items = n_items
        self.horizon = horizon
        self.m = m
        self.epsilon = epsilon
        self.rewards = rewards
        self.delta = delta
        self.bonus_scale = bonus_scale
        self.max_episodes = max_episodes
        self.bonus = "bernstein"
        self.planner = "bestperm"
        self._validate_common()
        P.check_positive(epsilon, "epsilon")
        if max_episodes is not None:
            P.check_size(max_episodes, "max_episodes")
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {"n_states": 3, "n_items": 4, "horizon": 2, "m": 2, "epsilon": 0.5}
        yield {"n_states": 2, "n_items": 4, "horizon": 2, "m": 3, "epsilon": 5.0, "max_episodes": 10}

    def _reset(self) -> None:
        self.done_ = False
        self.converged_ = False
        self.gap_ = float(self.horizon)
        self.initial_seen_ = np.zeros(self.n_states, dtype=bool)
        super()._reset()

    def _learn(self, h, s, items, pos, s2) -> None:
        if h == 0:
            self.initial_seen_[s] = True
        super()._learn(h, s, items, pos, s2)

    def _end_episode(self) -> None:
        if self.done_:
            return
        self._plan()
        seen = self.initial_seen_
        self.gap_ = float(np.max(self.V_up_[0, seen] - self.V_lo_[0, seen])) if seen.any() else float(self.horizon)
        if self.gap_ <= self.epsilon:
            self.done_ = True
            self.converged_ = True
        elif self.max_episodes is not None and self.episodes_ >= self.max_episodes:
            self.done_ = True

    def recommend(self) -> tuple[np.ndarray, np.ndarray]:
        """The current (frozen once ``done_``) plan: ``lists`` ``(H, S, m)`` and ``lengths``."""
        return self.policy_.copy(), self.lengths_.copy()

    def sample_complexity(self) -> float:
        """The order of the paper's episode bound for these sizes (constants 1).

        Examples
        --------
        >>> from onlinekit.cascade import CascadingBPI
        >>> round(CascadingBPI(2, 3, 2, 2, epsilon=0.5).sample_complexity())
        1055
        """
        H, S, N = self.horizon, self.n_states, self.n_items
        eps, ld = float(self.epsilon), math.log(1.0 / self.delta)
        return H**3 * S * N / eps**2 * ld + H**2.5 * S * N / eps**1.5 * (ld + S)
