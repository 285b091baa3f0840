"""CSVSource against Python's csv module + float(), and the kernels against a slow reference."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from onlinekit.streams import Stream, Schema, StreamError
from onlinekit.streams.csv import CSVSource
from onlinekit.streams.errors import MissingDataError

_spec = importlib.util.spec_from_file_location(
    "csv_reference", Path(__file__).resolve().parents[1] / "reference" / "csv_reference.py"
)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# -- helpers --------------------------------------------------------------------------------
def oracle(path, delimiter=","):
    """(header, rows, lines) from Python's csv module (blank lines dropped)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter=delimiter)
        rows, lines = [], []
        start = 1
        for row in reader:
            if row:
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    return rows[0], rows[1:], lines[1:]


def collect(src, **kw):
    cols, lines, offsets = {}, [], []
    for ch in src.chunks(**kw):
        offsets.append((ch.offset, ch.end, len(ch)))
        for k, v in ch.columns.items():
            cols.setdefault(k, []).append(v)
        lines.append(ch.lines)
    out = {k: np.concatenate(v) for k, v in cols.items()}
    return out, (np.concatenate(lines) if lines else np.zeros(0, int)), offsets


def bits(a):
    return np.asarray(a, dtype=np.float64).view(np.int64)


def same_floats(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    nan = np.isnan(a)
    assert np.array_equal(nan, np.isnan(b))
    assert np.array_equal(bits(a[~nan]), bits(b[~nan]))


def write(path, text):
    if isinstance(text, bytes):
        Path(path).write_bytes(text)
    else:
        with open(path, "w", newline="", encoding="utf-8") as f:
            f.write(text)
    return path


# -- numbers --------------------------------------------------------------------------------
_finite = st.floats(allow_nan=False, allow_infinity=True, width=64)
_fmt = st.sampled_from([repr, "{:.17g}".format, "{:e}".format, "{:.3f}".format, "{:.8g}".format, "{:.0f}".format])


@SETTINGS
@given(values=st.lists(st.tuples(_finite, _fmt), min_size=1, max_size=40), read_size=st.sampled_from([3, 64, 1 << 20]))
def test_floats_bit_identical_to_python_float(tmp_path, values, read_size):
    texts = [fmt(v) if math.isfinite(v) else repr(v) for v, fmt in values]
    p = write(tmp_path / "f.csv", "a,b\n" + "".join(f"{t},{t}\n" for t in texts))
    cols, _, _ = collect(CSVSource(p, _read_size=read_size), kinds={"a": "float", "b": "float"})
    expect = [float(t) for t in texts]
    same_floats(cols["a"], expect)
    same_floats(cols["b"], expect)


@pytest.mark.parametrize(
    "text",
    [
        "0", "-0", "-0.0", "+0", "0e999", "-0e-999", "1e22", "1e23", "9007199254740993", "9007199254740992",
        "123456789012345678901234567890", "0.000000000000000000000000001", "1e-22", "4.9e-324", "2.5e-324",
        "1.7976931348623157e308", "1e309", "-1e309", "nan", "-nan", "inf", "-Infinity", "1.", ".5", "+.5e-3",
        "0000000000000000000000012.5", "1_000", " 7 ", "0x10", "1e", "e5", ".", "-", "abc",
    ],
)
def test_edge_numbers_match_float(tmp_path, text):
    p = write(tmp_path / "e.csv", f"x,y\n{text},1\n")
    src = CSVSource(p, errors="skip")
    cols, _, _ = collect(src, kinds={"x": "float"})
    try:
        expect = float(text)
    except ValueError:
        assert len(cols["x"]) == 0 and src.skipped == 1
        assert "cannot parse" in str(src.bad_rows[0])
        return
    same_floats(cols["x"], [expect])


# -- structure ------------------------------------------------------------------------------
_cell = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(alphabet='ab ,"\n\r\t.-1', max_size=6),
)


def _csv_text(rows, lineterminator):
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=lineterminator)
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


