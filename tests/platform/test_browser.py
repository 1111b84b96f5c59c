"""A real browser (Debian's chromium through Playwright) on the demo's pages, over real HTTP."""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
def demo(transactional_db):
    from civicbudget.demo.data import load_demo

    load_demo(proposal_scale=0.02)


def test_demo_home_and_cycle_page_in_a_browser(demo, live_server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "美兰区 · 参与式预算"
    from civicbudget.cycles.models import Cycle

    cards = page.locator(".cycle-card")
    # Every demo cycle has its card: 2018, 2017, the Xihu-style cycle (docs/partners.md) and
    # the three 2019 pilots of fairer counts (demo/fairness_data.py).
    assert cards.count() == Cycle.objects.count() == 6
    assert "2018 社区更新微实事" in cards.nth(0).inner_text()
    assert "项目投票" in cards.nth(0).inner_text()
    page.screenshot(path=str(ARTIFACTS / "demo-home.png"), full_page=True)

    page.get_by_role("link", name="2018 社区更新微实事").click()
    page.wait_for_url("**/cycles/*/")
    timeline = page.locator("ol.timeline li")
    assert timeline.count() == 8
    assert page.locator("ol.timeline li.current").inner_text().startswith("4. 项目投票")
    assert page.locator("ol.timeline li.done").count() == 3
    pools = page.locator("table.pools tbody tr.street")
    assert pools.count() == 4
    assert "1,050,000" in pools.nth(0).inner_text()
    assert page.locator("table.pools tfoot").inner_text().split()[-1] == "12,000,000"
    page.screenshot(path=str(ARTIFACTS / "demo-cycle.png"), full_page=True)

    page.select_option("select[name=language]", "en")
    page.get_by_role("button", name="切换").click()
    page.wait_for_load_state()
    assert page.locator("h2").first.inner_text() == "Stages"
    assert "2018 Community Renewal Micro-Projects" in page.locator("h1").inner_text()


def test_staff_login_and_advance_refusal_in_a_browser(demo, live_server, page):
    page.goto(live_server.url + "/staff/login/")
    page.fill("input[name=username]", "haida-officer")
    page.fill("input[name=password]", "meilan-demo-2018")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    assert "社区工作人员 · 海达社区" in page.content()
    # A community officer sees no stage controls on a cycle.
    page.get_by_role("link", name="2018 社区更新微实事").click()
    assert page.locator("button.danger").count() == 0


@pytest.fixture
def collecting_cycle(transactional_db):
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from civicbudget.accounts.models import Role
    from civicbudget.cycles.services import stage_advance
    from civicbudget.proposals.models import Proposal
    from civicbudget.textmatch import analyze

    from factories import CommunityFactory, DistrictFactory, StreetFactory, make_cycle, staff

    district = DistrictFactory(name="美兰区")
    street = StreetFactory(district=district, name="海甸街道")
    community = CommunityFactory(street=street, name="海达社区")
    cycle = make_cycle(district, streets=[street], communities=[community], name="2030 微实事")
    admin = staff(Role.DISTRICT_ADMIN, district)
    start = timezone.now() - dt.timedelta(days=20)
    stage_advance(actor=admin, cycle=cycle, now=start)
    stage_advance(actor=admin, cycle=cycle, reason="开始征集")
    officer = staff(Role.COMMUNITY_OFFICER, community, username="haida-officer")
    officer.password = make_password("meilan-demo-2018")
    officer.save()
    for i, text in enumerate(["海达小区3栋楼道灯坏了", "3栋楼道一片漆黑，老人摔倒过"]):
        Proposal.objects.create(cycle=cycle, street=street, community=community,
                                tracking_code=f"PAPER{i:03d}", title=text, text=text,
                                proposer_name="居民", channel="paper",
                                analysis=analyze(text).to_dict())
    return cycle, admin


def test_resident_proposes_officer_merges_resident_sees_the_project(collecting_cycle, live_server, page):
    from civicbudget.cycles.services import stage_advance

    cycle, admin = collecting_cycle
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{live_server.url}/cycles/{cycle.pk}/propose/")
    page.select_option("select[name=community]", label="海甸街道 · 海达社区")
    page.fill("textarea[name=text]", "海达小区3栋楼道太黑，希望装声控灯")
    page.fill("input[name=proposer_name]", "王秀英")
    page.fill("input[name=phone]", "138 1234 5678")
    page.screenshot(path=str(ARTIFACTS / "propose-phone.png"), full_page=True)
    page.get_by_role("button", name="提交我的提议").click()
    page.wait_for_url("**/track/*/")
    code = page.locator("strong.tracking-code").inner_text()
    assert len(code) == 8
    assert "等待街道或社区办公室处理" in page.content()

    stage_advance(actor=admin, cycle=cycle, reason="征集结束")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/staff/login/")
    page.fill("input[name=username]", "haida-officer")
    page.fill("input[name=password]", "meilan-demo-2018")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    page.goto(f"{live_server.url}/staff/cycles/{cycle.pk}/workbench/")
    suggestion = page.locator("form.suggestion").first
    assert suggestion.locator("li").count() == 3
    suggestion.locator("input[name=name]").fill("海达小区3栋楼道照明")
    suggestion.get_by_role("button", name="接受为项目").click()
    page.wait_for_load_state()
    assert "海达小区3栋楼道照明" in page.locator("table.projects").inner_text()
    page.screenshot(path=str(ARTIFACTS / "workbench.png"), full_page=True)

    page.goto(f"{live_server.url}/track/{code}/")
    merged = page.locator("p.merged-into")
    assert "海达小区3栋楼道照明" in merged.inner_text()
    merged.get_by_role("link").click()
    assert page.locator(".proposal-count").inner_text() == "3"


@pytest.fixture
def voting_cycle(transactional_db, settings, tmp_path):
    import datetime as dt

    from django.utils import timezone

    from civicbudget.accounts.models import Role
    from civicbudget.cycles.services import stage_advance
    from civicbudget.voting.services import scope_open

    from factories import CommunityFactory, DistrictFactory, StreetFactory, make_cycle, staff

    settings.DATA_DIR = tmp_path
    district = DistrictFactory(name="美兰区")
    street = StreetFactory(district=district, name="海甸街道")
    community = CommunityFactory(street=street, name="海达社区")
    cycle = make_cycle(district, streets=[street], communities=[community], name="2030 微实事")
    admin = staff(Role.DISTRICT_ADMIN, district)
    now = timezone.now() - dt.timedelta(days=400)
    while cycle.current_stage is None or cycle.current_stage.kind != "vote":
        stage_advance(actor=admin, cycle=cycle, now=now, reason="test")
        now += dt.timedelta(days=30)
        cycle.refresh_from_db()
    key = f"community:{community.pk}"
    scope_open(cycle=cycle, key=key, title="海达社区", community=community, spec={
        "scope": key, "vote_type": "approval", "budget": "300000", "rule": {"rule": "greedy"},
        "projects": [{"id": "1", "cost": "120000", "name": "3栋楼道照明"},
                     {"id": "2", "cost": "200000", "name": "东门监控"}],
        "min_length": 1, "max_length": 1})
    return cycle, community


def test_resident_votes_online_and_checks_the_receipt(voting_cycle, live_server, page):
    from civicbudget.voting.idcard import id_check_char
    from civicbudget.voting.sms import last_message_to

    cycle, community = voting_cycle
    first17 = "46010819900101123"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/cycles/{cycle.pk}/vote/")
    page.fill("input[name=doc_number]", first17 + id_check_char(first17))
    page.select_option("select[name=community]", label="海甸街道 · 海达社区")
    page.fill("input[name=phone]", "13800001111")
    page.get_by_role("button", name="给我发送验证码").click()
    page.wait_for_url("**/vote/verify/")
    code = "".join(ch for ch in last_message_to("13800001111") if ch.isdigit())[:6]
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="继续").click()
    page.wait_for_url("**/vote/ballot/")
    from playwright.sync_api import expect

    live = page.locator(".ballot-live")
    page.get_by_label("3栋楼道照明").check()
    expect(live.locator(".chosen")).to_have_text("1")
    expect(live.locator(".sum")).to_have_text("120,000")
    expect(live.locator(".over")).to_be_hidden()
    page.get_by_label("东门监控").check()  # a second project where one is allowed
    expect(live.locator(".over")).to_be_visible()
    page.get_by_label("东门监控").uncheck()
    expect(live.locator(".over")).to_be_hidden()
    page.get_by_role("button", name="投出这张选票").click()
    # The answer to the cast shows the choice once, and the receipt.
    expect(page.locator("h1")).to_have_text("投票成功")
    assert "3栋楼道照明" in page.locator(".cast-choices").inner_text()
    receipt = page.locator(".receipt-code").inner_text()
    assert len(receipt) == 64
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "cast-phone.png"), full_page=True)
    assert fits, "the cast page scrolls sideways on a phone"
    # The ballot waits for its batch; once written, anyone can look the receipt up: it shows
    # inclusion, never the choice.
    page.goto(f"{live_server.url}/cycles/{cycle.pk}/receipts/{receipt}/")
    assert "○" in page.locator("h2").first.inner_text()
    from civicbudget.voting import logstore

    logstore.batch_flush(cycle.pk, force=True)
    page.goto(f"{live_server.url}/cycles/{cycle.pk}/receipts/")
    page.fill("input[name=receipt]", receipt)
    page.get_by_role("button", name="核验").click()
    assert "✔" in page.locator(".receipt-ok h2").inner_text()
    assert "3栋楼道照明" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "receipt-phone.png"), full_page=True)
    # Every ballot is cast: the voter's session has ended, the ballot page starts over.
    page.goto(f"{live_server.url}/cycles/{cycle.pk}/vote/ballot/")
    page.wait_for_url(f"**/cycles/{cycle.pk}/vote/")


def test_officer_enters_paper_proposals_with_the_keyboard_under_the_content_policy(
        collecting_cycle, live_server, page):
    from playwright.sync_api import expect

    from civicbudget.proposals.models import Proposal

    cycle, _admin = collecting_cycle
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live_server.url + "/staff/login/")
    page.fill("input[name=username]", "haida-officer")
    page.fill("input[name=password]", "meilan-demo-2018")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    response = page.goto(f"{live_server.url}/staff/cycles/{cycle.pk}/entry/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#id_community")).to_be_focused()  # the page's script put it there
    page.select_option("#id_community", index=1)
    page.fill("#id_proposer_name", "王阿姨")
    page.focus("#id_text")
    page.keyboard.type("海达小区5栋门口路灯不亮")
    before = Proposal.objects.filter(cycle=cycle).count()
    page.keyboard.press("Enter")  # the page's script saves on Enter
    page.wait_for_load_state()
    expect(page.locator("#id_text")).to_be_focused()
    assert Proposal.objects.filter(cycle=cycle).count() == before + 1
    assert Proposal.objects.filter(cycle=cycle, text="海达小区5栋门口路灯不亮").exists()

    page.goto(live_server.url + "/api/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)
    assert blocked == []
