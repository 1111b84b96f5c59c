"""Read proposals and projects: tracking, lists, counts and merge suggestions."""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from civicbudget.cycles.models import Cycle
from civicbudget.places.models import Community, District, Street
from civicbudget.proposals.models import MatchDecision, MergeOperation, Project, Proposal
from civicbudget.textmatch import (
    Analysis,
    CommunityIndex,
    Gazetteer,
    SuggestedGroup,
    analyze,
    suggest_groups,
)


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


@dataclass(frozen=True)
class SimilarForProposer:
    """What a proposer may see of the proposals like theirs: public projects, and a count."""

    projects: list[tuple[int, str]]
    others: int


def similar_for_proposer(proposal: Proposal) -> SimilarForProposer | None:
    """Projects and proposals of the same community that ask for the same, for the tracking page.

    Only while the proposal waits for a project: the proposer learns that neighbours asked the
    same and which public project it may join. Other residents' loose proposals are counted,
    never shown (their text is theirs until an officer merges it into a public project).
    Cached for ten minutes: the tracking page is reloaded far more often than the community's
    proposals change.
    """
    if proposal.project_id:
        return None
    key = f"similar-for-proposer:{proposal.pk}"
    cached = cache.get(key)
    if cached is None:
        matches = proposal_suggestions(proposal, limit=5)
        cached = SimilarForProposer(
            projects=[(m.target.pk, m.target.name) for m in matches if m.target is not None][:3],
            others=sum(len(m.proposals) for m in matches if m.target is None))
        cache.set(key, cached, 600)
    return cached if (cached.projects or cached.others) else None


def project_list(cycle: Cycle, *, community_id: int | None = None,
                 street_id: int | None = None) -> QuerySet[Project]:
    qs = (Project.objects.filter(cycle=cycle, is_active=True)
          .select_related("street", "community").annotate(proposal_count=Count("proposals")))
    if community_id:
        qs = qs.filter(community_id=community_id)
    if street_id:
        qs = qs.filter(street_id=street_id)
    return qs.order_by("-proposal_count", "name")


def project_proposal_communities(project: Project) -> list[dict]:
    """Where a project's proposals came from: each community with its number of proposals,
    the most first (street projects gather several communities)."""
    rows = (project.proposals.values("community_id", "community__name", "community__street__name")
            .annotate(n=Count("id")).order_by("-n", "community__name"))
    return [{"community_id": r["community_id"], "name": r["community__name"],
             "street": r["community__street__name"], "n": r["n"]} for r in rows]


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
    known = _admin_names(district_id)
    return Gazetteer(places=_merged_places(district_id, known), admin=tuple(sorted(known)))


def _admin_names(district_id: int) -> set[str]:
    admin = [name for name in District.objects.filter(pk=district_id).values_list("name", flat=True)]
    admin += Street.objects.filter(district_id=district_id).values_list("name", flat=True)
    admin += Community.objects.filter(street__district_id=district_id).values_list("name", flat=True)
    return set(admin)


def _merged_places(district_id: int, known: set[str]) -> tuple[str, ...]:
    named: dict[int, Counter] = {}
    # only the area mentions of the stored analyses are read, not the whole JSON
    for project_id, areas in (Proposal.objects
                              .filter(cycle__district_id=district_id, project__is_active=True)
                              .values_list("project_id", "analysis__areas")):
        if isinstance(areas, list):
            names = {a[0] for a in areas if isinstance(a, list) and a and isinstance(a[0], str)}
            named.setdefault(project_id, Counter()).update(names)
    places = {name for counts in named.values() for name, n in counts.items()
              if n >= 2 and name not in known}
    return tuple(sorted(places))


def _reasons(group: SuggestedGroup, target: Project | None, kept_apart: bool) -> list[str]:
    """Why a suggestion was made, from what textmatch reports (any part may be empty)."""
    place = group.place if group.request and group.place and group.place != "?" else None
    return _why(request=group.request, place=place, phrases=group.phrases, score=group.score,
                target=target, kept_apart=kept_apart)