@SETTINGS
@given(
    rows=st.lists(st.lists(_cell, min_size=3, max_size=3), min_size=0, max_size=25),
    term=st.sampled_from(["\n", "\r\n"]),
    trailing=st.booleans(),
    read_size=st.sampled_from([1, 5, 17, 1 << 20]),
    chunk_size=st.sampled_from([1, 7, 1000]),
)
def test_text_and_structure_match_csv_module(tmp_path, rows, term, trailing, read_size, chunk_size):
    rows = [r for r in rows if r != ["", "", ""]] or []
    text = _csv_text([["a", "b", "c"], *rows], term)
    if not trailing:
        text = text[: -len(term)]
    p = write(tmp_path / "t.csv", text)
    header, allrows, alllines = oracle(p)
    # csv.writer leaves a lone "\r" unquoted when the terminator is "\n": such rows split
    # into rows of the wrong length, which are malformed for both readers
    orows = [r for r in allrows if len(r) == 3]
    olines = [ln for r, ln in zip(allrows, alllines, strict=True) if len(r) == 3]
    src = CSVSource(p, _read_size=read_size, errors="skip")
    assert src.column_names() == header
    cols, lines, offsets = collect(src, chunk_size=chunk_size, kinds=dict.fromkeys("abc", "str"))
    for j, c in enumerate("abc"):
        assert cols.get(c, np.zeros(0, object)).tolist() == [r[j] for r in orows]
    assert lines.tolist() == olines
    assert src.skipped == len(allrows) - len(orows)
    assert all(n <= chunk_size for _, _, n in offsets)
    assert [o for o, _, _ in offsets] == list(range(0, len(allrows), chunk_size))


def _numeric_file(path, n=50, seed=0, gz=False, term="\n"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * 10.0 ** rng.integers(-5, 5, size=(n, 3))
    text = "x0,x1,x2" + term + "".join(",".join(repr(float(v)) for v in r) + term for r in X)
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(text.encode())
    else:
        write(path, text)
    return X


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("term", ["\n", "\r\n"])
def test_numeric_file_gzip_crlf(tmp_path, gz, term):
    p = tmp_path / ("n.csv.gz" if gz else "n.csv")
    X = _numeric_file(p, gz=gz, term=term)
    for read_size in (7, 1 << 20):
        cols, lines, _ = collect(CSVSource(p, _read_size=read_size), chunk_size=13)
        for j in range(3):
            same_floats(cols[f"x{j}"], X[:, j])
        assert lines.tolist() == list(range(2, 52))


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 100_000])
@pytest.mark.parametrize("read_size", [4, 1 << 20])
def test_start_equals_slicing(tmp_path, chunk_size, read_size):
    p = tmp_path / "s.csv"
    X = _numeric_file(p, n=40)
    src = CSVSource(p, _read_size=read_size)
    for start in (0, 1, 6, 7, 39, 40, 55):
        cols, lines, offsets = collect(src, start=start, chunk_size=chunk_size)
        same_floats(cols.get("x1", np.zeros(0)), X[start:, 1])
        assert lines.tolist() == list(range(2 + start, 42))
        if offsets:
            assert offsets[0][0] == start and offsets[-1][1] == 40


def test_quotes_and_embedded_newlines(tmp_path):
    text = 'id,name,v\n1,"a,b",2.5\n2,"say ""hi""",3\n3,"multi\nline",4\n\n4,plain,"5"\n5,"x"y,6'
    p = write(tmp_path / "q.csv", text)
    header, orows, olines = oracle(p)
    cols, lines, _ = collect(CSVSource(p), kinds={"name": "str", "v": "float", "id": "float"})
    assert cols["name"].tolist() == [r[1] for r in orows] == ["a,b", 'say "hi"', "multi\nline", "plain", "xy"]
    same_floats(cols["v"], [2.5, 3, 4, 5, 6])
    assert lines.tolist() == olines == [2, 3, 4, 7, 8]


def test_tsv_and_header_list_and_na_values(tmp_path):
    p = write(tmp_path / "d.tsv", "1\tNA\n2\t3.5\n")
    src = CSVSource(p, header=["a", "b"], na_values=["NA"])
    assert src.column_names() == ["a", "b"]
    cols, lines, _ = collect(src)
    same_floats(cols["b"], [np.nan, 3.5])
    assert lines.tolist() == [1, 2]


def test_kind_inference(tmp_path):
    p = write(tmp_path / "k.csv", "a,b,c\n1,x,2\n2,y,3\n")
    cols, _, _ = collect(CSVSource(p))
    assert cols["a"].dtype == np.float64 and cols["b"].dtype == object and cols["c"].dtype == np.float64
    cols, _, _ = collect(CSVSource(p), kinds={"b": "str_or_float", "c": "str_or_float", "a": "str"})
    assert list(cols) == ["b", "c", "a"]
    assert cols["a"].tolist() == ["1", "2"] and cols["b"].tolist() == ["x", "y"]


