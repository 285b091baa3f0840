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


def evaluate(X, y, G, group_names, *, seed: int, config) -> dict:
    """One run: shuffle, baseline ridge, groupwise learner, groupwise regret -> rows + curves.

    ``config`` needs ``always_on``, ``prediction``, ``meta``, ``l2``, ``k``,
    ``paper_compat`` and ``paper_seeds``.
    """
    from onlinekit.experts import GroupwiseRegressor, OnlineRidge
    from onlinekit.experts.groupwise_metrics import groupwise_regret

    n = X.shape[0]
    perm = permutation(n, seed, config.paper_seeds)
    Xs, ys, Gs = X[perm], y[perm], G[perm]
    base = OnlineRidge(l2=config.l2)
    pb = base.predict_learn_many(Xs, ys)
    loss_b = (pb - ys) ** 2
    model = GroupwiseRegressor(base="online-ridge", base_params={"l2": config.l2}, groups=list(group_names),
                               meta=config.meta, always_on=config.always_on, prediction=config.prediction)
    _, loss_a = model.predict_learn_many(Xs, ys, groups=Gs, return_loss=True)
    Gm = np.hstack([Gs, np.ones((n, 1), dtype=bool)])
    names = list(group_names) + ["always_on"]
    res = groupwise_regret({"baseline": loss_b, "groupwise": loss_a}, Gm, Xs, ys, group_names=names,
                           k=config.k, paper_compat=config.paper_compat)
    rows, curves = [], {}
    for g in names:
        r = res[g]
        if r["n"] == 0:
            continue
        cb, ca = float(r["cumloss"]["baseline"][-1]), float(r["cumloss"]["groupwise"][-1])
        rows.append({
            "group": g,
            "n": int(r["n"]),
            "regret_baseline": float(r["regret"]["baseline"][-1]),
            "regret_groupwise": float(r["regret"]["groupwise"][-1]),
            "hindsight": float(r["hindsight"][-1]),
            "cumloss_baseline": cb,
            "cumloss_groupwise": ca,
            "ratio": ca / cb if cb > 0 else float("nan"),
        })
        curves[f"regret_{g}"] = {
            "x": r["positions"] + 1,
            "series": {"baseline": r["regret"]["baseline"], "groupwise": r["regret"]["groupwise"]},
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
