"""Adversarial elections for the float MES runs (mes_fast, mes_kernel): they must never decide
on a float that is not provably the exact decision.

The dangerous cases: many voters who pay all they have plus a few who pay the rest (the
share is ``(cost - what the many paid) / few``: cancellation, and any error in the many
budgets is multiplied by their number), budgets that are what is left after purchases
(their error is relative to the initial budget, not to what is left), costs near 2**53,
and prices tiny compared with the cost. Every fast path is compared with the exact
``mes_once``; pabutools where cheap.
"""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicbudget.tally import Election, Project, RuleSpec, mes, mes_kernel, tally
from civicbudget.tally._exact import Q
from civicbudget.tally.mes import mes_once, mes_with_completion
from civicbudget.tally.mes_fast import mes_once_fast
from civicbudget.tally.profile import prepare
from civicbudget.tally.tiebreak import tie_keys


def grouped(projects: list[Project], budget, groups: list[tuple[int, tuple[str, ...]]]):
    """Return an approval election with ``count`` identical ballots per group (fast to build)."""
    index = {p.id: i for i, p in enumerate(projects)}
    counts = [c for c, _ in groups]
    rows = [np.array([index[p] for p in chosen], dtype=np.int32) for _, chosen in groups]
    lengths = np.repeat([len(r) for r in rows], counts)
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    flat = np.concatenate([np.tile(r, c) for r, (c, _) in zip(rows, groups, strict=True)])
    n = int(sum(counts))
    return Election(
        projects=tuple(projects),
        budget=F(budget),
        vote_type="approval",
        voter_ids=tuple(str(v) for v in range(n)),
        indptr=indptr,
        project_index=flat.astype(np.int32),
    )


def fast_paths(e: Election, utility: str = "cost") -> tuple[list[int], list[int], list | None]:
    """Return (exact purchase order, mes_once_fast's, the compiled run's or None)."""
    prep = prepare(e, utility)
    keys = tie_keys(e, "lexicographic", prep.supporters)
    b = Q(e.budget) / e.num_voters
    exact = mes_once(prep, b, keys).selected
    fast = mes_once_fast(prep, b, keys).selected
    compiled = mes_kernel.FloatMES(prep, keys).run(b) if mes_kernel.AVAILABLE else None
    return exact, fast, compiled


def add1_both_ways(e: Election, completion: str = "add1") -> tuple[list[int], list[int]]:
    """Return the projects Add1 keeps, with the compiled run from the start and without it."""
    prep = prepare(e, "cost")
    keys = tie_keys(e, "lexicographic", prep.supporters)
    saved = mes.KERNEL_ENTRIES, mes_kernel.AVAILABLE
    try:
        mes.KERNEL_ENTRIES = 0
        with_jit = mes_with_completion(prep, e.budget, keys, completion)
        mes_kernel.AVAILABLE = False
        without = mes_with_completion(prep, e.budget, keys, completion)
    finally:
        mes.KERNEL_ENTRIES, mes_kernel.AVAILABLE = saved
    exact = mes_once(prep, with_jit.run.voter_budget, keys).selected
    assert with_jit.run.voter_budget == without.run.voter_budget
    assert sorted(with_jit.run.selected) == sorted(exact)
    return sorted(with_jit.run.selected), sorted(without.run.selected)


# -- a wrong outcome found before the error bounds (regression) ------------------------------


