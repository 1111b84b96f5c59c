"""Rules on small hand-made elections: what each rule selects, and why."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from civicbudget.tally import Ballot, Project, RuleSpec, election_from_ballots, tally
from civicbudget.tally._exact import Q
from civicbudget.tally.mes import mes_once
from civicbudget.tally.mes_fast import mes_once_fast
from civicbudget.tally.profile import prepare
from civicbudget.tally.tiebreak import tie_keys


def approval(costs: dict[str, int], budget: int, votes: list[tuple[str, ...]]):
    projects = [Project(pid, Fraction(c)) for pid, c in costs.items()]
    ballots = [Ballot(str(i), v) for i, v in enumerate(votes)]
    return election_from_ballots(projects, budget, ballots)


def test_greedy_skips_a_project_that_no_longer_fits() -> None:
    e = approval(
        {"a": 60, "b": 50, "c": 40}, 100, [("a", "b", "c")] * 3 + [("a", "b")] * 2 + [("a",)]
    )
    out = tally(e, RuleSpec("greedy"))
    assert out.winners == ("a", "c")
    why = {x.project_id: x for x in out.explanations}
    assert why["b"].reason == "does-not-fit"
    assert why["b"].details["rank"] == 2 and why["b"].details["budget_left_before"] == 40
    assert why["c"].details["votes"] == 3


def test_greedy_no_skip_stops_at_the_first_project_that_does_not_fit() -> None:
    e = approval({"a": 60, "b": 50, "c": 40}, 100, [("a", "b", "c")] * 3 + [("a", "b")] * 2)
    assert tally(e, RuleSpec("greedy", no_skip=True)).winners == ("a",)


def test_greedy_funds_unsupported_projects_like_pabutools_unless_told_not_to() -> None:
    e = approval({"a": 60, "z": 10}, 100, [("a",)])
    assert tally(e, RuleSpec("greedy")).winners == ("a", "z")
    assert tally(e, RuleSpec("greedy", fund_unsupported=False)).winners == ("a",)


def test_greedy_threshold_drops_projects_below_it() -> None:
    e = approval({"a": 60, "b": 10}, 100, [("a", "b")] * 2 + [("a",)] * 2)
    out = tally(e, RuleSpec("greedy", threshold=3))
    assert out.winners == ("a",)
    assert {x.project_id: x.reason for x in out.explanations}["b"] == "below-threshold"


def test_default_tie_break_is_the_id_as_a_string_and_is_reported() -> None:
    e = approval({"9": 50, "10": 50, "2": 50}, 50, [("9", "10", "2")])
    out = tally(e, RuleSpec("greedy"))
    assert out.winners == ("10",)  # "10" < "2" < "9"
    assert out.ties and out.ties[0].chosen == "10"
    assert tally(e, RuleSpec("greedy", tie_break="numeric")).winners == ("2",)


def test_cost_votes_tie_break_prefers_the_cheaper_project() -> None:
    e = approval({"a": 40, "b": 20}, 40, [("a", "b")])
    # MES with cardinality utilities ties nowhere here; greedy by votes ties a and b
    # (one vote each): lexicographic takes a, cost-votes takes the cheaper b.
    assert tally(e, RuleSpec("greedy")).winners[0] == "a"
    assert tally(e, RuleSpec("greedy", tie_break="cost-votes")).winners[0] == "b"


def test_mes_gives_a_cohesive_minority_its_share() -> None:
    # 60 voters want a1, a2, a3; 40 want b1, b2: each project costs 25, budget 100
    votes = [("a1", "a2", "a3")] * 60 + [("b1", "b2")] * 40
    e = approval({"a1": 25, "a2": 25, "a3": 25, "b1": 25, "b2": 25}, 100, votes)
    assert sorted(tally(e, RuleSpec("greedy")).winners) == ["a1", "a2", "a3", "b1"]
    out = tally(e, RuleSpec("mes", "cost"))
    assert sorted(out.winners) == ["a1", "a2", "b1"]  # b2 would need 25, 15 is left
    why = {x.project_id: x for x in out.explanations}
    assert why["b1"].details["round"] in (1, 2, 3, 4)
    assert why["b1"].details["payments"] == ({"amount": Fraction(5, 8), "voters": 40},)
    assert why["a3"].reason == "not-affordable"
    assert why["a3"].details["supporters_money_left"] == 10
    assert why["a3"].details["cheaper_by"] == 15


def test_mes_add1_spends_what_plain_mes_leaves() -> None:
    votes = [("a",)] * 3 + [("b",)] * 1
    e = approval({"a": 60, "b": 30}, 100, votes)
    assert tally(e, RuleSpec("mes", "cost")).winners == ("a",)
    out = tally(e, RuleSpec("mes", "cost", completion="add1"))
    assert sorted(out.winners) == ["a", "b"]
    assert out.info["add1_steps"] > 0


def test_mes_add1_greedy_fills_what_is_left() -> None:
    e = approval({"a": 60, "b": 30, "c": 10}, 100, [("a",)] * 5 + [("c",)])
    out = tally(e, RuleSpec("mes", "cost", completion="add1-greedy"))
    assert out.total_cost <= 100
    assert "c" in out.winners


def test_phragmen_stops_at_the_first_project_that_does_not_fit() -> None:
    e = approval({"a": 60, "b": 50, "c": 10}, 100, [("a",)] * 3 + [("b",)] * 2 + [("c",)])
    out = tally(e, RuleSpec("phragmen"))
    # loads: c 10/1, a 60/3, b 50/2 -> c, a, then b would overspend: stop
    assert out.winners == ("c", "a")
    assert {x.project_id: x.reason for x in out.explanations}["b"] == "does-not-fit"


def test_max_welfare_finds_the_knapsack_optimum() -> None:
    costs = {"a": 50, "b": 40, "c": 30, "d": 30, "e": 20}
    votes = [("a", "b")] * 3 + [("c", "d", "e")] * 2 + [("a",)]
    e = approval(costs, 100, votes)
    out = tally(e, RuleSpec("max-welfare"))
    support = {p: sum(p in v for v in votes) for p in costs}
    best = max(
        sum(support[p] * costs[p] for p in s)
        for r in range(len(costs) + 1)
        for s in itertools.combinations(costs, r)
        if sum(costs[p] for p in s) <= 100
    )
    assert out.info["welfare"] == best
    assert out.total_cost <= 100


def test_points_ballots_use_points_for_mes_and_score_for_greedy() -> None:
    projects = [Project("x", Fraction(50)), Project("y", Fraction(50)), Project("z", Fraction(50))]
    ballots = [
        Ballot("1", ("x", "y"), (4, 1)),
        Ballot("2", ("y", "z"), (1, 4)),
        Ballot("3", ("y",), (5,)),
    ]
    e = election_from_ballots(projects, 100, ballots, vote_type="cumulative")
    assert tally(e, RuleSpec("greedy")).winners == ("y", "x")  # scores 7, 4, 4
    assert tally(e, RuleSpec("mes")).total_cost <= 100


def test_ordinal_ballots_become_points_by_rank() -> None:
    projects = [Project(p, Fraction(10)) for p in "abc"]
    ballots = [Ballot("1", ("a", "b", "c")), Ballot("2", ("c", "b"))]
    e = election_from_ballots(projects, 10, ballots, vote_type="ordinal", meta={"max_length": "3"})
    # points: a 3; b 2 + 2 = 4; c 1 + 3 = 4 -> tie b/c broken lexicographically
    out = tally(e, RuleSpec("greedy"))
    assert out.winners == ("b",)


def test_phragmen_rejects_points_ballots() -> None:
    projects = [Project("x", Fraction(5))]
    e = election_from_ballots(projects, 10, [Ballot("1", ("x",), (1,))], vote_type="cumulative")
    with pytest.raises(ValueError, match="approval"):
        tally(e, RuleSpec("phragmen"))


def test_every_project_is_explained() -> None:
    e = approval({"a": 60, "b": 50, "c": 40}, 100, [("a", "b")] * 2 + [("c",)])
    for rule in ("greedy", "mes", "phragmen", "max-welfare"):
        out = tally(e, RuleSpec(rule))
        assert [x.project_id for x in out.explanations] == ["a", "b", "c"]
        assert {x.project_id for x in out.explanations if x.selected} == set(out.winners)


def test_an_election_without_ballots_selects_nothing_with_mes() -> None:
    e = approval({"a": 10}, 100, [])
    assert tally(e, RuleSpec("mes")).winners == ()
    assert tally(e, RuleSpec("mes", completion="add1")).winners == ()


@pytest.mark.parametrize("seed", range(40))
def test_fast_mes_agrees_with_exact_mes(seed: int) -> None:
    import random

    rng = random.Random(seed)
    ids = [str(i) for i in range(rng.randint(2, 9))]
    costs = {p: rng.choice([10, 20, 30, 25, 15]) for p in ids}
    votes = [tuple(rng.sample(ids, rng.randint(0, len(ids)))) for _ in range(rng.randint(1, 30))]
    e = approval(costs, rng.choice([30, 50, 60, 100]), votes)
    for utility in ("cost", "cardinality"):
        prep = prepare(e, utility)
        keys = tie_keys(e, "lexicographic", prep.supporters)
        for step in range(0, 40, 7):
            b = Q(e.budget) / e.num_voters + step
            assert mes_once(prep, b, keys).selected == mes_once_fast(prep, b, keys).selected
