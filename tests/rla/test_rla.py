"""The audit mathematics: Rivest's sampler, the greedy reduction, the risk measure, by simulation."""

from __future__ import annotations

import hashlib
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicbudget.rla import (
    Assertion,
    NotReducible,
    SeedError,
    check_seed,
    draw_sample,
    evaluate,
    fixed_sample_size,
    greedy_assertions,
    greedy_replay,
    initial_sample_size,
    locate,
    run_audit,
    ticket_index,
)
from civicbudget.rla.assertions import check_rule
from civicbudget.tally import Ballot, Project, RuleSpec, election_from_ballots, tally

RIVEST_SEED = "3546311556112163624615351222"


def test_rivest_published_sample():
    # The transcript in sampler.py (2011): seed above, a = 1, b = 876.
    published = [740, 180, 264, 789, 238, 448, 272, 611, 761, 208, 596, 88, 160, 113, 766]
    assert [ticket_index(RIVEST_SEED, i, 876) for i in range(1, 16)] == published
    # Pick 32 repeats 611 (rejected there, without replacement); with replacement it stays.
    assert ticket_index(RIVEST_SEED, 32, 876) == 611


def test_ticket_is_sha256_of_seed_comma_counter():
    seed = "12345678901234567890"
    for counter in (1, 2, 99):
        digest = hashlib.sha256(f"{seed},{counter}".encode()).hexdigest()
        assert ticket_index(seed, counter, 1000) == int(digest, 16) % 1000 + 1


def test_manifest_positions_and_growing_sample():
    manifest = [("box A", [1, 2, 3]), ("box B", [1, 2, 5, 7])]
    assert [locate(manifest, k) for k in range(1, 8)] == [
        ("box A", 1), ("box A", 2), ("box A", 3), ("box B", 1), ("box B", 2), ("box B", 5),
        ("box B", 7)]
    with pytest.raises(ValueError):
        locate(manifest, 8)
    seed = "1234 5678 9012 3456 7890"
    first = draw_sample(seed, manifest, 10)
    more = draw_sample(seed, manifest, 5, start=10)
    assert draw_sample(seed, manifest, 15) == first + more
    assert [d.counter for d in first] == list(range(1, 11))
    assert all(locate(manifest, d.position) == (d.box, d.number) for d in first + more)


@pytest.mark.parametrize("bad", ["", "123", "1234567890123456789", "12345678901234567890x",
                                 "１２３４５６７８９０１２３４５６７８９０", "9" * 201, None])
def test_seed_must_be_dice_digits(bad):
    with pytest.raises(SeedError):
        check_seed(bad)


def test_seed_keeps_digits_drops_spaces():
    assert check_seed(" 12345 67890\n12345 67890 ") == "12345678901234567890"


def _votes(ballots, projects):
    votes = {p: 0 for p in projects}
    for b in ballots:
        for p in b:
            votes[p] += 1
    return votes


def test_replay_matches_the_tally_engine():
    rng = random.Random(7)
    costs = {"1": 40, "2": 35, "3": 30, "4": 20, "5": 10, "10": 25}
    ballots = [frozenset(p for p in costs if rng.random() < 0.4) or frozenset({"5"})
               for _ in range(300)]
    election = election_from_ballots([Project(p, c) for p, c in costs.items()], 100,
                                     [Ballot(str(i), tuple(sorted(b))) for i, b in enumerate(ballots)],
                                     "approval", {})
    outcome = tally(election, RuleSpec("greedy", "cost"))
    votes = _votes(ballots, costs)
    rank = {p: (p,) for p in costs}  # lexicographic, as the engine's default
    assert sorted(greedy_replay(costs, 100, votes, rank)) == sorted(outcome.winners)


def test_assertions_of_a_small_election():
    costs = {"A": 60, "B": 60, "C": 30, "D": 200}
    votes = {"A": 50, "B": 40, "C": 45, "D": 99}
    rank = {p: p for p in costs}
    winners = greedy_replay(costs, 100, votes, rank)
    assert winners == ["A", "C"]  # D never fits; B does not fit after A
    assertions = greedy_assertions(costs, 100, votes, winners, rank)
    # B needs only A above it (A alone leaves 40 < 60); D costs more than the budget.
    assert [(a.winner, a.loser, a.margin) for a in assertions] == [("A", "B", 10)]


