"""Category floors and caps: against brute force and the documented definitions.

Small random elections (at most 8 projects, categories a, b, c, one or two per project):
infeasible constraint sets are refused; otherwise every rule's outcome fits the budget and
meets every floor and cap; greedy and MES equal a direct transcription of their definition
in docs/tally.md with a brute-force completion check; max-welfare reaches the brute-force
optimum (and scipy's milp agrees). Then the real file of the issue, and the command.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicbudget.tally import (
    Ballot,
    CategoryBound,
    ConstraintError,
    Project,
    RuleSpec,
    election_from_ballots,
    read_pabulib,
    tally,
)
from civicbudget.tally.cli import main
from civicbudget.tally.constraints import project_categories
from tally.tally_data import PABULIB, needs_data

CATS = ("a", "b", "c")


@st.composite
def constrained(draw):
    n_projects = draw(st.integers(1, 8))
    ids = [str(i) for i in range(1, n_projects + 1)]
    costs = draw(st.lists(st.integers(1, 40), min_size=n_projects, max_size=n_projects))
    cats = [
        ",".join(draw(st.lists(st.sampled_from(CATS), min_size=1, max_size=2, unique=True)))
        for _ in ids
    ]
    budget = draw(st.integers(1, 120))
    n_voters = draw(st.integers(1, 10))
    ballots = [
        Ballot(
            f"v{v}", tuple(draw(st.lists(st.sampled_from(ids), unique=True, max_size=n_projects)))
        )
        for v in range(n_voters)
    ]
    projects = [
        Project(i, Fraction(c), category=cat) for i, c, cat in zip(ids, costs, cats, strict=True)
    ]
    election = election_from_ballots(projects, budget, ballots)
    floors = tuple(
        CategoryBound(c, Fraction(draw(st.integers(1, 60))), False)
        for c in draw(st.lists(st.sampled_from(CATS), unique=True, max_size=2))
    )
    caps = tuple(
        CategoryBound(c, Fraction(draw(st.integers(0, 80))), False)
        for c in draw(st.lists(st.sampled_from(CATS), unique=True, max_size=2))
    )
    return election, floors, caps


def _cats(election):
    return [project_categories(p.category) for p in election.projects]


def _ok(election, chosen, floors, caps, budget=None) -> bool:
    cats = _cats(election)
    budget = election.budget if budget is None else budget
    cost = [p.cost for p in election.projects]
    if sum((cost[j] for j in chosen), Fraction(0)) > budget:
        return False

    def spent(c):
        return sum((cost[j] for j in chosen if c in cats[j]), Fraction(0))

    return all(spent(b.category) >= b.value for b in floors) and all(
        spent(b.category) <= b.value for b in caps
    )


def _extendable(election, chosen, floors, caps, budget=None) -> bool:
    rest = [j for j in range(len(election.projects)) if j not in chosen]
    return any(
        _ok(election, set(chosen) | set(extra), floors, caps, budget)
        for r in range(len(rest) + 1)
        for extra in itertools.combinations(rest, r)
    )


def _feasible(election, floors, caps) -> bool:
    present = {c for cs in _cats(election) for c in cs}
    if any(b.category not in present for b in (*floors, *caps)):
        return False  # refused: a category no project has
    return _extendable(election, set(), floors, caps)


def _votes(election):
    v = [0] * len(election.projects)
    for j in election.project_index.tolist():
        v[j] += 1
    return v


def _greedy_reference(election, floors, caps):
    """docs/tally.md, greedy with floors and caps, with a brute-force completion check."""
    votes = _votes(election)
    ids = election.project_ids()
    order = sorted(range(len(ids)), key=lambda j: (-votes[j], ids[j]))
    cats = _cats(election)
    chosen: list[int] = []
    cost = [p.cost for p in election.projects]

    def met(c):
        b = next(b for b in floors if b.category == c)
        return sum((cost[j] for j in chosen if c in cats[j]), Fraction(0)) >= b.value

    for b in floors:
        for j in order:
            if met(b.category):
                break
            if (
                j not in chosen
                and b.category in cats[j]
                and _extendable(election, {*chosen, j}, floors, caps)
            ):
                chosen.append(j)
    for j in order:
        if j not in chosen and _extendable(election, {*chosen, j}, floors, caps):
            chosen.append(j)
    return [ids[j] for j in chosen]


def _mes_reference(election, floors, caps):
    """docs/tally.md, MES (cost utilities) with floors and caps, naively and exactly."""
    ids = election.project_ids()
    n = election.num_voters
    cost = [p.cost for p in election.projects]
    cats = _cats(election)
    supporters = [[] for _ in ids]
    ptr = election.indptr.tolist()
    idx = election.project_index.tolist()
    for v in range(n):
        for j in idx[ptr[v] : ptr[v + 1]]:
            supporters[j].append(v)
    money = [election.budget / n] * n
    chosen: list[int] = []
    set_aside: set[int] = set()
    given_up: set[str] = set()

    def spent(c):
        return sum((cost[j] for j in chosen if c in cats[j]), Fraction(0))

    def price(j):  # per unit of utility (utility = cost for every supporter)
        s = supporters[j]
        if not s or sum(money[v] for v in s) < cost[j]:
            return None
        paid, left = Fraction(0), len(s)
        for v in sorted(s, key=lambda v: money[v]):
            share = (cost[j] - paid) / left
            if share <= money[v]:
                return share / cost[j]
            paid += money[v]
            left -= 1
        raise AssertionError

    def best(pool):
        priced = [(price(j), ids[j], j) for j in pool]
        priced = [t for t in priced if t[0] is not None]
        return min(priced)[2] if priced else None

    while True:
        phases = [
            b.category for b in floors if b.category not in given_up and spent(b.category) < b.value
        ]
        found = None
        for c in [*phases, None]:
            while found is None:
                pool = [
                    j
                    for j in range(len(ids))
                    if j not in chosen and j not in set_aside and (c is None or c in cats[j])
                ]
                j = best(pool)
                if j is None:
                    if c is not None:
                        given_up.add(c)
                    break
                if _extendable(election, {*chosen, j}, floors, caps):
                    found = j
                else:
                    set_aside.add(j)
            if found is not None:
                break
        if found is None:
            break
        share = price(found) * cost[found]
        for v in supporters[found]:
            money[v] -= min(money[v], share)
        chosen.append(found)
    votes = _votes(election)
    order = sorted(range(len(ids)), key=lambda j: (-votes[j], ids[j]))
    for b in floors:
        for j in order:
            if spent(b.category) >= b.value:
                break
            if (
                j not in chosen
                and b.category in cats[j]
                and _extendable(election, {*chosen, j}, floors, caps)
            ):
                chosen.append(j)
    return [ids[j] for j in chosen]


def _welfare(election, chosen_ids):
    votes = dict(zip(election.project_ids(), _votes(election), strict=True))
    cost = {p.id: p.cost for p in election.projects}
    return sum((votes[i] * cost[i] for i in chosen_ids), Fraction(0))


def _best_welfare(election, floors, caps):
    n = len(election.projects)
    ids = election.project_ids()
    return max(
        _welfare(election, [ids[j] for j in combo])
        for r in range(n + 1)
        for combo in itertools.combinations(range(n), r)
        if _ok(election, set(combo), floors, caps)
    )


SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(constrained())
def test_refused_exactly_when_infeasible_else_every_rule_meets_the_constraints(case) -> None:
    election, floors, caps = case
    feasible = _feasible(election, floors, caps)
    for spec in (
        RuleSpec("greedy", "cost"),
        RuleSpec("mes", "cost"),
        RuleSpec("mes", "cost", completion="add1"),
        RuleSpec("mes", "cost", completion="add1-greedy"),
        RuleSpec("mes", "cardinality", completion="add1-noexh-greedy"),
        RuleSpec("max-welfare", "cost"),
    ):
        spec = RuleSpec(**{**spec.__dict__, "category_min": floors, "category_max": caps})
        if not feasible:
            with pytest.raises(ConstraintError):
                tally(election, spec)
            continue
        out = tally(election, spec)
        index = {pid: j for j, pid in enumerate(election.project_ids())}
        chosen = {index[w] for w in out.winners}
        assert len(chosen) == len(out.winners)
        assert _ok(election, chosen, floors, caps), (spec, out.winners)
        assert len(out.explanations) == len(election.projects)


@SLOW
@given(constrained())
def test_greedy_and_mes_follow_their_documented_definition(case) -> None:
    election, floors, caps = case
    if not _feasible(election, floors, caps):
        return
    greedy = tally(election, RuleSpec("greedy", "cost", category_min=floors, category_max=caps))
    assert list(greedy.winners) == _greedy_reference(election, floors, caps)
    mes = tally(election, RuleSpec("mes", "cost", category_min=floors, category_max=caps))
    assert list(mes.winners) == _mes_reference(election, floors, caps)
    # the float-when-safe path (no explanations) decides the same
    fast = tally(
        election, RuleSpec("mes", "cost", category_min=floors, category_max=caps), explain=False
    )
    assert fast.winners == mes.winners


@SLOW
@given(constrained())
def test_max_welfare_is_the_brute_force_and_milp_optimum(case) -> None:
    from scipy.optimize import Bounds, LinearConstraint, milp

    election, floors, caps = case
    if not _feasible(election, floors, caps):
        return
    out = tally(election, RuleSpec("max-welfare", "cost", category_min=floors, category_max=caps))
    best = _best_welfare(election, floors, caps)
    assert _welfare(election, out.winners) == best
    assert out.info.get("optimum_proven", True) is True  # absent without constraints
    # scipy's milp (HiGHS) on the same problem: integers small enough to be exact in floats
    votes = _votes(election)
    cats = _cats(election)
    cost = [float(p.cost) for p in election.projects]
    rows, lo, hi = [cost], [-np.inf], [float(election.budget)]
    for b in floors:
        rows.append([c if b.category in cs else 0.0 for c, cs in zip(cost, cats, strict=True)])
        lo.append(float(b.value))
        hi.append(np.inf)
    for b in caps:
        rows.append([c if b.category in cs else 0.0 for c, cs in zip(cost, cats, strict=True)])
        lo.append(-np.inf)
        hi.append(float(b.value))
    res = milp(
        -np.array([v * c for v, c in zip(votes, cost, strict=True)]),
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=np.ones(len(cost)),
        bounds=Bounds(0, 1),
    )
    assert res.success
    assert round(-res.fun) == best


def test_no_constraints_change_nothing() -> None:
    projects = [Project(str(i), Fraction(c), category="a") for i, c in enumerate([5, 7, 3, 9], 1)]
    ballots = [Ballot(f"v{k}", tuple(p)) for k, p in enumerate(["12", "23", "4", "14", "3"])]
    e = election_from_ballots(projects, 15, ballots)
    for rule in ("greedy", "mes", "max-welfare"):
        assert tally(e, RuleSpec(rule, "cost")) == tally(
            e, RuleSpec(rule, "cost", category_min=(), category_max=())
        )


def test_parse_shares_amounts_and_refusals() -> None:
    assert CategoryBound.parse("health and welfare=0.3") == CategoryBound(
        "health and welfare", Fraction(3, 10), True
    )
    assert CategoryBound.parse("x=20%") == CategoryBound("x", Fraction(1, 5), True)
    assert CategoryBound.parse("x=500000") == CategoryBound("x", Fraction(500000), False)
    for bad in ("x", "=0.2", "x=", "x=-1", "x=abc", "x=150%", "x=1e99"):
        with pytest.raises(ConstraintError):
            CategoryBound.parse(bad)


def test_a_constraint_decides_and_the_explanation_says_so() -> None:
    # greedy by votes would take 1 and 2 (both "a"); a floor on "b" forces 3 in first,
    # and the cap on "a" then leaves 2 out
    projects = [
        Project("1", Fraction(5), category="a"),
        Project("2", Fraction(5), category="a"),
        Project("3", Fraction(5), category="b"),
    ]
    ballots = [Ballot(f"v{k}", p) for k, p in enumerate([("1", "2"), ("1", "2"), ("1",), ("3",)])]
    e = election_from_ballots(projects, 15, ballots)
    spec = RuleSpec(
        "greedy",
        "cost",
        category_min=(CategoryBound("b", Fraction(1, 3), True),),
        category_max=(CategoryBound("a", Fraction(5), False),),
    )
    out = tally(e, spec)
    assert out.winners == ("3", "1")
    why = {x.project_id: x for x in out.explanations}
    assert why["3"].reason == "selected-for-floor"
    assert why["3"].details["constraint"] == "floor of b"
    assert why["2"].reason == "cap"
    assert why["2"].details["constraint"] == "cap of a"
    assert out.info["categories"]["b"] == {"floor": 5, "cap": None, "selected_cost": 5}


@needs_data
@pytest.mark.parametrize(
    "args",
    [
        ["--rule", "greedy"],
        ["--rule", "mes", "--completion", "add1-greedy"],
        ["--rule", "max-welfare"],
    ],
)
def test_warsaw_2026_with_a_floor_for_health(args, capsys) -> None:
    path = PABULIB / "Poland_Warszawa_2026.pb"
    floor = ["--category-min", "health and welfare=0.3"]
    assert main([str(path), *args, *floor, "--json", "--explain"]) == 0
    data = json.loads(capsys.readouterr().out)
    election = read_pabulib(path)
    costs = {p.id: p.cost for p in election.projects}
    health = {p.id for p in election.projects if "health and welfare" in p.category}
    assert sum(costs[w] for w in data["winners"]) <= election.budget
    assert (
        sum(costs[w] for w in data["winners"] if w in health) >= Fraction(3, 10) * election.budget
    )
    assert data["info"]["categories"]["health and welfare"]["floor"] == pytest.approx(7256044.5)
    assert len(data["explanations"]) == len(election.projects)
    if args[1] != "max-welfare":
        assert any(x["reason"] == "selected-for-floor" for x in data["explanations"])


@needs_data
def test_an_impossible_floor_is_refused_with_its_name(capsys) -> None:
    path = str(PABULIB / "Poland_Warszawa_2026.pb")
    assert main([path, "--rule", "greedy", "--category-min", "culture=0.3"]) == 2
    err = capsys.readouterr().err
    assert "'culture'" in err and "more than all its projects cost" in err
    assert "Traceback" not in err
    assert main([path, "--rule", "mes", "--category-min", "health and welfare=30000000"]) == 2
    assert "exceeds the budget" in capsys.readouterr().err
    floors = ["health and welfare=0.6", "nature and greenery=0.5"]
    assert main([path, "--category-min", floors[0], "--category-min", floors[1]]) == 2
    assert "the floors of 'health and welfare', 'nature and greenery'" in capsys.readouterr().err
    assert main([path, "--category-min", "x=oops"]) == 2
    assert "--category-min" in capsys.readouterr().err
    assert main([path, "--rule", "phragmen", "--category-max", "culture=0.1"]) == 2
    assert "phragmen" in capsys.readouterr().err
