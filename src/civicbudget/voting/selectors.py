"""Read turnout, a voter's ballots, receipts and results."""

from __future__ import annotations

from django.db.models import Count

from civicbudget.cycles.models import Cycle
from civicbudget.voting.models import (
    LogEntry,
    PaperEntry,
    Participation,
    ScopeResult,
    VotingChannel,
    VotingScope,
    scope_keys,
)


def turnout(cycle: Cycle) -> dict:
    """Live turnout: voters per community and per channel (counts only, never who)."""
    voters = (Participation.objects.filter(cycle=cycle).values("voter_id").distinct().count())
    by_channel = dict(Participation.objects.filter(cycle=cycle, scope__key__startswith="community:")
                      .values_list("channel").annotate(n=Count("id")).values_list("channel", "n"))
    by_community = dict(Participation.objects.filter(cycle=cycle, scope__key__startswith="community:")
                        .values_list("voter__community_id").annotate(n=Count("id"))
                        .values_list("voter__community_id", "n"))
    by_age = dict(Participation.objects.filter(cycle=cycle, scope__key__startswith="community:")
                  .values_list("voter__age_band").annotate(n=Count("id"))
                  .values_list("voter__age_band", "n"))
    communities = list(cycle.communities.select_related("street").order_by("street__code", "name"))
    rows = []
    for c in communities:
        n, base = by_community.get(c.pk, 0), turnout_base(c)
        rows.append({"community": c, "voters": n, "base": base, "rate": n / base if base else None})
    population = sum(c.population for c in communities)
    base = sum(r["base"] for r in rows)
    eligible_known = [c.eligible_population > 0 for c in communities]
    labels = dict(VotingChannel.choices)
    return {"voters": voters, "by_channel": by_channel, "by_community": rows, "by_age": by_age,
            "channel_rows": [(labels.get(k, k), n) for k, n in sorted(by_channel.items())],
            "population": population, "base": base,
            # What turnout is measured against: residents of voting age where every community
            # gives that figure, all residents where none does, a mix otherwise.
            "base_kind": ("eligible" if eligible_known and all(eligible_known)
                          else "mixed" if any(eligible_known) else "residents"),
            "rate": voters / base if base else None,
            "percent": round(100 * voters / base, 2) if base else None}


def turnout_base(community) -> int:
    """The residents a community's turnout counts against: those of voting age when known."""
    return community.eligible_population or community.population


def scopes(cycle: Cycle) -> list[VotingScope]:
    return list(VotingScope.objects.filter(cycle=cycle).select_related("street", "community"))


def results(cycle: Cycle) -> list[ScopeResult]:
    return list(ScopeResult.objects.filter(scope__cycle=cycle).select_related("scope").order_by("scope__key"))


def reconciliation(station) -> list[dict]:
    """Per scope of a station's box: ballots handed out, logged, waiting and in review."""
    rows = []
    for scope in VotingScope.objects.filter(
            cycle_id=station.cycle_id,
            key__in=scope_keys(station.community_id, station.community.street_id)):
        issued = Participation.objects.filter(station=station, scope=scope).count()
        logged = LogEntry.objects.filter(station=station, scope=scope).count()
        states = dict(PaperEntry.objects.filter(station=station, scope=scope)
                      .values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        rows.append({"scope": scope, "issued": issued, "logged": logged,
                     "waiting": states.get("waiting", 0), "conflict": states.get("conflict", 0) // 2,
                     "balanced": issued == logged})
    return rows


def offline_conflicts(station) -> list:
    from civicbudget.voting.models import OfflineCheckIn

    return list(OfflineCheckIn.objects.filter(station=station).exclude(state="accepted")
                .select_related("synced_by", "resolved_by").order_by("checked_in_at"))


def review_queue(station) -> list[PaperEntry]:
    return list(PaperEntry.objects.filter(station=station, state=PaperEntry.State.CONFLICT)
                .select_related("scope", "officer").order_by("scope_id", "number", "id"))
