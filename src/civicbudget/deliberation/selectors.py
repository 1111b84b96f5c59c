"""Reads of the deliberation steps, shaped for the public pages, the API and the voting app.

The voting app reads ballots only through ``ballot_for`` / ``ballots_for_cycle``: frozen
dataclasses, so nothing it holds can write back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils import timezone

from civicbudget.cycles.models import BudgetPool, Cycle
from civicbudget.deliberation.models import (
    Ballot,
    Body,
    ProjectCost,
    Promotion,
    Review,
    Roundtable,
    Screening,
    Sitting,
    SittingResult,
    criterion_label,
)
from civicbudget.places.models import Community, Street
from civicbudget.proposals.models import Project, Proposal


@dataclass(frozen=True)
class BallotEntry:
    project_id: int
    name: str
    cost_yuan: int
    theme: str = ""
    community_id: int | None = None  # the community a street project serves, if one


@dataclass(frozen=True)
class BallotView:
    """A scope's ballot as voters see it. ``frozen_at`` is None while it is a draft."""

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
    items: tuple[BallotEntry, ...]

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None


def _served_community(project: Project) -> int | None:
    """The community a project serves: its own, or the one a street project was promoted from."""
    if project.community_id:
        return project.community_id
    promotion = getattr(project, "promotion", None)  # the reverse one-to-one raises AttributeError
    # A project promoted because it serves several communities serves no one of them more.
    if promotion is None or promotion.reason == Promotion.Reason.SEVERAL_COMMUNITIES:
        return None
    return promotion.from_community_id


def _view(ballot: Ballot) -> BallotView:
    return BallotView(
        id=ballot.pk, cycle_id=ballot.cycle_id, level=ballot.level, street_id=ballot.street_id,
        community_id=ballot.community_id, scope_name=str(ballot.place), rule=ballot.rule,
        max_choices=ballot.max_choices, points=ballot.points, budget_yuan=ballot.budget_yuan,
        frozen_at=ballot.frozen_at,
        items=tuple(BallotEntry(i.project_id, i.project.name, i.cost_yuan, i.project.theme,
                                _served_community(i.project))
                    for i in sorted(ballot.items.all(), key=lambda i: i.position)),
    )


def _ballots(cycle: Cycle) -> QuerySet[Ballot]:
    return (Ballot.objects.filter(cycle=cycle)
            .select_related("street", "community")
            .prefetch_related("items__project__promotion"))


def ballot_for(cycle: Cycle, scope: Street | Community | BudgetPool, *,
               frozen_only: bool = True) -> BallotView | None:
    """Return the ballot of a scope (a street's pool, a community's pool, or the pool itself).

    By default only a frozen (published) ballot is returned: voting must never open on a draft.
    """
    if isinstance(scope, BudgetPool):
        scope = scope.community if scope.level == "community" else scope.street
    if isinstance(scope, Community):
        ballot = _ballots(cycle).filter(level="community", community=scope).first()
    else:
        ballot = _ballots(cycle).filter(level="street", street=scope).first()
    if ballot is None or (frozen_only and ballot.frozen_at is None):
        return None
    return _view(ballot)


def ballots_for_cycle(cycle: Cycle, *, frozen_only: bool = True) -> list[BallotView]:
    """Return every ballot of the cycle, street ballots first."""
    qs = _ballots(cycle)
    if frozen_only:
        qs = qs.filter(frozen_at__isnull=False)
    return [_view(b) for b in qs.order_by("-level", "street__name", "community__name")]


def ballot_by_id(ballot_id: int) -> BallotView | None:
    ballot = Ballot.objects.select_related("street", "community").prefetch_related(
        "items__project").filter(pk=ballot_id).first()
    return _view(ballot) if ballot else None


def current_costs(cycle: Cycle, *, project_ids: list[int] | None = None) -> dict[int, int]:
    """Return each costed project's final cost (its latest setting), of ``project_ids`` only
    when given."""
    result: dict[int, int] = {}
    qs = ProjectCost.objects.filter(cycle=cycle)
    if project_ids is not None:
        qs = qs.filter(project_id__in=project_ids)
    for pid, amount in (qs
                        .order_by("project_id", "-set_at", "-id")
                        .values_list("project_id", "amount_yuan")):
        result.setdefault(pid, amount)
    return result


def cost_history(project: Project) -> QuerySet[ProjectCost]:
    return project.costs.select_related("set_by")


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    proposal_count: int
    screening: Screening | None
    cost_yuan: int | None
    reviews: tuple[Review, ...]
    promotion: Promotion | None