# -- errors ---------------------------------------------------------------------------------
BAD = "id,age,name\n1,30,a\n2,abc,b\n3,40\n4,,d\n\n5,50,e\n"


def test_errors_raise_names_file_line_column(tmp_path):
    p = write(tmp_path / "data.csv", BAD)
    with pytest.raises(StreamError) as e:
        collect(CSVSource(p), kinds={"age": "float"})
    msg = str(e.value)
    assert "data.csv, line 3" in msg and "column 'age'" in msg and "cannot parse 'abc' as a number" in msg
    # the row before the bad one is delivered first
    got = []
    with pytest.raises(StreamError):
        for ch in CSVSource(p).chunks(chunk_size=1, kinds={"age": "float"}):
            got.append(ch.columns["age"].tolist())
    assert got == [[30.0]]


def test_errors_skip_counts_and_bad_rows(tmp_path):
    p = write(tmp_path / "data.csv", BAD)
    src = CSVSource(p, errors="skip")
    cols, lines, offsets = collect(src, chunk_size=2, kinds={"age": "float", "name": "str"})
    assert cols["age"].tolist() == [30.0, 50.0] and cols["name"].tolist() == ["a", "e"]
    assert lines.tolist() == [2, 7]
    assert src.skipped == 3
    assert [str(b) for b in src.bad_rows] == [
        f"{p}, line 3, column 'age': cannot parse 'abc' as a number",
        f"{p}, line 4: expected 3 fields, got 2",
        f"{p}, line 5, column 'age': empty field where a number is expected",
    ]
    assert [(o, e) for o, e, _ in offsets] == [(0, 2), (2, 4), (4, 5)]
    # malformed rows count as rows for start=
    cols, _, _ = collect(CSVSource(p, errors="skip"), start=4, kinds={"age": "float"})
    assert cols["age"].tolist() == [50.0]


def test_stream_over_csv(tmp_path):
    p = tmp_path / "s.csv"
    X = _numeric_file(p, n=30)
    st_ = Stream(CSVSource(p), Schema(target="x2"), block_size=8)
    blocks = list(st_.blocks())
    same_floats(np.concatenate([b.y for b in blocks]), X[:, 2])


def test_inferred_column_turns_text_later(tmp_path):
    p = write(tmp_path / "late.csv", "a\n" + "1\n" * 3 + "zz\n")
    import onlinekit.streams.csv as mod

    old = mod._PROBE_ROWS
    mod._PROBE_ROWS = 2
    try:
        with pytest.raises(StreamError, match="line 5, column 'a'.*numeric in the first 2 rows"):
            collect(CSVSource(p))
    finally:
        mod._PROBE_ROWS = old


def _source(path, shortcut=True, **kw):
    """A source; without ``shortcut`` the tokenizer reads the header (the plain-line
    shortcut switched off for this instance only)."""
    src = CSVSource.__new__(CSVSource)
    if not shortcut:
        src._plain_header = lambda: None
    CSVSource.__init__(src, path, **kw)
    return src


def _read_all(path, shortcut, **kw):
    """Names, header row, string columns and line numbers, or the error message."""
    try:
        src = _source(path, shortcut, **kw)
        names, row = src.column_names(), src.header_row
        cols, lines, _ = collect(src, kinds=dict.fromkeys(names, "str"))
    except StreamError as exc:
        return "error", str(exc)
    return names, row, {c: v.tolist() for c, v in cols.items()}, lines.tolist()


def _kernel_header(path, **kw):
    return _source(path, False, **kw).column_names()


_header_field = st.text(alphabet='ab ;,|\té"x', max_size=4)


@SETTINGS
@example(blank="\r\n\n", bom=False, fields=["a", "b"], term="\r", rest="1,2\n", read_size=1 << 20, delim=",")
@example(blank="", bom=True, fields=["a", "a", "a.1"], term="", rest="", read_size=1 << 20, delim=",")
@given(
    blank=st.text(alphabet="\r\n", max_size=4),
    bom=st.booleans(),
    fields=st.lists(_header_field, min_size=1, max_size=4),
    term=st.sampled_from(["\n", "\r\n", "\r", ""]),
    rest=st.sampled_from(["", "1,2\n", "\n\n3;4\r\n"]),
    read_size=st.sampled_from([1, 4, 1 << 20]),
    delim=st.sampled_from([",", ";", "\t", "|"]),
)
def test_plain_header_shortcut_equals_the_tokenizer(tmp_path, blank, bom, fields, term, rest, read_size, delim):
    """Reading the header without the numba tokenizer (first line without a quote) gives the
    tokenizer's names, header row, data rows and errors; a quoted header goes the tokenizer's way."""
    text = blank + delim.join(fields) + term + (rest if term else "")
    p = tmp_path / "h.csv"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    kw = dict(delimiter=delim, errors="skip", _read_size=read_size)
    assert _read_all(p, True, **kw) == _read_all(p, False, **kw)
    header_line = delim.join(fields)
    if header_line and '"' not in header_line and read_size == 1 << 20:
        # the shortcut was taken: the comparison is not vacuous
        assert _source(p, **kw)._plain_header() is not None


