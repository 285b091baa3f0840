"""The comparison rows of the ``sea-regret`` experiment (:func:`compare`; see
:mod:`onlinekit.experiments.sea_regret` for the instances and methods)."""

from __future__ import annotations

import math

import numpy as np

from onlinekit.experiments.sea_regret import (DRIFTING, OPTIMISM_REGIME, Config, loss_family, regimes,
                                              sweep_horizons)

def _values(results, regime, method, key, **where):
    return np.array([r[key] for res in results for r in res["rows"]
                     if r["regime"] == regime and r["method"] == method
                     and all(r.get(k) == v for k, v in where.items())], dtype=float)


#: Slope window of the ``T`` sweep (theory: 0.5), largest ``G / grad_sup`` (bound valid and not
#: loose by a factor 2), slope window of regret on the noise level (theory: 1).
SQRT_SLOPE = (0.35, 0.65)
MAX_LOOSENESS = 2.0
NOISE_SLOPE = (0.75, 1.25)


def _ablation_note(regime: str, vh: float, vz: float, wins: bool) -> tuple[str, str]:
    """Verdict and explanation of one optimism on/off row."""
    ratio = vh / vz if vz > 0 else float("nan")
    if regime == OPTIMISM_REGIME:
        return ("pass" if wins else "fail"), "sigma = Sigma = 0 and grad F(u) != 0: the hinted bound is O(1)"
    if vz == 0 or (vh < 1e-9 and vz < 1e-9):
        return "info", "noiseless quadratic: the gradient vanishes at the optimum, both variation terms ~ 0"
    if ratio > 1.5:
        return "info", (f"V_hint / V_zero = {ratio:.2f}: the gradient at the optimum is mostly noise, so the last "
                        "gradient is a worse guess than 0 and the hint is not expected to help")
    if wins:
        return "pass", f"V_hint / V_zero = {ratio:.2f}: the hint's bound is smaller, and so is its regret"
    return "differs", (f"V_hint / V_zero = {ratio:.2f}: the hinted bound is smaller, yet the zero hint wins; both "
                       "are upper bounds, and linear losses on a ball with E xi != 0 have fast rates (the ball's "
                       "curvature), so neither bound is tight here")


