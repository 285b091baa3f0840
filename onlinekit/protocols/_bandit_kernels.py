"""Compiled scan of the logged-bandit protocol (private; see ``logged_bandit.py``).

``sums`` slots (running sums over the rows scanned so far):
0 rows, 1 logged reward, 2 sum w r, 3 sum (w r)^2, 4 sum w, 5 sum w^2 r, 6 sum w^2,
7 sum dr, 8 sum dr^2, 9 accepted rows, 10 sum accepted r, 11 sum accepted r^2
(``w``: importance weight, ``r``: reward, ``dr``: the row's doubly robust term).
"""

from __future__ import annotations

from onlinekit._numba import njit

N_SUMS = 12


@njit
def scan(items, pos, rewards, props, slate, qn, qc, sums, start):
    """Rows ``start, start + 1, ...`` under the fixed ``slate`` (item per 0-based slot, -1:
    none) until the first accepted row (the policy's item for the row's slot is the logged
    item), which is scanned too; returns its index, or ``len(items)`` when none is accepted.

    The reward model of the doubly robust estimator is the running mean reward of each
    (item, slot) over the rows *before* the current one, shrunk towards the running mean of
    all rows: ``(qc + m) / (qn + 1)``; it is then updated with the row.
    """
    n = items.shape[0]
    m = slate.shape[0]
    for i in range(start, n):
        a = items[i]
        k = pos[i]
        r = rewards[i]
        target = slate[k] if k < m else -1
        gm = sums[1] / sums[0] if sums[0] > 0.0 else 0.0
        q_log = (qc[a, k] + gm) / (qn[a, k] + 1.0)
        q_tgt = (qc[target, k] + gm) / (qn[target, k] + 1.0) if target >= 0 else 0.0
        w = 1.0 / props[i] if target == a else 0.0
        x = w * r
        sums[0] += 1.0
        sums[1] += r
        sums[2] += x
        sums[3] += x * x
        sums[4] += w
        sums[5] += w * x
        sums[6] += w * w
        d = q_tgt + w * (r - q_log)
        sums[7] += d
        sums[8] += d * d
        qn[a, k] += 1.0
        qc[a, k] += r
        if target == a:
            sums[9] += 1.0
            sums[10] += r
            sums[11] += r * r
            return i
    return n
