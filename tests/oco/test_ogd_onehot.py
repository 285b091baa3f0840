"""OGD on sparse one-hot blocks equals OGD on the dense matrix, bit for bit.

Oracle: the dense block kernel (``predict_learn_many`` on ``onehot_dense(...)``) and the
per-event ``learn_one`` loop, both compared through the bit patterns of every prediction,
weight and the intercept (so ``-0.0`` vs ``0.0`` counts as a difference). Sabotaged kernels
(one-hot terms summed in reverse order, the ``-0.0`` guard or the weight bound removed) must
fail the same comparisons.
"""

from __future__ import annotations

import inspect
import types

import numpy as np
import pytest

from onlinekit.base import Diverged, InvalidEvent
from onlinekit.oco import OGD, OGDClassifier
from onlinekit.oco import _ogd_kernels as K
from onlinekit.streams.block import onehot_dense


def _bits(a) -> list[int]:
    return np.asarray(a, dtype=np.float64).reshape(-1).view(np.int64).tolist()


def _data(seed: int, n: int = 300, p: int = 4, k: int = 3, levels: int = 6, logistic: bool = False):
    """Numeric block (some exact zeros and -0.0), one-hot indices per categorical column with
    missing cells (-1), unsorted across columns and some repeated columns within a row."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, p))
    num[rng.random((n, p)) < 0.1] = 0.0
    num[rng.random((n, p)) < 0.05] = -0.0
    d = p + k * levels
    base = p + levels * rng.permutation(k)  # column q's levels live in a block not in q order
    hot = base[None, :] + rng.integers(0, levels, size=(n, k))
    hot[rng.random((n, k)) < 0.15] = -1
    dup = rng.random(n) < 0.1  # two categorical columns naming one output column (hash clash)
    hot[dup, 1] = hot[dup, 0]
    z = num @ rng.normal(size=p) + (hot >= 0).sum(axis=1) * 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float) if logistic else z + rng.normal(size=n)
    return num, hot.astype(np.int64), y, d


CONFIGS = [
    dict(loss="squared", lr=0.05),
    dict(loss="squared", lr=0.2, schedule="sqrt"),
    dict(loss="squared", lr=0.05, intercept=False),
    dict(loss="logistic", lr=0.5),
    dict(loss="logistic", lr=0.3, schedule="sqrt", intercept=False),
    dict(loss="squared", lr=0.05, l2=0.01),
    dict(loss="logistic", lr=0.5, radius=1.0),
    dict(loss="squared", lr=0.1, radius=2.0, l2=0.001, schedule="sqrt"),
]


def _pair(cfg, w0=None):
    a, b = OGD(**cfg), OGD(**cfg)
    if w0 is not None:
        for m in (a, b):
            m.grow_features([f"x{j}" for j in range(len(w0))])
            m.w_ = np.array(w0, dtype=np.float64)
    return a, b


def _assert_same(a, b, pa, pb):
    assert _bits(pa) == _bits(pb)
    assert _bits(a.w_) == _bits(b.w_)
    assert _bits(a.bt_) == _bits(b.bt_)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_sparse_equals_dense_block_and_learn_one_loop(cfg, seed):
    num, hot, y, d = _data(seed, logistic=cfg["loss"] == "logistic")
    sparse, dense = _pair(cfg)
    ps = np.concatenate([sparse.predict_learn_onehot(num[:120], hot[:120], y[:120], d),
                         sparse.predict_learn_onehot(num[120:], hot[120:], y[120:], d)])
    X = onehot_dense(num, hot, d)
    pd = dense.predict_learn_many(X, y)
    _assert_same(sparse, dense, ps, pd)
    loop = OGD(**cfg)
    loop.grow_features([f"x{j}" for j in range(d)])
    pl = []
    for i in range(len(y)):
        pl.append(loop.predict_one(X[i]))
        loop.learn_one(X[i], float(y[i]))
    _assert_same(sparse, loop, ps, pl)


def test_classifier_and_encoder_blocks_with_missing_levels_and_hashing():
    """Through the encoder (few levels, hashing past them, missing cells as no level)."""
    from onlinekit.streams.encode import FeatureEncoder

    rng = np.random.default_rng(3)
    n = 2000
    cols = {"x": rng.normal(size=n), "u": rng.normal(size=n) * 100,
            "a": np.array([f"a{v}" for v in rng.integers(0, 9, size=n)], dtype=object),
            "b": np.array([("" if v == 0 else f"b{v}") for v in rng.integers(0, 20, size=n)], dtype=object)}
    y = (rng.random(n) < 0.5).astype(float)
    for grow in (True, False):
        enc = FeatureEncoder(max_levels=3, hash_bits=2, missing="zero", scale="standard", grow=grow)
        enc.setup(list(cols), {"x": "float", "u": "float", "a": "str", "b": "str"})
        parts = [enc.encode_sparse({c: v[s:s + 500] for c, v in cols.items()}, np.ones(500, bool))
                 for s in range(0, n, 500)]
        d = enc.width
        a, b = OGDClassifier(lr=0.5), OGDClassifier(lr=0.5)
        a.grow_features(enc.names_), b.grow_features(enc.names_)
        pa, pb = [], []
        for k, (num, hot) in enumerate(parts):
            assert (hot == -1).any()  # missing cells
            ys = y[500 * k: 500 * (k + 1)]
            pa.append(a.predict_learn_onehot(num, hot, ys, d))
            pb.append(b.predict_learn_many(onehot_dense(num, hot, d), ys))
        _assert_same(a, b, np.concatenate(pa), np.concatenate(pb))


def test_zero_and_huge_weights_take_the_dense_step():
    """-0.0 weights (the dense update flips them to +0.0 when ``p < y``) and a weight whose
    square overflows (the dense step refuses every update) give what the dense kernel gives.
    Both sit in columns past the encoded ones, which are never hot."""
    num, hot, y, d = _data(5, n=60)
    w0 = np.zeros(d + 3)
    w0[d:] = -0.0
    a, b = _pair(dict(loss="squared", lr=0.05), w0)
    X = onehot_dense(num, hot, d + 3)
    _assert_same(a, b, a.predict_learn_onehot(num, hot, y, d + 3), b.predict_learn_many(X, y))
    assert not np.signbit(b.w_[d:]).any()  # the dense path did flip them

    w0 = np.zeros(d + 1)
    w0[:d] = np.random.default_rng(0).normal(size=d)  # a non-zero score: no dense step for that
    w0[d] = 1e200  # its square is inf: the dense dry run refuses the first update
    a, b = _pair(dict(loss="squared", lr=0.05), w0)
    with pytest.raises(Diverged) as ea:
        a.predict_learn_onehot(num, hot, y, d + 1)
    with pytest.raises(Diverged) as eb:
        b.predict_learn_many(onehot_dense(num, hot, d + 1), y)
    assert str(ea.value) == str(eb.value)
    assert _bits(a.w_) == _bits(w0) and a.t_ == 0  # refused: state unchanged


def test_invalid_events_report_the_same_error_and_leave_state_unchanged():
    num, hot, y, d = _data(7, n=50)
    bad_y = y.copy()
    bad_y[17] = np.nan
    bad_x = num.copy()
    bad_x[23, 2] = np.inf
    for args in ((num, bad_y), (bad_x, y)):
        a, b = _pair(dict(loss="squared", lr=0.05))
        with pytest.raises(InvalidEvent) as ea:
            a.predict_learn_onehot(args[0], hot, args[1], d)
        with pytest.raises(InvalidEvent) as eb:
            b.predict_learn_many(onehot_dense(args[0], hot, d), args[1])
        assert str(ea.value) == str(eb.value)
        assert a.t_ == 0 and len(a.w_) == 0
    out_of_range = hot.copy()
    out_of_range[4, 0] = d
    with pytest.raises(InvalidEvent, match=r"onehot\[4\]"):
        OGD().predict_learn_onehot(num, out_of_range, y, d)


def test_replay_of_a_categorical_csv_uses_the_sparse_path_and_equals_dense(tmp_path):
    """End to end (CSV -> encoder -> replay): the sparse block path, the dense block path
    and the per-event loop give the same report and final state."""
    from onlinekit.engine import replay
    from onlinekit.metrics import Accuracy, CumulativeLoss
    from onlinekit.streams import Schema, Stream
    from onlinekit.streams.csv import CSVSource
    from onlinekit.streams.encode import FeatureEncoder

    rng = np.random.default_rng(11)
    path = tmp_path / "log.csv"
    with open(path, "w") as f:
        f.write("c,x,d,y\n")
        for _ in range(3000):
            c = "" if rng.random() < 0.1 else f"L{rng.integers(0, 12)}"
            f.write(f"{c},{rng.normal():.6g},K{rng.integers(0, 40)},{rng.integers(0, 2)}\n")

    calls = []

    class Spy(OGDClassifier):
        def predict_learn_onehot(self, *a, **kw):
            calls.append(1)
            return super().predict_learn_onehot(*a, **kw)

    class DenseBlocks(OGDClassifier):
        predict_learn_onehot = property(lambda self: (_ for _ in ()).throw(AttributeError))

    class PerEvent(DenseBlocks):
        predict_learn_many = property(lambda self: (_ for _ in ()).throw(AttributeError))

    class SeesX(Accuracy):  # a metric that reads X gets the dense matrix; one that does not, None
        uses_X = True

        def __init__(self):
            super().__init__()
            self.seen = []

        def update(self, y, pred, X=None, groups=None, **extra):
            self.seen.append(X.copy())
            super().update(y, pred)

    class NoX(Accuracy):
        def update(self, y, pred, X=None, groups=None, **extra):
            assert X is None
            super().update(y, pred)

    reps, models, seen = [], [], []
    for cls in (Spy, DenseBlocks, PerEvent):
        stream = Stream(CSVSource(path, na_values=("",)), Schema(target="y"), block_size=700,
                        encoder=FeatureEncoder(max_levels=8, hash_bits=3, missing="zero", scale="standard"))
        m = cls(lr=0.3)
        sees = SeesX()
        reps.append(replay(m, stream, record_every=250, metrics=[CumulativeLoss("log"), sees, NoX()]))
        models.append(m)
        seen.append(sees.seen)
    for a, b in zip(seen[0], seen[1], strict=True):
        assert a.shape == b.shape and _bits(a) == _bits(b)
    assert calls  # the sparse path ran
    assert not hasattr(models[1], "predict_learn_onehot") and not hasattr(models[2], "predict_learn_many")
    for r, m in zip(reps[1:], models[1:], strict=True):
        assert r.series == reps[0].series
        assert {k: v for k, v in r.summary.items() if k != "events_per_s"} == \
            {k: v for k, v in reps[0].summary.items() if k != "events_per_s"}
        assert _bits(m.w_) == _bits(models[0].w_) and _bits(m.bt_) == _bits(models[0].bt_)


# -- the comparisons above catch a broken kernel -------------------------------------------------

def _sabotaged(old: str, new: str) -> types.ModuleType:
    """A private copy of the kernels module with ``old`` replaced by ``new``, run as plain
    Python (the same IEEE arithmetic in the same order, without a 3-second compile per copy;
    :func:`test_the_unsabotaged_python_copy_passes_the_checks` shows the copy itself agrees)."""
    src = inspect.getsource(K)
    assert src.count(old) == 1, old
    plain = "def njit(*a, **k):\n    return a[0] if a and callable(a[0]) else (lambda f: f)\n"
    src = src.replace(old, new).replace("from onlinekit._numba import njit\n", plain)
    mod = types.ModuleType("_ogd_kernels_sabotaged")
    exec(compile(src, "<sabotaged _ogd_kernels>", "exec"), mod.__dict__)
    return mod


def _caught(monkeypatch, kernel) -> int:
    """How many of the checks above fail with ``kernel`` as the one-hot block kernel (numpy
    scalars warn on the overflow the huge-weight check provokes; compiled code does not)."""
    monkeypatch.setattr(K, "_predict_learn_onehot", kernel)
    caught = 0
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            test_zero_and_huge_weights_take_the_dense_step()
        except (AssertionError, pytest.fail.Exception):
            caught += 1
        for cfg in CONFIGS[:5]:
            try:
                test_sparse_equals_dense_block_and_learn_one_loop(cfg, 0)
            except AssertionError:
                caught += 1
    return caught


SABOTAGE = {
    "reversed one-hot sum": ("for r in range(m):\n                z += w[cols[r]] * 1.0",
                             "for r in range(m - 1, -1, -1):\n                z += w[cols[r]] * 1.0"),
    "no -0.0 guard": ("(v == 0.0 and math.copysign(1.0, v) < 0.0)", "False"),
    "no weight bound": ("not (abs(v) <= WMAX) or ", ""),
}


@pytest.mark.parametrize("name", list(SABOTAGE))
def test_the_equality_checks_catch_a_sabotaged_kernel(name, monkeypatch):
    import onlinekit.oco.ogd as ogd_mod

    ogd_mod._kernels()
    broken = _sabotaged(*SABOTAGE[name])
    assert _caught(monkeypatch, broken._predict_learn_onehot), f"sabotage '{name}' went unnoticed"


def test_the_unsabotaged_python_copy_passes_the_checks(monkeypatch):
    """The control: the plain-Python copy with nothing replaced passes every check above, so a
    sabotage is caught by what it changed, not by running outside numba."""
    import onlinekit.oco.ogd as ogd_mod

    ogd_mod._kernels()
    same = _sabotaged("OK = -1\n", "OK = -1\n")
    assert _caught(monkeypatch, same._predict_learn_onehot) == 0
