"""Shared code of the groupwise-regret experiments (Acharya et al. 2024 reproduction).

Each run shuffles the events, then replays them through

* the *baseline*: one online ridge (``l2 = 1``) over every event, with the same features
  (which include the group indicators), and
* the *groupwise* learner: :class:`onlinekit.experts.GroupwiseRegressor` (one ridge per
  group + ``always_on``, AdaNormalHedge, expected loss),

and reports each group's end-of-subsequence regret against the best linear fit in
hindsight on that group (:func:`onlinekit.experts.groupwise_metrics.groupwise_regret`).

Shuffles: the paper used ten seeds, shuffling with pandas ``sample(frac=1,
random_state=s)``, which is ``numpy.random.RandomState(s).permutation(n)``. A run whose seed
is one of those ten, or the ``i``-th seed the experiment runner derives from its default
root seed 0 (:func:`onlinekit.base.spawn_seeds`), uses the paper's ``i``-th shuffle when
``paper_seeds`` is on; any other seed draws its own permutation from
``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from onlinekit.base import spawn_seeds

PAPER_SEEDS = (473, 503, 623, 550, 692, 989, 617, 458, 301, 205)

#: ``tables/medical.csv`` of the official code: group -> (n, regret baseline, regret ANH,
#: hindsight SSE), means over the ten shuffles.
PUBLISHED_MEDICAL = {
    "young": (574, 0.5466, -1.5833, 5.4042),
    "middle": (408, 0.3759, -0.9721, 3.3359),
    "old": (356, 0.4374, -0.6428, 3.1308),
    "underweight": (20, 0.1566, 0.1119, 0.0270),
    "healthyweight": (225, 1.5882, 0.3644, 1.0043),
    "overweight": (386, 1.5472, 0.4315, 1.8367),
    "obese": (707, 3.4200, 1.2462, 3.6509),
    "smoker": (274, 5.0646, 1.4736, 0.9002),
    "non-smoker": (1064, 1.6993, 0.7322, 5.5667),
    "male": (676, 0.6472, -1.7494, 6.1122),
    "female": (662, 0.5927, -1.5687, 5.8787),
    "always_on": (1338, 1.1291, -3.4289, 12.1017),
}

#: ``tables/adultincome.csv`` (the Adult *reconstruction*, continuous income): group -> (n,
#: regret baseline, regret ANH, hindsight SSE), means over the ten shuffles.
PUBLISHED_ADULT = {
    "young": (22792, 37.40, 14.01, 421.9),
    "middle": (16881, 20.11, 14.93, 608.1),
    "old": (9858, 22.99, 14.81, 414.6),
    "HighSchool&less": (22584, 33.02, 14.38, 499.6),
    "College&more": (26947, 28.67, 10.55, 963.9),
    "Male": (33174, 20.95, -2.17, 1171.1),
    "Female": (16357, 18.82, 5.19, 314.3),
    "White": (42441, 14.67, -17.42, 1325.5),
    "Asian-Pac-Islander": (1519, 5.82, 4.66, 55.1),
    "Amer-Indian-Eskimo": (471, 3.55, 3.48, 9.0),
    "Other": (406, 3.28, 3.21, 7.5),
    "Black": (4694, 6.16, 2.79, 94.6),
    "always_on": (49531, 18.25, -18.51, 1506.9),
}

#: ``tables/synth_y*.csv``: rule -> group -> (regret baseline, regret ANH).
PUBLISHED_SYNTHETIC = {
    "mean": {"circle": (15.25, 0.73), "square": (15.43, 0.63), "triangle": (12.13, 0.76),
             "green": (10.02, -14.13), "red": (14.75, -1.80), "always_on": (0.76, -39.93)},
    "min": {"circle": (21.62, 0.81), "square": (64.21, 0.94), "triangle": (12.47, 0.57),
            "green": (14.55, -43.10), "red": (21.64, -16.69), "always_on": (1.04, -94.94)},
    "max": {"circle": (22.78, 0.91), "square": (17.86, 0.52), "triangle": (29.51, 0.87),
            "green": (8.65, -23.25), "red": (12.48, -23.46), "always_on": (0.86, -66.98)},
    "dperm": {"circle": (28.84, -38.66), "square": (92.10, -0.33), "triangle": (12.03, -15.11),
              "green": (75.89, 1.27), "red": (112.49, 0.05), "always_on": (1.26, -185.81)},
}


def paper_seed_index(seed: int) -> int | None:
    """Index of the paper shuffle that runner seed ``seed`` stands for (or ``None``)."""
    if seed in PAPER_SEEDS:
        return PAPER_SEEDS.index(seed)
    runner = spawn_seeds(0, len(PAPER_SEEDS))
    return runner.index(seed) if seed in runner else None


def permutation(n: int, seed: int, paper_seeds: bool = True) -> np.ndarray:
    """The event order of one run (see the module docstring)."""
    idx = paper_seed_index(seed) if paper_seeds else None
    if idx is not None:
        return np.random.RandomState(PAPER_SEEDS[idx]).permutation(n)
    return np.random.default_rng(seed).permutation(n)


def minmax(v: np.ndarray) -> np.ndarray:
    """Min-max scaling to ``[0, 1]`` (constant columns become 0)."""
    v = np.asarray(v, dtype=np.float64)
    lo, hi = v.min(), v.max()
    return (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)


def one_hot(values: np.ndarray, prefix: str) -> tuple[np.ndarray, list[str]]:
    """Indicator columns of the sorted distinct values (pandas ``get_dummies`` order)."""
    cats = sorted(set(values.tolist()))
    M = np.column_stack([values == c for c in cats]).astype(np.float64)
    return M, [f"{prefix}_{c}" for c in cats]


def meta_bound(cum_abs: float, n_experts: int) -> float:
    """AdaNormalHedge's regret bound to one expert with a uniform prior over ``N`` experts,
    ``sqrt(3 C (ln N + ln B))`` with ``B = 2 (1 + ln(1 + C))`` and ``C = sum_t |l_hat_t - l_{t,g}|``
    over the expert's awake rounds (Luo & Schapire 2015, Thm. 1 form; their ``ln B`` term is
    ``O(ln ln C)``), plus 1 for the first round.

    >>> round(meta_bound(100.0, 6), 3)
    36.54
    """
    c = max(float(cum_abs), 0.0)
    return math.sqrt(3.0 * c * (math.log(n_experts) + math.log(2.0 * (1.0 + math.log1p(c))))) + 1.0


def _groupwise(config, Xs, ys, Gs, group_names, always_on: bool):
    from onlinekit.experts import GroupwiseRegressor

    model = GroupwiseRegressor(base="online-ridge", base_params={"l2": config.l2}, groups=list(group_names),
                               meta=config.meta, always_on=always_on, prediction=config.prediction,
                               **({"meta_lr": config.meta_lr} if getattr(config, "meta_lr", None) else {}))
    return model.predict_learn_many(Xs, ys, groups=Gs, return_loss=True)[1]


def evaluate(X, y, G, group_names, *, seed: int, config) -> dict:
    """One run: shuffle, baseline ridge, groupwise learner, groupwise regret -> rows + curves.

    ``config`` needs ``always_on``, ``prediction``, ``meta``, ``l2``, ``k``,
    ``paper_compat`` and ``paper_seeds``; optional ``ablate_always_on`` (also run the
    groupwise learner without the ``always_on`` expert) and ``meta_lr``.

    Per group ``g`` (events ``T_g``), besides the end regrets: ``meta_regret`` =
    ``sum_{t in T_g} (l_hat_t - l_{t,g})``, the groupwise learner's loss minus that of ``g``'s
    own ridge expert (a ridge run on ``g``'s events alone, as the expert is), ``meta_cum_abs``
    = ``sum |l_hat_t - l_{t,g}|`` and ``meta_bound`` = :func:`meta_bound` of it: the
    reduction's guarantee (Acharya et al., Thm. 1: groupwise regret <= the expert's regret +
    the sleeping-experts meta-regret). The ``always_on`` group is reported only when the
    learner has that expert.
    """
    from threadpoolctl import threadpool_limits

    # the hindsight fits are ~(d x d) eigendecompositions with d ~ 20-110: one BLAS thread is as
    # fast on an idle machine, and tens of times faster on a shared one (no thread contention)
    with threadpool_limits(limits=1):
        return _evaluate(X, y, G, group_names, seed=seed, config=config)


def _evaluate(X, y, G, group_names, *, seed: int, config) -> dict:
    from onlinekit.experts import OnlineRidge
    from onlinekit.experts.groupwise_metrics import groupwise_regret

    n = X.shape[0]
    perm = permutation(n, seed, config.paper_seeds)
    Xs, ys, Gs = X[perm], y[perm], G[perm]
    base = OnlineRidge(l2=config.l2)
    pb = base.predict_learn_many(Xs, ys)
    loss_b = (pb - ys) ** 2
    loss_a = _groupwise(config, Xs, ys, Gs, group_names, config.always_on)
    losses = {"baseline": loss_b, "groupwise": loss_a}
    if config.always_on and getattr(config, "ablate_always_on", False):
        losses["groupwise_no_always_on"] = _groupwise(config, Xs, ys, Gs, group_names, False)
    Gm = np.hstack([Gs, np.ones((n, 1), dtype=bool)]) if config.always_on else Gs
    names = list(group_names) + (["always_on"] if config.always_on else [])
    n_experts = len(names)
    res = groupwise_regret(losses, Gm, Xs, ys, group_names=names, k=config.k, paper_compat=config.paper_compat)
    rows, curves = [], {}
    for j, g in enumerate(names):
        r = res[g]
        if r["n"] == 0:
            continue
        cb, ca = float(r["cumloss"]["baseline"][-1]), float(r["cumloss"]["groupwise"][-1])
        m = Gm[:, j]
        own = OnlineRidge(l2=config.l2).predict_learn_many(Xs[m], ys[m])
        diff = loss_a[m] - (own - ys[m]) ** 2
        cabs = float(np.abs(diff).sum())
        row = {
            "group": g,
            "n": int(r["n"]),
            "regret_baseline": float(r["regret"]["baseline"][-1]),
            "regret_groupwise": float(r["regret"]["groupwise"][-1]),
            "hindsight": float(r["hindsight"][-1]),
            "cumloss_baseline": cb,
            "cumloss_groupwise": ca,
            "ratio": ca / cb if cb > 0 else float("nan"),
            "meta_regret": float(diff.sum()),
            "meta_cum_abs": cabs,
            "meta_bound": meta_bound(cabs, n_experts),
        }
        if "groupwise_no_always_on" in losses:
            row["regret_groupwise_no_always_on"] = float(r["regret"]["groupwise_no_always_on"][-1])
        rows.append(row)
        curves[f"regret_{g}"] = {
            "x": r["positions"] + 1,
            "series": {k: r["regret"][k] for k in losses},
            "xlabel": f"events of group {g}",
            "ylabel": "regret vs best linear fit in hindsight",
        }
    return {"rows": rows, "curves": curves}


def mean_table(results: list[dict], key=("group",)) -> dict:
    """Mean of each numeric column over runs, keyed by the text columns in ``key``."""
    acc: dict = {}
    for r in results:
        for row in r.get("rows", []):
            k = tuple(row[c] for c in key)
            d = acc.setdefault(k, {})
            for c, v in row.items():
                if c not in key and isinstance(v, (int, float)):
                    d.setdefault(c, []).append(float(v))
    return {k: {c: float(np.mean(v)) for c, v in d.items()} for k, d in acc.items()}


def plot_fraction(results: list[dict], groups: list[str], title: str, path: Path) -> Path | None:
    """Mean regret curves against the fraction of each group's subsequence (intro figures)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for j, g in enumerate(groups):
        name = f"regret_{g}"
        specs = [r["curves"][name] for r in results if name in r.get("curves", {})]
        if not specs:
            continue
        x = np.asarray(specs[0]["x"], dtype=float)
        frac = x / x[-1]
        for series, style in (("baseline", "--"), ("groupwise", "-")):
            Y = np.vstack([np.asarray(s["series"][series], dtype=float) for s in specs])
            label = f"{g} ({'baseline' if series == 'baseline' else 'groupwise ANH'})"
            ax.plot(frac, Y.mean(axis=0), style, color=f"C{j}", label=label)
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("fraction of the group's subsequence")
    ax.set_ylabel("cumulative regret")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------
