"""AdaNormalHedge (Luo & Schapire 2015) with sleeping experts, in log space."""

from __future__ import annotations

from onlinekit.experts.hedge import _SleepingExperts

__all__ = ["AdaNormalHedge"]


class AdaNormalHedge(_SleepingExperts):
    """Parameter-free AdaNormalHedge over ``n_experts`` experts, with sleeping experts.

    Each awake expert ``e`` keeps its sleeping regret ``R_e`` (sum of
    ``r = loss_learner - loss_e`` over its awake rounds) and ``C_e`` (sum of ``|r|``). Its
    weight is ``w_e = (Phi(R_e + 1, C_e + 1) - Phi(R_e - 1, C_e + 1)) / 2`` with
    ``Phi(R, C) = exp([R]_+^2 / (3 C))`` (so ``w_e = 0`` when ``R_e <= -1``), and the
    awake experts are played with ``p_e ∝ w_e``; when every awake weight is zero the play
    is uniform over the awake experts. Weights are computed as logarithms and normalised
    with a max-shift, so large regrets never overflow (the official code of Acharya et al.
    exponentiates directly).

    Parameters
    ----------
    n_experts
        Number of experts ``N``. There is no learning rate.

    Attributes
    ----------
    R_ : ndarray
        Sleeping regret of each expert.
    C_ : ndarray
        Sum of absolute instantaneous regrets of each expert.
    t_ : int
        Rounds played.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.experts import AdaNormalHedge
    >>> anh = AdaNormalHedge(n_experts=3)
    >>> for _ in range(50):
    ...     anh.update(np.array([0.9, 0.1, 0.5]))
    >>> np.round(anh.play(), 3)
    array([0., 1., 0.])
    >>> anh.update(np.array([0.0, 1e6, 0.0]), awake=np.array([True, True, False]))
    >>> np.round(anh.play(), 3)      # a huge regret does not overflow
    array([1., 0., 0.])

    Notes
    -----
    With losses in ``[0, 1]``, Luo & Schapire (2015, Thm. 1) bound the regret to expert
    ``e`` by ``O(sqrt(C_e ln(N ...)))``, i.e. ``O(sqrt(T_e ln N))`` on the ``T_e`` rounds
    where ``e`` is awake (the sleeping-experts reading of their Sec. 5). The constant 3 in
    ``Phi`` and the ``C + 1`` shift are the paper's, and the same as in the official code of
    Acharya et al. (2024), which this learner serves as the meta-algorithm of
    :class:`onlinekit.experts.GroupwiseRegressor`.

    References
    ----------
    .. [1] H. Luo and R. E. Schapire. Achieving all with no parameters: AdaNormalHedge.
       COLT 2015.
    .. [2] K. Acharya, E. Arunachaleswaran, S. Kannan, A. Roth, J. Ziani. Oracle efficient
       algorithms for groupwise regret. ICLR 2024.
    """

    protocol = "experts"

    _meta_code = 0

    def __init__(self, n_experts: int = 2):
        self.n_experts = n_experts
        self._validate_n()
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {"n_experts": 3}
        yield {"n_experts": 1}
