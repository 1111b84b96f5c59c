"""三单 in a real browser: an organisation registers on a phone, the street officer approves it
and offers a service winner, the organisation bids at its desk, the officer chooses with a
reason, the organisation reports, and the public pages show it, in Chinese at 375 px."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from browser_support import ARTIFACTS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('code, script, style, option').forEach(e => e.remove());
  return copy.textContent;
}"""


@pytest.fixture
def xihu(transactional_db):
    from django.contrib.auth.hashers import make_password

    from civicbudget.accounts.models import Role
    from civicbudget.delivery.models import Implementation
    from civicbudget.proposals.models import Project

    from factories import (
        CommunityFactory,
        DistrictFactory,
        StreetFactory,
        make_cycle,
        make_project,
        run_stage,
        staff,
    )

    district = DistrictFactory(name="西湖区")
    street = StreetFactory(district=district, name="南浦街道")
    community = CommunityFactory(street=street, name="濠上街社区")
    cycle = make_cycle(district, streets=[street], communities=[community], template_key="xihu_xingfu",
                       name="2030 幸福微实事")
    project = make_project(cycle, community, name="南浦群众食堂运营", proposals=3)
    Project.objects.filter(pk=project.pk).update(project_type="services")
    Implementation.objects.create(project=Project.objects.get(pk=project.pk), cycle=cycle, body=street,
                                  allocation_yuan=300_000, due_on=dt.date(2031, 12, 31))
    run_stage(cycle, "implement")
    officer = staff(Role.STREET_OFFICER, street, username="nanpu-officer")
    officer.password = make_password("xihu-demo-2017")
    officer.save()
    return district, cycle, project