def _many_pay_all_one_pays_a_hair_more(n_many: int = 25_000) -> Election:
    """A: drains ``n_many`` voters (group G) and 2,000 others to 1/20 each.

    X (G and one rich voter R) costs what G has plus 1/20 + 9e-10: G pays all it has, R pays
    9e-10 more than a G voter had. The old walk took G as paying in full (within its fixed
    tolerance 1e-12 x budget): a price 9e-10 / (1/20) = 2e-8 too low, far outside the 4e-9
    margin of a tie, and X came before Y (G and 1,000 fresh voters) although Y is cheaper.
    Both need G's money (more than one voter's budget), so only the first one is bought.
    """
    big, fresh = 2_000, 1_000
    b0, beta, d = F(1000), F(1, 20), F(9, 10**10)
    cost_a = (n_many + big) * (b0 - beta)
    cost_x = (n_many + 1) * beta + d
    target = F(1, n_many + 1) * (1 + F(1, 10**8))  # Y's price: between X's float and exact
    s_y = target * n_many * beta / (1 - target * fresh)
    cost_y = n_many * beta + fresh * s_y
    projects = [Project("A", cost_a), Project("X", cost_x), Project("Y", cost_y)]
    groups = [(n_many, ("A", "X", "Y")), (big, ("A",)), (fresh, ("Y",)), (1, ("X",))]
    return grouped(projects, b0 * (n_many + big + fresh + 1), groups)


def test_a_hair_above_paying_all_is_not_taken_for_paying_in_full() -> None:
    e = _many_pay_all_one_pays_a_hair_more()
    exact, fast, compiled = fast_paths(e)
    assert exact == [0, 2]  # A, then Y; X is out of reach
    assert fast == exact  # was [0, 1, 2]: X before Y, and both bought
    assert compiled in (None, exact)  # was [0, 1, 2]; now it gives up
    assert tally(e, RuleSpec("mes", "cost"), explain=False).winners == ("A", "Y")
    add1_both_ways(e)


def test_a_hair_above_paying_all_matches_pabutools() -> None:
    pytest.importorskip("pabutools")
    from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance
    from pabutools.election import Project as PabuProject
    from pabutools.rules import method_of_equal_shares

    e = _many_pay_all_one_pays_a_hair_more(n_many=21_000)  # G's money still > 1,000
    instance = Instance(budget_limit=e.budget)
    pp = {p.id: PabuProject(p.id, p.cost) for p in e.projects}
    for p in pp.values():
        instance.add(p)
    profile = ApprovalProfile(instance=instance)
    for ballot in e.ballots():
        profile.append(ApprovalBallot([pp[p] for p in ballot.projects]))
    pabu = sorted(p.name for p in method_of_equal_shares(instance, profile, sat_class=Cost_Sat))
    assert pabu == ["A", "Y"]
    assert tally(e, RuleSpec("mes", "cost"), explain=False).winners == ("A", "Y")


def _cancellation(n_many: int = 25_000) -> tuple[Election, float]:
    """A drains G (``n_many`` voters) and 2,000 others from 1000 to 1e-4 each: in floats
    1000 - 999.9999 keeps the rounding of 999.9999 (about 1e-13), a relative 1e-9 of what is
    left. X (G and one voter R) costs what G has plus R's part, 2e-4: R's part is
    ``cost - 25,000 x 1e-4``, where the 25,000 equal errors add up: relative 1e-5. Y (12,500
    fresh voters, exact) is priced between X's float and exact prices, on the side that
    makes the float order wrong. Return the election and X's relative float error.
    """
    big, fresh = 2_000, 12_500
    b0, beta = F(1000), F(1, 10_000)
    cost_a = (n_many + big) * (b0 - beta)
    # the floats every path computes: A's share, what G has left, R's part of X
    beta_f = 1000.0 - float(cost_a) / (n_many + big)

    def cost_x(rho):  # X at exact price rho per unit of cost: R pays s = rho x cost
        return n_many * beta / (1 - rho)

    rho = F(1, fresh)
    s_exact = rho * cost_x(rho)
    s_float = float(cost_x(rho)) - n_many * beta_f
    rel = (s_float - float(s_exact)) / float(s_exact)
    rho = F(1, fresh) * (1 - F(rel) / 2)  # Y's 1/fresh halfway between X's two prices
    projects = [Project("A", cost_a), Project("X", cost_x(rho)), Project("Y", F(fresh))]
    groups = [(n_many, ("A", "X")), (big, ("A",)), (fresh, ("Y",)), (1, ("X",))]
    return grouped(projects, b0 * (n_many + big + fresh + 1), groups), rel


