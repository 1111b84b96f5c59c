"""Open data: every public table as CSV and JSON, ballots as anonymised pabulib, the CLI, the dashboard."""

from __future__ import annotations

import csv
import io
import json

import pytest

from civicbudget.opendata.pabulib import scope_pb
from civicbudget.opendata.tables import TABLES
from civicbudget.opendata.writers import neutralise, table_csv, table_json
from civicbudget.proposals.models import Proposal
from civicbudget.tally import parse_pabulib

from factories import build_after, walk_to


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def after(world, settings, tmp_path):
    after = build_after(world, settings, tmp_path)
    walk_to(after.cycle, after.admin, "implement")
    return after


@pytest.mark.parametrize(("cell", "out"), [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"),
                                           ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("楼道灯", "楼道灯"),
                                           (-5, -5)])
def test_formula_cells_are_neutralised_and_numbers_left_alone(cell, out):
    assert neutralise(cell) == out


def test_every_public_table_exports_as_csv_and_json_without_names_or_phones(after):
    Proposal.objects.filter(pk=after.loose.pk).update(title="=cmd|' /C calc'!A0")
    for table in TABLES:
        text = table_csv(table, after.cycle)
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert tuple(rows[0]) == table.columns
        data = json.loads(table_json(table, after.cycle))
        assert len(data["rows"]) == len(rows) - 1
        for secret in ("13900001111", "张三", "李四"):
            assert secret not in text, (table.name, secret)
    proposals = list(csv.DictReader(io.StringIO(table_csv(dict((t.name, t) for t in TABLES)["proposals"],
                                                          after.cycle).lstrip("\ufeff"))))
    assert {r["title"] for r in proposals if r["tracking_code"] == "LOOSE001"} == {"'=cmd|' /C calc'!A0"}
    assert {r["final_state"] for r in proposals} >= {"selected", "screened_out", "not_shortlisted"}


def test_ballots_export_as_anonymised_pabulib_that_the_tally_reads_back(after, tmp_path):
    from civicbudget.tally.cli import main as tally_main

    text = scope_pb(after.cycle, after.scope)
    election = parse_pabulib(text)
    assert election.num_voters == 4 and [b.voter_id for b in election.ballots()] == ["1", "2", "3", "4"]
    path = tmp_path / "scope.pb"
    path.write_text(text, encoding="utf-8")
    assert tally_main([str(path), "--rule", "greedy"]) == 0
    pabutools = pytest.importorskip("pabutools.election")
    instance, profile = pabutools.parse_pabulib(str(path))
    assert len(profile) == 4 and len(instance) == 4


def test_the_export_command_writes_every_table_or_every_scope(after, tmp_path, capsys):
    from civicbudget.cli import main

    assert main(["export", "--cycle", str(after.cycle.pk), "--format", "csv", str(tmp_path / "csv")]) == 0
    assert {p.name for p in (tmp_path / "csv").iterdir()} == {f"{t.name}.csv" for t in TABLES}
    assert main(["export", "--cycle", str(after.cycle.pk), "--format", "pb", str(tmp_path / "pb")]) == 0
    assert [p.name for p in (tmp_path / "pb").iterdir()] == [f"community_{after.world.haida.pk}.pb"]
    assert main(["export", "--cycle", "999999", "--format", "json", str(tmp_path / "x")]) == 2
    assert "no cycle" in capsys.readouterr().err


def test_the_dashboard_and_downloads_are_public_pages(after, client):
    page = client.get(f"/districts/{after.world.district.pk}/statistics/")
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count("<svg") >= 7 and "美兰区" in text
    download = client.get(f"/cycles/{after.cycle.pk}/open-data/projects.csv")
    assert download.status_code == 200 and "东门监控" in download.content.decode()
    ballot = client.get(f"/cycles/{after.cycle.pk}/open-data/ballots/{after.scope.pk}.pb")
    assert ballot.status_code == 200 and ballot.content.startswith(b"META")
    assert client.get(f"/cycles/{after.cycle.pk}/open-data/nope.csv").status_code == 404
    api = client.get(f"/api/districts/{after.world.district.pk}/statistics").json()
    assert api[0]["voters"] == 4 and api[0]["proposals"] == 10
