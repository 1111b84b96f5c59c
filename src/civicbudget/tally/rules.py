"""One entry point for every rule: :func:`tally` (election + :class:`RuleSpec` -> :class:`Outcome`).

Rules: ``greedy``, ``mes`` (with completion ``none``, ``add1``, ``add1-noexh``, each
optionally followed by greedy: ``add1-greedy``, ``add1-noexh-greedy``), ``phragmen``,
``max-welfare``. :data:`REFERENCE_RULES` maps the rule keys of pabulib's ``reference.json``
to specs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from civicbudget.tally._exact import Q, to_fraction
from civicbudget.tally.constrained import max_welfare_constrained, mes_constrained
from civicbudget.tally.constraints import CategoryBound, Constraints
from civicbudget.tally.greedy import greedy, greedy_constrained, greedy_order
from civicbudget.tally.limits import check_election, parse_number
from civicbudget.tally.mes import mes_with_completion
from civicbudget.tally.model import Election
from civicbudget.tally.outcome import Outcome, ProjectExplanation, TieBreak
from civicbudget.tally.phragmen import sequential_phragmen
from civicbudget.tally.profile import UTILITIES, Prepared, prepare
from civicbudget.tally.tiebreak import TIE_BREAKS, tie_keys
from civicbudget.tally.welfare import max_welfare

RULES = ("greedy", "mes", "mes-add1", "phragmen", "max-welfare")
COMPLETIONS = ("none", "add1", "add1-greedy", "add1-noexh", "add1-noexh-greedy", "greedy")


@dataclass(frozen=True)
class RuleSpec:
    """A rule and its parameters.

    ``utility``: ``cost`` | ``cardinality`` | ``points`` | ``points-cost``; None picks
    ``cost`` for approval ballots and ``points-cost`` for greedy and max-welfare, ``points``
    for MES, on points and ranked ballots. ``completion`` applies to MES. ``threshold``
    (greedy) keeps projects whose votes (score) reach it; ``"meta"`` reads the file's
    ``min_project_score_threshold``. ``fund_unsupported`` (greedy) funds projects without
    votes when money is left, as pabutools does; ``no_skip`` stops greedy at the first
    project that does not fit. ``completion_utility`` is the utility of the greedy that
    completes MES (``...-greedy``); None means greedy by votes (``cost``) on approval
    ballots and by score (``points-cost``) on points ballots, whatever MES used, as the
    reference does. ``category_min`` / ``category_max``: category floors and caps
    (:class:`~civicbudget.tally.constraints.CategoryBound`; greedy, MES and max-welfare:
    see docs/tally.md); without them every rule runs exactly as before.
    """

    rule: str = "mes"
    utility: str | None = None
    completion: str = "none"
    tie_break: str = "lexicographic"
    threshold: Any = None
    fund_unsupported: bool = True
    no_skip: bool = False
    completion_utility: str | None = None
    category_min: tuple[CategoryBound, ...] = ()
    category_max: tuple[CategoryBound, ...] = ()

    @property
    def constrained(self) -> bool:
        """Return True when the spec has category floors or caps."""
        return bool(self.category_min or self.category_max)

    def validate(self) -> RuleSpec:
        """Return the spec with ``mes-add1`` expanded; raise ValueError when invalid."""
        spec = self
        if spec.rule == "mes-add1":
            spec = replace(
                spec,
                rule="mes",
                completion="add1" if spec.completion == "none" else spec.completion,
            )
        if spec.rule not in RULES:
            raise ValueError(f"unknown rule {spec.rule!r}; choose from {', '.join(RULES)}")
        if spec.utility is not None and spec.utility not in UTILITIES:
            raise ValueError(
                f"unknown utility {spec.utility!r}; choose from {', '.join(UTILITIES)}"
            )
        if spec.completion not in COMPLETIONS:
            raise ValueError(
                f"unknown completion {spec.completion!r}; choose from {', '.join(COMPLETIONS)}"
            )
        if spec.completion != "none" and spec.rule != "mes":
            raise ValueError("--completion applies to the rule mes only")
        if spec.tie_break not in TIE_BREAKS:
            raise ValueError(
                f"unknown tie-break {spec.tie_break!r}; choose from {', '.join(TIE_BREAKS)}"
            )
        if spec.constrained:
            if spec.rule == "phragmen":
                raise ValueError(
                    "category floors and caps apply to greedy, mes and max-welfare, not phragmen"
                )
            if spec.no_skip:
                raise ValueError("--no-skip cannot be combined with category floors and caps")
        return spec


REFERENCE_RULES: dict[str, RuleSpec] = {
    "greedy_votes": RuleSpec("greedy", "cost"),
    "greedy_score": RuleSpec("greedy", "points-cost"),
    "greedy_votes_threshold": RuleSpec("greedy", "cost", threshold="meta"),
    "greedy_score_threshold": RuleSpec("greedy", "points-cost", threshold="meta"),
    "seq_phragmen": RuleSpec("phragmen", "cardinality"),
    "max_welfare_cost": RuleSpec("max-welfare", "cost"),
    "max_welfare_points_cost": RuleSpec("max-welfare", "points-cost"),
}
for _u, _name in (
    ("cost", "cost"),
    ("card", "cardinality"),
    ("points", "points"),
    ("points_cost", "points-cost"),
):
    REFERENCE_RULES[f"mes_{_u}"] = RuleSpec("mes", _name)
    for _c in ("add1", "add1_noexh"):
        REFERENCE_RULES[f"mes_{_u}_{_c}"] = RuleSpec("mes", _name, _c.replace("_", "-"))
        REFERENCE_RULES[f"mes_{_u}_{_c}_greedy"] = RuleSpec(
            "mes", _name, _c.replace("_", "-") + "-greedy"
        )


def _default_utility(election: Election, rule: str) -> str:
    if election.vote_type in ("approval", "choose-1"):
        return "cardinality" if rule == "phragmen" else "cost"
    return "points" if rule == "mes" else "points-cost"


def _num(value: Any) -> Any:
    """Return an exact number in JSON-friendly form: int when integral, else a float.

    Only for display: every value shown is a cost, budget, price or payment of an election
    within the limits (checked by :func:`tally`), so float() neither overflows nor loses it
    to 0 (Fraction's float() divides the integers with correct rounding).
    """
    f = to_fraction(value)
    return f.numerator if f.denominator == 1 else float(f)


class TallyCache:
    """Reuse work across several rules on one election: merged ballots and MES runs.

    Pass the same cache to :func:`tally` calls on the same election (e.g. MES + Add1 and
    MES + Add1 + greedy share their MES part).
    """

    def __init__(self, election: Election) -> None:
        self.election = election
        self.prepared: dict[str, Prepared] = {}
        self.mes: dict[tuple[str, str, str, bool], Any] = {}
        self.add1_steps: dict[tuple[str, str], dict] = {}

    def get(self, utility: str) -> Prepared:
        """Return the merged ballots for ``utility``."""
        if utility not in self.prepared:
            self.prepared[utility] = prepare(self.election, utility)
        return self.prepared[utility]


def tally(
    election: Election,
    spec: RuleSpec | None = None,
    *,
    explain: bool = True,
    cache: TallyCache | None = None,
) -> Outcome:
    """Compute the outcome of ``spec`` (default: MES with cost utilities) on ``election``.

    Raise ``ValueError`` for an invalid spec, and :class:`~civicbudget.tally.limits.LimitError`
    (a ``ValueError``) when the election exceeds the documented limits.
    """
    spec = (spec or RuleSpec()).validate()
    check_election(election)
    if spec.rule == "phragmen" and election.vote_type not in ("approval", "choose-1"):
        raise ValueError("sequential Phragmén applies to approval and choose-1 ballots only")
    utility = spec.utility or _default_utility(election, spec.rule)
    cache = cache or TallyCache(election)
    prep = cache.get(utility)
    keys = tie_keys(election, spec.tie_break, prep.supporters)
    ids = election.project_ids()
    budget = Q(election.budget)
    explanations: dict[int, ProjectExplanation] = {}
    ties: list[TieBreak] = []
    info: dict[str, Any] = {}
    threshold = spec.threshold
    if threshold == "meta":
        raw = election.meta.get("min_project_score_threshold", "").strip()
        threshold = (
            parse_number(raw, "min_project_score_threshold")
            if raw and raw.lower() != "none"
            else None
        )
    params: dict[str, Any] = {
        "rule": spec.rule,
        "utility": utility,
        "tie_break": spec.tie_break,
    }
    cons: Constraints | None = None
    bounds: tuple[tuple[CategoryBound, ...], tuple[CategoryBound, ...]] = ((), ())
    if spec.constrained:
        b_f = Fraction(election.budget)
        # shares are of the election's budget, also in Add1's runs with more money
        bounds = (
            tuple(CategoryBound(b.category, b.amount(b_f), False) for b in spec.category_min),
            tuple(CategoryBound(b.category, b.amount(b_f), False) for b in spec.category_max),
        )
        eligible = None
        if spec.rule == "greedy":
            eligible = greedy_order(
                prep, keys, threshold=threshold, fund_unsupported=spec.fund_unsupported
            )[1]
        cats = [p.category for p in election.projects]

        def make_cons(money: Any, eligible: Any = eligible) -> Constraints:
            return Constraints(prep.costs, cats, money, *bounds, eligible=eligible)

        cons = make_cons(b_f)
        cons.check()
        params["category_min"] = [b.label() for b in spec.category_min]
        params["category_max"] = [b.label() for b in spec.category_max]
    if spec.rule == "greedy" and cons is not None:
        params.update(
            threshold=None if threshold is None else _num(threshold),
            fund_unsupported=spec.fund_unsupported,
            no_skip=spec.no_skip,
        )
        selected, steps, gties = greedy_constrained(
            prep,
            budget,
            keys,
            cons,
            threshold=threshold,
            fund_unsupported=spec.fund_unsupported,
        )
        ties += [TieBreak("greedy order", tuple(ids[t] for t in g), ids[c]) for g, c in gties]
        if explain:
            _explain_greedy(prep, steps, ids, explanations)
    elif spec.rule == "greedy":
        params.update(
            threshold=None if threshold is None else _num(threshold),
            fund_unsupported=spec.fund_unsupported,
            no_skip=spec.no_skip,
        )
        selected, steps, gties = greedy(
            prep,
            budget,
            keys,
            threshold=threshold,
            fund_unsupported=spec.fund_unsupported,
            no_skip=spec.no_skip,
        )
        ties += [TieBreak("greedy order", tuple(ids[t] for t in g), ids[c]) for g, c in gties]
        if explain:
            for st in steps:
                explanations[st.project] = ProjectExplanation(
                    ids[st.project],
                    st.selected,
                    st.reason,
                    MappingProxyType(
                        {
                            "rank": st.rank or None,
                            "votes": prep.weight_total[st.project],
                            "score_per_cost": _num(st.score),
                            "budget_left_before": None
                            if st.budget_left is None
                            else _num(st.budget_left),
                            "cost": _num(prep.costs[st.project]),
                        }
                    ),
                )
    elif spec.rule == "mes":
        base = spec.completion.replace("-greedy", "") if spec.completion != "greedy" else "none"
        then_greedy = spec.completion.endswith("greedy")
        params["completion"] = spec.completion
        memo = (utility, base, spec.tie_break, explain)
        result = cache.mes.get(memo) if cons is None else None
        if cons is not None:
            gprep = cache.get(spec.completion_utility or _default_utility(election, "greedy"))
            fill = greedy_order(gprep, keys)[1]
            result = mes_constrained(
                prep,
                budget,
                keys,
                lambda money: Constraints(prep.costs, cats, money, *bounds),
                fill,
                base,
                record=explain,
            )
        if result is None:
            known = cache.add1_steps.setdefault((utility, spec.tie_break), {})
            result = cache.mes[memo] = mes_with_completion(
                prep, budget, keys, base, record=explain, known=known
            )
        run = result.run
        selected = list(run.selected)
        info.update(
            add1_steps=result.steps, mes_runs=result.runs, voter_budget=_num(run.voter_budget)
        )
        for rd in run.rounds:
            if rd.tied:
                ties.append(
                    TieBreak(
                        f"MES round {run.rounds.index(rd) + 1}",
                        tuple(ids[t] for t in rd.tied),
                        ids[rd.project],
                    )
                )
        if explain:
            _explain_mes(prep, run, ids, explanations)
            if cons is not None:
                _explain_notes(prep, run.notes, ids, explanations)
        if then_greedy:
            gprep = cache.get(spec.completion_utility or _default_utility(election, "greedy"))
            if cons is None:
                extra, steps, gties = greedy(gprep, budget, keys, initial=tuple(selected))
            else:
                extra, steps, gties = greedy_constrained(
                    gprep, budget, keys, cons, initial=tuple(selected)
                )
            ties += [
                TieBreak("greedy completion", tuple(ids[t] for t in g), ids[c])
                for g, c in gties
                if len(g) > 1 and any(s.project in g and s.selected for s in steps)
            ]
            if explain:
                for st in steps:
                    if st.selected:
                        explanations[st.project] = ProjectExplanation(
                            ids[st.project],
                            True,
                            "selected-by-completion",
                            MappingProxyType(
                                {
                                    "rank": st.rank,
                                    "votes": gprep.weight_total[st.project],
                                    "budget_left_before": _num(st.budget_left),
                                    "cost": _num(prep.costs[st.project]),
                                }
                            ),
                        )
                    elif st.reason == "cap":
                        explanations[st.project] = ProjectExplanation(
                            ids[st.project],
                            False,
                            "cap",
                            MappingProxyType(
                                {
                                    "constraint": f"cap of {st.constraint}",
                                    "cost": _num(prep.costs[st.project]),
                                }
                            ),
                        )
            selected += extra
    elif spec.rule == "phragmen":
        selected, psteps, stopper = sequential_phragmen(prep, budget, keys)
        for k, st in enumerate(psteps, start=1):
            if st.tied:
                ties.append(
                    TieBreak(f"Phragmén round {k}", tuple(ids[t] for t in st.tied), ids[st.project])
                )
        if explain:
            for k, st in enumerate(psteps, start=1):
                explanations[st.project] = ProjectExplanation(
                    ids[st.project],
                    True,
                    "selected",
                    MappingProxyType(
                        {
                            "round": k,
                            "load": None if st.load is None else _num(st.load),
                            "votes": prep.supporters[st.project],
                        }
                    ),
                )
            for j in range(prep.num_projects):
                if j not in explanations:
                    reason = "does-not-fit" if prep.costs[j] > budget or j == stopper else "stopped"
                    explanations[j] = ProjectExplanation(
                        ids[j],
                        False,
                        reason,
                        MappingProxyType(
                            {
                                "votes": prep.supporters[j],
                                "stopped_by": None if stopper is None else ids[stopper],
                            }
                        ),
                    )
    elif cons is not None:  # max-welfare with floors and caps
        search: dict[str, Any] = {}
        selected = max_welfare_constrained(prep, cons, keys, search)
        info["optimum_proven"] = search.get("proven", True)
        welfare = sum(prep.weight_total[j] * to_fraction(prep.scales[j]) for j in selected)
        info["welfare"] = _num(welfare)
        if explain:
            _explain_welfare_constrained(prep, budget, keys, cons, selected, ids, explanations)
    else:  # max-welfare
        selected = max_welfare(prep, budget, keys)
        welfare = sum(prep.weight_total[j] * to_fraction(prep.scales[j]) for j in selected)
        info["welfare"] = _num(welfare)
        if explain:
            chosen = set(selected)
            for j in range(prep.num_projects):
                explanations[j] = ProjectExplanation(
                    ids[j],
                    j in chosen,
                    "selected" if j in chosen else "not-in-optimum",
                    MappingProxyType(
                        {
                            "utility": _num(prep.weight_total[j] * to_fraction(prep.scales[j])),
                            "cost": _num(prep.costs[j]),
                        }
                    ),
                )
    total = sum((to_fraction(prep.costs[j]) for j in selected), Fraction(0))
    if cons is not None:
        _, per = cons.sums(selected)
        info["categories"] = {
            cons.name(k): {
                "floor": None if cons.floor_f[k] is None else _num(cons.floor_f[k]),
                "cap": None if cons.cap_f[k] is None else _num(cons.cap_f[k]),
                "selected_cost": _num(Fraction(per[k], cons.scale)),
            }
            for k in range(len(cons.names))
        }
    if explain:
        for j in range(prep.num_projects):
            explanations.setdefault(j, ProjectExplanation(ids[j], False, "not-selected"))
    return Outcome(
        rule=_rule_label(spec, utility),
        winners=tuple(ids[j] for j in selected),
        total_cost=total,
        budget=Fraction(election.budget),
        explanations=tuple(explanations[j] for j in range(prep.num_projects)) if explain else (),
        ties=tuple(ties),
        parameters=MappingProxyType(params),
        info=MappingProxyType(info),
    )


def _rule_label(spec: RuleSpec, utility: str) -> str:
    label = f"{spec.rule}[{utility}]"
    if spec.rule == "mes" and spec.completion != "none":
        label += f"+{spec.completion}"
    return label


def _explain_mes(
    prep: Prepared, run: Any, ids: tuple[str, ...], out: dict[int, ProjectExplanation]
) -> None:
    """Explain MES: the round and prices of each winner; what each loser lacked at the end."""
    for k, rd in enumerate(run.rounds, start=1):
        pays = sorted(rd.payments.items(), key=lambda kv: -to_fraction(kv[0]))
        out[rd.project] = ProjectExplanation(
            ids[rd.project],
            True,
            "selected",
            MappingProxyType(
                {
                    "round": k,
                    "cost": _num(prep.costs[rd.project]),
                    "supporters": prep.supporters[rd.project],
                    "price_per_utility": _num(rd.rho),
                    "full_share": _num(rd.share),
                    "payments": tuple({"amount": _num(a), "voters": c} for a, c in pays),
                }
            ),
        )
    import numpy as np

    budgets = run.budgets
    per_class = [to_fraction(b) for b in budgets]
    b0 = to_fraction(run.voter_budget)
    for j in range(prep.num_projects):
        if j in out:
            continue
        if prep.weight_total[j] == 0:
            out[j] = ProjectExplanation(
                ids[j],
                False,
                "no-support",
                MappingProxyType({"votes": 0, "cost": _num(prep.costs[j])}),
            )
            continue
        lo, hi = prep.p_ptr[j], prep.p_ptr[j + 1]
        cls = run.cls[prep.p_group[lo:hi]]
        counts = np.bincount(
            cls, weights=prep.p_mult[lo:hi].astype(np.float64), minlength=len(budgets)
        )
        available = sum(
            (int(round(c)) * per_class[k] for k, c in enumerate(counts.tolist()) if c), Fraction(0)
        )
        cost = to_fraction(prep.costs[j])
        missing = max(cost - available, Fraction(0))
        more = -(-missing // b0) if b0 > 0 else None
        out[j] = ProjectExplanation(
            ids[j],
            False,
            "not-affordable",
            MappingProxyType(
                {
                    "cost": _num(cost),
                    "supporters": prep.supporters[j],
                    "supporters_money_left": _num(available),
                    "cheaper_by": _num(missing),
                    "cheaper_by_percent": round(float(missing / cost) * 100, 2),
                    "more_supporters_needed": None if more is None else int(more),
                }
            ),
        )


def _explain_greedy(
    prep: Prepared, steps: list[Any], ids: tuple[str, ...], out: dict[int, ProjectExplanation]
) -> None:
    """Explain greedy's steps; say which floor or cap decided a project, if one did."""
    for st in steps:
        details = {
            "rank": st.rank or None,
            "votes": prep.weight_total[st.project],
            "score_per_cost": _num(st.score),
            "budget_left_before": None if st.budget_left is None else _num(st.budget_left),
            "cost": _num(prep.costs[st.project]),
        }
        if st.constraint:
            kind = "cap" if st.reason == "cap" else "floor"
            details["constraint"] = f"{kind} of {st.constraint}"
            details["category"] = st.constraint
        out[st.project] = ProjectExplanation(
            ids[st.project], st.selected, st.reason, MappingProxyType(details)
        )


def _explain_notes(
    prep: Prepared,
    notes: dict[int, tuple[str, str]],
    ids: tuple[str, ...],
    out: dict[int, ProjectExplanation],
) -> None:
    """Add to MES's explanations what the floors and caps decided (``MESRun.notes``)."""
    for j, (reason, name) in notes.items():
        old = out.get(j)
        details = dict(old.details) if old is not None else {}
        if name:
            details["category"] = name
        if reason == "selected-for-floor":
            details["constraint"] = f"floor of {name}"
            out[j] = ProjectExplanation(ids[j], True, reason, MappingProxyType(details))
        elif reason == "filled-for-floor":
            out[j] = ProjectExplanation(
                ids[j],
                True,
                "selected-for-floor",
                MappingProxyType(
                    {
                        "constraint": f"floor of {name}",
                        "category": name,
                        "by": "greedy after MES: its supporters could not pay for it",
                        "votes": prep.weight_total[j],
                        "cost": _num(prep.costs[j]),
                    }
                ),
            )
        elif old is None or not old.selected:
            details["constraint"] = (
                f"cap of {name}" if reason == "cap" else f"floor of {name}" if name else "budget"
            )
            out[j] = ProjectExplanation(ids[j], False, reason, MappingProxyType(details))


def _explain_welfare_constrained(
    prep: Prepared,
    budget: Any,
    keys: list[Any],
    cons: Constraints,
    selected: list[int],
    ids: tuple[str, ...],
    out: dict[int, ProjectExplanation],
) -> None:
    """Explain the constrained optimum against the optimum without floors and caps."""
    try:
        free = set(max_welfare(prep, budget, keys))
    except ValueError:  # the free optimum is beyond the search limit: compare nothing
        free = set(selected)
    chosen = set(selected)
    floors = [k for k in cons.floor_order]
    for j in range(prep.num_projects):
        details: dict[str, Any] = {
            "utility": _num(prep.weight_total[j] * to_fraction(prep.scales[j])),
            "cost": _num(prep.costs[j]),
        }
        reason = "selected" if j in chosen else "not-in-optimum"
        if j in chosen and j not in free:
            mine = [cons.name(k) for k in floors if cons.in_category(j, k)]
            if mine:
                reason = "selected-for-floor"
                details["constraint"] = "floor of " + ", ".join(mine)
                details["category"] = ", ".join(mine)
        elif j in free and j not in chosen:
            capped = [
                cons.name(k)
                for k in range(len(cons.names))
                if cons.cap[k] is not None and cons.in_category(j, k)
            ]
            if capped:
                reason = "cap"
                details["constraint"] = "cap of " + ", ".join(capped)
                details["category"] = ", ".join(capped)
            else:
                reason = "displaced-by-floor"
                details["constraint"] = "floor of " + ", ".join(cons.name(k) for k in floors)
                details["category"] = ", ".join(cons.name(k) for k in floors)
        out[j] = ProjectExplanation(ids[j], j in chosen, reason, MappingProxyType(details))