def _deliberation_queryset(cycle: Cycle, *, street_id: int | None = None,
                           community_id: int | None = None, outcome: str = "") -> QuerySet[Project]:
    qs = (Project.objects.filter(cycle=cycle, is_active=True)
          .select_related("street", "community", "screening", "promotion__from_community")
          .prefetch_related("reviews__department")
          .annotate(proposal_count=Count("proposals"))
          .order_by("street__name", "level", "community__name", "name", "pk"))
    if street_id:
        qs = qs.filter(street_id=street_id)
    if community_id:
        qs = qs.filter(community_id=community_id)
    if outcome == "passed":
        qs = qs.filter(screening__is_passed=True)
    elif outcome == "failed":
        qs = qs.filter(screening__is_passed=False)
    elif outcome == "waiting":
        qs = qs.filter(screening__isnull=True)
    return qs


def _project_rows(projects, costs: dict[int, int]) -> list[ProjectRow]:
    return [ProjectRow(
        project=p, proposal_count=p.proposal_count,
        screening=getattr(p, "screening", None) if hasattr(p, "screening") else None,
        cost_yuan=costs.get(p.pk), reviews=tuple(p.reviews.all()),
        promotion=getattr(p, "promotion", None) if hasattr(p, "promotion") else None,
    ) for p in projects]


def deliberation_projects(cycle: Cycle, *, street_id: int | None = None,
                          community_id: int | None = None) -> list[ProjectRow]:
    """Every active project of the cycle with its screening, cost, reviews and promotion."""
    qs = _deliberation_queryset(cycle, street_id=street_id, community_id=community_id)
    return _project_rows(qs, current_costs(cycle))


#: Screening outcomes the public page filters on ("" is every project).
DELIBERATION_OUTCOMES = ("", "passed", "failed", "waiting")
#: Projects per page of the public deliberation page: a district has thousands, a phone
#: reader wants a few screens.
DELIBERATION_PAGE_SIZE = 20


def deliberation_project_page(cycle: Cycle, *, page: str | int | None, street_id: int | None = None,
                              community_id: int | None = None, outcome: str = "",
                              per_page: int = DELIBERATION_PAGE_SIZE):
    """One page of ``deliberation_projects`` (filtered), as a Django ``Page`` whose
    ``object_list`` is the rows; an out-of-range page number gives the nearest page."""
    from django.core.paginator import Paginator

    qs = _deliberation_queryset(cycle, street_id=street_id, community_id=community_id,
                                outcome=outcome if outcome in DELIBERATION_OUTCOMES else "")
    result = Paginator(qs, per_page).get_page(page)
    projects = list(result.object_list)
    result.object_list = _project_rows(projects, current_costs(cycle, project_ids=[p.pk for p in projects]))
    return result


def screening_summary(cycle: Cycle) -> dict:
    rows = Screening.objects.filter(cycle=cycle, project__is_active=True)
    passed = rows.filter(is_passed=True).count()
    total = rows.count()
    reasons = (rows.filter(is_passed=False).values("reason_code").annotate(n=Count("pk"))
               .order_by("-n", "reason_code"))
    return {"screened": total, "passed": passed, "failed": total - passed,
            "reasons": [{"code": r["reason_code"], "label": criterion_label(r["reason_code"]),
                         "n": r["n"]} for r in reasons]}


def screening_result_for_proposal(proposal: Proposal) -> dict | None:
    """What to quote to a proposer whose project was screened out (None if it was not)."""
    if not proposal.project_id:
        return None
    screening = Screening.objects.filter(project_id=proposal.project_id, is_passed=False).first()
    if screening is None:
        return None
    return {"project": proposal.project.name, "reason_code": screening.reason_code,
            "criterion": criterion_label(screening.reason_code), "reason": screening.reason}


def overdue_reviews(cycle: Cycle, *, street_id: int | None = None,
                    today: dt.date | None = None) -> QuerySet[Review]:
    """Reviews past their due date with no opinion yet, for the street office to chase."""
    today = today or timezone.localdate()
    qs = (Review.objects.filter(cycle=cycle, reviewed_at__isnull=True, due_on__lt=today)
          .select_related("project__street", "project__community", "department"))
    if street_id:
        qs = qs.filter(project__street_id=street_id)
    return qs.order_by("due_on", "id")


def reviews_for_departments(cycle: Cycle, department_ids: list[int]) -> QuerySet[Review]:
    return (Review.objects.filter(cycle=cycle, department_id__in=department_ids)
            .select_related("project__street", "project__community", "department")
            .prefetch_related("photos").order_by("reviewed_at", "due_on", "id"))


def roundtables(cycle: Cycle) -> list[Roundtable]:
    return list(Roundtable.objects.filter(cycle=cycle).select_related("community__street")
                .prefetch_related("tallies__project").order_by("community__street__name",
                                                               "community__name", "-held_on"))


