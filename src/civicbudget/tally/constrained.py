"""MES and max-welfare under category floors and caps (:mod:`civicbudget.tally.constraints`).

MES with constraints, at a per-voter budget ``b`` (the run's money: ``b`` x voters):

1. **Floor rounds.** While a floor is not met, in the order the floors were given, each
   round is an MES round among the projects of that floor's category only: the one its
   supporters can buy at the lowest price per unit of utility (ties by the tie-break),
   provided it keeps the constraints satisfiable (it breaks no cap, and every floor can
   still be met within the run's money); one that does not is set aside for the run. When
   no project of the category is affordable, the next unmet floor is tried.
2. **Ordinary rounds.** Then MES rounds among every project, again skipping those that
   would break a cap or leave a floor out of reach, until none is affordable.
3. **Floors MES could not afford.** A floor still unmet is filled by greedy (by votes, or
   score on points ballots) among its category's projects, each kept only if the
   constraints stay satisfiable: such projects are selected "to meet the floor" though
   their supporters could not pay for them.

Add1 raises ``b`` one unit at a time as without constraints, and stops when the outcome
costs more than the budget (keeping the previous one) or, for ``add1``, when no project
can be added within the budget and the caps; ``-greedy`` then completes with greedy under
the caps. Max-welfare with constraints is the exact optimum over the sets that respect the
budget, every floor and every cap (:func:`max_welfare_constrained`).
"""

from __future__ import annotations

import bisect
import math
import sys
from fractions import Fraction
from typing import Any

import numpy as np

from civicbudget.tally._exact import Q, floats_fit, to_fraction
from civicbudget.tally.constraints import Constraints
from civicbudget.tally.limits import LimitError
from civicbudget.tally.mes import MAX_RUNS, MESResult, MESRun, mes_once
from civicbudget.tally.profile import Prepared

MAX_STEPS = 1_000_000  # as welfare.MAX_STEPS
PROOF_STEPS = 300_000  # when HiGHS gave an optimum: the steps spent trying to prove it


class MESChooser:
    """Pick MES's next project under floors and caps (phases 1 and 2 of the module doc)."""

    def __init__(self, cons: Constraints) -> None:
        self.cons = cons
        self.given_up: set[int] = set()
        self.set_aside: set[int] = set()
        self.members = [
            {j for j in range(len(cons.cost)) if cons.in_category(j, k)}
            for k in range(len(cons.names))
        ]

    def __call__(
        self,
        selected: list[int],
        remaining: set[int],
        best_among: Any,
        notes: dict[int, tuple[str, str]],
    ) -> tuple[int | None, list[int]]:
        cons = self.cons
        chosen_set = set(selected)
        phases: list[int | None] = [
            k
            for k in cons.floor_order
            if k not in self.given_up and not cons.floor_met(chosen_set, k)
        ]
        phases.append(None)
        for k in phases:
            while True:
                pool = remaining - self.set_aside
                if k is not None:
                    pool &= self.members[k]
                chosen, tied = best_among(pool)
                if chosen is None:
                    if k is not None:
                        self.given_up.add(k)
                    break
                why = cons.refusal(chosen_set, chosen)
                if why is None:
                    if k is not None:
                        notes[chosen] = ("selected-for-floor", cons.name(k))
                    return chosen, tied
                self.set_aside.add(chosen)
                notes[chosen] = why
        return None, []


def _fast_once(prep: Prepared, voter_budget: Any, keys: list[Any], chooser: MESChooser) -> MESRun:
    """Run MES with ``chooser`` on the float-when-safe path (:mod:`mes_fast`)."""
    from civicbudget.tally.mes_fast import FastState

    state = FastState(prep, voter_budget)

    def best_among(pool: set[int]) -> tuple[int | None, list[int]]:
        saved = state.remaining
        sub = saved & pool
        state.remaining = set(sub)
        try:
            chosen, tied = state.argmin(keys)
        finally:
            saved -= sub - state.remaining  # what argmin found unaffordable
            state.remaining = saved
        return chosen, tied

    notes: dict[int, tuple[str, str]] = {}
    while True:
        chosen, _ = chooser(state.selected, state.remaining, best_among, notes)
        if chosen is None:
            break
        state.buy(chosen)
    return MESRun(voter_budget, state.selected, [], state.cls, [], state.work, notes=notes)


