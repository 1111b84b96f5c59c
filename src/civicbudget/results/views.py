"""Publication pages (public) and the reply desk (staff): parse, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicbudget.accounts.permissions import (
    cycle_staff_require,
    staff_member_require,
)
from civicbudget.clientaddr import client_address
from civicbudget.cycles.models import Cycle
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.params import is_number
from civicbudget.proposals.selectors import proposal_by_code
from civicbudget.results import selectors, services
from civicbudget.results.models import FinalState, Objection, OutboxMessage, Publication


def _cycle(cycle_id: int) -> Cycle:
    cycle = Cycle.objects.select_related("district").prefetch_related("stages").filter(pk=cycle_id).first()
    if cycle is None:
        raise Http404
    return cycle


def publication_page(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Results on notice, the objections with their answers, and the final states."""
    cycle = _cycle(cycle_id)
    form_error = None
    if request.method == "POST":
        publication = get_object_or_404(Publication, pk=request.POST.get("publication") or 0, cycle=cycle)
        try:
            services.objection_file(publication=publication, name=request.POST.get("name", ""),
                                    text=request.POST.get("text", ""), phone=request.POST.get("phone", ""),
                                    client=client_address(request))
        except PermissionDenied:
            raise  # a 403 (web.middleware), not a message on a redirect
        except ServiceError as exc:
            form_error = exc
        else:
            messages.success(request, _("Your objection is recorded; the answer will be published here."))
            return redirect("results:publication", cycle.pk)
    pubs = selectors.publications(cycle)
    rows = []
    for p in pubs:
        names = {x["id"]: x["name"] for x in p.scope.spec.get("projects", [])}
        result = getattr(p.scope, "result", None)
        rows.append({"publication": p, "is_open": p.is_open(),
                     "winners": [names.get(w, w) for w in (result.winners if result else [])]})
    lookup = None
    code = request.GET.get("code", "").strip()
    if code:
        proposal = proposal_by_code(code)
        lookup = selectors.reply_for_proposal(proposal) if proposal and proposal.cycle_id == cycle.pk else False
    return render(request, "results/publication.html", {
        "cycle": cycle, "rows": rows, "objections": selectors.objections(cycle), "form_error": form_error,
        "form": request.POST if form_error else {}, "counts": selectors.outcome_counts(cycle),
        "states": FinalState.choices, "lookup": lookup, "code": code, "now": timezone.now()})


@login_required
def reply_desk(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    return render(request, "results/desk.html", {
        "cycle": cycle, "counts": selectors.outcome_counts(cycle), "states": FinalState.choices,
        "outbox": selectors.outbox_counts(cycle), "objections": selectors.objections(cycle),
        # the outbox counts are keyed by stored codes; the page shows their names
        "channels": dict(OutboxMessage.Channel.choices), "statuses_shown": dict(OutboxMessage.Status.choices),
        "communities": cycle.communities.select_related("street").order_by("street__name", "name")})


@login_required
@require_POST
def reply_desk_action(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    action = request.POST.get("action")
    try:
        if action == "publish":
            done = services.results_publish(actor=request.user, cycle=cycle)
            messages.success(request, _("%(n)d results put on notice.") % {"n": len(done)})
        elif action == "decide":
            n = services.outcomes_decide(actor=request.user, cycle=cycle)
            m = services.replies_prepare(actor=request.user, cycle=cycle)
            messages.success(request, _("%(n)d final states decided, %(m)d replies queued.") % {"n": n, "m": m})
        elif action == "work":
            done = services.outbox_work(actor=request.user, cycle=cycle)
            messages.success(request, _("Sent %(sent)d, retrying %(retrying)d, failed %(failed)d.") % done)
        elif action == "answer":
            objection = get_object_or_404(Objection, pk=request.POST.get("objection") or 0, publication__cycle=cycle)
            services.objection_answer(actor=request.user, objection=objection, answer=request.POST.get("answer", ""))
            messages.success(request, _("The answer is published."))
        elif action == "letters":
            community = request.POST.get("community") or None
            pdf = services.letters_print(actor=request.user, cycle=cycle,
                                         community_id=int(community) if community and is_number(community) else None)
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = f'attachment; filename="letters-cycle{cycle.pk}-{community or "all"}.pdf"'
            return response
        else:
            raise Http404
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("results:desk", cycle.pk)
