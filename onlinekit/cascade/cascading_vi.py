"""CascadingVI: optimistic value iteration for cascading MDPs (Du, Srikant and Chen 2024)."""

from __future__ import annotations

import math

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.cascade import _protocol as P
from onlinekit.cascade.bestperm import TIE_TOL

__all__ = ["CascadingVI"]

_BONUSES = {"bernstein": 0, "hoeffding": 1}
_PLANNERS = {"bestperm": 0, "exhaustive": 1}


def _kernels():
    from onlinekit.cascade import _kernels

    return _kernels


class _CascadeMDPLearner(Learner):
    """Shared plumbing of the cascading-MDP learners: params, protocol checks, test hooks."""

    def _validate_common(self) -> None:
        P.check_size(self.n_states, "n_states")
        P.check_size(self.n_items, "n_items")
        P.check_size(self.horizon, "horizon")
        P.check_size(self.m, "m")
        self._r = P.check_rewards(self.rewards, self.n_states, self.n_items)
        P.check_positive(self.bonus_scale, "bonus_scale")
        P.check_positive(self.delta, "delta", upper=1.0)
        if self.bonus not in _BONUSES:
            raise InvalidEvent(f"must be one of {sorted(_BONUSES)}, got {self.bonus!r}", field="bonus")

    def _check_update(self, obs, action, feedback):
        h, s = P.check_obs(obs, self.horizon, self.n_states)
        items = P.check_action(action, self.n_items, self.m)
        pos, s2 = P.check_mdp_feedback(feedback, len(items), h, self.horizon, self.n_states)
        return h, s, items, pos, s2

    def _log_term(self) -> float:
        S, N, H = self.n_states, self.n_items, self.horizon
        return math.log(2.0 * S * (N + 1) * H * (self.episodes_ + 1) / self.delta)

    # -- conformance hooks -----------------------------------------------------------------
    def _check_env(self, seed):
        from onlinekit.streams.cascade_env import random_cascading_mdp

        return random_cascading_mdp(self.n_states, self.n_items, self.horizon, self.m, seed=7,
                                    rewards=self._r)

    def _check_bad_events(self):
        N, m = self.n_items, self.m
        H = self.horizon
        nxt = (1, 0) if H > 1 else (0, 0)
        # the unit-test instances have n_items > m >= 2
        return [
            ("update", ((0, 0), [0, 0], (None, nxt)), {}),                        # repeated item
            ("update", ((0, 0), [N], (None, nxt)), {}),                           # out of range
            ("update", ((0, 0), list(range(m + 1)), (None, nxt)), {}),            # too long
            ("update", ((0, 0), [0, 1], (2, nxt)), {}),                           # click past the end
            ("update", ((0, 0), [0, 1], ([0, 1, 0], nxt)), {}),                   # wrong vector length
            ("update", ((0, 0), [0, 1], ([1, 1], nxt)), {}),                      # click on unexamined
            ("update", ((H, 0), [0], (None, nxt)), {}),                           # step out of range
            ("update", ((0, self.n_states), [0], (None, nxt)), {}),               # state out of range
            ("update", ((0, 0), [0], (None, (0, 0) if H > 1 else (1, 0))), {}),   # wrong next step
            ("update", ((0, 0), [], (None, nxt)), {}),                            # empty list
            ("update", ((0, 0), [0], None), {}),                                  # malformed feedback
            ("act", ((0, self.n_states),), {}),
            ("act", ((0.0, 0),), {}),
        ]


