"""The ``civicbudget tally`` command: output, JSON, explanations and exit codes."""

from __future__ import annotations

import json

import pytest

from civicbudget.cli import main as civicbudget_main
from civicbudget.tally.cli import main
from tally.tally_data import PABULIB, needs_data

GOOD = """META
key;value
budget;100
vote_type;approval
min_project_score_threshold;2
PROJECTS
project_id;cost;name
1;60;Park
2;50;Library
10;40;Bench
VOTES
voter_id;vote
a;1,2
b;10,1
c;2,1
"""


@pytest.fixture
def pb(tmp_path):
    path = tmp_path / "small.pb"
    path.write_text(GOOD)
    return path


def test_json_has_winners_total_cost_and_rule(pb, capsys) -> None:
    assert main([str(pb), "--rule", "greedy", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["winners"] == ["1", "10"]
    assert data["total_cost"] == 100
    assert data["rule"] == "greedy[cost]"


def test_explain_prints_a_table_with_every_project(pb, capsys) -> None:
    assert main([str(pb), "--rule", "mes", "--explain"]) == 0
    out = capsys.readouterr().out
    for pid in ("1", "2", "10"):
        assert f"\n{pid} " in out
    assert "bought in round 1" in out


def test_explain_json_lists_every_project(pb, capsys) -> None:
    assert main([str(pb), "--rule", "mes-add1", "--json", "--explain"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [x["project_id"] for x in data["explanations"]] == ["1", "2", "10"]
    assert data["parameters"]["completion"] == "add1"


@pytest.mark.parametrize(
    "args",
    [
        ["--rule", "phragmen"],
        ["--rule", "max-welfare"],
        ["--rule", "mes", "--completion", "add1-greedy", "--utility", "cardinality"],
        ["--rule", "mes", "--completion", "add1-noexh"],
        ["--rule", "greedy", "--threshold", "meta", "--tie-break", "cost-votes"],
        ["--rule", "greedy", "--threshold", "3", "--no-unsupported", "--no-skip"],
    ],
)
def test_every_option_runs(pb, capsys, args) -> None:
    assert main([str(pb), *args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_cost"] <= 100


def test_the_top_level_command_dispatches_to_tally(pb, capsys) -> None:
    assert civicbudget_main(["tally", str(pb), "--rule", "greedy", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["winners"] == ["1", "10"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD.replace("1;60;Park", "1;abc;Park"), "line 8: cost of project '1' is not a number"),
        (GOOD.replace("b;10,1", "b;10,99"), "line 14: vote for unknown project '99'"),
        (GOOD.replace("c;2,1", "a;2,1"), "line 15: duplicate voter id 'a'"),
        (GOOD.replace("1;60;Park", "1;0;Park"), "line 8: cost of project '1' must be > 0"),
        (
            GOOD.replace("2;50;Library", "2;50"),
            "line 9: PROJECTS row has 2 columns, the header has 3",
        ),
        (GOOD.split("VOTES")[0], "missing VOTES section"),
        ("", "empty file"),
    ],
)
def test_bad_input_exits_2_with_the_line_and_no_traceback(
    tmp_path, capsys, content, message
) -> None:
    path = tmp_path / "bad.pb"
    path.write_text(content)
    assert main([str(path), "--rule", "mes"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_binary_file_exits_2(tmp_path, capsys) -> None:
    path = tmp_path / "image.pb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert main([str(path)]) == 2
    assert "binary" in capsys.readouterr().err


def test_missing_file_and_bad_options_exit_2(pb, tmp_path, capsys) -> None:
    assert main([str(tmp_path / "nope.pb")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main([str(pb), "--rule", "borda"]) == 2
    assert main([str(pb), "--rule", "greedy", "--completion", "add1"]) == 2
    assert "applies to the rule mes only" in capsys.readouterr().err


@needs_data
def test_a_real_file_gives_the_official_wieliczka_outcome(capsys) -> None:
    path = PABULIB / "Poland_Wieliczka_2023_Green_Budget.pb"
    assert main([str(path), "--rule", "mes", "--completion", "add1-noexh", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["winners"]) == 30
