"""Privacy budgets: sequential composition of mechanisms on one stream, and a budget that
refuses what would exceed it.

Guarantees are the plain tuples of :mod:`onlinekit.privacy.accounting` (``("pure", eps)``,
``("zcdp", rho)``, ``("approx", eps, delta)``) or anything with ``privacy_loss(d_in)`` (a
counter, MaxSum/SumSelect, a :class:`~onlinekit.privacy.accounting.Guarantee`). Composition
rules (all standard; Bun and Steinke 2016, Dwork and Roth 2014):

* pure eps adds up; rho-zCDP adds up; pure eps is ``eps**2 / 2``-zCDP (BS16 Prop. 1.4);
* (eps, delta) guarantees add up (basic composition);
* the zCDP part is turned into (eps, delta) with the tight conversion of Canonne, Kamath and
  Steinke 2020 (:func:`~onlinekit.privacy.accounting.zcdp_epsilon`).

A continual-release counter is charged once, for its whole horizon: its guarantee already
covers all of its T releases (event-level neighbours).
"""

from __future__ import annotations

import math

from onlinekit.base import InvalidEvent
from onlinekit.privacy.accounting import check_privacy, zcdp_epsilon

__all__ = ["Ledger", "compose", "Budget", "BudgetExceeded"]


class BudgetExceeded(InvalidEvent):
    """A charge that the budget refuses (nothing was charged or released)."""


def _fmt(spec) -> str:
    return "(" + ", ".join([repr(spec[0])] + [f"{v:.6g}" for v in spec[1:]]) + ")"


def _spec_of(item, d_in: float = 1) -> tuple:
    if hasattr(item, "privacy_loss"):
        return check_privacy(item.privacy_loss(d_in))
    return check_privacy(item)


class Ledger:
    """Running sums of a sequence of guarantees: pure eps, zCDP rho, approx eps and delta.

    Examples
    --------
    >>> led = Ledger().add(("pure", 0.5)).add(("zcdp", 0.1)).add(("pure", 0.5))
    >>> led.pure, led.rho
    (1.0, 0.1)
    >>> round(led.as_zcdp(), 6)  # 0.5**2 / 2 twice, plus 0.1
    0.35
    """

    def __init__(self, pure: float = 0.0, rho: float = 0.0, eps: float = 0.0, delta: float = 0.0,
                 pure_sq: float = 0.0):
        self.pure, self.rho, self.eps, self.delta, self.pure_sq = pure, rho, eps, delta, pure_sq

    def add(self, spec) -> Ledger:
        """A new ledger with ``spec`` (a validated privacy tuple) added."""
        spec = check_privacy(spec)
        p, r, e, d, q = self.pure, self.rho, self.eps, self.delta, self.pure_sq
        if spec[0] == "pure":
            p, q = p + spec[1], q + spec[1] ** 2
        elif spec[0] == "zcdp":
            r += spec[1]
        else:
            e, d = e + spec[1], d + spec[2]
        return Ledger(p, r, e, d, q)

    @property
    def has_approx(self) -> bool:
        return self.delta > 0.0

    def as_pure(self) -> float:
        """Total pure eps (inf if any zCDP or approx guarantee was added)."""
        return math.inf if (self.rho > 0 or self.has_approx) else self.pure

    def as_zcdp(self) -> float:
        """Total rho (pure eps converted to eps^2/2; inf if any approx guarantee was added)."""
        return math.inf if self.has_approx else self.rho + self.pure_sq / 2.0

    def as_approx(self, delta: float) -> float:
        """Total eps at total ``delta``: the approx parts add up; the rest is turned into
        (eps, delta - their deltas) by the better of (pure eps added + zCDP converted) and
        (everything as zCDP, converted). inf when ``delta`` is not above the approx deltas."""
        rest = delta - self.delta
        if rest < 0.0:
            return math.inf
        cands = []
        if self.rho == 0.0:
            cands.append(self.pure)  # pure eps is (eps, 0)-DP
        if rest > 0.0:
            cands.append(self.pure + (zcdp_epsilon(self.rho, rest) if self.rho > 0 else 0.0))
            if self.rho > 0 or self.pure > 0:
                cands.append(zcdp_epsilon(self.rho + self.pure_sq / 2.0, rest))
        return self.eps + min(cands) if cands else math.inf

    def within(self, total) -> bool:
        """Whether the ledger fits in the privacy tuple ``total``."""
        total = check_privacy(total)
        tol = 1 + 1e-12
        if total[0] == "pure":
            return self.as_pure() <= total[1] * tol
        if total[0] == "zcdp":
            return self.as_zcdp() <= total[1] * tol
        return self.as_approx(total[2]) <= total[1] * tol

    def in_kind(self, kind: str, delta: float | None = None) -> tuple:
        """The composed guarantee as a privacy tuple of ``kind``."""
        if kind == "pure":
            return ("pure", self.as_pure())
        if kind == "zcdp":
            return ("zcdp", self.as_zcdp())
        if delta is None:
            raise InvalidEvent("an ('approx', eps, delta) answer needs delta", field="delta")
        return ("approx", self.as_approx(delta), float(delta))


