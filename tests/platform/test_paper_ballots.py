"""Paper ballot sheets end to end on real files: print, rasterise, mark, scan crooked and noisy,
read back, count clean sheets, queue the rest for two officers; hostile files refused."""

from __future__ import annotations

import datetime as dt
import json
import struct
import zlib

import numpy as np
import pytest
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.errors import ServiceError
from civicbudget.paper import cli, layout, omr, sheetpdf, synthetic
from civicbudget.paper.models import Adjudication, PrintBatch, PrintedSheet, ScannedSheet
from civicbudget.paper.services import sheet_adjudicate, sheets_print
from civicbudget.voting import services
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import PendingBallot

from factories import advance_to_vote, make_cycle, staff

PROJECTS = [("11", 120_000, "3栋楼道灯"), ("12", 200_000, "东门监控"), ("13", 90_000, "长者食堂"),
            ("14", 60_000, "篮球场围网")]


def _spec(key, projects, max_length):
    return {"scope": key, "vote_type": "approval", "budget": "400000",
            "projects": [{"id": pid, "cost": str(cost), "name": name} for pid, cost, name in projects],
            "rule": {"rule": "greedy"}, "min_length": 1, "max_length": max_length}


@pytest.fixture
def paper(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    advance_to_vote(cycle, admin, latest=timezone.now())
    haida = services.scope_open(cycle=cycle, key=f"community:{world.haida.pk}", title="海达社区",
                                community=world.haida, spec=_spec(f"community:{world.haida.pk}", PROJECTS, 2))
    fuan = services.scope_open(cycle=cycle, key=f"community:{world.fuan.pk}", title="福安社区",
                               community=world.fuan, spec=_spec(f"community:{world.fuan.pk}", PROJECTS[:2], 1))
    officer = staff(Role.POLLING_OFFICER, world.haida)
    station = services.station_create(actor=officer, cycle=cycle, community=world.haida, name="社区服务大厅")
    return cycle, haida, fuan, station, officer


def _id_number(i: int) -> str:
    first17 = f"460108{dt.date(1970, 1, 1) + dt.timedelta(days=i):%Y%m%d}{i % 1000:03d}"
    return first17 + id_check_char(first17)


def _check_in(station, officer, world, n):
    for i in range(n):
        services.poll_check_in(officer=officer, station=station, doc_type="id_card", doc_number=_id_number(i),
                               community_id=world.haida.pk, basis="live")


def _print(tmp_path, capsys, argv, name="sheets.pdf"):
    out = tmp_path / name
    assert cli.main(["print", *argv, str(out)]) == 0
    capsys.readouterr()
    return out, json.loads(out.with_name(out.stem + ".layout.json").read_text(encoding="utf-8"))


def _marked_scan(pdf_path, index, marks, tmp_path, *, dpi=200, angle=2.5, jpeg=70, seed=0, name=None):
    """Rasterise page ``index``, mark boxes {project: kind}, scan it crooked and noisy to a file."""
    rng = np.random.default_rng(seed)
    image = synthetic.rasterise(pdf_path.read_bytes(), dpi)[index]
    boxes = layout.boxes_for([pid for pid, _c, _n in PROJECTS])
    for box in boxes:
        if box.project in marks:
            synthetic.mark(image, box, marks[box.project], dpi, rng)
    data = synthetic.scan(image, angle=angle, rng=rng, blur=0.8, noise=6, jpeg=jpeg)
    path = tmp_path / (name or f"scan-{index}-{seed}.{'jpg' if jpeg else 'png'}")
    path.write_bytes(data)
    return path


def _scan(argv, capsys):
    code = cli.main(["scan", *argv])
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines() if line.strip()] if "--json" in argv else []
    return code, lines, out.err


