"""Paper sheets of a ballot with stakeholder weights say what the online ballot says, with
the mark boxes exactly where the reader looks; the polling desk says the theme division is
online only."""

from __future__ import annotations

import json

import pypdfium2 as pdfium
import pytest
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.paper import cli, layout, synthetic
from civicbudget.paper.models import PrintBatch
from civicbudget.voting import services
from civicbudget.voting.division import division_ballot

from factories import advance_to_vote, make_cycle, staff

PROJECTS = [("21", 60_000, "海达健身角", "haida"), ("22", 60_000, "福安凉亭", "fuan"),
            ("23", 40_000, "街道路灯", None)]


def _street_spec(world, weight):
    key = f"street:{world.haidian.pk}"
    serves = {"haida": f"community:{world.haida.pk}", "fuan": f"community:{world.fuan.pk}"}
    return {"scope": key, "vote_type": "approval", "budget": "100000",
            "projects": [{"id": pid, "cost": str(cost), "name": name,
                          **({"serves": serves[where]} if where and weight else {})}
                         for pid, cost, name, where in PROJECTS],
            "rule": {"rule": "greedy", **({"utility": "points-cost"} if weight else {})},
            "min_length": 1, "max_length": 2, **({"stakeholder_weight": weight} if weight else {})}


@pytest.fixture
def weighted(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    advance_to_vote(cycle, staff(Role.DISTRICT_ADMIN, world.district), latest=timezone.now())
    scope = services.scope_open(cycle=cycle, key=f"street:{world.haidian.pk}", title="海甸街道",
                                street=world.haidian, spec=_street_spec(world, 3))
    officer = staff(Role.POLLING_OFFICER, world.haida)
    station = services.station_create(actor=officer, cycle=cycle, community=world.haida, name="社区服务大厅")
    return cycle, scope, station, officer


def _print(tmp_path, capsys, argv, name):
    out = tmp_path / name
    assert cli.main(["print", *argv, "--sheets", "1", str(out)]) == 0
    capsys.readouterr()
    return out, json.loads(out.with_name(out.stem + ".layout.json").read_text(encoding="utf-8"))


def _text(pdf_path) -> str:
    return pdfium.PdfDocument(pdf_path.read_bytes())[0].get_textpage().get_text_range()


def _flat(text: str) -> str:
    return "".join(text.split())


def test_a_polling_points_sheet_carries_the_online_note_and_marks_its_communitys_project(
        weighted, tmp_path, capsys):
    cycle, scope, station, _officer = weighted
    pdf, sheet_layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", scope.key,
                                                  "--station", str(station.pk)], "haida.pdf")
    text = _flat(_text(pdf))
    # the online ballot's sentence, in the district's language, for the station's community
    assert "在这张选票上，居民投给服务本社区项目的一票计为3票：您投给标有“海达社区”的项目，一票计3票；投给其他项目计1票。" in text
    # the badge beside 海达's project only (福安's project counts once for 海达's residents)
    assert text.count("海达社区·一票计3票") == 1
    assert text.index("海达健身角") < text.index("海达社区·一票计3票") < text.index("福安凉亭")
    assert "福安社区" not in text
    # the boxes are exactly where an unweighted sheet has them: the reader measures those
    assert sheet_layout["pages"][0]["boxes"] == [b.as_json() for b in layout.boxes_for(["21", "22", "23"])]
    assert PrintBatch.objects.get().boxes == sheet_layout["pages"][0]["boxes"]


def test_a_sheet_for_no_polling_point_names_each_projects_community(weighted, world, tmp_path, capsys):
    cycle, scope, _station, _officer = weighted
    pdf, _layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", scope.key], "any.pdf")
    text = _flat(_text(pdf))
    assert "您投给标有您所在社区名称的项目，一票计3票" in text
    assert "海达社区居民·一票计3票" in text and "福安社区居民·一票计3票" in text
    assert text.count("一票计3票") == 3  # the note and two labels: 街道路灯 serves no one community


def test_a_sheet_without_weights_prints_no_note(world, settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path / "data"
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    advance_to_vote(cycle, staff(Role.DISTRICT_ADMIN, world.district), latest=timezone.now())
    scope = services.scope_open(cycle=cycle, key=f"street:{world.haidian.pk}", title="海甸街道",
                                street=world.haidian, spec=_street_spec(world, None))
    pdf, _layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", scope.key], "plain.pdf")
    text = _flat(_text(pdf))
    assert "街道路灯" in text and "一票计" not in text and "社区居民" not in text


def test_a_weighted_sheet_reads_back_and_counts_with_the_stations_community(weighted, world, tmp_path, capsys):
    cycle, scope, station, officer = weighted
    pdf, sheet_layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", scope.key,
                                                  "--station", str(station.pk)], "read.pdf")
    import numpy as np

    rng = np.random.default_rng(3)
    image = synthetic.rasterise(pdf.read_bytes(), 200)[0]
    boxes = layout.boxes_from_json(sheet_layout["pages"][0]["boxes"])
    synthetic.mark(image, boxes[0], "fill", 200, rng)
    scan = tmp_path / "scan.png"
    scan.write_bytes(synthetic.scan(image, angle=2.0, rng=rng, blur=0.8, noise=6, jpeg=None))
    # blank boxes, the labels and the note read as nothing: one clean mark
    assert cli.main(["scan", "--cycle", str(cycle.pk), "--station", str(station.pk), "--dry-run", "--json",
                     str(scan)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert (line["marked"], line["ambiguous"], line["problem"]) == (["21"], [], None)


def test_the_polling_desk_says_the_theme_division_is_online_only(weighted, world, staff_client):
    cycle, _scope, station, officer = weighted
    client = staff_client(officer)
    page = client.get(f"/staff/cycles/{cycle.pk}/polling/?station={station.pk}").content.decode()
    assert "主题分配" not in page
    cycle.config["theme_division"] = {"themes": ["养老助残", "文体活动"], "rule": "independent-markets"}
    division = division_ballot(cycle, [{"spec": _scope.spec}])
    services.scope_open(cycle=cycle, key=division["key"], title=division["title"], spec=division["spec"])
    page = client.get(f"/staff/cycles/{cycle.pk}/polling/?station={station.pk}").content.decode()
    assert 'division-online-only' in page and "只能在网上投" in page

