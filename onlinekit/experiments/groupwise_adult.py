"""Groupwise regret on UCI Adult (substitute for the paper's Adult reconstruction).

The paper (Acharya et al. 2024) used the continuous-income Adult reconstruction of Ding et
al. (2021), which is not available here; this experiment runs the same pipeline on UCI
Adult (``adult.data`` + ``adult.test``, 48,842 rows) with the *binary* target
``income > 50K`` (0/1), so its numbers are not comparable with the paper's table -- only its
qualitative claim is checked: the groupwise learner's regret is below the baseline's on
every group with at least 1,000 events.

Groups (12 + ``always_on``): age young <= 35 / middle 36-50 / old > 50; education
HighSchool&less (``education-num`` <= 9) / College&more (>= 10); Male / Female; race White,
Asian-Pac-Islander, Amer-Indian-Eskimo, Other, Black. Features: min-max ``hours-per-week``,
``age``, ``capital-gain``, ``capital-loss``, ``education-num``; one-hot ``workclass``,
``marital-status``, ``relationship``, ``native-country``, ``occupation``, ``race``,
``sex`` (``?`` is a category); the age and education indicators. ``education`` and
``fnlwgt`` (absent from the reconstruction) are dropped.

Run: ``onlinekit experiment groupwise-adult`` (``--quick``: first 2,000 rows, 2 shuffles, 5 checkpoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from onlinekit.experiments import _groupwise_common as common

GROUPS = ["young", "middle", "old", "HighSchool&less", "College&more", "Male", "Female",
          "White", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other", "Black"]
MIN_ROWS_FOR_CLAIM = 1000


@dataclass(frozen=True)
class Config:
    """``data``: directory with ``adult.data`` / ``adult.test`` ('' = the ``adult`` data set);
    ``n_rows``: use only the first rows (0 = all)."""

    data: str = ""
    n_rows: int = 0
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
        return cls(n_rows=2000, n_seeds=2, k=5)


def data_path(config: Config) -> Path:
    """``config.data``, else the ``adult`` data set (``MissingDataError`` says how to fetch it)."""
    if config.data:
        return Path(config.data)
    from onlinekit.data import resolve

    return resolve("adult")


@lru_cache(maxsize=4)
def _prepared(path: str, n_rows: int):
    from onlinekit.streams.groupwise_data import load_adult

    t = load_adult(path)
    if n_rows:
        t = {k: v[:n_rows] for k, v in t.items()}
    age, edu = t["age"], t["education-num"]
    G = np.column_stack([
        age <= 35, (age > 35) & (age <= 50), age > 50,
        edu <= 9, edu >= 10,
        t["sex"] == "Male", t["sex"] == "Female",
        *[t["race"] == r for r in GROUPS[7:]],
    ])
    cols = [common.minmax(t[c]) for c in ("hours-per-week", "age", "capital-gain", "capital-loss", "education-num")]
    for c in ("workclass", "marital-status", "relationship", "native-country", "occupation", "race", "sex"):
        cols.append(common.one_hot(t[c], c)[0])
    cols.append(G[:, :5].astype(np.float64))
    X = np.column_stack(cols)
    y = t["income"].astype(np.float64)
    return X, y, G


def prepare(config: Config):
    """``(X, y, G)``: features, 0/1 target, membership of the 12 groups."""
    return _prepared(str(data_path(config)), int(config.n_rows))


def run(config: Config, seed: int) -> dict:
    X, y, G = prepare(config)
    return common.evaluate(X, y, G, GROUPS, seed=seed, config=config)


def check(config: Config, results: list[dict]) -> list[str]:
    """Groupwise regret below the baseline's on every group with >= 1,000 events.

    Checked on the full data only (``n_rows=0``): on a short prefix the meta-algorithm has
    not yet paid off its exploration.
    """
    failures = []
    if config.n_rows:
        return failures
    for (g,), r in common.mean_table(results).items():
        if r["n"] >= MIN_ROWS_FOR_CLAIM and not r["regret_groupwise"] < r["regret_baseline"]:
            failures.append(f"{g} (n={r['n']:.0f}): groupwise regret {r['regret_groupwise']:.2f} not below "
                            f"baseline {r['regret_baseline']:.2f}")
    return failures


def plot(config: Config, results: list[dict], out_dir) -> list[Path]:
    """Sex and race groups against the fraction of their subsequences."""
    out = Path(out_dir)
    paths = [
        common.plot_fraction(results, ["Male", "Female", "always_on"], "Adult (UCI, binary): sex",
                             out / "adult-sex.png"),
        common.plot_fraction(results, ["young", "middle", "old"], "Adult (UCI, binary): age", out / "adult-age.png"),
    ]
    return [p for p in paths if p is not None]
