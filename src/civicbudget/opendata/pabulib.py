"""Each ballot scope of a cycle as an anonymised pabulib ``.pb`` file.

The election is built by the ledger's ``scope_election`` and written by the tally's
``format_pabulib`` (one writer for the platform). Anonymised: ballots are sorted by their
content and numbered 1..n, so a line ties to no log entry, time, channel or polling point.
"""

from __future__ import annotations

from civicbudget.cycles.models import Cycle
from civicbudget.ledger.entry import parse_entry
from civicbudget.ledger.export import scope_election
from civicbudget.tally import Ballot, election_from_ballots, format_pabulib
from civicbudget.voting import logstore
from civicbudget.voting.models import LogEntry, VotingScope


def scope_pb(cycle: Cycle, scope: VotingScope) -> str:
    spec = logstore.spec_from_json(scope.spec)
    entries = [parse_entry(d.encode()) for d in
               LogEntry.objects.filter(scope=scope).order_by("seq").values_list("data", flat=True)]
    election = scope_election(logstore.cycle_label(cycle), spec, entries)
    ballots = sorted(election.ballots(), key=lambda b: (b.projects, b.points or ()))
    anonymous = [Ballot(str(n), b.projects, b.points) for n, b in enumerate(ballots, start=1)]
    meta = dict(election.meta)
    meta["description"] = f"{cycle.district.name} {cycle.name} · {scope.title} ({scope.key}), anonymised"
    meta["country"] = "China"
    meta["unit"] = scope.title
    anonymised = election_from_ballots(list(election.projects), election.budget, anonymous,
                                       election.vote_type, meta)
    return format_pabulib(anonymised)


def scope_filename(scope: VotingScope) -> str:
    return scope.key.replace(":", "_") + ".pb"


def scope_files(cycle: Cycle) -> dict[str, str]:
    return {scope_filename(s): scope_pb(cycle, s) for s in VotingScope.objects.filter(cycle=cycle).exclude(key__startswith="division:").order_by("key")}
