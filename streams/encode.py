"""Feature encoding for real-world logs: categorical columns, missing cells, online scaling.

A :class:`FeatureEncoder` turns a block's raw feature columns (numbers and text) into the
``float64`` matrix a learner sees. It processes events strictly in stream order and every
statistic it keeps is updated *after* the event has been encoded, so event ``i`` is encoded
with what events ``0 .. i-1`` taught it (no look-ahead: the prediction of event ``i`` never
depends on event ``i`` or later). Its whole state goes into replay checkpoints.

* **Categorical columns** (text columns, detected on the first rows of the source, or named
  explicitly) are one-hot encoded: each new level gets a new output column (``col=level``) in
  order of first appearance, up to ``max_levels`` levels per column; later new levels are
  hashed (a stable FNV-1a hash of the UTF-8 text) into ``2**hash_bits`` bucket columns
  (``col#k``), as Vowpal Wabbit hashes features.
* **Missing cells** (NaN in a numeric column, an empty or ``na_values`` text in a categorical
  one): ``"raise"`` (a malformed row), ``"skip"`` (the row is dropped and reported),
  ``"zero"`` (0, or no level) or ``"mean"`` (the running mean of the values seen so far, as
  River's ``StatImputer``; no level for a categorical cell).
* **Class labels** (``target="label"``): the target column's values (text or numbers) become
  class codes ``0, 1, 2, ...`` in order of first appearance (:attr:`labels_` names them), for
  multiclass learners; a missing label is a malformed row.
* **Scaling**: ``"standard"`` standardises each numeric column with the running mean and
  population standard deviation of the values seen before the event (0 until two distinct
  values have been seen), clipped to ``+-CLIP`` (5) standard deviations; imputed values are
  scaled like observed ones but never update the statistics.

Output columns are appended as they are allocated (``grow=True``, for learners that accept
new features mid-stream with zero weight), or reserved up front (``grow=False``: every
categorical column takes ``max_levels + 2**hash_bits`` columns from the start, so the width
never changes).

Examples
--------
>>> import numpy as np
>>> enc = FeatureEncoder(scale="standard")
>>> enc.setup(["age", "colour"], {"age": "float", "colour": "str"})
>>> cols = {"age": np.array([20.0, 40.0, 60.0]), "colour": np.array(["red", "blue", "red"], dtype=object)}
>>> X = enc.encode(cols, np.ones(3, dtype=bool))
>>> enc.names_
['age', 'colour=red', 'colour=blue']
>>> X.tolist()     # age is scaled with the events before it: 0, 0 (one value seen), then (60-30)/10
[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [3.0, 1.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["FeatureEncoder", "stable_hash", "MISSING_POLICIES", "SCALINGS"]

MISSING_POLICIES = ("raise", "skip", "zero", "mean")
#: Standardised values are clipped to +-CLIP: early in a stream the running deviation rests on a
#: few events, and one unusual value would otherwise become a huge input (and a huge step).
CLIP = 5.0
SCALINGS = ("none", "standard")


def stable_hash(text: str) -> int:
    """64-bit FNV-1a hash of the UTF-8 bytes of ``text`` (stable across runs and machines).

    >>> stable_hash(""), stable_hash("a")
    (14695981039346656037, 12638187200555641996)
    """
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _signed_hash(text: str) -> int:
    """:func:`stable_hash` as a signed 64-bit integer (the ``int64`` codes sources produce)."""
    h = stable_hash(text)
    return h - (1 << 64) if h >= 1 << 63 else h


def _encode_numeric(raw: np.ndarray, out: np.ndarray, policy: int, scale: bool, stats: np.ndarray) -> None:
    """Row by row: impute, scale with the statistics so far, then update them (no look-ahead).

    ``stats`` is ``(3, p)``: count, mean and sum of squared deviations of the observed values
    of each column (Welford). ``policy``: 0 zero, 1 mean (rows with missing cells under
    ``raise`` / ``skip`` never get here).
    """
    n, p = raw.shape
    for i in range(n):
        for j in range(p):
            v = raw[i, j]
            observed = v == v
            cnt = stats[0, j]
            mean = stats[1, j]
            if not observed:
                v = mean if (policy == 1 and cnt > 0.0) else 0.0
            if scale:
                var = stats[2, j] / cnt if cnt > 0.0 else 0.0
                z = (v - mean) / np.sqrt(var) if var > 0.0 else 0.0
                out[i, j] = min(max(z, -CLIP), CLIP)
            else:
                out[i, j] = v
            if observed:
                cnt += 1.0
                delta = v - mean
                mean += delta / cnt
                stats[0, j] = cnt
                stats[1, j] = mean
                stats[2, j] += delta * (v - mean)


_KERNEL = None


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        from onlinekit._numba import njit

        _KERNEL = njit(_encode_numeric)
    return _KERNEL


class FeatureEncoder:
    """Encode raw feature columns into a float matrix, event by event (see the module doc).

    Parameters
    ----------
    categorical
        ``"auto"``: text columns are categorical; ``"none"``: no categorical columns (text
        in a feature column is an error); or a sequence of column names to treat as
        categorical even when they hold numbers.
    max_levels
        Levels one-hot encoded per categorical column before hashing starts.
    hash_bits
        Levels past ``max_levels`` are hashed into ``2**hash_bits`` buckets per column.
    missing
        ``"raise"``, ``"skip"``, ``"zero"`` or ``"mean"`` (see the module doc).
    scale
        ``"none"`` or ``"standard"``.
    na_values
        Texts that mean "missing" in a categorical column (the empty text always does).
    grow
        Append output columns as levels appear (``True``) or reserve them up front.
    target
        ``"number"`` (the target is a number) or ``"label"`` (class labels, coded in order of
        first appearance; see :meth:`label_codes`).
    """

    def __init__(
        self,
        categorical: str | Sequence[str] = "auto",
        *,
        max_levels: int = 32,
        hash_bits: int = 6,
        missing: str = "raise",
        scale: str = "none",
        na_values: Sequence[str] = (),
        grow: bool = True,
        target: str = "number",
    ) -> None:
        if target not in ("number", "label"):
            raise ValueError(f"target must be 'number' or 'label', got {target!r}")
        self.target = target
        if isinstance(categorical, str) and categorical not in ("auto", "none"):
            raise ValueError(f"categorical must be 'auto', 'none' or a list of columns, got {categorical!r}")
        if missing not in MISSING_POLICIES:
            raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
        if scale not in SCALINGS:
            raise ValueError(f"scale must be one of {SCALINGS}, got {scale!r}")
        if not (isinstance(max_levels, int) and max_levels >= 1):
            raise ValueError(f"max_levels must be an integer >= 1, got {max_levels!r}")
        if not (isinstance(hash_bits, int) and 0 <= hash_bits <= 24):
            raise ValueError(f"hash_bits must be an integer in 0..24, got {hash_bits!r}")
        self.categorical = categorical if isinstance(categorical, str) else tuple(categorical)
        self.max_levels = max_levels
        self.hash_bits = hash_bits
        self.missing = missing
        self.scale = scale
        self.na_values = frozenset({""} | {str(v) for v in na_values})
        self._na_codes = np.array(sorted(_signed_hash(v) for v in self.na_values), dtype=np.int64)
        self._na_table = None  # hash table of _na_codes (derived)
        #: column -> {code: text}: level texts a source provides for coded columns (not state)
        self.level_texts: dict[str, dict[int, str]] = {}
        self.grow = bool(grow)
        self.numeric_: list[str] = []
        self.categorical_: list[str] = []
        self.names_: list[str] = []
        self.levels_: dict[str, dict[int, int]] = {}  # column -> {level code: output column}
        self.n_levels_: dict[str, int] = {}
        self.stats_ = np.zeros((3, 0))
        self._label_index: dict = {}
        self.sensitive_levels_: dict[str, int] = {}
        self.labels_: list = []  # class labels in order of first appearance (target="label")
        self._tables: dict[str, tuple] = {}  # column -> (hash table of level codes, table size) (derived)

    # -- layout -------------------------------------------------------------------------
    def kind_for(self, column: str) -> str:
        """The kind to request from a source for feature ``column``."""
        if self.categorical == "none":
            return "float"
        if self.categorical == "auto":
            return "cat_or_float"
        return "cat" if column in self.categorical else "cat_or_float"

    def _hash_array(self, v: np.ndarray) -> np.ndarray:
        """Categorical codes (signed 64-bit :func:`stable_hash`) of a column given as text,
        as numbers (categorical by request: the shortest repr is the text) or as codes."""
        if v.dtype == np.int64:
            return v
        if v.dtype != object:
            v = np.array([repr(float(x)) if x == x else "" for x in v.tolist()], dtype=object)
        return np.fromiter((_signed_hash(t if isinstance(t, str) else repr(float(t))) for t in v.tolist()),
                           dtype=np.int64, count=len(v))

    def _texts_of(self, col: str, v: np.ndarray, codes: np.ndarray, first: np.ndarray) -> dict[int, str]:
        if v.dtype == object:
            return {int(codes[i]): (v[i] if isinstance(v[i], str) else repr(float(v[i]))) for i in first.tolist()}
        if v.dtype != np.int64:
            return {int(codes[i]): repr(float(v[i])) for i in first.tolist()}
        return self.level_texts.get(col, {})

    def setup(self, features: Sequence[str], kinds: Mapping[str, str]) -> None:
        """Fix which features are numeric and which categorical (``kinds`` as the source
        resolved them). Called again (e.g. after a resume) it checks the layout is the same."""
        cats = [c for c in features if kinds.get(c) in ("str", "cat")]
        nums = [c for c in features if c not in cats]
        if self.numeric_ or self.categorical_:
            if (nums, cats) != (self.numeric_, self.categorical_):
                raise ValueError(f"feature layout changed: numeric {nums} / categorical {cats}, "
                                 f"expected {self.numeric_} / {self.categorical_}")
            return
        self.numeric_, self.categorical_ = list(nums), list(cats)
        self.names_ = list(nums)
        self.stats_ = np.zeros((3, len(nums)))
        for c in cats:
            self.levels_[c] = {}
            self.n_levels_[c] = 0
            if not self.grow:
                self.names_ += [f"{c}=?{k}" for k in range(self.max_levels)]
                self.names_ += [f"{c}#{k}" for k in range(1 << self.hash_bits)]

    @property
    def width(self) -> int:
        """Number of output columns so far."""
        return len(self.names_)

    def _base(self, col: str) -> int:
        k = self.categorical_.index(col)
        return len(self.numeric_) + k * (self.max_levels + (1 << self.hash_bits))

    def _slot(self, col: str, code: int, text: str | None) -> int:
        """Output column of the level with ``code`` (its hash) in ``col``, allocated on first sight."""
        table = self.levels_[col]
        j = table.get(code)
        if j is not None:
            return j
        k = self.n_levels_[col]
        if k < self.max_levels:
            self.n_levels_[col] = k + 1
            name = f"{col}={text if text is not None else f'#{code & 0xFFFFFFFFFFFFFFFF:016x}'}"
            if self.grow:
                j = len(self.names_)
                self.names_.append(name)
            else:
                j = self._base(col) + k
                self.names_[j] = name
        else:
            bucket = code & ((1 << self.hash_bits) - 1)
            name = f"{col}#{bucket}"
            if self.grow:
                try:
                    j = self.names_.index(name, len(self.numeric_))
                except ValueError:
                    j = len(self.names_)
                    self.names_.append(name)
            else:
                j = self._base(col) + self.max_levels + bucket
        table[code] = j
        return j

    # -- per block ----------------------------------------------------------------------
    def is_missing(self, cols: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Column -> boolean mask of its missing cells (only columns with some)."""
        out = {}
        for c in self.numeric_:
            m = np.isnan(cols[c])
            if m.any():
                out[c] = m
        for c in self.categorical_:
            v = cols[c]
            if v.dtype == object:
                m = np.fromiter((s in self.na_values for s in v.tolist()), dtype=bool, count=len(v))
            elif v.dtype == np.int64:
                m = self._na_lookup(v)
            else:
                m = np.isnan(v)
            if m.any():
                out[c] = m
        return out

    def _na_lookup(self, codes: np.ndarray) -> np.ndarray:
        """Which ``codes`` are NA codes (a numba hash-table lookup)."""
        from onlinekit.streams._kernels import code_lookup, code_table

        if len(self._na_codes) <= 4:  # usually just the empty text: comparisons beat the table 6x
            out = np.zeros(len(codes), dtype=bool)
            for code in self._na_codes.tolist():
                out |= codes == code
            return out
        if self._na_table is None:
            self._na_table = code_table(self._na_codes, np.zeros(len(self._na_codes), dtype=np.int64))
        tk, tv, used, shift = self._na_table
        return code_lookup(tk, tv, used, shift, np.ascontiguousarray(codes), -1) == 0

    def _lookup(self, col: str, codes: np.ndarray) -> np.ndarray:
        """Output column of each code (-1: missing; -2: a level not seen yet)."""
        from onlinekit.streams._kernels import code_lookup, code_table

        cache = self._tables.get(col)
        table = self.levels_[col]
        if cache is None or cache[1] != len(table):
            keys = np.array(list(table) + self._na_codes.tolist(), dtype=np.int64)
            vals = np.array(list(table.values()) + [-1] * len(self._na_codes), dtype=np.int64)
            cache = self._tables[col] = (code_table(keys, vals), len(table))
        tk, tv, used, shift = cache[0]
        return code_lookup(tk, tv, used, shift, np.ascontiguousarray(codes), -2)

    def encode(self, cols: Mapping[str, np.ndarray], keep: np.ndarray) -> np.ndarray:
        """The encoded matrix of the rows where ``keep`` holds, in order; updates the state."""
        from onlinekit.streams.block import onehot_dense

        numeric, onehot = self.encode_sparse(cols, keep)
        return onehot_dense(numeric, onehot, self.width)

    def encode_sparse(self, cols: Mapping[str, np.ndarray], keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode` in sparse form: ``(numeric, onehot)``, the first ``len(numeric_)``
        output columns as a ``(n, p)`` matrix and, per categorical column, the output column
        that is 1 (``-1``: missing), as a ``(n, k)`` ``int64`` matrix (see
        :class:`~onlinekit.streams.block.Block`); updates the state exactly as :meth:`encode`.

        >>> import numpy as np
        >>> enc = FeatureEncoder()
        >>> enc.setup(["x", "c"], {"x": "float", "c": "str"})
        >>> num, oh = enc.encode_sparse({"x": np.array([1.5, 2.0]), "c": np.array(["b", "a"], dtype=object)},
        ...                             np.ones(2, dtype=bool))
        >>> num.tolist(), oh.tolist(), enc.names_
        ([[1.5], [2.0]], [[1], [2]], ['x', 'c=b', 'c=a'])
        """
        keep = np.asarray(keep, dtype=bool)
        rows = None if keep.all() else np.flatnonzero(keep)
        n = len(keep) if rows is None else len(rows)
        fresh = []  # (row, column number, code, text) of levels not seen before this block
        onehot = np.empty((n, len(self.categorical_)), dtype=np.int64)
        unseen_cols = []
        for k, c in enumerate(self.categorical_):
            v = cols[c] if rows is None else cols[c][rows]
            codes = self._hash_array(v)
            slots = self._lookup(c, codes)
            unseen = np.flatnonzero(slots == -2)
            if len(unseen):
                u, first = np.unique(codes[unseen], return_index=True)
                first = unseen[first]
                texts = self._texts_of(c, v, codes, first)
                fresh += [(i, k, hv, texts.get(hv)) for hv, i in zip(u.tolist(), first.tolist(), strict=True)]
                unseen_cols.append((k, c, codes))
            onehot[:, k] = slots
        for _i, k, hv, text in sorted(fresh, key=lambda t: (t[0], t[1])):  # event order
            self._slot(self.categorical_[k], hv, text)
        for k, c, codes in unseen_cols:
            onehot[:, k] = self._lookup(c, codes)
        p = len(self.numeric_)
        numeric = np.empty((n, p), dtype=np.float64)
        if p:
            for j, c in enumerate(self.numeric_):
                numeric[:, j] = cols[c] if rows is None else cols[c][rows]
            _kernel()(numeric, numeric, 1 if self.missing == "mean" else 0, self.scale == "standard", self.stats_)
        return numeric, onehot

    def sensitive_codes(self, values: np.ndarray) -> np.ndarray:
        """Group index of each sensitive value, in order of first appearance (``float64``)."""
        table = self.sensitive_levels_
        out = np.empty(len(values))
        for i, v in enumerate(values.tolist()):
            key = repr(float(v)) if isinstance(v, float) else str(v)
            k = table.get(key)
            if k is None:
                k = table[key] = len(table)
            out[i] = k
        return out

    def label_codes(self, values: np.ndarray) -> np.ndarray:
        """Class code of each label, in order of first appearance (``float64``).

        Text labels stay text; a number that is an integer becomes an ``int`` label (so
        ``3``, ``3.0`` from different sources are one class), other numbers stay floats.

        >>> enc = FeatureEncoder(target="label")
        >>> enc.label_codes(np.array(["cat", "dog", "cat", "eel"], dtype=object)).tolist(), enc.labels_
        ([0.0, 1.0, 0.0, 2.0], ['cat', 'dog', 'eel'])
        """
        labels = self.labels_
        table = self._label_index
        if len(table) != len(labels):
            table = self._label_index = {v: i for i, v in enumerate(labels)}
        out = np.empty(len(values))
        for i, v in enumerate(values.tolist()):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            k = table.get(v)
            if k is None:
                k = table[v] = len(labels)
                labels.append(v)
            out[i] = k
        return out

    @staticmethod
    def missing_labels(values: np.ndarray) -> np.ndarray:
        """Rows whose label is missing (NaN or empty text)."""
        if values.dtype == np.float64:
            return np.isnan(values)
        return np.array([(isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())
                         for v in values.tolist()], dtype=bool)

    # -- reports and state --------------------------------------------------------------
    def feature_list(self) -> list[dict]:
        """One entry per output column: name, source column and encoding."""
        out = []
        for j, name in enumerate(self.names_):
            if j < len(self.numeric_):
                enc = "standardised" if self.scale == "standard" else "numeric"
                out.append({"name": name, "column": name, "encoding": enc, "missing": self.missing})
            else:
                col, sep, rest = name.partition("=")
                if sep:
                    out.append({"name": name, "column": col, "encoding": "one-hot", "level": rest})
                else:
                    col, _, bucket = name.rpartition("#")
                    out.append({"name": name, "column": col, "encoding": f"hashed ({self.hash_bits} bits)",
                                "bucket": int(bucket)})
        return out

    def state_dict(self) -> dict:
        return {
            "config": {"categorical": self.categorical if isinstance(self.categorical, str) else list(self.categorical),
                       "max_levels": self.max_levels, "hash_bits": self.hash_bits, "missing": self.missing,
                       "scale": self.scale, "na_values": sorted(self.na_values), "grow": self.grow,
                       **({"target": self.target} if self.target != "number" else {})},
            "numeric": list(self.numeric_),
            "categorical": list(self.categorical_),
            "names": list(self.names_),
            "levels": {c: [[str(h), j] for h, j in t.items()] for c, t in self.levels_.items()},
            "n_levels": dict(self.n_levels_),
            "stats": self.stats_.copy(),
            "sensitive": dict(self.sensitive_levels_),
            **({"labels": list(self.labels_)} if self.target == "label" else {}),
        }

    def load_state_dict(self, state: Mapping) -> None:
        mine = self.state_dict()["config"]
        if dict(state["config"]) != mine:
            raise ValueError(f"encoder settings differ from the checkpoint's: {dict(state['config'])} vs {mine}")
        self.numeric_ = list(state["numeric"])
        self.categorical_ = list(state["categorical"])
        self.names_ = list(state["names"])
        self.levels_ = {c: {int(h): int(j) for h, j in t} for c, t in state["levels"].items()}
        self._tables = {}
        self.n_levels_ = {c: int(v) for c, v in state["n_levels"].items()}
        self.stats_ = np.array(state["stats"], dtype=np.float64).reshape(3, len(self.numeric_))
        self.sensitive_levels_ = {str(k): int(v) for k, v in state["sensitive"].items()}
        self.labels_ = list(state.get("labels", []))
        self._label_index = {}
