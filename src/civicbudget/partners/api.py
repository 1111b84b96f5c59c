"""API of social organisations (read-only: the public track record, as on the page)."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router

from civicbudget.partners import selectors
from civicbudget.partners.models import Organisation

router = Router(tags=["partners"])


@router.get("/organisations/{organisation_id}")
def organisation_record(request: HttpRequest, organisation_id: int):
    """An approved organisation's profile and track record: projects, ratings, overruns."""
    org = get_object_or_404(Organisation.objects.select_related("district", "street"), pk=organisation_id,
                            status=Organisation.Status.APPROVED)
    return selectors.track_record(org)
