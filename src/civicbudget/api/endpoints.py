"""API handlers: parse, call one service or selector, shape the answer."""

from __future__ import annotations

from typing import Annotated

from django.db import DataError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, File, NinjaAPI, UploadedFile
from ninja.errors import AuthenticationError, ValidationError

from civicbudget.accounts.permissions import scopes_for
from civicbudget.api.auth import NotAuthenticated, StaffAuth
from civicbudget.api.schemas import (
    AdvanceIn,
    AuditOut,
    CycleDetailOut,
    CycleOut,
    DistrictOut,
    DistrictTreeOut,
    ErrorOut,
    ImportOut,
    PoolIn,
    PoolOut,
    StageOut,
    TemplateOut,
    TodoOut,
)
from civicbudget.audit.selectors import audit_event_list
from civicbudget.cycles import selectors as cycle_selectors
from civicbudget.cycles import services as cycle_services
from civicbudget.cycles.models import Cycle
from civicbudget.cycles.templates import templates
from civicbudget.errors import (
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    ServiceError,
)
from civicbudget.places.models import District
from civicbudget.places.selectors import district_tree, place_by_level
from civicbudget.places.services import places_import

api = NinjaAPI(
    title="civicbudget API",
    version="1",
    description="Places, cycles, stages and budget pools of participatory budgeting cycles. "
    "Staff endpoints take the back-office session cookie with its CSRF token, or an API "
    "token with the endpoint's scope (Authorization: Bearer cbt_...).",
    urls_namespace="api",
)

from civicbudget.proposals.api import router as proposals_router  # noqa: E402
from civicbudget.voting.api import router as voting_router  # noqa: E402

api.add_router("/", proposals_router)
api.add_router("/", voting_router)
api.add_router("/", "civicbudget.deliberation.api.router")
api.add_router("/", "civicbudget.results.api.router")
api.add_router("/", "civicbudget.delivery.api.router")
api.add_router("/", "civicbudget.partners.api.router")
api.add_router("/", "civicbudget.opendata.api.router")

MAX_OFFSET = 10**9
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError):
    status = 400
    if isinstance(exc, NotAuthenticated):
        status = 401
    elif isinstance(exc, PermissionDenied):
        status = 403
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, PreconditionFailed):
        status = 409
    elif isinstance(exc, RateLimited) or exc.code in ("rate_limited", "sms_budget"):
        status = 429
    return api.create_response(request, exc.as_dict(), status=status)


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, exc: ValidationError):
    # The documented error format instead of ninja's {"detail": [...]}: the first problem in
    # ``message`` and ``field``, each problem in ``details``.
    details = []
    for error in exc.errors[:20]:
        loc = [str(part) for part in error.get("loc", ())]
        where = loc[0] if loc else ""
        field = ".".join(loc[1:]) if where in ("query", "path", "body", "form", "file") else ".".join(loc)
        if where == "body" and field.startswith("payload."):
            field = field[len("payload."):]
        details.append({"field": field[:100], "in": where, "message": str(error.get("msg", ""))[:200]})
    first = details[0] if details else {"field": "", "in": "", "message": ""}
    code = "invalid_parameter" if first["in"] in ("query", "path") else "invalid_body"
    message = (_("Parameter “%(name)s”: %(problem)s") if first["in"] in ("query", "path")
               else _("Field “%(name)s”: %(problem)s")) % {"name": first["field"], "problem": first["message"]}
    return api.create_response(request, {"code": code, "message": message, "field": first["field"] or None,
                                         "details": details}, status=422)


@api.exception_handler(AuthenticationError)
def not_authenticated(request: HttpRequest, exc: AuthenticationError):
    return api.create_response(request, {
        "code": "not_authenticated",
        "message": _("Log in to the back-office, or send an API token (Authorization: Bearer)."),
    }, status=401)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def out_of_range(request: HttpRequest, exc: Exception):
    # An id or number beyond what the database stores (e.g. 10**30 as an id): the database
    # driver refuses it; say so instead of failing with a server error.
    return api.create_response(request, {"code": "out_of_range",
                                         "message": _("A number in the request is out of range.")},
                               status=400)



def _cycle_out(cycle: Cycle) -> dict:
    return {
        "id": cycle.pk, "name": cycle.name, "name_en": cycle.name_en, "year": cycle.year,
        "district_id": cycle.district_id, "district": cycle.district.name,
        "template_key": cycle.template_key, "status": cycle.status,
        "current_stage": cycle.current_stage,
    }


def _stage_out(stage) -> dict:
    return {
        "id": stage.pk, "order": stage.order, "kind": stage.kind, "name": stage.name,
        "name_en": stage.name_en, "allowed_actions": sorted(stage.allowed_actions),
        "opens_at": stage.opens_at, "closes_at": stage.closes_at, "started_at": stage.started_at,
        "finished_at": stage.finished_at, "state": stage.state,
    }


def _pool_out(pool) -> dict:
    return {"id": pool.pk, "level": pool.level, "street_id": pool.street_id,
            "community_id": pool.community_id, "place": str(pool.place),
            "amount_yuan": pool.amount_yuan}


@api.get("/districts", response=list[DistrictOut], tags=["places"])
def districts_list(request: HttpRequest):
    """List the districts."""
    return District.objects.all()


@api.get("/districts/{district_id}", response={200: DistrictTreeOut, 404: ErrorOut}, tags=["places"])
def district_get(request: HttpRequest, district_id: int):
    """Return a district with its streets and their communities."""
    district = get_object_or_404(District, pk=district_id)
    return district_tree(district)


@api.post("/districts/{district_id}/places/import", response={200: ImportOut, **ERRORS},
          auth=StaffAuth("places:write"), tags=["places"])