def test_print_writes_a4_sheets_their_layout_and_records_each_sheet_id(paper, tmp_path, capsys):
    cycle, haida, _fuan, station, _officer = paper
    out, sheet_layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key,
                                                  "--station", str(station.pk), "--sheets", "3"])
    assert out.read_bytes().startswith(b"%PDF-")
    assert sheet_layout["page_mm"] == [210.0, 297.0]
    assert len(sheet_layout["pages"]) == 3
    first = sheet_layout["pages"][0]
    assert [b["project"] for b in first["boxes"]] == ["11", "12", "13", "14"]
    assert first["boxes"][0] == {"project": "11", "x": 24.0, "y": 74.0, "w": 6.0, "h": 6.0}
    codes = [p["sheet"] for p in sheet_layout["pages"]]
    assert len(set(codes)) == 3
    assert set(PrintedSheet.objects.values_list("code", flat=True)) == set(codes)
    batch = PrintBatch.objects.get()
    assert (batch.scope, batch.station, batch.count) == (haida, station, 3)
    import pypdfium2 as pdfium

    text = pdfium.PdfDocument(out.read_bytes())[0].get_textpage().get_text_range()
    # The sheet speaks the district's language whatever the operator's, with the rule in one sentence.
    assert "海达社区" in text and "最多选 2 项" in text and "120,000 元" in text and codes[0] in text
    pages = synthetic.rasterise(out.read_bytes(), 150)
    assert len(pages) == 3 and abs(pages[0].shape[0] - 1754) <= 1 and abs(pages[0].shape[1] - 1240) <= 1  # A4, 150 dpi


def test_print_refuses_bad_counts_and_unknown_scopes_and_writes_nothing(paper, tmp_path, capsys):
    cycle, *_ = paper
    assert cli.main(["print", "--cycle", str(cycle.pk), "--sheets", "0", str(tmp_path / "a.pdf")]) == 2
    assert "--sheets" in capsys.readouterr().err
    assert cli.main(["print", "--cycle", str(cycle.pk), "--scope", "street:999", "--sheets", "2",
                     str(tmp_path / "a.pdf")]) == 2
    assert "no ballot" in capsys.readouterr().err
    assert not PrintedSheet.objects.exists() and not (tmp_path / "a.pdf").exists()


def test_scan_dry_run_reads_crooked_noisy_sheets_and_names_each_problem(paper, world, tmp_path, capsys):
    cycle, haida, fuan, station, _officer = paper
    pdf, sheet_layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key,
                                                  "--station", str(station.pk), "--sheets", "6"])
    fuan_pdf, fuan_layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", fuan.key,
                                                      "--sheets", "1"], name="fuan.pdf")
    codes = [p["sheet"] for p in sheet_layout["pages"]]
    files = [
        _marked_scan(pdf, 0, {"11": "fill", "13": "tick"}, tmp_path, dpi=150, angle=-3),
        _marked_scan(pdf, 1, {"12": "cross", "14": "faint"}, tmp_path, dpi=300, angle=1.5, jpeg=None),
        _marked_scan(pdf, 2, {"11": "fill", "12": "tick", "13": "cross"}, tmp_path),  # 3 of at most 2
        _marked_scan(pdf, 3, {}, tmp_path),  # blank
        _marked_scan(pdf, 4, {"13": "erasure", "12": "outside"}, tmp_path),
        _marked_scan(pdf, 0, {"11": "fill", "13": "tick"}, tmp_path, seed=5, angle=1),  # fed twice
        # A sheet of another community's ballot, in this polling point's pile.
        _marked_scan(fuan_pdf, 0, {"11": "fill"}, tmp_path, name="fuan.jpg"),
    ]
    forged_pdf, _ = sheetpdf.sheets_pdf(sheetpdf.SheetText("海达社区", "x", "最多选 2 项", "涂满",
                                        tuple((p, n, "1 元") for p, _c, n in PROJECTS)), ["CBFORGEDFORGEDFORG"])
    (tmp_path / "forged.pdf").write_bytes(forged_pdf)
    files.append(tmp_path / "forged.pdf")
    code, lines, err = _scan(["--cycle", str(cycle.pk), "--station", str(station.pk), "--dry-run", "--json",
                              *map(str, files)], capsys)
    assert code == 0, err
    key = haida.key
    assert lines == [
        {"file": str(files[0]), "page": 1, "sheet": codes[0], "scope": key, "marked": ["11", "13"],
         "ambiguous": [], "problem": None},
        {"file": str(files[1]), "page": 1, "sheet": codes[1], "scope": key, "marked": ["12"],
         "ambiguous": ["14"], "problem": None},
        {"file": str(files[2]), "page": 1, "sheet": codes[2], "scope": key, "marked": ["11", "12", "13"],
         "ambiguous": [], "problem": "overvote"},
        {"file": str(files[3]), "page": 1, "sheet": codes[3], "scope": key, "marked": [],
         "ambiguous": [], "problem": "blank"},
        {"file": str(files[4]), "page": 1, "sheet": codes[4], "scope": key, "marked": [],
         "ambiguous": ["12", "13"], "problem": None},
        {"file": str(files[5]), "page": 1, "sheet": codes[0], "scope": key, "marked": ["11", "13"],
         "ambiguous": [], "problem": "duplicate"},
        {"file": str(files[6]), "page": 1, "sheet": fuan_layout["pages"][0]["sheet"], "scope": fuan.key,
         "marked": ["11"], "ambiguous": [], "problem": "wrong_scope"},
        {"file": str(files[7]), "page": 1, "sheet": "CBFORGEDFORGEDFORG", "scope": None, "marked": [],
         "ambiguous": [], "problem": "unknown_sheet"},
    ]
    assert not ScannedSheet.objects.exists()  # a dry run records nothing


