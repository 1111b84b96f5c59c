"""Read organisations, their public track record, offers and bids.

``track_record`` is the one source of an organisation's figures: its public page and
``GET /api/organisations/{id}`` both render it.
"""

from __future__ import annotations

from django.db.models import Avg, Count, Prefetch, Sum

from civicbudget.cycles.models import Cycle
from civicbudget.delivery.models import AllocationChange, Implementation, Rating, Spending
from civicbudget.partners.models import Bid, Offer, Organisation, Partnership
from civicbudget.partners.services import serves


def organisations_public(district_id: int | None = None):
    """Approved organisations, with the communities they serve and partner."""
    qs = Organisation.objects.filter(status=Organisation.Status.APPROVED).select_related("district", "street")
    if district_id is not None:
        qs = qs.filter(district_id=district_id)
    return qs.prefetch_related("communities", Prefetch("partnerships",
                                                       queryset=Partnership.objects.select_related("community")))


def track_record(organisation: Organisation) -> dict:
    """Every project whose order the organisation took: allocation, price, spending, overrun,
    step and residents' ratings; and the totals.

    The overrun of a project is what was spent above the allocation it was voted at (an
    approved allocation change is the only way to spend more): max(0, spent - voted).
    """
    offers = list(Offer.objects.filter(status=Offer.Status.AWARDED, chosen_bid__organisation=organisation)
                  .select_related("implementation__project__street", "implementation__project__community",
                                  "implementation__cycle", "chosen_bid")
                  .order_by("-chosen_at", "-id"))
    ids = [o.implementation_id for o in offers]
    spent = dict(Spending.objects.filter(implementation_id__in=ids).values_list("implementation_id")
                 .annotate(s=Sum("amount_yuan")).values_list("implementation_id", "s"))
    ratings = {i: (avg, n) for i, avg, n in Rating.objects.filter(implementation_id__in=ids)
               .values_list("implementation_id").annotate(a=Avg("score"), n=Count("id"))
               .values_list("implementation_id", "a", "n")}
    voted: dict[int, int] = {}
    for impl_id, from_yuan in (AllocationChange.objects.filter(implementation_id__in=ids)
                               .order_by("approved_at", "id").values_list("implementation_id", "from_yuan")):
        voted.setdefault(impl_id, from_yuan)
    projects = []
    for offer in offers:
        impl = offer.implementation
        bid = offer.chosen_bid
        paid = spent.get(impl.pk, 0) or 0
        at_vote = voted.get(impl.pk, impl.allocation_yuan)
        avg, n = ratings.get(impl.pk, (None, 0))
        projects.append({
            "project_id": impl.project_id, "project": impl.project.name, "cycle_id": impl.cycle_id,
            "cycle": impl.cycle.display_name, "place": str(impl.project.place), "step": impl.step,
            "step_label": str(impl.get_step_display()), "is_finished": impl.is_finished,
            "allocation_voted_yuan": at_vote, "allocation_yuan": impl.allocation_yuan,
            "price_yuan": bid.price_yuan, "spent_yuan": paid, "overrun_yuan": max(0, paid - at_vote),
            "rating": round(float(avg), 2) if avg is not None else None, "ratings": n,
            "chosen_on": offer.chosen_at.date() if offer.chosen_at else None, "reason": offer.reason,
            "has_conflict": bid.has_conflict, "conflict": bid.conflict,
        })
    rated = [p for p in projects if p["ratings"]]
    rating_n = sum(p["ratings"] for p in rated)
    totals = {
        "projects": len(projects),
        "finished": sum(1 for p in projects if p["is_finished"]),
        "price_yuan": sum(p["price_yuan"] for p in projects),
        "allocation_voted_yuan": sum(p["allocation_voted_yuan"] for p in projects),
        "spent_yuan": sum(p["spent_yuan"] for p in projects),
        "overruns": sum(1 for p in projects if p["overrun_yuan"] > 0),
        "overrun_yuan": sum(p["overrun_yuan"] for p in projects),
        "ratings": rating_n,
        # Weighted by the number of ratings: each resident's rating counts once.
        "rating": (round(sum(p["rating"] * p["ratings"] for p in rated) / rating_n, 2) if rating_n else None),
    }
    return {
        "id": organisation.pk, "name": organisation.name, "credit_code": organisation.credit_code,
        "services": organisation.services, "qualifications": organisation.qualifications,
        "district": organisation.district.name, "street": organisation.street.name,
        "communities": [c.name for c in organisation.communities.order_by("street__name", "name")],
        "partner_of": [{"community": p.community.name, "since_on": p.since_on}
                       for p in organisation.partnerships.select_related("community").order_by("since_on")],
        "approved_on": organisation.decided_at.date() if organisation.decided_at else None,
        "projects": projects, "totals": totals,
    }


def offers_for_cycle(cycle: Cycle) -> list[Offer]:
    """The cycle's offers with every bid (staff: all bids, declared conflicts included)."""
    return list(Offer.objects.filter(implementation__cycle=cycle)
                .select_related("implementation__project__street", "implementation__project__community",
                                "chosen_bid__organisation")
                .prefetch_related(Prefetch("bids", queryset=Bid.objects.select_related("organisation")))
                .order_by("implementation__project__street__name", "implementation__project__name"))


def offerable(cycle: Cycle) -> list[Implementation]:
    """Selected service projects not yet offered for orders and not past their tender."""
    return list(Implementation.objects.filter(cycle=cycle, project__project_type="services",
                                              offer__isnull=True, step__in=["approval", "budget_review"])
                .select_related("project__street", "project__community")
                .order_by("project__street__name", "project__name"))


def desk(organisation: Organisation) -> dict:
    """What an organisation's desk shows: open offers it may bid on, its own bids (never
    another's), and the projects whose order it took."""
    open_offers = [o for o in Offer.objects.filter(status=Offer.Status.OPEN,
                                                   implementation__cycle__district_id=organisation.district_id)
                   .select_related("implementation__project__street", "implementation__project__community",
                                   "implementation__cycle")
                   .order_by("bids_close_on", "id")
                   if serves(organisation, o.implementation)]
    own = {b.offer_id: b for b in Bid.objects.filter(organisation=organisation)}
    from civicbudget.partners.services import contracts_of

    contracts = list(contracts_of(organisation).annotate(spent=Sum("spendings__amount_yuan")))
    return {
        "open_offers": [{"offer": o, "bid": own.get(o.pk)} for o in open_offers],
        "bids": list(Bid.objects.filter(organisation=organisation)
                     .select_related("offer__implementation__project", "offer__chosen_bid")
                     .order_by("-submitted_at")),
        "contracts": contracts,
    }


def organisations_of_district(district_id: int):
    """Every registration of a district, those awaiting a decision first (staff)."""
    order = {Organisation.Status.PENDING: 0, Organisation.Status.APPROVED: 1, Organisation.Status.REJECTED: 2}
    rows = (Organisation.objects.filter(district_id=district_id).select_related("street")
            .prefetch_related("communities").order_by("-registered_at", "-id"))
    return sorted(rows, key=lambda o: order[o.status])
