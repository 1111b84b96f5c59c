"""API of the open data: each public table as JSON rows, and the district's statistics."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router

from civicbudget.cycles.models import Cycle
from civicbudget.opendata.selectors import district_statistics
from civicbudget.opendata.tables import BY_NAME
from civicbudget.places.models import District

router = Router(tags=["open data"])


@router.get("/cycles/{cycle_id}/open-data/{name}")
def table(request: HttpRequest, cycle_id: int, name: str):
    cycle = get_object_or_404(Cycle.objects.select_related("district"), pk=cycle_id)
    t = BY_NAME.get(name)
    if t is None:
        raise Http404
    return {"table": name, "columns": list(t.columns), "rows": [list(r) for r in t.rows(cycle)]}


@router.get("/districts/{district_id}/statistics")
def statistics(request: HttpRequest, district_id: int):
    stats = district_statistics(get_object_or_404(District, pk=district_id))
    keys = ("year", "streets", "communities", "funds", "population", "proposals", "voters", "turnout", "projects")
    return [{**{k: r[k] for k in keys}, "cycle_id": r["cycle"].pk, "spent_yuan": r["money"]["spent"],
             "satisfaction": r["satisfaction"]["avg"], "cost_per_participant": r["cost"]["per_participant"]}
            for r in stats["rows"]]
