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

    # ------------------------------------------------------------------------------------
    def _role_columns(self) -> dict[str, str]:
        kinds: dict[str, str] = {}
        if self.target is not None:
            if self._target_expr is None:
                kinds[self.target] = "float"
            else:
                kinds.update(self._target_expr.columns)
        for g in self.groups:
            for c, k in g.expr.columns.items():
                kinds[c] = "str" if "str" in (k, kinds.get(c)) else "float"
        for role in _NUMERIC_EXTRA:
            c = getattr(self, role)
            if c is not None:
                kinds[c] = "float"
        if self.sensitive is not None:
            kinds.setdefault(self.sensitive, "str_or_float")
        return kinds

    def resolve_features(self, available: Sequence[str]) -> tuple[str, ...]:
        """Feature columns given the source's columns (checks they exist)."""
        if self.features is not None:
            missing = [c for c in self.features if c not in available]
            if missing:
                raise StreamError(f"feature column(s) {missing} not in the source; it has {list(available)}")
            return self.features
        used = set(self._role_columns())
        return tuple(c for c in available if c not in used)

    def kinds(self, available: Sequence[str]) -> dict[str, str]:
        """Column to kind (``"float"`` / ``"str"`` / ``"str_or_float"``) the schema needs."""
        kinds = {c: "float" for c in self.resolve_features(available)}
        for c, k in self._role_columns().items():
            if c not in available:
                raise StreamError(f"column {c!r} (used by the schema) not in the source; it has {list(available)}")
            kinds[c] = k if c not in kinds else kinds[c]
        return kinds

    # ------------------------------------------------------------------------------------
    def apply(
        self,
        chunk: Chunk,
        offset: int,
        features: tuple[str, ...] | None = None,
        errors: str = "raise",
        on_bad=None,
    ) -> Block:
        """Build a :class:`Block` from ``chunk``; events get offsets from ``offset``.

        Non-finite features, targets, rewards or propensities are errors (``errors="raise"``)
        or dropped rows passed to ``on_bad(BadRow)`` (``errors="skip"``).
        """
        cols = chunk.columns
        n = len(chunk)
        feats = features if features is not None else self.resolve_features(list(cols))
        if feats and chunk.matrix is not None and tuple(chunk.matrix[0]) == tuple(feats):
            X = chunk.matrix[1]
        elif feats:
            X = np.empty((n, len(feats)), dtype=np.float64)
            for j, c in enumerate(feats):
                X[:, j] = cols[c]
        else:
            X = None
        y = None
        if self.target is not None:
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
            extra["sensitive"] = cols[self.sensitive]
        G = None
        if self.groups:
            G = np.empty((n, len(self.groups)), dtype=bool)
            for j, g in enumerate(self.groups):
                G[:, j] = g.expr.evaluate(cols)

        # -- non-finite checks ------------------------------------------------------------
        checks: list[tuple[str, np.ndarray]] = []
        if X is not None:
            checks.append(("features", X))
        if y is not None:
            checks.append((self.target, y))
        for role in ("reward", "propensity", "weight"):
            if role in extra:
                checks.append((getattr(self, role), extra[role]))
        bad = np.zeros(n, dtype=bool)
        for name, arr in checks:
            if _all_finite(arr):
                continue
            fin = np.isfinite(arr)
            if fin.ndim == 2:
                rowbad = ~fin.all(axis=1)
            else:
                rowbad = ~fin
            if rowbad.any():
                for i in np.flatnonzero(rowbad):
                    if fin.ndim == 2:
                        j = int(np.flatnonzero(~fin[i])[0])
                        col, val = feats[j], arr[i, j]
                    else:
                        col, val = name, arr[i]
                    msg = f"non-finite value {float(val)!r}"
                    if errors == "raise":
                        raise StreamError(f"{chunk.where(i)}, column {col!r}: {msg}")
                    if not bad[i] and on_bad is not None:
                        on_bad(BadRow(chunk.where(i), col, msg))
                    bad[i] = True
        if bad.any():
            keep = ~bad
            X = None if X is None else np.ascontiguousarray(X[keep])
            y = None if y is None else y[keep]
            G = None if G is None else G[keep]
            extra = {k: v[keep] for k, v in extra.items()}
        return Block(
            offset=offset,
            X=X,
            y=y,
            groups=G,
            extra=extra,
            feature_names=tuple(feats),
            group_names=tuple(g.name for g in self.groups),
        )