def _why(*, request: str | None, place: str | None, phrases, score: float,
         target: Project | None, kept_apart: bool = False) -> list[str]:
    """The explanation lines shared by the workbench and a single proposal's suggestions."""
    reasons = []
    if place:
        place = _("the whole community") if place == "社区" else place
        reasons.append(_("Same place: %(place)s") % {"place": place})
    if request:
        reasons.append(_("Same request: %(request)s") % {"request": request})
    phrases = [p for p in phrases if not (request and p in request)]
    if phrases:
        reasons.append(_("Shared key phrases: %(phrases)s") % {"phrases": "、".join(phrases)})
    if score:
        reasons.append(_("Similarity %(score).2f") % {"score": score})
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


@dataclass(frozen=True)
class ProposalMatch:
    """A group one proposal may belong with: an active project, or a loose proposal."""

    target: Project | None  # None: ``proposals`` is one loose proposal
    proposals: list[Proposal]  # the group's proposals of the community
    score: float
    place: str
    same_place: bool
    phrases: tuple[str, ...]
    reasons: list[str]

    @property
    def explanation(self) -> str:
        return " · ".join(self.reasons)


def proposal_suggestions(proposal: Proposal, *, limit: int = 5) -> list[ProposalMatch]:
    """Which projects or loose proposals of its community ``proposal`` may be the same as.

    One pass of ``textmatch.suggest_for`` over the other proposals of the same cycle and
    community (their stored analyses; a project's proposals form one group), not a
    clustering of the community: cheap enough to run right after a proposal is entered.
    Its own project is not suggested, and neither are the proposals an officer called
    "not the same" as this one (nor the projects they are in), by operations not undone.
    """
    kept_apart = set()
    for a, b in (MatchDecision.objects.filter(cycle_id=proposal.cycle_id,
                                              operation__undone_at__isnull=True)
                 .filter(Q(proposal_a_id=proposal.pk) | Q(proposal_b_id=proposal.pk))
                 .values_list("proposal_a_id", "proposal_b_id")):
        kept_apart.add(b if a == proposal.pk else a)
    # Only the columns the comparison needs: a community may hold thousands of proposals.
    # The texts come along to check the analyses this process keeps (see _analyses_of).
    rows = list(Proposal.objects
                .filter(cycle_id=proposal.cycle_id, community_id=proposal.community_id)
                .filter(Q(project__isnull=True) | Q(project__is_active=True))
                .order_by("id").values_list("id", "project_id", "text"))
    banned = {project_id for pk, project_id, _text in rows if pk in kept_apart and project_id}
    exclude = [i for i, (pk, pid, _text) in enumerate(rows)
               if pk == proposal.pk or pk in kept_apart or pid in banned
               or (pid is not None and pid == proposal.project_id)]
    if len(exclude) == len(rows):
        return []
    known = _analyses_of(proposal.cycle_id, proposal.community_id, rows)
    analyses = [known[pk] for pk, _pid, _text in rows]
    new = next((a for (pk, _pid, _t), a in zip(rows, analyses, strict=True) if pk == proposal.pk),
               None) or _analysis(proposal.analysis, proposal.text)
    district_id = Cycle.objects.values_list("district_id", flat=True).get(pk=proposal.cycle_id)
    index = _index_of(proposal.cycle_id, proposal.community_id, analyses,
                      _gazetteer(district_id))
    matches = index.suggest(new, [r[1] for r in rows], exclude=exclude, limit=limit)
    if not matches:
        return []
    projects = Project.objects.in_bulk([m.label for m in matches if m.label is not None])
    shown = {rows[i][0] for m in matches for i in m.members}
    loaded = (Proposal.objects.filter(pk__in=shown)
              .only("id", "tracking_code", "title", "text", "project_id", "community_id", "cycle_id")
              .in_bulk())
    out = []
    for m in matches:
        target = projects.get(m.label) if m.label is not None else None
        members = [loaded[rows[i][0]] for i in m.members if rows[i][0] in loaded]
        if not members:  # deleted meanwhile
            continue
        # The request the group and the new proposal share, by the workbench's rule: the
        # concept of more than half of them.
        concepts = Counter(a.request.concept for a in [new, *(analyses[i] for i in m.members)]
                           if a.request.concept)
        request = None
        if concepts:
            top, count = concepts.most_common(1)[0]
            request = top if count * 2 > len(m.members) + 1 else None
        out.append(ProposalMatch(
            target=target, proposals=members, score=m.score, place=m.place,
            same_place=m.same_place, phrases=m.phrases,
            reasons=_why(request=request, place=m.place if m.same_place else None,
                         phrases=m.phrases, score=m.score, target=target)))
    return out


