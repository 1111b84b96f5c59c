"""API endpoints for proposals and projects."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from civicbudget.api.auth import StaffAuth
from civicbudget.clientaddr import client_address
from civicbudget.cycles.models import Cycle
from civicbudget.errors import NotFound, ServiceError
from civicbudget.proposals import selectors, services
from civicbudget.proposals.models import Channel, MergeOperation, Project, Proposal
from civicbudget.proposals.services import ProposalInput

router = Router(tags=["proposals"])
PROPOSALS_WRITE = StaffAuth("proposals:write")


class ProposalIn(Schema):
    community_id: int
    text: str
    title: str = ""
    project_type: str = "works"
    theme: str = ""
    address: str = ""
    proposer_name: str
    phone: str = ""
    proposer_kind: str = "resident"
    channel: str = "online"
    phone_code: str = ""  # the SMS code from POST /api/phone-codes: confirms the phone


class ProposalReceipt(Schema):
    tracking_code: str
    submitted_at: dt.datetime


class TrackStepOut(Schema):
    label: str
    detail: str
    done: bool


class ProjectRef(Schema):
    id: int
    name: str
    proposal_count: int


class TrackOut(Schema):
    tracking_code: str
    title: str
    community: str
    street: str
    submitted_at: dt.datetime
    project: ProjectRef | None
    steps: list[TrackStepOut]


class ProjectOut(Schema):
    id: int
    name: str
    description: str
    level: str
    street_id: int
    community_id: int | None
    project_type: str
    proposal_count: int


class StaffProposalOut(Schema):
    id: int
    tracking_code: str
    community_id: int
    title: str
    text: str
    channel: str
    proposer_kind: str
    phone_masked: str
    phone_confirmed: bool
    phone_unconfirmed: bool
    project_id: int | None
    submitted_at: dt.datetime


class GroupIn(Schema):
    proposal_ids: list[int]
    name: str
    description: str = ""


class MoveIn(Schema):
    proposal_ids: list[int]
    project_id: int


class MergeIn(Schema):
    target_id: int
    other_ids: list[int]


class SplitIn(Schema):
    proposal_ids: list[int]
    name: str = ""


class OperationOut(Schema):
    id: int
    kind: str
    moved: int


def _cycle(cycle_id: int) -> Cycle:
    cycle = Cycle.objects.prefetch_related("stages").filter(pk=cycle_id).first()
    if cycle is None:
        raise NotFound(f"No cycle {cycle_id}.")
    return cycle


class PhoneIn(Schema):
    phone: str


@router.post("/phone-codes", response={202: dict})
def phone_code_send(request: HttpRequest, payload: PhoneIn):
    """Text a one-time code to a mobile number; give it back as ``phone_code`` with a proposal
    to confirm the phone. Limited per number and per client address (429 ``rate_limited``)."""
    from civicbudget.voting.services import otp_send

    otp_send(phone=payload.phone, client=client_address(request))
    return Status(202, {"code_sent": True})


# Residents post without logging in; staff (session with its CSRF token, or an API token with
# proposals:write) enter proposals of any channel.
@router.post("/cycles/{cycle_id}/proposals", response={201: ProposalReceipt},
             auth=StaffAuth("proposals:write", optional=True))
def proposal_create(request: HttpRequest, cycle_id: int, payload: ProposalIn):
    """Submit a proposal: residents online (no login), or staff for any channel (logged in)."""
    staff = request.auth if request.auth.is_authenticated else None
    fields = payload.dict()
    phone_code = fields.pop("phone_code", "")
    proposal = services.proposal_submit(
        cycle=_cycle(cycle_id), entered_by=staff,
        data=ProposalInput(**fields) if staff else ProposalInput(**{**fields, "channel": Channel.ONLINE}),
        client_id=client_address(request), phone_code=phone_code,
        site_url=request.build_absolute_uri("/"),
    )
    return Status(201, {"tracking_code": proposal.tracking_code, "submitted_at": proposal.submitted_at})


@router.get("/proposals/track/{code}", response=TrackOut)
def proposal_track(request: HttpRequest, code: str):
    """Where a proposal stands, by its tracking code (no personal data in the answer)."""
    proposal = selectors.proposal_by_code(code)
    if proposal is None:
        raise NotFound("No proposal has this tracking code.")
    project = proposal.project if proposal.project_id and proposal.project.is_active else None
    return {
        "tracking_code": proposal.tracking_code, "title": proposal.title,
        "community": proposal.community.name, "street": proposal.street.name,
        "submitted_at": proposal.submitted_at,
        "project": {"id": project.pk, "name": project.name,
                    "proposal_count": project.proposals.count()} if project else None,
        "steps": [s.__dict__ for s in selectors.proposal_timeline(proposal)],
    }


@router.get("/cycles/{cycle_id}/projects", response=list[ProjectOut])
def projects_list(request: HttpRequest, cycle_id: int, community_id: int | None = None):
    """Active projects of a cycle with how many proposals each gathers."""
    return list(selectors.project_list(_cycle(cycle_id), community_id=community_id))


@router.get("/projects/{project_id}", response=ProjectOut)
def project_get(request: HttpRequest, project_id: int):
    project = selectors.project_list(get_object_or_404(Project, pk=project_id).cycle).filter(
        pk=project_id).first()
    if project is None:
        raise NotFound(f"No active project {project_id}.")
    return project


@router.get("/cycles/{cycle_id}/proposals", response=list[StaffProposalOut], auth=StaffAuth("read"))
def proposals_list(request: HttpRequest, cycle_id: int, community_id: int,
                   unassigned: bool = False, limit: Annotated[int, Field(ge=1, le=1000)] = 200,
                   offset: Annotated[int, Field(ge=0, le=10**9)] = 0):
    """Proposals of one community, for staff whose role covers it (phones masked)."""
    from civicbudget.accounts.permissions import permission_require
    from civicbudget.places.models import Community

    cycle = _cycle(cycle_id)
    community = get_object_or_404(Community.objects.select_related("street"), pk=community_id)
    permission_require(request.user, "view_staff", community, cycle)
    qs = selectors.proposals_in_scope(cycle, community_id=community.pk, unassigned_only=unassigned)
    return list(qs.order_by("submitted_at", "id")[offset:offset + limit])


def _op(op: MergeOperation | None) -> dict:
    return {"id": op.pk, "kind": op.kind, "moved": len(op.moves)} if op else {}


@router.post("/cycles/{cycle_id}/projects", response={201: ProjectOut}, auth=PROPOSALS_WRITE)
def project_create(request: HttpRequest, cycle_id: int, payload: GroupIn):
    """Create a project from proposals (merge workbench)."""
    cycle = _cycle(cycle_id)
    project = services.project_create(actor=request.user, cycle=cycle,
                                      proposal_ids=payload.proposal_ids, name=payload.name,
                                      description=payload.description)
    return Status(201, selectors.project_list(cycle).get(pk=project.pk))


@router.post("/cycles/{cycle_id}/merge/move", response=OperationOut, auth=PROPOSALS_WRITE)
def merge_move(request: HttpRequest, cycle_id: int, payload: MoveIn):
    cycle = _cycle(cycle_id)
    project = get_object_or_404(Project, pk=payload.project_id, cycle=cycle)
    return _op(services.proposals_move(actor=request.user, cycle=cycle,
                                       proposal_ids=payload.proposal_ids, project=project))


@router.post("/cycles/{cycle_id}/merge/projects", response=OperationOut, auth=PROPOSALS_WRITE)
def merge_projects(request: HttpRequest, cycle_id: int, payload: MergeIn):
    cycle = _cycle(cycle_id)
    target = get_object_or_404(Project, pk=payload.target_id, cycle=cycle)
    others = list(Project.objects.filter(cycle=cycle, pk__in=payload.other_ids))
    return _op(services.projects_merge(actor=request.user, cycle=cycle, target=target, others=others))


@router.post("/cycles/{cycle_id}/merge/split", response={200: ProjectOut | None}, auth=PROPOSALS_WRITE)
def merge_split(request: HttpRequest, cycle_id: int, payload: SplitIn):
    cycle = _cycle(cycle_id)
    project = services.proposals_split(actor=request.user, cycle=cycle,
                                       proposal_ids=payload.proposal_ids, name=payload.name)
    return selectors.project_list(cycle).get(pk=project.pk) if project else None


@router.post("/merge-operations/{operation_id}/undo", response=OperationOut, auth=PROPOSALS_WRITE)
def merge_undo(request: HttpRequest, operation_id: int):
    op = get_object_or_404(MergeOperation, pk=operation_id)
    return _op(services.merge_undo(actor=request.user, operation=op))


# -- suggestions (merge workbench) -------------------------------------------------------------
# Seeing suggestions takes a role that may merge at the community, at any stage (as on the
# workbench and the quick-entry page); acting on them ("not the same") takes the merge stage.

MAX_IDS = 500
Ids = Annotated[list[Annotated[int, Field(ge=1, le=2**63 - 1)]], Field(max_length=MAX_IDS)]


class ProjectName(Schema):
    id: int
    name: str


class ProposalSuggestionOut(Schema):
    project: ProjectName | None  # None: a loose proposal (``proposals`` holds its id)
    proposals: list[int]
    score: float
    place: str
    same_place: bool
    phrases: list[str]
    reasons: list[str]


class MergeSuggestionOut(Schema):
    key: str
    name: str
    project: ProjectName | None  # set: move ``proposals`` into it; None: make a project of them
    proposals: list[int]  # the loose proposals
    members: list[int]  # proposals of ``project`` they were found with
    reasons: list[str]


class MergeSuggestionPage(Schema):
    total: int
    items: list[MergeSuggestionOut]


class DismissIn(Schema):
    proposal_ids: Annotated[Ids, Field(min_length=1)]
    member_ids: Ids = []


def _see_merge(request: HttpRequest, community, cycle: Cycle) -> None:
    from civicbudget.accounts.permissions import permission_require

    permission_require(request.user, "merge", community, cycle, any_stage=True)


def _ref(project: Project | None) -> dict | None:
    return {"id": project.pk, "name": project.name} if project else None


@router.get("/proposals/{proposal_id}/suggestions", response=list[ProposalSuggestionOut],
            auth=StaffAuth("read"))
def proposal_suggestions(request: HttpRequest, proposal_id: int):
    """The projects and loose proposals of its community a proposal may be the same as
    (best first, at most 5), for staff whose role may merge there."""
    proposal = (Proposal.objects.select_related("cycle", "community__street__district")
                .filter(pk=proposal_id).first())
    if proposal is None:
        raise NotFound(f"No proposal {proposal_id}.")
    _see_merge(request, proposal.community, proposal.cycle)
    return [{"project": _ref(m.target), "proposals": [p.pk for p in m.proposals],
             "score": m.score, "place": m.place, "same_place": m.same_place,
             "phrases": list(m.phrases), "reasons": m.reasons}
            for m in selectors.proposal_suggestions(proposal)]


def _community(cycle: Cycle, community_id: int):
    community = (cycle.communities.select_related("street__district")
                 .filter(pk=community_id).first())
    if community is None:
        raise NotFound(f"Community {community_id} does not take part in cycle {cycle.pk}.")
    return community


@router.get("/cycles/{cycle_id}/communities/{community_id}/merge-suggestions",
            response=MergeSuggestionPage, auth=StaffAuth("read"))
def merge_suggestions(request: HttpRequest, cycle_id: int, community_id: int,
                      limit: Annotated[int, Field(ge=1, le=500)] = 100,
                      offset: Annotated[int, Field(ge=0, le=10**9)] = 0):
    """The workbench's suggested groups of one community, largest first."""
    cycle = _cycle(cycle_id)
    community = _community(cycle, community_id)
    _see_merge(request, community, cycle)
    found = selectors.merge_suggestions(cycle, community_id=community.pk)
    return {"total": len(found), "items": [
        {"key": s.key, "name": s.name, "project": _ref(s.target),
         "proposals": [p.pk for p in s.proposals], "members": [p.pk for p in s.members],
         "reasons": s.reasons}
        for s in found[offset:offset + limit]]}