class CascadingVI(_CascadeMDPLearner):
    """Optimistic value iteration with BestPerm for cascading MDPs (regret minimisation).

    Keeps per-(state, item) attraction estimates ``q_hat`` from cascade feedback (items up to
    the click were examined) and per-(state, item-or-no-click) transition counts. At the end
    of every episode it runs one backward pass: optimistic attractions ``q_up = q_hat + b_q``
    and weights ``w_up = r + p_hat^T V_up + b_pV``, then the planner returns the list maximising
    the cascade value at every ``(h, s)``. Pessimistic values ``V_lo`` are kept alongside
    (they enter the Bernstein bonus and CascadingBPI's stopping rule).

    Parameters
    ----------
    n_states, n_items, horizon, m
        ``S``, ``N``, ``H`` and the maximum list length.
    rewards
        Known click rewards ``r(s, a)`` in ``[0, 1]``, shape ``(S, N)`` (``None``: all 1).
    bonus
        ``"bernstein"`` (the paper's variance-aware attraction bonus) or ``"hoeffding"``
        (the "CascadingVI-Bonus" ablation: the same attraction bonus with the variance
        ``q_hat (1 - q_hat)`` replaced by its maximum 1/4; everything else unchanged).
    planner
        ``"bestperm"`` (``O(N m + N log N)`` per state) or ``"exhaustive"`` (enumerate all
        ``O(N^m)`` lists: the "CascadingVI-Oracle" ablation; same lists, slower).
    bonus_scale
        Multiplies every bonus. 1.0 (the default) gives the confidence widths in Notes, valid
        with probability ``1 - delta``; a smaller value is a tuned heuristic whose bounds
        (``V_up >= V*``, ``V_lo <= V^pi``) may fail.
    delta
        Confidence level inside the log term.

    Attributes
    ----------
    n_q_, n_click_ : ndarray (S, N)
        Examinations and clicks per (state, item).
    n_p_ : ndarray (S, N + 1)
        Transitions observed per (state, clicked item or no-click).
    P_cnt_ : ndarray (S, N + 1, S)
        Transition counts.
    V_up_, V_lo_ : ndarray (H + 1, S)
        Optimistic and pessimistic values of the current plan.
    policy_ : ndarray of int64 (H, S, m)
        The list played at ``(h, s)`` this episode (padded with -1); ``lengths_`` its lengths.
    episodes_ : int
        Episodes completed.

    Examples
    --------
    >>> from onlinekit.cascade import CascadingVI
    >>> from onlinekit.streams.cascade_env import random_cascading_mdp
    >>> env = random_cascading_mdp(n_states=3, n_items=5, horizon=2, m=2, seed=0)
    >>> agent = CascadingVI(3, 5, 2, 2, rewards=env.rewards)
    >>> obs = env.reset(seed=0)
    >>> for _ in range(4000):  # 2,000 episodes of two steps
    ...     items = agent.act(obs)
    ...     step = env.step(items)
    ...     agent.update(obs, items, step.feedback)
    ...     obs = step.obs
    >>> V = env.policy_values(agent.policy_, agent.lengths_)
    >>> bool(env.optimal_value() - env.initial @ V[0] < 0.05)
    True

    Notes
    -----
    Du, Srikant and Chen (2024), Algorithm 2 (named CascadingEuler in the submission);
    regret ``O~(H sqrt(H S N K))`` (Theorem 1), independent of the number of lists.
    The bonuses take the paper's form (Bernstein terms with constant 2, lower-order terms
    with constant 5; the paper's exact constants are not available to us). With
    ``L = log(2 S (N+1) H k / delta)`` after ``k - 1`` episodes, ``n`` the count of the pair
    and ``F = H - h - 1``:

    * ``b_q = min(1, scale (2 sqrt(q_hat (1 - q_hat) L / n) + 5 L / n))``
      (``"hoeffding"``: ``min(1, scale (sqrt(L / n) + 5 L / n))``);
    * ``b_pV = scale (2 sqrt(Var_p_hat(V_up) L / n) + 2 sqrt(E_p_hat[(V_up - V_lo)^2] L / n)
      + 5 F L / n)`` for both values of ``bonus``;
    * ``q_up = min(q_hat + b_q, 1)``, ``q_lo = max(q_hat - b_q, 0)``,
      ``w_up = r + min(p_hat^T V_up + b_pV, F)``, ``w_lo = r + max(p_hat^T V_lo - b_pV, 0)``
      (the no-click item has ``r = 0``).

    With ``scale = 1`` and ``n >= 2`` the attraction width is at least the empirical
    Bernstein width ``sqrt(2 V_n L / n) + 7 L / (3 (n - 1))`` of Maurer and Pontil (2009)
    (``V_n`` the sample variance); for ``n = 1`` it is 1. Unvisited pairs get
    ``q_up = 1``, ``q_lo = 0`` and the future bounds ``F`` and 0. Rewards are known, as in
    the paper.
    ``V_lo`` is the exact minimum of the chosen list's value over ``q`` in
    ``[q_lo, q_up]`` (the value of a fixed list is not monotone in ``q``).

    References
    ----------
    .. [1] Y. Du, R. Srikant, W. Chen. Cascading Reinforcement Learning. ICLR 2024.
    """

    protocol = "environment"

    def __init__(self, n_states: int, n_items: int, horizon: int, m: int, rewards=None,
                 bonus: str = "bernstein", planner: str = "bestperm", bonus_scale: float = 1.0,
                 delta: float = 0.05):
        self.n_states = n_states
        self.n_items = n_items
        self.horizon = horizon
        self.m = m
        self.rewards = rewards
        self.bonus = bonus
        self.planner = planner
        self.bonus_scale = bonus_scale
        self.delta = delta
        self._validate_common()
        if planner not in _PLANNERS:
            raise InvalidEvent(f"must be one of {sorted(_PLANNERS)}, got {planner!r}", field="planner")
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {"n_states": 3, "n_items": 4, "horizon": 2, "m": 2}
        yield {"n_states": 2, "n_items": 5, "horizon": 3, "m": 3, "bonus": "hoeffding",
               "planner": "exhaustive", "bonus_scale": 0.3,
               "rewards": np.linspace(0.1, 1.0, 10).reshape(2, 5)}

    def _reset(self) -> None:
        S, N, H, m = self.n_states, self.n_items, self.horizon, self.m
        self.n_q_ = np.zeros((S, N))
        self.n_click_ = np.zeros((S, N))
        self.n_p_ = np.zeros((S, N + 1))
        self.P_cnt_ = np.zeros((S, N + 1, S))
        self.episodes_ = 0
        self.V_up_ = np.zeros((H + 1, S))
        self.V_lo_ = np.zeros((H + 1, S))
        self.policy_ = np.full((H, S, m), -1, dtype=np.int64)
        self.lengths_ = np.zeros((H, S), dtype=np.int64)
        self._plan()

    def _plan(self) -> None:
        self.V_up_[:] = 0.0
        self.V_lo_[:] = 0.0
        self.policy_[:] = -1
        _kernels().cvi_plan(self._r, self.n_q_, self.n_click_, self.n_p_, self.P_cnt_,
                            self._log_term(), float(self.bonus_scale), _BONUSES[self.bonus],
                            _PLANNERS[self.planner], TIE_TOL * self.horizon,
                            self.V_up_, self.V_lo_, self.policy_, self.lengths_)

    # -- protocol --------------------------------------------------------------------------
    def act(self, obs) -> list[int]:
        """The list to show at observation ``(h, s)``."""
        h, s = P.check_obs(obs, self.horizon, self.n_states)
        return [int(a) for a in self.policy_[h, s, : self.lengths_[h, s]]]

    def update(self, obs, action, feedback) -> None:
        """Learn from cascade feedback ``(click position or None, next observation)``.

        Items up to the click (all of them without a click) count as examined; the clicked
        item (or the no-click outcome) records the transition to the next state. After the
        last step of an episode the plan is recomputed.
        """
        h, s, items, pos, s2 = self._check_update(obs, action, feedback)
        self._learn(h, s, items, pos, s2)

    def _learn(self, h, s, items, pos, s2) -> None:
        last = pos if pos >= 0 else len(items) - 1
        for i in range(last + 1):
            self.n_q_[s, items[i]] += 1.0
        if pos >= 0:
            self.n_click_[s, items[pos]] += 1.0
        if h + 1 < self.horizon:
            a = items[pos] if pos >= 0 else self.n_items
            self.n_p_[s, a] += 1.0
            self.P_cnt_[s, a, s2] += 1.0
        else:
            self.episodes_ += 1
            self._end_episode()

    def _end_episode(self) -> None:
        self._plan()

    def greedy_value_gap(self, s: int) -> float:
        """``V_up[0, s] - V_lo[0, s]``: a confidence bound on the current plan's sub-optimality."""
        s = P.check_int(s, "s", 0, self.n_states)
        return float(self.V_up_[0, s] - self.V_lo_[0, s])
