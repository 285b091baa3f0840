"""Autobidding speed: auctions/s of the environment, SGD-UCB decisions/s, LP re-solve with/without DPP.

* ``auctions_per_s_lp`` / ``auctions_per_s_pacing``: :class:`MultiChannelAuctions` periods
  (3 channels, 2/4/6 competitors, 1,000 auctions per channel and period) timed end to end
  through ``env.step`` (draws, numba auction loop, competitor updates), with exact-LP and
  dual-pacing channel bidders; ``kernel_auctions_per_s_*``: the numba kernel alone on
  pre-drawn values (4 competitors).
* ``decisions_per_s``: :class:`SGDUCBBudgeter` ``act`` + ``update`` pairs (3 channels,
  11 budgets) on synthetic feedback.
* ``glopt_dpp_ms`` vs ``glopt_rebuild_ms``: one GL-OPT LP solve (600 auctions) re-using the
  DPP-compiled problem vs building and compiling it again; ``grid_lp_*`` the same for the
  grid LP; ``*_speedup`` the ratios. ``glopt_closed_form_ms``: the ratio-threshold closed form.

Numbers are single-process wall clock on a shared machine (noisy).
"""

from __future__ import annotations

import time

import numpy as np


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _env_rate(bidder: str, periods: int, repeats: int) -> float:
    from onlinekit.streams.auctions import MultiChannelAuctions

    env = MultiChannelAuctions(bidder=bidder, rounds_per_period=1000, seed=0)
    b = np.array([0.3, 0.3, 0.3])
    env.step(b)  # compile

    def go():
        for _ in range(periods):
            env.step(b)

    return periods * int(env.n_auctions_.sum()) / _best(go, repeats)


def _kernel_rate(n: int, mode_name: str, repeats: int) -> float:
    """Kernel alone over ``n`` auctions in blocks of 1,000 with *distinct* draws.

    (Re-running one block lets the branch predictor learn its data and inflates the rate
    several-fold, so every block is different.)
    """
    from onlinekit.streams import _auction_kernels as ak

    rng = np.random.default_rng(0)
    m = 1000
    blocks = [(rng.random(m), rng.random((m, 4))) for _ in range(n // m)]
    mult = np.full(4, 0.8)
    z, price = np.empty(m), np.empty(m)
    cv, cs, cw = np.zeros(4), np.zeros(4), np.zeros(4)
    mode = ak.MODE_PACING if mode_name == "pacing" else ak.MODE_LP

    def go():
        for v, vc in blocks:
            ak.run_channel_period(v, vc, mult, mode, ak.AUCTION_SECOND, 0.3 * m, 0.0, 0.05, 10.0,
                                  np.ones(2), z, price, cv, cs, cw)

    go()
    return len(blocks) * m / _best(go, repeats)


def _decision_rate(n: int, repeats: int) -> float:
    from onlinekit.bidding import SGDUCBBudgeter

    rng = np.random.default_rng(0)
    fb = [{"conversion": rng.random(3) * 0.5, "spend": rng.random(3) * 0.3} for _ in range(256)]

    def go():
        pol = SGDUCBBudgeter(grid=np.linspace(0, 1, 11), n_channels=3, total_budget=1.0, target_roi=1.2)
        for t in range(n):
            b = pol.act(None)
            f = fb[t % 256]
            pol.update(None, b, {"conversion": f["conversion"] * (b > 0), "spend": f["spend"] * (b > 0)})

    go()
    return n / _best(go, repeats)


def _lp_times(n_solves: int) -> dict:
    from onlinekit.bidding import GLOptLP, GridLP, glopt

    rng = np.random.default_rng(0)
    N = 600
    inst = [(rng.random(N), rng.random(N), float(rng.uniform(10, 100)), float(rng.uniform(0, 1.5)))
            for _ in range(n_solves)]
    lp = GLOptLP(N)
    lp.solve(*inst[0])  # first solve compiles
    t0 = time.perf_counter()
    for x in inst:
        lp.solve(*x)
    dpp = (time.perf_counter() - t0) / n_solves
    t0 = time.perf_counter()
    for x in inst:
        GLOptLP(N).solve(*x)
    rebuild = (time.perf_counter() - t0) / n_solves
    t0 = time.perf_counter()
    for x in inst:
        glopt(x[0], x[1], x[2], x[3])
    closed = (time.perf_counter() - t0) / n_solves
    V = np.cumsum(rng.random((3, 11)), axis=1)
    D = np.tile(np.linspace(0, 1, 11), (3, 1))
    g = GridLP(3, 11)
    g.solve(V, D, 1.0, 1.2)
    t0 = time.perf_counter()
    for i in range(n_solves):
        g.solve(V, D, 0.5 + i / n_solves, 1.2)
    gdpp = (time.perf_counter() - t0) / n_solves
    t0 = time.perf_counter()
    for i in range(n_solves):
        GridLP(3, 11).solve(V, D, 0.5 + i / n_solves, 1.2)
    grebuild = (time.perf_counter() - t0) / n_solves
    return {
        "glopt_dpp_ms": dpp * 1e3, "glopt_rebuild_ms": rebuild * 1e3, "glopt_dpp_speedup": rebuild / dpp,
        "glopt_closed_form_ms": closed * 1e3, "glopt_closed_form_speedup_vs_dpp": dpp / closed,
        "grid_lp_dpp_ms": gdpp * 1e3, "grid_lp_rebuild_ms": grebuild * 1e3, "grid_lp_dpp_speedup": grebuild / gdpp,
    }


def run(quick: bool = False) -> dict:
    """All figures (``quick``: fewer repetitions)."""
    periods, repeats = (20, 2) if quick else (200, 3)
    out = {
        "auctions_per_s_lp": _env_rate("lp", periods, repeats),
        "auctions_per_s_pacing": _env_rate("pacing", periods, repeats),
        "kernel_auctions_per_s_lp": _kernel_rate(200_000 if quick else 2_000_000, "lp", repeats),
        "kernel_auctions_per_s_pacing": _kernel_rate(200_000 if quick else 2_000_000, "pacing", repeats),
        "decisions_per_s": _decision_rate(2_000 if quick else 20_000, repeats),
    }
    out.update(_lp_times(5 if quick else 30))
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=True), indent=2))
