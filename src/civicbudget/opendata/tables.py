"""Every public table of a cycle, as (columns, rows): the one list the CSV, JSON and CLI exports share.

What is left out is left out on purpose: names and phones of proposers and objectors,
voters, identity hashes, phone hashes, staff accounts. Ballots are published separately as
anonymised pabulib files (``pabulib.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Count

from civicbudget.cycles.models import BudgetPool, Cycle


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: Callable[[Cycle], Iterable[tuple]]


def _dt(value) -> str:
    return value.isoformat() if value is not None else ""


def _cycle(cycle):
    yield (cycle.pk, cycle.district.name, cycle.name, cycle.year, cycle.template_key,
           cycle.total_budget_yuan or "", cycle.status)


def _stages(cycle):
    for s in cycle.ordered_stages():
        yield (s.order, s.kind, s.name, _dt(s.opens_at), _dt(s.closes_at), _dt(s.started_at), _dt(s.finished_at))


def _places(cycle):
    for c in cycle.communities.select_related("street").order_by("street__name", "name"):
        yield (c.street.name, c.street.code, c.name, c.code, c.population)


def _pools(cycle):
    for p in BudgetPool.objects.filter(cycle=cycle).select_related("street", "community"):
        yield (p.level, p.street.name if p.street else "", p.community.name if p.community else "", p.amount_yuan)


def _projects(cycle):
    from civicbudget.deliberation.selectors import current_costs
    from civicbudget.proposals.models import Project

    costs = current_costs(cycle)
    qs = (Project.objects.filter(cycle=cycle, is_active=True).select_related("street", "community")
          .annotate(n=Count("proposals")).order_by("street__name", "community__name", "name"))
    for p in qs:
        yield (p.pk, p.level, p.street.name, p.community.name if p.community else "", p.name,
               p.project_type, p.theme, p.n, costs.get(p.pk, ""))


def _proposals(cycle):
    from civicbudget.proposals.models import Proposal

    qs = (Proposal.objects.filter(cycle=cycle).order_by("id")
          .values_list("tracking_code", "street__name", "community__name", "title", "text", "project_type",
                       "proposer_kind", "channel", "submitted_at", "project_id", "outcome__state",
                       "outcome__reason"))
    for row in qs.iterator(2000):
        row = list(row)
        row[8] = _dt(row[8])
        row[9] = row[9] or ""
        row[10] = row[10] or ""
        row[11] = row[11] or ""
        yield tuple(row)


def _screenings(cycle):
    from civicbudget.deliberation.models import Screening, criterion_label

    for s in Screening.objects.filter(cycle=cycle).select_related("project").order_by("project_id"):
        yield (s.project_id, s.project.name, s.is_passed, criterion_label(s.reason_code) if s.reason_code else "",
               s.reason, _dt(s.screened_at))


def _results(cycle):
    from civicbudget.voting.models import ScopeResult

    for r in ScopeResult.objects.filter(scope__cycle=cycle).select_related("scope").order_by("scope__key"):
        names = {p["id"]: p.get("name", "") for p in r.scope.spec.get("projects", [])}
        yield (r.scope.key, r.scope.title, r.rule.get("rule", ""), r.num_votes, r.total_cost_yuan,
               ";".join(r.winners), ";".join(names.get(w, "") for w in r.winners), r.input_hash,
               _dt(r.counted_at))


def _turnout(cycle):
    from civicbudget.voting.selectors import turnout

    t = turnout(cycle)
    for row in t["by_community"]:
        yield ("community", row["community"].name, row["voters"], row["community"].population,
               row["community"].eligible_population or "")
    for channel, n in sorted(t["by_channel"].items()):
        yield ("channel", channel, n, "", "")
    for band, n in sorted(t["by_age"].items()):
        yield ("age_band", band, n, "", "")


def _publications(cycle):
    from civicbudget.results.models import Objection, Publication

    for p in Publication.objects.filter(cycle=cycle).select_related("scope"):
        yield ("publication", p.scope.key, _dt(p.published_at), _dt(p.notice_until), "", "", "")
    for o in Objection.objects.filter(publication__cycle=cycle).select_related("publication__scope"):
        yield ("objection", o.publication.scope.key, _dt(o.filed_at), "", o.text, o.answer, _dt(o.answered_at))


def _outcomes(cycle):
    from civicbudget.results.models import Outcome

    yield from (Outcome.objects.filter(cycle=cycle).values_list("state").annotate(n=Count("id"))
                     .values_list("state", "n").order_by("state"))


def _replies(cycle):
    from civicbudget.results.models import OutboxMessage

    yield from (OutboxMessage.objects.filter(cycle=cycle).values_list("channel", "status")
                               .annotate(n=Count("id")).order_by("channel", "status"))


def _implementations(cycle):
    from civicbudget.delivery.selectors import cycle_progress

    for r in cycle_progress(cycle):
        i = r["impl"]
        yield (i.project_id, i.project.name, i.project.street.name, i.project.project_type, i.step,
               i.due_on.isoformat(), r["overdue"], r["allocation"], r["spent"], r["cofunded"], r["percent"],
               round(r["rating"], 2) if r["rating"] is not None else "", r["ratings"], _dt(i.accepted_at))


def _spendings(cycle):
    from civicbudget.delivery.models import Spending

    for s in Spending.objects.filter(implementation__cycle=cycle).select_related("implementation").order_by("id"):
        yield (s.implementation.project_id, s.spent_on.isoformat(), s.payee, s.description, s.amount_yuan)


def _changes(cycle):
    from civicbudget.delivery.models import AllocationChange

    for c in AllocationChange.objects.filter(implementation__cycle=cycle).select_related("implementation"):
        yield (c.implementation.project_id, c.from_yuan, c.to_yuan, c.reason, _dt(c.approved_at))


def _cofundings(cycle):
    from civicbudget.delivery.models import CoFunding

    for c in CoFunding.objects.filter(implementation__cycle=cycle).select_related("implementation"):
        yield (c.implementation.project_id, c.source, c.funder, c.amount_yuan, c.received_on.isoformat())


def _progress(cycle):
    from civicbudget.delivery.models import ProgressUpdate

    for u in ProgressUpdate.objects.filter(implementation__cycle=cycle).select_related("implementation"):
        yield (u.implementation.project_id, _dt(u.at), u.percent, u.text, u.photo.name if u.photo else "")


def _ratings(cycle):
    from civicbudget.delivery.models import Rating

    for r in Rating.objects.filter(implementation__cycle=cycle).select_related("implementation").order_by("id"):
        yield (r.implementation.project_id, r.score, r.comment, _dt(r.at))


def _evaluation(cycle):
    from civicbudget.delivery.models import AuditFlag, DeputyVerdict, EvaluationReport

    for r in EvaluationReport.objects.filter(cycle=cycle).select_related("implementation"):
        yield ("report", r.implementation.project_id if r.implementation else "", r.evaluator, r.score, r.summary)
    for f in AuditFlag.objects.filter(implementation__cycle=cycle).select_related("implementation"):
        yield ("audit_flag", f.implementation.project_id, f.severity, "", f.finding)
    for v in DeputyVerdict.objects.filter(implementation__cycle=cycle).select_related("implementation"):
        yield ("deputy_verdict", v.implementation.project_id, v.deputy, v.verdict, "")


def _costs(cycle):
    from civicbudget.delivery.selectors import participation_cost

    cost = participation_cost(cycle)
    for row in cost["rows"]:
        yield (row.kind, row.description, row.hours or "", row.amount_yuan)
    yield ("total", f"participants {cost['participants']}", cost["hours"], cost["total"])


def _outreach(cycle):
    from civicbudget.outreach.selectors import outreach_table_rows

    yield from outreach_table_rows(cycle)


TABLES: tuple[Table, ...] = (
    Table("cycle", ("id", "district", "name", "year", "template", "total_budget_yuan", "status"), _cycle),
    Table("stages", ("order", "kind", "name", "opens_at", "closes_at", "started_at", "finished_at"), _stages),
    Table("communities", ("street", "street_code", "community", "community_code", "population"), _places),
    Table("pools", ("level", "street", "community", "amount_yuan"), _pools),
    Table("projects", ("project_id", "level", "street", "community", "name", "type", "theme", "proposals",
                       "cost_yuan"), _projects),
    Table("proposals", ("tracking_code", "street", "community", "title", "text", "type", "proposer_kind",
                        "channel", "submitted_at", "project_id", "final_state", "reason"), _proposals),
    Table("screenings", ("project_id", "project", "passed", "criterion", "reason", "screened_at"), _screenings),
    Table("results", ("scope", "title", "rule", "ballots", "total_cost_yuan", "winner_ids", "winners",
                      "input_hash", "counted_at"), _results),
    Table("turnout", ("by", "key", "voters", "population", "eligible_population"), _turnout),
    Table("publication", ("kind", "scope", "at", "notice_until", "objection", "answer", "answered_at"),
          _publications),
    Table("final_states", ("state", "proposals"), _outcomes),
    Table("replies", ("channel", "status", "messages"), _replies),
    Table("implementation", ("project_id", "project", "street", "type", "step", "due_on", "overdue",
                             "allocation_yuan", "spent_yuan", "cofunded_yuan", "percent_done",
                             "satisfaction", "ratings", "accepted_at"), _implementations),
    Table("spending", ("project_id", "paid_on", "payee", "description", "amount_yuan"), _spendings),
    Table("allocation_changes", ("project_id", "from_yuan", "to_yuan", "reason", "approved_at"), _changes),
    Table("cofunding", ("project_id", "source", "funder", "amount_yuan", "received_on"), _cofundings),
    Table("progress", ("project_id", "at", "percent", "text", "photo"), _progress),
    Table("ratings", ("project_id", "score", "comment", "at"), _ratings),
    Table("evaluation", ("kind", "project_id", "by", "score", "text"), _evaluation),
    Table("participation_cost", ("kind", "description", "hours", "amount_yuan"), _costs),
    Table("outreach", ("by", "code", "channel", "place", "cost_yuan", "proposals", "voters", "ratings",
                       "participants", "cost_per_participant_yuan"), _outreach),
)

BY_NAME = {t.name: t for t in TABLES}
