"""Paper-versus-ours comparison rows, and the statistics the verdicts rest on.

An experiment module may define ``compare(config, results) -> list[Claim]``: one row per
checkable figure or claim of its paper. The runner writes them to ``comparison.md`` and
``comparison.csv`` beside the table, and an experiment's ``check`` usually returns
:func:`failures` of the same rows, so that the verdicts and the pass/fail of a run cannot
disagree.

A claim with a published number compares against it with a stated tolerance; a claim the
paper makes without a number gets a stated test: a fitted log-log slope with a bootstrap
interval over seeds (:func:`slope_interval`), or an ordering with a paired test across seeds
(:func:`paired_order`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["Claim", "failures", "write_comparison", "slope_interval", "paired_order", "mean_spread"]

#: Verdicts a row may carry. ``differs`` is an honest disagreement with the paper, explained
#: in ``note``; it is not a failure of the run (the check fails only on ``fail``).
VERDICTS = ("pass", "fail", "differs", "info")


@dataclass(frozen=True)
class Claim:
    """One row of ``comparison.md``.

    Attributes
    ----------
    claim
        What is checked, in words (e.g. "tree counter MSE / closed form at T = 2^16").
    source
        Where the paper's figure comes from ("Table 2", "Fig. 1", "Thm 3.1"), or ``"-"``.
    paper
        The paper's figure or statement, as text ("0.0621", "regret O(sqrt T)").
    ours
        Our figure, as text, with its spread over seeds ("0.0619 +/- 0.0004 (5 seeds)").
    tolerance
        The test applied ("|ours - paper| <= 0.002", "slope 95% CI within [0.4, 0.6]").
    verdict
        One of :data:`VERDICTS`.
    note
        Cause of a disagreement, or anything a reader needs.
    """

    claim: str
    source: str
    paper: str
    ours: str
    tolerance: str
    verdict: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def failures(rows: Sequence[Claim]) -> list[str]:
    """Failure messages (for an experiment's ``check``) of the rows whose verdict is ``fail``.

    >>> failures([Claim("a", "-", "1", "1.0", "exact", "pass"), Claim("b", "T1", "2", "3", "+/-0.1", "fail")])
    ['b: ours 3, paper 2 (T1; test: +/-0.1)']
    """
    return [f"{r.claim}: ours {r.ours}, paper {r.paper} ({r.source}; test: {r.tolerance})"
            for r in rows if r.verdict == "fail"]


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_comparison(rows: Sequence[Claim], out: Path, stem: str = "comparison") -> list[Path]:
    """Write ``rows`` to ``out/stem.md`` and ``out/stem.csv``; returns the paths."""
    out = Path(out)
    fields = list(Claim.__dataclass_fields__)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(asdict(r))
    p_csv = out / f"{stem}.csv"
    p_csv.write_text(buf.getvalue())
    lines = ["| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
    lines += ["| " + " | ".join(_md_cell(getattr(r, f)) for f in fields) + " |" for r in rows]
    counts = {v: sum(r.verdict == v for r in rows) for v in VERDICTS}
    head = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    p_md = out / f"{stem}.md"
    p_md.write_text(f"# Paper vs ours\n\n{head}\n\n" + "\n".join(lines) + "\n")
    return [p_md, p_csv]


def mean_spread(values: Sequence[float], digits: int = 4) -> str:
    """``"m +/- s (n seeds)"`` with the sample standard deviation.

    >>> mean_spread([1.0, 2.0, 3.0], digits=2)
    '2.00 +/- 1.00 (3 seeds)'
    """
    a = np.asarray(values, dtype=float)
    s = float(a.std(ddof=1)) if len(a) > 1 else float("nan")
    return f"{a.mean():.{digits}f} +/- {s:.{digits}f} ({len(a)} seed{'s' if len(a) != 1 else ''})"


def slope_interval(x: Sequence[float], y: np.ndarray, *, seed: int = 0, n_boot: int = 2000,
                   level: float = 0.95) -> tuple[float, float, float]:
    """Log-log least-squares slope of ``y`` on ``x`` and its bootstrap interval over seeds.

    ``y`` is ``(n_seeds, len(x))`` (one curve per seed, all positive). The slope is fitted to
    the mean curve; the interval resamples seeds with replacement (``n_boot`` times, from
    ``seed``) and takes the central ``level`` quantiles of the refitted slopes.

    >>> x = np.array([1e2, 1e3, 1e4, 1e5])
    >>> y = np.vstack([c * np.sqrt(x) for c in (0.9, 1.0, 1.1)])
    >>> [round(v, 6) for v in slope_interval(x, y)]
    [0.5, 0.5, 0.5]
    """
    lx = np.log(np.asarray(x, dtype=float))
    y = np.atleast_2d(np.asarray(y, dtype=float))
    if np.any(y <= 0) or not np.all(np.isfinite(y)):
        raise ValueError("slope_interval needs positive, finite values")

    def fit(curves: np.ndarray) -> float:
        return float(np.polyfit(lx, np.log(curves.mean(axis=0)), 1)[0])

    est = fit(y)
    rng = np.random.default_rng(seed)
    n = y.shape[0]
    boots = np.array([fit(y[rng.integers(0, n, n)]) for _ in range(n_boot)]) if n > 1 else np.array([est])
    a = (1.0 - level) / 2.0
    return est, float(np.quantile(boots, a)), float(np.quantile(boots, 1.0 - a))


def paired_order(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean of ``a - b`` across seeds and the one-sided p-value of "a < b" (paired t-test).

    Returns ``(mean_difference, p_value)``; a small p-value supports ``a < b``. With one seed
    or zero spread the p-value is 0 or 1 by the sign of the difference.

    >>> d, p = paired_order([1.0, 2.0, 3.0, 4.0], [2.0, 3.1, 3.9, 5.2])
    >>> round(d, 3), p < 0.01
    (-1.05, True)
    """
    da = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    m = float(da.mean())
    if len(da) < 2 or float(da.std(ddof=1)) == 0.0:
        return m, 0.0 if m < 0 else 1.0
    from scipy import stats

    t = m / (float(da.std(ddof=1)) / math.sqrt(len(da)))
    return m, float(stats.t.cdf(t, df=len(da) - 1))
