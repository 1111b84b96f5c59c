"""Property tests: outcomes never exceed the budget, are deterministic, and depend neither on
the order of the ballots nor on the voter ids."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from civicbudget.tally import Ballot, Project, RuleSpec, election_from_ballots, tally

SPECS = [
    RuleSpec("greedy"),
    RuleSpec("greedy", no_skip=True, fund_unsupported=False),
    RuleSpec("mes", "cost"),
    RuleSpec("mes", "cardinality"),
    RuleSpec("mes", "cost", completion="add1"),
    RuleSpec("mes", "cost", completion="add1-greedy"),
    RuleSpec("mes", "cardinality", completion="add1-noexh-greedy"),
    RuleSpec("phragmen"),
    RuleSpec("max-welfare"),
]
POINT_SPECS = [
    RuleSpec("greedy"),
    RuleSpec("mes", "points"),
    RuleSpec("mes", "points-cost", completion="add1-greedy"),
    RuleSpec("max-welfare"),
]


@st.composite
def elections(draw, points: bool = False):
    n_projects = draw(st.integers(1, 7))
    ids = draw(
        st.lists(
            st.sampled_from([str(i) for i in range(1, 30)]),
            min_size=n_projects,
            max_size=n_projects,
            unique=True,
        )
    )
    costs = draw(st.lists(st.integers(1, 60), min_size=n_projects, max_size=n_projects))
    budget = draw(st.integers(1, 150))
    n_voters = draw(st.integers(0, 14))
    ballots = []
    for v in range(n_voters):
        chosen = draw(st.lists(st.sampled_from(ids), unique=True, max_size=n_projects))
        pts = tuple(draw(st.integers(1, 5)) for _ in chosen) if points else None
        ballots.append(Ballot(f"v{v}", tuple(chosen), pts))
    projects = [Project(i, Fraction(c)) for i, c in zip(ids, costs, strict=True)]
    return election_from_ballots(projects, budget, ballots, "cumulative" if points else "approval")


def _renamed_and_shuffled(e, perm_seed: int):
    import random

    ballots = list(e.ballots())
    random.Random(perm_seed).shuffle(ballots)
    renamed = [Ballot(f"x{k}-{b.voter_id}", b.projects, b.points) for k, b in enumerate(ballots)]
    return election_from_ballots(e.projects, e.budget, renamed, e.vote_type)


@settings(max_examples=60, deadline=None)
@given(elections(), st.integers(0, 10_000))
def test_approval_rules_respect_the_budget_and_ignore_order_and_ids(e, seed) -> None:
    other = _renamed_and_shuffled(e, seed)
    for spec in SPECS:
        out = tally(e, spec)
        assert out.total_cost <= e.budget
        assert out.total_cost == sum(p.cost for p in e.projects if p.id in out.winner_set)
        assert tally(e, spec) == out  # deterministic
        assert tally(other, spec).winners == out.winners


@settings(max_examples=40, deadline=None)
@given(elections(points=True), st.integers(0, 10_000))
def test_points_rules_respect_the_budget_and_ignore_order_and_ids(e, seed) -> None:
    other = _renamed_and_shuffled(e, seed)
    for spec in POINT_SPECS:
        out = tally(e, spec)
        assert out.total_cost <= e.budget
        assert tally(e, spec) == out
        assert tally(other, spec).winners == out.winners
