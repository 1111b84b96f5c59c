"""The statistics of a district, year over year: the source document's Meilan table and more."""

from __future__ import annotations

from django.db.models import Sum

from civicbudget.cycles.models import BudgetPool, Cycle
from civicbudget.places.models import District


def cycle_figures(cycle: Cycle) -> dict:
    """One row of the Meilan table for ``cycle``."""
    from civicbudget.delivery.selectors import money_totals, participation_cost, satisfaction
    from civicbudget.proposals.models import Proposal
    from civicbudget.voting.models import ScopeResult
    from civicbudget.voting.selectors import turnout

    communities = list(cycle.communities.all())
    population = sum(c.population for c in communities)
    t = turnout(cycle)
    winners = sum(len(w) for w in ScopeResult.objects.filter(scope__cycle=cycle).values_list("winners", flat=True))
    money = money_totals(cycle)
    rate = t["rate"] if t["voters"] else None
    return {
        "cycle": cycle, "turnout_pct": f"{rate * 100:.2f}%" if rate is not None else "–", "year": cycle.year, "streets": cycle.streets.count(), "communities": len(communities),
        "funds": BudgetPool.objects.filter(cycle=cycle).aggregate(s=Sum("amount_yuan"))["s"] or 0,
        "population": population, "proposals": Proposal.objects.filter(cycle=cycle).count(),
        "voters": t["voters"], "turnout": rate, "turnout_base": t["base"], "turnout_base_kind": t["base_kind"],
        "projects": max(winners, money["projects"]), "money": money, "turnout_detail": t,
        "satisfaction": satisfaction(cycle), "cost": participation_cost(cycle),
    }


def district_statistics(district: District) -> dict:
    cycles = list(Cycle.objects.filter(district=district).prefetch_related("stages").order_by("year", "pk"))
    rows = [cycle_figures(c) for c in cycles]
    latest = next((r for r in reversed(rows) if r["voters"]), rows[-1] if rows else None)
    return {"district": district, "rows": rows, "latest": latest}
