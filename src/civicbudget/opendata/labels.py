"""What each open-data table and column holds, in words a reader of the page understands.

The file and column names stay English (they are the stable format machines read); the
open-data page shows each with this description in the reader's language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

TABLE_LABELS = {
    "cycle": _("The cycle"), "stages": _("Stages and their dates"),
    "communities": _("Participating streets and communities"), "pools": _("Budget pools"),
    "projects": _("Projects"), "proposals": _("Proposals (without names or phones)"),
    "screenings": _("Screening results"), "results": _("Vote results"),
    "turnout": _("Turnout"), "publication": _("Publication and objections"),
    "final_states": _("Final state of the proposals"), "replies": _("Replies to proposers"),
    "implementation": _("Implementation of the winning projects"), "spending": _("Spending"),
    "allocation_changes": _("Changes to allocations"), "cofunding": _("Co-funding"),
    "progress": _("Progress reports"), "ratings": _("Residents' ratings"),
    "evaluation": _("Evaluation"), "participation_cost": _("Cost of participation"),
    "outreach": _("Where participants came from: channels and outreach points"),
}

COLUMN_LABELS = {
    "id": _("number"), "district": _("district"), "name": _("name"), "year": _("year"),
    "template": _("cycle template"), "total_budget_yuan": _("total budget (yuan)"),
    "status": _("status"), "order": _("order"), "kind": _("kind"),
    "opens_at": _("planned opening"), "closes_at": _("planned closing"),
    "started_at": _("started at"), "finished_at": _("finished at"), "street": _("street"),
    "street_code": _("street code"), "community": _("community"),
    "community_code": _("community code"), "population": _("population"), "level": _("level"),
    "amount_yuan": _("amount (yuan)"), "project_id": _("project number"), "type": _("type"),
    "theme": _("theme"), "proposals": _("number of proposals"), "cost_yuan": _("cost (yuan)"),
    "tracking_code": _("tracking code"), "title": _("title"), "text": _("text"),
    "proposer_kind": _("kind of proposer"), "channel": _("channel"),
    "submitted_at": _("submitted at"), "final_state": _("final state"), "reason": _("reason"),
    "project": _("project"), "passed": _("passed"), "criterion": _("criterion"),
    "screened_at": _("screened at"), "scope": _("ballot"), "rule": _("counting rule"),
    "ballots": _("ballots cast"), "total_cost_yuan": _("total cost (yuan)"),
    "winner_ids": _("winning project numbers"), "winners": _("winning projects"),
    "input_hash": _("fingerprint of the counted ballots"), "counted_at": _("counted at"),
    "by": _("grouped by"), "key": _("group"), "voters": _("voters"),
    "eligible_population": _("residents old enough to vote"), "at": _("time"),
    "notice_until": _("notice period ends"), "objection": _("objection"), "answer": _("answer"),
    "answered_at": _("answered at"), "state": _("state"), "messages": _("number of messages"),
    "step": _("step"), "due_on": _("due on"), "overdue": _("overdue"),
    "allocation_yuan": _("allocation (yuan)"), "spent_yuan": _("spent (yuan)"),
    "cofunded_yuan": _("co-funded (yuan)"), "percent_done": _("percent done"),
    "satisfaction": _("satisfaction"), "ratings": _("number of ratings"),
    "accepted_at": _("accepted at"), "paid_on": _("paid on"), "payee": _("payee"),
    "description": _("description"), "from_yuan": _("from (yuan)"), "to_yuan": _("to (yuan)"),
    "approved_at": _("approved at"), "source": _("source"), "funder": _("funder"),
    "received_on": _("received on"), "percent": _("percent"), "photo": _("photo"),
    "score": _("score"), "comment": _("comment"), "hours": _("hours"),
    "code": _("outreach point code"), "place": _("place"),
    "participants": _("participations brought"),
    "cost_per_participant_yuan": _("cost per participant (yuan)"),
}


def described_tables(tables) -> list[dict]:
    """Each table with its description and its columns as (name, description) pairs."""
    return [{"name": t.name, "label": TABLE_LABELS.get(t.name, ""),
             "columns": [(c, COLUMN_LABELS.get(c, "")) for c in t.columns]} for t in tables]