def test_plain_header_check_fails_on_a_shortcut_that_keeps_blank_lines(tmp_path, monkeypatch):
    """The comparison above can fail: a shortcut that reads the first physical line (blank
    lines not skipped) gives other names than the tokenizer."""
    p = tmp_path / "h.csv"
    p.write_bytes(b"\n\na,b\n1,2\n")

    def first_physical_line(self):
        with self._open() as f:
            return f.readline().decode().rstrip("\r\n").split(self.delimiter)

    assert CSVSource(p).column_names() == _kernel_header(p) == ["a", "b"]
    monkeypatch.setattr(CSVSource, "_plain_header", first_physical_line)
    assert CSVSource(p).column_names() != _kernel_header(p)


def test_cli_user_error_answers_without_loading_the_kernels(tmp_path):
    """A replay refused for a missing option reads only the header: numba is never imported."""
    import subprocess
    import sys

    p = tmp_path / "counts.csv"
    p.write_text("count,x\n1,2\n")
    code = ("import sys\nfrom onlinekit.cli import main\n"
            "try:\n    main(['replay', sys.argv[1], '--learner', 'tree-counter'])\n"
            "except SystemExit as e:\n    print(e.code, 'numba' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, timeout=120)
    assert r.stdout.split() == ["2", "False"], (r.stdout, r.stderr)
    assert "--value COL" in r.stderr and "columns: count, x" in r.stderr


def test_empty_header_only_missing(tmp_path):
    p = write(tmp_path / "empty.csv", "")
    src = CSVSource(p)
    assert src.column_names() == [] and list(src.chunks()) == []
    p = write(tmp_path / "h.csv", "a,b\r\n")
    src = CSVSource(p)
    assert src.column_names() == ["a", "b"] and list(src.chunks()) == []
    with pytest.raises(MissingDataError):
        CSVSource(tmp_path / "nope.csv")
    with pytest.raises(StreamError, match="no column"):
        list(CSVSource(tmp_path / "h.csv").chunks(kinds={"zz": "float"}))
    # a repeated header name is renamed (real files have them: COMPAS repeats two columns)
    dup = CSVSource(write(tmp_path / "dup.csv", "a,a,a.1\n1,2,3\n"))
    assert dup.column_names() == ["a", "a.1", "a.1.1"]
    assert next(dup.chunks()).columns["a.1"].tolist() == [2.0]
    with pytest.raises(StreamError, match="duplicate"):  # names the caller gives must be unique
        CSVSource(write(tmp_path / "dup2.csv", "1,2\n"), header=["a", "a"])


# -- kernels vs the slow reference ---------------------------------------------------------
_bytes = st.lists(st.sampled_from(list(b'01239.,-+eE" \r\nab')), max_size=80).map(bytes)


@settings(max_examples=300, deadline=None)
@given(data=_bytes, final=st.booleans())
def test_tokenize_matches_reference(data, final):
    from onlinekit.streams._csv_kernels import tokenize

    toks = tokenize(np.frombuffer(data, dtype=np.uint8), 44, final, 1, np.zeros(0, np.int64), 0)
    nr, _nf, consumed, line, fs, fe, ff, rfs, rnf, rline, _v, _s = toks
    rows, rconsumed, rline_next = ref.tokenize(data, 44, final, 1)
    assert (consumed, line) == (rconsumed, rline_next)
    assert nr == len(rows)
    for r, (ln, k, fields) in enumerate(rows):
        assert (rline[r], rnf[r]) == (ln, k)
        f0 = rfs[r]
        got = [(fs[f0 + q], fe[f0 + q], ff[f0 + q]) for q in range(len(fields))]
        assert got == fields


@settings(max_examples=300, deadline=None)
@given(data=_bytes, final=st.booleans(), parse_from=st.sampled_from([0, 1, 2]))
@example(data=b'"a""b",1,"c"x\r\n"d",2,e\n,,\n1,2\n"q', final=True, parse_from=0)
def test_tokenizer_hashes_equal_stable_hash_of_the_field_text(data, final, parse_from):
    """Codes hashed while tokenizing (columns 0 and 2 of three; column 1 parsed) equal
    ``stable_hash`` of each unquoted field's bytes; quoted fields with escapes or text after
    the quote, and rows without exactly three fields, are left to Python."""
    from onlinekit.streams._csv_kernels import tokenize, tokenize_hashed
    from onlinekit.streams.encode import _signed_hash

    buf = np.frombuffer(data, dtype=np.uint8)
    colslot, hashslot = np.array([-1, 0, -1], np.int64), np.array([1, -1, 0], np.int64)
    toks = tokenize_hashed(buf, 44, final, 1, colslot, hashslot, parse_from)
    plain = tokenize(buf, 44, final, 1, colslot, parse_from)
    nr, nf = toks[0], toks[1]
    assert toks[:4] == plain[:4]  # hashing changes nothing else
    for q, m in ((4, nf), (5, nf), (6, nf), (7, nr), (8, nr), (9, nr)):
        assert np.array_equal(toks[q][:m], plain[q][:m])
    for q in (10, 11):
        assert np.array_equal(toks[q][:, parse_from:nr], plain[q][:, parse_from:nr], equal_nan=q == 10)
    nr, fs, fe, ff, rfs, rnf, hsh, slow = toks[0], toks[4], toks[5], toks[6], toks[7], toks[8], toks[12], toks[13]
    for r in range(parse_from, nr):
        for col, slot in ((0, 1), (2, 0)):
            if rnf[r] != 3:
                assert slow[slot, r]
                continue
            f = rfs[r] + col
            assert slow[slot, r] == (ff[f] == 1)
            if ff[f] == 0:
                assert hsh[slot, r] == _signed_hash(data[fs[f]: fe[f]].decode("latin-1"))


@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.sampled_from(list(b"0123456789.eE+-x")), max_size=30).map(bytes))
def test_parse_float_matches_reference(data):
    from onlinekit.streams._csv_kernels import parse_columns, tokenize

    buf = np.frombuffer(data + b"\n", dtype=np.uint8)
    v, s = ref.parse_float(data)
    # the unquoted fused path (parse while scanning) ...
    toks = tokenize(buf, 44, True, 1, np.zeros(1, np.int64), 0)
    if data:
        assert toks[11][0, 0] == s
        if s == 0:
            assert struct.pack("<d", toks[10][0, 0]) == struct.pack("<d", v)
        # ... and the separate column parser
        vals, stat = parse_columns(buf, toks[4], toks[5], toks[6], toks[7], toks[8], 0, 1, 1, np.zeros(1, np.int64))
        assert stat[0, 0] == s
        if s == 0:
            assert struct.pack("<d", vals[0, 0]) == struct.pack("<d", v)
    if s == 0:
        assert struct.pack("<d", v) == struct.pack("<d", float(data.decode()))


