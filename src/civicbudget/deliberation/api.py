"""API endpoints of the deliberation steps: parse, call one service or selector, shape the answer."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema

from civicbudget.api.auth import StaffAuth
from civicbudget.cycles.models import Cycle
from civicbudget.deliberation import selectors, services
from civicbudget.deliberation.models import Ballot, Body, Review, Sitting, criterion_label
from civicbudget.errors import NotFound, ServiceError
from civicbudget.places.models import Community, Department, Street
from civicbudget.places.selectors import place_by_level
from civicbudget.proposals.models import Project

router = Router(tags=["deliberation"])
DELIBERATION_WRITE = StaffAuth("deliberation:write")


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None
    details: list[dict] = []


ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class BallotItemOut(Schema):
    project_id: int
    name: str
    cost_yuan: int


class BallotOut(Schema):
    id: int
    cycle_id: int
    level: str
    street_id: int
    community_id: int | None
    scope_name: str
    rule: str
    max_choices: int | None
    points: int | None
    budget_yuan: int
    frozen_at: dt.datetime | None
    items: list[BallotItemOut]


class CriterionResult(Schema):
    passed: bool
    reason: str = ""


class ScreeningIn(Schema):
    results: dict[str, CriterionResult]


class ScreeningOut(Schema):
    project_id: int
    is_passed: bool
    reason_code: str
    reason: str


class RouteIn(Schema):
    department_ids: list[int]


class ReviewOut(Schema):
    id: int
    project_id: int
    department: str
    due_on: dt.date
    opinion: str
    estimated_cost_yuan: int | None
    notes: str


class ReviewIn(Schema):
    opinion: str
    estimated_cost_yuan: int | str | None = None
    notes: str = ""


class CostIn(Schema):
    cost_yuan: int | str
    reason: str = ""


class CostOut(Schema):
    project_id: int
    cost_yuan: int
    set_at: dt.datetime


class PromoteIn(Schema):
    reason: str
    note: str = ""


class RoundtableIn(Schema):
    community_id: int
    held_on: dt.date
    participant_count: int
    stickers: dict[int, int]
    promote_votes: dict[int, int] = {}
    participants: str = ""
    notes: str = ""


class RoundtableOut(Schema):
    id: int
    shortlisted: list[int]


class PrepareIn(Schema):
    level: str
    place_id: int


class RuleIn(Schema):
    rule: str
    max_choices: int | None = None
    points: int | None = None


class BodyIn(Schema):
    kind: str
    name: str
    members: list[list[str]]
    street_id: int | None = None
    community_id: int | None = None


class BodyOut(Schema):
    id: int
    member_ids: list[int]


class SittingIn(Schema):
    attendee_ids: list[int]
    project_ids: list[int]
    held_at: dt.datetime
    round: str = ""


class VoteIn(Schema):
    member_id: int
    project_ids: list[int]


class MinutesIn(Schema):
    minutes: str


class SittingResultOut(Schema):
    project_id: int
    yes: int
    present: int
    rank: int
    is_passed: bool


class SittingOut(Schema):
    id: int
    closed_at: dt.datetime | None
    notice_until: dt.datetime | None
    results: list[SittingResultOut]


class ProjectRef(Schema):
    id: int
    name: str


def _ballot_out(view) -> dict:
    return {**{k: getattr(view, k) for k in (
        "id", "cycle_id", "level", "street_id", "community_id", "scope_name", "rule",
        "max_choices", "points", "budget_yuan", "frozen_at")},
        "items": [i.__dict__ for i in view.items]}


def _sitting_out(sitting: Sitting) -> dict:
    return {"id": sitting.pk, "closed_at": sitting.closed_at, "notice_until": sitting.notice_until,
            "results": [{"project_id": r.project_id, "yes": r.yes, "present": r.present,
                         "rank": r.rank, "is_passed": r.is_passed} for r in sitting.results.all()]}


# -- public -----------------------------------------------------------------------------------


@router.get("/cycles/{cycle_id}/ballot-lists", response=list[BallotOut])
def cycle_ballots(request: HttpRequest, cycle_id: int):
    """List the cycle's frozen (published) ballots, one per scope."""
    return [_ballot_out(b) for b in selectors.ballots_for_cycle(get_object_or_404(Cycle, pk=cycle_id))]


@router.get("/ballot-lists/{ballot_id}", response={200: BallotOut, **ERRORS})
def ballot_get(request: HttpRequest, ballot_id: int):
    """Return a published ballot: projects with final costs, rule, budget, freeze time."""
    view = selectors.ballot_by_id(ballot_id)
    if view is None or not view.is_frozen:
        raise NotFound(_("No published ballot %(id)s.") % {"id": ballot_id})
    return _ballot_out(view)


