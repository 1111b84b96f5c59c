"""Read cycles with what their pages need in few queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from civicbudget.cycles.models import BudgetPool, Cycle


def cycle_list(district_id: int | None = None) -> QuerySet[Cycle]:
    qs = Cycle.objects.select_related("district").prefetch_related("stages")
    if district_id is not None:
        qs = qs.filter(district_id=district_id)
    return qs


def cycle_detail(cycle_id: int) -> Cycle:
    return (
        Cycle.objects.select_related("district")
        .prefetch_related(
            "stages",
            Prefetch("pools", queryset=BudgetPool.objects.select_related("street", "community__street")),
            "streets", "communities",
        )
        .get(pk=cycle_id)
    )


def cycle_pools_by_street(cycle: Cycle) -> list[dict]:
    """Return each participating street with its pool and its communities' pools."""
    pools = list(cycle.pools.all())
    street_pool = {p.street_id: p for p in pools if p.level == "street"}
    community_pool = {p.community_id: p for p in pools if p.level == "community"}
    rows = []
    communities = sorted(cycle.communities.all(), key=lambda c: (c.street_id, c.name))
    for street in sorted(cycle.streets.all(), key=lambda s: (s.code, s.name)):
        members = [c for c in communities if c.street_id == street.pk]
        rows.append({
            "street": street,
            "pool": street_pool.get(street.pk),
            "communities": [{"community": c, "pool": community_pool.get(c.pk)} for c in members],
            "community_total_yuan": sum(community_pool[c.pk].amount_yuan for c in members
                                        if c.pk in community_pool),
        })
    return rows


def cycle_total_pools_yuan(cycle: Cycle) -> int:
    return sum(p.amount_yuan for p in cycle.pools.all())