@router.post("/cycles/{cycle_id}/communities/{community_id}/merge-suggestions/dismiss",
             response={201: OperationOut}, auth=PROPOSALS_WRITE)
def merge_suggestion_dismiss(request: HttpRequest, cycle_id: int, community_id: int,
                             payload: DismissIn):
    """"Not the same": ``proposal_ids`` (loose) are no longer suggested together, nor with the
    project proposals ``member_ids`` (an undoable operation of the history)."""
    from civicbudget.accounts.permissions import permission_require

    cycle = _cycle(cycle_id)
    community = _community(cycle, community_id)
    permission_require(request.user, "merge", community, cycle)
    for name, ids in (("proposal_ids", payload.proposal_ids), ("member_ids", payload.member_ids)):
        found = set(Proposal.objects.filter(cycle=cycle, community=community, pk__in=ids)
                    .values_list("pk", flat=True))
        missing = sorted(set(ids) - found)
        if missing:
            raise ServiceError(
                _("%(field)s: proposals %(ids)s are not proposals of this community in this cycle.")
                % {"field": name, "ids": ", ".join(map(str, missing[:10]))}, field=name)
    try:
        op = services.suggestion_dismiss(actor=request.user, cycle=cycle,
                                         proposal_ids=payload.proposal_ids,
                                         member_ids=payload.member_ids)
    except ServiceError as exc:
        if exc.field == "proposals":  # the web form's name; here the body's
            exc.field = "proposal_ids"
        raise
    return Status(201, _op(op))
