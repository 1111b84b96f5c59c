"""Deliberation pages: public (四公开: what was decided and why) and the staff forms.

Staff forms post to one dispatcher per page that parses, calls one service and redirects
back with the service's message; refusals come back as the service worded them.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicbudget.accounts.permissions import (
    active_assignments,
    cycle_staff_require,
    is_staff_member,
    permission_check,
    scopes_for,
    staff_member_require,
)
from civicbudget.audit.services import audit_record
from civicbudget.cycles.models import Cycle
from civicbudget.cycles.selectors import cycle_pools_by_street
from civicbudget.deliberation import selectors, services
from civicbudget.deliberation.division import theme_division, theme_division_set
from civicbudget.deliberation.models import (
    Ballot,
    Body,
    Promotion,
    Review,
    Sitting,
    criterion_label,
)
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.params import is_number, query_int
from civicbudget.places.models import Community, Department, Street
from civicbudget.proposals.models import Project


def _cycle(cycle_id: int) -> Cycle:
    try:
        return Cycle.objects.select_related("district").prefetch_related("stages").get(pk=cycle_id)
    except Cycle.DoesNotExist as exc:
        raise Http404 from exc


def _criteria(cycle: Cycle) -> list[dict]:
    return [{"key": k, "label": criterion_label(k)} for k in services.screening_criteria(cycle)]


# -- public ------------------------------------------------------------------------------------


def public_page(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """What was screened, reviewed, costed, shortlisted, promoted, decided, and why."""
    cycle = _cycle(cycle_id)
    street_id = query_int(request, "street")
    community_id = query_int(request, "community")
    outcome = request.GET.get("outcome", "")
    if outcome not in selectors.DELIBERATION_OUTCOMES:
        outcome = ""
    # Thousands of projects in a district: one page of them at a time, filters kept.
    page = selectors.deliberation_project_page(
        cycle, page=query_int(request, "page", maximum=10**6), street_id=street_id,
        community_id=community_id, outcome=outcome)
    return render(request, "deliberation/public.html", {
        "cycle": cycle, "criteria": _criteria(cycle), "rows": page.object_list, "page": page,
        "summary": selectors.screening_summary(cycle),
        "streets": cycle.streets.order_by("code", "name"), "street_id": street_id,
        "communities": cycle.communities.select_related("street").order_by("street__code", "name"),
        "community_id": community_id, "outcome": outcome,
        "roundtables": selectors.roundtables(cycle), "promotions": selectors.promotions(cycle),
        "bodies": selectors.bodies(cycle), "ballots": selectors.ballots_for_cycle(cycle),
        "decided": selectors.decided_projects(cycle),
    })


def ballot_page(request: HttpRequest, ballot_id: int) -> HttpResponse:
    """A published ballot; a draft is not public."""
    ballot = selectors.ballot_by_id(ballot_id)
    if ballot is None or not ballot.is_frozen:
        raise Http404
    cycle = _cycle(ballot.cycle_id)
    return render(request, "deliberation/ballot.html", {
        "cycle": cycle, "ballot": ballot, "rule_label": Ballot.Rule(ballot.rule).label,
        "total_yuan": sum(i.cost_yuan for i in ballot.items),
    })


# -- staff -------------------------------------------------------------------------------------


def _staff(request: HttpRequest) -> HttpResponse | None:
    if is_staff_member(request.user) or request.user.is_superuser:
        return None
    audit_record(request.user, "staff_page", None, outcome="denied", message=request.path[:200])
    return HttpResponseForbidden(_("This page is for staff with a role."))


def _in_scope(request: HttpRequest, action: str, cycle: Cycle, path: str) -> bool:
    return any(path.startswith(p) for p in scopes_for(request.user, action))


@login_required
def staff_page(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Projects of the officer's places with screening, reviews and cost; ballots per pool."""
    if (denied := _staff(request)) is not None:
        return denied
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    paths = scopes_for(request.user, "screen") + scopes_for(request.user, "deliberate")
    rows = [r for r in selectors.deliberation_projects(cycle)
            if any(_project_path(r.project).startswith(p) for p in paths)]
    pools = []
    ballots = {(b.level, b.street_id, b.community_id): b
               for b in Ballot.objects.filter(cycle=cycle).prefetch_related("items")}
    for row in cycle_pools_by_street(cycle):
        street = row["street"]
        if row["pool"] is not None and _in_scope(request, "screen", cycle, _place_path(street)):
            pools.append({"place": street, "level": "street", "pool": row["pool"],
                          "ballot": ballots.get(("street", street.pk, None))})
        for c in row["communities"]:
            if c["pool"] is not None and _in_scope(request, "screen", cycle, _place_path(c["community"])):
                pools.append({"place": c["community"], "level": "community", "pool": c["pool"],
                              "ballot": ballots.get(("community", street.pk, c["community"].pk))})
    street_ids = {s.pk for s in cycle.streets.all()
                  if any(_place_path(s).startswith(p) or p.startswith(_place_path(s))
                         for p in scopes_for(request.user, "screen"))}
    overdue = [r for r in selectors.overdue_reviews(cycle) if r.project.street_id in street_ids]
    return render(request, "deliberation/staff/cycle.html", {
        "cycle": cycle, "rows": rows, "pools": pools, "overdue": overdue,
        "rules": Ballot.Rule.choices, "criteria": _criteria(cycle),
        "can_screen": "screen" in cycle.allowed_actions(),
        "can_configure": permission_check(request.user, "configure", cycle.district, cycle),
        "category_bounds": services.category_bounds(cycle),
        "stakeholder_weight": services.stakeholder_weight(cycle),
        "max_stakeholder_weight": services.MAX_STAKEHOLDER_WEIGHT,
        "theme_division": theme_division(cycle),
        "communities": _my_places(request, cycle),
    })


