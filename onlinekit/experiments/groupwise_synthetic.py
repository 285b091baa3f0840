"""Groupwise regret on the paper's synthetic data (Acharya et al. 2024; official notebook).

100,000 points ``x ~ U[0, 1]^20``, each with one shape (circle / square / triangle, prob.
0.5 / 0.3 / 0.2) and one colour (green / red, 0.6 / 0.4); each group has its own linear
label, and the observed label combines the point's two group labels by ``mean``, ``min``,
``max`` or ``dperm`` (first group in a fixed random order), min-max scaled
(:func:`onlinekit.streams.groupwise_data.make_groupwise_synthetic`, generator seed 21,
bit-compatible with the official generator). Features: ``x`` plus the 5 group indicators;
experts: 5 groups + ``always_on``. Ten shuffles (the paper's seeds); every run covers the
four label rules (column ``rule``).

Run: ``onlinekit experiment groupwise-synthetic`` (``--quick``: 5,000 points, 2 shuffles).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from onlinekit.experiments import _groupwise_common as common

RULES = ("mean", "min", "max", "dperm")


@dataclass(frozen=True)
class Config:
    """The paper's setting (``data_seed=21``, ``paper_data=True``: the official draws)."""

    n: int = 100_000
    d: int = 20
    data_seed: int = 21
    paper_data: bool = True
    rules: tuple = RULES
    always_on: bool = True
    prediction: str = "expected"
    meta: str = "adanormalhedge"
    l2: float = 1.0
    k: int = 100
    paper_compat: bool = False
    paper_seeds: bool = True
    n_seeds: int = 10

    @classmethod
    def quick(cls) -> Config:
        return cls(n=5000, n_seeds=2, k=20)


@lru_cache(maxsize=2)
def _data(n: int, d: int, seed: int, paper: bool):
    from onlinekit.streams.groupwise_data import make_groupwise_synthetic

    data = make_groupwise_synthetic(n=n, d=d, seed=seed, paper_compat=paper)
    X = np.hstack([data["X"], data["groups"].astype(np.float64)])
    return X, data["groups"], data["group_names"], data["labels"]


def run(config: Config, seed: int) -> dict:
    X, G, names, labels = _data(config.n, config.d, config.data_seed, config.paper_data)
    rows, curves = [], {}
    for rule in config.rules:
        if rule not in RULES:
            raise ValueError(f"unknown label rule {rule!r}; known: {RULES}")
        res = common.evaluate(X, labels[rule], G, names, seed=seed, config=config)
        rows += [{"rule": rule, **r} for r in res["rows"]]
        curves.update({f"{rule}_{k}": v for k, v in res["curves"].items()})
    return {"rows": rows, "curves": curves}


def check(config: Config, results: list[dict]) -> list[str]:
    """The published claim: the groupwise regret is below the baseline's on every group."""
    failures = []
    for (rule, g), r in common.mean_table(results, key=("rule", "group")).items():
        if not r["regret_groupwise"] < r["regret_baseline"]:
            failures.append(f"{rule}/{g}: groupwise regret {r['regret_groupwise']:.2f} not below "
                            f"baseline {r['regret_baseline']:.2f}")
    return failures
