"""A deliberately broken groupwise learner for the sabotage tests: one ridge expert per group
(predict, then learn on the group's events), combined by Hedge with the sign of its update
flipped, so the meta layer moves weight *towards* the experts with the larger loss."""

from __future__ import annotations

import numpy as np


def flipped_hedge_losses(config, Xs, ys, Gs, group_names, always_on, eta: float = 2.0):
    from onlinekit.experts import OnlineRidge

    n = Xs.shape[0]
    G = np.hstack([Gs, np.ones((n, 1), dtype=bool)]) if always_on else Gs
    E = G.shape[1]
    experts = [OnlineRidge(l2=config.l2) for _ in range(E)]
    cum = np.zeros(E)
    out = np.empty(n)
    for t in range(n):
        awake = np.flatnonzero(G[t])
        if awake.size == 0:
            out[t] = ys[t] ** 2
            continue
        preds = np.array([experts[g].predict_learn_many(Xs[t:t + 1], ys[t:t + 1])[0] for g in awake])
        loss = (preds - ys[t]) ** 2
        z = eta * cum[awake]          # the bug: + instead of -
        p = np.exp(z - z.max())
        p /= p.sum()
        out[t] = float(p @ loss)
        cum[awake] += loss
    return out


def frozen_expert_losses(config, Xs, ys, Gs, group_names, always_on):
    """A groupwise learner whose experts never learn (their update dropped): every expert keeps
    its initial ridge weights (zero), so every prediction is 0 and the loss is ``y_t^2``."""
    return np.asarray(ys, dtype=float) ** 2
