"""Log replay through the ``oco`` and ``release`` protocols: overhead over the learner alone.

Compared in the same run, on the same rows:

* ``oco``: 500,000 gradients (``synthetic:oco-gradients``, d = 10) replayed by
  ``replay_log`` through OMD on the unit ball (chunks, per-block validation, row-order sums,
  a comparator at every record point) against ``OMD.update_many`` on the same matrix;
* ``experts``: 200,000 rounds of 5 sleeping experts (``synthetic:expert-losses``, 30% asleep)
  replayed through AdaNormalHedge against ``AdaNormalHedge.update_many`` on the same matrices;
* ``release``: 2^20 counts (``synthetic:counts``) through ``replay_log`` with a seeded tree
  counter (exact running sums, errors, releases kept for ``releases.csv``) against
  ``TreeCounter.release_many`` on the same vector.

Rates are events per wall-clock second and per process CPU second (single-threaded); the
ratio protocol / learner within one run is the figure to read.
"""

from __future__ import annotations

import math
import time

import numpy as np


def _best(fn, repeat):
    best, best_cpu = math.inf, math.inf
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    return best, best_cpu


def run(quick: bool = False) -> dict:
    from onlinekit.experts import AdaNormalHedge
    from onlinekit.oco import OMD
    from onlinekit.privacy import TreeCounter
    from onlinekit.protocols import replay_log
    from onlinekit.streams import ArraySource
    from onlinekit.streams.protocol_logs import Counts, ExpertLosses, OCOGradients

    n, T, repeat = (50_000, 2**16, 1) if quick else (500_000, 2**20, 3)
    gen = OCOGradients(n=n, d=10, seed=0)
    cols = {c: np.concatenate([ch.columns[c] for ch in gen.chunks()]) for c in gen.column_names()}
    G = np.column_stack([cols[f"g{j}"] for j in range(10)])
    src = ArraySource(columns=cols)
    names = {"gradient": tuple(f"g{j}" for j in range(10))}
    replay_log(OMD(n_dims=10), ArraySource(columns={k: v[:100] for k, v in cols.items()}), names)  # JIT warm-up
    oco_p, oco_pc = _best(lambda: replay_log(OMD(n_dims=10), src, names), repeat)
    oco_l, oco_lc = _best(lambda: OMD(n_dims=10).update_many(G), repeat)

    n_exp = 20_000 if quick else 200_000
    egen = ExpertLosses(n=n_exp, k=5, sleep=0.3, seed=0)
    ecols = {c: np.concatenate([ch.columns[c] for ch in egen.chunks()]) for c in egen.column_names()}
    eroles = {"experts": tuple(f"e{j}" for j in range(5)), "awake": tuple(f"a{j}" for j in range(5))}
    EL = np.column_stack([ecols[c] for c in eroles["experts"]])
    EA = np.column_stack([ecols[c] for c in eroles["awake"]]) == 1
    esrc = ArraySource(columns=ecols)
    replay_log(AdaNormalHedge(n_experts=5), ArraySource(columns={k: v[:100] for k, v in ecols.items()}), eroles)
    exp_p, exp_pc = _best(lambda: replay_log(AdaNormalHedge(n_experts=5), esrc, eroles), repeat)
    exp_l, exp_lc = _best(lambda: AdaNormalHedge(n_experts=5).update_many(EL, EA), repeat)

    x = np.concatenate([ch.columns["count"] for ch in Counts(n=T, seed=0).chunks()])
    csrc = ArraySource(columns={"count": x})
    replay_log(TreeCounter(T=64, noise="seeded", seed=0), ArraySource(columns={"count": x[:64]}), {"value": "count"})
    rel_p, rel_pc = _best(lambda: replay_log(TreeCounter(T=T, noise="seeded", seed=0), csrc, {"value": "count"}),
                          repeat)
    rel_l, rel_lc = _best(lambda: TreeCounter(T=T, noise="seeded", seed=0).release_many(x), repeat)
    return {
        "oco_events": n,
        "oco_replay_events_per_s": n / oco_p,
        "oco_replay_events_per_cpu_s": n / oco_pc,
        "oco_update_many_events_per_s": n / oco_l,
        "oco_update_many_events_per_cpu_s": n / oco_lc,
        "oco_protocol_over_learner_cpu": oco_pc / oco_lc,
        "experts_events": n_exp,
        "experts_replay_events_per_s": n_exp / exp_p,
        "experts_replay_events_per_cpu_s": n_exp / exp_pc,
        "experts_update_many_events_per_s": n_exp / exp_l,
        "experts_update_many_events_per_cpu_s": n_exp / exp_lc,
        "experts_protocol_over_learner_cpu": exp_pc / exp_lc,
        "release_events": T,
        "release_replay_events_per_s": T / rel_p,
        "release_replay_events_per_cpu_s": T / rel_pc,
        "release_many_events_per_s": T / rel_l,
        "release_many_events_per_cpu_s": T / rel_lc,
        "release_protocol_over_learner_cpu": rel_pc / rel_lc,
    }