def compose(items, kind: str | None = None, delta: float | None = None, d_in: float = 1) -> tuple:
    """Sequential composition of several mechanisms (or privacy tuples) run on one stream.

    Parameters
    ----------
    items
        Privacy tuples, or objects with ``privacy_loss(d_in)`` (counters, guarantees).
    kind
        Kind of the answer: ``"pure"``, ``"zcdp"`` or ``"approx"``. Default: the weakest kind
        that can hold all items (pure < zcdp < approx).
    delta
        Total delta of an ``"approx"`` answer (required then).
    d_in
        Number of differing events (passed to ``privacy_loss``).

    Examples
    --------
    >>> compose([("pure", 0.5), ("pure", 0.25)])
    ('pure', 0.75)
    >>> compose([("pure", 1.0), ("zcdp", 0.5)])
    ('zcdp', 1.0)
    >>> kind, eps, delta = compose([("zcdp", 0.125), ("approx", 0.5, 1e-7)], delta=1.1e-6)
    >>> kind, round(eps, 4), delta
    ('approx', 2.9191, 1.1e-06)
    """
    led = Ledger()
    for it in items:
        led = led.add(_spec_of(it, d_in))
    if kind is None:
        kind = "approx" if led.has_approx else ("zcdp" if led.rho > 0 else "pure")
    if kind not in ("pure", "zcdp", "approx"):
        raise InvalidEvent(f"must be 'pure', 'zcdp' or 'approx', got {kind!r}", field="kind")
    if kind == "approx" and delta is None:
        raise InvalidEvent("composition with ('approx', eps, delta) terms needs the total delta",
                           field="delta")
    return led.in_kind(kind, delta)


class Budget:
    """A privacy budget for one stream: charges compose; a charge that would exceed it is
    refused with :class:`BudgetExceeded` and changes nothing.

    Parameters
    ----------
    total
        The budget, a privacy tuple (``("zcdp", rho)``, ``("pure", eps)`` or ``("approx", eps,
        delta)``). A ``"pure"`` budget takes only pure charges; a ``"zcdp"`` budget takes pure
        and zCDP ones; an ``"approx"`` budget takes all three.

    Attributes
    ----------
    spent
        The composed charges, as a tuple of the budget's kind.
    charges
        ``(label, spec)`` of every accepted charge, in order.

    Examples
    --------
    >>> from onlinekit.privacy import TreeCounter
    >>> b = Budget(("zcdp", 1.0))
    >>> c = b.admit(TreeCounter(T=16, privacy=("zcdp", 0.6), noise="seeded", seed=0), "counts")
    >>> round(b.spent[1], 12), round(b.remaining[1], 12)
    (0.6, 0.4)
    >>> b.release(c, 1.0) is not None
    True
    >>> b.admit(TreeCounter(T=16, privacy=("zcdp", 0.5), noise="seeded", seed=1), "more")
    Traceback (most recent call last):
    ...
    onlinekit.privacy.budget.BudgetExceeded: field 'budget': charge 'more' ('zcdp', 0.5) would exceed the budget ('zcdp', 1): spent ('zcdp', 0.6)
    >>> round(b.spent[1], 12)
    0.6
    """

    def __init__(self, total):
        self.total = check_privacy(total, field="total")
        self._ledger = Ledger()
        self.charges: list = []
        self._admitted: dict = {}

    @property
    def spent(self) -> tuple:
        delta = self.total[2] if self.total[0] == "approx" else None
        return self._ledger.in_kind(self.total[0], delta)

    @property
    def remaining(self) -> tuple:
        """What is left, in the budget's kind (for ``"approx"``: eps left at the full delta,
        a conservative figure since later charges compose through the ledger, not by
        subtraction)."""
        kind, val = self.spent[0], self.spent[1]
        rest = max(0.0, self.total[1] - val)
        return (kind, rest) if kind != "approx" else (kind, rest, self.total[2])

    def can_afford(self, item, d_in: float = 1) -> bool:
        """Whether charging ``item`` would stay within the budget."""
        spec = _spec_of(item, d_in)
        if not self._kind_ok(spec):
            return False
        return self._ledger.add(spec).within(self.total)

    def _kind_ok(self, spec) -> bool:
        order = {"pure": 0, "zcdp": 1, "approx": 2}
        return order[spec[0]] <= order[self.total[0]]

    def charge(self, item, label: str | None = None, d_in: float = 1) -> tuple:
        """Charge ``item`` (a privacy tuple or a mechanism's ``privacy_loss(d_in)``); returns
        the new :attr:`spent`. Raises :class:`BudgetExceeded` (nothing charged) if it would
        not fit, or if its kind cannot be held by the budget's kind."""
        spec = _spec_of(item, d_in)
        name = label if label is not None else type(item).__name__
        if not self._kind_ok(spec):
            raise BudgetExceeded(
                f"charge {name!r} {_fmt(spec)} cannot be held by a {self.total[0]!r} budget", field="budget")
        new = self._ledger.add(spec)
        if not new.within(self.total):
            raise BudgetExceeded(
                f"charge {name!r} {_fmt(spec)} would exceed the budget {_fmt(self.total)}: spent {_fmt(self.spent)}",
                field="budget",
            )
        self._ledger = new
        self.charges.append((name, spec))
        return self.spent

    def admit(self, mechanism, label: str | None = None):
        """Charge a continual-release mechanism once, for its whole horizon, and return it.

        Raises :class:`BudgetExceeded` (nothing charged) if it does not fit."""
        if id(mechanism) not in self._admitted:
            self.charge(mechanism, label if label is not None else type(mechanism).__name__)
            self._admitted[id(mechanism)] = mechanism
        return mechanism

    def release(self, mechanism, x):
        """``mechanism.release(x)``, admitting the mechanism first if it is not yet charged;
        a refused charge raises before anything is released (the mechanism is untouched)."""
        self.admit(mechanism)
        return mechanism.release(x)

    def release_many(self, mechanism, xs):
        """``mechanism.release_many(xs)`` under the same rule as :meth:`release`."""
        self.admit(mechanism)
        return mechanism.release_many(xs)
