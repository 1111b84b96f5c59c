"""Open the cycle's ballots for voting when its voting stage starts, and count at its close.

The ballots themselves (projects, final costs, the voting rule per scope) are decided and
frozen in deliberation; here they are copied into ``VotingScope`` rows, the immutable form
the ballot log, the count and the public export all use.
"""

from __future__ import annotations

import datetime as dt

from civicbudget.cycles.models import Cycle, Stage


def ballot_specs(cycle: Cycle) -> list[dict]:
    """Return each frozen ballot of the cycle as {key, title, spec, street, community}."""
    try:
        from civicbudget.deliberation.selectors import voting_ballots
    except ImportError:
        return []
    return voting_ballots(cycle)


def open_scopes(cycle: Cycle, stage: Stage, now: dt.datetime) -> None:
    from civicbudget.voting.division import division_ballot
    from civicbudget.voting.services import scope_open

    ballots = ballot_specs(cycle)
    extra = division_ballot(cycle, ballots)  # the theme division, when the cycle has one
    for ballot in ballots + ([extra] if extra else []):
        scope_open(cycle=cycle, key=ballot["key"], title=ballot["title"], spec=ballot["spec"],
                   street=ballot.get("street"), community=ballot.get("community"))


def count_at_close(cycle: Cycle, stage: Stage, now: dt.datetime) -> None:
    from civicbudget.voting.services import results_count

    results_count(cycle=cycle, now=now)