# comparison rows shared by the three groupwise experiments
# --------------------------------------------------------------------------------------------


def per_seed(results: list[dict], key: tuple, column: str, keys=("group",)) -> np.ndarray:
    """``column`` of the row ``key`` in every run (seed order; NaN where a run lacks it)."""
    out = []
    for r in results:
        vals = [row.get(column, float("nan")) for row in r.get("rows", [])
                if tuple(row.get(c) for c in keys) == tuple(key)]
        out.append(float(vals[0]) if vals else float("nan"))
    return np.asarray(out, dtype=float)


def order_test(a: np.ndarray, b: np.ndarray) -> tuple[bool, str, str]:
    """``a < b`` across seeds: with >= 3 seeds a one-sided paired t-test at 5 %
    (:func:`~onlinekit.experiments.comparison.paired_order`), with fewer ``a < b`` in every seed.
    Returns ``(holds, our figure, the test in words)``."""
    from onlinekit.experiments.comparison import paired_order

    d, p = paired_order(a, b)
    if len(a) >= 3:
        return bool(d < 0 and p < 0.05), f"diff {d:.3f}, p = {p:.2g}", "paired t-test across seeds, p < 0.05"
    return bool(np.all(a < b)), f"diff {d:.3f} ({len(a)} seeds)", "lower in every seed (< 3 seeds)"


