"""CascadeUCB1 and CascadeKL-UCB for cascading bandits (Kveton et al. 2015)."""

from __future__ import annotations

import abc
import math

import numpy as np

from onlinekit.base import Learner
from onlinekit.cascade import _protocol as P

__all__ = ["CascadeUCB1", "CascadeKLUCB"]


def _kernels():
    from onlinekit.cascade import _kernels

    return _kernels


class _CascadeBandit(Learner, abc.ABC):
    """Shared state and protocol of the cascading-bandit index policies."""

    def __init__(self, n_items: int, m: int):
        self.n_items = n_items
        self.m = m
        P.check_size(n_items, "n_items")
        P.check_size(m, "m")
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {"n_items": 5, "m": 2}
        yield {"n_items": 8, "m": 3}

    def _reset(self) -> None:
        self.n_obs_ = np.zeros(self.n_items)
        self.n_click_ = np.zeros(self.n_items)
        self.t_ = 0

    @abc.abstractmethod
    def _index(self) -> np.ndarray:
        """The index of every item (subclasses: UCB1 or KL-UCB)."""

    def indices(self) -> np.ndarray:
        """Upper confidence index of every item for the coming round (``inf``: never examined)."""
        return self._index()

    def act(self, obs=None) -> list[int]:
        """The ``m`` items with the largest indices, best first (ties: smaller item first).

        ``obs`` is ignored (a cascading bandit has a single state).
        """
        idx = self._index()
        order = np.argsort(-idx, kind="stable")
        return [int(a) for a in order[: min(self.m, self.n_items)]]

    def update(self, obs, action, feedback) -> None:
        """Learn from ``(click, next_obs)``: items up to the click were examined."""
        items = P.check_action(action, self.n_items, self.m)
        click, _ = P.split_feedback(feedback)
        pos = P.check_click(click, len(items))
        last = pos if pos >= 0 else len(items) - 1
        for i in range(last + 1):
            self.n_obs_[items[i]] += 1.0
        if pos >= 0:
            self.n_click_[items[pos]] += 1.0
        self.t_ += 1

    # -- conformance hooks -----------------------------------------------------------------
    def _check_env(self, seed):
        from onlinekit.streams.cascade_env import CascadingBanditEnv

        return CascadingBanditEnv.random(self.n_items, self.m, seed=3, a=1.0, b=3.0)

    def _check_bad_events(self):
        N, m = self.n_items, self.m
        nxt = (0, 0)
        return [
            ("update", ((0, 0), [0, 0], (None, nxt)), {}),
            ("update", ((0, 0), [N], (None, nxt)), {}),
            ("update", ((0, 0), list(range(m + 1)), (None, nxt)), {}),
            ("update", ((0, 0), [0, 1], (2, nxt)), {}),
            ("update", ((0, 0), [0, 1], ([1, 1], nxt)), {}),
            ("update", ((0, 0), [0, 1], (True, nxt)), {}),
            ("update", ((0, 0), [], (None, nxt)), {}),
            ("update", ((0, 0), [0], 1), {}),
        ]


class CascadeUCB1(_CascadeBandit):
    """CascadeUCB1 (Kveton et al. 2015): UCB1 indices on item attraction probabilities.

    Each round shows the ``m`` items with the largest ``q_hat + sqrt(1.5 log t / n)`` and
    updates every examined item (those up to and including the click).

    Parameters
    ----------
    n_items
        Number of items ``L``.
    m
        Number of positions ``K``.

    Attributes
    ----------
    n_obs_, n_click_ : ndarray (N,)
        Examinations and clicks per item.
    t_ : int
        Rounds played.

    Examples
    --------
    >>> from onlinekit.cascade import CascadeUCB1
    >>> from onlinekit.streams.cascade_env import CascadingBanditEnv
    >>> env = CascadingBanditEnv([0.05, 0.3, 0.1, 0.25, 0.02], m=2)
    >>> agent = CascadeUCB1(5, 2)
    >>> obs = env.reset(seed=0)
    >>> for _ in range(3000):
    ...     items = agent.act(obs)
    ...     step = env.step(items)
    ...     agent.update(obs, items, step.feedback)
    >>> sorted(agent.act(obs))
    [1, 3]

    Notes
    -----
    Kveton, Szepesvari, Wen and Ashkan (2015), Algorithm 1 with the UCB1 index of their
    Section 3 (``log t`` with ``t`` the current round, counting from 1); unexamined items
    have an infinite index and are shown first. Gap-dependent regret
    ``O((L - K) / Delta log n)``.

    References
    ----------
    .. [1] B. Kveton, C. Szepesvari, Z. Wen, A. Ashkan. Cascading bandits: learning to rank
       in the cascade model. ICML 2015.
    """

    protocol = "logged-bandit"

    def _index(self) -> np.ndarray:
        n = self.n_obs_
        t = self.t_ + 1
        with np.errstate(divide="ignore", invalid="ignore"):
            idx = self.n_click_ / n + np.sqrt(1.5 * math.log(t) / n)
        idx[n <= 0] = np.inf
        return idx


class CascadeKLUCB(_CascadeBandit):
    """CascadeKL-UCB (Kveton et al. 2015): KL-UCB indices on attraction probabilities.

    The index of item ``a`` is ``max{q : n_a kl(q_hat_a, q) <= log t + 3 log log t}``
    (Bernoulli KL; ``log log t`` taken as 0 while ``t < 3``), computed by bisection.

    Parameters
    ----------
    n_items, m
        As in :class:`CascadeUCB1`.

    Attributes
    ----------
    n_obs_, n_click_, t_
        As in :class:`CascadeUCB1`.

    Examples
    --------
    >>> from onlinekit.cascade import CascadeKLUCB
    >>> from onlinekit.streams.cascade_env import CascadingBanditEnv
    >>> env = CascadingBanditEnv([0.05, 0.3, 0.1, 0.25, 0.02], m=2)
    >>> agent = CascadeKLUCB(5, 2)
    >>> obs = env.reset(seed=0)
    >>> for _ in range(3000):
    ...     items = agent.act(obs)
    ...     step = env.step(items)
    ...     agent.update(obs, items, step.feedback)
    >>> sorted(agent.act(obs))
    [1, 3]

    Notes
    -----
    Kveton et al. (2015), Algorithm 1 with the KL-UCB index (Garivier and Cappe 2011);
    regret ``O((L - K) Delta / kl(...) log n)``, tighter than CascadeUCB1 for small
    attraction probabilities.

    References
    ----------
    .. [1] B. Kveton, C. Szepesvari, Z. Wen, A. Ashkan. Cascading bandits: learning to rank
       in the cascade model. ICML 2015.
    .. [2] A. Garivier, O. Cappe. The KL-UCB algorithm for bounded stochastic bandits and
       beyond. COLT 2011.
    """

    protocol = "logged-bandit"

    def _index(self) -> np.ndarray:
        t = self.t_ + 1
        rhs = math.log(t) + (3.0 * math.log(math.log(t)) if t >= 3 else 0.0)
        out = np.empty(self.n_items)
        _kernels().klucb_index(self.n_obs_, self.n_click_, rhs, out)
        return out