def test_scan_counts_clean_sheets_queues_the_rest_and_a_second_run_adds_nothing(paper, world, tmp_path,
                                                                                 capsys):
    cycle, haida, _fuan, station, officer = paper
    _check_in(station, officer, world, 3)
    pdf, sheet_layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key,
                                                  "--station", str(station.pk), "--sheets", "3"])
    files = [_marked_scan(pdf, 0, {"11": "fill"}, tmp_path), _marked_scan(pdf, 1, {"12": "tick"}, tmp_path),
             _marked_scan(pdf, 2, {"13": "faint"}, tmp_path)]
    code, lines, err = _scan(["--cycle", str(cycle.pk), "--json", *map(str, files)], capsys)
    assert code == 0, err
    assert "2 counted, 1 queued" in err
    counted = ScannedSheet.objects.filter(state="counted").order_by("page", "file_name")
    assert {s.sheet.code for s in counted} == {p["sheet"] for p in sheet_layout["pages"][:2]}
    assert all(len(s.receipt) == 64 for s in counted)
    assert {s.receipt for s in counted} == set(PendingBallot.objects.values_list("leaf", flat=True))
    import hashlib

    assert {s.file_sha256 for s in counted} == {hashlib.sha256(f.read_bytes()).hexdigest() for f in files[:2]}
    queued = ScannedSheet.objects.get(state="queued")
    assert queued.ambiguous == ["13"] and queued.image_path and not queued.receipt
    # The same files again (one of them twice): recognised, nothing new recorded or counted.
    files.append(files[0])
    code, lines, err = _scan(["--cycle", str(cycle.pk), "--json", *map(str, files)], capsys)
    assert [line["problem"] for line in lines] == ["duplicate"] * 4
    assert ScannedSheet.objects.count() == 3 and PendingBallot.objects.count() == 2


def test_two_officers_adjudicate_a_queued_sheet_and_a_third_settles_a_disagreement(paper, world, tmp_path,
                                                                                   capsys):
    cycle, haida, _fuan, station, officer = paper
    _check_in(station, officer, world, 2)
    pdf, _ = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key, "--station",
                                       str(station.pk), "--sheets", "2"])
    files = [_marked_scan(pdf, 0, {"11": "fill", "13": "faint"}, tmp_path),
             _marked_scan(pdf, 1, {"12": "erasure"}, tmp_path)]
    _scan(["--cycle", str(cycle.pk), *map(str, files)], capsys)
    first, second = ScannedSheet.objects.filter(state="queued").order_by("file_name")
    a, b, c = officer, staff(Role.POLLING_OFFICER, world.haida), staff(Role.POLLING_OFFICER, world.haida)
    assert sheet_adjudicate(officer=a, scanned=first, choices=["11", "13"]).state == "queued"
    assert not PendingBallot.objects.exists()  # nothing counted on one officer's word
    with pytest.raises(ServiceError, match="another officer"):
        sheet_adjudicate(officer=a, scanned=first, choices=["11", "13"])
    settled = sheet_adjudicate(officer=b, scanned=first, choices=["13", "11"])
    assert settled.state == "adjudicated" and PendingBallot.objects.filter(leaf=settled.receipt).exists()
    # Disagreement: the second sheet waits for a third officer, whose word settles it.
    sheet_adjudicate(officer=a, scanned=second, choices=["12"])
    assert sheet_adjudicate(officer=b, scanned=second, choices=None).state == "queued"
    assert sheet_adjudicate(officer=c, scanned=second, choices=None).state == "set_aside"
    assert PendingBallot.objects.count() == 1 and Adjudication.objects.count() == 5
    with pytest.raises(ServiceError, match="settled"):
        sheet_adjudicate(officer=staff(Role.POLLING_OFFICER, world.haida), scanned=second, choices=["12"])