def _fits_in_chinese(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    words = re.findall(r"[A-Za-z]{2,}", page.evaluate(TEXT))
    assert words == [], words[:20]


def test_registration_bid_choice_and_report_in_a_browser(xihu, live_server, page):
    from civicbudget.delivery.models import Implementation, Spending
    from civicbudget.partners.models import Offer, Organisation

    district, cycle, project = xihu
    ARTIFACTS.mkdir(exist_ok=True)
    browser = page.context.browser
    phone = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
    phone.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    org_page = phone.new_page()

    # The organisation registers on a phone, the code typed in full-width letters.
    org_page.goto(f"{live_server.url}/districts/{district.pk}/organisations/register/")
    _fits_in_chinese(org_page)
    org_page.fill("input[name=name]", "南昌大学校友会社区服务队")
    org_page.fill("input[name=credit_code]", "９１３５０１００Ｍ０００１００Ｙ４４")
    org_page.fill("textarea[name=services]", "群众食堂运营、送餐上门")
    org_page.check("input[name=communities]")
    org_page.fill("input[name=contact_name]", "吴同学")
    org_page.fill("input[name=contact_phone]", "138 0013 8000")
    org_page.get_by_role("button", name="提交登记").click()
    assert "校验位不符" in org_page.locator("p.error").inner_text()
    assert Organisation.objects.count() == 0
    org_page.fill("input[name=credit_code]", "９１３５０１００Ｍ０００１００Ｙ４３")
    org_page.get_by_role("button", name="提交登记").click()
    org_page.wait_for_selector("text=登记已收到")
    org = Organisation.objects.get()
    assert (org.credit_code, org.status) == ("91350100M000100Y43", "pending")

    # The street officer approves it and offers the canteen for orders.
    page.goto(f"{live_server.url}/staff/login/")
    page.fill("input[name=username]", "nanpu-officer")
    page.fill("input[name=password]", "xihu-demo-2017")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    page.get_by_role("link", name="社会组织").first.click()
    page.fill("input[name=reason]", "登记证书齐全，有同类服务经验")
    page.get_by_role("button", name="通过").click()
    key = page.locator("code.access-key").inner_text().strip()
    assert len(key) >= 30
    page.goto(f"{live_server.url}/staff/cycles/{cycle.pk}/")
    page.get_by_role("link", name="社会组织接单").click()
    page.fill("input[name=bids_close_on]", (dt.date.today() + dt.timedelta(days=7)).isoformat())
    page.get_by_role("button", name="发布接单").click()
    page.wait_for_selector("text=暂无报价。")

    # The organisation opens its desk with the key and bids, above the allocation first.
    org_page.goto(f"{live_server.url}/organisations/desk/")
    org_page.fill("input[name=key]", key)
    org_page.get_by_role("button", name="进入工作台").click()
    org_page.wait_for_selector("text=正在接单的项目")
    _fits_in_chinese(org_page)
    org_page.fill("textarea[name=plan]", "校友会志愿者与专职厨师合作，每日午餐并送餐上门")
    org_page.fill("input[name=price_yuan]", "300001")
    org_page.fill("input[name=starts_on]", "2031-03-01")
    org_page.fill("input[name=ends_on]", "2031-11-30")
    org_page.fill("textarea[name=schedule]", "3月开餐，11月底结束")
    org_page.fill("textarea[name=team]", "厨师2名、志愿者20名")
    org_page.check("input[name=has_conflict]")
    org_page.fill("textarea[name=conflict]", "队长家住濠上街社区")
    org_page.get_by_role("button", name="提交我方报价").click()
    assert "超过项目预算" in org_page.locator("ul.messages").inner_text()
    org_page.fill("textarea[name=plan]", "校友会志愿者与专职厨师合作，每日午餐并送餐上门")
    org_page.fill("input[name=price_yuan]", "280000")
    org_page.fill("input[name=starts_on]", "2031-03-01")
    org_page.fill("input[name=ends_on]", "2031-11-30")
    org_page.fill("textarea[name=schedule]", "3月开餐，11月底结束")
    org_page.fill("textarea[name=team]", "厨师2名、志愿者20名")
    org_page.check("input[name=has_conflict]")
    org_page.fill("textarea[name=conflict]", "队长家住濠上街社区")
    org_page.get_by_role("button", name="提交我方报价").click()
    org_page.wait_for_selector("text=您的报价已记录。")

    # The officer sees the declared conflict and chooses with a reason.
    page.reload()
    assert "队长家住濠上街社区" in page.locator("table").inner_text()
    page.check("input[name=bid]")
    page.fill("textarea[name=reason]", "唯一报价，方案覆盖送餐上门，冲突已申报且不影响服务")
    page.get_by_role("button", name="选定该报价").click()
    page.wait_for_selector("text=唯一报价，方案覆盖送餐上门")
    assert Offer.objects.get().status == "awarded"

    # The organisation reports a payment and the delivery from its desk.
    org_page.goto(f"{live_server.url}/organisations/desk/")
    org_page.fill("input[name=amount_yuan]", "90000")
    org_page.fill("input[name=payee]", "南浦农贸市场")
    org_page.fill("input[name=description]", "首月食材")
    org_page.fill("input[name=spent_on]", "2031-03-31")
    org_page.get_by_role("button", name="登记支出").click()
    org_page.wait_for_selector("text=已保存。")
    org_page.get_by_role("button", name="报告服务已交付").click()
    org_page.wait_for_selector("text=已保存。")
    assert Spending.objects.get().amount_yuan == 90_000
    assert Implementation.objects.get().step == "delivery"

    # The public pages name the organisation, its reason and its record, on a phone.
    org_page.goto(f"{live_server.url}/projects/{project.pk}/progress/")
    assert "南昌大学校友会社区服务队" in org_page.inner_text("main")
    org_page.goto(f"{live_server.url}/organisations/{org.pk}/")
    _fits_in_chinese(org_page)
    text = org_page.inner_text("main")
    assert "南浦群众食堂运营" in text and "90,000" in text and "队长家住濠上街社区" in text
    org_page.screenshot(path=str(ARTIFACTS / "organisation-375.png"), full_page=True)
    phone.close()