def _place_path(place) -> str:
    from civicbudget.places.paths import place_path

    return place_path(place)


def _project_path(project: Project) -> str:
    street = project.street
    base = f"d{street.district_id}/s{street.pk}/"
    return base + (f"c{project.community_id}/" if project.community_id else "")


def _my_places(request: HttpRequest, cycle: Cycle) -> list[Community]:
    paths = scopes_for(request.user, "deliberate")
    return [c for c in cycle.communities.select_related("street").order_by("street__name", "name")
            if any(_place_path(c).startswith(p) for p in paths)]


@login_required
def staff_project(request: HttpRequest, project_id: int) -> HttpResponse:
    """Screen, route, cost and promote one project."""
    if (denied := _staff(request)) is not None:
        return denied
    project = get_object_or_404(Project.objects.select_related("cycle__district", "street",
                                                               "community"), pk=project_id)
    cycle = project.cycle
    cycle_staff_require(request.user, cycle, request.path)
    if not any(_project_path(project).startswith(p) or p.startswith(_project_path(project))
               for p in scopes_for(request.user, "screen") + scopes_for(request.user, "deliberate")):
        audit_record(request.user, "view_staff", project, outcome="denied", message=request.path[:200])
        return HttpResponseForbidden(_("This project is outside your roles."))
    screening = getattr(project, "screening", None) if hasattr(project, "screening") else None
    results = screening.results if screening else {}
    # Nothing is pre-chosen: an officer who saves without looking gets an error, not a pass.
    criteria = [{**c, "passed": results.get(c["key"], {}).get("passed"),
                 "reason": results.get(c["key"], {}).get("reason", "")} for c in _criteria(cycle)]
    return render(request, "deliberation/staff/project.html", {
        "cycle": cycle, "project": project, "screening": screening, "criteria": criteria,
        "reviews": project.reviews.select_related("department").prefetch_related("photos"),
        "departments": Department.objects.filter(district=cycle.district),
        "costs": selectors.cost_history(project), "pool": services.project_pool(project),
        "promotion": Promotion.objects.filter(project=project).first(),
        "reasons": Promotion.Reason.choices,
        "proposal_count": project.proposals.count(),
    })