def test_large_exponents_whose_excess_fits_the_mantissa_are_exact():
    """``m e k`` with ``k > 22``: exact (status 0) when ``m * 10**(k - 22) <= 2**53``, and
    always equal to ``float()`` bit for bit (the reference decides the status)."""
    from onlinekit.streams._csv_kernels import tokenize

    rng = np.random.default_rng(1)
    texts = ["1e23", "9007199254740992e22", "9007199254740993e22", "900719925474099e23", "1e37", "1e38",
             "-12.5e30", "0.0001e40", "1e22", "123456e31", "5e-30", "1.7976931348623157e308"]
    for _ in range(3000):
        m = int(rng.integers(1, 10 ** int(rng.integers(1, 17))))
        digits = str(m)
        cut = int(rng.integers(0, len(digits) + 1))
        mant = digits[:cut] + ("." + digits[cut:] if cut < len(digits) else "")
        texts.append(f"{'-' if rng.random() < 0.3 else ''}{mant or '0'}e{int(rng.integers(-30, 45))}")
    fast = 0
    for text in texts:
        buf = np.frombuffer(text.encode() + b"\n", dtype=np.uint8)
        toks = tokenize(buf, 44, True, 1, np.zeros(1, np.int64), 0)
        v, s = ref.parse_float(text.encode())
        assert toks[11][0, 0] == s, text
        if s == 0:
            mant, ex = text.lstrip("-").split("e")
            fast += int(ex) - len(mant.partition(".")[2]) > 22
            assert struct.pack("<d", toks[10][0, 0]) == struct.pack("<d", float(text)), text
    assert fast > 100  # the extended path was exercised