def promotions(cycle: Cycle) -> QuerySet[Promotion]:
    return (Promotion.objects.filter(cycle=cycle)
            .select_related("project__street", "from_community").order_by("promoted_at"))


def bodies(cycle: Cycle) -> list[Body]:
    return list(Body.objects.filter(cycle=cycle).select_related("street", "community")
                .prefetch_related("members", "sittings__results__project", "sittings__attendees"))


def decided_projects(cycle: Cycle) -> list[Project]:
    """The projects the cycle's deciding bodies passed (council models: the year's list).

    The last body kind in ``config["bodies"]`` decides (Shenzhen: the residents' council);
    for each body of that kind, its latest closed sitting with votes counts.
    """
    sequence = list(cycle.config.get("bodies") or [])
    qs = Sitting.objects.filter(body__cycle=cycle, closed_at__isnull=False, results__isnull=False)
    if sequence:
        qs = qs.filter(body__kind=sequence[-1])
    latest: dict[int, Sitting] = {}
    for sitting in qs.distinct().order_by("closed_at", "id"):
        latest[sitting.body_id] = sitting
    results = (SittingResult.objects.filter(sitting__in=list(latest.values()), is_passed=True)
               .select_related("project").order_by("rank", "project_id"))
    return [r.project for r in results]


#: Ballot rule -> the ledger's vote type (pabulib's names).
_VOTE_TYPES = {"approval": "approval", "budget": "approval", "points": "cumulative",
               "ranked": "ordinal"}
_TALLY_RULES = ("greedy", "mes", "mes-add1", "phragmen", "max-welfare")


def _category(theme: str) -> str:
    """Return a project's theme as the ballot's category field (pabulib's separator removed)."""
    return " ".join(theme.replace(";", ",").split())[:200]


def ballot_key(view: BallotView) -> str:
    """Return the scope key the voting app and the ledger use: ``street:3``, ``community:12``."""
    return f"community:{view.community_id}" if view.level == "community" else f"street:{view.street_id}"


def voting_ballots(cycle: Cycle) -> list[dict]:
    """Each frozen ballot as the voting app opens it: {key, title, spec, street, community}.

    ``spec`` is the ledger's scope definition (``voting.logstore.spec_to_json`` shape): the
    projects with their final costs, the vote type and limits from the ballot's rule, and the
    cycle's tally rule (``config["tally_rule"]``, greedy when it is not a budget rule).
    """
    from civicbudget.deliberation.services import scope_rule_bounds, stakeholder_weight
    from civicbudget.ledger.export import bound_to_json

    tally_rule = cycle.config.get("tally_rule")
    weight = stakeholder_weight(cycle)
    result = []
    for view in ballots_for_cycle(cycle):
        key = ballot_key(view)
        rule: dict = {"rule": tally_rule if tally_rule in _TALLY_RULES else "greedy"}
        # Stakeholder weights apply on street ballots of approval kind, to projects that
        # serve one community: that community's residents count ``weight`` times for them.
        # (On a community's ballot every voter is a resident: a weight would change nothing.)
        weighted = (weight is not None and view.level == "street" and view.rule in ("approval", "budget")
                    and rule["rule"] != "phragmen" and any(i.community_id for i in view.items))
        if weighted:
            # Points stand for weighted votes: greedy ranks by weighted votes, MES gives each
            # voter a utility of weight x cost (cost utility, as on unweighted ballots).
            rule["utility"] = "points-cost"
        # category floors and caps of the count (config["category_bounds"]), by project theme
        floors, caps = scope_rule_bounds(cycle, key, [i.theme for i in view.items])
        if floors:
            rule["category_min"] = [bound_to_json(b) for b in floors]
        if caps:
            rule["category_max"] = [bound_to_json(b) for b in caps]
        spec = {
            "scope": key, "vote_type": _VOTE_TYPES[view.rule], "budget": str(view.budget_yuan),
            "projects": [{"id": str(i.project_id), "cost": str(i.cost_yuan), "name": i.name,
                          **({"category": _category(i.theme)} if _category(i.theme) else {}),
                          **({"serves": f"community:{i.community_id}"} if weighted and i.community_id else {})}
                         for i in view.items],
            "rule": rule, "min_length": 1,
            "max_length": view.max_choices if view.rule in ("approval", "ranked") else None,
            "max_sum_cost": str(view.budget_yuan) if view.rule == "budget" else None,
            "min_points": None, "max_points": view.points if view.rule == "points" else None,
            "max_sum_points": view.points if view.rule == "points" else None,
            **({"stakeholder_weight": weight} if weighted else {}),
        }
        result.append({
            "key": key, "title": view.scope_name, "spec": spec,
            "street": Street.objects.get(pk=view.street_id),
            "community": Community.objects.get(pk=view.community_id) if view.community_id else None,
        })
    return result
