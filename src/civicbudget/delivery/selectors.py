"""Read implementations, money, overdue alerts and evaluation figures for the public pages."""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from civicbudget.cycles.models import Cycle
from civicbudget.delivery.models import (
    AuditFlag,
    DeputyVerdict,
    EvaluationReport,
    Implementation,
    ParticipationCost,
    ProgressUpdate,
    Rating,
)
from civicbudget.proposals.models import Proposal
from civicbudget.voting.models import Voter


def implementations(cycle: Cycle):
    return (Implementation.objects.filter(cycle=cycle)
            .select_related("project__street", "project__community", "body")
            .annotate(spent=Sum("spendings__amount_yuan", distinct=False))
            .order_by("body__name", "project__name"))


def cycle_progress(cycle: Cycle, *, today: dt.date | None = None) -> list[dict]:
    """One row per implementation: money, co-funding, progress, rating, overdue."""
    today = today or timezone.localdate()
    impls = list(Implementation.objects.filter(cycle=cycle)
                 .select_related("project__street", "project__community")
                 .order_by("project__street__name", "project__name"))
    ids = [i.pk for i in impls]

    def per(model_qs, value):
        return dict(model_qs.filter(implementation_id__in=ids).values_list("implementation_id")
                    .annotate(v=value).values_list("implementation_id", "v"))

    from civicbudget.delivery.models import CoFunding, Spending

    spent = per(Spending.objects, Sum("amount_yuan"))
    cofunded = per(CoFunding.objects, Sum("amount_yuan"))
    ratings = per(Rating.objects, Avg("score"))
    rating_n = per(Rating.objects, Count("id"))
    latest: dict[int, int] = {}
    for impl_id, percent in (ProgressUpdate.objects.filter(implementation_id__in=ids)
                             .order_by("implementation_id", "at", "id").values_list("implementation_id", "percent")):
        latest[impl_id] = percent
    open_flags: dict[int, list] = {}
    for flag in (AuditFlag.objects.filter(implementation_id__in=ids, resolved_at__isnull=True)
                 .order_by("raised_at", "id")):
        open_flags.setdefault(flag.implementation_id, []).append(flag)
    rows = []
    for i in impls:
        rows.append({
            "open_flags": open_flags.get(i.pk, []),
            "impl": i, "project": i.project, "allocation": i.allocation_yuan, "spent": spent.get(i.pk, 0),
            "cofunded": cofunded.get(i.pk, 0), "percent": 100 if i.is_finished else latest.get(i.pk, 0),
            "rating": ratings.get(i.pk), "ratings": rating_n.get(i.pk, 0),
            "overdue": not i.is_finished and i.due_on < today,
        })
    return rows


def overdue(cycle: Cycle, *, today: dt.date | None = None):
    """Implementations past their deadline and not accepted: the alerts staff see first."""
    today = today or timezone.localdate()
    return (Implementation.objects.filter(cycle=cycle, due_on__lt=today).exclude(step="done")
            .select_related("project__street", "project__community").order_by("due_on"))


def implementation_detail(implementation: Implementation) -> dict:
    verdicts = dict(implementation.verdicts.values_list("verdict").annotate(n=Count("id"))
                    .values_list("verdict", "n"))
    agg = implementation.ratings.aggregate(avg=Avg("score"), n=Count("id"))
    return {
        "milestones": list(implementation.milestones.all()),
        "updates": list(implementation.updates.all()),
        "spendings": list(implementation.spendings.all()),
        "spent": sum(s.amount_yuan for s in implementation.spendings.all()),
        "changes": list(implementation.changes.all()),
        "cofundings": list(implementation.cofundings.all()),
        "rating": agg["avg"], "ratings": agg["n"],
        "comments": list(implementation.ratings.exclude(comment="").order_by("-at")[:20]),
        "reports": list(implementation.reports.all()),
        "flags": list(implementation.flags.all()),
        "verdicts": {v: verdicts.get(v, 0) for v in DeputyVerdict.Verdict.values},
    }


def satisfaction(cycle: Cycle) -> dict:
    agg = Rating.objects.filter(implementation__cycle=cycle).aggregate(avg=Avg("score"), n=Count("id"))
    dist = dict(Rating.objects.filter(implementation__cycle=cycle).values_list("score")
                .annotate(n=Count("id")).values_list("score", "n"))
    reports = EvaluationReport.objects.filter(cycle=cycle).aggregate(avg=Avg("score"), n=Count("id"))
    verdicts = dict(DeputyVerdict.objects.filter(implementation__cycle=cycle).values_list("verdict")
                    .annotate(n=Count("id")).values_list("verdict", "n"))
    total_verdicts = sum(verdicts.values())
    return {"avg": agg["avg"], "n": agg["n"], "by_score": {s: dist.get(s, 0) for s in range(1, 6)},
            "report_avg": reports["avg"], "reports": reports["n"], "verdicts": verdicts,
            "deputy_satisfied_share": ((verdicts.get("satisfied", 0) + verdicts.get("fairly", 0)) / total_verdicts)
            if total_verdicts else None}


def participants(cycle: Cycle) -> int:
    """People who took part: voters and proposers, a phone seen in both counted once."""
    voter_phones = set(Voter.objects.filter(cycle=cycle).exclude(phone_hash="").values_list("phone_hash", flat=True))
    voters_without = Voter.objects.filter(cycle=cycle, phone_hash="").count()
    proposer_phones = set(Proposal.objects.filter(cycle=cycle).exclude(phone_hash="")
                          .values_list("phone_hash", flat=True))
    proposals_without = Proposal.objects.filter(cycle=cycle, phone_hash="").count()
    return len(voter_phones | proposer_phones) + voters_without + proposals_without


def participation_cost(cycle: Cycle) -> dict:
    by_kind = dict(ParticipationCost.objects.filter(cycle=cycle).values_list("kind")
                   .annotate(s=Sum("amount_yuan")).values_list("kind", "s"))
    hours = ParticipationCost.objects.filter(cycle=cycle).aggregate(h=Sum("hours"))["h"] or 0
    total = sum(by_kind.values())
    people = participants(cycle)
    return {"by_kind": by_kind, "total": total, "hours": hours, "participants": people,
            # Nothing recorded is "not published yet", not "free".
            "per_participant": round(total / people, 2) if people and total else None,
            "rows": list(ParticipationCost.objects.filter(cycle=cycle))}


def money_totals(cycle: Cycle) -> dict:
    from civicbudget.delivery.models import CoFunding, Spending

    allocation = Implementation.objects.filter(cycle=cycle).aggregate(s=Sum("allocation_yuan"))["s"] or 0
    spent = Spending.objects.filter(implementation__cycle=cycle).aggregate(s=Sum("amount_yuan"))["s"] or 0
    cofunded = dict(CoFunding.objects.filter(implementation__cycle=cycle).values_list("source")
                    .annotate(s=Sum("amount_yuan")).values_list("source", "s"))
    counts = Implementation.objects.filter(cycle=cycle).aggregate(
        n=Count("id"), done=Count("id", filter=Q(step="done")))
    return {"allocation": allocation, "spent": spent, "cofunded": cofunded,
            "cofunded_total": sum(cofunded.values()), "projects": counts["n"], "done": counts["done"]}
