"""Regret of OGD, optimistic OMD and optimistic FTRL across SEA regimes (Chen et al. 2023).

Instances
---------
The SEA quadratic ``f_t(x) = 0.5 ||x - xi_t||^2`` on the Euclidean ball of radius ``R``
(``D = 2R``, ``L = lambda = 1``), ``xi_t = mu_t + noise_t`` from
:class:`onlinekit.streams.sea.SEAStream`, whose realised ``sigma^2_{1:T}`` and
``Sigma^2_{1:T}`` are reported per regime; the ``linear-*`` regimes use the linear loss
``<xi_t, x>`` on the same streams; ``logistic-drift`` uses
:class:`onlinekit.streams.sea.SEALogisticStream` (``log(1 + exp(-y_t <a_t, x>))``, rotating
``a_t``, ``P(y_t = +1) = logistic_q``).

Static regret ``R_t = sum_{s<=t} f_s(x_s) - min_{||x|| <= R} sum_{s<=t} f_s(x)``: for the
quadratic the minimiser is the projection of the mean of ``xi_1..xi_t``; for the linear loss
``-R S_t / ||S_t||``; for the logistic loss :func:`onlinekit.solvers.logistic` with
``radius = R``. Dynamic regret ``sum_t f_t(x_t) - f_t(u_t)`` against ``u_t = argmin F_t``
over the ball (``Proj(mu_t)``; ``-R mu_t / ||mu_t||`` for the linear loss). In the drifting
regimes (``drift``, ``linear-drift``, ``logistic-drift``) the static comparator is a point no
one would want (the mean rotates), so those regimes are judged, and plotted, by dynamic regret.

Gradient bounds (:func:`grad_bound`), one per loss, with ``M = max_t ||mu_t||`` and the
Gaussian noise bound ``N = s (sqrt(d) + sqrt(2 ln(T / delta)))`` (``||z|| <= sqrt(d) + u``
with probability ``>= 1 - exp(-u^2 / 2)`` for a standard normal ``z``, union bound over ``T``
rounds, ``delta = 0.01``):

* quadratic: ``||x - xi_t|| <= R + M + N``;
* linear: ``||xi_t|| <= M + N``;
* logistic (labels 0/1): ``|sigmoid(<a, x>) - b| ||a|| <= sigmoid(R ||a||) ||a||``.

Each row reports the bound ``G``, ``grad_sup = max_t sup_{||x|| <= R} ||grad f_t(x)||`` (the
largest gradient any learner could see) and ``grad_seen``, the largest gradient the method saw,
read from its losses: ``sqrt(2 f_t(x_t))`` (quadratic), ``||xi_t||`` (linear),
``(1 - exp(-f_t(x_t))) ||a_t||`` (logistic).

Methods (:func:`learners`)
--------------------------
* ``ogd``: projected OGD, ``eta = D / (G sqrt(T))`` (Hazan 2016, Thm. 3.1);
* ``ogd-anytime``: ``eta_t = D / (G sqrt(t))``;
* ``optimistic-omd``: :class:`~onlinekit.oco.OptimisticOMD`, last-gradient hint ``M_t =
  g_{t-1}``, ``eta_t = D / sqrt(1 + 4 G^2 + sum_{s<t} ||g_s - g_{s-1}||^2)`` (the paper's rule,
  ``delta = 1``);
* ``omd-zero-hint``: the same rule with the hint ``M_t = 0``: ``eta_t = D / sqrt(1 + 4 G^2 +
  sum_{s<t} ||g_s - M_s||^2)`` becomes AdaGrad-norm, ``D / sqrt(1 + 4 G^2 + sum ||g_s||^2)``
  (the optimism ablation: the rule ``eta_t = D / sqrt(delta + sum ||g_s - M_s||^2)`` with
  the hint on and off);
* ``omd-no-hint-same-eta``: hint off but the step of ``optimistic-omd`` (variation schedule),
  the literal "same schedule" reading;
* ``optimistic-ftrl``: :class:`~onlinekit.oco.OptimisticFTRL` (Sachs et al.), ``nu = L D^2 + D G``
  (``L`` from :func:`smoothness`);
* ``dynamic-omd``: :class:`~onlinekit.oco.DynamicOMD` (step-size pool + optimistic Hedge);
* strongly convex regime: ``ogd-sc`` / ``optimistic-omd-sc``, both ``eta_t = 1 / (lambda t)``,
  hint off / on.

Sweeps (one instance each, one thing varied)
--------------------------------------------
* ``T`` sweep: the i.i.d. quadratic (noise ``sc_noise``) for ``sweep_horizon`` rounds;
  optimistic OMD (anytime, so its regret after ``T`` rounds *is* the run of horizon ``T``) at
  ``sweep_points`` horizons; ``ogd-anytime`` beside it; :class:`~onlinekit.oco.ONS` (the
  quadratic is ``alpha = lambda / G^2``-exp-concave) up to ``ons_horizon``.
* ``Sigma`` sweep: the noiseless drift instance (same seed, same ``mu_1``), the rotation
  speed ``||mu_t - mu_{t-1}||`` taking the values ``sigma_drifts``; dynamic regret of
  ``dynamic-omd`` and ``optimistic-omd`` against ``Sigma^2_{1:T}`` and the path length
  ``P_T = sum ||u_t - u_{t-1}||``.

The claims and their tests are the rows of :func:`compare` (module ``_sea_compare``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

NAME = "sea-regret"

#: Failure probability of the Gaussian noise bound in :func:`grad_bound`.
DELTA = 0.01
DRIFTING = ("drift", "linear-drift", "logistic-drift")
#: The regime where the bound says the hint must help: no noise, no drift, non-vanishing gradient.
OPTIMISM_REGIME = "linear-fixed"


@dataclass(frozen=True)
class Config:
    """Settings (ours: the paper has no experiments)."""

    horizon: int = 5000
    d: int = 5
    radius: float = 1.0
    mean_norm: float = 0.5
    noise_levels: tuple = (0.025, 0.05, 0.1, 0.2)
    sc_noise: float = 0.1
    drift: float = 0.01
    corruption: float = 20.0
    corruption_size: float = 0.5
    n_items: int = 100
    logistic_q: float = 0.7
    n_points: int = 50
    sweep_horizon: int = 2**16
    sweep_points: int = 7
    ons_horizon: int = 8192
    sigma_drifts: tuple = (0.0025, 0.005, 0.01, 0.02, 0.04)
    n_seeds: int = 10

    @classmethod
    def quick(cls) -> Config:
        return cls(horizon=1024, noise_levels=(0.05, 0.1), n_points=16, sweep_horizon=2**12, sweep_points=5,
                   ons_horizon=1024, sigma_drifts=(0.005, 0.01, 0.02), n_seeds=3)


def regimes(config: Config) -> list[tuple[str, dict]]:
    """``(label, SEAStream kwargs)`` for every regime of the experiment."""
    out = [("fixed", {"regime": "adversarial", "drift": 0.0})]
    out += [(f"iid-s{s:g}", {"regime": "iid", "noise": float(s)}) for s in config.noise_levels]
    out += [
        ("drift", {"regime": "adversarial", "drift": config.drift}),
        ("corrupted", {"regime": "corrupted", "noise": config.sc_noise, "corruption": config.corruption,
                       "corruption_size": config.corruption_size}),
        ("random-order", {"regime": "random-order", "noise": config.sc_noise, "n_items": config.n_items}),
        ("strongly-convex", {"regime": "iid", "noise": config.sc_noise}),
        ("linear-fixed", {"regime": "adversarial", "drift": 0.0}),
        ("linear-iid", {"regime": "iid", "noise": config.sc_noise}),
        ("linear-drift", {"regime": "drift", "noise": config.sc_noise, "drift": config.drift}),
        ("logistic-drift", {"q": config.logistic_q, "drift": config.drift}),
    ]
    return out


def loss_family(label: str) -> str:
    """``"quadratic"``, ``"linear"`` or ``"logistic"`` for a regime label."""
    return "linear" if label.startswith("linear") else "logistic" if label.startswith("logistic") else "quadratic"


# --------------------------------------------------------------------------------------------
# regret against the best point in hindsight
# --------------------------------------------------------------------------------------------


def prefix_regret(xi: np.ndarray, losses: np.ndarray, radius: float) -> np.ndarray:
    """``R_t`` for every ``t``: cumulative loss minus the best point of the ball for ``xi_1..xi_t``."""
    from onlinekit.solvers import project_l2_ball

    n = xi.shape[0]
    S = np.cumsum(xi, axis=0)
    Q = np.cumsum(np.sum(xi * xi, axis=1))
    t = np.arange(1, n + 1)
    mean = S / t[:, None]
    nrm = np.linalg.norm(mean, axis=1)
    xstar = mean * np.minimum(1.0, radius / np.maximum(nrm, 1e-300))[:, None]
    # spot-check the vectorised projection against onlinekit.solvers
    j = n - 1
    assert np.allclose(xstar[j], project_l2_ball(mean[j], radius))
    best = 0.5 * Q - np.sum(xstar * S, axis=1) + 0.5 * t * np.sum(xstar * xstar, axis=1)
    return np.cumsum(losses) - best


def prefix_regret_linear(c: np.ndarray, losses: np.ndarray, radius: float) -> np.ndarray:
    """``R_t`` for linear losses ``<c_s, x>``: the best point of the ball is ``-R S_t / ||S_t||``."""
    S = np.cumsum(c, axis=0)
    return np.cumsum(losses) + radius * np.linalg.norm(S, axis=1)


def hindsight_logistic(a: np.ndarray, y: np.ndarray, radius: float, at: np.ndarray) -> np.ndarray:
    """``min_{||x|| <= R} sum_{s<=t} f_s(x)`` for logistic losses (labels 0/1) at the 0-based
    rounds ``at``, from :func:`onlinekit.solvers.logistic` with ``radius``."""
    from onlinekit.solvers import logistic

    return np.array([logistic(a[:t + 1], y[:t + 1], radius=radius).value for t in at])


def prefix_regret_logistic(a: np.ndarray, y: np.ndarray, losses: np.ndarray, radius: float,
                           at: np.ndarray, best: np.ndarray | None = None) -> np.ndarray:
    """``R_t`` at the 0-based rounds ``at`` for logistic losses (``best``: precomputed
    :func:`hindsight_logistic` values)."""
    if best is None:
        best = hindsight_logistic(a, y, radius, at)
    return np.cumsum(losses)[np.asarray(at)] - best


# --------------------------------------------------------------------------------------------
# gradient bounds
# --------------------------------------------------------------------------------------------


def noise_bound(noise: float, d: int, horizon: int, delta: float = DELTA) -> float:
    """``s (sqrt(d) + sqrt(2 ln(T / delta)))``: bounds ``||noise_t||`` in all ``T`` rounds
    with probability ``>= 1 - delta`` (Gaussian concentration of the norm, union bound).

    >>> round(noise_bound(0.1, 5, 5000), 4)
    0.7359
    """
    return noise * (math.sqrt(d) + math.sqrt(2.0 * math.log(horizon / delta)))


def grad_bound(config: Config, family: str, kw: dict | None = None) -> float:
    """``G`` for the loss ``family`` on the stream ``kw`` (see the module docstring)."""
    kw = kw or {}
    R = config.radius
    if family == "logistic":
        a = config.mean_norm
        return a / (1.0 + math.exp(-R * a))
    M = config.mean_norm
    if kw.get("regime") == "corrupted":
        M = max(M, abs(config.mean_norm - kw.get("corruption_size", config.corruption_size)))
    N = noise_bound(kw.get("noise", 0.0) if kw.get("regime") != "adversarial" else 0.0, config.d, config.horizon)
    return (R + M + N) if family == "quadratic" else (M + N)


def _grad_norms(family: str, losses: np.ndarray, data: np.ndarray) -> np.ndarray:
    """``||grad f_t(x_t)||`` from the losses (the formulas of the module docstring)."""
    if family == "quadratic":
        return np.sqrt(2.0 * np.maximum(losses, 0.0))
    if family == "linear":
        return np.linalg.norm(data, axis=1)
    return (1.0 - np.exp(-losses)) * np.linalg.norm(data, axis=1)


def _grad_sup(family: str, data: np.ndarray, radius: float) -> float:
    """``max_t sup_{||x|| <= R} ||grad f_t(x)||``."""
    nrm = np.linalg.norm(data, axis=1)
    if family == "quadratic":
        return float(np.max(radius + nrm))
    if family == "linear":
        return float(np.max(nrm))
    return float(np.max(nrm / (1.0 + np.exp(-radius * nrm))))


# --------------------------------------------------------------------------------------------
# learners
# --------------------------------------------------------------------------------------------


def smoothness(config: Config, family: str) -> float:
    """``L`` of ``F_t``: 1 for the quadratic; ``||a||^2 / 4`` for the logistic loss (``sigmoid' <=
    1/4``); the linear loss is 0-smooth, and any ``L > 0`` bounds it: we keep 1."""
    return config.mean_norm ** 2 / 4.0 if family == "logistic" else 1.0


def learners(config: Config, G: float, strongly_convex: bool = False, horizon: int | None = None,
             L: float = 1.0) -> dict:
    """The methods of the module docstring, for gradient bound ``G`` and smoothness ``L``
    (fresh instances)."""
    from onlinekit.oco import OMD, DynamicOMD, L2Ball, OptimisticFTRL, OptimisticOMD

    T = int(horizon or config.horizon)
    D = 2.0 * config.radius
    ball = L2Ball(config.radius)
    d = config.d
    if strongly_convex:
        return {
            "ogd-sc": OMD(n_dims=d, domain=ball, schedule="strongly-convex", strong_convexity=1.0, lr=1.0),
            "optimistic-omd-sc": OptimisticOMD(n_dims=d, domain=ball, schedule="strongly-convex",
                                               strong_convexity=1.0, lr=1.0),
        }
    delta = 1.0 + 4 * G * G
    return {
        "ogd": OMD(n_dims=d, domain=ball, schedule="constant", lr=D / (G * math.sqrt(T))),
        "ogd-anytime": OMD(n_dims=d, domain=ball, schedule="sqrt", lr=D / G),
        "optimistic-omd": OptimisticOMD(n_dims=d, domain=ball, schedule="variation", lr=D, delta=delta),
        "omd-zero-hint": OMD(n_dims=d, domain=ball, schedule="adagrad", lr=D, delta=delta),
        "omd-no-hint-same-eta": OptimisticOMD(n_dims=d, domain=ball, schedule="variation", lr=D, delta=delta,
                                              hint=None),
        "optimistic-ftrl": OptimisticFTRL(n_dims=d, radius=config.radius, smoothness=L, grad_bound=G),
        "dynamic-omd": DynamicOMD(n_dims=d, horizon=T, radius=config.radius, smoothness=L, grad_bound=G),
    }


def sweep_learner(config: Config, G: float):
    """The one method of the ``T`` sweep: optimistic OMD with the paper's anytime rule."""
    return learners(config, G)["optimistic-omd"]


