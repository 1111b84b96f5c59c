"""The method of equal shares (MES), exact, and its Add1 completion.

Every voter starts with an equal share ``b`` of the budget. A project with utility
``u_i = w_i x s`` (integer weight, project scale) is *affordable at price rho* when its
supporters, each paying ``min(budget_i, rho x u_i)``, cover its cost; each round buys the
project with the lowest such rho (ties by the tie-break order) and stops when none is
affordable. This is pabutools' ``method_of_equal_shares`` step for step.

Speed without rounding: voters whose remaining budgets are equal (exactly) share a *budget
class*. A voter's budget only changes when a project they support is bought, so classes stay
few (hundreds, where voters are tens of thousands). A project's price is then found from its
supporters aggregated by (class, weight) with numpy, and settled in exact rationals over
those few aggregates; nothing is ever rounded. Projects are re-priced lazily: a price only
rises, so a project is re-priced only when one of its supporters has paid since, and only
while its last price could still be the lowest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from civicbudget.tally._exact import Q
from civicbudget.tally.limits import LimitError
from civicbudget.tally.profile import Prepared


@dataclass
class MESRound:
    """One purchase: the project, its price per unit of weight and who paid what."""

    project: int
    rho: Any  # price per unit of utility (comparable across projects)
    share: Any  # price per unit of weight: a supporter with weight w pays min(budget, share*w)
    payments: dict[Any, int] = field(default_factory=dict)  # amount -> number of voters
    supporters: int = 0
    tied: tuple[int, ...] = ()


@dataclass
class MESRun:
    """The result of one run of MES at a given per-voter budget."""

    voter_budget: Any
    selected: list[int]
    rounds: list[MESRound]
    cls: np.ndarray
    budgets: list[Any]
    work: float = 0.0  # estimated seconds of Python work it took (mes_fast.WORK_*)
    notes: dict[int, tuple[str, str]] = field(default_factory=dict)  # constraints' decisions


def mes_once(
    prep: Prepared,
    voter_budget: Any,
    keys: list[Any],
    record: bool = False,
    chooser: Any = None,
) -> MESRun:
    """Run MES once, every voter starting with ``voter_budget`` (exact).

    ``chooser`` (category constraints: :class:`civicbudget.tally.constrained.MESChooser`)
    picks each round's project instead of the lowest price overall:
    ``chooser(selected, remaining, best_among, notes) -> (project or None, tied)``, where
    ``best_among(pool)`` returns MES's choice among ``pool`` and ``notes`` collects why
    constraints decided projects (``{project: (reason, category)}``).
    """
    num_p = prep.num_projects
    costs, scales = prep.costs, prep.scales
    p_ptr = prep.p_ptr.tolist()
    p_group, p_w = prep.p_group, prep.p_w
    p_mult = prep.p_mult.astype(np.float64)
    cls = np.zeros(len(prep.mult), dtype=np.int64)
    budgets: list[Any] = [voter_budget]
    intern: dict[Any, int] = {voter_budget: 0}
    kw = prep.max_weight + 1
    uniform = prep.max_weight == 1
    rho: list[Any] = [None] * num_p
    remaining: set[int] = set()
    for j in range(num_p):
        if prep.weight_total[j] > 0:
            rho[j] = costs[j] / (prep.weight_total[j] * scales[j])
            remaining.add(j)
    dirty = [True] * num_p
    cache: list[Any] = [None] * num_p
    selected: list[int] = []
    rounds: list[MESRound] = []
    neighbours = prep.neighbours

    def evaluate(j: int) -> tuple | None:
        lo, hi = p_ptr[j], p_ptr[j + 1]
        k = cls[p_group[lo:hi]]
        key = k if uniform else k * kw + p_w[lo:hi]
        uniq, inv = np.unique(key, return_inverse=True)
        counts = np.rint(np.bincount(inv, weights=p_mult[lo:hi])).astype(np.int64).tolist()
        if uniform:
            uk = uniq.tolist()
            uw = [1] * len(uk)
        else:
            uk = (uniq // kw).tolist()
            uw = (uniq % kw).tolist()
        cost = costs[j]
        available = sum(c * budgets[k_] for k_, c in zip(uk, counts, strict=True))
        if available < cost:
            return None
        order = sorted(range(len(uk)), key=lambda t: budgets[uk[t]] / uw[t])
        contrib = 0
        denom = sum(c * w for c, w in zip(counts, uw, strict=True))
        share = None
        for t in order:
            share = (cost - contrib) / denom
            b = budgets[uk[t]]
            if share * uw[t] <= b:
                break
            contrib += counts[t] * b
            denom -= counts[t] * uw[t]
        return share, lo, hi, uk, uw, counts, inv

    def lowest(pool: set[int]) -> tuple[Any, list[int]]:
        """Return (the lowest price among ``pool``, the projects at it); drop unaffordable."""
        best = None
        tied: list[int] = []
        for j in sorted(pool, key=rho.__getitem__):
            if best is not None and rho[j] > best:
                break
            if dirty[j]:
                ev = evaluate(j)
                dirty[j] = False
                if ev is None:
                    remaining.discard(j)
                    continue
                cache[j] = ev
                rho[j] = ev[0] / scales[j]
            r = rho[j]
            if best is None or r < best:
                best = r
                tied = [j]
            elif r == best:
                tied.append(j)
        return best, tied

    def best_among(pool: set[int]) -> tuple[int | None, list[int]]:
        best, tied = lowest(pool)
        if not tied:
            return None, []
        return min(tied, key=keys.__getitem__), sorted(tied, key=keys.__getitem__)

    notes: dict[int, tuple[str, str]] = {}
    while remaining:
        if chooser is None:
            best, tied = lowest(remaining)
            if not tied:
                break
            chosen = min(tied, key=keys.__getitem__)
        else:
            chosen, tied = chooser(selected, remaining, best_among, notes)
            if chosen is None:
                break
            best = rho[chosen]
        share, lo, hi, uk, uw, counts, inv = cache[chosen]
        newcls = []
        payments: dict[Any, int] = {}
        for k_, w, c in zip(uk, uw, counts, strict=True):
            b = budgets[k_]
            price = share * w
            pay = price if price <= b else b
            nb = b - pay
            cid = intern.get(nb)
            if cid is None:
                cid = intern[nb] = len(budgets)
                budgets.append(nb)
            newcls.append(cid)
            if record:
                payments[pay] = payments.get(pay, 0) + c
        cls[p_group[lo:hi]] = np.asarray(newcls, dtype=np.int64)[inv]
        selected.append(chosen)
        remaining.discard(chosen)
        if neighbours is not None:
            for p in neighbours[chosen].tolist():
                dirty[p] = True
        else:
            dirty = [True] * num_p
        if record:
            rounds.append(
                MESRound(
                    chosen,
                    best,
                    share,
                    payments,
                    prep.supporters[chosen],
                    tuple(sorted(tied, key=keys.__getitem__)) if len(tied) > 1 else (),
                )
            )
        elif len(tied) > 1:
            rounds.append(
                MESRound(chosen, best, share, {}, 0, tuple(sorted(tied, key=keys.__getitem__)))
            )
    return MESRun(voter_budget, selected, rounds, cls, budgets, notes=notes)


# Add1 takes a few runs per change of outcome (at most 7,372 on a real election, Budapest
# 2024); crafted costs (16 digits, thousands of projects) can make it take millions.
MAX_RUNS = 100_000
KERNEL_ENTRIES = 30_000  # supporter entries (merged) from which Add1 starts compiled
KERNEL_AFTER = 0.5  # estimated seconds of Python runs after which Add1 switches (~ its cost)
COMPILE_AFTER = 8.0  # ... and, when not compiled yet (jit.ready), after this many (>> compile)
PROOF_RUNS = 2.5  # a proof costs about this many single runs in Python (mes_once_fast)
PROOF_RUNS_COMPILED = 16  # ... and this many compiled runs (measured: 2-30, mostly 10-30)


def _kernel_cheap() -> bool:
    """Return True when the compiled run costs only a load: cached, or already imported.

    Otherwise using it would first compile it (3 to 7 s): see :mod:`civicbudget.tally.jit`.
    """
    import sys

    if "civicbudget.tally.mes_kernel" in sys.modules:
        return True
    from civicbudget.tally import jit

    return jit.ready()


def _compiled_mes(prep: Prepared, keys: list[Any]) -> Any:
    """Return the compiled float MES for ``prep``, or None without numba.

    Also None when numba cannot set up its cache (no writable place for it: it then refuses
    to compile with ``cache=True``): the Python runs give the same outcome, only slower.
    """
    try:
        from civicbudget.tally import mes_kernel
    except (ImportError, RuntimeError, OSError):  # pragma: no cover - depends on the machine
        return None
    return mes_kernel.FloatMES(prep, keys) if mes_kernel.AVAILABLE else None


@dataclass
class MESResult:
    """MES with its completion: the run kept, and how many Add1 steps were taken."""

    run: MESRun
    steps: int
    runs: int


def mes_with_completion(
    prep: Prepared,
    budget: Any,
    keys: list[Any],
    completion: str = "none",
    record: bool = False,
    known: dict[int, tuple[int, list[int]]] | None = None,
) -> MESResult:
    """Run MES with ``completion`` ``none``, ``add1`` or ``add1-noexh``.

    ``add1`` (pabutools' ``voter_budget_increment=1``): raise every voter's budget by one
    unit until the outcome is exhaustive over the supported projects, or would overspend
    (then keep the previous one). ``add1-noexh`` (pabutools' ``exhaustion_by_budget_increase``
    with ``exhaustive_stop=False``): only the overspending stop; it also stops once every
    supported project is bought, where pabutools would go on until its bound with the same
    outcome.

    ``known`` (optional, shared between calls with the same prepared ballots and tie-break)
    remembers what each increment bought: ``{first step: (last step, projects)}``. Both
    completions walk the same increments, so the second one reuses the first one's runs.

    Raise :class:`LimitError` after :data:`MAX_RUNS` runs rather than run for hours.
    """
    budget = Q(budget)
    n = prep.num_voters
    if n == 0:
        return MESResult(MESRun(budget, [], [], np.zeros(0, dtype=np.int64), [budget]), 0, 0)
    b0 = budget / n
    from civicbudget.tally.mes_fast import mes_interval, mes_once_fast

    # The compiled run (mes_kernel) costs a one-off ~0.5 s per process (importing numba and
    # loading its cached machine code): use it from the start on large elections, and on
    # smaller ones once the Python runs have cost about as much (estimated from the work
    # done, so the choice is deterministic). Not compiled yet (a fresh install, jit.ready()
    # False), the compile would cost seconds more: the Python runs go on until they have
    # cost far more than that (COMPILE_AFTER), and the CLI compiles in the background.
    kernel: Any = None
    python_work = [0.0, 0.0]  # estimated seconds of Python runs so far, and of the last one
    compiled = [False]  # whether the last run was the compiled one

    def once(voter_budget: Any) -> MESRun:
        """Run MES at ``voter_budget``: compiled floats, or exact-when-close if too close."""
        nonlocal kernel
        if (
            kernel is None
            and (len(prep.p_group) >= KERNEL_ENTRIES or python_work[0] >= KERNEL_AFTER)
            and (python_work[0] >= COMPILE_AFTER or _kernel_cheap())
        ):
            kernel = _compiled_mes(prep, keys) or False
        if kernel:
            selected = kernel.run(voter_budget)
            if selected is not None:
                compiled[0] = True
                return MESRun(voter_budget, selected, [], np.zeros(0, dtype=np.int64), [])
        compiled[0] = False
        run = mes_once_fast(prep, voter_budget, keys)
        python_work[0] += run.work
        python_work[1] = run.work
        return run

    def proof_runs() -> float:
        """Return what a proof costs, in single runs like the last one."""
        return PROOF_RUNS_COMPILED if compiled[0] else PROOF_RUNS

    memo: dict[int, tuple[int, list[int]]] = known if known is not None else {}

    def recall(step: int) -> tuple[int, list[int]] | None:
        """Return (last step, projects) of a remembered block starting at ``step``."""
        return memo.get(step)

    if completion == "none":  # one run: the Python one (no compiling or loading to pay)
        run = mes_once(prep, b0, keys, True) if record else mes_once_fast(prep, b0, keys)
        return MESResult(run, 0, 1)
    first = once(b0)
    if completion not in ("add1", "add1-noexh"):
        raise ValueError(f"unknown MES completion {completion!r}")
    available = [j for j in range(prep.num_projects) if prep.weight_total[j] > 0]
    all_available = set(available)
    costs = prep.costs
    previous: MESRun | None = None
    run = first
    runs = 1

    def stops(run: MESRun) -> bool | None:
        """Return None to go on, True to keep ``run``, False to keep the previous run."""
        cost = sum((costs[j] for j in run.selected), Q(0))
        if cost > budget:
            return False
        chosen = set(run.selected)
        if completion == "add1":
            left = budget - cost
            if all(j in chosen or costs[j] > left for j in available):
                return True
        elif chosen == all_available:
            return True
        return None

    step = 0
    verdict = stops(run)
    # Try to prove that the next `jump` increments all buy the same projects; after a failed
    # proof, take single steps for a while (longer after repeated failures). A proof costs
    # about two exact-when-close runs in Python, so it only pays when `jump` single runs cost
    # more, and when proofs succeed often enough: with the compiled run, many times cheaper,
    # jumps and waits are stretched to match (a fixed estimate, not a clock, so that the
    # steps taken, and the outcome's `mes_runs`, are deterministic).
    jump, wait, failures = 8, 0, 0
    tries = proven = 0
    while verdict is None:
        if runs > MAX_RUNS:
            raise LimitError(
                f"MES {completion}: more than {MAX_RUNS:,} runs of MES on this election "
                "(the limit); choose another rule or completion"
            )
        hit = recall(step + 1)
        if hit is not None:
            last, same = hit
            block = MESRun(b0 + last, same, [], np.zeros(0, dtype=np.int64), [])
            verdict = stops(block)
            if verdict is None:
                previous = run = block
                step = last
                continue
            previous, run = run, MESRun(b0 + step + 1, same, [], block.cls, [])
            step += 1
            break
        if wait == 0:
            jump = max(jump, int(2 * proof_runs()))  # a proof must save more than it costs
            same = mes_interval(prep, b0 + step + 1, b0 + step + jump, keys)
            python_work[0] += PROOF_RUNS * python_work[1]
            runs += 2
            tries += 1
            if same is None:
                failures += 1
                # ... and wait at least what a proof costs per success (Laplace's rule)
                wait = max(min(2**failures, 32), int(proof_runs() * (tries + 2) / (proven + 1)))
                jump = max(8, jump // 2)
                continue
            failures = 0
            proven += 1
            block = MESRun(b0 + step + jump, same, [], np.zeros(0, dtype=np.int64), [])
            memo[step + 1] = (step + jump, same)
            verdict = stops(block)
            if verdict is None:
                previous = run = block
                step += jump
                jump *= 2
                continue
            # the first increment of the block already stops
            previous, run = run, MESRun(b0 + step + 1, same, [], block.cls, [])
            step += 1
            break
        previous = run
        step += 1
        run = once(b0 + step)
        memo[step] = (step, run.selected)
        runs += 1
        verdict = stops(run)
        wait -= 1
    kept = run if verdict else previous
    assert kept is not None
    # run the kept budget once more, for the true purchase order, the ties broken (which the
    # compiled run does not report) and the explanations
    kept = (
        mes_once(prep, kept.voter_budget, keys, record=True)
        if record
        else mes_once_fast(prep, kept.voter_budget, keys)
    )
    return MESResult(kept, int(kept.voter_budget - b0), runs)
