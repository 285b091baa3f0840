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
    ablate_always_on: bool = True
    meta_lr: float = 0.0
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


def _is_paper_setting(config: Config, results: list[dict]) -> bool:
    return (config.n == 100_000 and config.d == 20 and config.data_seed == 21 and config.paper_data
            and config.paper_seeds and config.always_on and config.prediction == "expected"
            and config.meta == "adanormalhedge" and config.l2 == 1.0 and not config.meta_lr and len(results) == 10)


def published_tolerance(value: float) -> float:
    """Allowed distance to a published synthetic end regret: ``0.1 + 0.005 |value|`` (the
    official notebook re-runs differ at the 1e-2 level; the regrets reach 186)."""
    return 0.1 + 0.005 * abs(value)


def compare(config: Config, results: list[dict]) -> list:
    """Rows of ``comparison.md``.

    * per label rule and group, both methods' end regrets against ``tables/synth_y*.csv``
      (``|ours - paper| <= 0.1 + 0.005 |paper|``), checked in the paper's setting (100,000
      points, ten paper shuffles, ``always_on``, expected loss, AdaNormalHedge); on any other
      configuration (``--quick``) the published numbers are still read and checked for their
      *sign pattern*: where the paper's groupwise regret is below its baseline regret, ours is
      too (paired t-test across seeds, p < 0.05; < 3 seeds: lower in every seed);
    * the meta-regret bound per rule and group (:func:`~._groupwise_common.meta_rows`);
    * the ablation without the ``always_on`` expert (``info``).
    """
    paper = _is_paper_setting(config, results)
    keys = ("rule", "group")
    label = "{0[0]}/{0[1]}".format
    groups = ["circle", "square", "triangle", "green", "red"] + (["always_on"] if config.always_on else [])
    rows = []
    for rule in config.rules:
        pub = {(rule, g): v for g, v in common.PUBLISHED_SYNTHETIC[rule].items() if g in groups}
        rows += common.published_rows(results, pub, keys=keys, label=label, tol=published_tolerance, active=paper,
                                      note="" if paper else "values only comparable in the paper's setting")
        rows += common.ordering_rows(results, [(rule, g) for g in groups], keys=keys, label=label, published=pub)
    for rule in config.rules:
        rows += common.meta_rows(results, [(rule, g) for g in groups], keys=keys, label=label)
        rows += common.ablation_rows(results, [(rule, g) for g in groups], keys=keys, label=label)
    return rows


def check(config: Config, results: list[dict]) -> list[str]:
    """The failed rows of :func:`compare`."""
    from onlinekit.experiments.comparison import failures

    return failures(compare(config, results))