def meta_rows(results: list[dict], groups: list, keys=("group",), label=lambda k: k[-1]) -> list:
    """One row per group: the reduction's guarantee (Thm. 1) on the meta layer, i.e. the
    groupwise learner's loss on ``g``'s events minus that of ``g``'s own ridge expert is at
    most AdaNormalHedge's bound (:func:`meta_bound`), in every seed."""
    from onlinekit.experiments.comparison import Claim, mean_spread

    rows = []
    for k in groups:
        mr = per_seed(results, k, "meta_regret", keys)
        mb = per_seed(results, k, "meta_bound", keys)
        if np.all(np.isnan(mr)):
            continue
        ok = bool(np.all(mr <= mb))
        rows.append(Claim(
            f"meta-regret to the {label(k)} expert on its events", "Thm. 1 (sleeping-experts reduction)",
            "<= AdaNormalHedge bound sqrt(3 C ln(N B)) + 1", f"{mean_spread(mr, 3)} (bound {np.mean(mb):.2f})",
            "meta_regret <= meta_bound in every seed", "pass" if ok else "fail"))
    return rows


def ordering_rows(results: list[dict], groups: list, keys=("group",), label=lambda k: k[-1], published=None,
                  min_n: int = 0, active: bool = True, note: str = "") -> list:
    """Per group: groupwise regret below the baseline's (paired test across seeds). Groups with
    fewer than ``min_n`` events, or all of them when ``active`` is false, get verdict ``info``."""
    from onlinekit.experiments.comparison import Claim, mean_spread

    rows = []
    for k in groups:
        a = per_seed(results, k, "regret_groupwise", keys)
        b = per_seed(results, k, "regret_baseline", keys)
        n = per_seed(results, k, "n", keys)
        if np.all(np.isnan(a)):
            continue
        ok, ours, test = order_test(a, b)
        pub = published.get(k) if published else None
        paper = f"{pub[0]:.2f} > {pub[1]:.2f}" if pub else "groupwise < baseline"
        checked = active and float(np.nanmean(n)) >= min_n
        verdict = ("pass" if ok else "fail") if checked else "info"
        why = note if not active else (f"fewer than {min_n} events" if not checked else "")
        rows.append(Claim(f"{label(k)}: groupwise regret < baseline regret", "tables/*.csv (official code)",
                          paper, f"baseline {mean_spread(b, 2)}; groupwise {mean_spread(a, 2)}; {ours}",
                          test, verdict, why))
    return rows


