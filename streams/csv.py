"""Streaming CSV/TSV source with a numba tokenizer and an exact float parser."""

from __future__ import annotations

import codecs
import csv as _pycsv
import gzip
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onlinekit.streams.block import Chunk
from onlinekit.streams.errors import MissingDataError, StreamError
from onlinekit.streams.source import BadRow, Source, check_errors_mode, requested_kinds

__all__ = ["CSVSource"]

#: Level texts a source remembers per categorical column (the encoder needs a text only to
#: name a one-hot column, and one-hot levels are capped well below this).
_MAX_LEVEL_TEXTS = 4096

#: Data rows looked at to decide whether an undeclared (``None`` / ``"str_or_float"``) column
#: is numeric. Always the first rows of the file, whatever ``start`` and ``chunk_size`` are.
_PROBE_ROWS = 65536


@dataclass
class _Batch:
    """Tokenized complete rows from one byte buffer."""

    raw: bytes
    buf: np.ndarray
    fs: np.ndarray
    fe: np.ndarray
    ff: np.ndarray
    rfs: np.ndarray
    rnf: np.ndarray
    rline: np.ndarray
    r0: int  # first data row inside these arrays (1 when the header row is here)
    nr: int  # rows in the arrays
    row0: int  # global data-row index of row r0
    vals: np.ndarray  # (slots, capacity) parsed numeric columns (rows >= the parse start)
    stat: np.ndarray  # parse status, see _csv_kernels
    hsh: np.ndarray  # (hash slots, capacity) FNV-1a codes of the hashed columns (same rows)
    hslow: np.ndarray  # ... and which of them need Python (quoted with escapes, malformed row)
    hslot: dict  # column index -> hash slot


@dataclass
class _Piece:
    """Parsed rows ``lo .. lo + n`` (global data-row indices)."""

    lo: int
    cols: dict
    lines: np.ndarray
    bad: np.ndarray
    reasons: dict  # local row index -> (column or None, reason)

    @property
    def n(self) -> int:
        return len(self.lines)

    def split(self, m: int) -> tuple[_Piece, _Piece]:
        a = _Piece(
            self.lo,
            {k: v[:m] for k, v in self.cols.items()},
            self.lines[:m],
            self.bad[:m],
            {i: r for i, r in self.reasons.items() if i < m},
        )
        b = _Piece(
            self.lo + m,
            {k: v[m:] for k, v in self.cols.items()},
            self.lines[m:],
            self.bad[m:],
            {i - m: r for i, r in self.reasons.items() if i >= m},
        )
        return a, b

    @staticmethod
    def concat(pieces: list[_Piece]) -> _Piece:
        if len(pieces) == 1:
            return pieces[0]
        reasons: dict = {}
        off = 0
        for p in pieces:
            for i, r in p.reasons.items():
                reasons[i + off] = r
            off += p.n
        return _Piece(
            pieces[0].lo,
            {k: np.concatenate([p.cols[k] for p in pieces]) for k in pieces[0].cols},
            np.concatenate([p.lines for p in pieces]),
            np.concatenate([p.bad for p in pieces]),
            reasons,
        )


_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _ahead(items: Iterator, depth: int = 2) -> Iterator:
    """The items of ``items``, produced up to ``depth`` ahead by a helper thread.

    An exception raised by ``items`` is re-raised here, at the item where it happened;
    closing this generator (or an error in the consumer) stops the helper.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer
            put(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    helper = threading.Thread(target=produce, name="onlinekit-csv-reader", daemon=True)
    helper.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        helper.join()


def _dedupe(names: list[str]) -> list[str]:
    """Header names made unique as pandas does: a repeated ``a`` becomes ``a.1``, ``a.2``, ...

    >>> _dedupe(["a", "b", "a", "a", "a.1"])
    ['a', 'b', 'a.1', 'a.2', 'a.1.1']
    """
    seen: set[str] = set()
    out = []
    for name in names:
        new, k = name, 0
        while new in seen:
            k += 1
            new = f"{name}.{k}"
        seen.add(new)
        out.append(new)
    return out


def _unquote(text: str, delimiter: str) -> str:
    """The field text Python's :mod:`csv` module reads from a raw quoted field."""
    rows = list(_pycsv.reader([text], delimiter=delimiter))
    return rows[0][0] if rows and rows[0] else ""