def test_a_tie_the_tie_break_decides_is_an_assertion_with_slack_one():
    costs = {"A": 60, "B": 60}
    votes = {"A": 10, "B": 10}
    assertions = greedy_assertions(costs, 100, votes, ["A"], {"A": 0, "B": 1})
    assert assertions == [Assertion("A", "B", 0, True)] and assertions[0].slack == 1


def test_wrong_winners_are_refused():
    with pytest.raises(ValueError):
        greedy_assertions({"A": 60, "B": 60}, 100, {"A": 1, "B": 2}, ["A"], {"A": 0, "B": 1})


@pytest.mark.parametrize("kwargs", [
    {"rule": "mes", "utility": None, "vote_type": "approval"},
    {"rule": "phragmen", "utility": None, "vote_type": "approval"},
    {"rule": "max-welfare", "utility": None, "vote_type": "approval"},
    {"rule": "greedy", "utility": None, "vote_type": "cumulative"},
    {"rule": "greedy", "utility": "cost", "vote_type": "approval", "threshold": 5},
    {"rule": "greedy", "utility": "cost", "vote_type": "approval", "no_skip": True},
    {"rule": "greedy", "utility": "cost", "vote_type": "approval", "fund_unsupported": False},
    {"rule": "greedy", "utility": "cardinality", "vote_type": "approval"},
])
def test_rules_without_a_reduction_say_so(kwargs):
    with pytest.raises(NotReducible):
        check_rule(**kwargs)
    check_rule(rule="greedy", utility="cost", vote_type="approval")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_assertions_that_hold_imply_the_outcome(data):
    """Sufficiency: any true vote count satisfying every assertion gives the same winners."""
    k = data.draw(st.integers(2, 7))
    ids = [str(i) for i in range(k)]
    costs = {p: data.draw(st.integers(1, 60)) for p in ids}
    budget = data.draw(st.integers(1, 150))
    rank = {p: i for i, p in enumerate(ids)}
    votes = {p: data.draw(st.integers(0, 30)) for p in ids}
    winners = greedy_replay(costs, budget, votes, rank)
    assertions = greedy_assertions(costs, budget, votes, winners, rank)
    truth = {p: data.draw(st.integers(0, 30)) for p in ids}
    holds = all(truth[a.winner] - truth[a.loser] + (1 if a.tie_favours_winner else 0) > 0
                for a in assertions)
    if holds:
        assert sorted(greedy_replay(costs, budget, truth, rank)) == sorted(winners)


def test_overstatement_and_p_values():
    a = Assertion("A", "B", 100, False)
    A, B, AB = frozenset({"A"}), frozenset({"B"}), frozenset({"A", "B"})
    paper = 1000
    clean = evaluate([a], paper, [(A, A)] * 61)
    assert clean.results[0].overstatements == {}
    two = evaluate([a], paper, [(A, B)] + [(A, A)] * 60)
    one = evaluate([a], paper, [(A, AB)] + [(A, A)] * 60)
    missing = evaluate([a], paper, [(A, None)] + [(A, A)] * 60)
    under = evaluate([a], paper, [(B, A)] + [(A, A)] * 60)
    assert two.results[0].overstatements == {"2": 1} and one.results[0].overstatements == {"1": 1}
    assert missing.results[0].overstatements == {"2": 1}  # a(A) = 1, a missing sheet counts 0
    assert under.results[0].overstatements == {"-2": 1}
    p = [e.results[0].p_value for e in (under, clean, one, two)]
    assert p == sorted(p) and p[0] < p[1] < p[2] < p[3]


def test_online_margin_beyond_the_paper_needs_no_sample():
    a = Assertion("A", "B", 2001, False)  # 1000 paper sheets cannot move 2001 votes
    result = evaluate([a], 1000, [])
    assert result.decision == "confirmed" and initial_sample_size([a], 1000) == 0


def test_fixed_size_fallback():
    assert fixed_sample_size(0.01, 0.95) == 299  # 0.99**299 < 0.05 < 0.99**298
    assert 0.99 ** 299 < 0.05 < 0.99 ** 298
    assert fixed_sample_size(0.05) == 59


# --- simulation ------------------------------------------------------------------------

COSTS = {"A": 60, "B": 60, "C": 30}
RANK = {p: p for p in COSTS}
PAPER = 4000


def _scope(v: float, rng: random.Random) -> list[frozenset]:
    """4,000 paper ballots: A ahead of B by v·N votes, C on about half of them."""
    ahead = round(v * PAPER)
    a = (PAPER + ahead) // 2
    ballots = [frozenset({"A"})] * a + [frozenset({"B"})] * (PAPER - a)
    rng.shuffle(ballots)
    return [b | {"C"} if rng.random() < 0.5 else b for b in ballots]


