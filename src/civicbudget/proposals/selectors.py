"""Read proposals and projects: tracking, lists, counts and merge suggestions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from civicbudget.cycles.models import Cycle
from civicbudget.places.models import Community, District, Street
from civicbudget.proposals.models import MatchDecision, MergeOperation, Project, Proposal
from civicbudget.textmatch import Analysis, Gazetteer, SuggestedGroup, analyze, suggest_groups


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
    steps = [TrackStep(_("Received"), timezone.localtime(proposal.submitted_at).strftime("%Y-%m-%d %H:%M"), True)]
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
    """A suggested group: loose proposals to make a project of, or to move into ``target``."""

    key: str
    proposals: list[Proposal]  # the loose ones: what accepting acts on
    name: str
    target: Project | None = None  # the project whose proposals are in the same cluster
    members: list[Proposal] = field(default_factory=list)  # those proposals already in projects
    reasons: list[str] = field(default_factory=list)  # why, in words an officer understands

    @property
    def explanation(self) -> str:
        return " · ".join(self.reasons)


def merge_suggestions(cycle: Cycle, *, community_id: int | None = None,
                      street_id: int | None = None, min_size: int = 2) -> list[Suggestion]:
    """Suggest groups of a scope by textmatch, learning from what officers decided.

    The loose proposals are clustered together with the proposals already in projects:
    those of one active project are must-linked (officers put them together), pairs an
    officer split apart or called "not the same" are cannot-linked (``MatchDecision`` of
    operations not undone), and the gazetteer holds the district's names and the places
    accepted merges revealed (``district_gazetteer``). A cluster with at least one loose
    proposal and ``min_size`` members is a suggestion: "move into the project" when it holds
    a project's proposals (one suggestion per kind of loose proposal), else "make a
    project". Uses the analyses stored at submission.
    """
    proposals = list(proposals_in_scope(cycle, community_id=community_id, street_id=street_id)
                     .filter(Q(project__isnull=True) | Q(project__is_active=True)))
    if not proposals:
        return []
    analyses = [Analysis.from_dict(p.analysis) if p.analysis else analyze(p.text) for p in proposals]
    must = _must_links(proposals)
    cannot = _cannot_links(cycle, proposals)
    texts = [p.text for p in proposals]
    communities = [p.community_id for p in proposals]
    gazetteer = district_gazetteer(cycle.district_id)
    groups = suggest_groups(texts, communities, min_size=1, analyses=analyses, must_link=must,
                            cannot_link=cannot, gazetteer=gazetteer)
    # The same without the projects' must-links: a project may gather several requests (a
    # 楼道改造 with its lights and its handrails), and a loose proposal is suggested with the
    # ones it resembles, not with every proposal that matches some part of the project.
    alone = {i: g for g in suggest_groups(texts, communities, min_size=1, analyses=analyses,
                                          cannot_link=cannot, gazetteer=gazetteer)
             for i in g.members}
    suggestions = []
    for g in groups:
        inside = set(g.members)
        loose = [i for i in g.members if proposals[i].project_id is None]
        placed = [i for i in g.members if proposals[i].project_id is not None]
        if not loose:
            continue
        parts: list[tuple[SuggestedGroup, list[int], list[int]]] = [(g, loose, [])]
        if placed:
            by_alone: dict[int, list[int]] = {}
            for i in loose:
                by_alone.setdefault(alone[i].cluster, []).append(i)
            parts = []
            for idx in by_alone.values():
                near = [i for i in alone[idx[0]].members
                        if i in inside and proposals[i].project_id is not None]
                parts.append((alone[idx[0]], idx, near or placed))
        for why, idx, members in parts:
            if len(idx) + len(members) < min_size:
                continue
            target = None
            if members:
                counts = Counter(proposals[i].project_id for i in members)
                # the project most of them are in (the oldest on a tie)
                best = min(counts, key=lambda pid: (-counts[pid], pid))
                target = next(proposals[i].project for i in members
                              if proposals[i].project_id == best)
            # "kept apart" when a member has a cannot-link to a proposal outside the suggestion
            shown = {*idx, *members}
            kept_apart = any((a in shown) != (b in shown) for a, b in cannot)
            items = [proposals[i] for i in idx]
            suggestions.append(Suggestion(
                key=f"{community_id or street_id}-{g.cluster}-{why.cluster}", proposals=items,
                name=target.name if target else _suggest_name(items), target=target,
                members=[proposals[i] for i in members],
                reasons=_reasons(why, target, kept_apart)))
    suggestions.sort(key=lambda s: (-len(s.proposals) - len(s.members), s.proposals[0].pk))
    return suggestions


def _must_links(proposals: list[Proposal]) -> list[tuple[int, int]]:
    """Each project's members chained to its first one: officers put them together."""
    first: dict[int, int] = {}
    pairs = []
    for i, p in enumerate(proposals):
        if p.project_id is not None:
            j = first.setdefault(p.project_id, i)
            if j != i:
                pairs.append((j, i))
    return pairs