@router.get("/cycles/{cycle_id}/screening")
def cycle_screening(request: HttpRequest, cycle_id: int):
    """The published criteria, the screening summary and each screened project's result."""
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    rows = selectors.deliberation_projects(cycle)
    return {
        "criteria": [{"key": k, "label": criterion_label(k)} for k in services.screening_criteria(cycle)],
        "summary": selectors.screening_summary(cycle),
        "projects": [{"id": r.project.pk, "name": r.project.name, "level": r.project.level,
                      "passed": r.screening.is_passed if r.screening else None,
                      "reason_code": r.screening.reason_code if r.screening else "",
                      "reason": r.screening.reason if r.screening else "",
                      "cost_yuan": r.cost_yuan} for r in rows],
    }


@router.get("/cycles/{cycle_id}/decided", response=list[ProjectRef])
def cycle_decided(request: HttpRequest, cycle_id: int):
    """The projects the deciding bodies passed (council models)."""
    return [{"id": p.pk, "name": p.name}
            for p in selectors.decided_projects(get_object_or_404(Cycle, pk=cycle_id))]


# -- staff ------------------------------------------------------------------------------------


def _project(project_id: int) -> Project:
    return get_object_or_404(Project.objects.select_related("cycle__district", "street", "community"),
                             pk=project_id)


@router.post("/projects/{project_id}/screening", response={200: ScreeningOut, **ERRORS}, auth=DELIBERATION_WRITE)
def project_screen(request: HttpRequest, project_id: int, payload: ScreeningIn):
    """Record pass/fail with a reason for every criterion of the cycle."""
    s = services.screening_record(actor=request.user, project=_project(project_id),
                                  results={k: (v.passed, v.reason) for k, v in payload.results.items()})
    return {"project_id": project_id, "is_passed": s.is_passed, "reason_code": s.reason_code,
            "reason": s.reason}


@router.post("/projects/{project_id}/reviews", response={200: list[ReviewOut], **ERRORS}, auth=DELIBERATION_WRITE)
def project_route(request: HttpRequest, project_id: int, payload: RouteIn):
    """Route a project to departments; each review is due in the cycle's working days."""
    project = _project(project_id)
    departments = list(Department.objects.filter(pk__in=payload.department_ids))
    if len(departments) != len(set(payload.department_ids)):
        raise ServiceError(_("Unknown department."), field="department_ids")
    reviews = services.review_route(actor=request.user, project=project, departments=departments)
    return [_review_out(r) for r in reviews]


def _review_out(r: Review) -> dict:
    return {"id": r.pk, "project_id": r.project_id, "department": r.department.name,
            "due_on": r.due_on, "opinion": r.opinion, "estimated_cost_yuan": r.estimated_cost_yuan,
            "notes": r.notes}


@router.post("/reviews/{review_id}", response={200: ReviewOut, **ERRORS}, auth=DELIBERATION_WRITE)
def review_save(request: HttpRequest, review_id: int, payload: ReviewIn):
    """Record a department's opinion, estimate and notes (photos: the staff page)."""
    review = get_object_or_404(Review.objects.select_related("cycle", "department"), pk=review_id)
    review = services.review_record(actor=request.user, review=review, opinion=payload.opinion,
                                    estimated_cost_yuan=payload.estimated_cost_yuan, notes=payload.notes)
    return _review_out(review)


@router.post("/projects/{project_id}/cost", response={200: CostOut, **ERRORS}, auth=DELIBERATION_WRITE)
def project_cost(request: HttpRequest, project_id: int, payload: CostIn):
    """Set the project's final cost in integer yuan (its history is kept)."""
    cost = services.cost_set(actor=request.user, project=_project(project_id),
                             amount_yuan=payload.cost_yuan, reason=payload.reason)
    return {"project_id": project_id, "cost_yuan": cost.amount_yuan, "set_at": cost.set_at}


@router.post("/projects/{project_id}/promote", response={200: ProjectRef, **ERRORS}, auth=DELIBERATION_WRITE)
def project_promote(request: HttpRequest, project_id: int, payload: PromoteIn):
    """Move a community project to the street pool (roundtable vote, cost, several communities)."""
    project = _project(project_id)
    services.project_promote(actor=request.user, project=project, reason=payload.reason, note=payload.note)
    return {"id": project.pk, "name": project.name}


