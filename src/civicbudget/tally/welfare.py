"""Maximum utilitarian welfare: the knapsack optimum, exact.

The search is pabutools' primal/dual branch and bound (Pisinger's expanding core), ported
with exact rationals, so that among several optima it returns the same one: items are
sorted by utility per unit cost, ties in the tie-break order.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from civicbudget.tally._exact import Q, to_fraction
from civicbudget.tally.limits import LimitError
from civicbudget.tally.profile import Prepared

# The knapsack search is exponential on crafted costs (hard subset sums: 200 random costs
# of 16 digits ran for minutes); real elections need at most ~19,000 steps (Toulouse 2022).
MAX_STEPS = 1_000_000


def max_welfare(prep: Prepared, budget: Any, keys: list[Any]) -> list[int]:
    """Return the projects of a welfare-maximising budget allocation.

    Raise :class:`LimitError` (a ``ValueError``) when the search takes more than
    :data:`MAX_STEPS` steps, rather than run for hours.
    """
    capacity = to_fraction(Q(budget))
    items = []
    for j in range(prep.num_projects):
        weight = to_fraction(prep.costs[j])
        profit = prep.weight_total[j] * to_fraction(prep.scales[j])
        items.append((j, weight, profit, profit / weight))
    items.sort(key=lambda it: (-it[3], keys[it[0]]))
    n = len(items)
    tmp = capacity
    split_idx = -1
    split_weight = 0
    split_profit = 0
    for i, (_, w, p, _) in enumerate(items):
        tmp -= w
        split_idx = i
        if split_idx == n - 1 and tmp >= 0:
            split_idx += 1
        if tmp < 0:
            break
        split_weight += w
        split_profit += p
    x = [0] * n
    lower = [0]
    a_star = [-1]
    b_star = [-1]

    steps = [0]

    def branch(a: int, b: int, profit_sum: Any, weight_sum: Any) -> bool:
        steps[0] += 1
        if steps[0] > MAX_STEPS:
            raise LimitError(
                f"max-welfare: the exact optimum needs more than {MAX_STEPS:,} search steps "
                "on this election (the limit); choose another rule"
            )
        improved = False
        if weight_sum <= capacity:
            if profit_sum > lower[0]:
                lower[0] = profit_sum
                a_star[0] = a
                b_star[0] = b
                improved = True
            if b > n - 1:
                return improved
            if profit_sum + math.floor((capacity - weight_sum) * items[b][3]) <= lower[0]:
                return improved
            if branch(a, b + 1, profit_sum + items[b][2], weight_sum + items[b][1]):
                x[b] = 1
                improved = True
            if branch(a, b + 1, profit_sum, weight_sum):
                x[b] = 0
                improved = True
        else:
            if a < 0:
                return False
            if profit_sum + math.floor((capacity - weight_sum) * items[a][3]) <= lower[0]:
                return False
            if branch(a - 1, b, profit_sum - items[a][2], weight_sum - items[a][1]):
                x[a] = 0
                improved = True
            if branch(a - 1, b, profit_sum, weight_sum):
                x[a] = 1
                improved = True
        return improved

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * n + 1000))
    try:
        branch(split_idx - 1, split_idx, split_profit, split_weight)
    finally:
        sys.setrecursionlimit(old)
    result = []
    for i in range(n):
        if i < b_star[0]:
            if i < a_star[0] + 1:
                x[i] = 1
            if x[i] == 1:
                result.append(items[i][0])
    return result
