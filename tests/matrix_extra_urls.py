"""The real URL map plus one staff page that forgot its permission check (for the matrix test)."""

from django.http import HttpResponse
from django.urls import path

from civicbudget.urls import urlpatterns as real_patterns


def unguarded(request, cycle_id: int) -> HttpResponse:
    return HttpResponse("anything goes")


urlpatterns = [*real_patterns,
               path("staff/cycles/<int:cycle_id>/unguarded/", unguarded, name="unguarded")]
