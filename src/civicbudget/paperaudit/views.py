"""The audit desk (officers record, observers watch) and the public audit JSON."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicbudget.accounts.permissions import (
    cycle_staff_require,
    permission_check,
    permission_require,
    staff_member_require,
)
from civicbudget.cycles.models import Cycle
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.paperaudit import services
from civicbudget.paperaudit.models import PaperAudit
from civicbudget.params import is_number
from civicbudget.voting.models import PollingStation, ScopeResult, VotingScope


def _cycle(cycle_id: int) -> Cycle:
    return get_object_or_404(Cycle.objects.select_related("district"), pk=cycle_id)


def _place_of_key(cycle: Cycle, key: str):
    """The street or community a scope key names, within the cycle (404 otherwise)."""
    kind, _sep, pk = (key or "").partition(":")
    if kind == "community" and is_number(pk):
        return get_object_or_404(cycle.communities, pk=pk)
    if kind == "street" and is_number(pk):
        return get_object_or_404(cycle.streets, pk=pk)
    raise ServiceError(_("Choose a ballot."), field="scope")


@login_required
def desk(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Every counted ballot with its audit: start it, pull the sampled sheets, record them."""
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    rows = []
    for result in ScopeResult.objects.filter(scope__cycle=cycle).select_related(
            "scope__street", "scope__community").order_by("scope__key"):
        scope = result.scope
        audit = PaperAudit.objects.filter(scope=scope).first()
        may = permission_check(request.user, services.ACTION, services.scope_place(scope), cycle)
        boxes = [] if audit or not may else [
            (sid, label, len(numbers)) for sid, label, numbers in services.manifest_of(scope)]
        rows.append({"scope": scope, "audit": audit, "may": may, "boxes": boxes,
                     "pending": services.pending_sheets(audit) if audit else [],
                     "compared": list(audit.comparisons.select_related("station")) if audit else [],
                     "projects": scope.spec["projects"],
                     "names": {p["id"]: p["name"] for p in scope.spec["projects"]}})
    return render(request, "paperaudit/desk.html", {"cycle": cycle, "rows": rows})


@login_required
@require_POST
def action(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    try:
        key = request.POST.get("scope", "")[:40]
        place = _place_of_key(cycle, key)
        # The role and place first: a refusal is an audited 403 whatever else is wrong.
        permission_require(request.user, services.ACTION, place, cycle)
        scope = VotingScope.objects.filter(cycle=cycle, key=key).first()
        if scope is None:
            raise ServiceError(_("This ballot was not voted on in this cycle."), field="scope")
        what = request.POST.get("action")
        if what == "start":
            risk = request.POST.get("risk_limit", "5")
            # The desk asks for every box's count: the web never starts an audit without them.
            counts = {int(k[6:]): int(v) if is_number(v) else -1 for k, v in list(request.POST.items())[:200]
                      if k.startswith("count_") and is_number(k[6:])}
            audit = services.audit_start(
                officer=request.user, scope=scope, seed=request.POST.get("seed", "")[:400],
                rolling=request.POST.get("rolling", "")[:4000],
                risk_limit_pct=int(risk) if is_number(risk) else -1, box_counts=counts)
            messages.success(request, _("Audit started: pull the %(n)d sampled sheets listed below.")
                             % {"n": audit.draws.count()})
        elif what == "record":
            audit = services.audit_for(scope)
            station = get_object_or_404(PollingStation, pk=request.POST.get("station") or 0, cycle=cycle)
            number = request.POST.get("number", "")
            missing = request.POST.get("missing") == "1"
            comparison = services.audit_record_sheet(
                officer=request.user, audit=audit, station=station,
                number=int(number) if is_number(number) else -1,
                choices=request.POST.getlist("projects"), found=not missing)
            if comparison.matches:
                messages.success(request, _("Sheet %(n)d matches its record.") % {"n": comparison.number})
            else:
                messages.warning(request, _("Sheet %(n)d differs from its record.") % {"n": comparison.number})
        else:
            raise ServiceError(_("Unknown action."))
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(f"/staff/cycles/{cycle.pk}/paper-audit/")


def public_json(request: HttpRequest, cycle_id: int) -> JsonResponse:
    """Every audit of the cycle with its seed, manifest, sample and comparisons."""
    cycle = _cycle(cycle_id)
    audits = PaperAudit.objects.filter(cycle=cycle).select_related("scope").order_by("scope__key")
    response = JsonResponse({"cycle": cycle.pk, "audits": [services.public_json(a) for a in audits]},
                            json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=60"
    return response