def district_places_import(request: HttpRequest, district_id: int, file: File[UploadedFile]):
    """Import streets and communities from CSV or XLSX: every row, or nothing and a report."""
    district = get_object_or_404(District, pk=district_id)
    data = file.read(10 * 1024 * 1024 + 1)
    report = places_import(actor=request.user, district=district, data=data, filename=file.name or "")
    return report.as_dict()


@api.post("/cycles/{cycle_id}/group-members", response={200: dict, **ERRORS},
          auth=StaffAuth("cycles:write"), tags=["cycles"])
def cycle_group_members_import(request: HttpRequest, cycle_id: int, file: File[UploadedFile],
                               replace: bool = False):
    """Import a group electorate's members (CSV or XLSX, column doc_number 证件号码, optional
    doc_type): all rows or none; with ``replace`` the list becomes exactly the file's."""
    from civicbudget.voting.electorate import members_import

    cycle = get_object_or_404(Cycle, pk=cycle_id)
    data = file.read(10 * 1024 * 1024 + 1)
    return members_import(actor=request.user, cycle=cycle, data=data, filename=file.name or "",
                          replace=replace).as_dict()


@api.get("/cycles", response=list[CycleOut], tags=["cycles"])
def cycles_list(request: HttpRequest, district_id: int | None = None):
    """List cycles (newest first) with their current stage."""
    return [_cycle_out(c) for c in cycle_selectors.cycle_list(district_id)]


@api.get("/cycle-templates", response=list[TemplateOut], tags=["cycles"])
def templates_list(request: HttpRequest):
    """List the shipped cycle templates, one per PB model."""
    return [
        {"key": t.key, "name": t.name, "name_en": t.name_en, "source": t.source,
         "config": t.config, "stages": [s.__dict__ for s in t.stages]}
        for t in templates().values()
    ]


@api.get("/cycles/{cycle_id}", response={200: CycleDetailOut, 404: ErrorOut}, tags=["cycles"])
def cycle_get(request: HttpRequest, cycle_id: int):
    """Return a cycle with its stages, budget pools and participants."""
    try:
        cycle = cycle_selectors.cycle_detail(cycle_id)
    except Cycle.DoesNotExist as exc:
        raise NotFound(f"No cycle {cycle_id}.") from exc
    return {
        **_cycle_out(cycle), "config": cycle.config, "total_budget_yuan": cycle.total_budget_yuan,
        "pools_total_yuan": cycle_selectors.cycle_total_pools_yuan(cycle),
        "stages": [_stage_out(s) for s in cycle.ordered_stages()],
        "pools": [_pool_out(p) for p in cycle.pools.all()],
        "street_ids": sorted(s.pk for s in cycle.streets.all()),
        "community_ids": sorted(c.pk for c in cycle.communities.all()),
    }


@api.post("/cycles/{cycle_id}/advance", response={200: StageOut | None, **ERRORS},
          auth=StaffAuth("cycles:write"), tags=["cycles"])
def cycle_advance(request: HttpRequest, cycle_id: int, payload: AdvanceIn):
    """Finish the running stage and start the next (district admins)."""
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    stage = cycle_services.stage_advance(actor=request.user, cycle=cycle, reason=payload.reason,
                                         expected_stage_id=payload.expected_stage_id)
    return _stage_out(stage) if stage else None


@api.put("/cycles/{cycle_id}/pools", response={200: PoolOut, **ERRORS}, auth=StaffAuth("cycles:write"),
         tags=["cycles"])
def cycle_pool_set(request: HttpRequest, cycle_id: int, payload: PoolIn):
    """Set the budget pool (integer yuan) of a participating street or community."""
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    place = place_by_level(payload.level, payload.place_id)
    pool = cycle_services.pool_set(actor=request.user, cycle=cycle, place=place,
                                   amount_yuan=payload.amount_yuan)
    return _pool_out(pool)


@api.get("/audit", response={200: list[AuditOut], **ERRORS}, auth=StaffAuth("read"), tags=["audit"])
def audit_list(request: HttpRequest, action: str | None = None, outcome: str | None = None,
               limit: Annotated[int, Field(ge=1, le=1000)] = 100,
               offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0):
    """Read the audit trail of the places your observer or admin role covers."""
    if not scopes_for(request.user, "view_audit"):
        from civicbudget.audit.services import audit_record

        audit_record(request.user, "view_audit", None, outcome="denied", message="/api/audit")
        raise PermissionDenied("Only observers, auditors and district admins read the audit trail.")
    events = audit_event_list(request.user, action=action, outcome=outcome)[offset : offset + limit]
    return [
        {"id": e.pk, "at": e.at, "actor": e.actor_label, "action": e.action, "outcome": e.outcome,
         "object_type": e.object_type, "object_id": e.object_id, "object": e.object_repr,
         "before": e.before, "after": e.after, "message": e.message}
        for e in events
    ]


@api.get("/me/todo", response={200: TodoOut, **ERRORS}, auth=StaffAuth("read"), tags=["staff"])
def my_todo(request: HttpRequest):
    """What waits on you: per running cycle, each task your roles may do now, with its count,
    how many are late, its deadline and the page where it is done (the staff home's list)."""
    from civicbudget.accounts.permissions import staff_member_require
    from civicbudget.web.todo import todo_count, todo_list

    staff_member_require(request.user, "/api/me/todo")
    groups = todo_list(request.user)
    return {"total": todo_count(groups), "cycles": [
        {"cycle_id": g.cycle.pk, "cycle": g.cycle.display_name, "stage": g.stage_name,
         "stage_ends_at": g.stage_ends_at,
         "items": [{"kind": i.kind, "label": i.label, "count": i.count, "overdue": i.overdue,
                    "due_at": i.due_at, "url": i.url} for i in g.items]}
        for g in groups]}
