"""A street officer screens a project, costs it and publishes the community ballot, in chromium."""

from __future__ import annotations

import datetime as dt

import pytest

from browser_support import ARTIFACTS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]
MEILAN = ["in_area", "public_benefit", "within_pool", "not_planned", "feasible", "lawful",
          "no_private_benefit"]




@pytest.fixture
def screening_cycle(transactional_db):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from civicbudget.accounts.models import Role
    from civicbudget.cycles.services import stage_advance
    from civicbudget.deliberation.services import cost_set, screening_record

    from factories import (
        CommunityFactory,
        DistrictFactory,
        StreetFactory,
        make_cycle,
        make_project,
        staff,
    )

    district = DistrictFactory(name="美兰区")
    street = StreetFactory(district=district, name="海甸街道")
    haida = CommunityFactory(street=street, name="海达社区")
    cycle = make_cycle(district, streets=[street], communities=[haida], name="2030 微实事")
    admin = staff(Role.DISTRICT_ADMIN, district)
    now = timezone.now() - dt.timedelta(days=30)
    for _ in range(3):  # launch, collect, screen
        stage_advance(actor=admin, cycle=cycle, now=now, reason="演示")
    officer = staff(Role.STREET_OFFICER, street, username="haidian-officer")
    officer.password = make_password("meilan-demo-2018")
    officer.save()
    # Given: one project already screened and costed; the other waits for the officer.
    ready = make_project(cycle, haida, name="健身路径", proposals=2)
    screening_record(actor=officer, project=ready, results={k: (True, "") for k in MEILAN})
    cost_set(actor=officer, project=ready, amount_yuan=150_000)
    waiting = make_project(cycle, haida, name="楼道声控灯", proposals=5)
    return cycle, waiting


def test_officer_screens_a_project_and_publishes_the_ballot(screening_cycle, live_server, page):
    from civicbudget.deliberation.selectors import ballot_for

    cycle, waiting = screening_cycle
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/staff/login/")
    page.fill("input[name=username]", "haidian-officer")
    page.fill("input[name=password]", "meilan-demo-2018")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    page.goto(f"{live_server.url}/staff/cycles/{cycle.pk}/")
    page.get_by_role("link", name="筛选、造价与选票").click()
    page.wait_for_url("**/deliberation/")
    page.get_by_role("link", name="楼道声控灯").click()

    # Screening: nothing is chosen at first, and the browser will not send the form so; the
    # officer answers "yes" to every criterion and saves.
    form = page.locator("form.screening")
    assert form.locator("tr[data-criterion]").count() == 7
    assert form.locator("input[type=radio]:checked").count() == 0
    assert form.evaluate("f => f.checkValidity()") is False
    yes = form.locator('input[type=radio][value="1"]')
    for i in range(yes.count()):
        yes.nth(i).check()
    form.get_by_role("button", name="保存筛选结果").click()
    page.wait_for_load_state()
    assert "筛选结果已保存：通过。" in page.locator(".messages").inner_text()
    page.fill("input[name=cost_yuan]", "0")
    page.get_by_role("button", name="保存造价").click()
    page.wait_for_load_state()
    assert "必须大于0元" in page.locator(".messages").inner_text()
    page.fill("input[name=cost_yuan]", "86,000")
    page.fill("input[name=reason]", "住建局估价")
    page.get_by_role("button", name="保存造价").click()
    page.wait_for_load_state()
    assert "86,000" in page.locator("table.costs").inner_text()
    page.screenshot(path=str(ARTIFACTS / "deliberation-project.png"), full_page=True)

    # The ballot of the community: prepare, then freeze and publish.
    page.goto(f"{live_server.url}/staff/cycles/{cycle.pk}/deliberation/")
    row = page.locator('table.ballots tr[data-scope="海达社区"]')
    row.get_by_role("button", name="生成选票").click()
    page.wait_for_load_state()
    assert "共2个项目" in page.locator(".messages").inner_text()
    row = page.locator('table.ballots tr[data-scope="海达社区"]')
    row.get_by_role("button", name="冻结并公布").click()
    page.wait_for_load_state()
    row = page.locator('table.ballots tr[data-scope="海达社区"]')
    assert "已冻结" in row.inner_text()
    assert row.get_by_role("button").count() == 0
    page.screenshot(path=str(ARTIFACTS / "deliberation-ballots.png"), full_page=True)

    row.get_by_role("link", name="公开页面").click()
    page.wait_for_url("**/ballots/*/")
    assert "不能再修改" in page.content()
    assert page.locator("table.ballot tfoot").inner_text().split()[-1] == "236,000"
    view = ballot_for(cycle, waiting.community)
    assert sorted((i.name, i.cost_yuan) for i in view.items) == [("健身路径", 150_000), ("楼道声控灯", 86_000)]
