"""Progress pages (public, 四公开) and the delivery desk (staff): parse, call one service, render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicbudget.accounts.permissions import (
    cycle_staff_require,
    staff_member_require,
)
from civicbudget.clientaddr import client_address
from civicbudget.cycles.models import Cycle
from civicbudget.delivery import selectors, services
from civicbudget.delivery.models import (
    AuditFlag,
    CoFunding,
    DeputyVerdict,
    Implementation,
    ParticipationCost,
    ProgressUpdate,
    Step,
)
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.outreach.sources import source_for
from civicbudget.params import is_number


def _cycle(cycle_id: int) -> Cycle:
    cycle = Cycle.objects.select_related("district").prefetch_related("stages").filter(pk=cycle_id).first()
    if cycle is None:
        raise Http404
    return cycle


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def cycle_progress_page(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = _cycle(cycle_id)
    return render(request, "delivery/cycle.html", {
        "cycle": cycle, "rows": selectors.cycle_progress(cycle), "money": selectors.money_totals(cycle),
        "satisfaction": selectors.satisfaction(cycle), "cost": selectors.participation_cost(cycle)})


def project_progress_page(request: HttpRequest, project_id: int) -> HttpResponse:
    impl = get_object_or_404(Implementation.objects.select_related("project__street", "project__community",
                                                                   "cycle__district", "body"),
                             project_id=project_id)
    error = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "code":
                from civicbudget.voting.services import otp_send

                otp_send(phone=request.POST.get("phone", ""), cycle=impl.cycle,
                         client=client_address(request))
                messages.success(request, _("A code was sent to your phone."))
                request.session["rating_phone"] = request.POST.get("phone", "")
                return redirect("delivery:project", project_id)
            services.rating_submit(implementation=impl, phone=request.POST.get("phone", ""),
                                   code=request.POST.get("code", ""), score=request.POST.get("score"),
                                   comment=request.POST.get("comment", ""),
                                   client=client_address(request),
                                   source=source_for(request, impl.cycle))
            messages.success(request, _("Thank you: your rating is recorded."))
            return redirect("delivery:project", project_id)
        except ServiceError as exc:
            error = exc
    return render(request, "delivery/project.html", {
        "impl": impl, "project": impl.project, "cycle": impl.cycle, "d": selectors.implementation_detail(impl),
        "steps": Step.choices, "step_index": [s for s, _l in Step.choices].index(impl.step), "error": error,
        "form": request.POST if error else {"phone": request.session.get("rating_phone", "")},
        "overdue": not impl.is_finished and impl.due_on < dt.date.today()})


def progress_photo(request: HttpRequest, update_id: int) -> HttpResponse:
    update = get_object_or_404(ProgressUpdate, pk=update_id)
    if not update.photo:
        raise Http404
    return FileResponse(update.photo.open("rb"))


@login_required
def delivery_desk(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    return render(request, "delivery/desk.html", {
        "cycle": cycle, "rows": selectors.cycle_progress(cycle), "overdue": selectors.overdue(cycle),
        "steps": Step.choices, "sources": CoFunding.Source.choices, "severities": AuditFlag.Severity.choices,
        "verdicts": DeputyVerdict.Verdict.choices, "kinds": ParticipationCost.Kind.choices,
        "cost": selectors.participation_cost(cycle)})


@login_required
@require_POST
def delivery_desk_action(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    action = request.POST.get("action")
    impl = None
    if is_number(request.POST.get("implementation")):
        impl = get_object_or_404(Implementation.objects.select_related("project__street", "project__community",
                                                                       "cycle__district"),
                                 pk=request.POST["implementation"], cycle=cycle)
    p = request.POST
    try:
        if action == "open":
            done = services.implementations_open(actor=request.user, cycle=cycle)
            messages.success(request, _("%(n)d implementations opened.") % {"n": len(done)})
        elif action == "cost":
            services.cost_record(actor=request.user, cycle=cycle, kind=p.get("kind", ""),
                                 description=p.get("description", ""), amount_yuan=p.get("amount_yuan"),
                                 hours=p.get("hours"))
        elif impl is None:
            raise ServiceError(_("Choose a project."), field="implementation")
        elif action == "advance":
            services.implementation_advance(actor=request.user, implementation=impl, step=p.get("step", ""),
                                            note=p.get("note", ""), contract_ends_on=_date(p.get("contract_ends_on")),
                                            acceptance_group=p.get("acceptance_group", ""))
        elif action == "progress":
            services.progress_add(actor=request.user, implementation=impl, text=p.get("text", ""),
                                  percent=p.get("percent"), photo=request.FILES.get("photo"))
        elif action == "spend":
            services.spending_record(actor=request.user, implementation=impl, amount_yuan=p.get("amount_yuan"),
                                     payee=p.get("payee", ""), description=p.get("description", ""),
                                     spent_on=_date(p.get("spent_on")))
        elif action == "change":
            services.allocation_change_approve(actor=request.user, implementation=impl, to_yuan=p.get("to_yuan"),
                                               reason=p.get("reason", ""))
        elif action == "cofund":
            received = _date(p.get("received_on"))
            if received is None:
                raise ServiceError(_("Give the date the money was received."), field="received_on")
            services.cofunding_record(actor=request.user, implementation=impl, source=p.get("source", ""),
                                      funder=p.get("funder", ""), amount_yuan=p.get("amount_yuan"),
                                      received_on=received)
        elif action == "report":
            services.report_add(actor=request.user, cycle=cycle, implementation=impl, evaluator=p.get("evaluator", ""),
                                score=p.get("score"), summary=p.get("summary", ""))
        elif action == "flag":
            services.flag_raise(actor=request.user, implementation=impl, severity=p.get("severity", ""),
                                finding=p.get("finding", ""))
        elif action == "resolve_flag":
            flag = get_object_or_404(AuditFlag, pk=p.get("flag") if is_number(p.get("flag")) else 0,
                                     implementation=impl)
            services.flag_resolve(actor=request.user, flag=flag, resolution=p.get("resolution", ""))
        elif action == "verdict":
            services.verdict_record(actor=request.user, implementation=impl, deputy=p.get("deputy", ""),
                                    verdict=p.get("verdict", ""))
        else:
            raise Http404
        if action not in {"open"}:
            messages.success(request, _("Saved."))
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("delivery:desk", cycle.pk)
