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

__all__ = ["Config", "run", "plot", "compare", "check", "data_path", "default_adult_path", "label_dp"]

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
    """Settings of the experiment: the official code's (``src/configs``, ``src/train.py``), except as noted.

    Official: the forest (3 trees, depth 4, Adam lr 2e-3, Huber delta 0.01, the official
    penalty multiplier), the lambda grids, ``marital="official"`` (Adult's 7 marital-status
    categories: the official preprocessing meant to collapse them but its ``replace`` never
    matches, see :func:`onlinekit.streams.adult.load_adult`), reservoir size 500, the
    one-hidden-layer MLP baseline. Ours: ``n_seeds`` (the paper ran one run per lambda);
    ``compas_scale="online"`` (the official COMPAS inputs are unscaled, which saturates the
    sigmoid routing nodes and overflows ``exp``; we standardise online with no look-ahead,
    ``"none"`` restores the official inputs); the FAHT baseline is our re-implementation
    (:class:`onlinekit.fair.faht.FAHT`; the paper took FAHT's numbers from its authors' code);
    the MLP baseline differentiates ``P(y = 1)`` (the official one has a zero fairness gradient).
    Reduced for the 30-minute budget on 2 cores: the reservoir baseline runs at one lambda
    (``reservoir_lambdas=(1.0,)``; each size-500 pass over Adult costs about 150 s, the cost
    the paper's efficiency claim is about); add points with ``-p reservoir_lambdas=0.1,1,10``
    and spread seeds with ``--jobs`` or ``--backend ray``.

    ``dataset="compas"`` reads ``data`` (a COMPAS CSV or a folder with ``train.csv`` and
    ``test.csv``; default: the ``compas`` data set); its ``lambdas`` default to the paper's COMPAS grid: a ``lambdas`` equal to the
    Adult default grid is taken as "not set" and replaced (so ``dataclasses.replace`` and
    ``-p dataset=compas`` switch grids; any other grid, e.g. the quick one, is kept). ``marital``
    only applies to Adult, ``compas_scale`` only to COMPAS.

    Examples
    --------
    >>> Config().lambdas
    (0.0, 0.1, 0.3, 0.5, 1.0, 5.0, 10.0, 100.0)
    >>> Config.quick().n_rows, Config().marital
    (12000, 'official')
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
    marital: str = "official"
    compas_scale: str = "online"
    n_rows: int = 0  # 0 -> the whole file (32,561 rows)
    baselines: tuple = ("ht", "aht", "reservoir", "majority", "faht", "mlp")
    reservoir_size: int = 500
    reservoir_lambdas: tuple = (1.0,)  # one point: a size-500 pass costs ~150 s on Adult (30-minute budget)
    mlp_lambdas: tuple = (0.0, 0.1, 1.0, 10.0)
    majority_ps: tuple = (0.25, 0.5, 0.75)
    n_curve_points: int = 200
    n_seeds: int = 5
    dataset: str = "adult"  # "adult" | "compas"

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.compas_scale not in ("none", "online"):
            raise ValueError(f"compas_scale must be 'none' or 'online', got {self.compas_scale!r}")
        if self.dataset == "compas":
            if tuple(float(v) for v in self.lambdas) == ADULT_LAMBDAS:
                object.__setattr__(self, "lambdas", COMPAS_LAMBDAS)

    @classmethod
    def quick(cls) -> Config:
        return cls(lambdas=(0.0, 0.1, 1.0, 100.0), n_rows=12000, baselines=("ht", "reservoir", "majority", "faht", "mlp"),
                   reservoir_size=50, reservoir_lambdas=(1.0,), mlp_lambdas=(0.0, 1.0), majority_ps=(0.5,),
                   n_curve_points=50, n_seeds=2)


@lru_cache(maxsize=4)
def _data(path: str, marital: str, n_rows: int):
    from onlinekit.streams.adult import load_adult

    return load_adult(path, marital=marital, n_rows=n_rows or None)


@lru_cache(maxsize=4)
def _compas_data(path: str, n_rows: int, scale: str):
    from onlinekit.streams.compas import load_compas

    return load_compas(path, n_rows=n_rows or None, scale=scale)


def _load(config: Config):
    if config.dataset == "compas":
        return _compas_data(data_path(config), int(config.n_rows), config.compas_scale)
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
    s = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid, without overflow in exp
    return s[a == 1].mean(axis=0) - s[a == 0].mean(axis=0)


def _dp(yhat, a) -> float:
    """``|mean(yhat | a = 1) - mean(yhat | a = 0)|``."""
    return float(abs(yhat[a == 1].mean() - yhat[a == 0].mean()))


def label_dp(y, a) -> float:
    """Demographic-parity gap of the labels themselves (a predictor that copies them).

    >>> label_dp(np.array([1, 0, 0, 0]), np.array([1, 1, 0, 0]))
    0.5
    """
    return _dp(np.asarray(y), np.asarray(a))


def run(config: Config, seed: int) -> dict:
    """All methods on the Adult (or COMPAS) stream for one seed (the learners' initialisation seed).

    Every method is run prequentially (predict row t, then learn it). Per row: accuracy and
    ``dp_gap = |mean(yhat | a = 1) - mean(yhat | a = 0)|`` of those predictions; for the
    oblique forests and the MLP also ``final_accuracy`` / ``final_dp_gap``: the same of the
    final model's predictions on the whole stream (parameters frozen after the last event:
    in-sample, not held out), and ``seconds`` (wall time of the pass).
    """
    import time

    from onlinekit.fair import aranyani as aranyani_mod
    from onlinekit.fair.baselines import ReservoirFairForest, prequential_river
    from onlinekit.fair.fairness_metrics import cumulative_fairness

    Aranyani = aranyani_mod.Aranyani  # looked up at call time (the sabotage tests replace it)
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
    seed32 = int(seed) % 2**32

    def final(model) -> dict:
        yf = (model.predict_proba_many(X) > 0.5).astype(np.int64)
        return {"final_accuracy": float(np.mean(yf == y)), "final_dp_gap": _dp(yf, a)}

    for lam in config.lambdas:
        model = Aranyani(lambda_=float(lam), n_trees=config.n_trees, depth=config.depth, lr=config.lr,
                         huber_delta=config.huber_delta, penalty=config.penalty, seed=seed32)
        t0 = time.perf_counter()
        p = model.predict_learn_many(X, y, sensitive=a)
        sec = time.perf_counter() - t0
        yhat = (p > 0.5).astype(np.int64)
        if float(lam) == 0.0:
            base_pred = yhat
        gaps = np.abs(model.node_gaps())
        fin = np.abs(_final_node_gaps(model, X, a))
        rows.append(row("aranyani", f"{float(lam):g}", y, yhat, a,
                        {"node_gap_mean": float(gaps.mean()), "node_gap_max": float(gaps.max()),
                         "node_gap_final": float(fin.mean()), **final(model), "seconds": sec}))
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

        p = prequential_river(tree.HoeffdingAdaptiveTreeClassifier(seed=seed32), X, y, names)
        rows.append(row("hoeffding-adaptive-tree", "-", y, (p > 0.5).astype(np.int64), a))
    if "faht" in config.baselines:
        from onlinekit.fair.faht import FAHT

        t0 = time.perf_counter()
        p = FAHT().predict_learn_many(X, y, sensitive=a)
        rows.append(row("faht", "-", y, (p > 0.5).astype(np.int64), a, {"seconds": time.perf_counter() - t0}))
    if "reservoir" in config.baselines:
        for lam in config.reservoir_lambdas:
            model = ReservoirFairForest(lambda_=float(lam), reservoir_size=config.reservoir_size,
                                        n_trees=config.n_trees, depth=config.depth, lr=config.lr, seed=seed32)
            t0 = time.perf_counter()
            p = model.predict_learn_many(X, y, sensitive=a)
            sec = time.perf_counter() - t0
            rows.append(row("reservoir", f"{float(lam):g}", y, (p > 0.5).astype(np.int64), a,
                            {**final(model), "seconds": sec}))
    if "mlp" in config.baselines:
        from onlinekit.fair.mlp import FairMLP

        for lam in config.mlp_lambdas:
            model = FairMLP(lambda_=float(lam), depth=config.depth, lr=config.lr, seed=seed32)
            t0 = time.perf_counter()
            p = model.predict_learn_many(X, y, sensitive=a)
            sec = time.perf_counter() - t0
            rows.append(row("mlp", f"{float(lam):g}", y, (p > 0.5).astype(np.int64), a,
                            {**final(model), "seconds": sec}))
    if "majority" in config.baselines and base_pred is not None:
        rng = np.random.default_rng([seed32, 7])
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
    return {"rows": rows, "curves": curves, "info": {"n": n, "majority_rate": float(np.mean(y == majority)),
                                                      "label_dp": label_dp(y, a), "n_features": int(X.shape[1])}}


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
               "majority-mix": "x:", "majority-class": "D", "faht": "P", "mlp": "d-."}
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


#: Accuracy may fall at most this far below the majority-class rate at any lambda (the notes,
#: A8: "accuracy falls towards 75.9% as DP -> 0", not below it).
ACC_FLOOR_TOL = 0.01
#: lambda = 0 must beat the majority class by this much on Adult (notes A8: "clearly above").
ADULT_MARGIN = 0.04
#: ... and on COMPAS, where the notes give no number (HT gets ~0.62 against 0.52 on the full file).
COMPAS_MARGIN = 0.03
#: Paired one-sided test level for the ordering rows.
ALPHA = 0.05


def _per_seed(results: list[dict]) -> list[dict]:
    """Per seed: ``{(method, lambda): row}``."""
    return [{(r["method"], r["lambda"]): r for r in res["rows"]} for res in results]


def _info(results: list[dict], key: str, fallback) -> float:
    vals = [res.get("info", {}).get(key) for res in results]
    vals = [v for v in vals if v is not None]
    return float(vals[0]) if vals else fallback()


def frontier_accuracy(points, dp_max: float) -> float:
    """Best accuracy among ``(dp, accuracy)`` points with ``dp <= dp_max`` (NaN if none).

    The accuracy Aranyani reaches at a demographic-parity gap no larger than a baseline's,
    on the lambda grid run (no interpolation between grid points).

    >>> frontier_accuracy([(0.2, 0.84), (0.05, 0.82), (0.01, 0.78)], 0.06)
    0.82
    >>> frontier_accuracy([(0.2, 0.84)], 0.1)
    nan
    """
    ok = [acc for dp, acc in points if dp <= dp_max + 1e-12]
    return max(ok) if ok else float("nan")


def _ordering(per_seed, lams, method, lam_b, label, paper, source, fail_if_worse, note_worse):
    """Paired comparison across seeds of Aranyani's frontier accuracy at the baseline's DP."""
    from onlinekit.experiments.comparison import Claim, mean_spread, paired_order

    acc_b, acc_a = [], []
    for ps in per_seed:
        b = ps.get((method, lam_b))
        if b is None:
            return None
        pts = [(ps[("aranyani", k)]["dp_gap"], ps[("aranyani", k)]["accuracy"]) for k in lams
               if ("aranyani", k) in ps]
        fa = frontier_accuracy(pts, b["dp_gap"])
        acc_a.append(fa)
        acc_b.append(b["accuracy"])
    dpb = [ps[(method, lam_b)]["dp_gap"] for ps in per_seed]
    name = f"Aranyani vs {label} at matched DP (DP <= {np.mean(dpb):.4f})"
    test = f"paired one-sided t-test over seeds, level {ALPHA}, of Aranyani accuracy - baseline accuracy"
    comparable = ~np.isnan(acc_a)
    if comparable.sum() >= max(2, (len(acc_a) + 1) // 2) and not comparable.all():
        # the seeds where some Aranyani point is as fair as the baseline (the others are noted)
        acc_a = list(np.asarray(acc_a)[comparable])
        acc_b = list(np.asarray(acc_b)[comparable])
        test += (f" ({int(comparable.sum())} of {len(comparable)} seeds reach the baseline's DP; the seeds "
                 f"left out, where the baseline is fairer than every Aranyani point, favour the baseline)")
    elif not comparable.all():
        # fairer than every Aranyani point: it dominates if it is also more accurate than the fairest
        fairest = []
        for ps in per_seed:
            pts = [(ps[("aranyani", k)]["dp_gap"], ps[("aranyani", k)]["accuracy"]) for k in lams
                   if ("aranyani", k) in ps]
            fairest.append(min(pts)[1])
        _, p_dom = paired_order(fairest, acc_b)  # "Aranyani's fairest point < baseline"
        ours = (f"no Aranyani lambda reaches the baseline's DP in {int((~comparable).sum())} of "
                f"{len(comparable)} seeds; baseline {mean_spread(acc_b)} vs "
                f"Aranyani's fairest point {mean_spread(fairest)}: p(baseline more accurate) = {p_dom:.3g}")
        if p_dom < ALPHA:
            return Claim(name, source, paper, ours, test + "; if fairer than every Aranyani point: is it also "
                         "more accurate than the fairest?", "differs", "the baseline dominates: fairer and more "
                         "accurate than Aranyani's fairest point; " + note_worse)
        return Claim(name, source, paper, ours, test, "info",
                     "the baseline is fairer than every Aranyani point on the grid and not more accurate than "
                     "the fairest: not comparable on this grid")
    d_ab, p_better = paired_order(acc_b, acc_a)  # "baseline < aranyani"
    _, p_worse = paired_order(acc_a, acc_b)
    ours = (f"diff {-d_ab:+.4f} (Aranyani {mean_spread(acc_a)}, baseline {mean_spread(acc_b)}); "
            f"p(A > B) = {p_better:.3g}, p(A < B) = {p_worse:.3g}")
    if p_better < ALPHA and -d_ab > 0:
        return Claim(name, source, paper, ours, test, "pass")
    if p_worse < ALPHA and fail_if_worse:
        return Claim(name, source, paper, ours, test, "fail", "Aranyani is significantly worse")
    return Claim(name, source, paper, ours, test, "differs", note_worse if -d_ab <= 0 or p_worse < ALPHA else
                 "no significant difference: " + note_worse)


def compare(config: Config, results: list[dict]) -> list:
    """Paper-vs-ours rows (``comparison.md``); :func:`check` fails on the ``fail`` rows.

    The paper gives its results as plots only (Fig. 2, no numbers in the text; notes A8), so
    the rows test its stated claims, each with a rule:

    * anchors from the data (notes A6): majority-class rate, the labels' own DP gap;
    * lambda = 0 accuracy at least the majority rate + a margin (0.04 Adult, 0.03 COMPAS),
      and its DP gap within [0.4, 1.6] x the labels' (notes A8, check 1: "same order");
    * the DP gap of the model's prequential predictions at the largest lambda below half that
      at lambda = 0, lower in every seed (notes A8, check 2) -- the model's outputs, not the
      running node statistics; the frozen final model's DP on the stream is reported beside
      it (``differs`` if it does not fall: the paper measures prequential DP only);
    * accuracy loss: at every lambda, ``acc(0) - acc(lambda) <= acc(0) - majority + 0.01``
      (accuracy never falls more than 0.01 below the majority class; notes A8, check 2);
    * ordering (Fig. 2: Aranyani's curve dominates): against each baseline point, Aranyani's
      best accuracy among its grid points with DP no larger than the baseline's, paired
      over seeds (one-sided t-test); a significant loss to the trivial majority mix fails,
      any other non-win is reported as ``differs`` with its likely cause;
    * efficiency (abstract): stored floats and wall time of Aranyani vs the reservoir.
    """
    from onlinekit.experiments.comparison import Claim, mean_spread, paired_order

    rows: list = []
    per_seed = _per_seed(results)
    lams = [f"{float(v):g}" for v in config.lambdas]
    compas = getattr(config, "dataset", "adult") == "compas"
    fig = "Fig. 2 (COMPAS panel)" if compas else "Fig. 2 (Adult panel)"
    full = not config.n_rows
    y_majority = _info(results, "majority_rate", lambda: float(np.mean(
        [ps[("majority-class", "-")]["accuracy"] for ps in per_seed])))
    ldp = _info(results, "label_dp", lambda: float("nan"))

    def col(method, lam, key):
        return np.array([ps[(method, lam)][key] for ps in per_seed if (method, lam) in ps], dtype=float)

    # -- data anchors --------------------------------------------------------------------
    if compas:
        rows.append(Claim("majority-class accuracy (the stream's own)", "-", "not given", f"{y_majority:.4f}",
                          "-", "info", "notes A8: the paper gives no COMPAS number"))
    else:
        ok = abs(y_majority - MAJORITY_RATE) < 5e-4
        rows.append(Claim("majority-class accuracy of adult.data", "notes A6 (data counts)", f"{MAJORITY_RATE:.4f}",
                          f"{y_majority:.4f}", "|ours - paper| < 5e-4 on the whole file",
                          ("pass" if ok else "fail") if full else "info",
                          "" if full else f"first {config.n_rows} rows only"))
        rows.append(Claim("labels' own DP gap", "notes A6 (data counts)", "0.196", f"{ldp:.4f}",
                          "|ours - paper| < 5e-3 on the whole file",
                          ("pass" if abs(ldp - 0.196) < 5e-3 else "fail") if full else "info",
                          "" if full else f"first {config.n_rows} rows only"))
    if "0" not in lams:
        rows.append(Claim("lambda = 0 in the grid", "-", "yes", "no", "required", "fail",
                          "the accuracy-loss and DP claims are relative to lambda = 0"))
        return rows
    acc0, dp0 = col("aranyani", "0", "accuracy"), col("aranyani", "0", "dp_gap")
    margin = COMPAS_MARGIN if compas else ADULT_MARGIN
    rows.append(Claim("lambda = 0: accuracy clearly above the majority class", f"{fig}; notes A8 check 1",
                      f"> majority ({y_majority:.4f})", mean_spread(acc0),
                      f"mean >= majority + {margin}", "pass" if acc0.mean() >= y_majority + margin else "fail"))
    if np.isfinite(ldp) and ldp > 0:
        r = dp0.mean() / ldp
        if compas:  # the notes' "same order" anchor is Adult's; race is a model input on COMPAS
            verdict, note = "info", f"ratio {r:.2f}; no COMPAS anchor in the notes"
        else:
            verdict, note = ("pass" if 0.4 <= r <= 1.6 else "fail"), f"ratio {r:.2f}"
        rows.append(Claim("lambda = 0: DP gap of the order of the labels' DP gap", "notes A8 check 1",
                          f"~ {ldp:.4f} (the labels')", mean_spread(dp0), "ratio to the labels' in [0.4, 1.6]",
                          verdict, note))
    # -- DP falls with lambda (prequential predictions of the model) -------------------------
    top = max(lams, key=float)
    if top != "0":
        dpt = col("aranyani", top, "dp_gap")
        d, p = paired_order(dpt, dp0)
        every = bool(np.all(dpt < dp0))
        ok = dpt.mean() < 0.5 * dp0.mean() and every
        rows.append(Claim(f"DP gap of the predictions falls: lambda = {top} vs 0", f"{fig}; notes A8 check 2",
                          "falls towards 0", f"{mean_spread(dpt)} vs {mean_spread(dp0)}; paired p = {p:.3g}",
                          "mean < 0.5 x lambda = 0, lower in every seed", "pass" if ok else "fail"))
        fdt, fd0 = col("aranyani", top, "final_dp_gap"), col("aranyani", "0", "final_dp_gap")
        if len(fdt) and len(fd0):
            ok = fdt.mean() < 0.5 * fd0.mean()
            rows.append(Claim(f"final model's DP gap (frozen, whole stream): lambda = {top} vs 0", "notes A8 check 2",
                              "falls", f"{mean_spread(fdt)} vs {mean_spread(fd0)}", "mean < 0.5 x lambda = 0",
                              "pass" if ok else "differs",
                              "in-sample: the final parameters on the stream they saw" + ("" if ok else
                              "; the paper measures prequential DP only (row above); the official multiplier "
                              "jumps from delta to 1 at |F| = delta, so the last parameters can sit off the "
                              "constraint")))
        g0, gt = col("aranyani", "0", "node_gap_mean"), col("aranyani", top, "node_gap_mean")
        rows.append(Claim(f"running node gaps |F| shrink: lambda = {top} vs 0", "notes A8 check 3", "shrink",
                          f"{mean_spread(gt)} vs {mean_spread(g0)}", "diagnostic (the penalised statistic)", "info"))
    # -- accuracy loss bound ------------------------------------------------------------------
    worst = []
    for k in lams:
        acc = col("aranyani", k, "accuracy")
        worst.append((float(acc.mean()), k))
    lo, klo = min(worst)
    bound = acc0.mean() - y_majority + ACC_FLOOR_TOL
    loss = acc0.mean() - lo
    rows.append(Claim("accuracy loss vs lambda = 0 is bounded (falls towards the majority rate, not below)",
                      f"{fig}; notes A8 check 2", f"accuracy -> majority ({y_majority:.4f}) as DP -> 0",
                      f"largest loss {loss:.4f} (lambda = {klo}: accuracy {lo:.4f})",
                      f"loss <= acc(0) - majority + {ACC_FLOOR_TOL} = {bound:.4f}",
                      "pass" if loss <= bound else "fail"))
    # -- ordering at matched DP ---------------------------------------------------------------
    for p_ in config.majority_ps if "majority" in config.baselines else ():
        c = _ordering(per_seed, lams, "majority-mix", f"p={float(p_):g}", f"majority mix p={float(p_):g}",
                      "Aranyani above", "Fig. 2 (official majority baseline)", True,
                      "the lambda grid may not reach the mix's DP with enough accuracy")
        if c is not None:
            rows.append(c)
    cause_res = ("likely cause: the reservoir recomputes its node gaps at the current parameters on the "
                 "stored inputs, a fresher DP signal than Aranyani's running means of outputs of past "
                 "parameters; its price is time and memory (efficiency rows), not accuracy")
    base_specs = []
    if "reservoir" in config.baselines:
        base_specs += [("reservoir", f"{float(v):g}", f"reservoir lambda={float(v):g}", cause_res)
                       for v in config.reservoir_lambdas]
    if "mlp" in config.baselines:
        base_specs += [("mlp", f"{float(v):g}", f"MLP lambda={float(v):g}",
                        "likely cause: with the corrected gradient of P(y=1) the MLP's DP regulariser works "
                        "(the paper's MLP baseline had a zero fairness gradient, notes A3)")
                       for v in config.mlp_lambdas]
    for m, lab in (("ht", "hoeffding-tree"), ("aht", "hoeffding-adaptive-tree"), ("faht", "faht")):
        if m in config.baselines:
            base_specs.append((lab, "-", lab, "likely cause: a tree with DP below Aranyani's lambda = 0 point "
                               "but accuracy the grid's fairer points do not match" +
                               ("; FAHT is our re-implementation, the paper used its authors' code"
                                if m == "faht" else "")))
    for method, lam_b, label, cause in base_specs:
        c = _ordering(per_seed, lams, method, lam_b, label, "Aranyani above", fig, False, cause)
        if c is not None:
            rows.append(c)
    if compas:
        rows.append(Claim("Aranyani less dominant on COMPAS than on Adult", "notes A8 (reviews)", "qualitative",
                          "see the ordering rows", "-", "info"))
    # -- efficiency -----------------------------------------------------------------------------
    if "reservoir" in config.baselines and config.reservoir_lambdas:
        d_feat = int(_info(results, "n_features", lambda: 0))
        T, n_int = config.n_trees, 2 ** config.depth - 1
        ara = 2 * (1 + T * n_int * (d_feat + 2))
        res = 2 * config.reservoir_size * d_feat
        t_ara = np.concatenate([col("aranyani", k, "seconds") for k in lams if k != "0"] or [np.zeros(0)])
        k_res = f"{float(config.reservoir_lambdas[0]):g}"
        t_res = col("reservoir", k_res, "seconds")
        ratio = float(t_res.mean() / t_ara.mean()) if len(t_ara) and len(t_res) and t_ara.mean() > 0 else float("nan")
        rows.append(Claim("fairness state: Aranyani's running statistics vs the reservoir's stored inputs",
                          "abstract; notes A8", "no stored inputs", f"{ara} vs {res} floats (d = {d_feat})",
                          "count of floats kept for the fairness term", "info",
                          "Aranyani's state does not grow with the stream; the reservoir's is capped at its size"))
        rows.append(Claim("wall time per pass: reservoir / Aranyani", "abstract (efficiency)", "> 1",
                          f"{ratio:.2f}", "ratio of mean seconds (shared machine: indicative)",
                          "info" if not np.isfinite(ratio) else ("pass" if ratio > 1 else "differs")))
    return rows


def check(config: Config, results: list[dict]) -> list[str]:
    """The failed rows of :func:`compare` (the research notes' A8 claims with stated rules)."""
    from onlinekit.experiments.comparison import failures

    fails = failures(compare(config, results))
    for i, res in enumerate(results):
        for r in res["rows"]:
            if not (0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["dp_gap"] <= 1.0):
                fails.append(f"seed {i}: {r['method']} {r['lambda']}: accuracy/DP outside [0, 1]")
    return fails