class CSVSource(Source):
    """A CSV or TSV file (optionally gzip-compressed), streamed in bounded memory.

    The file is read in byte blocks; a numba kernel finds the fields of every row (RFC 4180
    quotes, ``""`` escapes, ``\\n`` / ``\\r\\n`` line ends, blank lines skipped) and a second
    kernel converts numeric fields exactly, so every number equals Python's ``float(text)``
    bit for bit. Only the columns asked for are converted.

    Parameters
    ----------
    path
        File path; a ``.gz`` suffix means gzip.
    errors
        ``"raise"`` (default): a malformed row raises
        :class:`~onlinekit.streams.errors.StreamError` naming file, line and column.
        ``"skip"``: the row is dropped, counted in :attr:`skipped` and described in
        :attr:`bad_rows`. Malformed: a row with the wrong number of fields, or an empty or
        non-numeric field in a numeric column.
    delimiter
        Field separator. Default: ``"\\t"`` for ``.tsv`` files, else sniffed from the first
        line: the most frequent of ``, ; \\t |`` outside quotes (``","`` if none occurs).
    header
        ``True``: the first row holds the column names (a repeated name gets a suffix, as
        pandas does: ``a``, ``a.1``, ``a.2``). ``False``: there is no header row;
        the columns are named ``c0, c1, ...`` (as many as the first row has fields). Or a
        list of names, when the file has no header row.
    na_values
        Texts read as NaN in numeric columns (e.g. ``("NA", "?")``; include ``""`` to accept
        empty fields). Texts that are numbers stay numbers. Non-finite values are rejected
        later by the schema layer.
    encoding
        An ASCII-compatible text encoding (``utf-8`` default).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> path = os.path.join(tempfile.mkdtemp(), "data.csv")
    >>> x = rng.integers(0, 100, size=5)
    >>> with open(path, "w") as f:
    ...     _ = f.write("x,name\\n" + "".join(f"{v},n{v}\\n" for v in x))
    >>> src = CSVSource(path)
    >>> src.column_names()
    ['x', 'name']
    >>> [c.columns["x"].tolist() for c in src.chunks(chunk_size=3)]
    [[85.0, 63.0, 51.0], [26.0, 30.0]]
    >>> chunk = next(src.chunks(start=3, kinds={"name": "str"}))
    >>> chunk.offset, chunk.columns["name"].tolist(), chunk.lines.tolist()
    (3, ['n26', 'n30'], [5, 6])
    """

    categorical_codes = True

    def __init__(
        self,
        path,
        *,
        errors: str = "raise",
        delimiter: str | None = None,
        header: bool | Sequence[str] = True,
        na_values: Sequence[str] = (),
        encoding: str = "utf-8",
        _read_size: int = 1 << 20,
        _prefetch: bool | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.name = str(path)
        self.errors = check_errors_mode(errors)
        suffixes = [s.lower() for s in self.path.suffixes]
        self._gzip = bool(suffixes) and suffixes[-1] == ".gz"
        if not self.path.exists():
            raise MissingDataError(f"no such file: {self.name}")
        if self.path.is_dir():
            raise StreamError(f"{self.name}: is a directory, not a CSV file")
        if delimiter is None:
            base = suffixes[:-1] if self._gzip else suffixes
            delimiter = "\t" if base and base[-1] == ".tsv" else self._sniff()
        if len(delimiter) != 1 or ord(delimiter) > 127 or delimiter in "\"\r\n":
            raise ValueError(f"delimiter must be one ASCII character other than quote/newline, got {delimiter!r}")
        self.delimiter = delimiter
        try:
            info = codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}") from None
        if "utf-16" in info.name or "utf-32" in info.name:
            raise ValueError(f"encoding must be ASCII-compatible, got {encoding!r}")
        self.encoding = info.name
        self.na_values = frozenset(str(v) for v in na_values)
        if int(_read_size) < 1:
            raise ValueError("_read_size must be >= 1")
        self._read_size = int(_read_size)
        #: read ahead in a helper thread when the machine has a second core (``_prefetch`` forces
        #: it on or off): on an idle 2-core machine the 5-categorical + 15-numeric 1M-row log
        #: replays 1.6x faster with it (700-770k vs 400-510k rows/s, back to back); on a busy one
        #: it was measured 5-18% slower, as the two threads then share one core
        self._prefetch = (os.cpu_count() or 1) > 1 if _prefetch is None else bool(_prefetch)
        if header is False:
            header = [f"c{j}" for j in range(self._count_fields())]
        self._header_given = not isinstance(header, bool)
        self._names: list[str] | None = list(header) if self._header_given else None
        if self._names is not None:
            self._check_names(self._names)
        self._inferred: dict[str, bool] = {}
        #: the header row as read from the file (before repeated names were made unique)
        self.header_row: list[str] | None = None
        #: column -> {code: text} for the categorical codes seen so far (kind ``"cat"``)
        self.level_texts: dict[str, dict[int, str]] = {}
        self._known_codes: dict[str, tuple] = {}  # hash table of level_texts' codes, its size (derived)
        self.column_names()  # read the header now: errors surface early

    # -- reading ------------------------------------------------------------------------
    def _first_line(self) -> str:
        with self._open() as f:
            raw = f.readline(1 << 20)
        return raw.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")

    def _sniff(self) -> str:
        """The most frequent candidate delimiter outside quotes on the first line."""
        counts = dict.fromkeys(",;\t|", 0)
        quoted = False
        for ch in self._first_line():
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch in counts:
                counts[ch] += 1
        best = max(counts, key=lambda c: counts[c])
        return best if counts[best] else ","

    def _count_fields(self) -> int:
        line = self._first_line()
        if not line:
            return 0
        return len(next(_pycsv.reader([line], delimiter=self.delimiter)))

    def _open(self):
        if self._gzip:
            return gzip.open(self.path, "rb")
        return open(self.path, "rb")

    def _check_names(self, names: list[str]) -> None:
        seen = set()
        for c in names:
            if c in seen:
                raise StreamError(f"{self.name}: duplicate column name {c!r}")
            seen.add(c)

    def _raw_batches(self, colslot: np.ndarray, first_row: int,
                     hashslot: np.ndarray | None = None) -> Iterator[tuple[bytes, np.ndarray, tuple]]:
        """Tokenize the file buffer by buffer; rows from ``first_row`` on (counting the
        header row) have the columns with ``colslot >= 0`` parsed as numbers too, and those
        with ``hashslot >= 0`` hashed.

        Reading and tokenizing run one or two buffers ahead in a helper thread (the numba
        kernel releases the GIL), so they overlap the caller's work on the previous buffer;
        the buffers, their order and any error are exactly those of the plain loop.
        """
        batches = self._tokenized(colslot, first_row, hashslot)
        if self._prefetch:
            batches = _ahead(batches)
        yield from batches

    def _tokenized(self, colslot: np.ndarray, first_row: int,
                   hashslot: np.ndarray | None) -> Iterator[tuple[bytes, np.ndarray, tuple]]:
        from onlinekit.streams._csv_kernels import tokenize_hashed

        if hashslot is None:
            hashslot = np.zeros(0, dtype=np.int64)

        delim = ord(self.delimiter)
        carry = b""
        line = 1
        rows_done = 0
        first = True
        with self._open() as f:
            while True:
                data = f.read(self._read_size)
                final = not data
                raw = carry + data if carry else data
                if first and raw:
                    if len(raw) < 3 and not final and b"\xef\xbb\xbf".startswith(raw):
                        carry = raw
                        continue
                    first = False
                    if raw.startswith(b"\xef\xbb\xbf") and self.encoding.startswith("utf-8"):
                        raw = raw[3:]
                if not raw:
                    if final:
                        return
                    continue
                buf = np.frombuffer(raw, dtype=np.uint8)
                toks = tokenize_hashed(buf, delim, final, line, colslot, hashslot, max(0, first_row - rows_done))
                nr, consumed, line = toks[0], toks[2], toks[3]
                carry = raw[consumed:]
                if nr:
                    rows_done += nr
                    yield raw, buf, toks
                if final:
                    return

    def _decode_field(self, raw: bytes, s: int, e: int, flag: int) -> str:
        text = raw[s:e].decode(self.encoding)
        if flag:
            text = _unquote(text, self.delimiter)
        return text

    def _batches(self, parsed: Sequence[str] = (), start: int = 0, hashed: Sequence[str] = ()) -> Iterator[_Batch]:
        """Batches of data rows; columns ``parsed`` are converted for rows from ``start`` on,
        and columns ``hashed`` hashed (categorical codes)."""
        header_pending = not self._header_given
        if parsed:
            colslot = np.full(len(self._names), -1, dtype=np.int64)
            for k, c in enumerate(parsed):
                colslot[self._names.index(c)] = k
        else:
            colslot = np.zeros(0, dtype=np.int64)
        hslot = {self._names.index(c): k for k, c in enumerate(hashed)}
        hashslot = np.full(max(hslot, default=-1) + 1, -1, dtype=np.int64)
        for j, k in hslot.items():
            hashslot[j] = k
        row0 = 0
        for raw, buf, toks in self._raw_batches(colslot, start + (1 if header_pending else 0), hashslot):
            nr, _nf, _c, _l, fs, fe, ff, rfs, rnf, rline, vals, stat, hsh, hslow = toks
            r0 = 0
            if header_pending:
                header_pending = False
                if self._names is None:
                    k0, k = int(rfs[0]), int(rnf[0])
                    if k < 0:
                        raise StreamError(f"{self.name}, line {int(rline[0])}: unterminated quoted field in the header")
                    try:
                        names = [
                            self._decode_field(raw, int(fs[i]), int(fe[i]), int(ff[i]))
                            for i in range(k0, k0 + k)
                        ]
                    except UnicodeDecodeError as exc:
                        raise StreamError(f"{self.name}, line {int(rline[0])}: cannot decode header ({exc})") from None
                    self.header_row = names
                    self._names = _dedupe(names)
                r0 = 1
            if r0 < nr:
                yield _Batch(raw, buf, fs, fe, ff, rfs, rnf, rline, r0, nr, row0, vals, stat, hsh, hslow, hslot)
                row0 += nr - r0

    def _plain_header(self) -> list[str] | None:
        """The header row, read without the tokenizer when that is simple: the first non-blank
        line holds no quote character and ends within the first read.

        The fields are then exactly what the tokenizer finds (the line split at the
        delimiter), and an error path of the CLI (a missing option, an unknown column) answers
        without loading the numba kernels. Anything else (a quote, an undecodable name, a
        very long first line) returns ``None``: the tokenizer reads the header.
        """
        with self._open() as f:
            raw = f.read(self._read_size)
            final = not f.read(1)
        if raw.startswith(b"\xef\xbb\xbf") and self.encoding.startswith("utf-8"):
            raw = raw[3:]
        # blank lines before the header are skipped, as the tokenizer does: any run of CR / LF
        # bytes is line ends only (a CR ending a partial read is one too, unless it is all there is)
        text = raw.lstrip(b"\r\n")
        if not text:
            return [] if final else None
        ends = [e for e in (text.find(b"\n"), text.find(b"\r")) if e >= 0]
        end = min(ends) if ends else (len(text) if final else -1)
        if end < 0:
            return None
        text = text[:end]
        if b'"' in text:
            return None
        try:
            return text.decode(self.encoding).split(self.delimiter)
        except UnicodeDecodeError:
            return None

    def column_names(self) -> list[str]:
        if self._names is None and not self._header_given:
            plain = self._plain_header()
            if plain:  # None: the tokenizer reads it; []: an empty file, the tokenizer says so
                self.header_row = plain
                self._names = _dedupe(plain)
        if self._names is None:
            for _ in self._batches():
                break
            if self._names is None:  # empty file
                self._names = []
        return list(self._names)

    # -- kinds --------------------------------------------------------------------------
    def _resolve(self, kinds) -> dict[str, str]:
        names = self.column_names()
        want = requested_kinds(self.name, names, kinds)
        todo = [c for c, k in want.items() if k in ("str_or_float", "cat_or_float") and c not in self._inferred]
        if todo:
            self._infer(todo)
        out = {}
        for c in names:  # file order
            if c in want:
                k = want[c]
                if k in ("str_or_float", "cat_or_float"):
                    k = "float" if self._inferred[c] else k.split("_", 1)[0]
                out[c] = k
        return out

    def _infer(self, cols: list[str]) -> None:
        """A column is numeric when every value in the first rows of the file parses."""
        numeric = dict.fromkeys(cols, True)
        seen = 0
        for b in self._batches(cols):  # the tokenizer parses them
            take = min(b.nr - b.r0, _PROBE_ROWS - seen)
            for k, c in enumerate(cols):
                if numeric[c] and not self._all_parse(b, b.r0, self._names.index(c), b.stat[k, b.r0: b.r0 + take]):
                    numeric[c] = False
            seen += take
            if seen >= _PROBE_ROWS or not any(numeric.values()):
                break
        self._inferred.update(numeric)

    # -- parsing ------------------------------------------------------------------------
    def _all_parse(self, b: _Batch, lo: int, j: int, st: np.ndarray) -> bool:
        """Does every well-formed row's field ``j`` (status ``st``, rows from ``lo``) read as a
        number or an NA value? Stops at the first field that does not (a text column fails on
        its first row, so probing costs one Python ``float()``, not one per row)."""
        ncols = len(self._names)
        for i in np.flatnonzero((st == 1) | (st == 2)).tolist():
            if b.rnf[lo + i] != ncols:
                continue
            f = int(b.rfs[lo + i]) + j
            try:
                text = self._decode_field(b.raw, int(b.fs[f]), int(b.fe[f]), int(b.ff[f]))
            except UnicodeDecodeError:
                return False
            if text in self.na_values:
                continue
            if st[i] == 2 or text == "":
                return False
            try:
                float(text)
            except ValueError:
                return False
        return True

    def _fallback(self, b: _Batch, lo: int, j: int, vals: np.ndarray, st: np.ndarray):
        fail = np.zeros(len(vals), dtype=bool)
        reasons: dict[int, str] = {}
        idx = np.flatnonzero((st == 1) | (st == 2))
        for i in idx.tolist():
            f = int(b.rfs[lo + i]) + j
            try:
                text = self._decode_field(b.raw, int(b.fs[f]), int(b.fe[f]), int(b.ff[f]))
            except UnicodeDecodeError:
                fail[i] = True
                reasons[i] = f"cannot decode field as {self.encoding}"
                continue
            if text in self.na_values:
                vals[i] = np.nan
                continue
            if st[i] == 2 or text == "":
                fail[i] = True
                reasons[i] = "empty field where a number is expected"
                continue
            try:
                vals[i] = float(text)
            except ValueError:
                fail[i] = True
                reasons[i] = f"cannot parse {text!r} as a number"
        return vals, fail, reasons

    def _parse_batch(self, b: _Batch, lo: int, hi: int, kinds: dict[str, str], infer: set) -> _Piece:
        """Rows ``lo:hi`` of batch ``b`` (array indices) as a piece; the numeric columns
        (``kinds`` order) were parsed by the tokenizer."""
        names = self._names
        ncols = len(names)
        n = hi - lo
        rnf = b.rnf[lo:hi]
        bad = rnf != ncols
        reasons: dict[int, tuple[str | None, str]] = {}
        for i in np.flatnonzero(bad).tolist():
            k = int(rnf[i])
            reasons[i] = (
                (None, "unterminated quoted field")
                if k < 0
                else (None, f"expected {ncols} fields, got {k}")
            )
        cols: dict[str, np.ndarray] = {}
        num = [c for c, k in kinds.items() if k == "float"]
        for k, c in enumerate(num):
            v, s = b.vals[k, lo:hi], b.stat[k, lo:hi]
            if np.any((s == 1) | (s == 2)):
                v, fail, why = self._fallback(b, lo, names.index(c), v, s)
                if fail.any():
                    for i, r in why.items():
                        if bad[i]:
                            continue
                        if c in infer:
                            r += f" (the column is numeric in the first {_PROBE_ROWS} rows)"
                        reasons[i] = (c, r)
                    bad = bad | fail
            cols[c] = v
        for c, k in kinds.items():
            if k == "cat":
                cols[c] = self._hash_column(b, lo, hi, names.index(c), bad, rnf, reasons, c)
                continue
            if k != "str":
                continue
            j = names.index(c)
            out = np.empty(n, dtype=object)
            raw, fs, fe, ff, rfs = b.raw, b.fs, b.fe, b.ff, b.rfs
            enc = self.encoding
            for i in range(n):
                if bad[i] and rnf[i] != ncols:
                    out[i] = ""
                    continue
                f = int(rfs[lo + i]) + j
                s, e = int(fs[f]), int(fe[f])
                try:
                    t = raw[s:e].decode(enc)
                except UnicodeDecodeError:
                    out[i] = ""
                    if not bad[i]:
                        bad[i] = True
                        reasons[i] = (c, f"cannot decode field as {enc}")
                    continue
                out[i] = _unquote(t, self.delimiter) if ff[f] else t
            cols[c] = out
        return _Piece(b.row0 + (lo - b.r0), cols, b.rline[lo:hi], bad, reasons)

    def _hash_column(self, b: _Batch, lo: int, hi: int, j: int, bad, rnf, reasons, c: str) -> np.ndarray:
        """Categorical codes of column ``j`` (FNV-1a hashes of the field texts, ``int64``); the
        texts of hashes not seen before go to :attr:`level_texts` (the first 4,096 per column)."""
        from onlinekit.streams._kernels import code_lookup, code_table
        from onlinekit.streams.encode import _signed_hash

        ncols = len(self._names)
        k = b.hslot[j]  # every categorical column is hashed by the tokenizer
        h, slow = b.hsh[k, lo:hi].copy(), b.hslow[k, lo:hi]
        texts = self.level_texts.setdefault(c, {})
        for i in np.flatnonzero(slow).tolist():
            if rnf[i] != ncols:
                continue  # a malformed row, reported by the caller
            f = int(b.rfs[lo + i]) + j
            try:
                t = self._decode_field(b.raw, int(b.fs[f]), int(b.fe[f]), int(b.ff[f]))
            except UnicodeDecodeError:
                if not bad[i]:
                    bad[i] = True
                    reasons[i] = (c, f"cannot decode field as {self.encoding}")
                continue
            h[i] = _signed_hash(t)
            if len(texts) < _MAX_LEVEL_TEXTS:
                texts.setdefault(int(h[i]), t)
        if len(texts) < _MAX_LEVEL_TEXTS:
            known = self._known_codes.get(c)
            if known is None or known[1] != len(texts):
                keys = np.array(list(texts), dtype=np.int64)
                known = self._known_codes[c] = (code_table(keys, np.zeros(len(keys), dtype=np.int64)), len(texts))
            tk, tv, used, shift = known[0]
            rows = np.flatnonzero(code_lookup(tk, tv, used, shift, h, -1))  # codes without a text
            if not len(rows):
                return h
            u, first = np.unique(h[rows], return_index=True)
            for hv, i in zip(u.tolist(), rows[first].tolist(), strict=True):
                if hv in texts or slow[i]:
                    continue
                f = int(b.rfs[lo + i]) + j
                try:
                    texts[hv] = b.raw[int(b.fs[f]): int(b.fe[f])].decode(self.encoding)
                except UnicodeDecodeError:
                    if not bad[i]:
                        bad[i] = True
                        reasons[i] = (c, f"cannot decode field as {self.encoding}")
                if len(texts) >= _MAX_LEVEL_TEXTS:
                    break
        return h

    # -- public -------------------------------------------------------------------------
    def chunks(self, start: int = 0, chunk_size: int = 65536, kinds=None) -> Iterator[Chunk]:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        requested = None if kinds is None else dict(kinds)
        resolved = self._resolve(requested)
        infer = {
            c for c in resolved if (requested is None or requested.get(c) in ("str_or_float", "cat_or_float"))
        }
        # order of columns in the chunk: as requested (file order when None)
        col_order = list(requested) if requested is not None else list(resolved)
        pending: list[_Piece] = []
        npending = 0
        numeric = [c for c, k in resolved.items() if k == "float"]
        hashed = [c for c, k in resolved.items() if k == "cat"]
        for b in self._batches(numeric, start, hashed):
            lo_row, hi_row = b.row0, b.row0 + (b.nr - b.r0)
            if hi_row <= start:
                continue
            lo = b.r0 + max(0, start - lo_row)
            piece = self._parse_batch(b, lo, b.nr, resolved, infer)
            pending.append(piece)
            npending += piece.n
            while npending >= chunk_size:
                head: list[_Piece] = []
                need = chunk_size
                while need:
                    p = pending.pop(0)
                    if p.n > need:
                        p, rest = p.split(need)
                        pending.insert(0, rest)
                    head.append(p)
                    need -= p.n
                npending -= chunk_size
                yield self._emit(_Piece.concat(head), col_order)
        if npending:
            yield self._emit(_Piece.concat(pending), col_order)

    def _emit(self, p: _Piece, col_order: list[str]) -> Chunk:
        cols = {c: p.cols[c] for c in col_order}
        if not p.bad.any():
            return Chunk(p.lo, cols, p.lines, self.name, p.lo + p.n)
        for i in sorted(p.reasons):
            col, reason = p.reasons[i]
            loc = f"{self.name}, line {int(p.lines[i])}"
            if self.errors == "raise":
                raise StreamError(str(BadRow(loc, col, reason)))
            self._record_bad(BadRow(loc, col, reason))
        keep = ~p.bad
        return Chunk(p.lo, {c: v[keep] for c, v in cols.items()}, p.lines[keep], self.name, p.lo + p.n)
