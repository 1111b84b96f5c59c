"""The statistics of a district, year over year: the source document's Meilan table and more."""

from __future__ import annotations

from django.db.models import Sum

from civicbudget.cycles.models import BudgetPool, Cycle
from civicbudget.places.models import District


def project_counts(cycle: Cycle) -> dict:
    """How many projects a cycle put to the vote, selected and implemented: the ONE source of
    these figures for the cycle cards and the statistics table (a card once quoted its free-text
    description instead, and disagreed with the table).

    ``selected`` is the winners of the count, or the projects given an implementation where a
    body decided without a resident vote; ``implemented`` counts finished works only.
    """
    from civicbudget.delivery.models import Implementation
    from civicbudget.voting.models import ScopeResult, VotingScope

    on_ballot = sum(len(spec.get("projects", []))
                    for spec in VotingScope.objects.filter(cycle=cycle).values_list("spec", flat=True))
    winners = sum(len(w) for w in ScopeResult.objects.filter(scope__cycle=cycle).values_list("winners", flat=True))
    impl = Implementation.objects.filter(cycle=cycle)
    return {"on_ballot": on_ballot, "counted": ScopeResult.objects.filter(scope__cycle=cycle).exists(),
            "selected": max(winners, impl.count()), "implemented": impl.filter(step="done").count()}


def cycle_figures(cycle: Cycle) -> dict:
    """One row of the Meilan table for ``cycle``."""
    from civicbudget.delivery.selectors import money_totals, participation_cost, satisfaction
    from civicbudget.proposals.models import Proposal
    from civicbudget.voting.selectors import turnout

    communities = list(cycle.communities.all())
    population = sum(c.population for c in communities)
    t = turnout(cycle)
    counts = project_counts(cycle)
    money = money_totals(cycle)
    rate = t["rate"] if t["voters"] else None
    return {
        "cycle": cycle, "turnout_pct": f"{rate * 100:.2f}%" if rate is not None else "–", "year": cycle.year, "streets": cycle.streets.count(), "communities": len(communities),
        "funds": BudgetPool.objects.filter(cycle=cycle).aggregate(s=Sum("amount_yuan"))["s"] or 0,
        "population": population, "proposals": Proposal.objects.filter(cycle=cycle).count(),
        "voters": t["voters"], "turnout": rate, "turnout_base": t["base"], "turnout_base_kind": t["base_kind"],
        "projects": counts["selected"], "project_counts": counts, "money": money, "turnout_detail": t,
        "satisfaction": satisfaction(cycle), "cost": participation_cost(cycle),
    }


def district_statistics(district: District) -> dict:
    cycles = list(Cycle.objects.filter(district=district).prefetch_related("stages").order_by("year", "pk"))
    rows = [cycle_figures(c) for c in cycles]
    latest = next((r for r in reversed(rows) if r["voters"]), rows[-1] if rows else None)
    return {"district": district, "rows": rows, "latest": latest}
