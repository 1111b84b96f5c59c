"""Short links and the publicity desk: parse, call one service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import (
    cycle_staff_require,
    permission_check,
    permission_require,
)
from civicbudget.cycles.models import Cycle
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.outreach import kit, links, selectors, services
from civicbudget.outreach.models import OutreachChannel, OutreachPoint
from civicbudget.outreach.sources import CODE_RE, PROJECT_CODE_RE
from civicbudget.params import is_number


def short_link(request: HttpRequest, code: str) -> HttpResponse:
    """``/s/CODE``: an outreach point's page for the running stage with ``?src=CODE``;
    ``/s/p123``: project 123's page."""
    code = code.strip().lower()
    match = PROJECT_CODE_RE.match(code)
    if match:
        return redirect(reverse("proposals:project", kwargs={"project_id": int(match.group(1))}))
    if not CODE_RE.match(code):
        raise Http404
    point = OutreachPoint.objects.select_related("cycle").filter(code=code).first()
    if point is None:
        raise Http404
    cycle = Cycle.objects.prefetch_related("stages").get(pk=point.cycle_id)
    return redirect(links.with_source(links.target_path(cycle), point.code))


def _cycle(cycle_id: int) -> Cycle:
    cycle = Cycle.objects.select_related("district").prefetch_related("stages").filter(pk=cycle_id).first()
    if cycle is None:
        raise Http404
    return cycle


def _kit_place(request: HttpRequest, cycle: Cycle):
    """The place a kit is made for: a street officer's street (``?street=``), else the district."""
    street_id = request.GET.get("street") or request.POST.get("street")
    if is_number(street_id):
        street = cycle.streets.filter(pk=street_id).first()
        if street is None:
            raise ServiceError(_("Choose a street of this cycle."), field="street")
        return street
    return None


@login_required
def desk(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """The cycle's outreach points with what each brought, the form for a new one, and the kit."""
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    if request.method == "POST":
        try:
            street = _kit_place(request, cycle)
            services.outreach_point_create(
                actor=request.user, cycle=cycle, code=request.POST.get("code", ""),
                channel=request.POST.get("channel", ""), place=request.POST.get("place", ""),
                street=street, cost_yuan=request.POST.get("cost_yuan", ""))
        except PermissionDenied:
            raise  # a 403 (web.middleware)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Saved."))
        return redirect("outreach:desk", cycle.pk)
    streets = [s for s in cycle.streets.order_by("name")
               if permission_check(request.user, "publicise", s, cycle)]
    return render(request, "outreach/desk.html", {
        "cycle": cycle, "figures": selectors.outreach_figures(cycle), "channels": OutreachChannel.choices,
        "streets": streets, "district_wide": permission_check(request.user, "publicise", cycle.district, cycle),
        "target": links.target_path(cycle)})


@login_required
def kit_download(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """The kit as a zip: for the district, or for one street (``?street=ID``) for its officers."""
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    try:
        street = _kit_place(request, cycle)
    except ServiceError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    permission_require(request.user, "publicise", street if street is not None else cycle.district, cycle)
    data = kit.kit_zip(cycle, request.build_absolute_uri("/"), street)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="cycle{cycle.pk}-outreach.zip"'
    return response