def mes_constrained_once(
    prep: Prepared,
    voter_budget: Any,
    keys: list[Any],
    cons: Constraints,
    fill_order: list[int],
    record: bool = False,
) -> MESRun:
    """Run MES with floors and caps at ``voter_budget`` per voter (module doc, 1 to 3).

    ``cons`` carries the run's money as its budget; ``fill_order`` is greedy's order, used
    for floors MES could not afford.
    """
    chooser = MESChooser(cons)
    if record or not floats_fit(prep, voter_budget):
        run = mes_once(prep, voter_budget, keys, record=record, chooser=chooser)
    else:
        run = _fast_once(prep, voter_budget, keys, chooser)
    chosen = set(run.selected)
    for k in cons.floor_order:
        if cons.floor_met(chosen, k):
            continue
        for j in fill_order:
            if j in chosen or not cons.in_category(j, k):
                continue
            if cons.refusal(chosen, j) is None:
                chosen.add(j)
                run.selected.append(j)
                run.notes[j] = ("filled-for-floor", cons.name(k))
                if cons.floor_met(chosen, k):
                    break
    return run


def mes_constrained(
    prep: Prepared,
    budget: Any,
    keys: list[Any],
    make_cons: Any,
    fill_order: list[int],
    completion: str = "none",
    record: bool = False,
) -> MESResult:
    """MES with floors and caps, and its Add1 completion (``add1`` or ``add1-noexh``).

    ``make_cons(money)`` returns the :class:`Constraints` with ``money`` as the budget: a
    run's own money for its rounds, the election's budget for Add1's stops.
    """
    budget = Q(budget)
    n = prep.num_voters
    if n == 0:
        return MESResult(MESRun(budget, [], [], np.zeros(0, dtype=np.int64), [budget]), 0, 0)
    b0 = budget / n
    outer: Constraints = make_cons(to_fraction(budget))

    def run_at(b: Any, rec: bool = False) -> MESRun:
        return mes_constrained_once(prep, b, keys, make_cons(to_fraction(b) * n), fill_order, rec)

    if completion == "none":
        return MESResult(run_at(b0, record), 0, 1)
    if completion not in ("add1", "add1-noexh"):
        raise ValueError(f"unknown MES completion {completion!r}")
    available = [j for j in range(prep.num_projects) if prep.weight_total[j] > 0]

    def stops(run: MESRun) -> bool | None:
        chosen = set(run.selected)
        if not outer.satisfied(chosen):  # over the budget (floors and caps always hold)
            return False
        if completion == "add1":
            if all(j in chosen or outer.refusal(chosen, j) is not None for j in available):
                return True
        elif all(j in chosen or outer.cap_broken(chosen, j) is not None for j in available):
            return True
        return None

    run = run_at(b0)
    previous: MESRun | None = None
    step, runs = 0, 1
    verdict = stops(run)
    while verdict is None:
        if runs > MAX_RUNS:
            raise LimitError(
                f"MES {completion}: more than {MAX_RUNS:,} runs of MES on this election "
                "(the limit); choose another rule or completion"
            )
        previous = run
        step += 1
        run = run_at(b0 + step)
        runs += 1
        verdict = stops(run)
    kept = run if verdict else previous
    assert kept is not None
    if record:
        kept = run_at(kept.voter_budget, True)
    return MESResult(kept, int(kept.voter_budget - b0), runs)


def _frac_knapsack(dens_items: list[tuple[float, float, float]], room: float) -> float:
    """Return the fractional knapsack value of (density, weight, profit) items (floats)."""
    total = 0.0
    for _, w, p in dens_items:
        if w <= room:
            total += p
            room -= w
        else:
            total += p * room / w
            break
    return total


