"""Render an :class:`Outcome` as JSON-ready data or as a readable table."""

from __future__ import annotations

from typing import Any

from civicbudget.tally._exact import fmt
from civicbudget.tally.model import Election
from civicbudget.tally.outcome import Outcome, ProjectExplanation


def _num(value: Any) -> Any:
    if value is None:
        return None
    f = value if not hasattr(value, "denominator") else value
    try:
        if f.denominator == 1:
            return int(f.numerator)
        return float(f)
    except AttributeError:
        return value


def outcome_to_json(
    outcome: Outcome, election: Election | None = None, explain: bool = False
) -> dict[str, Any]:
    """Return the outcome as a JSON-serialisable dict (winners, total_cost, rule, ...)."""
    data: dict[str, Any] = {
        "rule": outcome.rule,
        "parameters": dict(outcome.parameters),
        "winners": list(outcome.winners),
        "total_cost": _num(outcome.total_cost),
        "budget": _num(outcome.budget),
        "ties": [
            {"stage": t.stage, "tied": list(t.tied), "chosen": t.chosen} for t in outcome.ties
        ],
        "info": dict(outcome.info),
    }
    if election is not None:
        data["num_voters"] = election.num_voters
        data["num_projects"] = len(election.projects)
    if explain:
        data["explanations"] = [
            {
                "project_id": e.project_id,
                "selected": e.selected,
                "reason": e.reason,
                **{k: (list(v) if isinstance(v, tuple) else v) for k, v in e.details.items()},
            }
            for e in outcome.explanations
        ]
    return data


def describe(e: ProjectExplanation) -> str:
    """Return one sentence saying why this project was or was not selected."""
    d = e.details
    if "constraint" in d:
        return _describe_constraint(e)
    if e.reason == "selected" and "round" in d and "payments" in d:
        pays = [p for p in d["payments"] if p["amount"]]
        parts = ", ".join(f"{p['voters']:,} paid {fmt_num(p['amount'])}" for p in pays[:3])
        more = f" and {len(pays) - 3} other amounts" if len(pays) > 3 else ""
        return f"bought in round {d['round']}: {parts}{more}"
    if e.reason == "selected" and "load" in d:
        return f"bought in round {d['round']}; each supporter's load became {fmt_num(d['load'])}"
    if e.reason in ("selected", "selected-by-completion") and "rank" in d:
        how = "greedy completion: " if e.reason == "selected-by-completion" else ""
        return f"{how}rank {d['rank']}, {d['votes']} votes, {fmt_num(d['budget_left_before'])} left when reached"
    if e.reason == "does-not-fit" and "rank" in d:
        return f"rank {d['rank']}, {d['votes']} votes: costs {fmt_num(d['cost'])}, only {fmt_num(d['budget_left_before'])} left"
    if e.reason == "not-affordable":
        return (
            f"its {d['supporters']} supporters had {fmt_num(d['supporters_money_left'])} left: "
            f"needed {d['cheaper_by_percent']}% lower cost, or {d['more_supporters_needed']} more supporters"
        )
    if e.reason == "below-threshold":
        return f"{d.get('votes')} votes, under the threshold"
    if e.reason == "no-support":
        return "no votes"
    if e.reason == "not-in-optimum":
        return f"utility {fmt_num(d.get('utility'))}: not in the welfare-maximising set"
    if e.reason == "selected":
        return "in the welfare-maximising set" if "utility" in d else "selected"
    if e.reason == "stopped":
        return "the rule stopped before reaching it"
    return e.reason


def _describe_constraint(e: ProjectExplanation) -> str:
    """Say how a category floor or cap decided this project, then the rule's own reason."""
    d = e.details
    c = d["constraint"]
    plain = ProjectExplanation(
        e.project_id,
        e.selected,
        "selected" if e.selected else "does-not-fit",
        type(d)({k: v for k, v in d.items() if k not in ("constraint", "category")}),
    )
    if e.reason == "selected-for-floor":
        how = d.get("by") or describe(plain)
        return f"selected to meet the {c}: {how}"
    if e.reason == "cap":
        return f"skipped because of the {c}"
    if e.reason == "floor-unreachable":
        return f"skipped: taking it would leave the {c} out of reach"
    if e.reason == "displaced-by-floor":
        return f"in the optimum without constraints; left out to meet the {c}"
    return f"{describe(plain)} ({c})"


def fmt_num(value: Any) -> str:
    """Format a number for the table."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return fmt(value, grouping=True)


def explanation_table(outcome: Outcome, election: Election) -> str:
    """Return a fixed-width table: one line per project, winners first in selection order."""
    names = {p.id: p.name for p in election.projects}
    costs = {p.id: p.cost for p in election.projects}
    order = {pid: k for k, pid in enumerate(outcome.winners)}
    rows = sorted(outcome.explanations, key=lambda e: (not e.selected, order.get(e.project_id, 0)))
    header = ("project", "name", "cost", "status", "why")
    lines = []
    for e in rows:
        name = names.get(e.project_id, "")
        name = name if len(name) <= 30 else name[:29] + "…"
        lines.append(
            (
                e.project_id,
                name,
                fmt(costs[e.project_id]),
                "selected" if e.selected else e.reason,
                describe(e),
            )
        )
    widths = [
        max(len(header[i]), *(len(r[i]) for r in lines)) if lines else len(header[i])
        for i in range(4)
    ]
    out = [
        "  ".join(h.ljust(w) for h, w in zip(header[:4], widths, strict=True)) + "  " + header[4]
    ]
    for r in lines:
        out.append("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    return "\n".join(out)
