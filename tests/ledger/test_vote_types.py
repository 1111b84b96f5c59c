"""Every vote type and rule round-trips through an export, empty scopes included."""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

import pytest

from civicbudget.ledger import (
    BallotLog,
    EntryError,
    ExportData,
    ProjectSpec,
    ScopeResult,
    ScopeSpec,
    SigningKey,
    parse_entry,
    verify_export,
    write_export,
)
from civicbudget.ledger.export import scope_election
from civicbudget.tally import RuleSpec, read_pabulib, tally

CASES = [
    ("approval", RuleSpec("mes", "cost", completion="add1-greedy"), {"max_length": 2}),
    ("approval", RuleSpec("phragmen"), {}),
    ("approval", RuleSpec("max-welfare"), {"max_sum_cost": Fraction("100.5")}),
    ("approval", RuleSpec("greedy", threshold=Fraction(3)), {}),
    ("choose-1", RuleSpec("greedy"), {}),
    ("ordinal", RuleSpec("greedy", "points-cost"), {"max_length": 3}),
    ("cumulative", RuleSpec("mes", "points"), {"max_points": 4, "max_sum_points": 6}),
    ("scoring", RuleSpec("greedy", "points-cost"), {"min_points": 1, "max_points": 3}),
]


def choices(rng, spec):
    ids = [p.id for p in spec.projects]
    if spec.vote_type == "choose-1":
        return [rng.choice(ids)]
    if spec.vote_type == "cumulative":
        pick = rng.sample(ids, 2)
        return {pick[0]: rng.randint(1, 4), pick[1]: rng.randint(1, 2)}
    if spec.vote_type == "scoring":
        return {p: rng.randint(1, 3) for p in rng.sample(ids, 3)}
    while True:
        pick = rng.sample(ids, rng.randint(1, spec.max_length or 4))
        costs = spec.costs()
        if spec.max_sum_cost is None or sum(costs[p] for p in pick) <= spec.max_sum_cost:
            return pick


@pytest.mark.parametrize(("vote_type", "rule", "limits"), CASES)
def test_round_trip(tmp_path, vote_type, rule, limits):
    rng = random.Random(vote_type + rule.rule)
    projects = tuple(
        ProjectSpec(f"p{i}", Fraction(c), f'名 {i}; "q"')
        for i, c in enumerate([20, 35, "40.5", 60, 25], 1)
    )
    spec = ScopeSpec("community:1", vote_type, Fraction(100), projects, rule, **limits).check()
    empty = ScopeSpec("community:2", vote_type, Fraction(50), projects, rule, **limits).check()
    key = SigningKey.generate()
    log = BallotLog("c-1", "log-1")
    for _ in range(60):
        log.append_ballot(spec, choices(rng, spec), rng.choice(["online", "paper"]))
    cps = [log.checkpoint(key, dt.datetime(2018, 6, 10, 20, tzinfo=dt.UTC))]
    entries = [parse_entry(e) for e in log.entries]
    winners = tally(scope_election("c-1", spec, entries), rule, explain=False).winners
    empty_winners = tally(scope_election("c-1", empty, []), rule, explain=False).winners
    data = ExportData(
        "c-1",
        "log-1",
        tuple(log.entries),
        tuple(cps),
        (ScopeResult(spec, winners), ScopeResult(empty, empty_winners)),
    )
    write_export(tmp_path / "x", data, key)
    result = verify_export(tmp_path / "x", key.public_key)
    assert [s.num_votes for s in result.scopes] == [60, 0]
    assert read_pabulib(tmp_path / "x" / spec.file_name).num_voters == 60


def test_unsafe_ids_and_names_are_refused():
    p = (ProjectSpec("a", Fraction(1)),)
    for bad in [
        ScopeSpec("community_1", "approval", Fraction(1), p),
        ScopeSpec("../x", "approval", Fraction(1), p),
        ScopeSpec("c:1", "approval", Fraction(1), (ProjectSpec("a,b", Fraction(1)),)),
        ScopeSpec("c:1", "approval", Fraction(1), (ProjectSpec("a", Fraction(1), "two\nlines"),)),
        ScopeSpec("c:1", "approval", Fraction(1), (ProjectSpec("a", Fraction(0)),)),
        ScopeSpec("c:1", "approval", Fraction(1), p + p),
        ScopeSpec("c:1", "approval", Fraction(1), p, RuleSpec("nope")),
        ScopeSpec("c:1", "approval", Fraction(1), p, max_length=0),
    ]:
        with pytest.raises(EntryError):
            bad.check()
    with pytest.raises(ValueError):
        BallotLog("cycle\n2018", "log")
