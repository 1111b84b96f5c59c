"""The theme-division ballot of a cycle, wired to the database (docs/voting.md).

When ``cycle.config["theme_division"]`` is set, voting opens one more scope beside the
project ballots, ``division:cycle-<id>``, on which every voter of the cycle splits 100
points (whole percents) across the themes. At the count it is counted first by
:func:`civicbudget.tally.portioning.divide`; its shares then cap each theme on every
project ballot (:mod:`civicbudget.ledger.division` computes the pools, for the count and
for the verifier alike). Online only: the paper sheets carry the project ballots.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from fractions import Fraction

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from civicbudget.errors import ServiceError
from civicbudget.ledger.division import (
    POINTS,
    Pool,
    division_count,
    division_header,
    is_division,
    scope_pools,
    with_pools,
)
from civicbudget.ledger.entry import ScopeSpec
from civicbudget.tally.constraints import category_key

__all__ = ["POINTS", "is_division"]


def scope_key(cycle) -> str:
    """Return the key of the division scope of ``cycle`` (a cycle or its id)."""
    return f"division:cycle-{getattr(cycle, 'pk', cycle)}"


def division_ballot(cycle, ballots: list[dict]) -> dict | None:
    """Return the division ballot to open beside ``ballots`` ({key, title, spec, ...}), or
    None when the cycle has no division (or no project ballot to divide)."""
    conf = (cycle.config or {}).get("theme_division")
    if not conf or not ballots:
        return None
    # The division's amounts are shown of the whole money at stake: every ballot's budget.
    budget = sum(int(Fraction(b["spec"]["budget"])) for b in ballots)
    key = scope_key(cycle)
    spec = {
        "scope": key, "vote_type": "cumulative", "budget": str(budget),
        "projects": [{"id": f"t{i}", "cost": str(budget), "name": theme}
                     for i, theme in enumerate(conf["themes"], start=1)],
        "rule": {"rule": "greedy"},  # never run: the division has its own rule, below
        "min_length": 1, "max_length": None, "max_sum_cost": None,
        "min_points": 1, "max_points": POINTS, "max_sum_points": POINTS,
        "division": {"rule": conf["rule"]},
    }
    # Frozen like the other ballots' titles (place names): in the district's language, not in
    # whatever language the staff member who opened the vote happened to use.
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Dividing the budget between themes")
    return {"key": key, "title": title, "spec": spec,
            "street": None, "community": None}


def choices_check(scope_key_: str, choices) -> None:
    """Refuse a division ballot whose points do not add up to exactly 100."""
    if not is_division(scope_key_):
        return
    total = sum(int(v) for v in dict(choices).values())
    if total != POINTS:
        raise ServiceError(_("The percentages add up to %(total)d; they must add up to exactly 100.")
                           % {"total": total}, field="choices", code="invalid_ballot")


def division_rule(scope) -> str:
    """Return the portioning rule frozen in a division scope's spec."""
    return (scope.spec.get("division") or {}).get("rule", "independent-markets")


def count(spec: ScopeSpec, scope, entries) -> dict:
    """Count a division scope; return what its ``ScopeResult.division`` stores."""
    division = division_count(spec, division_rule(scope), entries)
    return division_header(spec, division_rule(scope), division)


def shares_of(stored: Mapping | None) -> tuple[list[str], list[Fraction]] | None:
    """Return (themes, exact shares) from a counted division, None when nobody cast it."""
    if not stored or not stored.get("voters"):
        return None
    themes = stored["themes"]
    return [t["theme"] for t in themes], [Fraction(t["share"]) for t in themes]


def apply_pools(spec: ScopeSpec, shares: tuple[list[str], list[Fraction]] | None
                ) -> tuple[ScopeSpec, dict | None]:
    """Return the project ballot's spec with its pools as caps, and what its result stores."""
    if shares is None:
        return spec, None
    pools = scope_pools(spec, shares[0], shares[1])
    return (dataclasses.replace(spec, rule=with_pools(spec.rule, pools)),
            {"pools": [p.to_json() for p in pools]})


def _pool(obj: Mapping) -> Pool:
    return Pool(obj["theme"], int(obj["pool"]),
                None if obj["floor"] is None else Fraction(obj["floor"]), Fraction(obj["cap"]))


def counted_spec(spec: ScopeSpec, stored: Mapping | None) -> ScopeSpec:
    """Return a project ballot's spec with the rule it was counted with (pools included)."""
    if not stored or "pools" not in stored:
        return spec
    return dataclasses.replace(spec, rule=with_pools(spec.rule, [_pool(p) for p in stored["pools"]]))


def export_division(results: Iterable) -> dict | None:
    """Return ``results.json``'s ``division`` from a cycle's counted results, or None."""
    results = list(results)
    head = next((r for r in results if is_division(r.scope.key)), None)
    if head is None:
        return None
    pools = {r.scope.key: list((r.division or {}).get("pools") or [])
             for r in results if r is not head}
    return {**head.division, "scope": head.scope.key, "pools": pools}


def division_table(results: Iterable) -> dict | None:
    """The division as the results page shows it: each theme's share and amount."""
    head = next((r for r in results if is_division(r.scope.key)), None)
    if head is None or not head.division:
        return None
    rows = [{"theme": t["theme"], "percent": float(Fraction(t["share"])) * 100 if t["share"] else None,
             "amount": int(t["amount"]) if t["amount"] is not None else None}
            for t in head.division["themes"]]
    return {"result": head, "rows": rows, "voters": head.division["voters"],
            "rule": head.division["rule"], "budget": int(Fraction(head.division["budget"]))}


def pool_rows(result) -> list[dict]:
    """A project ballot's pools for the results page; ``capped`` when the pool (or the floor
    that raised it) stopped a project of its theme."""
    pools = (result.division or {}).get("pools") or []
    capped = set()
    for e in result.explanations or ():
        if e.get("reason") == "cap":
            for name in str((e.get("details") or {}).get("category", "")).split(","):
                capped.add(category_key(name))
    return [{"theme": p["theme"], "pool": int(p["pool"]), "cap": int(Fraction(p["cap"])),
             "raised": Fraction(p["cap"]) > int(p["pool"]),
             "capped": category_key(p["theme"]) in capped} for p in pools]
