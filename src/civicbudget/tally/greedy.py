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