def test_officer_of_another_community_cannot_adjudicate(paper, world, tmp_path, capsys):
    from civicbudget.errors import PermissionDenied

    cycle, haida, _fuan, station, officer = paper
    pdf, _ = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key, "--station",
                                       str(station.pk), "--sheets", "1"])
    _scan(["--cycle", str(cycle.pk), str(_marked_scan(pdf, 0, {"11": "faint"}, tmp_path))], capsys)
    with pytest.raises(PermissionDenied):
        sheet_adjudicate(officer=staff(Role.POLLING_OFFICER, world.baisha),
                         scanned=ScannedSheet.objects.get(), choices=["11"])
    assert not Adjudication.objects.exists()


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00" * 64)


def test_hostile_files_get_a_clear_error_and_nothing_is_recorded(paper, tmp_path, capsys):
    from reportlab.pdfgen import canvas

    cycle, *_ = paper
    (tmp_path / "notes.png").write_bytes(b"just some text, not an image")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "bomb.png").write_bytes(_png_header(100_000, 100_000))
    many = canvas.Canvas(str(tmp_path / "many.pdf"))
    for _i in range(10_000):
        many.showPage()
    many.save()
    names = ["notes.png", "empty.jpg", "bomb.png", "many.pdf", "missing.png"]
    code, lines, err = _scan(["--cycle", str(cycle.pk), "--json", *(str(tmp_path / n) for n in names)],
                             capsys)
    assert code == 2 and lines == []
    assert "notes.png: not a PDF, PNG or JPEG file" in err
    assert "empty.jpg: not a PDF, PNG or JPEG file" in err
    assert "bomb.png: a page of 100000×100000 pixels is larger than 40 million pixels" in err
    assert "many.pdf: the PDF has 10000 pages; at most 1000 per file" in err
    assert "missing.png: No such file or directory" in err
    assert not ScannedSheet.objects.exists()


def test_a_page_without_registration_marks_is_unreadable_not_blank(paper, tmp_path, capsys):
    import cv2

    cycle, *_ = paper
    page = np.full((2339, 1654), 250, np.uint8)  # A4 at 200 dpi, nothing printed
    cv2.putText(page, "hello", (200, 400), cv2.FONT_HERSHEY_SIMPLEX, 4, 0, 8)
    cv2.imwrite(str(tmp_path / "plain.png"), page)
    code, lines, _err = _scan(["--cycle", str(cycle.pk), "--dry-run", "--json", str(tmp_path / "plain.png")],
                              capsys)
    assert code == 0 and lines[0]["problem"] == "unreadable" and lines[0]["sheet"] is None


def test_reader_limits_are_checked_from_headers():
    with pytest.raises(omr.ScanFileError, match="too small"):
        list(omr.load_pages(_png_header(100, 100)))


def test_sheets_print_checks_the_officers_place(paper, world):
    from civicbudget.errors import PermissionDenied

    cycle, haida, _fuan, station, _officer = paper
    with pytest.raises(PermissionDenied):
        sheets_print(actor=staff(Role.POLLING_OFFICER, world.baisha), cycle=cycle, scope=haida, count=2,
                     station=station)
    assert not PrintedSheet.objects.exists()


