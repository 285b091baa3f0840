"""Schemas: which raw column plays which role, and group definitions over columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from onlinekit.streams.block import Block, Chunk
from onlinekit.streams.errors import StreamError
from onlinekit.streams.expr import ColumnExpr, ExprError
from onlinekit.streams.source import BadRow

__all__ = ["GroupDef", "Schema", "parse_group"]


def _all_finite(arr: np.ndarray) -> bool:
    """Fast check (numba kernel) that a float array holds no NaN/inf."""
    if arr.dtype != np.float64:
        return bool(np.isfinite(arr).all())
    from onlinekit.streams._kernels import _all_finite_1d

    return bool(_all_finite_1d(arr.reshape(-1)))

_NUMERIC_EXTRA = ("action", "reward", "propensity", "position", "weight")


@dataclass(frozen=True)
class GroupDef:
    """A named group: events for which ``expr`` holds. Groups may intersect.

    Examples
    --------
    >>> g = parse_group("older=age >= 50")
    >>> g.name, g.expr.text
    ('older', 'age >= 50')
    """

    name: str
    expr: ColumnExpr


def parse_group(spec: str) -> GroupDef:
    """Parse ``NAME=EXPR`` (as given to ``onlinekit replay --group``)."""
    name, sep, text = spec.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or not text.strip():
        raise ExprError(f"group definition {spec!r} must look like NAME=EXPR, e.g. 'old=age>=50'")
    return GroupDef(name, ColumnExpr(text.strip()))


@dataclass(frozen=True)
class Schema:
    """Maps raw columns to roles.

    Parameters
    ----------
    features
        Feature columns, in order. ``None``: every column not used by another role.
    target
        Target column name, or an expression over columns (e.g. ``'income == ">50K"'``),
        whose value becomes the float target.
    groups
        Group definitions (``GroupDef`` or ``"NAME=EXPR"`` strings).
    sensitive, action, reward, propensity, position, weight
        Columns for the other roles. ``sensitive`` keeps its raw values (numbers or text).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.streams.block import Chunk
    >>> s = Schema(features=("age",), target="charges", groups=("old=age>=50",))
    >>> ch = Chunk(0, {"age": np.array([20.0, 60.0]), "charges": np.array([1.0, 2.0])})
    >>> b = s.apply(ch, offset=0)
    >>> b.X.tolist(), b.groups.ravel().tolist(), b.group_names
    ([[20.0], [60.0]], [False, True], ('old',))
    """

    features: tuple[str, ...] | None = None
    target: str | None = None
    groups: tuple[GroupDef, ...] = ()
    sensitive: str | None = None
    action: str | None = None
    reward: str | None = None
    propensity: str | None = None
    position: str | None = None
    weight: str | None = None
    _target_expr: ColumnExpr | None = field(init=False, repr=False, compare=False, default=None)
    _sensitive_expr: ColumnExpr | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.features is not None:
            object.__setattr__(self, "features", tuple(self.features))
        gs = tuple(g if isinstance(g, GroupDef) else parse_group(g) for g in self.groups)
        names = [g.name for g in gs]
        if len(set(names)) != len(names):
            raise ExprError(f"duplicate group names in {names}")
        object.__setattr__(self, "groups", gs)
        if self.target is not None and not self.target.isidentifier():
            object.__setattr__(self, "_target_expr", ColumnExpr(self.target))
        if self.sensitive is not None and not self.sensitive.isidentifier():
            object.__setattr__(self, "_sensitive_expr", ColumnExpr(self.sensitive))

    # ------------------------------------------------------------------------------------
    def _group_columns(self) -> dict[str, str]:
        kinds: dict[str, str] = {}
        for g in self.groups:
            for c, k in g.expr.columns.items():
                kinds[c] = "str" if "str" in (k, kinds.get(c)) else "float"
        return kinds

    def _role_columns(self) -> dict[str, str]:
        """Columns of the roles that are never features by default (target, sensitive, ...)."""
        kinds: dict[str, str] = {}
        if self.target is not None:
            if self._target_expr is None:
                kinds[self.target] = "float"
            else:
                kinds.update(self._target_expr.columns)
        for role in _NUMERIC_EXTRA:
            c = getattr(self, role)
            if c is not None:
                kinds[c] = "float"
        if self.sensitive is not None:
            if self._sensitive_expr is None:
                kinds.setdefault(self.sensitive, "str_or_float")
            else:
                for c, k in self._sensitive_expr.columns.items():
                    kinds.setdefault(c, k)
        return kinds

    def resolve_features(self, available: Sequence[str], text_ok: bool = False) -> tuple[str, ...]:
        """Feature columns given the source's columns (checks they exist).

        By default every column that no other role uses; columns that groups are defined
        over stay features (a group is a view of the data, not a hidden column), except
        text columns when ``text_ok`` is false (no categorical encoding).
        """
        if self.features is not None:
            missing = [c for c in self.features if c not in available]
            if missing:
                raise StreamError(f"feature column(s) {missing} not in the source; it has {list(available)}")
            return self.features
        used = set(self._role_columns())
        if not text_ok:
            used |= {c for c, k in self._group_columns().items() if k == "str"}
        return tuple(c for c in available if c not in used)

    def kinds(self, available: Sequence[str], encoder=None) -> dict[str, str]:
        """Column to kind (``"float"`` / ``"str"`` / ``"str_or_float"``) the schema needs.

        With an ``encoder`` (:class:`~onlinekit.streams.encode.FeatureEncoder`), feature
        columns are asked for as it says (text allowed for categorical ones).
        """
        text_ok = encoder is not None and encoder.categorical != "none"
        feats = self.resolve_features(available, text_ok)
        kinds = {c: (encoder.kind_for(c) if encoder is not None else "float") for c in feats}
        merged = self._group_columns()
        for c, k in self._role_columns().items():
            if c not in merged or k == "str":
                merged[c] = k
        if encoder is not None and encoder.target == "label" and self.target in merged:
            merged[self.target] = "str_or_float"  # class labels: text or numbers
        for c, k in merged.items():
            if c not in available:
                raise StreamError(f"column {c!r} (used by the schema) not in the source; it has {list(available)}")
            if c not in kinds:
                kinds[c] = k
            elif k == "str" and kinds[c] != "float":
                kinds[c] = "str"
        return kinds

    # ------------------------------------------------------------------------------------
    def apply(
        self,
        chunk: Chunk,
        offset: int,
        features: tuple[str, ...] | None = None,
        errors: str = "raise",
        on_bad=None,
        encoder=None,
    ) -> Block:
        """Build a :class:`Block` from ``chunk``; events get offsets from ``offset``.

        Non-finite features, targets, rewards or propensities are errors (``errors="raise"``)
        or dropped rows passed to ``on_bad(BadRow)`` (``errors="skip"``). With an ``encoder``
        (:class:`~onlinekit.streams.encode.FeatureEncoder`), NaN or an empty cell in a
        feature is a *missing* cell handled by its ``missing`` policy, text columns are
        encoded, and the sensitive attribute becomes a group index.
        """
        cols = chunk.columns
        n = len(chunk)
        feats = features if features is not None else self.resolve_features(list(cols))
        X = None
        sparse = None  # (numeric, onehot) from an encoder with categorical columns
        if encoder is None:
            if feats and chunk.matrix is not None and tuple(chunk.matrix[0]) == tuple(feats):
                X = chunk.matrix[1]
            elif feats:
                X = np.empty((n, len(feats)), dtype=np.float64)
                for j, c in enumerate(feats):
                    X[:, j] = cols[c]
        y = None
        labels = encoder is not None and encoder.target == "label"
        if labels and self._target_expr is not None:
            raise StreamError(f"class labels come from a column, not an expression ({self.target!r})")
        if self.target is not None and not labels:
            if self._target_expr is None:
                y = np.asarray(cols[self.target], dtype=np.float64)
            else:
                y = self._target_expr.evaluate(cols).astype(np.float64)
        extra: dict[str, np.ndarray] = {}
        for role in _NUMERIC_EXTRA:
            c = getattr(self, role)
            if c is not None:
                extra[role] = np.asarray(cols[c], dtype=np.float64)
        if self.sensitive is not None:
            extra["sensitive"] = (cols[self.sensitive] if self._sensitive_expr is None
                                  else self._sensitive_expr.evaluate(cols))
        G = None
        if self.groups:
            G = np.empty((n, len(self.groups)), dtype=bool)
            for j, g in enumerate(self.groups):
                G[:, j] = g.expr.evaluate(cols)

        # -- non-finite checks ------------------------------------------------------------
        bad = np.zeros(n, dtype=bool)

        def reject(i: int, col: str, msg: str) -> None:
            if errors == "raise":
                raise StreamError(f"{chunk.where(i)}, column {col!r}: {msg}")
            if not bad[i] and on_bad is not None:
                on_bad(BadRow(chunk.where(i), col, msg))
            bad[i] = True

        checks: list[tuple[str, np.ndarray]] = []
        if X is not None:
            checks.append(("features", X))
        elif encoder is not None:
            from onlinekit.streams._kernels import _any_inf_1d

            for c in encoder.numeric_:  # NaN is a missing cell (below); inf is an error
                v = cols[c]
                fast = v.dtype == np.float64 and v.ndim == 1
                if (_any_inf_1d(v) if fast else not _all_finite(np.where(np.isnan(v), 0.0, v))):
                    for i in np.flatnonzero(np.isinf(v)).tolist():
                        reject(i, c, f"non-finite value {float(v[i])!r}")
        if y is not None:
            checks.append((self.target, y))
        for role in ("reward", "propensity", "weight"):
            if role in extra:
                checks.append((getattr(self, role), extra[role]))
        for name, arr in checks:
            if _all_finite(arr):
                continue
            fin = np.isfinite(arr)
            rowbad = ~fin.all(axis=1) if fin.ndim == 2 else ~fin
            for i in np.flatnonzero(rowbad).tolist():
                if fin.ndim == 2:
                    j = int(np.flatnonzero(~fin[i])[0])
                    col, val = feats[j], arr[i, j]
                else:
                    col, val = name, arr[i]
                reject(i, col, f"non-finite value {float(val)!r}")
        if labels and self.target is not None:
            for i in np.flatnonzero(encoder.missing_labels(cols[self.target])).tolist():
                reject(i, self.target, "missing class label")
        if encoder is not None:
            holes = encoder.is_missing(cols)
            if holes and encoder.missing in ("raise", "skip"):
                first: dict[int, str] = {}
                for c, m in holes.items():
                    for i in np.flatnonzero(m).tolist():
                        first.setdefault(i, c)
                for i in sorted(first):
                    if bad[i]:
                        continue
                    if encoder.missing == "skip":
                        if on_bad is not None:
                            on_bad(BadRow(chunk.where(i), first[i], "missing value (skipped: --missing skip)"))
                        bad[i] = True
                    else:
                        reject(i, first[i], "missing value (choose --missing skip|zero|mean)")
            numeric, onehot = encoder.encode_sparse(cols, ~bad)
            if encoder.categorical_:
                sparse = (numeric, onehot)
            else:
                X = numeric
            feats = tuple(encoder.names_)
        if bad.any():
            keep = ~bad
            if encoder is None and X is not None:
                X = np.ascontiguousarray(X[keep])
            y = None if y is None else y[keep]
            G = None if G is None else G[keep]
            extra = {k: v[keep] for k, v in extra.items()}
        if labels and self.target is not None:  # coded after the row filter: dropped rows add no class
            raw = cols[self.target]
            y = encoder.label_codes(raw[~bad] if bad.any() else raw)
        if encoder is not None and "sensitive" in extra:
            extra["sensitive"] = encoder.sensitive_codes(extra["sensitive"])
        return Block(
            offset=offset,
            X=X,
            y=y,
            groups=G,
            extra=extra,
            feature_names=tuple(feats),
            group_names=tuple(g.name for g in self.groups),
            numeric=None if sparse is None else sparse[0],
            onehot=None if sparse is None else sparse[1],
            labels=tuple(encoder.labels_) if labels else None,
        )
