"""The publicity kit (PDFs and texts), outreach points and where participants came from."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO

import pytest
from django.test import Client

from civicbudget.accounts.models import Role
from civicbudget.outreach.models import OutreachPoint

from factories import advance_to_vote, make_cycle, make_project, run_stage, staff, staff_login

A1 = (1683.8, 2383.9)
A3 = (841.9, 1190.6)
A5 = (419.5, 595.3)
LONG = "在小区东门至菜市场一段人行道加装无障碍坡道和扶手，方便老人、轮椅和婴儿车通行，" * 6


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's size, read from the file (reportlab-free: the kit writes uncompressed pages)."""
    assert pdf.startswith(b"%PDF-1.")
    assert pdf.rstrip().endswith(b"%%EOF")
    boxes = re.findall(rb"/MediaBox \[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf)
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == len(boxes)
    return [(round(float(w), 1), round(float(h), 1)) for w, h in boxes]


def _voting_cycle(world, *, many=60, photo=False):
    from civicbudget.voting import services as voting

    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    projects = [make_project(cycle, world.haida, name=f"第{i}号项目：海达社区{'楼道灯和无障碍坡道改造' * (i % 3 + 1)}")
                for i in range(1, many + 1)]
    for p in projects:
        p.description = LONG
        p.save()
    street_projects = [make_project(cycle, street=world.haidian, name=n) for n in ("长者食堂", "社区图书角")]
    if photo:
        # The first proposal's photo is the project's photo on its board.
        from django.core.files.base import ContentFile
        from PIL import Image

        buffer = BytesIO()
        Image.new("RGB", (400, 300), (30, 120, 60)).save(buffer, format="JPEG")
        proposal = street_projects[0].proposals.first()
        proposal.photo.save("canteen.jpg", ContentFile(buffer.getvalue()))
    advance_to_vote(cycle, admin)
    for key, title, items, kw in (
        (f"community:{world.haida.pk}", "海达社区", projects, {"community": world.haida}),
        (f"street:{world.haidian.pk}", "海甸街道", street_projects, {"street": world.haidian}),
    ):
        spec = {"scope": key, "vote_type": "approval", "budget": "300000",
                "projects": [{"id": str(p.pk), "cost": str(10000 + i), "name": p.name} for i, p in enumerate(items)],
                "rule": {"rule": "greedy"}, "min_length": 1, "max_length": 3}
        voting.scope_open(cycle=cycle, key=key, title=title, spec=spec, **kw)
    cycle.refresh_from_db()
    return cycle, admin, projects, street_projects


def _qr_texts(pdf: bytes) -> list[str]:
    """Every QR code on every page, as a phone's camera reads it: the page rendered at 100 dpi
    (pypdfium2), then decoded (zxing-cpp), both already used to read paper ballots."""
    import numpy as np
    import pypdfium2
    import zxingcpp

    texts = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for page in document:
            # An A1 board is 2339 x 3311 px at 100 dpi: the QR code stays many pixels per module.
            image = np.asarray(page.render(scale=100 / 72, grayscale=True).to_pil())
            texts += [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    finally:
        document.close()
    return texts


def test_cli_writes_poster_leaflet_a_board_per_ballot_and_the_texts(world, tmp_path, settings):
    from civicbudget.cli import main

    settings.MEDIA_ROOT = tmp_path / "media"
    cycle, admin, projects, street_projects = _voting_cycle(world, photo=True)
    out = tmp_path / "kit"
    assert main(["outreach", "--cycle", str(cycle.pk), "--base-url", "https://pb.example.cn", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"poster-c{cycle.pk}-poster.pdf", f"leaflet-c{cycle.pk}-leaflet.pdf",
                            f"board-community-{world.haida.pk}.pdf", f"board-street-{world.haidian.pk}.pdf",
                            "announcement.txt", "sms.txt"])
    assert _pages((out / f"poster-c{cycle.pk}-poster.pdf").read_bytes()) == [A3]
    assert _pages((out / f"leaflet-c{cycle.pk}-leaflet.pdf").read_bytes()) == [A5]
    # 60 projects do not fit one A1 board at a readable size: a second board, same size.
    big = (out / f"board-community-{world.haida.pk}.pdf").read_bytes()
    assert _pages(big) == [A1, A1]
    assert _names_drawn(big, projects) == [p.name for p in projects]  # all 60, over the two boards
    street_board = (out / f"board-street-{world.haidian.pk}.pdf").read_bytes()
    assert _pages(street_board) == [A1]
    assert street_board.count(b"/Subtype /Image") == 2  # the QR code and the canteen's photo
    # Every QR code leads to the vote with its own outreach point, and each point exists.
    for name, code in ((f"poster-c{cycle.pk}-poster.pdf", f"c{cycle.pk}-poster"),
                       (f"board-community-{world.haida.pk}.pdf", f"c{cycle.pk}-board-community-{world.haida.pk}")):
        pdf = (out / name).read_bytes()
        url = f"https://pb.example.cn/cycles/{cycle.pk}/vote/?src={code}".encode()
        assert b"/URI (" + url + b")" in pdf
        assert f"(https://pb.example.cn/s/{code}) Tj".encode() in pdf
        assert url.decode() in _qr_texts(pdf)  # the printed code itself, scanned
        assert OutreachPoint.objects.filter(cycle=cycle, code=code).exists()
    sms = (out / "sms.txt").read_text().strip()
    assert len(sms) <= 70 and sms.endswith(f"https://pb.example.cn/s/c{cycle.pk}-sms")
    announcement = (out / "announcement.txt").read_text()
    assert f"https://pb.example.cn/cycles/{cycle.pk}/vote/?src=c{cycle.pk}-official-account" in announcement
    assert "投票" in announcement
    # the announcement names every project of every ballot, with its cost
    for p in [*projects, *street_projects]:
        assert p.name in announcement
    assert "10,000" in announcement


def test_every_board_project_is_drawn_and_long_text_stays_on_the_page(world):
    """The board's text is fitted: every project's number is on a page, no line leaves it."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from civicbudget.outreach import kit

    cycle, *_rest = _voting_cycle(world)
    board = next(b for b in kit.ballot_boards(cycle) if b.key.startswith("community"))
    assert len(board.projects) == 60
    columns, rows, pages = kit.board_layout(60, kit.A1[1] - 330 - 380 - 70)
    assert (columns, pages) == (4, 2) and columns * rows * pages >= 60
    for width in (100.0, 300.0):
        size, lines = kit.fit(LONG, width, 80, size=20, floor=9)
        assert size >= 9 and len(lines) <= int(80 // (size * 1.35))
        assert all(stringWidth(line, kit.FONT, size) <= width + 0.01 for line in lines)
        assert lines[-1].endswith("…")


def test_a_poster_qr_code_followed_through_a_proposal_and_a_vote_into_the_statistics(world, settings, tmp_path):
    """Land with ?src= (via the short link), propose; land again, vote: the statistics count both."""
    from civicbudget.proposals.models import Proposal
    from civicbudget.voting.idcard import id_check_char
    from civicbudget.voting.models import Voter
    from civicbudget.voting.sms import last_message_to

    settings.DATA_DIR = tmp_path  # the file SMS backend's outbox
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    client = staff_login(Client(), admin)
    response = client.post(f"/staff/cycles/{cycle.pk}/outreach/", {
        "code": "poster-haida-market", "channel": "poster", "place": "海达菜市场", "street": "",
        "cost_yuan": "300"})
    assert response.status_code == 302
    point = OutreachPoint.objects.get(code="poster-haida-market")
    assert (point.cost_yuan, point.channel, point.cycle_id) == (300, "poster", cycle.pk)
    run_stage(cycle, "collect")

    resident = Client()
    landing = resident.get("/s/poster-haida-market")
    assert landing.status_code == 302
    assert landing["Location"] == f"/cycles/{cycle.pk}/propose/?src=poster-haida-market"
    assert resident.get(landing["Location"]).status_code == 200
    # The session keeps the code, and nothing else of the visitor.
    assert dict(resident.session) == {"outreach_src": "poster-haida-market"}
    response = resident.post(f"/cycles/{cycle.pk}/propose/", {
        "community": world.haida.pk, "title": "菜市场门口加装路灯", "text": "晚上菜市场门口太暗，请加装路灯",
        "project_type": "works", "address": "", "proposer_name": "王阿姨", "phone": "13912345678",
        "proposer_kind": "resident"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Proposal.objects.get(cycle=cycle).source == "poster-haida-market"
    # A proposal from someone who came another way carries no source.
    other = Client()
    other.get(f"/cycles/{cycle.pk}/propose/?src=made-up-code")
    other.post(f"/cycles/{cycle.pk}/propose/", {
        "community": world.haida.pk, "title": "篮球场", "text": "篮球场围网坏了", "project_type": "works",
        "address": "", "proposer_name": "李四", "phone": "13912345679", "proposer_kind": "resident"})
    assert sorted(Proposal.objects.filter(cycle=cycle).values_list("source", flat=True)) == ["", "poster-haida-market"]

    # The vote: the same poster's QR code, a new visitor.
    from civicbudget.voting import services as voting

    project = make_project(cycle, world.haida, name="菜市场路灯")
    run_stage(cycle, "vote")
    key = f"community:{world.haida.pk}"
    voting.scope_open(cycle=cycle, key=key, title="海达社区", community=world.haida, spec={
        "scope": key, "vote_type": "approval", "budget": "300000",
        "projects": [{"id": str(project.pk), "cost": "50000", "name": project.name}],
        "rule": {"rule": "greedy"}, "min_length": 1, "max_length": None})
    voter_client = Client()
    landing = voter_client.get("/s/poster-haida-market")
    assert landing["Location"] == f"/cycles/{cycle.pk}/vote/?src=poster-haida-market"
    voter_client.get(landing["Location"])
    first17 = "46010819800101001"
    response = voter_client.post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": first17 + id_check_char(first17), "community": world.haida.pk,
        "basis": "live", "phone": "13812345670"})
    assert response.status_code == 302, response.content.decode()[:3000]
    code = re.search(r"\d{6}", last_message_to("13812345670")).group(0)
    response = voter_client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": code})
    assert response.status_code == 302
    ballot_page = voter_client.get(f"/cycles/{cycle.pk}/vote/ballot/")
    assert ballot_page.status_code == 200
    voter = Voter.objects.get(cycle=cycle)
    assert voter.source == "poster-haida-market"

    # Before the ballot is cast the voter brought nobody: participation, not registration, counts.
    from civicbudget.outreach.selectors import outreach_figures

    assert outreach_figures(cycle)["points"][0].voters == 0
    voting.ballot_cast(voter=voter, scope=cycle.voting_scopes.get(), choices=[str(project.pk)])
    figures = outreach_figures(cycle)
    row = figures["points"][0]
    assert (row.key, row.proposals, row.voters, row.ratings, row.participants) == ("poster-haida-market", 1, 1, 0, 2)
    assert row.cost_per_participant == 150
    assert [(c.key, c.cost_yuan, c.participants) for c in figures["channels"]] == [("poster", 300, 2)]

    # The statistics page and its export show the same figures.
    page = Client().get(f"/districts/{world.district.pk}/statistics/")
    html = page.content.decode()
    assert 'id="outreach"' in html and "poster-haida-market" in html
    row_html = re.search(r"<code>poster-haida-market</code>.*?</tr>", html, re.S).group(0)
    assert re.findall(r"<td class=\"num\"[^>]*>([^<]*)</td>", row_html) == ["1", "1", "0", "300", "150"]
    csv = Client().get(f"/cycles/{cycle.pk}/open-data/outreach.csv").content.decode()
    assert "point,poster-haida-market,poster,海达菜市场,300,1,1,0,2,150" in csv
    assert "channel,poster,poster,,300,1,1,0,2,150" in csv


def test_ballots_keep_no_source(world):
    """The source sits on the voter: no ballot, pending ballot or participation row has one."""
    from civicbudget.voting.models import LogEntry, Participation, PendingBallot

    for model in (LogEntry, Participation, PendingBallot):
        assert "source" not in {f.name for f in model._meta.get_fields()}


@pytest.mark.parametrize("code", ["Poster Haida", "x", "p123", "a" * 41, "海达", "c1-poster"])
def test_a_bad_code_is_refused_and_nothing_is_written(world, code):
    from civicbudget.errors import ServiceError
    from civicbudget.outreach.services import outreach_point_create

    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    with pytest.raises(ServiceError) as exc:
        outreach_point_create(actor=admin, cycle=cycle, code=code, channel="poster")
    assert exc.value.field == "code"
    assert not OutreachPoint.objects.exists()


def test_cost_must_be_whole_yuan(world):
    from civicbudget.errors import ServiceError
    from civicbudget.outreach.services import outreach_point_create

    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    for bad in ("12.5", "-3", "１２", "99999999999"):
        with pytest.raises(ServiceError) as exc:
            outreach_point_create(actor=admin, cycle=cycle, code="leaflet-a", channel="leaflet", cost_yuan=bad)
        assert exc.value.field == "cost_yuan"
    assert not OutreachPoint.objects.exists()


def test_a_street_officer_makes_points_and_the_kit_of_their_street_only(world, staff_client):
    cycle, _admin, _p, _s = _voting_cycle(world, many=3)
    officer = staff(Role.STREET_OFFICER, world.haidian)
    client = staff_client(officer)
    page = client.get(f"/staff/cycles/{cycle.pk}/outreach/")
    assert page.status_code == 200
    assert f"?street={world.haidian.pk}" in page.content.decode()
    assert client.get(f"/staff/cycles/{cycle.pk}/outreach/kit.zip").status_code == 403
    response = client.get(f"/staff/cycles/{cycle.pk}/outreach/kit.zip?street={world.haidian.pk}")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(BytesIO(response.content)).namelist()
    assert f"board-community-{world.haida.pk}.pdf" in names and "sms.txt" in names
    # the district-wide point is refused, the street's accepted
    assert client.post(f"/staff/cycles/{cycle.pk}/outreach/", {
        "code": "board-district", "channel": "board", "street": "", "cost_yuan": "1"}).status_code == 403
    client.post(f"/staff/cycles/{cycle.pk}/outreach/", {
        "code": "meeting-haida", "channel": "meeting", "street": world.haidian.pk, "cost_yuan": "120"})
    assert OutreachPoint.objects.get(code="meeting-haida").street == world.haidian
    # a community officer has no publicity desk
    community_officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    assert staff_client(community_officer).get(
        f"/staff/cycles/{cycle.pk}/outreach/kit.zip?street={world.haidian.pk}").status_code == 403


@pytest.mark.parametrize("path", ["cycle", "project", "vote", "results"])
def test_share_metadata_on_cycle_project_vote_and_results_pages(world, path):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    project = make_project(cycle, world.haida, name="长者食堂")
    url = {"cycle": f"/cycles/{cycle.pk}/", "project": f"/projects/{project.pk}/",
           "vote": f"/cycles/{cycle.pk}/vote/", "results": f"/cycles/{cycle.pk}/results/"}[path]
    html = Client().get(url + "?src=poster-x").content.decode()
    for prop in ("og:title", "og:description", "og:image", "og:url"):
        assert re.search(rf'<meta property="{prop}" content="[^"]+">', html), prop
    assert re.search(r'<meta name="description" content="[^"]+">', html)
    assert f'<meta property="og:url" content="http://testserver{url}">' in html  # no ?src: a share credits no poster
    assert '<meta property="og:image" content="http://testserver/static/civicbudget/share.png">' in html
    if path == "project":
        assert '<meta property="og:title" content="长者食堂">' in html
        assert f"http://testserver/s/p{project.pk}</code>" in html
        assert Client().get(f"/s/p{project.pk}")["Location"] == f"/projects/{project.pk}/"


def test_the_share_image_is_served_and_large_enough():
    from PIL import Image

    response = Client().get("/static/civicbudget/share.png")
    assert response.status_code == 200
    image = Image.open(BytesIO(b"".join(response.streaming_content)))
    assert image.size[0] >= 300 and image.size[1] >= 300


def test_unknown_short_link_is_404(db):
    assert Client().get("/s/nothing-here").status_code == 404
    assert Client().get("/s/NOT%20A%20CODE").status_code == 404


def test_a_rating_from_a_boards_qr_code_records_its_source(world, settings, tmp_path):
    import datetime as dt

    from civicbudget.delivery import services as delivery
    from civicbudget.delivery.models import Implementation, Rating
    from civicbudget.outreach.selectors import outreach_figures
    from civicbudget.voting.sms import last_message_to

    from factories import build_after, walk_to

    settings.MEDIA_ROOT = tmp_path / "media"
    after = build_after(world, settings, tmp_path)
    walk_to(after.cycle, after.admin, "implement")
    impl = Implementation.objects.get(project=after.projects["P1"])
    for step in ("budget_review", "tender", "contract", "delivery", "acceptance", "done"):
        delivery.implementation_advance(actor=after.admin, implementation=impl, step=step,
                                        contract_ends_on=dt.date(2031, 6, 30), acceptance_group="居民监督小组")
    OutreachPoint.objects.create(cycle=after.cycle, code="board-haida-hall", channel="board",
                                 place="海达社区服务大厅", cost_yuan=800)
    resident = Client()
    url = f"/projects/{after.projects['P1'].pk}/progress/"
    assert resident.get(url + "?src=board-haida-hall").status_code == 200
    resident.post(url, {"action": "code", "phone": "13900001111"})
    code = re.search(r"\d{6}", last_message_to("13900001111")).group(0)
    response = resident.post(url, {"phone": "13900001111", "code": code, "score": "5", "comment": "灯很亮"})
    assert response.status_code == 302
    assert Rating.objects.get().source == "board-haida-hall"
    row = outreach_figures(after.cycle)["points"][0]
    assert (row.proposals, row.voters, row.ratings, row.cost_per_participant) == (0, 0, 1, 800)


def _names_drawn(pdf: bytes, projects) -> list[str]:
    """The projects whose "N. name" line is in the PDF's text (the Song font's PDF encoding)."""
    from reportlab.pdfbase import pdfmetrics

    from civicbudget.outreach.kit import FONT

    font = pdfmetrics.getFont(FONT)
    return [p.name for n, p in enumerate(projects, 1)
            if font.formatForPdf(f"{n}. {p.name[:4]}").encode("latin-1") in pdf]


def test_the_demo_kit_has_a_board_per_ballot_naming_every_project(db, settings, tmp_path):
    from civicbudget.demo.data import load_demo
    from civicbudget.outreach import kit
    from civicbudget.voting.models import VotingScope

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    load_demo(proposal_scale=0.02)
    scopes = VotingScope.objects.filter(cycle__year=2018).select_related("cycle")
    cycle = scopes[0].cycle
    files = {f.name: f for f in kit.kit_files(cycle, "https://pb.example.cn")}
    boards = {name for name in files if name.startswith("board-")}
    assert boards == {f"board-{s.key.replace(':', '-')}.pdf" for s in scopes} and len(boards) == scopes.count() > 1
    assert {f"poster-c{cycle.pk}-poster.pdf", f"leaflet-c{cycle.pk}-leaflet.pdf", "announcement.txt",
            "sms.txt"} <= set(files)
    for board in kit.ballot_boards(cycle):
        pdf = files[f"board-{board.key.replace(':', '-')}.pdf"].data
        assert _names_drawn(pdf, board.projects) == [p.name for p in board.projects]
    for f in files.values():
        for url in f.qr_urls:
            assert url.startswith(f"https://pb.example.cn/cycles/{cycle.pk}/vote/?src=c{cycle.pk}-")


def test_a_paper_proposal_from_a_meeting_counts_for_that_meeting(world, staff_client):
    from civicbudget.outreach.selectors import outreach_figures
    from civicbudget.proposals.models import Proposal

    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    OutreachPoint.objects.create(cycle=cycle, code="meeting-haida-0312", channel="meeting",
                                 place="海达社区提议会", cost_yuan=500)
    run_stage(cycle, "collect")
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    client = staff_client(officer)
    page = client.get(f"/staff/cycles/{cycle.pk}/entry/").content.decode()
    assert 'value="meeting-haida-0312"' in page and "海达社区提议会" in page
    form = {"community": world.haida.pk, "channel": "meeting", "text": "小区门口加装路灯", "title": "",
            "project_type": "works", "address": "", "proposer_name": "王五", "phone": "",
            "proposer_kind": "resident"}
    assert client.post(f"/staff/cycles/{cycle.pk}/entry/", {**form, "source": "meeting-haida-0312"}).status_code == 302
    assert client.post(f"/staff/cycles/{cycle.pk}/entry/", {**form, "source": "made-up"}).status_code == 200
    assert list(Proposal.objects.values_list("source", flat=True)) == ["meeting-haida-0312"]
    row = outreach_figures(cycle)["points"][0]
    assert (row.proposals, row.cost_per_participant) == (1, 500)
