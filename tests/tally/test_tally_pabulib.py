"""Reading and writing pabulib files: every shared file reads and round-trips; bad input
is rejected with the line and what is wrong."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from civicbudget.tally import PabulibError, format_pabulib, parse_pabulib, read_pabulib
from tally.tally_data import PABULIB, needs_data, pb_files

GOOD = """META
key;value
budget;100
vote_type;approval
PROJECTS
project_id;cost;name
1;60;Park
2;50;"Library; east wing"
10;40;none
VOTES
voter_id;vote;age
a;1,2;30
b;10,1;none
c;;41
"""

CUMULATIVE = """META
key;value
budget;100
vote_type;cumulative
max_sum_points;5
PROJECTS
project_id;cost
1;60
2;50
VOTES
voter_id;vote;points
a;1,2;3,2
b;2;5
"""


@needs_data
@pytest.mark.parametrize("name", pb_files())
def test_every_shared_file_reads_and_round_trips(name: str) -> None:
    election = read_pabulib(PABULIB / name)
    assert election.num_voters > 0 and election.projects
    again = parse_pabulib(format_pabulib(election))
    assert again.same_as(election)


def test_reads_quoted_names_none_and_empty_ballots() -> None:
    e = parse_pabulib(GOOD)
    assert [p.id for p in e.projects] == ["1", "2", "10"]
    assert e.projects[1].name == "Library; east wing"
    assert e.projects[2].name == "none" or e.projects[2].name == ""
    ballots = list(e.ballots())
    assert [b.projects for b in ballots] == [("1", "2"), ("10", "1"), ()]
    assert e.budget == 100 and e.num_voters == 3


def test_crlf_and_mixed_line_endings_read_the_same() -> None:
    crlf = GOOD.replace("\n", "\r\n")
    mixed = GOOD.replace("PROJECTS\n", "PROJECTS\r\n")
    assert parse_pabulib(crlf.encode()).same_as(parse_pabulib(GOOD))
    assert parse_pabulib(mixed.encode()).same_as(parse_pabulib(GOOD))


def test_a_project_named_twice_in_a_ballot_counts_once() -> None:
    e = parse_pabulib(GOOD.replace("a;1,2;30", "a;1,2,1;30"))
    assert next(iter(e.ballots())).projects == ("1", "2")


def test_decimal_costs_and_budget_are_exact() -> None:
    e = parse_pabulib(
        GOOD.replace("budget;100", "budget;100.5").replace("1;60;Park", "1;60,25;Park")
    )
    assert e.budget == Fraction(201, 2)
    assert e.projects[0].cost == Fraction(241, 4)
    assert parse_pabulib(format_pabulib(e)).same_as(e)


def test_cumulative_points_are_read() -> None:
    e = parse_pabulib(CUMULATIVE)
    assert [b.points for b in e.ballots()] == [(3, 2), (5,)]
    assert e.points is not None and e.points.dtype == np.int64


def _error(text: str | bytes) -> PabulibError:
    with pytest.raises(PabulibError) as info:
        parse_pabulib(text)
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            GOOD.replace(
                'PROJECTS\nproject_id;cost;name\n1;60;Park\n2;50;"Library; east wing"\n10;40;none\n',
                "",
            ),
            5,
            "missing PROJECTS section",
        ),
        (GOOD.replace("1;60;Park", "1;60"), 7, "columns"),
        (GOOD.replace("1;60;Park", "1;sixty;Park"), 7, "not a number"),
        (GOOD.replace("b;10,1;none", "b;10,7;none"), 13, "unknown project '7'"),
        (GOOD.replace("c;;41", "a;;41"), 14, "duplicate voter id 'a'"),
        (GOOD.replace("1;60;Park", "1;0;Park"), 7, "must be > 0"),
        (GOOD.replace("1;60;Park", "1;-5;Park"), 7, "must be > 0"),
        (CUMULATIVE.replace("b;2;5", "b;2;6"), 13, "over max_sum_points"),
        (CUMULATIVE.replace("a;1,2;3,2", "a;1,2;3"), 12, "values in points"),
        (
            GOOD.replace("VOTES\nvoter_id;vote;age\n", "VOTERS\nvoter_id;vote;age\n"),
            10,
            "unknown section 'VOTERS'",
        ),
    ],
    ids=[
        "missing-section",
        "column-count",
        "non-numeric-cost",
        "unknown-project",
        "duplicate-voter",
        "zero-cost",
        "negative-cost",
        "points-over-max",
        "points-count",
        "unknown-section",
    ],
)
def test_bad_input_names_the_line_and_the_problem(text: str, line: int, words: str) -> None:
    err = _error(text)
    assert err.line == line, str(err)
    assert words in err.message, err.message
    assert f"line {line}" in str(err)


def test_missing_votes_section_is_reported() -> None:
    head = GOOD.split("VOTES")[0]
    err = _error(head)
    assert "missing VOTES section" in err.message


def test_empty_and_binary_files_are_rejected() -> None:
    assert "empty file" in _error(b"").message
    assert "empty file" in _error(b"  \n\n").message
    assert "binary" in _error(b"META\n\x00\x01\x02").message
    err = _error(b"META\nkey;value\n\xff\xfe\xfa")
    assert err.line == 3 and "UTF-8" in err.message


def test_read_pabulib_names_the_file(tmp_path) -> None:
    path = tmp_path / "bad.pb"
    path.write_text(GOOD.replace("1;60;Park", "1;x;Park"))
    with pytest.raises(PabulibError, match=r"bad\.pb:line 7: cost of project '1' is not a number"):
        read_pabulib(path)