def _cannot_links(cycle: Cycle, proposals: list[Proposal]) -> list[tuple[int, int]]:
    """Pairs (indices into ``proposals``) officers kept apart, by operations not undone.

    A pair now in the same project is dropped: regrouping them later was the newer word."""
    index = {p.pk: i for i, p in enumerate(proposals)}
    rows = (MatchDecision.objects.filter(cycle=cycle, operation__undone_at__isnull=True)
            .values_list("proposal_a_id", "proposal_b_id"))
    pairs = set()
    for a, b in rows:
        if a in index and b in index:
            pa, pb = proposals[index[a]], proposals[index[b]]
            if pa.project_id is None or pa.project_id != pb.project_id:
                pairs.add((index[a], index[b]))
    return sorted(pairs)


def district_gazetteer(district_id: int) -> Gazetteer:
    """What the platform knows about the places of a district, for textmatch.

    ``admin``: the district, its streets and communities. ``places``: the estates, roads,
    schools and landmarks accepted merges revealed, in any cycle of the district: a place
    named by at least two proposals of one active project (the officer confirmed they are
    about the same place). There is no register of places beyond that.
    """
    admin = [name for name in District.objects.filter(pk=district_id).values_list("name", flat=True)]
    admin += Street.objects.filter(district_id=district_id).values_list("name", flat=True)
    admin += Community.objects.filter(street__district_id=district_id).values_list("name", flat=True)
    named: dict[int, Counter] = {}
    # only the area mentions of the stored analyses are read, not the whole JSON
    for project_id, areas in (Proposal.objects
                              .filter(cycle__district_id=district_id, project__is_active=True)
                              .values_list("project_id", "analysis__areas")):
        if isinstance(areas, list):
            names = {a[0] for a in areas if isinstance(a, list) and a and isinstance(a[0], str)}
            named.setdefault(project_id, Counter()).update(names)
    known = set(admin)
    places = {name for counts in named.values() for name, n in counts.items()
              if n >= 2 and name not in known}
    return Gazetteer(places=tuple(sorted(places)), admin=tuple(sorted(known)))


def _reasons(group: SuggestedGroup, target: Project | None, kept_apart: bool) -> list[str]:
    """Why a suggestion was made, from what textmatch reports (any part may be empty)."""
    reasons = []
    if group.request and group.place and group.place != "?":
        place = _("the whole community") if group.place == "社区" else group.place
        reasons.append(_("Same place: %(place)s") % {"place": place})
    if group.request:
        reasons.append(_("Same request: %(request)s") % {"request": group.request})
    phrases = [p for p in group.phrases if not (group.request and p in group.request)]
    if phrases:
        reasons.append(_("Shared key phrases: %(phrases)s") % {"phrases": "、".join(phrases)})
    if group.score:
        reasons.append(_("Similarity %(score).2f") % {"score": group.score})
    if target is not None:
        reasons.append(_("Like the proposals already in project “%(name)s”") % {"name": target.name})
    if kept_apart:
        reasons.append(_("Proposals officers split apart are no longer suggested together"))
    if not reasons:
        reasons.append(_("Similar wording"))
    return reasons


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
