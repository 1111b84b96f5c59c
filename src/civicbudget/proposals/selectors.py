"""Read proposals and projects: tracking, lists, counts and merge suggestions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from civicbudget.cycles.models import Cycle
from civicbudget.proposals.models import MergeOperation, Project, Proposal
from civicbudget.textmatch import Analysis, analyze, cluster_analyses


def proposal_by_code(code: str) -> Proposal | None:
    code = (code or "").strip().upper()
    if not code or len(code) > 12:
        return None
    return (Proposal.objects.select_related("cycle", "community", "street", "project")
            .prefetch_related("cycle__stages").filter(tracking_code=code).first())


@dataclass(frozen=True)
class TrackStep:
    label: str
    detail: str
    done: bool


def proposal_timeline(proposal: Proposal) -> list[TrackStep]:
    """Where a proposal stands, step by step, for its proposer."""
    steps = [TrackStep(_("Received"), proposal.submitted_at.strftime("%Y-%m-%d %H:%M"), True)]
    if proposal.project_id:
        steps.append(TrackStep(_("Merged into a project"), proposal.project.name, True))
    else:
        steps.append(TrackStep(_("Merged into a project"), _("waiting for the street or community office"), False))
    cycle = proposal.cycle
    current = cycle.current_stage
    for stage in cycle.ordered_stages():
        if stage.kind in {"launch", "collect"}:
            continue
        steps.append(TrackStep(stage.display_name,
                               _("now") if stage is current or (current and stage.pk == current.pk)
                               else (_("done") if stage.finished_at else _("later")),
                               bool(stage.finished_at)))
    # The results app's final state, once decided (集中回复): what the proposer's reply quotes.
    outcome = getattr(proposal, "outcome", None)
    if outcome is not None:
        steps.append(TrackStep(_("Final state"), " · ".join(
            x for x in (str(outcome.get_state_display()), outcome.project.name if outcome.project else "",
                        outcome.reason) if x), True))
    return steps


def project_list(cycle: Cycle, *, community_id: int | None = None,
                 street_id: int | None = None) -> QuerySet[Project]:
    qs = (Project.objects.filter(cycle=cycle, is_active=True)
          .select_related("street", "community").annotate(proposal_count=Count("proposals")))
    if community_id:
        qs = qs.filter(community_id=community_id)
    if street_id:
        qs = qs.filter(street_id=street_id)
    return qs.order_by("-proposal_count", "name")


def proposal_counts(cycle: Cycle) -> dict:
    agg = Proposal.objects.filter(cycle=cycle).aggregate(
        total=Count("id"), merged=Count("id", filter=Q(project__isnull=False)))
    agg["projects"] = Project.objects.filter(cycle=cycle, is_active=True).count()
    return agg


def proposals_in_scope(cycle: Cycle, *, community_id: int | None = None,
                       street_id: int | None = None, unassigned_only: bool = False) -> QuerySet[Proposal]:
    qs = Proposal.objects.filter(cycle=cycle).select_related("community", "project")
    if community_id:
        qs = qs.filter(community_id=community_id)
    if street_id:
        qs = qs.filter(street_id=street_id)
    if unassigned_only:
        qs = qs.filter(project__isnull=True)
    return qs


@dataclass(frozen=True)
class Suggestion:
    key: str
    proposals: list[Proposal]
    name: str


def merge_suggestions(cycle: Cycle, *, community_id: int | None = None,
                      street_id: int | None = None, min_size: int = 2) -> list[Suggestion]:
    """Group the loose proposals of a scope by textmatch, from the analyses stored at submission."""
    proposals = list(proposals_in_scope(cycle, community_id=community_id, street_id=street_id,
                                        unassigned_only=True))
    analyses = [Analysis.from_dict(p.analysis) if p.analysis else analyze(p.text) for p in proposals]
    numbers = cluster_analyses(analyses, [p.community_id for p in proposals])
    groups: dict[int, list[int]] = {}
    for index, number in enumerate(numbers):
        groups.setdefault(number, []).append(index)
    suggestions = []
    for number, members in groups.items():
        if len(members) < min_size:
            continue
        items = [proposals[i] for i in members]
        suggestions.append(Suggestion(key=f"{community_id or street_id}-{number}", proposals=items,
                                      name=_suggest_name(items)))
    suggestions.sort(key=lambda s: (-len(s.proposals), s.proposals[0].pk))
    return suggestions


def _suggest_name(items: list[Proposal]) -> str:
    # The most common title among the members reads most like what residents asked for.
    titles: dict[str, int] = {}
    for p in items:
        titles[p.title] = titles.get(p.title, 0) + 1
    return max(titles.items(), key=lambda kv: (kv[1], -len(kv[0])))[0][:100]


def merge_history(cycle: Cycle, *, community_id: int | None = None,
                  street_id: int | None = None, limit: int = 30) -> list[MergeOperation]:
    qs = MergeOperation.objects.filter(cycle=cycle).select_related("actor")
    if community_id:
        qs = qs.filter(community_id=community_id)
    elif street_id:
        qs = qs.filter(street_id=street_id)
    return list(qs[:limit])
