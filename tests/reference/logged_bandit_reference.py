"""Slow per-row reference of the logged-bandit protocol (pure Python, used only by tests).

Every row asks the policy for its list afresh (no caching), keeps the reward model in a dict,
and computes each estimator and its standard error from the stored per-row terms with the
textbook formulas (``statistics`` module), not from running sums.
"""

from __future__ import annotations

import math
import statistics


def _se(xs):
    return statistics.stdev(xs) / math.sqrt(len(xs)) if len(xs) > 1 else math.nan


def replay(policy, items, positions, rewards, props):
    """Per-row replay of ``policy`` (1-based ``positions``); returns the summary dict."""
    shown, clicks = {}, {}
    total_r, n = 0.0, 0
    x, w_all, d, acc = [], [], [], []
    for a, p, r, mu in zip(items, positions, rewards, props, strict=True):
        a, k, r, mu = int(a), int(p) - 1, float(r), float(mu)
        lst = [int(b) for b in policy.act((0, 0))]
        target = lst[k] if k < len(lst) else None
        g = total_r / n if n else 0.0

        def q(b):
            return (clicks.get((b, k), 0.0) + g) / (shown.get((b, k), 0.0) + 1.0)

        w = 1.0 / mu if target == a else 0.0
        x.append(w * r)
        w_all.append(w)
        d.append((q(target) if target is not None else 0.0) + w * (r - q(a)))
        shown[(a, k)] = shown.get((a, k), 0.0) + 1.0
        clicks[(a, k)] = clicks.get((a, k), 0.0) + r
        total_r += r
        n += 1
        if target == a:
            acc.append(r)
            policy.update((0, 0), [a], (0 if r == 1.0 else None, (0, 0)))
    out = {"replay_value": statistics.fmean(acc) if acc else math.nan, "replay_value_stderr": _se(acc),
           "ips_value": statistics.fmean(x), "ips_value_stderr": _se(x),
           "dr_value": statistics.fmean(d), "dr_value_stderr": _se(d),
           "accepted": len(acc), "logged_value": total_r / n}
    sw = math.fsum(w_all)
    v = math.fsum(x) / sw
    out["snips_value"] = v
    out["snips_value_stderr"] = math.sqrt(math.fsum((wi * (float(ri) - v)) ** 2
                                                    for wi, ri in zip(w_all, rewards, strict=True))) / sw
    return out
