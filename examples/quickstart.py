"""Embedding onlinekit: learn from events one at a time, save and restore state, replay a file.

Run: ``python examples/quickstart.py [--quick]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from onlinekit import load_state, save_state
from onlinekit.engine import replay
from onlinekit.metrics import CumulativeLoss, Regret
from onlinekit.oco import OGD
from onlinekit.streams import Schema, Stream
from onlinekit.streams.csv import CSVSource


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes")
    args = ap.parse_args(argv)
    n = 2_000 if args.quick else 200_000
    rng = np.random.default_rng(0)
    w_true = np.array([1.5, -2.0, 0.5])
    X = rng.normal(size=(n, 3))
    y = X @ w_true + 0.1 * rng.normal(size=n)

    # 1. one event at a time (River conventions): predict, then learn
    model = OGD(lr=0.05)
    for i in range(n // 2):
        model.predict_one({"a": X[i, 0], "b": X[i, 1], "c": X[i, 2]})
        model.learn_one({"a": X[i, 0], "b": X[i, 1], "c": X[i, 2]}, y[i])
    print("weights after", n // 2, "events:", np.round(model.w_, 3), "true:", w_true)

    with tempfile.TemporaryDirectory() as tmp:
        # 2. state survives a restart exactly (npz + JSON, no pickle)
        path = Path(tmp) / "model.npz"
        save_state(model, path)
        restored, _ = load_state(path)
        x = {"a": 0.3, "b": -0.1, "c": 2.0}
        assert restored.predict_one(x) == model.predict_one(x)
        print("restored model predicts identically:", restored.predict_one(x))

        # 3. replay a logged CSV with metrics and regret against the best fixed predictor
        csv = Path(tmp) / "events.csv"
        np.savetxt(csv, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="", fmt="%.8f")
        stream = Stream(CSVSource(csv), Schema(target="y"))
        report = replay(OGD(lr=0.05), stream, metrics=[CumulativeLoss(), Regret()], record_every=n // 4)
        print(report.format_table())


if __name__ == "__main__":
    main()