def test_fused_parse_reads_fractions_exactly():
    """The fused parser on fractions of 0-20 digits, ending the row or followed in the field by
    any byte (an exponent, a letter, bytes >= 0xFA, a space), parses as the slow reference does:
    status, and value bit for bit."""
    from onlinekit.streams._csv_kernels import tokenize

    rng = np.random.default_rng(5)
    digits = list("0123456789")
    tails = [b"", b"", b"", b"e5", b"E-3", b"x", b"\xfa", b"\xff9", b".", b" ", b"-", b"/", b":", b"\x00"]
    statuses = set()
    for _ in range(1500):
        fields = []
        for _k in range(3):
            ip = "".join(rng.choice(digits, size=int(rng.integers(0, 4))))
            fr = "".join(rng.choice(digits, size=int(rng.integers(0, 21))))
            f = (str(rng.choice(["", "-", "+"])) + ip + "." + fr).encode() + tails[int(rng.integers(len(tails)))]
            fields.append(f)
        line = b",".join(fields) + [b"\n", b"\r\n", b""][int(rng.integers(3))]
        toks = tokenize(np.frombuffer(line, dtype=np.uint8), 44, True, 1, np.arange(3, dtype=np.int64), 0)
        assert toks[0] == 1 and toks[8][0] == 3
        for c, f in enumerate(fields):
            v, s = ref.parse_float(f)
            statuses.add(s)
            assert toks[11][c, 0] == s, f
            if s == 0:
                assert struct.pack("<d", toks[10][c, 0]) == struct.pack("<d", v), f
    assert statuses == {0, 1}


def test_fused_parse_respects_start_and_wrong_rows():
    from onlinekit.streams._csv_kernels import tokenize

    buf = np.frombuffer(b"1,2\n3\n5,6,7\n8,9", dtype=np.uint8)
    toks = tokenize(buf, 44, True, 1, np.array([1, 0], np.int64), 1)
    vals, stat = toks[10][:, : toks[0]], toks[11][:, : toks[0]]
    assert stat[:, 1:].tolist() == [[3, 3, 0], [3, 3, 0]]
    assert vals[:, 3].tolist() == [9.0, 8.0]


# -- read-ahead thread -------------------------------------------------------------------------
def _chunks_of(path, **kw):
    src = CSVSource(path, **kw)
    return [(c.offset, c.end, c.lines.tolist(), {k: v.tolist() for k, v in c.columns.items()})
            for c in src.chunks(chunk_size=37, kinds={"a": "float", "b": "cat", "c": "str"})]


@pytest.mark.parametrize("read_size", [5, 64, 1 << 20])
def test_read_ahead_equals_the_plain_loop(tmp_path, read_size):
    rng = np.random.default_rng(0)
    p = tmp_path / "r.csv"
    p.write_text("a,b,c\n" + "".join(f'{rng.normal():.6g},"L{rng.integers(9)}",t{i}\r\n' for i in range(400)))
    plain = _chunks_of(p, _read_size=read_size, _prefetch=False)
    assert len(plain) == 11
    assert _chunks_of(p, _read_size=read_size) == plain


def test_read_ahead_passes_errors_on_and_stops_its_thread(tmp_path):
    import gzip
    import threading

    p = tmp_path / "t.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("a\n" + "".join(f"{i}\n" for i in range(50_000)))
    data = p.read_bytes()
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    errors = []
    for prefetch in (False, True):
        with pytest.raises(EOFError) as e:
            list(CSVSource(tmp_path / "cut.csv.gz", _read_size=4096, _prefetch=prefetch).chunks(kinds={"a": "float"}))
        errors.append(str(e.value))
    assert errors[0] == errors[1]
    before = threading.active_count()
    it = CSVSource(p, _read_size=64).chunks(chunk_size=10, kinds={"a": "float"})
    assert next(it).columns["a"].tolist() == [float(i) for i in range(10)]
    it.close()  # a consumer that stops early
    assert threading.active_count() == before
    assert not any(t.name == "onlinekit-csv-reader" for t in threading.enumerate())
