"""Sabotage tests of ``aranyani-adult``'s ``check``: broken variants must fail it, the honest run must not.

Each sabotage replaces :class:`onlinekit.fair.aranyani.Aranyani` (the class ``run`` looks up at
call time) with a broken subclass and runs the quick configuration on the real Adult stream
(skipped when ``$ONLINEKIT_DATA`` lacks it); the baselines other than the majority mix are left
out to keep the runs short (their rows only add ordering rows, which never fail but against
the majority mix).
"""

import dataclasses

import numpy as np
import pytest

from onlinekit.data import data_home

ADULT = data_home() / "adult" / "adult.data"
COMPAS = data_home() / "compas" / "compas-scores-two-years.csv"
pytestmark = pytest.mark.skipif(not ADULT.exists(), reason=f"{ADULT} not present (run `onlinekit data fetch adult`)")


def _cfg(**kw):
    from onlinekit.experiments.aranyani_adult import Config

    return dataclasses.replace(Config.quick(), data=str(ADULT), baselines=("majority",), **kw)


def _check(cfg):
    from onlinekit.experiments.aranyani_adult import check, run

    return check(cfg, [run(cfg, s) for s in range(cfg.n_seeds)])


def _ignore_lambda():
    from onlinekit.fair.aranyani import Aranyani

    class NoFairnessGradient(Aranyani):
        """Keeps the group statistics but hands the kernel lambda = 0: the fairness gradient is dropped."""

        def _fair_state(self):
            st = super()._fair_state()
            return st[:4] + (0.0,) + st[5:]

    return NoFairnessGradient


def _constant(label_when):
    from onlinekit.fair.aranyani import Aranyani

    class Constant(Aranyani):
        """Learns as usual but reports P(y = 1) = label (0 or 1) when ``label_when(lambda_)``."""

        def predict_learn_many(self, X, y, *, sensitive=None, **kwargs):
            p = super().predict_learn_many(X, y, sensitive=sensitive, **kwargs)
            return np.full_like(p, 1.0) if label_when(self.lambda_) else p

        def predict_proba_many(self, X):
            p = super().predict_proba_many(X)
            return np.full_like(p, 1.0) if label_when(self.lambda_) else p

    return Constant


def test_honest_quick_run_passes():
    assert _check(_cfg()) == []


def test_lambda_ignored_fails(monkeypatch):
    import onlinekit.fair.aranyani as mod

    monkeypatch.setattr(mod, "Aranyani", _ignore_lambda())
    fails = _check(_cfg())
    assert any("DP gap of the predictions falls" in f for f in fails), fails


def test_constant_predictor_fails(monkeypatch):
    import onlinekit.fair.aranyani as mod
    from onlinekit.fair.aranyani import Aranyani

    class MajorityOnly(Aranyani):
        """Predicts the majority label 0 at every lambda (accuracy = majority rate, DP = 0)."""

        def predict_learn_many(self, X, y, *, sensitive=None, **kwargs):
            super().predict_learn_many(X, y, sensitive=sensitive, **kwargs)
            return np.zeros(len(y))

        def predict_proba_many(self, X):
            return np.zeros(len(X))

    monkeypatch.setattr(mod, "Aranyani", MajorityOnly)
    fails = _check(_cfg())
    assert any("accuracy clearly above the majority class" in f for f in fails), fails
    assert any("DP gap of the order of the labels" in f for f in fails), fails


def test_unbounded_accuracy_loss_fails(monkeypatch):
    """Fair but useless at lambda > 0 (always the minority label: DP 0, accuracy ~0.24)."""
    import onlinekit.fair.aranyani as mod

    monkeypatch.setattr(mod, "Aranyani", _constant(lambda lam: lam > 0))
    fails = _check(_cfg())
    assert any("accuracy loss vs lambda = 0 is bounded" in f for f in fails), fails


@pytest.mark.skipif(not COMPAS.exists(), reason=f"{COMPAS} not present (run `onlinekit data fetch compas`)")
def test_lambda_ignored_fails_on_compas(monkeypatch):
    import onlinekit.fair.aranyani as mod

    cfg = dataclasses.replace(_cfg(), dataset="compas", data=str(COMPAS), n_rows=0)
    assert _check(cfg) == []
    monkeypatch.setattr(mod, "Aranyani", _ignore_lambda())
    fails = _check(cfg)
    assert any("DP gap of the predictions falls" in f for f in fails), fails