def compare(config: Config, results: list[dict]) -> list:
    """Rows of ``comparison.md`` (the paper has no experiments: every row is a stated test).

    * gradient bound per loss family: ``grad_seen <= grad_sup <= G < 2 grad_sup`` in every
      seed and regime (valid, and not loose by a factor 2: the quadratic's ``R + ...`` used for
      the linear or logistic loss is 2.4 and 4.8 times too large here);
    * ``sigma = Sigma = 0`` (regime ``fixed``): optimistic OMD's regret does not grow from
      ``T/4`` to ``T`` (up to 3 standard errors + 1e-6 relative);
    * the optimism ablation per regime (hint ``g_{t-1}`` vs hint 0, step
      ``D / sqrt(delta + sum ||g_s - M_s||^2)`` from the hint's own error, and vs the hinted
      learner's step with the hint off): in ``linear-fixed`` (no noise or drift, non-vanishing
      gradient: the hinted bound is ``O(1)``, the zero hint's ``O(sqrt T)``) hint on beats both
      (paired t-test across seeds, p < 0.05; with zero spread: the sign); elsewhere the verdict
      follows the variation terms at the comparator, ``V_hint = sum ||g_t - g_{t-1}||^2`` and
      ``V_zero = sum ||g_t||^2`` (``info`` where ``V_hint > 1.5 V_zero``; ``differs`` where the
      bound favours the hint and the regret does not). Drifting regimes compare dynamic regret;
    * drifting regimes: ``dynamic-omd``'s dynamic regret below the static-tuned ``ogd``'s
      (paired t-test, p < 0.05);
    * i.i.d. regimes: fitted log-log slope of optimistic OMD's regret on the noise level ``s``,
      95 % interval within ``[0.75, 1.25]`` (the bound ``O(sqrt(sigma^2_{1:T}))`` is linear in ``s``);
    * the ``T`` sweep: fitted log-log slope of optimistic OMD's ``R_T`` on ``T``, bootstrap 95 %
      interval over seeds within ``[0.35, 0.65]`` (``O(sqrt(sigma^2_{1:T})) = O(sqrt T)``);
      ``ogd-anytime``'s slope reported;
    * ONS (exp-concave, ``alpha = 1 / G^2``): ``R_T <= 5 (1 / alpha + G D) d ln T`` (Hazan et al.
      2007, Thm. 2) at every horizon of the sweep (``fail`` if not); its slope reported, and
      the row marked ``differs`` because the ``log T`` shape does not appear at these horizons
      (see the row's note);
    * strongly convex: ``ogd-sc``'s regret equals its exact expectation
      ``(||mu||^2 + d s^2) / 2 + (d s^2 / 2) H_{T-1}`` within 3 standard errors;
    * the ``Sigma`` sweep (``info``): fitted slopes of dynamic regret on ``Sigma^2_{1:T}`` and
      the ratio to ``sqrt((1 + P_T + Sigma^2_{1:T})(1 + P_T))``, the bound's shape;
    * optimistic OMD with ``hint=None`` equals OMD bit for bit.
    """
    from onlinekit.experiments.comparison import Claim, mean_spread, paired_order, slope_interval

    rows = []
    n = len(results)
    T = config.horizon
    labels = [lab for lab, _ in regimes(config)]

    # gradient bounds, per loss family
    for fam in ("quadratic", "linear", "logistic"):
        regs = [lab for lab in labels if loss_family(lab) == fam]
        G = np.concatenate([_values(results, lab, m, "G") for lab in regs for m in ("optimistic-omd", "ogd-sc")])
        sup = np.concatenate([_values(results, lab, m, "grad_sup") for lab in regs
                              for m in ("optimistic-omd", "ogd-sc")])
        seen = max(float(np.max(_values(results, lab, m, "grad_seen"))) for lab in regs
                   for m in {r["method"] for res in results for r in res["rows"] if r["regime"] == lab and "G" in r})
        if G.size == 0:
            continue
        loose = float(np.max(G / sup))
        ok = seen <= float(np.max(sup)) * (1 + 1e-9) and bool(np.all(sup <= G * (1 + 1e-9))) and loose <= MAX_LOOSENESS
        rows.append(Claim(f"gradient bound G, {fam} loss", "assumption ||grad f|| <= G",
                          "G bounds every gradient", f"G in [{G.min():.3f}, {G.max():.3f}]; max sup_x ||grad|| = "
                          f"{sup.max():.3f}; max seen = {seen:.3f}; max G / sup = {loose:.2f}",
                          f"seen <= sup <= G <= {MAX_LOOSENESS} sup (every seed, regime)", "pass" if ok else "fail"))

    # sigma = Sigma = 0: bounded regret
    oo_T, oo_q = _values(results, "fixed", "optimistic-omd", "regret"), _values(results, "fixed", "optimistic-omd",
                                                                                "regret_quarter")
    growth = oo_T - oo_q
    se = growth.std(ddof=1) / math.sqrt(n) if n > 1 else 0.0
    ok = abs(growth.mean()) <= 3 * se + 1e-6 * max(1.0, abs(oo_T.mean()))
    rows.append(Claim("sigma = Sigma = 0: optimistic OMD regret bounded (R_T - R_{T/4})", "Thm. (convex, smooth)",
                      "O(1)", f"{mean_spread(growth, 3)}; R_T = {oo_T.mean():.3f}",
                      "|mean| <= 3 se + 1e-6 R_T", "pass" if ok else "fail"))

    # optimism ablation
    for lab in labels:
        if lab == "strongly-convex":
            on_m, offs = "optimistic-omd-sc", ("ogd-sc",)
        else:
            on_m, offs = "optimistic-omd", ("omd-zero-hint", "omd-no-hint-same-eta")
        key = "dynamic_regret" if lab in DRIFTING else "regret"
        on = _values(results, lab, on_m, key)
        vh, vz = float(np.mean(_values(results, lab, on_m, "v_hint"))), float(np.mean(_values(results, lab, on_m,
                                                                                                 "v_zero")))
        wins, parts = True, []
        for off_m in offs:
            off = _values(results, lab, off_m, key)
            d, p = paired_order(on, off)
            wins = wins and d < 0 and p < 0.05
            parts.append(f"{off_m} {mean_spread(off, 3)} (diff {d:.3g}, p = {p:.2g})")
        verdict, note = _ablation_note(lab, vh, vz, wins)
        rows.append(Claim(f"{lab}: optimism on vs off ({key.replace('_', ' ')})", "Thm. (hint g_{t-1})",
                          "hint helps where sum ||g_t - g_{t-1}||^2 << sum ||g_t||^2",
                          f"on {mean_spread(on, 3)}; " + "; ".join(parts),
                          "on < each off: paired t-test, p < 0.05", verdict, note))

    # dynamic regret: the dynamic method against the static-tuned OGD where the optimum moves
    for lab in [lab for lab in labels if lab in DRIFTING]:
        dm, og = _values(results, lab, "dynamic-omd", "dynamic_regret"), _values(results, lab, "ogd", "dynamic_regret")
        d, p = paired_order(dm, og)
        rows.append(Claim(f"{lab}: dynamic-omd dynamic regret < ogd's (eta = D / (G sqrt T))", "Sec. dynamic regret",
                          "O(sqrt((1 + P_T + sigma^2 + Sigma^2)(1 + P_T))) vs O(sqrt(T) (1 + P_T))",
                          f"dynamic-omd {mean_spread(dm, 3)}; ogd {mean_spread(og, 3)} (diff {d:.3g}, p = {p:.2g})",
                          "paired t-test, p < 0.05", "pass" if (d < 0 and p < 0.05) else "fail"))

    # i.i.d.: regret grows like the noise level (O(sigma sqrt T) at fixed T)
    levels = list(config.noise_levels)
    if len(levels) >= 2:
        Yn = np.vstack([[next(r["regret"] for r in res["rows"] if r["regime"] == f"iid-s{s:g}"
                              and r["method"] == "optimistic-omd") for s in levels] for res in results])
        if np.all(Yn > 0):
            est, lo, hi = slope_interval(levels, Yn)
            ok = NOISE_SLOPE[0] <= lo and hi <= NOISE_SLOPE[1]
            rows.append(Claim(f"i.i.d. (s = {levels[0]:g}..{levels[-1]:g}): optimistic OMD regret ~ noise level",
                              "Thm. (O(sqrt(sigma^2_{1:T})) = O(s sqrt(d T)))", "slope 1",
                              f"slope {est:.3f} [{lo:.3f}, {hi:.3f}]", f"95% CI within {list(NOISE_SLOPE)}",
                              "pass" if ok else "fail",
                              "the delta + 4 G^2 offset of the step adds a noise-free term that flattens small s"))

    # T sweep
    Ts = sweep_horizons(config)
    Y = np.vstack([[r["regret"] for r in res["rows"] if r["regime"] == "T-sweep" and r["method"] == "sweep"]
                   for res in results])
    if np.all(Y > 0):
        est, lo, hi = slope_interval(Ts, Y)
        ok = SQRT_SLOPE[0] <= lo and hi <= SQRT_SLOPE[1]
        rows.append(Claim(f"T sweep ({Ts[0]}..{Ts[-1]}): optimistic OMD regret ~ sqrt(T)", "Thm. (i.i.d.: sigma sqrt T)",
                          "slope 0.5", f"slope {est:.3f} [{lo:.3f}, {hi:.3f}]",
                          f"95% CI within {list(SQRT_SLOPE)}", "pass" if ok else "fail"))
    else:
        rows.append(Claim("T sweep: optimistic OMD regret ~ sqrt(T)", "Thm.", "slope 0.5",
                          f"non-positive regret at some T (min {Y.min():.3g})", "slope needs R_T > 0", "fail"))
    Ya = np.vstack([[r["regret"] for r in res["rows"] if r["regime"] == "T-sweep" and r["method"] == "ogd-anytime"]
                    for res in results])
    if np.all(Ya > 0):
        est, lo, hi = slope_interval(Ts, Ya)
        rows.append(Claim("T sweep: ogd-anytime (eta_t = D / (G sqrt t)) regret slope", "Zinkevich 2003",
                          "<= 0.5 (worst case)", f"slope {est:.3f} [{lo:.3f}, {hi:.3f}]", "reported", "info"))

    # ONS
    To = np.array(sorted({r["T"] for res in results for r in res["rows"] if r["regime"] == "T-sweep"
                          and r["method"] == "ons"}))
    if To.size:
        Yo = np.vstack([[r["regret"] for r in res["rows"] if r["regime"] == "T-sweep" and r["method"] == "ons"]
                        for res in results])
        Go = float(np.mean(_values(results, "T-sweep", "ons", "G")))
        bound = 5.0 * (Go * Go + Go * 2 * config.radius) * config.d * np.log(To)
        ok = bool(np.all(Yo <= bound))
        slope = ""
        if np.all(Yo > 0) and To.size >= 2:
            est, lo, hi = slope_interval(To, Yo)
            slope = f"; slope {est:.3f} [{lo:.3f}, {hi:.3f}]"
        rows.append(Claim(f"ONS (alpha = 1/G^2) regret <= 5 (1/alpha + G D) d ln T, T = {To[0]}..{To[-1]}",
                          "Hazan et al. 2007, Thm. 2", f"bound at T = {To[-1]}: {bound[-1]:.0f}",
                          f"R_T = {mean_spread(Yo[:, -1], 3)}{slope}", "R_T <= bound at every T, every seed",
                          "differs" if ok else "fail",
                          "the bound holds, the log T shape does not show: with the paper's gamma = "
                          "min(1/(4GD), alpha)/2 and epsilon = 1/(gamma D)^2, A_t stays near epsilon I until "
                          "sum ||g||^2 >> epsilon, so ONS moves with the near-constant step 1/(gamma epsilon) = "
                          "gamma D^2 and its regret grows like a constant-step OGD's over these horizons "
                          "(epsilon = 1 instead gives growing increments per doubling too)"))

    # strongly convex: exact expectation of ogd-sc
    s = config.sc_noise
    d = config.d
    mu2 = _values(results, "strongly-convex", "ogd-sc", "mu_norm2")
    expected = 0.5 * (mu2.mean() + d * s * s) + 0.5 * d * s * s * sum(1.0 / k for k in range(1, T))
    r_ogd = _values(results, "strongly-convex", "ogd-sc", "regret")
    sd = r_ogd.std(ddof=1) / math.sqrt(n) if n > 1 else 0.0
    ok = abs(r_ogd.mean() - expected) <= 3 * sd + 1e-9
    rows.append(Claim("strongly convex: ogd-sc (eta_t = 1/t) regret = its exact expectation", "closed form (ours)",
                      f"{expected:.4f}", mean_spread(r_ogd, 4), "within 3 standard errors", "pass" if ok else "fail",
                      "OGD with eta_t = 1/t plays the running mean: log T growth"))

    # Sigma sweep
    sig = [r for res in results for r in res["rows"] if r["regime"] == "Sigma-sweep"]
    if sig:
        drifts = list(config.sigma_drifts)
        S2 = np.array([np.mean([r["Sigma2"] for r in sig if r["drift"] == v and r["method"] == "dynamic-omd"])
                       for v in drifts])
        P = np.array([np.mean([r["path_length"] for r in sig if r["drift"] == v and r["method"] == "dynamic-omd"])
                      for v in drifts])
        shape = np.sqrt((1 + P + S2) * (1 + P))
        for m in ("dynamic-omd", "optimistic-omd"):
            Y = np.vstack([[r["dynamic_regret"] for r in res["rows"] if r["regime"] == "Sigma-sweep"
                            and r["method"] == m] for res in results])
            fit = ""
            if np.all(Y > 0) and len(drifts) >= 2:
                est, lo, hi = slope_interval(S2, Y)
                fit = f"slope on Sigma^2 {est:.3f} [{lo:.3f}, {hi:.3f}]; "
            ratio = Y.mean(axis=0) / shape
            rows.append(Claim(f"Sigma sweep (drift {drifts[0]:g}..{drifts[-1]:g}): {m} dynamic regret",
                              "Sec. dynamic regret", "O(sqrt((1 + P_T + Sigma^2)(1 + P_T)))",
                              fit + "D-Reg / bound shape: " + ", ".join(f"{x:.2f}" for x in ratio), "reported",
                              "info", "sigma = 0; one instance, only the rotation speed varies (P_T and Sigma^2 move "
                                      "together); the bound's constant is not stated, so no pass/fail"))

    diffs = _values(results, "fixed", "omd-vs-optimistic-no-hint", "n_different_rounds")
    rows.append(Claim("OptimisticOMD(hint=None) == OMD, same schedule", "definition", "identical",
                      f"{diffs.sum():g} differing rounds", "0 rounds", "pass" if np.all(diffs == 0) else "fail"))
    return rows