def test_cancellation_in_what_the_few_pay() -> None:
    e, rel = _cancellation()
    assert abs(rel) > 1e-6  # the float error is real, far above the 4e-9 margin of a tie
    exact, fast, compiled = fast_paths(e)
    assert sorted(exact) == [0, 1, 2]
    assert fast == exact  # was in the other order: the float price decided against the exact
    assert compiled in (None, exact)


# -- random elections built around the dangerous cases ------------------------------------


@st.composite
def adversarial(draw, max_mult: int = 20_000):
    """Groups of identical ballots (some huge), and costs that leave budgets tiny and put
    prices a hair from a supporter's budget, or make two prices a hair apart."""
    sizes = [1, 2, 3, 50, 1000, max_mult]
    n_groups = draw(st.integers(2, 5))
    mults = draw(st.lists(st.sampled_from(sizes), min_size=n_groups, max_size=n_groups))
    n = sum(mults)
    # per-voter budgets from 1 to costs near 2**53 (in total), not always a float
    b0 = draw(
        st.sampled_from([F(1), F(1000), F(10**6), F(2**53, n), F(2**53 - 1, 3 * n), F(1000, 7)])
    )
    n_projects = draw(st.integers(2, 6))
    projects = []
    supporters = []
    for j in range(n_projects):
        chosen = draw(st.lists(st.integers(0, n_groups - 1), min_size=1, unique=True))
        weight = sum(mults[g] for g in chosen)
        kind = draw(st.sampled_from(["drain", "edge", "edge", "twin", "plain"]))
        left = b0 / 10 ** draw(st.sampled_from([1, 4, 7, 10]))  # what a drain leaves
        hair = b0 * draw(st.sampled_from([0, 1, -1])) / 10 ** draw(st.sampled_from([9, 12, 15]))
        if kind == "drain":  # every supporter pays all but `left`
            cost = weight * (b0 - left)
        elif kind == "edge":  # the last chosen group pays a hair more than `left`, others all
            rich = mults[chosen[-1]]
            cost = (weight - rich) * left + rich * (left + hair)
        elif kind == "twin" and projects:  # a hair from an earlier project's cost
            cost = projects[-1].cost * (1 + hair / b0)
        else:
            cost = F(draw(st.integers(1, 10**6))) * b0 / 1000
        if cost <= 0:
            cost = b0
        projects.append(Project(f"p{j}", cost))
        supporters.append(chosen)
    groups = []
    for g, m in enumerate(mults):
        named = tuple(projects[j].id for j in range(n_projects) if g in supporters[j])
        groups.append((m, named))
    return grouped(projects, b0 * n, groups)


@settings(max_examples=150, deadline=None)
@given(adversarial())
def test_fast_runs_are_the_exact_run_on_adversarial_elections(e) -> None:
    for utility in ("cost", "cardinality"):
        exact, fast, compiled = fast_paths(e, utility)
        assert fast == exact
        assert compiled in (None, exact)


@settings(max_examples=40, deadline=None)
@given(adversarial(max_mult=300), st.lists(st.integers(0, 40), min_size=1, max_size=3))
def test_later_increments_too(e, steps) -> None:
    """Add1's runs: the same elections at higher budgets per voter (less cancellation)."""
    for utility in ("cost", "cardinality"):
        prep = prepare(e, utility)
        keys = tie_keys(e, "lexicographic", prep.supporters)
        kernel = mes_kernel.FloatMES(prep, keys) if mes_kernel.AVAILABLE else None
        for step in steps:
            b = Q(e.budget) / e.num_voters + step
            exact = mes_once(prep, b, keys).selected
            assert mes_once_fast(prep, b, keys).selected == exact
            if kernel is not None:
                assert kernel.run(b) in (None, exact)