def test_polling_page_prints_a_pdf_for_its_polling_point(paper, world, staff_client):
    cycle, haida, _fuan, station, officer = paper
    client = staff_client(officer)
    page = client.get(f"/staff/cycles/{cycle.pk}/polling/?station={station.pk}")
    assert page.status_code == 200 and 'class="card paper-print"' in page.content.decode()
    response = client.post(f"/staff/cycles/{cycle.pk}/paper/do/",
                           {"action": "print", "station": station.pk, "scope": haida.pk, "sheets": "4"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert len(synthetic.rasterise(response.content, 72)) == 4
    batch = PrintBatch.objects.get()
    assert (batch.printed_by, batch.station, batch.count) == (officer, station, 4)
    # Too many sheets: a message on the polling page, nothing printed.
    response = client.post(f"/staff/cycles/{cycle.pk}/paper/do/",
                           {"action": "print", "station": station.pk, "sheets": "99999"}, follow=True)
    assert "1 to 5000" in response.content.decode() or "5000" in response.content.decode()
    assert PrintedSheet.objects.count() == 4


def test_adjudication_page_shows_the_outlined_scan_and_two_officers_settle_it(paper, world, tmp_path, capsys,
                                                                              staff_client):
    cycle, haida, _fuan, station, officer = paper
    _check_in(station, officer, world, 1)
    pdf, _ = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key, "--station",
                                       str(station.pk), "--sheets", "1"])
    _scan(["--cycle", str(cycle.pk), str(_marked_scan(pdf, 0, {"12": "fill", "14": "faint"}, tmp_path))], capsys)
    scanned = ScannedSheet.objects.get(state="queued")
    first, second = staff_client(officer), staff_client(staff(Role.POLLING_OFFICER, world.haida))
    page = first.get(f"/staff/cycles/{cycle.pk}/paper/?sheet={scanned.pk}").content.decode()
    assert "data:image/jpeg;base64," in page and 'name="projects" value="14"' in page
    url = f"/staff/cycles/{cycle.pk}/paper/do/"
    first.post(url, {"action": "decide", "sheet": scanned.pk, "decision": "count", "projects": ["12", "14"]})
    assert not PendingBallot.objects.exists()
    assert "请由另一名工作人员裁定" in first.get(
        f"/staff/cycles/{cycle.pk}/paper/?sheet={scanned.pk}").content.decode()
    second.post(url, {"action": "decide", "sheet": scanned.pk, "decision": "count", "projects": ["14", "12"]})
    scanned.refresh_from_db()
    assert scanned.state == "adjudicated" and PendingBallot.objects.filter(leaf=scanned.receipt).exists()
    # An officer of another community sees no such sheet and may not decide on it.
    stranger = staff_client(staff(Role.POLLING_OFFICER, world.baisha))
    assert f"?sheet={scanned.pk}" not in stranger.get(f"/staff/cycles/{cycle.pk}/paper/").content.decode()


def test_the_top_level_command_and_the_management_command_run_the_same_reader(paper, tmp_path, capsys):
    from django.core.management import call_command

    from civicbudget.cli import main as civicbudget_main

    cycle, haida, _fuan, station, _officer = paper
    pdf, sheet_layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key,
                                                  "--sheets", "1"])
    scan = _marked_scan(pdf, 0, {"14": "cross"}, tmp_path, jpeg=None)
    assert civicbudget_main(["ballots", "scan", "--cycle", str(cycle.pk), "--dry-run", "--json", str(scan)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert (line["sheet"], line["marked"], line["problem"]) == (sheet_layout["pages"][0]["sheet"], ["14"], None)
    call_command("ballots", "print", "--cycle", str(cycle.pk), "--sheets", "2", str(tmp_path / "more.pdf"))
    assert (tmp_path / "more.layout.json").exists() and PrintedSheet.objects.count() == 3
    # Sheets printed for no polling point cannot be counted without one: nothing recorded.
    assert cli.main(["scan", "--cycle", str(cycle.pk), str(scan)]) == 2
    assert "--station" in capsys.readouterr().err and not ScannedSheet.objects.exists()


@pytest.mark.parametrize(("turn", "angle", "dpi"), [(None, 4.0, 200), (None, -4.0, 150),
                                                    ("180", 2.0, 300), ("90", 1.0, 200)])
def test_reader_aligns_crooked_upside_down_and_sideways_sheets(turn, angle, dpi):
    import cv2

    text = sheetpdf.SheetText("海达社区", "x", "最多选 2 项", "涂满", (("1", "a", "1 元"), ("2", "b", "2 元")))
    pdf, sheet_layout = sheetpdf.sheets_pdf(text, ["CBTURNEDTURNEDTURN"])
    boxes = layout.boxes_from_json(sheet_layout["pages"][0]["boxes"])
    rng = np.random.default_rng(1)
    image = synthetic.rasterise(pdf, dpi)[0]
    synthetic.mark(image, boxes[1], "tick", dpi, rng)
    if turn == "180":
        image = cv2.rotate(image, cv2.ROTATE_180)
    elif turn == "90":
        image = cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    (_n, gray), = list(omr.load_pages(synthetic.scan(image, angle=angle, rng=rng, blur=0.8, noise=6, jpeg=70)))
    page = omr.read_page(gray)
    assert page.sheet == "CBTURNEDTURNEDTURN"
    assert [m.state for m in page.measure(boxes)] == ["blank", "marked"]


def test_a_sheet_of_another_cycle_is_wrong_scope(paper, world, tmp_path, capsys):
    cycle, haida, _fuan, station, _officer = paper
    pdf, sheet_layout = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key,
                                                  "--sheets", "1"])
    scan = _marked_scan(pdf, 0, {"11": "fill"}, tmp_path)
    other = make_cycle(world.district, streets=[world.haidian], communities=[world.haida], name="下一届")
    code, lines, _err = _scan(["--cycle", str(other.pk), "--dry-run", "--json", str(scan)], capsys)
    assert code == 0
    assert (lines[0]["sheet"], lines[0]["scope"], lines[0]["problem"]) == (
        sheet_layout["pages"][0]["sheet"], haida.key, "wrong_scope")


