"""Sequential Phragmén for approval ballots, exact, as pabutools computes it.

Voters earn virtual money continuously; a project is bought as soon as its supporters hold
its cost, which spreads the load: the next project is the one minimising
``(sum of its supporters' loads + cost) / supporters``. As in pabutools, the rule stops at
the first such project that does not fit the budget (it does not skip it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from civicbudget.tally._exact import Q
from civicbudget.tally.profile import Prepared


@dataclass
class PhragmenStep:
    """A purchase: the project and the load every supporter carries afterwards."""

    project: int
    load: Any
    tied: tuple[int, ...]


def sequential_phragmen(
    prep: Prepared, budget: Any, keys: list[Any]
) -> tuple[list[int], list[PhragmenStep], int | None]:
    """Return (selected in order, steps, the project that stopped the rule or None)."""
    budget = Q(budget)
    num_p = prep.num_projects
    costs = prep.costs
    supp = prep.supporters
    left = {j for j in range(num_p) if costs[j] <= budget}
    sums: list[Any] = [Q(0)] * num_p
    loads: list[Any] = [Q(0)]
    intern = {loads[0]: 0}
    cls = np.zeros(len(prep.mult), dtype=np.int64)
    g_ptr = prep.g_ptr
    g_len = np.diff(g_ptr)
    spent = Q(0)
    selected: list[int] = []
    steps: list[PhragmenStep] = []
    while left:
        best = None  # None means infinite
        tied: list[int] = []
        first = True
        for j in left:
            value = (sums[j] + costs[j]) / supp[j] if supp[j] else None
            if first:
                best, tied, first = value, [j], False
            elif value is not None and (best is None or value < best):
                best, tied = value, [j]
            elif value == best:
                tied.append(j)
        if any(spent + costs[t] > budget for t in tied):
            return selected, steps, min(tied, key=keys.__getitem__)
        chosen = min(tied, key=keys.__getitem__)
        selected.append(chosen)
        left.discard(chosen)
        spent += costs[chosen]
        steps.append(
            PhragmenStep(
                chosen, best, tuple(sorted(tied, key=keys.__getitem__)) if len(tied) > 1 else ()
            )
        )
        if best is None:
            continue
        gs = prep.p_group[prep.p_ptr[chosen] : prep.p_ptr[chosen + 1]]
        if len(gs) == 0:
            continue
        lens = g_len[gs]
        starts = g_ptr[gs]
        offs = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
        entries = np.repeat(starts, lens) + offs
        ent_group = np.repeat(gs, lens)
        nclass = len(loads)
        key = prep.g_proj[entries].astype(np.int64) * nclass + cls[ent_group]
        uniq, inv = np.unique(key, return_inverse=True)
        cnt = np.rint(np.bincount(inv, weights=prep.mult[ent_group].astype(np.float64)))
        for key_, c in zip(uniq.tolist(), cnt.astype(np.int64).tolist(), strict=True):
            p, k = divmod(key_, nclass)
            sums[p] += c * (best - loads[k])
        cid = intern.get(best)
        if cid is None:
            cid = intern[best] = len(loads)
            loads.append(best)
        cls[gs] = cid
    return selected, steps, None
