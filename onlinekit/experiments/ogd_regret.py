"""OGD regret on a synthetic linear-regression stream (the runner's reference experiment).

Projected OGD on the squared loss over an L2 ball, with a constant step and with the
``lr / sqrt(t)`` schedule, against the best fixed predictor in the same ball in hindsight
(:func:`onlinekit.solvers.hindsight.least_squares`). The claim checked: regret grows
sublinearly, i.e. average regret ``R_T / T`` falls as ``T`` grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAME = "ogd-regret"


@dataclass(frozen=True)
class Config:
    """Experiment settings (our choice; no paper behind this one)."""

    horizon: int = 20_000
    d: int = 10
    noise: float = 0.5
    radius: float = 2.0
    lr: float = 0.05
    n_points: int = 20
    n_seeds: int = 10

    @classmethod
    def quick(cls) -> Config:
        return cls(horizon=2_000, d=5, n_points=10, n_seeds=3)


def run(config: Config, seed: int) -> dict:
    """One seed: regret curves of OGD (constant and 1/sqrt(t) steps)."""
    from onlinekit.engine import replay
    from onlinekit.metrics import Regret
    from onlinekit.oco import OGD
    from onlinekit.streams import Schema, Stream
    from onlinekit.streams.synthetic import LinearRegression

    src = LinearRegression(n=config.horizon, d=config.d, noise=config.noise, seed=seed % (2**63))
    record = max(1, config.horizon // config.n_points)
    rows, series = [], {}
    x = None
    for schedule in ("constant", "sqrt"):
        model = OGD(lr=config.lr, schedule=schedule, radius=config.radius, intercept=False)
        stream = Stream(src, Schema(target="y"), block_size=4096)
        rep = replay(model, stream, metrics=[Regret("squared", intercept=False, radius=config.radius)],
                     record_every=record)
        x = np.asarray(rep.series["events"])
        reg = np.asarray(rep.series["regret"])
        label = f"ogd-{schedule}"
        series[label] = reg
        rows.append({"method": label, "regret": float(reg[-1]), "avg_regret": float(reg[-1] / x[-1]),
                     "avg_regret_first_decile": float(reg[0] / x[0])})
    return {"rows": rows, "curves": {"regret": {"x": x, "series": series, "xlabel": "t", "ylabel": "regret R_t"}}}


def check(config: Config, results: list[dict]) -> list[str]:
    """Average regret must fall from the first record point to the end, for both schedules."""
    failed = []
    for r in results:
        for row in r["rows"]:
            if not row["avg_regret"] < row["avg_regret_first_decile"]:
                failed.append(f"{row['method']}: average regret did not decrease")
    return failed
