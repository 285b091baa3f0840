import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.engine import replay, simulate
from onlinekit.metrics import Accuracy, CumulativeLoss, Regret
from onlinekit.oco import OGD
from onlinekit.streams import ArraySource, Schema, Step, Stream
from onlinekit.streams.synthetic import LinearRegression


def _data(n=3000, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    return X, y


def test_replay_is_predict_then_learn():
    X, y = _data(500)
    rep = replay(OGD(lr=0.05), (X, y), metrics=[CumulativeLoss("squared")], record_every=100)
    ref = OGD(lr=0.05)
    total = 0.0
    for i in range(len(X)):
        p = ref.predict_one(X[i])
        total += (p - y[i]) ** 2
        ref.learn_one(X[i], y[i])
    assert rep.summary["squared_loss"] == pytest.approx(total, rel=1e-12)
    assert rep.series["events"] == [100.0, 200.0, 300.0, 400.0, 500.0]


def test_block_size_does_not_change_results():
    X, y = _data(1000)
    reps = []
    for bs in (1, 7, 1000):
        st = Stream(ArraySource(X=X, y=y), Schema(target="y"), block_size=bs)
        reps.append(replay(OGD(lr=0.05), st, metrics=[CumulativeLoss(), Regret()], record_every=250))
    for r in reps[1:]:
        assert r.series == reps[0].series


def test_checkpoint_resume_identical(tmp_path):
    src = LinearRegression(n=20_000, d=5, seed=3)

    def run(**kw):
        st = Stream(src, Schema(target="y"), block_size=3000)
        return replay(OGD(lr=0.02, schedule="sqrt"), st, metrics=[CumulativeLoss(), Regret()],
                      record_every=1000, **kw)

    full = run()
    ck = tmp_path / "ck.npz"
    part = run(checkpoint=ck, checkpoint_every=5000, max_events=7500)  # "crash" at 7500
    assert part.n_events == 7500 and ck.exists()
    resumed = run(checkpoint=ck, checkpoint_every=5000, resume=True)
    assert resumed.resumed_from == 7500
    assert resumed.series == full.series
    assert {k: v for k, v in resumed.summary.items() if k != "events_per_s"} == \
        {k: v for k, v in full.summary.items() if k != "events_per_s"}


def test_checkpoint_from_other_learner_is_refused(tmp_path):
    X, y = _data(100)
    ck = tmp_path / "ck.npz"
    replay(OGD(lr=0.1), (X, y), checkpoint=ck, checkpoint_every=50)
    with pytest.raises(ValueError, match="checkpoint"):
        replay(OGD(lr=0.2), (X, y), checkpoint=ck, resume=True)


def test_skip_mode_counts_and_drops_bad_rows():
    X, y = _data(100)
    X[10, 1] = np.nan
    y[20] = np.inf
    st = Stream(ArraySource(X=X, y=y), Schema(target="y"), errors="skip", block_size=16)
    rep = replay(OGD(lr=0.05), st, metrics=[CumulativeLoss()])
    assert rep.n_events == 98 and rep.skipped == 2
    assert "row 10" in rep.bad_rows[0] and "x1" in rep.bad_rows[0]
    keep = np.ones(100, bool)
    keep[[10, 20]] = False
    ref = replay(OGD(lr=0.05), (X[keep], y[keep]), metrics=[CumulativeLoss()])
    assert ref.summary["squared_loss"] == rep.summary["squared_loss"]


def test_raise_mode_names_row_and_column():
    X, y = _data(50)
    X[30, 2] = np.nan
    with pytest.raises(ValueError, match=r"row 30, column 'x2': non-finite"):
        replay(OGD(), Stream(ArraySource(X=X, y=y), Schema(target="y")))


def test_river_model_runs_through_fallback_path():
    from river import linear_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] > 0).astype(float)
    rep = replay(linear_model.LogisticRegression(), (X, y), metrics=[Accuracy()])
    assert rep.summary["accuracy"] > 0.8


def test_invalid_event_gets_stream_offset_in_both_paths():
    from onlinekit.base import Learner

    class Picky(Learner):
        """Per-event only (no predict_learn_many): rejects targets that are not integers."""

        def __init__(self):
            self.reset()

        def _reset(self):
            self.n_ = 0

        def predict_one(self, x):
            return 0.0

        def learn_one(self, x, y, **kw):
            if y != int(y):
                raise InvalidEvent("not an integer", field="y")
            self.n_ += 1

    X = np.ones((5, 1))
    y = np.array([0.0, 1.0, 0.5, 1.0, 0.0])
    for learner in (Picky(), OGD(loss="logistic")):
        st = Stream(ArraySource(X=X, y=y), Schema(target="y"), block_size=2)
        with pytest.raises(InvalidEvent) as ei:
            replay(learner, st)
        assert ei.value.offset == 2


class _Bandit:
    """Two-armed Bernoulli bandit environment with known means."""

    def __init__(self, means=(0.3, 0.7)):
        self.means = np.asarray(means)

    def reset(self, seed=None):
        self.rng = np.random.default_rng(seed)
        return None

    def step(self, a):
        r = float(self.rng.random() < self.means[a])
        return Step(feedback=r, obs=None, reward=r,
                    info={"optimal_reward": self.means.max(), "expected_reward": self.means[a]})


class _Greedy:
    def __init__(self):
        self.n = np.zeros(2)
        self.s = np.zeros(2)

    def act(self, obs):
        return int(np.argmax((self.s + 1) / (self.n + 1)))

    def update(self, obs, a, r):
        self.n[a] += 1
        self.s[a] += r


def test_simulate_seeds_and_regret():
    a = simulate(_Greedy(), _Bandit(), 500, seed=1)
    b = simulate(_Greedy(), _Bandit(), 500, seed=1)
    assert a.series == b.series
    exp = a.series["regret"][-1]
    # pseudo-regret = sum over rounds of (0.7 - mean of chosen arm)
    assert exp == pytest.approx(0.4 * (500 - a.policy.n[1]))
    assert a.summary["reward"] == a.series["reward"][-1]
