"""Reads of outreach: what each outreach point and channel brought, and what it cost.

``outreach_figures`` is the one source of these figures for the statistics page and the
open-data export. A participant here is one participation brought: a proposal, a voter who
voted (counted once whatever the number of ballots: the source sits on the voter, never on
a ballot) or a rating. One resident who proposes and later votes counts twice, as the
source document counts proposals and voters separately.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from civicbudget.cycles.models import Cycle
from civicbudget.outreach.models import OutreachChannel, OutreachPoint


@dataclass(frozen=True)
class Figures:
    key: str  # the point's code or the channel's key
    label: str
    channel: str
    place: str
    cost_yuan: int
    proposals: int
    voters: int
    ratings: int

    @property
    def participants(self) -> int:
        return self.proposals + self.voters + self.ratings

    @property
    def cost_per_participant(self) -> int | None:
        """Integer yuan, rounded half up; None when nobody came (not "free", not infinite)."""
        if not self.participants:
            return None
        return (self.cost_yuan * 2 + self.participants) // (2 * self.participants)


def _counts(cycle: Cycle) -> tuple[dict, dict, dict]:
    from civicbudget.delivery.models import Rating
    from civicbudget.proposals.models import Proposal
    from civicbudget.voting.models import Voter

    proposals = dict(Proposal.objects.filter(cycle=cycle).exclude(source="").values_list("source")
                     .annotate(n=Count("id")).values_list("source", "n"))
    voters = dict(Voter.objects.filter(cycle=cycle, participations__isnull=False).exclude(source="")
                  .values_list("source").annotate(n=Count("id", distinct=True)).values_list("source", "n"))
    ratings = dict(Rating.objects.filter(implementation__cycle=cycle).exclude(source="")
                   .values_list("source").annotate(n=Count("id")).values_list("source", "n"))
    return proposals, voters, ratings


def outreach_figures(cycle: Cycle) -> dict:
    """Return {"points": [Figures], "channels": [Figures], "total": Figures} for ``cycle``."""
    points = list(OutreachPoint.objects.filter(cycle=cycle).order_by("channel", "code"))
    proposals, voters, ratings = _counts(cycle)
    labels = dict(OutreachChannel.choices)
    rows = [Figures(key=p.code, label=p.code, channel=p.channel, place=p.place, cost_yuan=p.cost_yuan,
                    proposals=proposals.get(p.code, 0), voters=voters.get(p.code, 0),
                    ratings=ratings.get(p.code, 0)) for p in points]
    channels = []
    for channel in OutreachChannel.values:
        mine = [r for r in rows if r.channel == channel]
        if mine:
            channels.append(Figures(
                key=channel, label=str(labels[channel]), channel=channel, place="",
                cost_yuan=sum(r.cost_yuan for r in mine), proposals=sum(r.proposals for r in mine),
                voters=sum(r.voters for r in mine), ratings=sum(r.ratings for r in mine)))
    total = Figures(key="total", label="", channel="", place="", cost_yuan=sum(r.cost_yuan for r in rows),
                    proposals=sum(r.proposals for r in rows), voters=sum(r.voters for r in rows),
                    ratings=sum(r.ratings for r in rows))
    return {"cycle": cycle, "points": rows, "channels": channels, "total": total}


def point_choices(cycle: Cycle) -> list[tuple[str, str]]:
    """The cycle's points as (code, "place · channel") for a staff form's select."""
    labels = dict(OutreachChannel.choices)
    return [(p.code, f"{p.place or p.code} · {labels.get(p.channel, p.channel)}")
            for p in OutreachPoint.objects.filter(cycle=cycle).order_by("channel", "code")]


def outreach_table_rows(cycle: Cycle):
    """The open-data table: one row per channel, then one per point (the same figures as the page)."""
    figures = outreach_figures(cycle)
    for kind, rows in (("channel", figures["channels"]), ("point", figures["points"])):
        for r in rows:
            cpp = r.cost_per_participant
            yield (kind, r.key, r.channel, r.place, r.cost_yuan, r.proposals, r.voters, r.ratings,
                   r.participants, "" if cpp is None else cpp)
