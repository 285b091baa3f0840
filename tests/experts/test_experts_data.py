"""Loaders and the synthetic generator of the groupwise experiments."""

from __future__ import annotations

import numpy as np
import pytest

from onlinekit.data import data_home
from onlinekit.experiments._groupwise_common import PAPER_SEEDS, permutation
from onlinekit.streams.errors import MissingDataError
from onlinekit.streams.groupwise_data import load_adult, load_insurance, make_groupwise_synthetic

DATA = data_home()  # $ONLINEKIT_DATA (CI: the local mirror) or the per-user cache


def test_missing_files_say_where_to_get_them(tmp_path):
    with pytest.raises(MissingDataError, match="stedy/Machine-Learning-with-R-datasets"):
        load_insurance(tmp_path / "insurance.csv")
    with pytest.raises(MissingDataError, match="archive.ics.uci.edu"):
        load_adult(tmp_path)


def test_insurance_file():
    path = DATA / "insurance.csv"
    if not path.exists():
        pytest.skip(f"{path} not present (run `onlinekit data fetch insurance` or set ONLINEKIT_DATA)")
    t = load_insurance(path)
    assert len(t["age"]) == 1338
    assert (t["smoker"] == "yes").sum() == 274 and (t["sex"] == "male").sum() == 676


def test_adult_files():
    path = DATA / "adult"
    if not (path / "adult.data").exists():
        pytest.skip(f"{path} not present (run `onlinekit data fetch adult` or set ONLINEKIT_DATA)")
    t = load_adult(path)
    assert len(t["age"]) == 32561 + 16281
    assert t["income"].dtype == bool and 0.2 < t["income"].mean() < 0.3


def test_synthetic_generator_reproduces_the_official_draws():
    """Group sizes and the dperm order reported by the official notebook (seed 21)."""
    data = make_groupwise_synthetic()
    np.testing.assert_array_equal(data["groups"].sum(axis=0), [49857, 30044, 20099, 59985, 40015])
    assert data["order"] == ["green", "square", "red", "triangle", "circle"]
    G, Y = data["groups"], data["labels"]
    assert np.all(G[:, :3].sum(axis=1) == 1) and np.all(G[:, 3:].sum(axis=1) == 1)
    assert np.all(Y["min"] <= 1) and Y["mean"].min() == 0.0 and Y["mean"].max() == 1.0


def test_synthetic_rules_on_a_small_case():
    data = make_groupwise_synthetic(n=500, d=4, seed=3, paper_compat=False, noise=0.0)
    X, G = data["X"], data["groups"]
    for rule in ("mean", "min", "max", "dperm"):
        assert data["labels"][rule].shape == (500,)
    assert np.all((data["labels"]["max"] >= 0) & (data["labels"]["max"] <= 1))
    assert X.shape == (500, 4) and G.shape == (500, 5)


def test_paper_shuffles_are_pandas_sample():
    pd = pytest.importorskip("pandas")
    s = pd.Series(np.arange(50))
    for seed in PAPER_SEEDS[:3]:
        np.testing.assert_array_equal(permutation(50, seed), s.sample(frac=1, random_state=seed).to_numpy())
