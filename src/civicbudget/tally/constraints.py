"""Category floors and caps: at least (or at most) a share or amount of the budget per category.

A project counts toward a category when the category is among its categories (pabulib's
``category`` column, comma-separated; compared without case or surrounding spaces). A
*floor* asks that the selected projects of a category cost at least its amount, a *cap*
at most. Each bound is a share of the budget (a number below 1, or written with ``%``:
``0.2``, ``20%``) or an amount (``500000``).

:class:`Constraints` holds them for one election in exact integers (every cost and amount
multiplied by one common denominator) and answers the one question the rules ask: can a
set of selected projects still be completed into a set that respects the budget, every cap
and every floor (:meth:`Constraints.refusal`)? That search is exact (a depth-first search
with pruning by what is left in each category), bounded by :data:`MAX_STEPS`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from civicbudget.tally._exact import to_fraction
from civicbudget.tally.limits import LimitError, parse_number

# One completion search on real elections takes tens of steps; a crafted subset sum could
# take exponentially many, so each search stops (and the tally is refused) beyond this.
MAX_STEPS = 1_000_000
MAX_BOUNDS = 100  # bounds per tally: far more than any cycle has categories


class ConstraintError(ValueError):
    """A floor or cap that is malformed or cannot be met; the message names it.

    ``kind`` says which check refused it (``malformed``, ``unknown-category``,
    ``floor-above-cap``, ``floor-above-budget``, ``floor-above-projects``, ``floors``) and
    ``category`` the category (the floors' names, comma-separated, for ``floors``).
    """

    def __init__(self, message: str, kind: str = "malformed", category: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.category = category


def category_key(name: str) -> str:
    """Return the form in which category names are compared."""
    return " ".join(name.split()).casefold()


def project_categories(category: str) -> frozenset[str]:
    """Return the categories of a project from its comma-separated ``category`` field."""
    return frozenset(category_key(c) for c in category.split(",") if c.strip())


@dataclass(frozen=True)
class CategoryBound:
    """``category`` must receive at least (floor) or at most (cap) ``value``.

    ``share`` True: ``value`` is a fraction of the budget; else an amount in the currency.
    """

    category: str
    value: Fraction
    share: bool

    @classmethod
    def parse(cls, text: str, option: str = "--category-min") -> CategoryBound:
        """Parse ``NAME=SHARE`` (``0.2``, ``20%``) or ``NAME=AMOUNT`` (``500000``)."""
        name, sep, raw = str(text).rpartition("=")
        name = " ".join(name.split())
        raw = raw.strip()
        if not sep or not name or not raw or len(name) > 200:
            raise ConstraintError(
                f"{option} {str(text)[:250]!r}: expected NAME=SHARE or NAME=AMOUNT"
            )
        percent = raw.endswith("%")
        try:
            value = parse_number(raw[:-1] if percent else raw, option)
        except LimitError as exc:
            raise ConstraintError(f"{option} {text!r}: {exc}") from None
        if value < 0:
            raise ConstraintError(f"{option} {text!r}: must not be negative")
        if percent:
            if value > 100:
                raise ConstraintError(f"{option} {text!r}: a share above 100%")
            return cls(name, value / 100, True)
        if value < 1:
            return cls(name, value, True)
        return cls(name, value, False)

    def amount(self, budget: Fraction) -> Fraction:
        """Return the bound in currency for ``budget``."""
        return self.value * budget if self.share else self.value

    def label(self) -> str:
        """Return the bound as it was written, e.g. ``health=0.3``."""
        v = self.value
        text = str(v.numerator) if v.denominator == 1 else f"{float(v):g}"
        return f"{self.category}={text}"


def _lcm(values: Iterable[int]) -> int:
    out = 1
    for v in values:
        out = out * v // math.gcd(out, v)
    return out


class Constraints:
    """Floors and caps of one election, in exact integers, and the completion search.

    ``costs`` are the projects' exact costs, ``categories`` each project's category names,
    ``eligible`` the projects the rule may select (all by default: e.g. greedy with a
    threshold excludes those under it). Floors are kept in the order given: greedy and MES
    fill them in that order.
    """

    def __init__(
        self,
        costs: Sequence[Any],
        categories: Sequence[str],
        budget: Any,
        floors: Sequence[CategoryBound] = (),
        caps: Sequence[CategoryBound] = (),
        eligible: Iterable[int] | None = None,
    ) -> None:
        if len(floors) + len(caps) > MAX_BOUNDS:
            raise ConstraintError(f"at most {MAX_BOUNDS} category floors and caps")
        budget_f = to_fraction(budget)
        fcosts = [to_fraction(c) for c in costs]
        self.names: list[str] = []  # category keys, floors first
        self.shown: dict[str, str] = {}  # key -> name as written
        index: dict[str, int] = {}
        for b in (*floors, *caps):
            key = category_key(b.category)
            if key not in index:
                index[key] = len(self.names)
                self.names.append(key)
                self.shown[key] = b.category
        k_n = len(self.names)
        floor_f: list[Fraction | None] = [None] * k_n
        cap_f: list[Fraction | None] = [None] * k_n
        for b in floors:
            k = index[category_key(b.category)]
            amount = b.amount(budget_f)
            floor_f[k] = amount if floor_f[k] is None else max(floor_f[k], amount)
        for b in caps:
            k = index[category_key(b.category)]
            amount = b.amount(budget_f)
            cap_f[k] = amount if cap_f[k] is None else min(cap_f[k], amount)
        self.bounds_text = {
            "floors": {self.shown[category_key(b.category)]: b for b in floors},
            "caps": {self.shown[category_key(b.category)]: b for b in caps},
        }
        scale = _lcm(
            f.denominator
            for f in (*fcosts, budget_f, *(x for x in (*floor_f, *cap_f) if x is not None))
        )
        self.scale = scale
        self.cost = [int(c * scale) for c in fcosts]
        self.budget = int(budget_f * scale)
        # a floor is met once the category's cost reaches it: ceil keeps that exact
        self.floor = [None if f is None else -((-f * scale) // 1) for f in floor_f]
        self.cap = [None if c is None else int((c * scale) // 1) for c in cap_f]
        self.floor_f, self.cap_f = floor_f, cap_f
        self.budget_f = budget_f
        cats = [project_categories(c) for c in categories]
        self.members: list[tuple[int, ...]] = [
            tuple(index[c] for c in sorted(cs) if c in index) for cs in cats
        ]
        self.all_categories = sorted({c for cs in cats for c in cs})
        self.eligible = frozenset(range(len(fcosts))) if eligible is None else frozenset(eligible)
        self.floor_order = [k for k in range(k_n) if self.floor[k] is not None]
        self._memo: dict[frozenset[int], bool] = {}

    # --- what a set of projects spends -----------------------------------------------
    def sums(self, selected: Iterable[int]) -> tuple[int, list[int]]:
        """Return (total cost, cost per constrained category) of ``selected``, scaled."""
        spent = 0
        per = [0] * len(self.names)
        for j in selected:
            spent += self.cost[j]
            for k in self.members[j]:
                per[k] += self.cost[j]
        return spent, per

    def floor_met(self, selected: Iterable[int], k: int) -> bool:
        """Return True when the floor of category ``k`` is met by ``selected``."""
        f = self.floor[k]
        return f is None or self.sums(selected)[1][k] >= f

    def name(self, k: int) -> str:
        """Return category ``k`` as the user wrote it."""
        return self.shown[self.names[k]]

    def in_category(self, j: int, k: int) -> bool:
        """Return True when project ``j`` counts toward category ``k``."""
        return k in self.members[j]

    def satisfied(self, selected: Iterable[int]) -> bool:
        """Return True when ``selected`` respects the budget, every cap and every floor."""
        spent, per = self.sums(selected)
        return spent <= self.budget and all(
            (f is None or s >= f) and (c is None or s <= c)
            for s, f, c in zip(per, self.floor, self.cap, strict=True)
        )

    def cap_broken(self, selected: Iterable[int], j: int) -> int | None:
        """Return the category whose cap adding ``j`` to ``selected`` breaks, or None."""
        _, per = self.sums(selected)
        for k in self.members[j]:
            c = self.cap[k]
            if c is not None and per[k] + self.cost[j] > c:
                return k
        return None

    # --- the completion search ---------------------------------------------------------
    def extendable(self, selected: Iterable[int]) -> bool:
        """Return True when ``selected`` can be completed into a set meeting everything."""
        key = frozenset(selected)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._search(key)
            if len(self._memo) > 100_000:
                self._memo.clear()
        return hit

    def _search(self, chosen: frozenset[int]) -> bool:
        spent, per = self.sums(chosen)
        if spent > self.budget:
            return False
        for s, c in zip(per, self.cap, strict=True):
            if c is not None and s > c:
                return False
        deficit = [0 if f is None else max(f - s, 0) for s, f in zip(per, self.floor, strict=True)]
        if not any(deficit):
            return True
        room = self.budget - spent
        cands = [
            j
            for j in self.eligible
            if j not in chosen
            and self.cost[j] <= room
            and any(deficit[k] for k in self.members[j])
            and all(
                self.cap[k] is None or per[k] + self.cost[j] <= self.cap[k] for k in self.members[j]
            )
        ]
        # projects covering more missing floors first, then the dearest: a completion is
        # usually found on the first descent
        cands.sort(key=lambda j: (-sum(1 for k in self.members[j] if deficit[k]), -self.cost[j], j))
        n = len(cands)
        suffix = [[0] * (n + 1) for _ in self.names]
        for i in range(n - 1, -1, -1):
            j = cands[i]
            for k in range(len(self.names)):
                suffix[k][i] = suffix[k][i + 1] + (self.cost[j] if k in self.members[j] else 0)
        steps = [0]
        cost, members, cap = self.cost, self.members, self.cap

        def dfs(i: int, room: int, per: list[int], deficit: list[int]) -> bool:
            steps[0] += 1
            if steps[0] > MAX_STEPS:
                raise LimitError(
                    f"category floors: deciding whether they can be met takes more than "
                    f"{MAX_STEPS:,} search steps on this election (the limit)"
                )
            if not any(deficit):
                return True
            for k, d in enumerate(deficit):
                if d and (d > room or suffix[k][i] < d):
                    return False
            if i == n:
                return False
            j = cands[i]
            c = cost[j]
            if c <= room and all(cap[k] is None or per[k] + c <= cap[k] for k in members[j]):
                per2 = list(per)
                deficit2 = list(deficit)
                for k in members[j]:
                    per2[k] += c
                    deficit2[k] = max(deficit2[k] - c, 0)
                if dfs(i + 1, room - c, per2, deficit2):
                    return True
            return dfs(i + 1, room, per, deficit)

        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 4 * n + 1000))
        try:
            return dfs(0, room, per, deficit)
        finally:
            sys.setrecursionlimit(old)

    def refusal(self, selected: Iterable[int], j: int) -> tuple[str, str] | None:
        """Return None when ``j`` may join ``selected``, else (reason, constraint).

        Reasons: ``does-not-fit`` (the budget), ``cap`` (``constraint`` names the
        category), ``floor-unreachable`` (adding it leaves too little for the floors named).
        """
        sel = set(selected)
        spent, per = self.sums(sel)
        if spent + self.cost[j] > self.budget:
            return ("does-not-fit", "")
        k = self.cap_broken(sel, j)
        if k is not None:
            return ("cap", self.name(k))
        if self.extendable(sel | {j}):
            return None
        unmet = [
            self.name(k)
            for k in self.floor_order
            if per[k] < self.floor[k]  # type: ignore[operator]
        ]
        return ("floor-unreachable", ", ".join(unmet))

    # --- refusing impossible constraints -------------------------------------------------
    def check(self) -> None:
        """Raise :class:`ConstraintError` naming a bound that cannot be met."""

        def fmt(x: Fraction) -> str:
            return f"{x.numerator:,}" if x.denominator == 1 else f"{float(x):,.2f}"

        known = set(self.all_categories)
        for k, key in enumerate(self.names):
            name = self.name(k)
            if key not in known:
                cats = ", ".join(self.all_categories) or "none"
                raise ConstraintError(
                    f"category '{name}': no project has this category (categories: {cats})",
                    "unknown-category",
                    name,
                )
            f, c = self.floor_f[k], self.cap_f[k]
            if f is not None and c is not None and f > c:
                raise ConstraintError(
                    f"category '{name}': its floor ({fmt(f)}) is above its cap ({fmt(c)})",
                    "floor-above-cap",
                    name,
                )
            if f is not None and f > self.budget_f:
                raise ConstraintError(
                    f"the floor of '{name}' ({fmt(f)}) exceeds the budget ({fmt(self.budget_f)})",
                    "floor-above-budget",
                    name,
                )
            if f is not None:
                total = sum(self.cost[j] for j in self.eligible if k in self.members[j])
                if total < self.floor[k]:  # type: ignore[operator]
                    raise ConstraintError(
                        f"the floor of '{name}' ({fmt(f)}) is more than all its projects cost "
                        f"together ({fmt(Fraction(total, self.scale))})",
                        "floor-above-projects",
                        name,
                    )
        if self.extendable(()):
            return
        # name the first floor (in the order given) that cannot be met with those before it
        saved = list(self.floor)
        try:
            upto: list[int] = []
            for k in self.floor_order:
                upto.append(k)
                self.floor = [saved[i] if i in upto else None for i in range(len(saved))]
                self._memo.clear()
                if not self.extendable(()):
                    break
        finally:
            self.floor = saved
            self._memo.clear()
        names = [self.name(k) for k in upto]
        total = sum((self.floor_f[k] for k in upto), Fraction(0))  # type: ignore[misc]
        caps = [self.name(k) for k in range(len(self.names)) if self.cap[k] is not None]
        if len(names) == 1:
            what = f"the floor of '{names[0]}' ({fmt(total)})"
        else:
            what = (
                "the floors of " + ", ".join(f"'{n}'" for n in names) + f" (together {fmt(total)})"
            )
        within = "the budget" + (
            " and the caps of " + ", ".join(f"'{c}'" for c in caps) if caps else ""
        )
        raise ConstraintError(
            f"{what} cannot be met: no set of projects within {within} "
            f"({fmt(self.budget_f)}) reaches it",
            "floors",
            ", ".join(names),
        )