MANIFEST = [("box 1", list(range(1, 1501))), ("box 2", list(range(1, 1001))),
            ("box 3", list(range(1, 1501)))]
OFFSET = {"box 1": 0, "box 2": 1500, "box 3": 2500}


def _simulate(records, truth, trials, seed_base):
    votes = _votes(records, COSTS)
    winners = greedy_replay(COSTS, 100, votes, RANK)
    assertions = greedy_assertions(COSTS, 100, votes, winners, RANK)
    runs = []
    for t in range(trials):
        seed = str(31415926535897932384 + 7919 * t + seed_base)
        runs.append(run_audit(seed, MANIFEST, lambda b, k: records[OFFSET[b] + k - 1],
                              lambda b, k: truth[OFFSET[b] + k - 1], assertions))
    return runs


@pytest.mark.parametrize(("v", "most"), [(0.05, 200), (0.10, 100), (0.20, 50)])
def test_correct_records_confirm_with_a_modest_sample(v, most):
    records = _scope(v, random.Random(1))
    runs = _simulate(records, records, 20, 0)
    assert all(r.decision == "confirmed" for r in runs)
    assert max(r.evaluation.compared for r in runs) <= most


def test_records_altered_to_change_the_outcome_escalate():
    """Records altered just enough to turn a 2-vote loss of A into a 5% win: at risk limit
    5%, the audit must call for a full count in at least 95% of trials."""
    records = _scope(0.05, random.Random(2))
    truth = list(records)
    votes = _votes(truth, COSTS)
    i = 0
    while votes["A"] - votes["B"] > -2:  # the sheets say B; the records say A
        if "A" in truth[i]:
            truth[i] = (truth[i] - {"A"}) | {"B"}
            votes = _votes(truth, COSTS)
        i += 1
    assert sorted(greedy_replay(COSTS, 100, votes, RANK)) != sorted(
        greedy_replay(COSTS, 100, _votes(records, COSTS), RANK))
    runs = _simulate(records, truth, 1000, 1)
    escalated = sum(r.decision == "full_count" for r in runs) / len(runs)
    assert escalated >= 0.95


def test_an_unconfirmed_audit_grows_before_it_gives_up():
    a = Assertion("A", "B", 400, False)
    A, AB = frozenset({"A"}), frozenset({"A", "B"})
    pairs = [(A, A)] * 40 + [(A, AB)] * 2
    first = evaluate([a], PAPER, pairs)
    assert first.decision == "continue" and first.next_size >= 63
    capped = evaluate([a], PAPER, pairs, cap=50)
    assert capped.decision == "full_count"
    assert Fraction(1, 2) == a.assorter(frozenset())


def test_online_ballots_enter_the_margins_exactly_and_only_paper_is_sampled():
    """3,000 online ballots (B ahead by 100) and 2,000 paper sheets (A ahead by 300 in the
    records, by 96 on the sheets): the true total is B by 4, the records say A by 200."""
    rng = random.Random(5)
    online = [frozenset({"A"})] * 1450 + [frozenset({"B"})] * 1550
    records = [frozenset({"A"})] * 1150 + [frozenset({"B"})] * 850
    rng.shuffle(records)
    truth, moved = list(records), 0
    for i, b in enumerate(truth):
        if moved < 102 and b == frozenset({"A"}):
            truth[i], moved = frozenset({"B"}), moved + 1
    reported = _votes(online + records, COSTS)
    real = _votes(online + truth, COSTS)
    assert reported["A"] - reported["B"] == 200 and real["A"] - real["B"] == -4
    winners = greedy_replay(COSTS, 100, reported, RANK)
    assertions = greedy_assertions(COSTS, 100, reported, winners, RANK)
    assert [a.margin for a in assertions] == [200]
    manifest = [("box", list(range(1, 2001)))]
    clean = run_audit("1" * 24, manifest, lambda b, k: records[k - 1], lambda b, k: records[k - 1], assertions)
    assert clean.decision == "confirmed" and clean.evaluation.compared < 120
    escalated = sum(
        run_audit(str(10 ** 23 + 7919 * t), manifest, lambda b, k: records[k - 1],
                  lambda b, k: truth[k - 1], assertions).decision == "full_count" for t in range(400))
    assert escalated / 400 >= 0.95
