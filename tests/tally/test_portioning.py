"""Dividing a budget between themes (issue 18, part 4): the independent-markets rule against
its definition, its promises (proportional, truthful, exact) and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicbudget.tally.limits import LimitError
from civicbudget.tally.portioning import divide, l1_distance


def _reference(reports: list[list[int]]) -> list[Fraction]:
    """The rule from its definition, independently: bisection in rationals on t until the
    medians of reports and phantoms min(t(n-k), 1) add up to exactly 1, then the exact
    crossing from the line through the last two bisection points' sums."""
    n, m = len(reports), len(reports[0])
    rows = [[Fraction(x, sum(r)) for x in r] for r in reports]

    def medians(t: Fraction) -> list[Fraction]:
        phantoms = [min(t * (n - k), Fraction(1)) for k in range(n + 1)]
        return [sorted([r[j] for r in rows] + phantoms)[n] for j in range(m)]

    lo, hi = Fraction(0), Fraction(1)
    for _ in range(120):
        mid = (lo + hi) / 2
        if sum(medians(mid)) < 1:
            lo = mid
        else:
            hi = mid
    # Both ends are within 2**-120 of the crossing: the medians at the crossing are within
    # that of the ones at ``hi``; rounding them to the reports' denominators recovers them.
    return [x.limit_denominator(10**6) for x in medians(hi)]


ROWS = st.integers(1, 5).flatmap(lambda m: st.lists(
    st.lists(st.integers(0, 6), min_size=m + 1, max_size=m + 1).filter(any), min_size=1, max_size=6))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS, st.integers(1, 10**9))
def test_independent_markets_matches_its_definition_and_adds_up(reports, budget):
    themes = [f"t{j}" for j in range(len(reports[0]))]
    division = divide(budget, themes, reports)
    assert sum(division.shares) == 1 and all(s >= 0 for s in division.shares)
    assert sum(division.amounts) == budget and all(a >= 0 for a in division.amounts)
    assert all(abs(a - s * budget) < 1 for a, s in zip(division.amounts, division.shares, strict=True))
    assert list(division.shares) == _reference(reports)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=12))
def test_single_minded_voters_get_their_share(choices):
    """Proportionality: a theme chosen alone by k of n voters gets k/n of the budget."""
    reports = [[1 if j == c else 0 for j in range(4)] for c in choices]
    division = divide(1200, ["a", "b", "c", "d"], reports)
    n = len(choices)
    assert list(division.shares) == [Fraction(choices.count(j), n) for j in range(4)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(0, 4), min_size=3, max_size=3).filter(any), min_size=2, max_size=4),
       st.lists(st.integers(0, 4), min_size=3, max_size=3).filter(any))
def test_no_voter_gains_by_misreporting(reports, lie):
    """Truthful for l1 preferences: the first voter's lie never brings the outcome closer to
    what they really want."""
    themes = ["a", "b", "c"]
    truth = [Fraction(x, sum(reports[0])) for x in reports[0]]
    honest = divide(100, themes, reports).shares
    lying = divide(100, themes, [lie, *reports[1:]]).shares
    assert l1_distance(truth, honest) <= l1_distance(truth, lying)


def test_the_mean_can_be_gamed_where_independent_markets_cannot():
    honest = [[50, 50, 0], [0, 100, 0], [0, 100, 0]]
    lie = [[100, 0, 0], *honest[1:]]
    truth = [Fraction(1, 2), Fraction(1, 2), Fraction(0)]
    for rule, gains in (("mean", True), ("independent-markets", False)):
        before = l1_distance(truth, divide(90, ["a", "b", "c"], honest, rule=rule).shares)
        after = l1_distance(truth, divide(90, ["a", "b", "c"], lie, rule=rule).shares)
        assert (after < before) is gains, rule


def test_a_worked_example_and_rounding_by_largest_remainder():
    division = divide(1_000_000, ["道路", "养老", "儿童"], [[50, 30, 20], [10, 80, 10], [30, 30, 40]])
    assert division.t == Fraction(1, 3)
    assert division.shares == (Fraction(1, 3),) * 3
    assert division.amounts == (333_334, 333_333, 333_333)  # the remainder to the first listed


def test_many_voters_are_fast_and_exact():
    import random

    rng = random.Random(7)
    reports = [[rng.randint(0, 10) for _ in range(8)] for _ in range(20_000)]
    reports = [r if any(r) else [1] + r[1:] for r in reports]
    division = divide(30_000_000, [f"t{j}" for j in range(8)], reports)
    assert sum(division.shares) == 1 and sum(division.amounts) == 30_000_000


@pytest.mark.parametrize(("reports", "message"), [
    ([[1, 2], [0, 0]], "voter 2: gives nothing"),
    ([[1, 2, 3]], "voter 1: 3 amounts for 2 themes"),
    ([[1, -2]], "voter 1: amounts must be whole numbers"),
    ([[1, 1.5]], "voter 1: amounts must be whole numbers"),
    ([], "no voter"),
])
def test_bad_reports_are_refused_naming_the_voter(reports, message):
    with pytest.raises(LimitError, match=message):
        divide(100, ["a", "b"], reports)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicbudget.cli", "portion", *args],
                          capture_output=True, text=True, timeout=60)


def test_the_command_reads_a_csv_and_names_the_bad_line(tmp_path):
    good = tmp_path / "splits.csv"
    good.write_text("voter,道路,养老,儿童\n1,50,30,20\n2,10,80,10\n\n3,30,30,40\n", encoding="utf-8")
    done = _cli(str(good), "--budget", "1,000,000", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [t["amount"] for t in data["themes"]] == [333_334, 333_333, 333_333]
    assert data["voters"] == 3 and data["t"] == "1/3"
    for content, expected in [
        ("道路,养老\n5,５\n", "line 2, 养老: '５' is not a whole number"),  # a full-width digit
        ("道路,养老\n5\n", "line 2: 1 values for 2 themes"),
        ("道路,养老\n0,0\n", "line 2: gives nothing"),
        ("", "empty file"),
    ]:
        bad = tmp_path / "bad.csv"
        bad.write_text(content, encoding="utf-8")
        done = _cli(str(bad), "--budget", "100")
        assert done.returncode == 2 and expected in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    done = _cli(str(good), "--budget", "１００")
    assert done.returncode == 2 and "--budget" in done.stderr
