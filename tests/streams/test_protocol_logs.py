"""Generated logs for the oco and release protocols: seeded, written to CSV and replayed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onlinekit.oco import OMD, OptimisticOMD
from onlinekit.privacy import MaxSum, TreeCounter
from onlinekit.protocols import get_protocol, replay_log
from onlinekit.protocols.release import read_releases
from onlinekit.streams import open_source
from onlinekit.streams.errors import StreamError
from onlinekit.streams.protocol_logs import Counts, OCOGradients, write_csv


def _all(src):
    return {k: np.concatenate([c.columns[k] for c in src.chunks(chunk_size=997)]) for k in src.column_names()}


def test_generators_are_seeded_and_chunk_independent():
    a = _all(open_source("synthetic:oco-gradients?n=3000&d=2&hints=1&seed=4"))
    b = _all(OCOGradients(n=3000, d=2, hints=1, seed=4))
    assert a.keys() == b.keys() == {"g0", "g1", "h0", "h1"}
    assert all(np.array_equal(a[k], b[k]) for k in a)
    c = _all(OCOGradients(n=3000, d=2, hints=1, seed=5))
    assert not np.array_equal(a["g0"], c["g0"])
    counts = _all(open_source("synthetic:counts?n=5000&d=3&p=0.2&bound=4&seed=1"))
    assert set(counts) == {"c0", "c1", "c2"}
    C = np.column_stack([counts[k] for k in ("c0", "c1", "c2")])
    assert set(np.unique(C)) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    # Binomial(4, p_j) means 4 p_j, p_j = 2 * 0.2 * (j+1) / 4: within 5 standard errors
    rates = 2 * 0.2 * np.arange(1, 4) / 4
    se = np.sqrt(4 * rates * (1 - rates) / 5000)
    assert np.all(np.abs(C.mean(axis=0) - 4 * rates) <= 5 * se)


def test_generator_errors():
    with pytest.raises(StreamError, match="d must be"):
        OCOGradients(d=0)
    with pytest.raises(StreamError, match="rate"):
        Counts(d=3, p=0.9)
    with pytest.raises(StreamError, match="hints"):
        open_source("synthetic:oco-gradients?hints=yes")


def test_oco_log_written_to_csv_replays_like_the_generator(tmp_path):
    gen = OCOGradients(n=800, d=3, hints=1, seed=2)
    path = write_csv(gen, tmp_path / "grads.csv")
    csv = open_source(str(path))
    proto = get_protocol("oco")
    cols = proto.resolve_columns({"gradient": "g0,g1,g2", "hint": "h0,h1,h2"}, csv.column_names())
    params = proto.infer_params(OptimisticOMD, cols, csv)
    assert params == {"n_dims": 3, "hint": "given"}
    from_file = replay_log(OptimisticOMD(**params), csv, cols)
    from_gen = replay_log(OptimisticOMD(**params), gen, cols)
    assert from_file.n_events == 800
    assert from_file.summary["loss"] == from_gen.summary["loss"]
    assert from_file.summary["regret"] == from_gen.summary["regret"]
    # the comparator is the unit ball's -||sum g||, from the file's own numbers
    G = np.loadtxt(path, delimiter=",", skiprows=1)[:, :3]
    assert math.isclose(from_file.summary["comparator_loss"], -np.linalg.norm(G.sum(axis=0)), rel_tol=1e-12)
    plain = replay_log(OMD(n_dims=3), csv, {"gradient": cols["gradient"]})
    assert plain.n_events == 800


def test_counts_log_written_to_csv_replays(tmp_path):
    path = write_csv(Counts(n=500, seed=3), tmp_path / "counts.csv")
    src = open_source(str(path))
    proto = get_protocol("release")
    cols = proto.resolve_columns({"value": "count"}, src.column_names())
    params = proto.infer_params(TreeCounter, cols, src)
    assert params == {"T": 500, "d": 1}
    rep = replay_log(TreeCounter(**params, noise="seeded", seed=0), src, cols, out=tmp_path)
    x = np.loadtxt(path, skiprows=1)
    t, Y = read_releases(tmp_path / "releases.csv")
    assert len(t) == 500
    assert math.isclose(rep.summary["mse"], float(np.mean((Y[:, 0] - np.cumsum(x)) ** 2)), rel_tol=1e-9)
    vec = write_csv(Counts(n=300, d=4, p=0.25, seed=3), tmp_path / "records.csv")
    src = open_source(str(vec))
    cols = proto.resolve_columns({"values": "c0,c1,c2,c3"}, src.column_names())
    rep = replay_log(MaxSum(**proto.infer_params(MaxSum, cols, src), noise="seeded", seed=0), src, cols)
    assert rep.n_events == 300 and rep.summary["privacy"] == "zcdp"


def test_expert_losses_have_their_stated_means_and_expert_0_never_sleeps():
    from onlinekit.streams import open_source

    src = open_source("synthetic:expert-losses?n=40000&k=4&gap=0.3&sleep=0.25&seed=3")
    cols = {c: np.concatenate([ch.columns[c] for ch in src.chunks(chunk_size=7000)]) for c in src.column_names()}
    for j, m in enumerate([0.2, 0.3, 0.4, 0.5]):  # closed form: 0.5 - gap + gap * j / (k - 1)
        L = cols[f"e{j}"]
        assert abs(L.mean() - m) < 4 * np.sqrt(m * (1 - m) / len(L))
    assert cols["a0"].min() == 1.0
    for j in (1, 2, 3):
        assert abs(cols[f"a{j}"].mean() - 0.75) < 4 * np.sqrt(0.75 * 0.25 / 40000)
    again = open_source("synthetic:expert-losses?n=40000&k=4&gap=0.3&sleep=0.25&seed=3")
    assert np.array_equal(np.concatenate([ch.columns["e2"] for ch in again.chunks(chunk_size=65536)]), cols["e2"])
