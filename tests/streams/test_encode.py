"""FeatureEncoder against a slow per-event reference written from the documented rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onlinekit.streams import ArraySource, Schema, Stream
from onlinekit.streams.encode import CLIP, FeatureEncoder, stable_hash


def _reference(rows, numeric, categorical, *, missing, scale, max_levels, hash_bits, grow):
    """Event by event, with plain Python: encode with what earlier events taught, then learn."""
    stats = {c: [0, 0.0, 0.0] for c in numeric}
    levels = {c: {} for c in categorical}
    names = list(numeric)
    if not grow:
        for c in categorical:
            names += [None] * (max_levels + (1 << hash_bits))
    out = []
    for row in rows:
        vec = {}
        for c in numeric:
            v = row[c]
            n, mean, m2 = stats[c]
            obs = not math.isnan(v)
            if not obs:
                v = mean if (missing == "mean" and n > 0) else 0.0
            if scale == "standard":
                var = m2 / n if n else 0.0
                z = (v - mean) / math.sqrt(var) if var > 0 else 0.0
                vec[c] = min(max(z, -CLIP), CLIP)
            else:
                vec[c] = v
            if obs:
                n += 1
                d = v - mean
                mean += d / n
                m2 += d * (v - mean)
                stats[c] = [n, mean, m2]
        for k, c in enumerate(categorical):
            s = row[c]
            if s == "":
                continue
            if s not in levels[c]:
                used = sum(1 for v in levels[c].values() if v[0] == "level")
                if used < max_levels:
                    levels[c][s] = ("level", f"{c}={s}", used)
                else:
                    b = stable_hash(s) % (1 << hash_bits)
                    levels[c][s] = ("bucket", f"{c}#{b}", max_levels + b)
            kind, name, slot = levels[c][s]
            if grow:
                if name not in names:
                    names.append(name)
                j = names.index(name)
            else:
                j = len(numeric) + k * (max_levels + (1 << hash_bits)) + slot
            vec[j] = 1.0
        out.append(vec)
    width = len(names)
    X = np.zeros((len(rows), width))
    for i, vec in enumerate(out):
        for key, v in vec.items():
            X[i, numeric.index(key) if isinstance(key, str) else key] = v
    return X


def _data(n, seed, n_levels=12):
    rng = np.random.default_rng(seed)
    a = rng.normal(10, 3, n)
    a[rng.random(n) < 0.15] = np.nan
    b = rng.exponential(100, n)
    c = np.array([f"L{k}" for k in rng.integers(0, n_levels, n)], dtype=object)
    c[rng.random(n) < 0.1] = ""
    e = np.array([f"E{k}" for k in rng.integers(0, 3, n)], dtype=object)
    return {"a": a, "b": b, "c": c, "e": e}


@pytest.mark.parametrize("grow", [True, False])
@pytest.mark.parametrize("missing,scale", [("zero", "none"), ("mean", "standard"), ("mean", "none")])
@pytest.mark.parametrize("block", [1, 7, 500])
def test_encoder_equals_per_event_reference(grow, missing, scale, block):
    cols = _data(400, seed=3)
    n = 400
    enc = FeatureEncoder(missing=missing, scale=scale, max_levels=5, hash_bits=2, grow=grow)
    enc.setup(["a", "b", "c", "e"], {"a": "float", "b": "float", "c": "str", "e": "str"})
    parts = []
    for lo in range(0, n, block):
        sub = {k: v[lo:lo + block] for k, v in cols.items()}
        parts.append(enc.encode(sub, np.ones(len(sub["a"]), dtype=bool)))
    width = enc.width
    got = np.vstack([np.pad(p, ((0, 0), (0, width - p.shape[1]))) for p in parts])
    rows = [{k: cols[k][i] for k in cols} for i in range(n)]
    want = _reference(rows, ["a", "b"], ["c", "e"], missing=missing, scale=scale, max_levels=5, hash_bits=2,
                      grow=grow)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    assert any("#" in nm for nm in enc.names_), "the level cap was never reached: hashing untested"


def test_a_scaler_that_looks_ahead_is_caught():
    # sabotage: standardising event i with statistics that include event i changes event i
    cols = _data(50, seed=1)
    enc = FeatureEncoder(missing="zero", scale="standard")
    enc.setup(["b"], {"b": "float"})
    X = enc.encode(cols, np.ones(50, dtype=bool))
    b = cols["b"]
    ahead = [(b[i] - b[: i + 1].mean()) / b[: i + 1].std() if i else 0.0 for i in range(50)]
    assert not np.allclose(X[:, 0], np.clip(ahead, -CLIP, CLIP))
    # and the honest rule (events before i only) is what we get
    honest = [(b[i] - b[:i].mean()) / b[:i].std() if i >= 2 else 0.0 for i in range(50)]
    np.testing.assert_allclose(X[:, 0], np.clip(honest, -CLIP, CLIP), rtol=1e-12, atol=1e-12)


def test_future_events_never_change_past_encodings():
    cols = _data(300, seed=5)
    enc1 = FeatureEncoder(missing="mean", scale="standard")
    enc1.setup(["a", "c"], {"a": "float", "c": "str"})
    X1 = enc1.encode({k: v[:200] for k, v in cols.items()}, np.ones(200, dtype=bool))
    enc2 = FeatureEncoder(missing="mean", scale="standard")
    enc2.setup(["a", "c"], {"a": "float", "c": "str"})
    X2 = enc2.encode(cols, np.ones(300, dtype=bool))
    np.testing.assert_array_equal(X2[:200, : X1.shape[1]], X1)


def test_state_roundtrip_continues_identically():
    cols = _data(300, seed=7)
    feats = ["a", "b", "c", "e"]
    kinds = {"a": "float", "b": "float", "c": "str", "e": "str"}
    full = FeatureEncoder(missing="mean", scale="standard", max_levels=4, hash_bits=3)
    full.setup(feats, kinds)
    X = full.encode(cols, np.ones(300, dtype=bool))
    first = FeatureEncoder(missing="mean", scale="standard", max_levels=4, hash_bits=3)
    first.setup(feats, kinds)
    first.encode({k: v[:120] for k, v in cols.items()}, np.ones(120, dtype=bool))
    second = FeatureEncoder(missing="mean", scale="standard", max_levels=4, hash_bits=3)
    second.load_state_dict(first.state_dict())
    X2 = second.encode({k: v[120:] for k, v in cols.items()}, np.ones(180, dtype=bool))
    np.testing.assert_array_equal(X2, X[120:])
    with pytest.raises(ValueError, match="settings differ"):
        FeatureEncoder(missing="zero").load_state_dict(first.state_dict())


def test_stable_hash_is_fnv1a():
    # published FNV-1a 64-bit test vectors
    assert stable_hash("a") == 0xAF63DC4C8601EC8C
    assert stable_hash("foobar") == 0x85944171F73967E8


def test_stream_with_encoder_missing_policies():
    src = ArraySource({"a": np.array([1.0, np.nan, 3.0]), "c": np.array(["u", "", "v"], dtype=object),
                       "y": np.array([0.0, 1.0, 0.0])})
    with pytest.raises(Exception, match="row 1, column 'a': missing value"):
        list(Stream(src, Schema(target="y"), encoder=FeatureEncoder(missing="raise")).blocks())
    st = Stream(src, Schema(target="y"), encoder=FeatureEncoder(missing="skip"))
    blocks = list(st.blocks())
    assert sum(len(b) for b in blocks) == 2 and st.skipped == 1
    st = Stream(src, Schema(target="y"), encoder=FeatureEncoder(missing="zero"))
    (b,) = list(st.blocks())
    assert b.feature_names == ("a", "c=u", "c=v")
    assert b.X.tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [3.0, 0.0, 1.0]]
    st = Stream(src, Schema(target="y"), encoder=FeatureEncoder(missing="mean"))
    (b,) = list(st.blocks())
    assert b.X[:, 0].tolist() == [1.0, 1.0, 3.0]


def test_infinity_is_an_error_not_a_missing_cell():
    src = ArraySource({"a": np.array([1.0, np.inf]), "y": np.array([0.0, 1.0])})
    with pytest.raises(Exception, match="row 1, column 'a': non-finite value inf"):
        list(Stream(src, Schema(target="y"), encoder=FeatureEncoder(missing="zero")).blocks())


def test_group_columns_stay_features():
    src = ArraySource({"age": np.array([20.0, 60.0]), "smoker": np.array(["yes", "no"], dtype=object),
                       "y": np.array([1.0, 2.0])})
    sch = Schema(target="y", groups=("old=age >= 50", 'smk=smoker == "yes"'))
    (b,) = list(Stream(src, sch, encoder=FeatureEncoder()).blocks())
    assert b.feature_names == ("age", "smoker=yes", "smoker=no")
    (b,) = list(Stream(src, sch).blocks())  # no encoder: numeric group columns stay features
    assert b.feature_names == ("age",)


def test_sensitive_values_become_groups_in_order_of_appearance():
    src = ArraySource({"a": np.zeros(4), "race": np.array(["b", "a", "b", "c"], dtype=object),
                       "y": np.zeros(4)})
    (b,) = list(Stream(src, Schema(target="y", sensitive="race"), encoder=FeatureEncoder()).blocks())
    assert b.extra["sensitive"].tolist() == [0.0, 1.0, 0.0, 2.0]


def test_csv_categorical_codes_equal_the_text_path(tmp_path):
    # the CSV source hashes category bytes in a kernel; the same file read with Python's csv
    # module (text) through an ArraySource must give the same matrix, names and order
    import csv as pycsv

    rng = np.random.default_rng(11)
    levels = ["a", "b,c", 'q"x', "é", "long level name"] + [f"L{k}" for k in range(40)]
    path = tmp_path / "f.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = pycsv.writer(f)
        w.writerow(["cat", "num", "y"])
        for i in range(3000):
            lv = levels[i] if i < 5 else ("" if rng.random() < 0.05 else levels[int(rng.integers(0, len(levels)))])
            w.writerow([lv, f"{rng.normal():.5f}", int(rng.random() < 0.5)])
    from onlinekit.streams.csv import CSVSource

    def blocks(src):
        enc = FeatureEncoder(missing="zero", scale="standard", max_levels=20, hash_bits=3)
        st = Stream(src, Schema(target="y"), encoder=enc, block_size=256)
        bs = list(st.blocks())
        w = enc.width
        return np.vstack([np.pad(b.X, ((0, 0), (0, w - b.X.shape[1]))) for b in bs]), enc.names_

    X1, n1 = blocks(CSVSource(path, na_values=("",)))
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(pycsv.DictReader(f))
    arr = ArraySource({"cat": np.array([r["cat"] for r in rows], dtype=object),
                       "num": np.array([float(r["num"]) for r in rows]),
                       "y": np.array([float(r["y"]) for r in rows])})
    X2, n2 = blocks(arr)
    assert n1 == n2 and any("#" in n for n in n1) and "cat=b,c" in n1 and 'cat=q"x' in n1 and "cat=é" in n1
    np.testing.assert_array_equal(X1, X2)


@pytest.mark.parametrize("na_values", [(), ("NA",), ("NA", "?", "-", "none", "null", "n/a")])
def test_missing_categorical_codes_match_the_na_texts(na_values):
    """``is_missing`` on categorical codes (the int64 hashes a CSV source gives) flags exactly
    the codes of the NA texts (the empty text always): few NA texts take the comparison path,
    many the hash table; both against a plain set of ``stable_hash`` codes."""
    from onlinekit.streams.encode import _signed_hash

    rng = np.random.default_rng(7)
    enc = FeatureEncoder(na_values=na_values)
    enc.setup(["c"], {"c": "cat"})
    texts = ["", "a", "b", "zz", "NA", "?", "-", "none", "null", "n/a", "NaN", "na"]
    pick = rng.integers(0, len(texts), size=2000)
    codes = np.array([_signed_hash(texts[k]) for k in pick], dtype=np.int64)
    codes[::7] = rng.integers(-(2**63), 2**63 - 1, size=len(codes[::7]), dtype=np.int64)  # other codes
    na_set = {_signed_hash(t) for t in {""} | set(na_values)}
    want = np.array([c in na_set for c in codes.tolist()])
    got = enc.is_missing({"c": codes}).get("c", np.zeros(len(codes), dtype=bool))
    assert want.any() and not want.all()
    assert np.array_equal(got, want)
