"""COMPAS loader (synthetic files with the COMPAS columns) and ``aranyani-adult`` with ``dataset="compas"``."""

import csv
import dataclasses

import numpy as np
import pytest

from onlinekit.streams.errors import MissingDataError, StreamError

COLUMNS = ["juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count", "age", "c_charge_degree",
           "c_charge_desc", "age_cat", "sex", "race", "is_recid"]
DESCS = ["Battery", "Petit Theft $100- $300", "Grand Theft in the 3rd Degree", "Driving, License Suspended",
         "arrest case no charge", "Possession of Cocaine"]
RACES_PP = ["African-American", "Caucasian", "Hispanic", "Other", "Asian", "Native American"]


def _records(n, seed, races=("Black", "White", "Other")):
    """``n`` rows as dicts of strings, with signal from priors and age."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        age = int(rng.integers(18, 70))
        priors = int(rng.poisson(3))
        cat = "Less than 25" if age < 25 else ("Greater than 45" if age > 45 else "25 - 45")
        y = int(rng.random() < 1 / (1 + np.exp(-(0.5 * priors - 0.05 * (age - 35) - 1.0))))
        out.append({"juv_fel_count": str(int(rng.poisson(0.2))), "juv_misd_count": str(int(rng.poisson(0.3))),
                    "juv_other_count": str(int(rng.poisson(0.2))), "priors_count": str(priors), "age": str(age),
                    "c_charge_degree": str(rng.choice(["F", "M"])), "c_charge_desc": str(rng.choice(DESCS)),
                    "age_cat": cat, "sex": str(rng.choice(["Male", "Female"])), "race": str(rng.choice(races)),
                    "is_recid": str(y)})
    return out


def _write(path, records, header=True, extra=False):
    cols = list(COLUMNS)
    if extra:  # ProPublica-like: more columns, another order
        cols = ["id", "name"] + cols[::-1] + ["two_year_recid"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        if header:
            w.writerow(cols)
        for i, r in enumerate(records):
            full = {"id": str(i), "name": f"person {i}", "two_year_recid": "0", **r}
            w.writerow([full[c] for c in cols])
    return path


def _expected(records):
    """Brute force: rank of each category among the distinct values (by pairwise comparison)."""
    feats = COLUMNS[:-1]
    X = np.zeros((len(records), len(feats)))
    for j, c in enumerate(feats):
        distinct = []
        for r in records:
            if r[c] not in distinct:
                distinct.append(r[c])
        for i, r in enumerate(records):
            if c in ("c_charge_degree", "c_charge_desc", "age_cat", "sex"):
                X[i, j] = sum(1 for v in distinct if v < r[c])
            elif c == "race":
                X[i, j] = 1.0 if r[c] in ("White", "Caucasian") else 0.0
            else:
                X[i, j] = float(r[c])
    y = np.array([int(r["is_recid"]) for r in records])
    a = np.array([1 if r["race"] in ("White", "Caucasian") else 0 for r in records])
    return X, y, a


def test_loader_matches_brute_force_with_header(tmp_path):
    from onlinekit.streams.compas import load_compas

    recs = _records(200, 1, races=RACES_PP)
    broken = dict(recs[5], c_charge_desc="")  # an empty used field: the row is dropped (official dropna)
    p = _write(tmp_path / "compas-scores-two-years.csv", recs[:5] + [broken] + recs[5:], extra=True)
    d = load_compas(p)
    X, y, a = _expected(recs)
    assert d.X.shape == (200, 10) and d.X.dtype == np.float64
    np.testing.assert_array_equal(d.X, X)
    np.testing.assert_array_equal(d.y, y)
    np.testing.assert_array_equal(d.sensitive, a)
    assert d.n_dropped == 1 and len(d) == 200
    assert d.feature_names == COLUMNS[:-1]
    assert d.categories["c_charge_desc"] == sorted(set(DESCS))
    assert d.categories["sex"] == ["Female", "Male"]
    # no scaling, race is both an input and the sensitive attribute
    np.testing.assert_array_equal(d.X[:, d.feature_names.index("race")], d.sensitive)
    # the same folder without train/test falls back to the ProPublica file name
    np.testing.assert_array_equal(load_compas(tmp_path).X, X)
    # n_rows keeps a prefix, encoded on its own
    np.testing.assert_array_equal(load_compas(p, n_rows=50).X, _expected(recs[:50])[0])


def test_folder_concatenates_train_then_test(tmp_path):
    from onlinekit.streams.compas import load_compas

    train, test = _records(120, 2), _records(80, 3)
    test[0]["c_charge_desc"] = "Aggravated Assault"  # only in test: shifts codes of train rows too
    _write(tmp_path / "train.csv", train, header=False)  # the authors' headerless files
    _write(tmp_path / "test.csv", test, header=False)
    d = load_compas(tmp_path)
    X, y, a = _expected(train + test)
    np.testing.assert_array_equal(d.X, X)
    np.testing.assert_array_equal(d.y, y)
    np.testing.assert_array_equal(d.sensitive, a)
    assert d.categories["c_charge_desc"][0] == "Aggravated Assault"
    # the order is train then test, not the reverse
    _write(tmp_path / "both.csv", train + test, header=True)
    np.testing.assert_array_equal(load_compas(tmp_path / "both.csv").X, d.X)
    Xr = _expected(test + train)[0]
    assert not np.array_equal(Xr, d.X)


def test_missing_files_say_where_to_get_them(tmp_path):
    from onlinekit.streams.compas import load_compas

    with pytest.raises(MissingDataError, match="compas-analysis") as e:
        load_compas(tmp_path / "nowhere.csv")
    assert "compas-scores-two-years.csv" in str(e.value) and "train.csv" in str(e.value)
    _write(tmp_path / "train.csv", _records(5, 4), header=False)
    with pytest.raises(MissingDataError, match="lacks test.csv"):
        load_compas(tmp_path)


def test_missing_columns_and_bad_values(tmp_path):
    from onlinekit.streams.compas import load_compas

    recs = _records(10, 5)
    p = tmp_path / "c.csv"
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh)
        cols = [c for c in COLUMNS if c not in ("c_charge_desc", "is_recid")]
        w.writerow(cols)
        for r in recs:
            w.writerow([r[c] for c in cols])
    with pytest.raises(StreamError, match=r"\['c_charge_desc', 'is_recid'\]"):
        load_compas(p)
    bad = tmp_path / "bad.csv"
    _write(bad, recs[:3] + [dict(recs[3], race="Martian")])
    with pytest.raises(StreamError, match="line 5: column 'race'"):
        load_compas(bad)
    _write(bad, recs[:3] + [dict(recs[3], is_recid="-1")])
    with pytest.raises(StreamError, match="is_recid"):
        load_compas(bad)
    _write(bad, recs[:3] + [dict(recs[3], priors_count="many")])
    with pytest.raises(StreamError, match="priors_count"):
        load_compas(bad)
    (tmp_path / "short.csv").write_text("1,2,3\n")
    with pytest.raises(StreamError, match="11"):
        load_compas(tmp_path / "short.csv")


def test_config_dataset_field():
    from onlinekit.experiments.aranyani_adult import ADULT_LAMBDAS, COMPAS_LAMBDAS, Config
    from onlinekit.experiments.runner import config_from_params

    assert Config().dataset == "adult" and Config().lambdas == ADULT_LAMBDAS
    assert Config(dataset="compas", data="x.csv").lambdas == COMPAS_LAMBDAS
    assert len(COMPAS_LAMBDAS) == 15
    assert Config(dataset="compas", data="x.csv", lambdas=(0.0, 1.0)).lambdas == (0.0, 1.0)
    assert Config(dataset="compas").lambdas == COMPAS_LAMBDAS  # data defaults to the `compas` data set
    with pytest.raises(ValueError, match="dataset must be"):
        Config(dataset="census")
    cfg = config_from_params(Config(), {"dataset": "compas", "data": "x.csv"})  # the CLI's -p path
    assert cfg.lambdas == COMPAS_LAMBDAS
    assert dataclasses.replace(Config.quick(), dataset="compas", data="x.csv").lambdas == Config.quick().lambdas


def test_quick_compas_experiment(tmp_path):
    from onlinekit.experiments import run_experiment
    from onlinekit.experiments.aranyani_adult import Config

    recs = _records(300, 6)
    data = tmp_path / "compas"
    data.mkdir()
    _write(data / "train.csv", recs[:200], header=False)
    _write(data / "test.csv", recs[200:], header=False)
    cfg = dataclasses.replace(Config.quick(), dataset="compas", data=str(data), n_seeds=2)
    r = run_experiment("aranyani-adult", config=cfg, n_seeds=2, out=tmp_path / "out")
    assert len(r.results) == 2
    ara = [row for row in r.table if row["method"] == "aranyani"]
    assert [row["lambda"] for row in ara] == [f"{v:g}" for v in cfg.lambdas]
    assert all(row["n_seeds"] == 2 for row in ara)
    assert {"hoeffding-tree", "reservoir", "majority-mix", "majority-class"} <= {row["method"] for row in r.table}
    y = np.array([int(x["is_recid"]) for x in recs])
    maj = next(row for row in r.table if row["method"] == "majority-class")
    assert maj["accuracy_mean"] == pytest.approx(max(y.mean(), 1 - y.mean()))
    assert "acc_white_mean" in maj and "acc_female_mean" not in maj
    for row in r.results[0]["rows"]:
        assert 0.0 <= row["accuracy"] <= 1.0 and 0.0 <= row["dp_gap"] <= 1.0
    assert isinstance(r.failures, list)
    assert (tmp_path / "out" / "tradeoff.png").exists()


REAL = None


def _real():
    from onlinekit.data import data_home

    p = data_home() / "compas" / "compas-scores-two-years.csv"
    if not p.exists():
        pytest.skip(f"{p} not present (run `onlinekit data fetch compas`)")
    return p


def test_loader_on_the_real_propublica_file():
    """Counts of the real file against an independent csv pass over the raw cells."""
    from onlinekit.streams.compas import load_compas

    p = _real()
    with open(p, newline="") as fh:
        rows = list(csv.DictReader(fh))
    kept = [r for r in rows if all(r[c].strip() != "" for c in COLUMNS)]
    d = load_compas(p)
    assert d.X.shape == (len(kept), 10) and d.n_dropped == len(rows) - len(kept)
    assert len(rows) == 7214  # ProPublica's two-year file
    np.testing.assert_array_equal(d.y, [int(r["is_recid"]) for r in kept])
    np.testing.assert_array_equal(d.sensitive, [int(r["race"] == "Caucasian") for r in kept])
    np.testing.assert_array_equal(d.X[:, COLUMNS.index("priors_count")], [float(r["priors_count"]) for r in kept])
    np.testing.assert_array_equal(d.X[:, COLUMNS.index("age")], [float(r["age"]) for r in kept])
    assert d.categories["sex"] == ["Female", "Male"] and d.categories["c_charge_degree"] == ["F", "M"]


def test_online_scaling_has_no_look_ahead():
    """Row t is standardised with the rows before it only (brute force), clipped to +-5."""
    from onlinekit.streams.compas import load_compas

    p = _real()
    raw = load_compas(p, n_rows=400).X
    sc = load_compas(p, n_rows=400, scale="online").X
    for t in (0, 1, 2, 17, 199, 399):
        prev = raw[:t]
        for j in range(raw.shape[1]):
            sd = prev[:, j].std() if t else 0.0
            want = 0.0 if sd == 0 else float(np.clip((raw[t, j] - prev[:, j].mean()) / sd, -5, 5))
            assert sc[t, j] == pytest.approx(want, abs=1e-9), (t, j)
    # later rows never change an earlier row's scaled counts, age and race; the label-encoded
    # columns can move, because their codes are the sorted order over the whole file (documented)
    full = load_compas(p, scale="online").X
    keep = [COLUMNS.index(c) for c in ("juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count",
                                       "age", "race")]
    np.testing.assert_array_equal(full[:400, keep], sc[:, keep])
    with pytest.raises(ValueError, match="scale"):
        load_compas(p, scale="minmax")


def test_real_compas_forest_beats_the_majority_class_without_overflow():
    """The issue's regression: unscaled inputs gave Aranyani 0.554 (HT 0.624, majority 0.521)
    and overflow warnings; with online scaling lambda = 0 must clear the majority by 0.05."""
    import warnings

    from onlinekit.fair import Aranyani
    from onlinekit.streams.compas import load_compas

    d = load_compas(_real(), scale="online")
    majority = max(d.y.mean(), 1 - d.y.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        accs = [np.mean((Aranyani(seed=s).predict_learn_many(d.X, d.y, sensitive=d.sensitive) > 0.5) == d.y)
                for s in (0, 1)]
    assert min(accs) > majority + 0.05, (accs, majority)