def ons_learner(config: Config, G: float):
    """ONS with the paper's ``gamma``, ``epsilon`` for ``alpha = lambda / G^2`` (``lambda = 1``)."""
    from onlinekit.oco import ONS, L2Ball

    return ONS(n_dims=config.d, domain=L2Ball(config.radius), exp_concavity=1.0 / (G * G), grad_bound=G)


# --------------------------------------------------------------------------------------------
# one seed
# --------------------------------------------------------------------------------------------


def _variations(grad_u: np.ndarray) -> tuple[float, float]:
    """``(sum ||g_t - g_{t-1}||^2, sum ||g_t||^2)`` of the gradients at the comparator: the
    leading terms of the regret bound with the last-gradient hint and with the zero hint."""
    return float(np.sum(np.diff(grad_u, axis=0) ** 2) + grad_u[0] @ grad_u[0]), float(np.sum(grad_u * grad_u))


def run(config: Config, seed: int) -> dict:
    """One seed: every regime and method, then the ``T`` and ``Sigma`` sweeps."""
    from onlinekit.oco import LinearLoss, QuadraticLoss
    from onlinekit.streams.sea import SEAStream

    T = config.horizon
    idx = np.unique(np.geomspace(1, T, config.n_points).astype(int)) - 1
    rows, curves = [], {}
    for k, (label, kw) in enumerate(regimes(config)):
        rseed = (seed + 7919 * k) % (2**63)
        family = loss_family(label)
        if family == "logistic":
            rows_k, curve = _run_logistic(config, rseed, kw, idx)
            rows += [{"regime": label, **r} for r in rows_k]
            curves[f"regret-{label}"] = curve
            continue
        src = SEAStream(n=T, d=config.d, mean_norm=config.mean_norm, seed=rseed, **kw)
        xi, mu, _ = src.arrays()
        sigma2, Sigma2 = src.sigma2(), src.Sigma2()
        G = grad_bound(config, family, kw)
        sup = _grad_sup(family, xi, config.radius)
        mn = np.linalg.norm(mu, axis=1)
        drifting = label in DRIFTING
        if family == "linear":  # F_t is minimised at -R mu_t / ||mu_t||
            u = -config.radius * mu / np.maximum(mn, 1e-300)[:, None]
            f_u = np.sum(u * xi, axis=1)
            grad_u = xi
        else:
            u = mu * np.minimum(1.0, config.radius / np.maximum(mn, 1e-300))[:, None]
            f_u = 0.5 * np.sum((u - xi) ** 2, axis=1)
            if drifting:
                grad_u = u - xi
            else:  # the static comparator: the projected mean of all xi
                m = xi.mean(axis=0)
                ustat = m * min(1.0, config.radius / max(float(np.linalg.norm(m)), 1e-300))
                grad_u = ustat - xi
        v_hint, v_zero = _variations(grad_u)
        series = {}
        for name, learner in learners(config, G, label == "strongly-convex").items():
            if family == "linear":
                losses = learner.update_many(LinearLoss(xi))
                reg = prefix_regret_linear(xi, losses, config.radius)
            else:
                losses = learner.update_many(QuadraticLoss(xi))
                reg = prefix_regret(xi, losses, config.radius)
            dyn = np.cumsum(losses - f_u)
            series[name] = (dyn if drifting else reg)[idx]
            rows.append({"regime": label, "method": name, "regret": float(reg[-1]), "dynamic_regret": float(dyn[-1]),
                         "regret_quarter": float(reg[T // 4 - 1]), "regret_half": float(reg[T // 2 - 1]),
                         "sigma2": sigma2, "Sigma2": Sigma2, "mu_norm2": float(mu[0] @ mu[0]),
                         "G": G, "grad_sup": sup,
                         "grad_seen": float(np.max(_grad_norms(family, losses, xi))),
                         "v_hint": v_hint, "v_zero": v_zero})
        curves[f"regret-{label}"] = {"x": idx + 1, "series": series, "xlabel": "t",
                                     "ylabel": "dynamic regret" if drifting else "regret R_t", "logx": True}
        if label == "fixed":
            # OptimisticOMD(hint=None) and OMD with the same schedule, bit for bit
            from onlinekit.oco import OMD, L2Ball, OptimisticOMD

            kw2 = dict(n_dims=config.d, domain=L2Ball(config.radius), schedule="variation", lr=2 * config.radius)
            a = OMD(**kw2).update_many(QuadraticLoss(xi))
            b = OptimisticOMD(hint=None, **kw2).update_many(QuadraticLoss(xi))
            rows.append({"regime": label, "method": "omd-vs-optimistic-no-hint",
                         "n_different_rounds": float(np.count_nonzero(a != b))})
    r_sweep, c_sweep = _t_sweep(config, seed)
    r_sig, c_sig = _sigma_sweep(config, seed)
    curves.update(c_sweep)
    curves.update(c_sig)
    return {"rows": rows + r_sweep + r_sig, "curves": curves}


def sweep_horizons(config: Config) -> np.ndarray:
    """The horizons of the ``T`` sweep: ``sweep_points`` geometric values up to ``sweep_horizon``,
    starting at ``sweep_horizon / 64`` (``/ 16`` when that is below 256)."""
    Tm = config.sweep_horizon
    lo = Tm // 64 if Tm // 64 >= 256 else max(Tm // 16, 2)
    return np.unique(np.geomspace(lo, Tm, config.sweep_points).astype(int))


def _t_sweep(config: Config, seed: int):
    from onlinekit.oco import QuadraticLoss
    from onlinekit.streams.sea import SEAStream

    kw = {"regime": "iid", "noise": config.sc_noise}
    src = SEAStream(n=config.sweep_horizon, d=config.d, mean_norm=config.mean_norm, seed=(seed + 104729) % 2**63,
                    **kw)
    xi = src.arrays()[0]
    cfg = dataclasses.replace(config, horizon=config.sweep_horizon)
    G = grad_bound(cfg, "quadratic", kw)
    Ts = sweep_horizons(config)
    rows, series = [], {}
    runs = {"sweep": sweep_learner(config, G), "ogd-anytime": learners(cfg, G)["ogd-anytime"]}
    for name, learner in runs.items():
        reg = prefix_regret(xi, learner.update_many(QuadraticLoss(xi)), config.radius)
        series[name] = reg[Ts - 1]
        rows += [{"regime": "T-sweep", "method": name, "T": int(t), "regret": float(reg[t - 1])} for t in Ts]
    n_ons = min(config.ons_horizon, config.sweep_horizon)
    ons = ons_learner(dataclasses.replace(config, horizon=n_ons), G)
    reg = prefix_regret(xi[:n_ons], ons.update_many(QuadraticLoss(xi[:n_ons])), config.radius)
    Tons = Ts[Ts <= n_ons]
    rows += [{"regime": "T-sweep", "method": "ons", "T": int(t), "regret": float(reg[t - 1]), "G": G}
             for t in Tons]
    curve = {"x": Ts, "series": series, "xlabel": "horizon T", "ylabel": "regret R_T", "logx": True}
    return rows, {"T-sweep": curve}


def _sigma_sweep(config: Config, seed: int):
    from onlinekit.oco import QuadraticLoss
    from onlinekit.streams.sea import SEAStream

    T = config.horizon
    rows, series = [], {"dynamic-omd": [], "optimistic-omd": []}
    for v in config.sigma_drifts:
        kw = {"regime": "adversarial", "drift": float(v)}
        src = SEAStream(n=T, d=config.d, mean_norm=config.mean_norm, seed=(seed + 15485863) % 2**63, **kw)
        xi, mu, _ = src.arrays()
        u = mu * np.minimum(1.0, config.radius / np.maximum(np.linalg.norm(mu, axis=1), 1e-300))[:, None]
        f_u = 0.5 * np.sum((u - xi) ** 2, axis=1)
        path = float(np.sum(np.linalg.norm(np.diff(u, axis=0), axis=1)))
        G = grad_bound(config, "quadratic", kw)
        made = learners(config, G)
        for name in series:
            dyn = float(np.sum(made[name].update_many(QuadraticLoss(xi)) - f_u))
            series[name].append(dyn)
            rows.append({"regime": "Sigma-sweep", "method": name, "drift": float(v), "Sigma2": src.Sigma2(),
                         "path_length": path, "dynamic_regret": dyn})
    Sig = [r["Sigma2"] for r in rows if r["method"] == "dynamic-omd"]
    curve = {"x": np.asarray(Sig), "series": {k: np.asarray(s) for k, s in series.items()},
             "xlabel": "Sigma^2_{1:T}", "ylabel": "dynamic regret", "logx": True}
    return rows, {"Sigma-sweep": curve}


def _run_logistic(config: Config, seed: int, kw: dict, idx: np.ndarray):
    from onlinekit.oco import LogisticLoss
    from onlinekit.streams.sea import SEALogisticStream

    T = config.horizon
    src = SEALogisticStream(n=T, d=config.d, mean_norm=config.mean_norm, radius=config.radius, seed=seed, **kw)
    a, y, _ = src.arrays()
    sigma2, Sigma2 = src.sigma2(), src.Sigma2()
    # a drifting regime: judged and plotted by dynamic regret; the static regret (one
    # hindsight solve, the costly part) only at the end
    at = np.array([T - 1])
    u = src.minimisers()
    zu = np.sum(a * u, axis=1)
    f_u = np.logaddexp(0.0, zu) - y * zu
    grad_u = ((1.0 / (1.0 + np.exp(-zu))) - y)[:, None] * a
    v_hint, v_zero = _variations(grad_u)
    best = hindsight_logistic(a, y, config.radius, at)   # shared by every method
    G = grad_bound(config, "logistic")
    sup = _grad_sup("logistic", a, config.radius)
    rows, series = [], {}
    for name, learner in learners(config, G, L=smoothness(config, "logistic")).items():
        losses = learner.update_many(LogisticLoss(a, y))
        reg = prefix_regret_logistic(a, y, losses, config.radius, at, best)
        dyn = np.cumsum(losses - f_u)
        series[name] = dyn[idx]
        rows.append({"method": name, "regret": float(reg[-1]), "dynamic_regret": float(dyn[-1]),
                     "sigma2": sigma2, "Sigma2": Sigma2, "mu_norm2": float(a[0] @ a[0]),
                     "G": G, "grad_sup": sup, "grad_seen": float(np.max(_grad_norms("logistic", losses, a))),
                     "v_hint": v_hint, "v_zero": v_zero})
    return rows, {"x": idx + 1, "series": series, "xlabel": "t", "ylabel": "dynamic regret", "logx": True}


# --------------------------------------------------------------------------------------------
# claims
# --------------------------------------------------------------------------------------------


def compare(config: Config, results: list[dict]) -> list:
    """Rows of ``comparison.md``: :func:`onlinekit.experiments._sea_compare.compare` (the tests
    are listed there)."""
    from onlinekit.experiments import _sea_compare

    return _sea_compare.compare(config, results)


def check(config: Config, results: list[dict]) -> list[str]:
    """The failed rows of :func:`compare`."""
    from onlinekit.experiments.comparison import failures

    return failures(compare(config, results))