def _analysis(stored, text: str) -> Analysis:
    return Analysis.from_dict(stored) if stored else analyze(text)


# -- what one process keeps between suggestions ---------------------------------------------------
# Reading and decoding a community's stored analyses costs more than comparing with them
# (issue 14: 30,000 proposals, an answer in < 200 ms). The analyses are kept per community
# (least recently used first out, at most CACHE_PROPOSALS in all: ~2.5 KB each) and each is
# checked against its proposal's current text, so an edited or recreated proposal is
# analysed again; the gazetteer's learnt places are kept per district with a stamp of the
# operations and active projects they come from.

CACHE_PROPOSALS = 40_000
_lock = threading.Lock()
_analyses: OrderedDict[tuple[int, int], dict[int, Analysis]] = OrderedDict()
_places: dict[int, tuple[tuple, tuple[str, ...]]] = {}
# A prepared textmatch index per community, valid while the same analyses (the same
# objects, in the same order) and the same gazetteer go into it.
_indexes: OrderedDict[tuple[int, int], tuple[tuple, Gazetteer, CommunityIndex]] = OrderedDict()
MAX_INDEXES = 40


def suggestion_cache_clear() -> None:
    with _lock:
        _analyses.clear()
        _places.clear()
        _indexes.clear()


def _analyses_of(cycle_id: int, community_id: int, rows) -> dict[int, Analysis]:
    """The analyses of ``rows`` (id, project id, text), from the cache or the database."""
    key = (cycle_id, community_id)
    with _lock:
        kept = dict(_analyses.get(key) or {})
    missing = [pk for pk, _pid, text in rows if pk not in kept or kept[pk].text != text]
    for start in range(0, len(missing), 500):
        for pk, stored, text in (Proposal.objects.filter(pk__in=missing[start:start + 500])
                                 .values_list("id", "analysis", "text")):
            kept[pk] = _analysis(stored, text)
    current = {pk: kept[pk] for pk, _pid, _text in rows if pk in kept}
    with _lock:
        _analyses[key] = current
        _analyses.move_to_end(key)
        total = sum(len(v) for v in _analyses.values())
        while total > CACHE_PROPOSALS and len(_analyses) > 1:
            _key, dropped = _analyses.popitem(last=False)
            total -= len(dropped)
    return current


def _index_of(cycle_id: int, community_id: int, analyses: list[Analysis],
              gazetteer: Gazetteer) -> CommunityIndex:
    """The community's prepared index, rebuilt when its proposals or the gazetteer changed."""
    key = (cycle_id, community_id)
    stamp = tuple(id(a) for a in analyses)
    with _lock:
        kept = _indexes.get(key)
    if kept is not None and kept[0] == stamp and kept[1] == gazetteer:
        with _lock:
            _indexes.move_to_end(key)
        return kept[2]
    index = CommunityIndex(analyses, gazetteer=gazetteer)
    with _lock:
        _indexes[key] = (stamp, gazetteer, index)
        _indexes.move_to_end(key)
        while len(_indexes) > MAX_INDEXES:
            _indexes.popitem(last=False)
    return index


def _gazetteer(district_id: int) -> Gazetteer:
    """``district_gazetteer``, its learnt places recomputed only when merged proposals changed."""
    known = _admin_names(district_id)
    # Proposals enter and leave projects by workbench operations (an undo marks its own), and
    # a project retires or comes back by its active flag: both small tables, cheap to stamp.
    stamp = (tuple(MergeOperation.objects.filter(cycle__district_id=district_id)
                   .aggregate(last=Max("id"), undone=Count("undone_at")).values())
             + tuple(Project.objects.filter(cycle__district_id=district_id, is_active=True)
                     .aggregate(n=Count("id"), ids=Sum("id")).values())
             + (tuple(sorted(known)),))
    with _lock:
        hit = _places.get(district_id)
    if hit is None or hit[0] != stamp:
        hit = (stamp, _merged_places(district_id, known))
        with _lock:
            _places[district_id] = hit
    return Gazetteer(places=hit[1], admin=tuple(sorted(known)))
