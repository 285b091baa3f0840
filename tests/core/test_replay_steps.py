"""The replay pieces shared by ``engine.replay`` and ``protocols.replay_log``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from onlinekit._replay import Interrupted, cut_points
from onlinekit.engine import iter_replay, replay, with_metrics
from onlinekit.metrics import CumulativeLoss
from onlinekit.oco import OGD
from onlinekit.streams import ArraySource, Schema, Stream


@given(st.integers(0, 50), st.integers(0, 40), st.integers(1, 9), st.one_of(st.none(), st.integers(1, 120)))
def test_cut_points_cover_the_block_and_cross_no_record_point(n, length, every, max_events):
    pieces = list(cut_points(n, length, every, max_events))
    stop = length if max_events is None else max(0, min(length, max_events - n))
    ends = [j for _, j in pieces]
    assert [i for i, _ in pieces] == ([0] + ends[:-1] if pieces else [])  # contiguous from 0
    assert (pieces[-1][1] if pieces else 0) == stop
    for i, j in pieces:  # brute force: no multiple of `every` strictly inside a piece
        assert i < j
        assert not any((n + k) % every == 0 for k in range(i + 1, j))
        assert max_events is None or n + j <= max_events


def test_iter_replay_is_predict_then_learn_event_by_event():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(700, 3))
    y = X @ np.array([0.5, -1.0, 2.0])
    st_ = Stream(ArraySource(X=X, y=y), Schema(target="y"), block_size=128)
    steps = list(with_metrics(iter_replay(OGD(lr=0.05), st_, record_every=100), [CumulativeLoss()]))
    preds = np.concatenate([s.out for s in steps])
    ref, want = OGD(lr=0.05), []
    for i in range(len(X)):
        want.append(ref.predict_one(X[i]))
        ref.learn_one(X[i], y[i])
    assert np.array_equal(preds, np.array(want))
    assert all(s.n_events % 100 == 0 or s.last for s in steps)  # pieces end at record points or block ends


class _Stop(OGD):
    """OGD that is interrupted (Ctrl-C) when it has learned ``at`` events."""

    def __init__(self, lr=0.05, at=10**9):
        self.at = at
        super().__init__(lr=lr)

    def predict_learn_many(self, X, y, **kw):
        if getattr(self, "seen_", 0) + len(X) > self.at:
            raise KeyboardInterrupt
        self.seen_ = getattr(self, "seen_", 0) + len(X)
        return super().predict_learn_many(X, y, **kw)


def test_ctrl_c_names_the_events_done_and_the_checkpoint(tmp_path):
    X = np.random.default_rng(0).normal(size=(1000, 2))
    y = X.sum(axis=1)
    ck = tmp_path / "ck.npz"
    with pytest.raises(Interrupted) as info:
        replay(_Stop(at=650), Stream(ArraySource(X=X, y=y), Schema(target="y"), block_size=100),
               checkpoint=ck, checkpoint_every=300, record_every=50)
    assert info.value.events == 650 and info.value.checkpoint_events == 600
    assert "--resume" in str(info.value) and ck.exists()


def test_log_replay_refuses_a_checkpoint_of_other_columns(tmp_path):
    from onlinekit.experts import Hedge
    from onlinekit.protocols import replay_log

    L = np.random.default_rng(0).random((300, 2))
    src = ArraySource(columns={"a": L[:, 0], "b": L[:, 1]})
    ck = tmp_path / "ck.npz"
    replay_log(Hedge(n_experts=2), src, {"experts": ("a", "b")}, checkpoint=ck, checkpoint_every=100)
    with pytest.raises(ValueError, match="resume with the same source and columns"):
        replay_log(Hedge(n_experts=2), src, {"experts": ("b", "a")}, checkpoint=ck, resume=True)
    rep = replay_log(Hedge(n_experts=2), src, {"experts": ("a", "b")}, checkpoint=ck, resume=True)
    assert rep.resumed_from == 300 and rep.n_events == 300
