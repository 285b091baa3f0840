import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onlinekit.streams import (
    ArraySource,
    ColumnExpr,
    ExprError,
    Schema,
    Stream,
    StreamError,
    StreamPosition,
    open_source,
    parse_group,
)
from onlinekit.streams.synthetic import LinearRegression, LogisticClassification


def _cols():
    return {
        "age": np.array([20.0, 35.0, 50.0, 64.0, 70.0]),
        "smoker": np.array(["yes", "no", "no", "yes", "no"], dtype=object),
        "bmi": np.array([22.0, 31.0, 28.0, 35.0, 19.0]),
    }


@pytest.mark.parametrize("text,expected", [
    ("age >= 50", [False, False, True, True, True]),
    ('smoker == "yes"', [True, False, False, True, False]),
    ('smoker == "yes" and age >= 50', [False, False, False, True, False]),
    ("30 <= bmi < 35", [False, True, False, False, False]),
    ('not (smoker in ["yes"]) | (age > 65)', [False, True, True, False, False]),  # not binds loosest
    ("~(age < 40) & (bmi > 20)", [False, False, True, True, False]),
    ("`age` != 20", [False, True, True, True, True]),
])
def test_expressions_match_rowwise_python(text, expected):
    assert ColumnExpr(text).evaluate(_cols()).tolist() == expected


@pytest.mark.parametrize("text", ["__import__('os')", "age.real > 1", "f(age)", "age + 1 > 2 if age else 0",
                                  "[x for x in age]", "age in bmi", "lambda: 1"])
def test_expressions_reject_outside_grammar(text):
    with pytest.raises(ExprError):
        ColumnExpr(text)


def test_expression_unknown_column():
    with pytest.raises(ExprError, match="unknown column"):
        ColumnExpr("height > 3").evaluate(_cols())


@settings(max_examples=50, deadline=None)
@given(a=st.floats(-5, 5), b=st.floats(-5, 5), vals=st.lists(st.floats(-10, 10), min_size=1, max_size=20))
def test_chained_comparison_equals_python(a, b, vals):
    arr = np.array(vals)
    got = ColumnExpr(f"{a!r} <= v < {b!r}").evaluate({"v": arr}).tolist()
    assert got == [a <= v < b for v in vals]


def test_group_definition_parsing():
    g = parse_group("old=age>=50")
    assert g.name == "old"
    for bad in ["age>=50", "=age", "2x=age>1", "x="]:
        with pytest.raises(ExprError):
            parse_group(bad)


def test_schema_roles_and_groups():
    cols = _cols()
    cols["charges"] = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    src = ArraySource(cols)
    sch = Schema(features=("age", "bmi"), target="charges",
                 groups=("old=age>=50", 'smoker=smoker=="yes"'), sensitive="smoker")
    assert sch.kinds(src.column_names()) == {"age": "float", "bmi": "float", "charges": "float", "smoker": "str"}
    (b,) = list(Stream(src, sch).blocks())
    assert b.X.shape == (5, 2) and b.X.flags.c_contiguous
    assert b.groups.tolist() == [[False, True], [False, False], [True, False], [True, True], [True, False]]
    assert b.extra["sensitive"].tolist() == ["yes", "no", "no", "yes", "no"]
    assert b.group_names == ("old", "smoker")


def test_target_expression():
    src = ArraySource({"income": np.array([">50K", "<=50K"], dtype=object), "x": np.array([1.0, 2.0])})
    (b,) = list(Stream(src, Schema(target='income == ">50K"')).blocks())
    assert b.y.tolist() == [1.0, 0.0] and b.feature_names == ("x",)


def test_missing_columns_are_clear():
    src = ArraySource(_cols())
    with pytest.raises(StreamError, match="'height'"):
        list(Stream(src, Schema(features=("height",))).blocks())
    with pytest.raises(StreamError, match="'charges'"):
        list(Stream(src, Schema(target="charges")).blocks())


def test_stream_positions_and_resume():
    X = np.arange(20.0).reshape(10, 2)
    st_ = Stream(ArraySource(X=X, y=np.arange(10.0)), Schema(target="y"), block_size=4)
    blocks = list(st_.blocks())
    assert [b.offset for b in blocks] == [0, 4, 8]
    assert st_.position == StreamPosition(rows=10, events=10)
    again = list(st_.blocks(start=StreamPosition(rows=6, events=6)))
    assert again[0].offset == 6 and again[0].X[0].tolist() == [12.0, 13.0]


@pytest.mark.parametrize("cls", [LinearRegression, LogisticClassification])
def test_synthetic_independent_of_chunking(cls):
    src = cls(n=70_000, d=3, seed=5)
    full = np.concatenate([c.columns["y"] for c in src.chunks(chunk_size=70_000)])
    parts = np.concatenate([c.columns["y"] for c in src.chunks(chunk_size=999)])
    tail = np.concatenate([c.columns["y"] for c in src.chunks(start=65_000, chunk_size=3000)])
    assert np.array_equal(full, parts) and np.array_equal(full[65_000:], tail)
    other = cls(n=70_000, d=3, seed=6)
    assert not np.array_equal(full, np.concatenate([c.columns["y"] for c in other.chunks()]))


def test_linear_generator_statistics():
    src = LinearRegression(n=50_000, d=4, noise=0.5, seed=1)
    (c,) = list(src.chunks(chunk_size=50_000))
    X = np.column_stack([c.columns[f"x{j}"] for j in range(4)])
    resid = c.columns["y"] - X @ src.w_star
    # residual variance is noise^2; its sample std has sd about noise^2 * sqrt(2/n)
    assert abs(resid.var() - 0.25) < 6 * 0.25 * np.sqrt(2 / 50_000)


def test_open_source_dispatch(tmp_path):
    assert open_source("synthetic:linear?n=5&d=2").column_names() == ["x0", "x1", "y"]
    with pytest.raises(StreamError, match="unknown synthetic generator"):
        open_source("synthetic:nope")
    with pytest.raises(FileNotFoundError, match="no such file"):
        open_source(str(tmp_path / "missing.csv"))
    (tmp_path / "a.xyz").write_text("1")
    with pytest.raises(StreamError, match="unknown file type"):
        open_source(str(tmp_path / "a.xyz"))
