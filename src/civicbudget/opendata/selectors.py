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
                    for spec in VotingScope.objects.filter(cycle=cycle).exclude(key__startswith="division:").values_list("spec", flat=True))
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


def project_facts(project) -> dict:
    """What a resident wants to know about one project, from the selectors the other pages use
    (the results table, the ballots, the screening, the delivery), so no figure disagrees:

    ``ballot``: the frozen ballot it stands on (or None) and ``voting_open``; ``cost_yuan``:
    the ballot's cost, else the latest cost set; ``screening``: passed or not with the reason;
    ``result``: its row of the results table (votes, percent, won, why); ``implementation``
    and ``rating`` once it is being delivered.
    """
    from django.db.models import Avg, Count

    from civicbudget.deliberation.models import BallotItem, Screening, criterion_label
    from civicbudget.deliberation.selectors import current_costs
    from civicbudget.delivery.models import Implementation, Rating
    from civicbudget.voting.models import ScopeResult, VotingScope
    from civicbudget.voting.selectors import result_tables

    cycle = project.cycle
    item = (BallotItem.objects.filter(project=project, ballot__frozen_at__isnull=False)
            .select_related("ballot__street", "ballot__community").first())
    scope = next((s for s in VotingScope.objects.filter(cycle=cycle).exclude(key__startswith="division:").only("id", "title", "spec")
                  if any(str(p["id"]) == str(project.pk) for p in s.spec.get("projects", []))), None)
    result = None
    if scope is not None and ScopeResult.objects.filter(scope=scope).exists():
        for table in result_tables(cycle):
            if table["result"].scope_id == scope.pk:
                result = next((r for r in table["rows"] if r["project_id"] == project.pk), None)
                if result is not None:
                    result = {**result, "ballot_votes": table["result"].num_votes}
    screening = Screening.objects.filter(project=project).first()
    cost = item.cost_yuan if item is not None else current_costs(cycle).get(project.pk)
    if cost is None and scope is not None:
        from fractions import Fraction

        cost = next(int(Fraction(p["cost"])) for p in scope.spec["projects"] if str(p["id"]) == str(project.pk))
    impl = Implementation.objects.filter(project=project).first()
    rating = None
    if impl is not None:
        rating = Rating.objects.filter(implementation=impl).aggregate(avg=Avg("score"), n=Count("id"))
    return {
        "ballot": item.ballot if item is not None else None,
        "scope": scope,
        "voting_open": scope is not None and "vote" in cycle.allowed_actions(),
        "cost_yuan": cost,
        "screening": screening,
        "screening_reason": "：".join(x for x in (criterion_label(screening.reason_code)
                                                  if screening and screening.reason_code else "",
                                                  screening.reason if screening else "") if x),
        "result": result,
        "implementation": impl,
        "rating": rating if rating and rating["n"] else None,
    }