@login_required
@require_POST
def staff_project_action(request: HttpRequest, project_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    project = get_object_or_404(Project.objects.select_related("cycle__district", "street",
                                                               "community"), pk=project_id)
    action = request.POST.get("action")
    try:
        if action == "screen":
            # A criterion left unanswered is left out: the service names it in its refusal.
            results = {c: (request.POST[f"pass_{c}"] == "1", request.POST.get(f"reason_{c}", ""))
                       for c in services.screening_criteria(project.cycle)
                       if request.POST.get(f"pass_{c}") in ("0", "1")}
            s = services.screening_record(actor=request.user, project=project, results=results)
            messages.success(request, _("Screening saved: passed.") if s.is_passed
                             else _("Screening saved: screened out (criterion not met: %(reason)s).")
                             % {"reason": criterion_label(s.reason_code)})
        elif action == "route":
            departments = list(Department.objects.filter(
                pk__in=[i for i in request.POST.getlist("departments") if is_number(i)]))
            reviews = services.review_route(actor=request.user, project=project,
                                            departments=departments)
            messages.success(request, _("Routed; due on %(due)s.") % {"due": reviews[0].due_on})
        elif action == "cost":
            services.cost_set(actor=request.user, project=project,
                              amount_yuan=request.POST.get("cost_yuan", ""),
                              reason=request.POST.get("reason", ""))
            messages.success(request, _("Final cost saved."))
        elif action == "promote":
            services.project_promote(actor=request.user, project=project,
                                     reason=request.POST.get("reason", ""),
                                     note=request.POST.get("note", ""))
            messages.success(request, _("Moved to the street pool."))
        else:
            raise ServiceError(_("Unknown action."))
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("deliberation:staff-project", project_id=project.pk)


@login_required
@require_POST
def staff_cycle_action(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Ballots (prepare, rule, freeze), criteria and roundtables of a cycle."""
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    action = request.POST.get("action")
    back = reverse("deliberation:staff", kwargs={"cycle_id": cycle.pk})
    try:
        if action == "criteria":
            services.screening_criteria_set(actor=request.user, cycle=cycle,
                                            criteria=request.POST.get("criteria", "").splitlines())
            messages.success(request, _("Screening criteria saved."))
        elif action == "category_bounds":
            services.category_bounds_set(actor=request.user, cycle=cycle,
                                         floors=request.POST.get("category_min", "").splitlines()[:50],
                                         caps=request.POST.get("category_max", "").splitlines()[:50])
            messages.success(request, _("Floors and caps saved."))
        elif action == "stakeholder_weight":
            weight = services.stakeholder_weight_set(actor=request.user, cycle=cycle,
                                                     weight=request.POST.get("stakeholder_weight", "")[:10])
            messages.success(request, _("Stakeholder weight saved.") if weight else
                             _("Every vote counts once."))
        elif action == "theme_division":
            theme_division_set(actor=request.user, cycle=cycle,
                               themes=request.POST.get("themes", "").splitlines()[:50],
                               rule=request.POST.get("division_rule", "")[:40])
            messages.success(request, _("Theme division saved."))
        elif action == "prepare":
            level, place_id = request.POST.get("level"), request.POST.get("place") or "0"
            model = Community if level == "community" else Street
            place = get_object_or_404(model, pk=place_id if is_number(place_id) else 0)
            ballot = services.ballot_prepare(actor=request.user, cycle=cycle, place=place)
            messages.success(request, _("Ballot of %(scope)s prepared with %(n)d projects.")
                             % {"scope": ballot, "n": ballot.items.count()})
        elif action == "rule":
            ballot = get_object_or_404(Ballot, pk=request.POST.get("ballot") or 0, cycle=cycle)
            services.ballot_set_rule(actor=request.user, ballot=ballot,
                                     rule=request.POST.get("rule", ""),
                                     max_choices=request.POST.get("max_choices"),
                                     points=request.POST.get("points"))
            messages.success(request, _("Voting rule saved."))
        elif action == "freeze":
            ballot = get_object_or_404(Ballot, pk=request.POST.get("ballot") or 0, cycle=cycle)
            services.ballot_freeze(actor=request.user, ballot=ballot)
            messages.success(request, _("Ballot of %(scope)s frozen and published.") % {"scope": ballot})
        elif action == "roundtable":
            community = get_object_or_404(Community, pk=request.POST.get("community") or 0)
            stickers, promote = {}, {}
            for key, value in request.POST.items():
                if key.startswith("stickers_") and value.strip():
                    stickers[int(key[9:])] = _int(value, "stickers")
                if key.startswith("promote_") and value.strip():
                    promote[int(key[8:])] = _int(value, "promote_votes")
            try:
                held_on = dt.date.fromisoformat(request.POST.get("held_on", ""))
            except ValueError:
                raise ServiceError(_("Give the date the roundtable was held."), field="held_on") from None
            services.roundtable_record(
                actor=request.user, cycle=cycle, community=community, held_on=held_on,
                participant_count=request.POST.get("participant_count", ""), stickers=stickers,
                participants=request.POST.get("participants", ""),
                notes=request.POST.get("notes", ""), promote_votes=promote)
            messages.success(request, _("Roundtable recorded; shortlist applied."))
            back = reverse("deliberation:staff-roundtable", kwargs={"cycle_id": cycle.pk}) + f"?community={community.pk}"
        else:
            raise ServiceError(_("Unknown action."))
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
        if action == "roundtable" and is_number(request.POST.get("community")):
            back = (reverse("deliberation:staff-roundtable", kwargs={"cycle_id": cycle.pk})
                    + f"?community={request.POST['community']}")
    return redirect(back)


def _int(value: str, field: str) -> int:
    text = value.strip()
    if not is_number(text):
        raise ServiceError(_("“%(value)s” is not a whole number.") % {"value": text[:20]}, field=field)
    return int(text)


@login_required
def staff_roundtable(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Record a community roundtable: participants and stickers per project."""
    if (denied := _staff(request)) is not None:
        return denied
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    communities = _my_places(request, cycle)
    chosen = request.GET.get("community")
    community = next((c for c in communities if str(c.pk) == chosen), communities[0] if communities else None)
    projects = (Project.objects.filter(cycle=cycle, community=community, is_active=True)
                .exclude(screening__is_passed=False).order_by("name") if community else [])
    return render(request, "deliberation/staff/roundtable.html", {
        "cycle": cycle, "communities": communities, "community": community, "projects": projects,
        "rule": services.shortlist_rule(cycle), "today": timezone.localdate().isoformat(),
        "roundtables": [r for r in selectors.roundtables(cycle) if community and r.community_id == community.pk],
    })


@login_required
def staff_reviews(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """A department reviewer's queue: opinion, estimate, notes and photos per project."""
    if (denied := _staff(request)) is not None:
        return denied
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    department_ids = [a.department_id for a in active_assignments(request.user) if a.department_id]
    if request.method == "POST":
        review = get_object_or_404(Review, pk=request.POST.get("review") or 0, cycle=cycle)
        try:
            services.review_record(actor=request.user, review=review,
                                   opinion=request.POST.get("opinion", ""),
                                   estimated_cost_yuan=request.POST.get("estimated_cost_yuan"),
                                   notes=request.POST.get("notes", ""),
                                   photos=request.FILES.getlist("photos"))
            messages.success(request, _("Review saved."))
        except PermissionDenied:
            raise  # a 403 (web.middleware), not a message on a redirect
        except ServiceError as exc:
            messages.error(request, exc.message)
        return redirect("deliberation:staff-reviews", cycle_id=cycle.pk)
    return render(request, "deliberation/staff/reviews.html", {
        "cycle": cycle, "reviews": selectors.reviews_for_departments(cycle, department_ids),
        "opinions": Review.Opinion.choices, "today": timezone.localdate(),
    })


@login_required
def staff_bodies(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Bodies, sittings (attendance, votes, minutes) and their published results."""
    if (denied := _staff(request)) is not None:
        return denied
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    if request.method == "POST":
        _bodies_action(request, cycle)
        return redirect("deliberation:staff-bodies", cycle_id=cycle.pk)
    kinds = list(cycle.config.get("bodies") or [])
    if cycle.config.get("body"):
        kinds.append(cycle.config["body"].get("kind", ""))
    return render(request, "deliberation/staff/bodies.html", {
        "cycle": cycle, "bodies": selectors.bodies(cycle), "kinds": kinds,
        "rounds": cycle.config.get("rounds") or [],
        "streets": cycle.streets.order_by("name"), "communities": _my_places(request, cycle),
        "projects": Project.objects.filter(cycle=cycle, is_active=True)
        .exclude(screening__is_passed=False).select_related("community").order_by("street_id", "name"),
    })


def _bodies_action(request: HttpRequest, cycle: Cycle) -> None:
    action = request.POST.get("action")
    try:
        if action == "body":
            place = request.POST.get("place", "")
            street = community = None
            if place.startswith("s") and is_number(place[1:]):
                street = get_object_or_404(Street, pk=place[1:], district=cycle.district)
            elif place.startswith("c") and is_number(place[1:]):
                community = get_object_or_404(Community, pk=place[1:], street__district=cycle.district)
            members = []
            for line in request.POST.get("members", "").splitlines():
                if line.strip():
                    name, _sep, capacity = line.replace("，", ",").partition(",")
                    members.append((name, capacity))
            services.body_create(actor=request.user, cycle=cycle, kind=request.POST.get("kind", ""),
                                 name=request.POST.get("name", ""), members=members,
                                 street=street, community=community)
            messages.success(request, _("Body created."))
        elif action == "open":
            body = get_object_or_404(Body, pk=request.POST.get("body") or 0, cycle=cycle)
            try:
                held_at = timezone.make_aware(dt.datetime.fromisoformat(request.POST.get("held_at", "")))
            except ValueError:
                raise ServiceError(_("Give the date and time of the sitting."), field="held_at") from None
            services.sitting_open(
                actor=request.user, body=body,
                attendee_ids=[i for i in request.POST.getlist("attendees") if is_number(i)],
                project_ids=[i for i in request.POST.getlist("projects") if is_number(i)],
                held_at=held_at, round=request.POST.get("round", ""))
            messages.success(request, _("Sitting opened."))
        elif action == "vote":
            sitting = get_object_or_404(Sitting, pk=request.POST.get("sitting") or 0, body__cycle=cycle)
            member = request.POST.get("member", "")
            services.sitting_vote(actor=request.user, sitting=sitting,
                                  member_id=int(member) if is_number(member) else 0,
                                  project_ids=[i for i in request.POST.getlist("projects") if is_number(i)])
            messages.success(request, _("Vote recorded."))
        elif action == "close":
            sitting = get_object_or_404(Sitting, pk=request.POST.get("sitting") or 0, body__cycle=cycle)
            services.sitting_close(actor=request.user, sitting=sitting,
                                   minutes=request.POST.get("minutes", ""))
            messages.success(request, _("Sitting closed; minutes and result published."))
        else:
            raise ServiceError(_("Unknown action."))
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