def _hair(draw, values):
    return F(draw(st.sampled_from([0, 1, -1]))) * F(draw(st.sampled_from(values)))


@st.composite
def near_ties(draw):
    """The family of the two hand-built cases, with every size and gap drawn.

    A drains G (N voters), H (K) and D to ``left`` each (so its rounding stays in their
    budgets); X: G and r fresh voters who pay ``left x (1 + h)`` each (G pays all it has when
    h > 0; h a hair from 0 makes the partition a hair from changing); Y: H and M fresh
    voters, priced at X's exact price times ``1 + eta`` (eta a hair from 0, or 0: an exact
    tie). Every path must put X and Y in the exact order.
    """
    n_g = draw(st.sampled_from([1, 7, 1000, 25_000]))
    r = draw(st.sampled_from([1, 3]))
    m = draw(st.integers(1, n_g + r - 1)) if n_g + r > 1 else 1
    k = n_g + r - m + draw(st.sampled_from([1, 5, 1000]))
    d = r + m + 1
    n = n_g + k + d + r + m
    b0 = draw(st.sampled_from([F(1), F(1000), F(10**6), F(2**53, n), F(1000, 3)]))
    left = b0 / draw(st.sampled_from([10, 3 * 10**4, 10**7]))
    h = _hair(draw, [F(1, 10**3), F(1, 10**6), F(1, 10**9), F(1, 10**12)])
    eta = _hair(draw, [F(1, 10**10), F(3, 10**9), F(1, 10**8), F(1, 10**6)])
    cost_a = (n_g + k + d) * (b0 - left)
    s_x = left * (1 + h)
    cost_x = n_g * left + r * s_x
    share = cost_x / (n_g + r) if cost_x / (n_g + r) <= left else s_x
    rho = share / cost_x * (1 + eta)  # Y's exact price
    # Y = H paying all it has (left) and M fresh voters paying s_y: s_y / cost_y = rho
    s_y = rho * k * left / (1 - rho * m) if rho * m < 1 else F(-1)
    if s_y <= left:  # H would pay in full: this target price is out of Y's reach
        return None
    cost_y = k * left + m * s_y
    projects = [Project("A", cost_a), Project("X", cost_x), Project("Y", cost_y)]
    groups = [
        (n_g, ("A", "X")),
        (k, ("A", "Y")),
        (d, ("A",)),
        (r, ("X",)),
        (m, ("Y",)),
    ]
    return grouped(projects, b0 * n, groups)


@settings(max_examples=200, deadline=None)
@given(near_ties())
def test_fast_runs_order_near_ties_exactly(e) -> None:
    if e is None:
        return
    exact, fast, compiled = fast_paths(e)
    assert fast == exact
    assert compiled in (None, exact)


def test_what_is_left_after_a_purchase_near_2_53() -> None:
    """Found by the adversarial test on the old margins: 2**53 shared by 20,003 voters, A
    costs what 20,002 of them have but 1e-7 of it; B costs exactly what one of them has left
    (about 45,029). In floats that budget is off by about 1e-4 (the rounding of the 9e15
    cost, and of the 4.5e11 budget), a relative 2e-9 of what is left: the old relative 1e-9
    called B unaffordable. Its error bound now comes from the operands, and it goes exact."""
    n = 20_003
    b0 = F(2**53, n)
    left = b0 / 10**7
    projects = [Project("A", (n - 1) * (b0 - left)), Project("B", left)]
    e = grouped(projects, 2**53, [(1, ("A", "B")), (n - 2, ("A",)), (1, ())])
    exact, fast, compiled = fast_paths(e)
    assert exact == [0, 1]
    assert fast == exact  # was [0]
    assert compiled in (None, exact)
    assert tally(e, RuleSpec("mes", "cost"), explain=False).winners == ("A", "B")