def test_scanned_and_adjudicated_sheets_are_counted_at_close(paper, world, tmp_path, capsys):
    from civicbudget.cycles.services import stage_advance
    from civicbudget.voting.models import ScopeResult

    cycle, haida, _fuan, station, officer = paper
    _check_in(station, officer, world, 3)
    pdf, _ = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key, "--station",
                                       str(station.pk), "--sheets", "3"])
    files = [_marked_scan(pdf, 0, {"11": "fill", "13": "cross"}, tmp_path),
             _marked_scan(pdf, 1, {"13": "tick"}, tmp_path),
             _marked_scan(pdf, 2, {"12": "faint"}, tmp_path)]
    _scan(["--cycle", str(cycle.pk), *map(str, files)], capsys)
    queued = ScannedSheet.objects.get(state="queued")
    for decider in (officer, staff(Role.POLLING_OFFICER, world.haida)):
        sheet_adjudicate(officer=decider, scanned=queued, choices=["12"])
    stage_advance(actor=staff(Role.DISTRICT_ADMIN, world.district), cycle=cycle, reason="投票结束")
    result = ScopeResult.objects.get(scope=haida)
    # Three ballots: two read by machine, one settled by two officers. 13 has two votes, 11 and
    # 12 one each; greedy within 400,000: 13 (90,000), the tie 11 (120,000) before 12, which
    # then does not fit (200,000), and 14 (60,000) fills the rest.
    assert result.num_votes == 3 and result.winners == ["13", "11", "14"]


def test_machine_read_sheets_enter_the_audit_by_box_number_and_printed_id(paper, world, tmp_path, capsys):
    """Scanned sheets (by the reader or after adjudication) are numbered in their box from
    100,001; the audit draws them, names each by its printed sheet id, and confirms the count
    when the officers read what the scan read."""
    from civicbudget.cycles.services import stage_advance
    from civicbudget.paperaudit import services as audits

    cycle, haida, _fuan, station, officer = paper
    _check_in(station, officer, world, 3)
    pdf, layout_json = _print(tmp_path, capsys, ["--cycle", str(cycle.pk), "--scope", haida.key, "--station",
                                                 str(station.pk), "--sheets", "3"])
    files = [_marked_scan(pdf, 0, {"11": "fill"}, tmp_path), _marked_scan(pdf, 1, {"11": "tick"}, tmp_path),
             _marked_scan(pdf, 2, {"12": "faint"}, tmp_path)]
    _scan(["--cycle", str(cycle.pk), *map(str, files)], capsys)
    queued = ScannedSheet.objects.get(state="queued")
    for decider in (officer, staff(Role.POLLING_OFFICER, world.haida)):
        sheet_adjudicate(officer=decider, scanned=queued, choices=["12"])
    counted = {s.box_number: s for s in ScannedSheet.objects.filter(scope=haida)}
    assert sorted(counted) == [100_001, 100_002, 100_003]
    # A typed ballot number can never take a scanned sheet's place in the box.
    with pytest.raises(ServiceError, match="99,999"):
        services.paper_ballot_enter(officer=officer, station=station, scope=haida, number=100_001, choices=["11"])
    stage_advance(actor=staff(Role.DISTRICT_ADMIN, world.district), cycle=cycle, reason="投票结束")
    audit = audits.audit_start(officer=officer, scope=haida, seed="31415926535897932384", rolling="居民代表掷骰",
                               box_counts={station.pk: 3})
    assert audit.manifest == [[station.pk, f"{station.pk} {station.name}", [100_001, 100_002, 100_003]]]
    printed = {p["sheet"] for p in layout_json["pages"]}
    while audit.state == "sampling":
        pending = audits.pending_sheets(audit)
        assert pending and all(code in printed for _s, _n, _t, code in pending)
        for st, number, _times, code in pending:
            sheet = counted[number]
            assert sheet.code == code
            read = sheet.marked if sheet.state == "counted" else ["12"]
            audits.audit_record_sheet(officer=officer, audit=audit, station=st, number=number, choices=read)
        audit.refresh_from_db()
    assert audit.comparisons.filter(matches=False).count() == 0