def published_rows(results: list[dict], published: dict, keys=("group",), label=lambda k: k[-1],
                   tol=lambda v: 0.05, active: bool = True, note: str = "") -> list:
    """Both methods' end regrets against the published means, ``|ours - paper| <= tol(paper)``
    (verdict ``info`` when the run is not the paper's setting)."""
    from onlinekit.experiments.comparison import Claim, mean_spread

    rows = []
    for k, (rb, ra) in published.items():
        for what, col, pv in (("baseline", "regret_baseline", rb), ("groupwise", "regret_groupwise", ra)):
            v = per_seed(results, k, col, keys)
            if np.all(np.isnan(v)):
                continue
            ok = abs(float(np.mean(v)) - pv) <= tol(pv)
            rows.append(Claim(f"{label(k)}: {what} end regret", "tables/*.csv (official code)", f"{pv:.4g}",
                              mean_spread(v, 3), f"|ours - paper| <= {tol(pv):.3g}",
                              ("pass" if ok else "fail") if active else "info", note))
    return rows


def ablation_rows(results: list[dict], groups: list, keys=("group",), label=lambda k: k[-1]) -> list:
    """The reviewers' ablation (no ``always_on`` expert): one ``info`` row per group when run."""
    from onlinekit.experiments.comparison import Claim, mean_spread

    rows = []
    for k in groups:
        a = per_seed(results, k, "regret_groupwise", keys)
        z = per_seed(results, k, "regret_groupwise_no_always_on", keys)
        b = per_seed(results, k, "regret_baseline", keys)
        if np.all(np.isnan(z)) or k[-1] == "always_on":
            continue
        rows.append(Claim(f"{label(k)}: groupwise without the always_on expert", "OpenReview R1 (not in the paper)",
                          "-", f"{mean_spread(z, 3)} (with it: {np.mean(a):.3f}; baseline {np.mean(b):.3f})",
                          "reported", "info"))
    return rows
