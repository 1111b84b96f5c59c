"""Back-office pages for paper sheets: print a pile for a polling point, adjudicate the queue.

The queue page shows a queued sheet's scan with each box outlined in the colour of what the
machine read (drawn server-side with OpenCV, sent inline), and a form for the officer's own
reading. Views only parse, call one service and render.
"""

from __future__ import annotations

import base64

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicbudget.accounts.permissions import cycle_staff_require, staff_member_require
from civicbudget.cycles.models import Cycle
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.paper import services
from civicbudget.paper.models import ScannedSheet
from civicbudget.params import is_number
from civicbudget.voting.models import PollingStation, VotingScope, scope_keys


def _cycle(cycle_id: int) -> Cycle:
    cycle = Cycle.objects.select_related("district").prefetch_related("stages").filter(pk=cycle_id).first()
    if cycle is None:
        raise Http404
    return cycle


@login_required
def queue(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """The adjudication queue of the officer's places, and one sheet with its outlined scan."""
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    sheets = services.adjudication_queue(officer=request.user, cycle=cycle)
    chosen = next((s for s in sheets if str(s.pk) == request.GET.get("sheet")), None)
    context = {"cycle": cycle, "sheets": sheets, "chosen": chosen}
    if chosen is not None:
        whole, rows = services.scan_image(chosen)
        context.update({
            "image": base64.b64encode(whole).decode(),
            "rows": base64.b64encode(rows).decode() if rows else "",
            "projects": services.scope_projects(chosen.scope) if chosen.scope else [],
            "decided_by_me": any(d.officer_id == request.user.pk for d in chosen.decisions.all()),
        })
    return render(request, "paper/queue.html", context)


@login_required
@require_POST
def action(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Print sheets (a PDF download) or record an adjudication decision."""
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    what = request.POST.get("action")
    back = f"/staff/cycles/{cycle.pk}/paper/"
    try:
        if what == "print":
            station = get_object_or_404(PollingStation.objects.select_related("community__street"),
                                        pk=request.POST.get("station") if is_number(request.POST.get("station")) else 0,
                                        cycle=cycle)
            back = f"/staff/cycles/{cycle.pk}/polling/?station={station.pk}"
            keys = scope_keys(station.community_id, station.community.street_id)
            scopes = VotingScope.objects.filter(cycle=cycle, key__in=keys).order_by("key")
            scope = (scopes.filter(pk=request.POST["scope"]).first() if is_number(request.POST.get("scope"))
                     else scopes.first())
            if scope is None:
                raise ServiceError(_("Choose one of this polling point's ballots."), field="scope")
            count = request.POST.get("sheets", "")
            printed = services.sheets_print(actor=request.user, cycle=cycle, scope=scope, station=station,
                                            count=int(count) if is_number(count) else -1)
            response = HttpResponse(printed.pdf, content_type="application/pdf")
            response["Content-Disposition"] = (f'attachment; filename="ballot-sheets-{scope.key.replace(":", "-")}'
                                               f'-{printed.batch.pk}.pdf"')
            return response
        if what == "decide":
            scanned = get_object_or_404(ScannedSheet, cycle=cycle,
                                        pk=request.POST.get("sheet") if is_number(request.POST.get("sheet")) else 0)
            back = f"{back}?sheet={scanned.pk}"
            choices = None if request.POST.get("decision") == "set_aside" else request.POST.getlist("projects")
            settled = services.sheet_adjudicate(officer=request.user, scanned=scanned, choices=choices)
            if settled.state == ScannedSheet.State.QUEUED:
                messages.success(request, _("Your decision is recorded; the sheet waits for another officer."))
            else:
                messages.success(request, _("Sheet settled: %(state)s.") % {"state": settled.get_state_display()})
                back = f"/staff/cycles/{cycle.pk}/paper/"
        else:
            raise ServiceError(_("Unknown action."))
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(back)
