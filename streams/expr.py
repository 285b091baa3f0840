"""Safe, vectorised column expressions for group definitions and derived targets.

An expression is parsed with :mod:`ast` and only a small grammar is accepted: column names,
numbers, strings, booleans, comparisons (``== != < <= > >=``, ``in`` / ``not in`` a list of
constants, chained comparisons), ``and`` / ``or`` / ``not`` and ``& | ~``. Nothing is passed
to :func:`eval`. Column names that are not Python identifiers can be written in backquotes,
e.g. ```hours-per-week` >= 40``.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ColumnExpr", "ExprError"]


class ExprError(ValueError):
    """An expression outside the accepted grammar, or one naming an unknown column."""


_CMP = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

_BACKQUOTED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class ColumnExpr:
    """A parsed expression over columns.

    Parameters
    ----------
    text
        The expression, e.g. ``'smoker == "yes" and age >= 50'``.

    Attributes
    ----------
    columns
        Column name to the kind the expression needs (``"float"`` or ``"str"``): a column
        compared with a string constant is text, otherwise numeric.

    Examples
    --------
    >>> import numpy as np
    >>> e = ColumnExpr('smoker == "yes" and age >= 50')
    >>> sorted(e.columns.items())
    [('age', 'float'), ('smoker', 'str')]
    >>> cols = {"smoker": np.array(["yes", "no", "yes"], dtype=object),
    ...         "age": np.array([60.0, 70.0, 20.0])}
    >>> e.evaluate(cols).tolist()
    [True, False, False]
    """

    text: str
    columns: dict[str, str] = field(init=False, compare=False)
    _tree: ast.Expression = field(init=False, repr=False, compare=False)
    _names: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names: dict[str, str] = {}

        def _sub(m: re.Match) -> str:
            ident = f"__col{len(names)}__"
            names[ident] = m.group(1)
            return ident

        src = _BACKQUOTED.sub(_sub, self.text)
        try:
            tree = ast.parse(src.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExprError(f"cannot parse expression {self.text!r}: {exc.msg}") from None
        kinds: dict[str, str] = {}
        self._check(tree.body, kinds, names)
        if not kinds:
            raise ExprError(f"expression {self.text!r} names no column")
        object.__setattr__(self, "_tree", tree)
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "columns", kinds)

    # -- validation ---------------------------------------------------------------------
    def _colname(self, node: ast.Name, names: Mapping[str, str]) -> str:
        return names.get(node.id, node.id)

    def _check(self, node: ast.AST, kinds: dict[str, str], names: Mapping[str, str]) -> None:
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self._check(v, kinds, names)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert, ast.USub)):
            self._check(node.operand, kinds, names)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            self._check(node.left, kinds, names)
            self._check(node.right, kinds, names)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, rhs in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not isinstance(rhs, (ast.List, ast.Tuple, ast.Set)) or not all(
                        isinstance(e, ast.Constant) for e in rhs.elts
                    ):
                        raise ExprError(f"{self.text!r}: 'in' needs a list of constants")
                elif type(op) not in _CMP:
                    raise ExprError(f"{self.text!r}: operator {type(op).__name__} not allowed")
            has_str = any(
                isinstance(o, ast.Constant) and isinstance(o.value, str) for o in operands
            ) or any(
                isinstance(o, (ast.List, ast.Tuple, ast.Set))
                and any(isinstance(e.value, str) for e in o.elts)
                for o in operands
            )
            for o in operands:
                if isinstance(o, ast.Name):
                    kinds[self._colname(o, names)] = "str" if has_str else kinds.get(
                        self._colname(o, names), "float"
                    )
                elif isinstance(o, (ast.List, ast.Tuple, ast.Set)):
                    continue
                else:
                    self._check(o, kinds, names)
        elif isinstance(node, ast.Name):
            kinds.setdefault(self._colname(node, names), "float")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool)):
                raise ExprError(f"{self.text!r}: constant {node.value!r} not allowed")
        else:
            raise ExprError(f"{self.text!r}: {type(node).__name__} is not allowed in an expression")

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Evaluate on column arrays; returns an array (boolean for predicates)."""
        missing = [c for c in self.columns if c not in columns]
        if missing:
            raise ExprError(f"{self.text!r}: unknown column(s) {missing}")
        return np.asarray(self._eval(self._tree.body, columns))

    def _eval(self, node: ast.AST, cols: Mapping[str, np.ndarray]):
        if isinstance(node, ast.Name):
            return cols[self._names.get(node.id, node.id)]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BoolOp):
            vals = [np.asarray(self._eval(v, cols), dtype=bool) for v in node.values]
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = vals[0]
            for v in vals[1:]:
                out = fn(out, v)
            return out
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, cols)
            if isinstance(node.op, ast.USub):
                return -np.asarray(v, dtype=np.float64)
            return np.logical_not(np.asarray(v, dtype=bool))
        if isinstance(node, ast.BinOp):
            a = np.asarray(self._eval(node.left, cols), dtype=bool)
            b = np.asarray(self._eval(node.right, cols), dtype=bool)
            return a & b if isinstance(node.op, ast.BitAnd) else a | b
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, cols)
            result = None
            for op, rhs_node in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, (ast.In, ast.NotIn)):
                    values = [e.value for e in rhs_node.elts]
                    res = np.isin(np.asarray(left), np.asarray(values, dtype=object if any(
                        isinstance(v, str) for v in values) else np.float64))
                    if isinstance(op, ast.NotIn):
                        res = ~res
                    right = None
                else:
                    right = self._eval(rhs_node, cols)
                    res = np.asarray(_CMP[type(op)](left, right), dtype=bool)
                result = res if result is None else (result & res)
                left = right
            return result
        raise ExprError(f"{self.text!r}: cannot evaluate {type(node).__name__}")  # unreachable
