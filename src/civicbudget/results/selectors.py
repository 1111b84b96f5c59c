"""Read publications, objections, final states, replies and the outbox.

``outcome_facts`` gathers, in a handful of queries, everything that decides a proposal's
final state: the screening, the ballot a project stood on, the winners and the votes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from civicbudget.cycles.models import Cycle
from civicbudget.deliberation.models import BallotItem, Screening, criterion_label
from civicbudget.ledger.entry import parse_entry
from civicbudget.proposals.models import Proposal
from civicbudget.results.models import (
    FinalState,
    Objection,
    OutboxMessage,
    Outcome,
    Publication,
    Reply,
)
from civicbudget.voting.models import LogEntry, ScopeResult, VotingScope


@dataclass
class OutcomeFacts:
    """What is known about each project of a cycle once the vote is counted."""

    screened_out: dict[int, str] = field(default_factory=dict)  # project -> reason quoted
    on_ballot: set[int] = field(default_factory=set)
    winners: set[int] = field(default_factory=set)
    votes: dict[int, int] = field(default_factory=dict)
    proposals_per_project: dict[int, int] = field(default_factory=dict)


def outcome_facts(cycle: Cycle) -> OutcomeFacts:
    facts = OutcomeFacts()
    for s in Screening.objects.filter(cycle=cycle, is_passed=False).only(
            "project_id", "reason_code", "reason"):
        label = criterion_label(s.reason_code) if s.reason_code else ""
        facts.screened_out[s.project_id] = "：".join(x for x in (label, s.reason) if x)[:500]
    scope_ids = []
    for scope in VotingScope.objects.filter(cycle=cycle).exclude(key__startswith="division:").only("id", "spec"):
        scope_ids.append(scope.pk)
        facts.on_ballot.update(int(p["id"]) for p in scope.spec.get("projects", []))
    if not scope_ids:
        # A cycle decided by a body (no resident vote) still has frozen ballots.
        facts.on_ballot.update(BallotItem.objects.filter(ballot__cycle=cycle, ballot__frozen_at__isnull=False)
                               .values_list("project_id", flat=True))
    for winners in ScopeResult.objects.filter(scope__cycle=cycle).values_list("winners", flat=True):
        facts.winners.update(int(w) for w in winners)
    if not scope_ids:
        from civicbudget.deliberation.selectors import decided_projects

        facts.winners.update(p.pk for p in decided_projects(cycle))
    # One pass over the public ballot log: approvals (or mentions) per project.
    for data in LogEntry.objects.filter(scope_id__in=scope_ids).values_list("data", flat=True).iterator(2000):
        for pid in parse_entry(data.encode()).projects():
            facts.votes[int(pid)] = facts.votes.get(int(pid), 0) + 1
    facts.proposals_per_project = dict(
        Proposal.objects.filter(cycle=cycle, project__isnull=False).values_list("project_id")
        .annotate(n=Count("id")).values_list("project_id", "n"))
    return facts


def final_state_of(project_id: int | None, facts: OutcomeFacts) -> tuple[str, str]:
    """Return (state, reason) for a proposal behind ``project_id`` (None: never merged)."""
    if project_id is None:
        return FinalState.SCREENED_OUT, ""
    if project_id in facts.screened_out:
        return FinalState.SCREENED_OUT, facts.screened_out[project_id]
    if project_id not in facts.on_ballot:
        return FinalState.NOT_SHORTLISTED, ""
    alone = facts.proposals_per_project.get(project_id, 1) <= 1
    if project_id in facts.winners:
        return (FinalState.SELECTED if alone else FinalState.MERGED_SELECTED), ""
    return (FinalState.NOT_ENOUGH_VOTES if alone else FinalState.MERGED_NOT_SELECTED), ""


def publications(cycle: Cycle) -> list[Publication]:
    return list(Publication.objects.filter(cycle=cycle).select_related("scope__result")
                .annotate(objection_count=Count("objections"),
                          open_count=Count("objections", filter=Q(objections__answered_at__isnull=True)))
                .order_by("scope__key"))


def objections(cycle: Cycle) -> list[Objection]:
    return list(Objection.objects.filter(publication__cycle=cycle).select_related(
        "publication__scope", "answered_by").order_by("filed_at", "id"))


def outcome_counts(cycle: Cycle) -> dict[str, int]:
    counts = dict(Outcome.objects.filter(cycle=cycle).values_list("state")
                  .annotate(n=Count("id")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in FinalState.values}


def outbox_counts(cycle: Cycle) -> dict[str, dict[str, int]]:
    rows = (OutboxMessage.objects.filter(cycle=cycle).values_list("channel", "status")
            .annotate(n=Count("id")))
    out: dict[str, dict[str, int]] = {}
    for channel, status, n in rows:
        out.setdefault(channel, {})[status] = n
    return out


def reply_for_proposal(proposal: Proposal) -> Reply | None:
    return Reply.objects.filter(proposal=proposal).select_related("outcome__project").first()


def replies(cycle: Cycle, *, community_id: int | None = None):
    qs = (Reply.objects.filter(cycle=cycle).select_related("proposal__community", "proposal__street",
                                                          "outcome")
          .order_by("proposal__community__street_id", "proposal__community_id", "proposal_id"))
    if community_id:
        qs = qs.filter(proposal__community_id=community_id)
    return qs
