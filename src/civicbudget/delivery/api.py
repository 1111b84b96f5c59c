"""API of implementation and evaluation (read-only: the public record of delivery)."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router

from civicbudget.cycles.models import Cycle
from civicbudget.delivery import selectors

router = Router(tags=["delivery"])


@router.get("/cycles/{cycle_id}/progress")
def cycle_progress(request: HttpRequest, cycle_id: int):
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    rows = [{"project_id": r["project"].pk, "project": r["project"].name, "step": r["impl"].step,
             "due_on": r["impl"].due_on, "overdue": r["overdue"], "allocation_yuan": r["allocation"],
             "spent_yuan": r["spent"], "cofunded_yuan": r["cofunded"], "percent": r["percent"],
             "rating": r["rating"], "ratings": r["ratings"]} for r in selectors.cycle_progress(cycle)]
    cost = selectors.participation_cost(cycle)
    return {"projects": rows, "money": selectors.money_totals(cycle), "satisfaction": selectors.satisfaction(cycle),
            "participation_cost": {k: cost[k] for k in ("total", "hours", "participants", "per_participant")}}
