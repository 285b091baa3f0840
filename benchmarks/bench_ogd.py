"""OGD (logistic) vs River's LogisticRegression, measured in the same run.

* block replay: ``engine.replay`` of an in-memory 1M x 20 stream (``predict_learn_many``) vs
  River's ``predict_proba_one`` + ``learn_one`` over dicts (timed on the first 100k events);
* per-event API: ``predict_one`` + ``learn_one`` from Python with a 1-d array, vs River;
* end to end from a CSV file: parse + learn of a 1M-row, 20-feature CSV through
  ``onlinekit replay``'s machinery (``CSVSource`` -> ``Stream`` -> ``replay``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def _data(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    y = (X @ w + 0.5 * rng.normal(size=n) > 0).astype(np.float64)
    return X, y


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(quick: bool = False) -> dict:
    from river import linear_model, optim

    from onlinekit.engine import replay
    from onlinekit.metrics import Accuracy
    from onlinekit.oco import OGD
    from onlinekit.streams import ArraySource, Schema, Stream

    n, d = (100_000, 20) if quick else (1_000_000, 20)
    n_river = min(n, 20_000 if quick else 100_000)
    n_event = 20_000 if quick else 100_000
    X, y = _data(n, d)

    # warm the JIT
    replay(OGD(loss="logistic", lr=0.01), (X[:100], y[:100]), metrics=[Accuracy()])

    def ours_block():
        st = Stream(ArraySource(X=X, y=y), Schema(target="y"), block_size=65536)
        replay(OGD(loss="logistic", lr=0.01), st, metrics=[Accuracy()], record_every=n)

    t_ours = _best(ours_block)
    dicts = [dict(zip(range(d), row, strict=True)) for row in X[:n_river].tolist()]
    labels = [bool(v) for v in y[:n_river]]

    def river_loop():
        m = linear_model.LogisticRegression(optimizer=optim.SGD(0.01))
        for x, t in zip(dicts, labels, strict=True):
            m.predict_proba_one(x)
            m.learn_one(x, t)

    t_river = _best(river_loop, repeat=1)
    ours_eps = n / t_ours
    river_eps = n_river / t_river

    # inputs materialised up front for both sides: River gets dicts and bools, we get rows
    rows = list(X[:n_event])
    targets = y[:n_event].tolist()

    def ours_per_event():
        m = OGD(loss="logistic", lr=0.01)
        for x, t in zip(rows, targets, strict=True):
            m.predict_one(x)
            m.learn_one(x, t)

    ours_per_event()  # warm
    t_pe = _best(ours_per_event)
    river_pe_us = t_river / n_river * 1e6  # river_loop: predict_proba_one + learn_one
    ours_pe_us = t_pe / n_event * 1e6

    # end to end from CSV
    from onlinekit.streams.csv import CSVSource

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.csv"
        header = ",".join([f"x{j}" for j in range(d)] + ["y"])
        with open(path, "w") as fh:
            fh.write(header + "\n")
            block = 100_000
            for lo in range(0, n, block):
                chunk = np.column_stack([X[lo:lo + block], y[lo:lo + block]])
                np.savetxt(fh, chunk, fmt="%.6f", delimiter=",")
        size_mb = path.stat().st_size / 2**20

        def csv_replay():
            st = Stream(CSVSource(path), Schema(target="y"), block_size=65536)
            replay(OGD(loss="logistic", lr=0.01), st, metrics=[Accuracy()], record_every=n)

        csv_replay()  # warm the parser kernels
        t_csv = _best(csv_replay, repeat=2)

    return {
        "n_events": n,
        "n_features": d,
        "block_replay_events_per_s": ours_eps,
        "river_events_per_s": river_eps,
        "block_vs_river_ratio": ours_eps / river_eps,
        "target_block_vs_river_ratio": 70,
        "per_event_us_ours": ours_pe_us,
        "per_event_us_river": river_pe_us,
        "per_event_speedup_vs_river": river_pe_us / ours_pe_us,
        "target_per_event_speedup": 3,
        "csv_file_mb": size_mb,
        "csv_end_to_end_events_per_s": n / t_csv,
        "target_csv_events_per_s": 1_000_000,
    }
