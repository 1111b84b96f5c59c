"""Adjudicating a scanned paper sheet in a real browser: the outlined scan shows under the
site's CSP, two officers tick what they read, and the sheet is counted."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from browser_support import ARTIFACTS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
def queued_sheet(transactional_db, settings, tmp_path):
    from django.utils import timezone

    from civicbudget.accounts.models import Role
    from civicbudget.paper import layout, synthetic
    from civicbudget.paper.services import sheets_print, sheets_scan
    from civicbudget.voting import services
    from civicbudget.voting.idcard import id_check_char

    from factories import (
        CommunityFactory,
        DistrictFactory,
        StreetFactory,
        advance_to_vote,
        make_cycle,
        staff,
    )

    settings.DATA_DIR = tmp_path
    district = DistrictFactory(name="美兰区")
    street = StreetFactory(district=district, name="海甸街道")
    community = CommunityFactory(street=street, name="海达社区")
    cycle = make_cycle(district, streets=[street], communities=[community], name="2030 微实事")
    advance_to_vote(cycle, staff(Role.DISTRICT_ADMIN, district), latest=timezone.now())
    key = f"community:{community.pk}"
    scope = services.scope_open(cycle=cycle, key=key, title="海达社区", community=community, spec={
        "scope": key, "vote_type": "approval", "budget": "300000", "rule": {"rule": "greedy"},
        "projects": [{"id": "1", "cost": "120000", "name": "3栋楼道照明"},
                     {"id": "2", "cost": "200000", "name": "东门监控"}], "min_length": 1, "max_length": 1})
    one = staff(Role.POLLING_OFFICER, community, username="officer-one")
    two = staff(Role.POLLING_OFFICER, community, username="officer-two")
    station = services.station_create(actor=one, cycle=cycle, community=community, name="社区服务大厅")
    first17 = f"460108{dt.date(1980, 1, 1):%Y%m%d}123"
    services.poll_check_in(officer=one, station=station, doc_type="id_card", doc_number=first17 + id_check_char(first17),
                           community_id=community.pk, basis="live")
    printed = sheets_print(actor=one, cycle=cycle, scope=scope, count=1, station=station)
    image = synthetic.rasterise(printed.pdf, 200)[0]
    boxes = layout.boxes_from_json(printed.layout["pages"][0]["boxes"])
    synthetic.mark(image, boxes[1], "faint", 200, np.random.default_rng(2))
    data = synthetic.scan(image, angle=1.5, rng=np.random.default_rng(2), blur=0.8, noise=5, jpeg=75)
    sheets_scan(actor=one, cycle=cycle, files=[("box-1.jpg", data)], station=station)
    return cycle, one, two


def _sign_in(page, url, username):
    from factories import PASSWORD

    page.context.clear_cookies()
    page.goto(url + "/staff/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")


def test_two_officers_settle_a_faint_mark_on_the_adjudication_page(queued_sheet, live_server, page):
    from civicbudget.paper.models import ScannedSheet
    from civicbudget.voting.models import PendingBallot

    cycle, one, two = queued_sheet
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    for officer in (one, two):
        _sign_in(page, live_server.url, officer.username)
        page.goto(f"{live_server.url}/staff/cycles/{cycle.pk}/paper/")
        page.locator("table.paper-queue a").first.click()
        scan = page.locator(".paper-sheet img")
        assert scan.evaluate("img => img.complete && img.naturalWidth") > 1000
        assert page.locator("img.paper-rows").evaluate("img => img.complete && img.naturalWidth") > 1000
        if officer is one:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "paper-adjudication.png"), full_page=True)
        page.get_by_label("东门监控").check()
        page.get_by_role("button", name="按此计票").click()
        page.wait_for_load_state()
    assert "选票已处理" in page.content()
    sheet = ScannedSheet.objects.get()
    assert sheet.state == "adjudicated" and PendingBallot.objects.filter(leaf=sheet.receipt).exists()
    assert blocked == []
