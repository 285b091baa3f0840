"""Aranyani on UCI Adult: accuracy vs demographic parity over a lambda grid, with baselines.

Reproduces the Adult panel of Fig. 2 of Basu Roy Chowdhury et al. (ICLR 2024) in the
prequential protocol of the official code: the stream in file order, batch size 1,
predict then update, cumulative accuracy and DP gap ``|P(yhat=1 | male) - P(yhat=1 | female)|``
over the whole stream. The paper ran one seed per lambda; we run ``n_seeds`` (the seed only
changes the initialisation; the stream order is fixed) and report mean +/- std.

Rows (one per method and lambda): ``accuracy``, ``dp_gap``, ``tpr_gap``, ``fpr_gap``
(equalized-odds gaps, not reported by the paper), ``node_gap_mean`` / ``node_gap_max``
(``|F_{t,i}|`` from Aranyani's running statistics, which mix parameters of all past steps) and
``node_gap_final`` (mean ``|F_{t,i}|`` of the final parameters over the whole stream). Baselines on the same axes: River's
Hoeffding tree (``ht``) and Hoeffding adaptive tree (``aht``), the per-group reservoir forest
(``reservoir``), and the "majority mix" of the official code (the lambda = 0 forest's label with
probability p, else the majority label 0) and the constant majority-class predictor.

``Config(dataset="compas")`` runs the same protocol on ProPublica COMPAS (the COMPAS
panel of Fig. 2; CLI: ``onlinekit experiment aranyani-adult -p dataset=compas [-p data=PATH]``):
``onlinekit.streams.compas.load_compas`` reads a CSV or a folder with the authors' ``train.csv``
and ``test.csv`` (concatenated), label ``is_recid``, protected attribute race (White = 1,
Black / Other = 0), ten unscaled features. ``data`` defaults to the ``compas`` data set
(ProPublica's ``compas-scores-two-years.csv``, ``onlinekit data fetch compas``); the lambda grid defaults to the paper's COMPAS grid; the per-group accuracy columns are
``acc_black_other`` / ``acc_white``; the majority-class predictor and the majority mix use the
stream's own majority label, and ``check`` compares with the stream's majority rate (the notes
give no COMPAS number: the paper only says Aranyani is less dominant there).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np

__all__ = ["Config", "run", "plot", "check", "data_path", "default_adult_path"]

MAJORITY_RATE = 24720 / 32561  # share of <=50K in adult.data (75.9%)
ADULT_LAMBDAS = (0.0, 0.1, 0.3, 0.5, 1.0, 5.0, 10.0, 100.0)  # notes A5
COMPAS_LAMBDAS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.08, 0.09, 0.1, 0.3, 0.5, 1.0, 5.0, 10.0, 100.0)  # notes A5
DATASETS = ("adult", "compas")
_GROUPS = {"adult": ("acc_female", "acc_male"), "compas": ("acc_black_other", "acc_white")}


def default_adult_path() -> str:
    """``adult.data`` of the ``adult`` data set (:func:`onlinekit.data.resolve`).

    Raises
    ------
    MissingDataError
        When it has not been fetched (the message gives the ``onlinekit data fetch adult`` command).
    """
    from onlinekit.data import resolve

    return str(resolve("adult") / "adult.data")


def data_path(config) -> str:
    """The file or folder the run reads: ``config.data``, else the data set's default.

    Examples
    --------
    >>> data_path(Config(data="my/adult.data"))
    'my/adult.data'
    """
    if config.data:
        return str(config.data)
    if config.dataset == "compas":
        from onlinekit.data import resolve

        return str(resolve("compas"))
    return default_adult_path()


@dataclass(frozen=True)
class Config:
    """Settings of the Adult experiment (defaults: the paper's, from ``src/configs``).

    ``dataset="compas"`` reads ``data`` (a COMPAS CSV or a folder with ``train.csv`` and
    ``test.csv``; default: the ``compas`` data set); its ``lambdas`` default to the paper's COMPAS grid: a ``lambdas`` equal to the
    Adult default grid is taken as "not set" and replaced (so ``dataclasses.replace`` and
    ``-p dataset=compas`` switch grids; any other grid, e.g. the quick one, is kept). ``marital``
    only applies to Adult.

    Examples
    --------
    >>> Config().lambdas
    (0.0, 0.1, 0.3, 0.5, 1.0, 5.0, 10.0, 100.0)
    >>> Config.quick().n_rows
    6000
    >>> len(Config(dataset="compas", data="compas/").lambdas)
    15
    """

    data: str = ""  # path of adult.data / the COMPAS file; "" -> the registered data set (data_path)
    lambdas: tuple = ADULT_LAMBDAS
    n_trees: int = 3
    depth: int = 4
    lr: float = 2e-3
    huber_delta: float = 0.01
    penalty: str = "official"
    marital: str = "collapsed"
    n_rows: int = 0  # 0 -> the whole file (32,561 rows)
    baselines: tuple = ("ht", "aht", "reservoir", "majority")
    reservoir_size: int = 500
    reservoir_lambdas: tuple = (0.1, 1.0, 10.0)
    majority_ps: tuple = (0.25, 0.5, 0.75)
    n_curve_points: int = 200
    n_seeds: int = 5
    dataset: str = "adult"  # "adult" | "compas"

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.dataset == "compas":
            if tuple(float(v) for v in self.lambdas) == ADULT_LAMBDAS:
                object.__setattr__(self, "lambdas", COMPAS_LAMBDAS)

    @classmethod
    def quick(cls) -> Config:
        return cls(lambdas=(0.0, 0.1, 1.0, 100.0), n_rows=6000, baselines=("ht", "reservoir", "majority"),
                   reservoir_size=100, reservoir_lambdas=(1.0,), majority_ps=(0.5,), n_curve_points=50,
                   n_seeds=2)


@lru_cache(maxsize=4)
def _data(path: str, marital: str, n_rows: int):
    from onlinekit.streams.adult import load_adult

    return load_adult(path, marital=marital, n_rows=n_rows or None)


@lru_cache(maxsize=4)
def _compas_data(path: str, n_rows: int):
    from onlinekit.streams.compas import load_compas

    return load_compas(path, n_rows=n_rows or None)


def _load(config: Config):
    if config.dataset == "compas":
        return _compas_data(data_path(config), int(config.n_rows))
    return _data(data_path(config), config.marital, int(config.n_rows))


def _row(method: str, lam: str, y, yhat, a, extra=None, groups=_GROUPS["adult"]) -> dict:
    from onlinekit.fair.fairness_metrics import fairness_summary

    r = fairness_summary(y, yhat, a)
    row = {"method": method, "lambda": lam, "accuracy": r["accuracy"], "dp_gap": r["dp_gap"],
           "tpr_gap": r["tpr_gap"], "fpr_gap": r["fpr_gap"],
           groups[0]: r["group_accuracy"][0], groups[1]: r["group_accuracy"][1]}
    row.update(extra or {})
    return row


def _final_node_gaps(model, X, a) -> np.ndarray:
    """``F_{t,i}`` of the final parameters over the whole stream (not the running estimate)."""
    z = np.einsum("tij,nj->nti", model.W_, X) + model.B_[None]
    s = 1.0 / (1.0 + np.exp(-z))
    return s[a == 1].mean(axis=0) - s[a == 0].mean(axis=0)


def run(config: Config, seed: int) -> dict:
    """All methods on the Adult (or COMPAS) stream for one seed (the forests' initialisation seed)."""
    from onlinekit.fair import Aranyani, ReservoirFairForest
    from onlinekit.fair.baselines import prequential_river
    from onlinekit.fair.fairness_metrics import cumulative_fairness

    d = _load(config)
    X, y, a = d.X, d.y, d.sensitive
    n = len(y)
    row = partial(_row, groups=_GROUPS[config.dataset])
    majority = int(2 * int(y.sum()) > n)  # 0 on Adult
    idx = np.unique(np.linspace(0, n - 1, max(2, config.n_curve_points)).astype(int))
    rows: list[dict] = []
    dp_series: dict = {}
    acc_series: dict = {}
    base_pred = None
    for lam in config.lambdas:
        model = Aranyani(lambda_=float(lam), n_trees=config.n_trees, depth=config.depth, lr=config.lr,
                         huber_delta=config.huber_delta, penalty=config.penalty, seed=int(seed) % 2**32)
        p = model.predict_learn_many(X, y, sensitive=a)
        yhat = (p > 0.5).astype(np.int64)
        if float(lam) == 0.0:
            base_pred = yhat
        gaps = np.abs(model.node_gaps())
        final = np.abs(_final_node_gaps(model, X, a))
        rows.append(row("aranyani", f"{float(lam):g}", y, yhat, a,
                        {"node_gap_mean": float(gaps.mean()), "node_gap_max": float(gaps.max()),
                         "node_gap_final": float(final.mean())}))
        c = cumulative_fairness(y, yhat, a)
        dp_series[f"lambda={float(lam):g}"] = c["dp_gap"][idx]
        acc_series[f"lambda={float(lam):g}"] = c["accuracy"][idx]
    rows.append(row("majority-class", "-", y, np.full(n, majority, dtype=np.int64), a))
    names = list(d.feature_names)
    if "ht" in config.baselines:
        from river import tree

        p = prequential_river(tree.HoeffdingTreeClassifier(), X, y, names)
        rows.append(row("hoeffding-tree", "-", y, (p > 0.5).astype(np.int64), a))
    if "aht" in config.baselines:
        from river import tree

        p = prequential_river(tree.HoeffdingAdaptiveTreeClassifier(seed=int(seed) % 2**32), X, y, names)
        rows.append(row("hoeffding-adaptive-tree", "-", y, (p > 0.5).astype(np.int64), a))
    if "reservoir" in config.baselines:
        for lam in config.reservoir_lambdas:
            model = ReservoirFairForest(lambda_=float(lam), reservoir_size=config.reservoir_size,
                                        n_trees=config.n_trees, depth=config.depth, lr=config.lr,
                                        seed=int(seed) % 2**32)
            p = model.predict_learn_many(X, y, sensitive=a)
            rows.append(row("reservoir", f"{float(lam):g}", y, (p > 0.5).astype(np.int64), a))
    if "majority" in config.baselines and base_pred is not None:
        rng = np.random.default_rng([int(seed) % 2**32, 7])
        for prob in config.majority_ps:
            keep = rng.random(n) < float(prob)
            yhat = np.where(keep, base_pred, majority)
            rows.append(row("majority-mix", f"p={float(prob):g}", y, yhat, a))
    curves = {
        "dp_vs_time": {"x": idx + 1, "series": dp_series, "xlabel": "events",
                        "ylabel": "cumulative DP gap"},
        "accuracy_vs_time": {"x": idx + 1, "series": acc_series, "xlabel": "events",
                              "ylabel": "cumulative accuracy"},
    }
    return {"rows": rows, "curves": curves}


def _by_method(results: list[dict]) -> dict:
    """``{(method, lambda): (acc array over seeds, dp array over seeds)}``."""
    out: dict = {}
    for r in results:
        for row in r["rows"]:
            key = (row["method"], row["lambda"])
            out.setdefault(key, ([], [], []))
            out[key][0].append(row["accuracy"])
            out[key][1].append(row["dp_gap"])
            out[key][2].append(row.get("node_gap_mean", np.nan))
    return {k: tuple(np.asarray(v) for v in vals) for k, vals in out.items()}


def plot(config: Config, results: list[dict], out_dir) -> list:
    """``tradeoff.png``: accuracy vs DP gap (mean +/- std over seeds), all methods."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return []
    stats = _by_method(results)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    methods = []
    for (m, _lam) in stats:
        if m not in methods:
            methods.append(m)
    markers = {"aranyani": "o-", "reservoir": "s--", "hoeffding-tree": "^", "hoeffding-adaptive-tree": "v",
               "majority-mix": "x:", "majority-class": "D"}
    for m in methods:
        keys = [k for k in stats if k[0] == m]
        acc = np.array([stats[k][0].mean() for k in keys])
        dp = np.array([stats[k][1].mean() for k in keys])
        acc_sd = np.array([stats[k][0].std() for k in keys])
        dp_sd = np.array([stats[k][1].std() for k in keys])
        ax.errorbar(dp, acc, xerr=dp_sd, yerr=acc_sd, fmt=markers.get(m, "o"), label=m, capsize=2, ms=4)
        if m == "aranyani":
            for k, xv, yv in zip(keys, dp, acc, strict=True):
                ax.annotate(f"λ={k[1]}", (xv, yv), fontsize=6, xytext=(3, 3), textcoords="offset points")
    maj = stats.get(("majority-class", "-"))
    ax.axhline(maj[0].mean() if maj else MAJORITY_RATE, color="grey", lw=0.8, ls=":")
    title = "COMPAS" if getattr(config, "dataset", "adult") == "compas" else "Adult"
    ax.set_xlabel("demographic parity gap (cumulative)")
    ax.set_ylabel("accuracy (cumulative)")
    ax.set_title(f"{title}: accuracy vs DP")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(out_dir) / "tradeoff.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return [path]


def check(config: Config, results: list[dict]) -> list[str]:
    """The acceptance claims of the research notes (A8); returns the failed ones."""
    stats = _by_method(results)
    lams = [f"{float(v):g}" for v in config.lambdas]
    fails = []
    if getattr(config, "dataset", "adult") == "compas":  # no published number: the stream's own rate
        rate, margin = float(stats[("majority-class", "-")][0].mean()), 0.0
    else:
        rate, margin = MAJORITY_RATE, 0.04
    if "0" in lams:
        acc0 = stats[("aranyani", "0")][0].mean()
        if not acc0 > rate + margin:
            fails.append(f"lambda=0 accuracy {acc0:.4f} is not well above the majority rate {rate:.3f}")
    nz = sorted(lams, key=float)
    if len(nz) >= 2:
        dp_lo = stats[("aranyani", nz[0])][1]
        dp_hi = stats[("aranyani", nz[-1])][1]
        if not dp_hi.mean() < 0.5 * dp_lo.mean():
            fails.append(f"DP gap did not fall: {dp_lo.mean():.4f} at lambda={nz[0]}, "
                         f"{dp_hi.mean():.4f} at lambda={nz[-1]}")
        g_lo = stats[("aranyani", nz[0])][2].mean()
        g_hi = stats[("aranyani", nz[-1])][2].mean()
        if not g_hi < g_lo:
            fails.append(f"node gaps did not shrink: {g_lo:.4f} -> {g_hi:.4f}")
    return fails