def _multipliers(profit: list[int], cons: Constraints, items: list[int]) -> list[Fraction]:
    """Choose Lagrange multipliers (one per constrained category) for a tight bound.

    Relaxing ``sum cost >= floor`` with ``lam >= 0`` and ``sum cost <= cap`` with
    ``mu >= 0`` gives, for every choice, an upper bound of the welfare of every set meeting
    them (the added terms are >= 0 there): ``lam floor`` subtracted, ``mu cap`` added, and
    each project's utility changed by ``(lam - mu) cost`` over its categories. The
    multipliers only tighten the bound; floats choose them (coordinate search), and they
    are then fixed as exact binary fractions, so the bound is exact.
    """
    kn = len(cons.names)
    if kn == 0:
        return []
    budget = float(cons.budget)
    cost = cons.cost
    top = max((profit[j] / cost[j] for j in items), default=1.0) * 2 + 1

    def value(lam: list[float]) -> float:
        const = 0.0
        for k in range(kn):
            if cons.floor[k] is not None:
                const -= lam[k] * cons.floor[k]  # type: ignore[operator]
            elif cons.cap[k] is not None:
                const += lam[k] * cons.cap[k]  # type: ignore[operator]
        its = []
        for j in items:
            d = 0.0
            for k in cons.members[j]:
                d += lam[k] if cons.floor[k] is not None else -lam[k]
            p = profit[j] + d * cost[j]
            if p > 0:
                its.append((p / cost[j], float(cost[j]), p))
        its.sort(reverse=True)
        return const + _frac_knapsack(its, budget)

    lam = [0.0] * kn
    for _ in range(3):
        for k in range(kn):
            if cons.floor[k] is None and cons.cap[k] is None:
                continue
            lo, hi = 0.0, top
            for _ in range(40):
                m1, m2 = lo + (hi - lo) / 3, hi - (hi - lo) / 3
                lam[k] = m1
                v1 = value(lam)
                lam[k] = m2
                v2 = value(lam)
                if v1 <= v2:
                    hi = m2
                else:
                    lo = m1
            lam[k] = lo
    # a floor and a cap on one category: only the floor's multiplier is used here
    return [Fraction(round(x * 2**20), 2**20) for x in lam]


def _milp(profit: list[int], cons: Constraints, eligible: list[int]) -> list[int] | None:
    """Return HiGHS's optimum (scipy's ``milp``) if it meets every constraint exactly."""
    try:
        from scipy.optimize import Bounds, LinearConstraint, milp
    except ImportError:  # pragma: no cover - scipy is a dependency
        return None
    if not eligible:
        return []
    top = max(max(profit[j] for j in eligible), 1)
    c = np.array([-profit[j] / top for j in eligible], dtype=np.float64)
    scale = float(max(cons.budget, 1))
    rows = [[cons.cost[j] / scale for j in eligible]]
    lo, hi = [-np.inf], [cons.budget / scale]
    for k in range(len(cons.names)):
        row = [cons.cost[j] / scale if cons.in_category(j, k) else 0.0 for j in eligible]
        rows.append(row)
        lo.append(-np.inf if cons.floor[k] is None else cons.floor[k] / scale)
        hi.append(np.inf if cons.cap[k] is None else cons.cap[k] / scale)
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows), np.array(lo), np.array(hi)),
        integrality=np.ones(len(eligible)),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0, "time_limit": 60},
    )
    if res.x is None:
        return None
    chosen = [j for j, v in zip(eligible, res.x, strict=True) if v > 0.5]
    return chosen if cons.satisfied(chosen) else None


