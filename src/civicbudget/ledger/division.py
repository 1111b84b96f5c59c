"""The theme-division ballot in the ledger: its published result and the pools it sets.

A cycle may hold one *division* scope (``division:cycle-12``): a cumulative ballot whose
"projects" are themes (``t1``, ``t2``, ... named after the theme) and on which each voter
gives exactly 100 points. The division is counted by
:func:`civicbudget.tally.portioning.divide` (independent markets, or the mean) rather than
by a project rule, and its shares then cap each theme on every project ballot of the cycle:

- a ballot's *pool* of a theme is the theme's share of that ballot's budget, in whole yuan
  (:func:`~civicbudget.tally.portioning.split`, so a ballot's pools add up to its budget);
- when the ballot has a floor (``category_min``) on the same theme above the pool, the cap
  is the floor instead (the floor was promised first; the explanation says so); and when
  whole project costs leave no way to meet a floor under the pools, the pools of the
  floored themes are lifted to the ballot's budget;
- the caps are appended to the ballot's own ``category_max`` (a configured cap stays: the
  lower of the two binds), and only for themes some project of the ballot has.

``results.json`` then carries a ``division`` object (absent in exports without one, which
therefore read and verify exactly as before)::

    {"scope": "division:cycle-12", "rule": "independent-markets", "points": 100,
     "budget": "3150000", "voters": 412, "t": "3/1000",
     "themes": [{"id": "t1", "theme": "养老", "share": "3/10", "amount": "945000"}, ...],
     "pools": {"street:3": [{"theme": "养老", "pool": "315000", "floor": null,
                             "cap": "315000"}, ...], ...}}

and the verifier (:func:`check_division`) recounts the division from the entries,
recomputes every pool and checks that each ballot's published rule ends with exactly those
caps, before the ordinary re-tally recounts the ballots with them.

Pure: no Django, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from civicbudget.ledger.entry import (
    BallotEntry,
    EntryError,
    ScopeSpec,
    format_money,
)
from civicbudget.tally import RuleSpec
from civicbudget.tally.constraints import (
    CategoryBound,
    ConstraintError,
    category_key,
    project_categories,
)
from civicbudget.tally.limits import LimitError
from civicbudget.tally.portioning import RULES, Division, divide, split

PREFIX = "division:"
POINTS = 100  # every division ballot gives exactly this many points (whole percents)
HEADER_KEYS = frozenset({"budget", "points", "rule", "t", "themes", "voters"})
KEYS = HEADER_KEYS | {"pools", "scope"}


def is_division(scope: str) -> bool:
    """Return True for the key of a division scope."""
    return scope.startswith(PREFIX)


@dataclass(frozen=True)
class Pool:
    """What a project ballot may spend on one theme.

    ``pool``: the theme's share of the ballot's budget (whole yuan); ``floor``: the ballot's
    floor on the theme, if any; ``cap``: what the count caps the theme at, the larger.
    """

    theme: str
    pool: int
    floor: Fraction | None
    cap: Fraction

    @property
    def raised(self) -> bool:
        """Return True when the floor, not the division, set the cap."""
        return self.cap > self.pool

    def to_json(self) -> dict[str, Any]:
        return {"theme": self.theme, "pool": format_money(self.pool),
                "floor": None if self.floor is None else format_money(self.floor),
                "cap": format_money(self.cap)}


def ballot_points(entry: BallotEntry, theme_ids: Sequence[str]) -> list[int]:
    """Return an entry's points per theme (0 where it names none); raise :class:`EntryError`
    unless they add up to exactly :data:`POINTS`."""
    given = dict(zip(entry.projects(), entry.points() or (), strict=True))
    row = [given.get(t, 0) for t in theme_ids]
    if sum(row) != POINTS or len(given) != sum(1 for t in theme_ids if t in given):
        raise EntryError(f"a division ballot gives exactly {POINTS} points, this one {sum(row)}")
    return row


def division_check_spec(spec: ScopeSpec) -> None:
    """Raise :class:`EntryError` unless ``spec`` is shaped as a division ballot."""
    if (not is_division(spec.scope) or spec.vote_type != "cumulative"
            or spec.max_sum_points != POINTS or not 2 <= len(spec.projects) <= 20):
        raise EntryError(f"{spec.scope}: a division ballot is cumulative, 2 to 20 themes, "
                         f"{POINTS} points")


def division_count(spec: ScopeSpec, rule: str, entries: Sequence[BallotEntry]) -> Division | None:
    """Count a division scope; None when nobody cast it (then no pools apply)."""
    division_check_spec(spec)
    if not entries:
        return None
    ids = [p.id for p in spec.projects]
    reports = [ballot_points(e, ids) for e in entries]
    if spec.budget.denominator != 1:
        raise EntryError(f"{spec.scope}: the budget must be whole yuan")
    try:
        return divide(int(spec.budget), [p.name for p in spec.projects], reports, rule)
    except LimitError as exc:
        raise EntryError(f"{spec.scope}: {exc}") from None


def division_header(spec: ScopeSpec, rule: str, division: Division | None) -> dict[str, Any]:
    """Return the division's published result (``results.json``'s ``division`` without
    ``scope`` and ``pools``); shares are exact fractions written as ``"p/q"``."""
    themes = []
    for j, p in enumerate(spec.projects):
        themes.append({"id": p.id, "theme": p.name,
                       "share": None if division is None else str(division.shares[j]),
                       "amount": None if division is None else format_money(division.amounts[j])})
    return {"rule": rule, "points": POINTS, "budget": format_money(spec.budget),
            "voters": 0 if division is None else division.voters,
            "t": None if division is None or division.t is None else str(division.t),
            "themes": themes}


def scope_pools(spec: ScopeSpec, themes: Sequence[str],
                shares: Sequence[Fraction] | None) -> list[Pool]:
    """Return the pools of one project ballot from the division's ``shares`` (None: no
    division was cast, no pools). Only themes some project of the ballot has get one."""
    if shares is None:
        return []
    if spec.budget.denominator != 1:
        raise EntryError(f"{spec.scope}: pools need a budget in whole yuan")
    amounts = split(int(spec.budget), shares)
    present = {c for p in spec.projects for c in project_categories(p.category)}
    floors: dict[str, Fraction] = {}
    for b in spec.rule.category_min:
        key = category_key(b.category)
        floors[key] = max(floors.get(key, Fraction(0)), b.amount(spec.budget))
    pools = []
    for theme, amount in zip(themes, amounts, strict=True):
        key = category_key(theme)
        if key not in present:
            continue
        floor = floors.get(key)
        pools.append(Pool(theme, amount, floor, max(Fraction(amount), floor or Fraction(0))))
    # Project costs are whole: a cap at the floor can leave no set of projects meeting it.
    # The floor was promised first, so then the pools of floored themes are lifted to the
    # whole budget (recorded as their cap), and the count stays possible.
    try:
        dataclasses.replace(spec, rule=with_pools(spec.rule, pools)).constraints().check()
    except ConstraintError:
        pools = [dataclasses.replace(p, cap=spec.budget) if p.floor is not None else p for p in pools]
    return pools


def with_pools(rule: RuleSpec, pools: Sequence[Pool]) -> RuleSpec:
    """Return ``rule`` with the pools appended to its caps (the lower cap binds)."""
    if not pools:
        return rule
    caps = tuple(CategoryBound(p.theme, p.cap, False) for p in pools)
    return dataclasses.replace(rule, category_max=tuple(rule.category_max) + caps)


def check_division(obj: Any, scopes: Mapping[str, ScopeSpec],
                   entries: Mapping[str, Sequence[BallotEntry]]) -> tuple[str, Division | None]:
    """Recount a published division and its pools; raise :class:`EntryError` at the first
    difference. ``scopes`` are the export's scope definitions (with the rules the ballots
    were counted with), ``entries`` each scope's entries. Return the division's scope and
    the recounted division."""
    if not isinstance(obj, dict) or set(obj) != KEYS:
        raise EntryError(f"division needs exactly the keys {', '.join(sorted(KEYS))}")
    scope = obj["scope"]
    spec = scopes.get(scope) if isinstance(scope, str) else None
    if spec is None:
        raise EntryError(f"division scope {scope!r} is not in results.json")
    division_check_spec(spec)
    rule = obj["rule"]
    if rule not in RULES:
        raise EntryError(f"division rule {rule!r} is not one of {', '.join(RULES)}")
    others = {k: s for k, s in scopes.items() if k != scope}
    total = sum((s.budget for s in others.values()), Fraction(0))
    if spec.budget != total:
        raise EntryError(f"division budget {format_money(spec.budget)} is not the sum of the "
                         f"ballots' budgets ({format_money(total)})")
    for i, e in enumerate(entries.get(scope, ()), start=1):
        try:
            ballot_points(e, [p.id for p in spec.projects])
        except EntryError as exc:
            raise EntryError(f"division ballot #{i}: {exc}") from None
    division = division_count(spec, rule, entries.get(scope, ()))
    expected = division_header(spec, rule, division)
    got = {k: obj[k] for k in HEADER_KEYS}
    if got != expected:
        diff = next(k for k in sorted(HEADER_KEYS) if got[k] != expected[k])
        raise EntryError(f"division {diff}: published {got[diff]!r}, the recount gives "
                         f"{expected[diff]!r}")
    pools = obj["pools"]
    if not isinstance(pools, dict) or set(pools) != set(others):
        raise EntryError("division pools must list every other scope of results.json")
    themes = [p.name for p in spec.projects]
    shares = None if division is None else division.shares
    for key in sorted(others):
        want = scope_pools(others[key], themes, shares)
        if pools[key] != [p.to_json() for p in want]:
            raise EntryError(f"{key}: published pools {pools[key]!r}, the recount gives "
                             f"{[p.to_json() for p in want]!r}")
        caps = tuple(CategoryBound(p.theme, p.cap, False) for p in want)
        counted = tuple(others[key].rule.category_max)
        if caps and counted[-len(caps):] != caps:
            raise EntryError(f"{key}: the rule's caps do not end with the division's pools "
                             f"({', '.join(f'{p.theme}={format_money(p.cap)}' for p in want)})")
    return scope, division
