"""Sabotage tests of ``continual-counting``'s check: broken counters and a broken MaxSum must fail it,
the honest quick run must pass it."""

from __future__ import annotations

import numpy as np
import pytest

from onlinekit.experiments import continual_counting as cc


class _ScaledNoise:
    """A counter whose released error is ``scale`` times the honest counter's (same closed forms):
    scale 0 is a counter with no noise, 2 doubles the noise std (MSE ratio 4)."""

    def __init__(self, inner, scale):
        self.inner, self.scale = inner, scale

    def release_many(self, x):
        S = np.cumsum(x)
        return S + self.scale * (self.inner.release_many(x) - S)

    def expected_error(self):
        return self.inner.expected_error()


class _StaleMaxSum:
    """MaxSum that never re-releases: its output stays at the first noisy value."""

    def __init__(self, inner):
        self.inner = inner

    def release_many(self, X):
        y = self.inner.release_many(X)
        return np.full_like(y, y[0])

    def expected_error(self):
        return self.inner.expected_error()

    def clone(self, **kw):
        return self.inner.clone(**kw)


def _results(config, seeds=(1, 2)):
    return [cc.run(config, s) for s in seeds]


@pytest.fixture(scope="module")
def config():
    return cc.Config.quick()


@pytest.fixture(scope="module")
def honest(config):
    return _results(config)


def test_honest_quick_run_passes(config, honest):
    assert cc.check(config, honest) == []
    verdicts = {c.claim: c.verdict for c in cc.compare(config, honest)}
    assert set(verdicts.values()) <= {"pass", "info", "differs"}
    assert [k for k, v in verdicts.items() if v == "differs"] == ["SumSelect counters route: exponent of max error in d (T=2000)"]


@pytest.mark.parametrize("scale", [0.0, 2.0, np.sqrt(2.9)], ids=["no-noise", "doubled-std", "ratio-2.9"])
def test_scaled_noise_counter_fails(config, monkeypatch, scale):
    """The counter part at the quick run counts; the MaxSum part shrunk (its rows are not counted here)."""
    from dataclasses import replace

    small = replace(config, maxsum_Ts=(500, 1000), maxsum_ds=(4, 8), maxsum_d_T=500, maxsum_reps=1)
    honest_counter = cc._counter
    monkeypatch.setattr(cc, "_counter", lambda *a: _ScaledNoise(honest_counter(*a), scale))
    fails = cc.check(small, _results(small))
    mse_fails = [f for f in fails if "MSE / closed form" in f]
    # every counter row (3 methods x 3 T + 3 methods x 3 small T) fails the MSE test
    assert len(mse_fails) == 18, fails


def test_stale_maxsum_fails(config, monkeypatch):
    honest_sel = cc._selector
    monkeypatch.setattr(cc, "_selector", lambda kind, *a: (_StaleMaxSum(honest_sel(kind, *a)) if kind == "MaxSum"
                                                           else honest_sel(kind, *a)))
    fails = cc.check(config, _results(config))
    assert any("MaxSum svt route: exponent of max error in T" in f for f in fails), fails
    assert any("above their max_error_bound" in f for f in fails), fails


def test_mse_ratio_test_sizes():
    """The MSE test at the run counts used (quick: 20 runs, full: 80): a counter with MSE ratio
    2.9 fails, an honest one passes, on chi-square-like per-run MSEs (3 degrees of freedom:
    coefficient of variation 0.82, above the largest seen, about 0.6 for the sqrt counter at
    small T)."""
    rng = np.random.default_rng(3)
    for n in (20, 80):
        runs = rng.chisquare(3, size=n) / 3
        assert cc.mse_ratio_test(runs, 1.0, k=18)[3]
        assert not cc.mse_ratio_test(2.9 * runs, 1.0, k=18)[3]
