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


def phone_watch(cycle: Cycle, *, now=None, hours: int = 24, prefix: int = 10) -> dict:
    """Phones and clients with unusual numbers of code requests, failed attempts or voters.

    Phones and clients appear only as short prefixes of their keyed hashes: enough to tell
    rows apart and to follow one over time, never the number or the address.
    """
    import datetime as dt

    from django.db.models import Sum
    from django.utils import timezone

    from civicbudget.audit.models import AuditEvent
    from civicbudget.voting.models import OneTimeCode, Voter
    from civicbudget.voting.services import SMS_BUDGET_ACTION, phone_limit, sms_budget

    now = now or timezone.now()
    since = now - dt.timedelta(hours=hours)
    codes = OneTimeCode.objects.filter(cycle=cycle, created_at__gte=since)
    limit = phone_limit(cycle)
    phones: dict[str, dict] = {}
    for h, n, failed in (codes.values_list("phone_hash").annotate(n=Count("id"), failed=Sum("attempts"))
                         .values_list("phone_hash", "n", "failed")):
        phones[h] = {"codes": n, "failed": failed or 0, "voters": 0}
    for h, n in (Voter.objects.filter(cycle=cycle).exclude(phone_hash="").values_list("phone_hash")
                 .annotate(n=Count("id")).filter(n__gte=limit).values_list("phone_hash", "n")):
        phones.setdefault(h, {"codes": 0, "failed": 0, "voters": 0})["voters"] = n
    if phones:
        for h, n in (Voter.objects.filter(cycle=cycle, phone_hash__in=list(phones)).values_list("phone_hash")
                     .annotate(n=Count("id")).values_list("phone_hash", "n")):
            phones[h]["voters"] = n
    clients = {h: {"codes": n, "failed": failed or 0, "phones": p} for h, n, failed, p in (
        codes.exclude(client_hash="").values_list("client_hash")
        .annotate(n=Count("id"), failed=Sum("attempts"), p=Count("phone_hash", distinct=True))
        .values_list("client_hash", "n", "failed", "p"))}

    def unusual_phone(row):
        return row["codes"] >= 3 or row["failed"] >= 3 or row["voters"] >= limit

    def unusual_client(row):
        return row["codes"] >= 10 or row["failed"] >= 5 or row["phones"] >= 5

    def rank(rows, keep):
        chosen = [{"hash": h[:prefix], **row} for h, row in rows.items() if keep(row)]
        return sorted(chosen, key=lambda r: (-r["codes"], -r["failed"], r["hash"]))[:200]

    return {
        "hours": hours, "limit": limit, "budget": sms_budget(cycle),
        "sent_last_hour": OneTimeCode.objects.filter(cycle=cycle, created_at__gte=now - dt.timedelta(hours=1)).count(),
        "sent": codes.count(),
        "phones": rank(phones, unusual_phone), "clients": rank(clients, unusual_client),
        "alerts": list(AuditEvent.objects.filter(action=SMS_BUDGET_ACTION, object_type="cycles.cycle",
                                                 object_id=str(cycle.pk)).order_by("-at")[:20]),
    }