def max_welfare_constrained(
    prep: Prepared, cons: Constraints, keys: list[Any], info: dict | None = None
) -> list[int]:
    """Return a welfare-maximising set of projects that meets the budget, floors and caps.

    Exact branch and bound over the projects in decreasing order of (Lagrange-adjusted)
    utility per unit of cost, ties in the tie-break order, each first taken then left. A
    branch is cut when it cannot beat the best set found: its bound is the fractional
    knapsack of what is left with utilities adjusted by multipliers for the floors and caps
    (:func:`_multipliers`), a valid upper bound for any multipliers; or when a floor can no
    longer be met. Among equal optima: the first found.

    The search starts from the optimum HiGHS finds (scipy's ``milp``, checked exactly
    against every constraint), so it has only to prove that nothing is better, or find
    what is. When that proof needs more than :data:`MAX_STEPS` steps, HiGHS's set is
    returned and ``info["proven"]`` is False (HiGHS solves to a zero gap, in floats);
    without a HiGHS set, :class:`LimitError` is raised.
    """
    n = prep.num_projects
    profits_f = [prep.weight_total[j] * to_fraction(prep.scales[j]) for j in range(n)]
    den = 1
    for pf in profits_f:
        den = den * pf.denominator // math.gcd(den, pf.denominator)
    profit = [int(pf * den) for pf in profits_f]
    eligible = sorted(cons.eligible)
    lam = _multipliers(profit, cons, eligible)
    kn = len(cons.names)
    scale = 2**20  # lam's common denominator
    lam_i = [int(x * scale) for x in lam]  # exact: binary fractions
    floor, cap = cons.floor, cons.cap

    def adjusted(j: int) -> int:
        d = 0
        for k in cons.members[j]:
            d += lam_i[k] if floor[k] is not None else -lam_i[k]
        return profit[j] * scale + d * cons.cost[j]

    const = 0
    for k in range(kn):
        if floor[k] is not None:
            const -= lam_i[k] * floor[k]
        elif cap[k] is not None:
            const += lam_i[k] * cap[k]
    adj = {j: adjusted(j) for j in eligible}
    items = sorted(eligible, key=lambda j: (-Fraction(adj[j], cons.cost[j]), keys[j]))
    m = len(items)
    w = [cons.cost[j] for j in items]
    p = [profit[j] * scale for j in items]  # true utility, scaled like the adjusted ones
    q = [adj[j] for j in items]
    # prefix sums over the items of positive adjusted utility (a prefix of the order)
    pos = sum(1 for v in q if v > 0)
    wsum = [0] * (pos + 1)
    qsum = [0] * (pos + 1)
    for i in range(pos):
        wsum[i + 1] = wsum[i] + w[i]
        qsum[i + 1] = qsum[i] + q[i]
    members = [cons.members[j] for j in items]
    suffix = [[0] * (m + 1) for _ in range(kn)]
    for i in range(m - 1, -1, -1):
        for k in range(kn):
            suffix[k][i] = suffix[k][i + 1] + (w[i] if k in members[i] else 0)
    best: list[Any] = [-1, None]
    seed = _milp(profit, cons, eligible)
    if seed is not None:
        best = [sum(profit[j] for j in seed) * scale, sorted(seed, key=items.index)]
    x = [0] * m
    steps = [0]

    def bound(i: int, room: int) -> int:
        if i >= pos:
            return 0
        t = bisect.bisect_right(wsum, wsum[i] + room, lo=i) - 1
        gain = qsum[t] - qsum[i]
        if t < pos:
            gain += -((-(room - (wsum[t] - wsum[i])) * q[t]) // w[t])  # ceil: stays an upper bound
        return gain

    limit = MAX_STEPS if seed is None else PROOF_STEPS

    def dfs(i: int, room: int, gained: int, gained_adj: int, per: list[int]) -> None:
        steps[0] += 1
        if steps[0] > limit:
            raise LimitError(
                f"max-welfare: the exact constrained optimum needs more than {MAX_STEPS:,} "
                "search steps on this election (the limit); choose another rule"
            )
        met = True
        for k in range(kn):
            f = floor[k]
            if f is not None and per[k] < f:
                met = False
                d = f - per[k]
                if d > room or suffix[k][i] < d:
                    return
        if met and gained > best[0]:
            best[0] = gained
            best[1] = [items[t] for t in range(i) if x[t]]
        if i == m or const + gained_adj + bound(i, room) <= best[0]:
            return
        c = w[i]
        if c <= room and all(cap[k] is None or per[k] + c <= cap[k] for k in members[i]):
            per2 = list(per)
            for k in members[i]:
                per2[k] += c
            x[i] = 1
            dfs(i + 1, room - c, gained + p[i], gained_adj + q[i], per2)
            x[i] = 0
        dfs(i + 1, room, gained, gained_adj, per)

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * m + 1000))
    proven = True
    try:
        dfs(0, cons.budget, 0, 0, [0] * kn)
    except LimitError:
        if seed is None:
            raise
        proven = False
    finally:
        sys.setrecursionlimit(old)
    if info is not None:
        info["proven"] = proven
        info["search_steps"] = steps[0]
    return list(best[1] or [])
