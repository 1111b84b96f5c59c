"""Read turnout, a voter's ballots, receipts and results."""

from __future__ import annotations

from fractions import Fraction

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


# -- the public results tables -------------------------------------------------------------------


def money_words(yuan) -> str:
    """An amount of yuan as a resident says it: 20000 -> "2万元" in Chinese, "20,000 yuan" otherwise."""
    from django.utils.translation import get_language
    from django.utils.translation import gettext as _

    yuan = int(yuan)
    if (get_language() or "").startswith("zh") and yuan >= 10_000:
        wan = f"{yuan / 10_000:.2f}".rstrip("0").rstrip(".")
        return f"{wan}万元"
    return _("%(n)s yuan") % {"n": f"{yuan:,}"}


def rule_sentence(rule: dict) -> str:
    """The counting rule of a ballot in one sentence a resident understands."""
    from django.utils.translation import gettext as _

    code = rule.get("rule")
    if code == "greedy":
        if rule.get("no_skip"):
            return _("Projects are funded in order of votes, from most to fewest, until the budget runs "
                     "out; counting stops at the first project that no longer fits.")
        return _("Projects are funded in order of votes, from most to fewest, until the budget runs "
                 "out; a project that no longer fits is skipped.")
    if code == "mes":
        sentence = _("The budget is shared out equally among the voters; a project is funded when its "
                     "supporters can pay for it together from their shares, the project that costs each "
                     "supporter least coming first.")
        if str(rule.get("completion", "")).endswith("greedy"):
            sentence += " " + _("Money left over then funds the remaining projects in order of votes.")
        return sentence
    if code == "phragmen":
        return _("Round by round, the project is funded whose supporters, sharing its cost with what "
                 "they already carry, end up carrying least; counting stops when the next project does "
                 "not fit the budget.")
    if code == "max-welfare":
        return _("Of all the sets of projects that fit the budget, the one with the most votes in total "
                 "is funded.")
    return _("Projects are selected by the rule published with the ballot.")


def _why(reason: str, details: dict, rank: int) -> str:
    """Why a project won or lost, in plain words, from the explanation the count stored."""
    from django.utils.translation import gettext as _

    d = details or {}
    left, cost = d.get("budget_left_before"), d.get("cost")
    theme = d.get("category", "")
    if reason == "selected-for-floor":
        return _("selected to meet the floor for the theme “%(theme)s”") % {"theme": theme}
    if reason == "cap":
        return _("not selected: the cap for the theme “%(theme)s” was reached") % {"theme": theme}
    if reason == "floor-unreachable":
        return _("not selected: funding it would leave too little to meet the floor for “%(theme)s”") % {
            "theme": theme}
    if reason == "displaced-by-floor":
        return _("not selected: the money went to meeting the floor for “%(theme)s”") % {"theme": theme}
    if reason == "selected" and "budget_left_before" in d:
        return _("ranked %(rank)d by votes, the budget left was enough: selected") % {"rank": rank}
    if reason == "selected-by-completion":
        return _("ranked %(rank)d by votes, funded from the money left over: selected") % {"rank": rank}
    if reason == "selected" and "supporters" in d:
        return _("its supporters could pay for it from their equal shares (round %(round)s): selected") % {
            "round": d.get("round", "?")}
    if reason == "selected" and "round" in d:
        return _("funded in round %(round)s: selected") % {"round": d["round"]}
    if reason == "selected":
        return _("part of the set of projects with the most votes that fits the budget: selected")
    if reason == "does-not-fit" and left is not None and cost is not None:
        return _("ranked %(rank)d by votes, not enough budget left (%(left)s left, %(cost)s needed): "
                 "not selected") % {"rank": rank, "left": money_words(left), "cost": money_words(cost)}
    if reason == "does-not-fit":
        return _("ranked %(rank)d by votes, it did not fit the budget left: not selected") % {"rank": rank}
    if reason == "stopped":
        return _("ranked %(rank)d by votes, counting had stopped before it: not selected") % {"rank": rank}
    if reason == "no-support":
        return _("no votes: not selected")
    if reason == "below-threshold":
        return _("fewer votes than the minimum required: not selected")
    if reason == "not-affordable":
        return _("its supporters' remaining shares (%(have)s) fell short of its cost (%(cost)s): "
                 "not selected") % {"have": money_words(d.get("supporters_money_left", 0)),
                                    "cost": money_words(cost or 0)}
    if reason == "not-in-optimum":
        return _("not part of the set of projects with the most votes that fits the budget: not selected")
    return _("ranked %(rank)d by votes: not selected") % {"rank": rank}


def result_tables(cycle: Cycle) -> list[dict]:
    """Every counted ballot of ``cycle`` with every project on it, ranked by votes.

    Everything comes from what the count stored (``ScopeResult``: winners, explanations, cost)
    and the frozen ballot (names, costs, budget); nothing is counted again. Only a rule whose
    explanation carries no vote count (max-welfare) has its votes read from the public log.
    """
    from civicbudget.voting.division import is_division, pool_rows

    tables = []
    for result in results(cycle):
        if is_division(result.scope.key):  # shown apart: voting.division.division_table
            continue
        spec = result.scope.spec
        explained = {e["project_id"]: e for e in result.explanations}
        votes = {}
        for p in spec["projects"]:
            d = explained.get(p["id"], {}).get("details") or {}
            votes[p["id"]] = d.get("votes", d.get("supporters"))
        if any(v is None for v in votes.values()):
            from civicbudget.ledger.entry import parse_entry

            counted = dict.fromkeys(votes, 0)
            for data in LogEntry.objects.filter(scope=result.scope).values_list("data", flat=True):
                for pid in parse_entry(data.encode()).projects():
                    counted[str(pid)] = counted.get(str(pid), 0) + 1
            votes = {pid: counted.get(pid, 0) if v is None else v for pid, v in votes.items()}
        winners = set(result.winners)
        ordered = sorted(spec["projects"], key=lambda p: (-int(votes[p["id"]]), p["id"] not in winners,
                                                          p["name"]))
        rows, rank = [], 0
        for i, p in enumerate(ordered, start=1):
            n = int(votes[p["id"]])
            if i == 1 or n != int(votes[ordered[i - 2]["id"]]):
                rank = i  # equal votes share a rank: 1, 2, 2, 4
            e = explained.get(p["id"], {"reason": "not-selected", "details": {}})
            won = p["id"] in winners
            rows.append({
                "rank": rank, "project_id": int(p["id"]), "name": p["name"], "votes": n,
                "cost": int(Fraction(p["cost"])), "won": won,
                "percent": 100 * n / result.num_votes if result.num_votes else 0.0,
                "why": _why(e["reason"], e.get("details") or {}, rank),
            })
        budget = int(Fraction(spec["budget"]))
        bounds = [
            {"theme": b["category"], "floor": kind == "category_min",
             "percent": float(Fraction(b["value"]) * 100) if b["share"] else None,
             "yuan": None if b["share"] else int(Fraction(b["value"]))}
            for kind in ("category_min", "category_max") for b in spec.get("rule", {}).get(kind) or []
        ]
        tables.append({
            "result": result, "rows": rows, "budget": budget, "used": result.total_cost_yuan,
            "used_percent": 100 * result.total_cost_yuan / budget if budget else 0.0,
            "rule_sentence": rule_sentence(result.rule), "won": sum(r["won"] for r in rows),
            "bounds": bounds, "stakeholder_weight": spec.get("stakeholder_weight"),
            "pools": pool_rows(result),
        })
    return tables
