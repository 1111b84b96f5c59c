"""API of publication and replies: parse, call one service or selector, shape the answer."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from civicbudget.clientaddr import client_address
from civicbudget.cycles.models import Cycle
from civicbudget.results import selectors, services
from civicbudget.results.models import Publication

router = Router(tags=["results"])


class ObjectionIn(Schema):
    name: str
    text: str
    phone: str = ""


@router.get("/cycles/{cycle_id}/publications")
def publications(request: HttpRequest, cycle_id: int):
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    return [{"id": p.pk, "scope": p.scope.key, "title": p.scope.title, "published_at": p.published_at,
             "notice_until": p.notice_until, "objections": p.objection_count}
            for p in selectors.publications(cycle)]


@router.post("/publications/{publication_id}/objections", response={201: dict})
def objection_file(request: HttpRequest, publication_id: int, payload: ObjectionIn):
    publication = get_object_or_404(Publication.objects.select_related("scope"), pk=publication_id)
    objection = services.objection_file(publication=publication, name=payload.name, text=payload.text,
                                        phone=payload.phone, client=client_address(request))
    return Status(201, {"id": objection.pk, "filed_at": objection.filed_at})


@router.get("/cycles/{cycle_id}/final-states")
def final_states(request: HttpRequest, cycle_id: int):
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    return {"counts": selectors.outcome_counts(cycle), "outbox": selectors.outbox_counts(cycle)}
