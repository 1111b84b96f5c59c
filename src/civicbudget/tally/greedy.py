"""Greedy by votes (or score): fund projects in decreasing order of utility per unit cost.

With cost utilities this is "by votes" (utility/cost = number of supporters), with
points-cost utilities "by score" (total points). A project that no longer fits is skipped,
as cities do; ``no_skip`` stops at the first one instead. As pabutools does, projects
without a single vote are funded last when money is left, unless ``fund_unsupported`` is
False (what cities do). ``threshold`` keeps only projects whose votes (score) reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from civicbudget.tally._exact import Q
from civicbudget.tally.constraints import Constraints
from civicbudget.tally.profile import Prepared


@dataclass
class GreedyStep:
    """A project as greedy reached it: its rank, its score and the budget left before it."""

    project: int
    rank: int
    score: Any
    budget_left: Any
    selected: bool
    reason: str
    constraint: str = ""  # the category floor or cap that decided it, if any


def greedy(
    prep: Prepared,
    budget: Any,
    keys: list[Any],
    initial: tuple[int, ...] = (),
    threshold: Any = None,
    fund_unsupported: bool = True,
    no_skip: bool = False,
) -> tuple[list[int], list[GreedyStep], list[tuple[tuple[int, ...], int]]]:
    """Return (selected in order, one step per project considered, ties broken)."""
    budget = Q(budget)
    density, order, steps, ties = greedy_order(
        prep, keys, initial, threshold=threshold, fund_unsupported=fund_unsupported
    )
    left = budget - sum((prep.costs[j] for j in initial), Q(0))
    selected: list[int] = []
    stopped = False
    for rank, j in enumerate(order, start=1):
        if stopped:
            steps.append(GreedyStep(j, rank, density[j], left, False, "stopped"))
        elif prep.costs[j] <= left:
            steps.append(GreedyStep(j, rank, density[j], left, True, "selected"))
            left -= prep.costs[j]
            selected.append(j)
        else:
            steps.append(GreedyStep(j, rank, density[j], left, False, "does-not-fit"))
            stopped = no_skip
    return selected, steps, ties


def greedy_order(
    prep: Prepared,
    keys: list[Any],
    initial: tuple[int, ...] = (),
    threshold: Any = None,
    fund_unsupported: bool = True,
) -> tuple[list[Any], list[int], list[GreedyStep], list[tuple[tuple[int, ...], int]]]:
    """Return (density per project, greedy's order, steps of the excluded, ties).

    The order: decreasing utility per unit of cost, ties in the tie-break order; projects
    in ``initial``, under ``threshold`` or (``fund_unsupported`` False) without votes are
    left out, the last two with a step saying so.
    """
    chosen = set(initial)
    density = [
        prep.weight_total[j] * prep.scales[j] / prep.costs[j] for j in range(prep.num_projects)
    ]
    steps: list[GreedyStep] = []
    candidates = []
    for j in range(prep.num_projects):
        if j in chosen:
            continue
        if threshold is not None and prep.weight_total[j] < threshold:
            steps.append(GreedyStep(j, 0, density[j], None, False, "below-threshold"))
            continue
        if not fund_unsupported and prep.weight_total[j] == 0:
            steps.append(GreedyStep(j, 0, density[j], None, False, "no-support"))
            continue
        candidates.append(j)
    order = sorted(candidates, key=lambda j: (-density[j], keys[j]))
    ties = []
    by_score: dict[Any, list[int]] = {}
    for j in order:
        by_score.setdefault(density[j], []).append(j)
    for group in by_score.values():
        if len(group) > 1:
            ties.append((tuple(group), group[0]))
    return density, order, steps, ties


def greedy_constrained(
    prep: Prepared,
    budget: Any,
    keys: list[Any],
    cons: Constraints,
    initial: tuple[int, ...] = (),
    threshold: Any = None,
    fund_unsupported: bool = True,
) -> tuple[list[int], list[GreedyStep], list[tuple[tuple[int, ...], int]]]:
    """Greedy with category floors and caps (``cons``); same return as :func:`greedy`.

    1. Floors, in the order given: walk greedy's order restricted to the projects of the
       floor's category and select each one that keeps the constraints satisfiable (it fits
       the budget, breaks no cap, and the floors not yet met can still be met with the
       projects left), until the floor is met.
    2. Then greedy's order over every project: select each one that keeps them satisfiable
       (once the floors are met: that fits the budget and breaks no cap).

    If the constraints can be met at all (:meth:`Constraints.check`), each step keeps them
    satisfiable, so the floors are met at the end. Projects in ``initial`` (MES's winners,
    when greedy completes MES) count as selected from the start.
    """
    budget = Q(budget)
    density, order, steps, ties = greedy_order(
        prep, keys, initial, threshold=threshold, fund_unsupported=fund_unsupported
    )
    rank_of = {j: r for r, j in enumerate(order, start=1)}
    chosen = set(initial)
    left = budget - sum((prep.costs[j] for j in initial), Q(0))
    selected: list[int] = []
    done: dict[int, GreedyStep] = {}
    for k in cons.floor_order:
        if cons.floor_met(chosen, k):
            continue
        for j in order:
            if j in chosen or not cons.in_category(j, k):
                continue
            if cons.refusal(chosen, j) is None:
                done[j] = GreedyStep(
                    j, rank_of[j], density[j], left, True, "selected-for-floor", cons.name(k)
                )
                chosen.add(j)
                selected.append(j)
                left -= prep.costs[j]
                if cons.floor_met(chosen, k):
                    break
    for j in order:
        if j in done:
            continue
        why = cons.refusal(chosen, j)
        if why is None:
            done[j] = GreedyStep(j, rank_of[j], density[j], left, True, "selected")
            chosen.add(j)
            selected.append(j)
            left -= prep.costs[j]
        else:
            done[j] = GreedyStep(j, rank_of[j], density[j], left, False, why[0], why[1])
    steps += [done[j] for j in order]
    return selected, steps, ties