@router.post("/cycles/{cycle_id}/roundtables", response={200: RoundtableOut, **ERRORS}, auth=DELIBERATION_WRITE)
def roundtable_create(request: HttpRequest, cycle_id: int, payload: RoundtableIn):
    """Record a roundtable's participants and stickers; shortlist by the cycle's rule."""
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    community = get_object_or_404(Community.objects.select_related("street"), pk=payload.community_id)
    table = services.roundtable_record(
        actor=request.user, cycle=cycle, community=community, held_on=payload.held_on,
        participant_count=payload.participant_count, stickers=payload.stickers,
        promote_votes=payload.promote_votes, participants=payload.participants, notes=payload.notes)
    return {"id": table.pk, "shortlisted": sorted(table.tallies.filter(is_shortlisted=True)
                                                  .values_list("project_id", flat=True))}


@router.post("/cycles/{cycle_id}/ballot-lists", response={200: BallotOut, **ERRORS}, auth=DELIBERATION_WRITE)
def ballot_prepare(request: HttpRequest, cycle_id: int, payload: PrepareIn):
    """Build (or rebuild) the draft ballot of a street or community pool."""
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    place = place_by_level(payload.level, payload.place_id)
    ballot = services.ballot_prepare(actor=request.user, cycle=cycle, place=place)
    return _ballot_out(selectors.ballot_by_id(ballot.pk))


@router.post("/ballot-lists/{ballot_id}/rule", response={200: BallotOut, **ERRORS}, auth=DELIBERATION_WRITE)
def ballot_rule(request: HttpRequest, ballot_id: int, payload: RuleIn):
    """Set a draft ballot's voting rule; refused once frozen."""
    ballot = get_object_or_404(Ballot, pk=ballot_id)
    services.ballot_set_rule(actor=request.user, ballot=ballot, rule=payload.rule,
                             max_choices=payload.max_choices, points=payload.points)
    return _ballot_out(selectors.ballot_by_id(ballot.pk))


@router.post("/ballot-lists/{ballot_id}/freeze", response={200: BallotOut, **ERRORS}, auth=DELIBERATION_WRITE)
def ballot_freeze(request: HttpRequest, ballot_id: int):
    """Freeze and publish a ballot; afterwards every change to it is refused."""
    ballot = get_object_or_404(Ballot, pk=ballot_id)
    services.ballot_freeze(actor=request.user, ballot=ballot)
    return _ballot_out(selectors.ballot_by_id(ballot.pk))


@router.post("/cycles/{cycle_id}/bodies", response={200: BodyOut, **ERRORS}, auth=DELIBERATION_WRITE)
def body_create(request: HttpRequest, cycle_id: int, payload: BodyIn):
    """Create a deciding body with members ([name, capacity] pairs)."""
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    street = get_object_or_404(Street, pk=payload.street_id) if payload.street_id else None
    community = (get_object_or_404(Community.objects.select_related("street"), pk=payload.community_id)
                 if payload.community_id else None)
    body = services.body_create(actor=request.user, cycle=cycle, kind=payload.kind, name=payload.name,
                                members=[(m[0] if m else "", m[1] if len(m) > 1 else "")
                                         for m in payload.members],
                                street=street, community=community)
    return {"id": body.pk, "member_ids": list(body.members.values_list("pk", flat=True))}


@router.post("/bodies/{body_id}/sittings", response={200: SittingOut, **ERRORS}, auth=DELIBERATION_WRITE)
def sitting_create(request: HttpRequest, body_id: int, payload: SittingIn):
    """Open a sitting with its attendance (quorum: more than half the members)."""
    body = get_object_or_404(Body.objects.select_related("cycle__district"), pk=body_id)
    sitting = services.sitting_open(actor=request.user, body=body, attendee_ids=payload.attendee_ids,
                                    project_ids=payload.project_ids, held_at=payload.held_at,
                                    round=payload.round)
    return _sitting_out(sitting)


@router.post("/sittings/{sitting_id}/votes", response={200: SittingOut, **ERRORS}, auth=DELIBERATION_WRITE)
def sitting_vote(request: HttpRequest, sitting_id: int, payload: VoteIn):
    """Record one present member's yes votes."""
    sitting = get_object_or_404(Sitting.objects.select_related("body__cycle__district"), pk=sitting_id)
    services.sitting_vote(actor=request.user, sitting=sitting, member_id=payload.member_id,
                          project_ids=payload.project_ids)
    return _sitting_out(sitting)


@router.post("/sittings/{sitting_id}/close", response={200: SittingOut, **ERRORS}, auth=DELIBERATION_WRITE)
def sitting_close(request: HttpRequest, sitting_id: int, payload: MinutesIn):
    """Count, publish minutes and result, start the notice period."""
    sitting = get_object_or_404(Sitting.objects.select_related("body__cycle__district"), pk=sitting_id)
    return _sitting_out(services.sitting_close(actor=request.user, sitting=sitting,
                                               minutes=payload.minutes))
