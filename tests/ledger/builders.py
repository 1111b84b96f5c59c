"""Build a small real export: three scopes, a few hundred ballots, four signed checkpoints."""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

from civicbudget.ledger import (
    BallotLog,
    ExportData,
    ProjectSpec,
    ScopeResult,
    ScopeSpec,
    SigningKey,
)
from civicbudget.ledger.entry import parse_entry
from civicbudget.ledger.export import scope_election
from civicbudget.tally import RuleSpec, tally

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
KEY_SEED = bytes(range(32))


def scopes() -> list[ScopeSpec]:
    """Three ballots: a community's approval ballot, another's points, a street's ranking."""
    return [
        ScopeSpec(
            scope="community:12",
            vote_type="approval",
            budget=Fraction(200000),
            projects=tuple(
                ProjectSpec(f"c12-{i}", Fraction(c), f"项目{i}")
                for i, c in enumerate([30000, 45000, 80000, 25000, 60000, 12500, 99000], 1)
            ),
            rule=RuleSpec("mes", "cost", completion="add1"),
            min_length=1,
            max_length=3,
            max_sum_cost=Fraction(200000),
        ),
        ScopeSpec(
            scope="community:15",
            vote_type="cumulative",
            budget=Fraction("150000.5"),
            projects=tuple(
                ProjectSpec(f"c15-{i}", Fraction(c))
                for i, c in enumerate([40000, 52000, 70000, 33000, 21000], 1)
            ),
            rule=RuleSpec("greedy"),
            min_length=1,
            max_points=5,
            max_sum_points=10,
        ),
        ScopeSpec(
            scope="street:3",
            vote_type="ordinal",
            budget=Fraction(500000),
            projects=tuple(
                ProjectSpec(f"s3-{i}", Fraction(c))
                for i, c in enumerate([150000, 220000, 90000, 310000, 120000, 75000], 1)
            ),
            rule=RuleSpec("greedy", "points-cost"),
            min_length=1,
            max_length=3,
        ),
    ]


def random_choices(rng: random.Random, spec: ScopeSpec):
    ids = [p.id for p in spec.projects]
    if spec.vote_type == "cumulative":
        chosen = rng.sample(ids, rng.randint(1, 3))
        pts = {}
        left = spec.max_sum_points
        for pid in chosen:
            n = rng.randint(1, min(spec.max_points, left - (len(chosen) - len(pts) - 1)))
            pts[pid] = n
            left -= n
        return pts
    costs = spec.costs()
    while True:
        chosen = rng.sample(ids, rng.randint(spec.min_length, spec.max_length or len(ids)))
        if spec.max_sum_cost is None or sum(costs[c] for c in chosen) <= spec.max_sum_cost:
            return chosen


def build_data(n_ballots: int = 300, seed: int = 7):
    """Return (ExportData, key, log): a realistic cycle with deterministic nonces."""
    rng = random.Random(seed)
    key = SigningKey.from_seed(KEY_SEED)
    specs = scopes()
    log = BallotLog("2018", "civicbudget:meilan:2018")
    checkpoints = []
    start = dt.datetime(2018, 6, 10, 8, 0, tzinfo=SHANGHAI)
    for i in range(n_ballots):
        spec = specs[rng.choices(range(3), weights=[5, 3, 4])[0]]
        log.append_ballot(
            spec,
            random_choices(rng, spec),
            rng.choice(["online", "paper"]),
            nonce=f"{rng.getrandbits(128):032x}",
        )
        if i in (n_ballots // 4, n_ballots // 2, n_ballots // 2 + 1):
            checkpoints.append(log.checkpoint(key, start + dt.timedelta(minutes=i)))
    checkpoints.append(log.checkpoint(key, start + dt.timedelta(hours=12)))
    results = []
    for spec in specs:
        entries = [e for e in map(parse_entry, log.entries) if e.scope == spec.scope]
        outcome = tally(scope_election("2018", spec, entries), spec.rule, explain=False)
        results.append(ScopeResult(spec, outcome.winners))
    data = ExportData(
        cycle="2018",
        log_id=log.log_id,
        entries=tuple(log.entries),
        checkpoints=tuple(checkpoints),
        scopes=tuple(results),
    )
    return data, key, log
