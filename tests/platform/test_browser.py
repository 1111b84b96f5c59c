"""A real browser (Debian's chromium through Playwright) on the demo's pages, over real HTTP."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CIVICBUDGET_CHROMIUM", "/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no chromium at {CHROMIUM}"),
]
ARTIFACTS = Path(os.environ.get("CIVICBUDGET_TEST_ARTIFACTS", "test-results"))


@pytest.fixture
def demo(transactional_db):
    from civicbudget.demo.data import load_demo

    load_demo()


@pytest.fixture
def page():
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the
    # live server happen in its own thread, so this only silences Django's guard here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        yield context.new_page()
        context.close()
        browser.close()


def test_demo_home_and_cycle_page_in_a_browser(demo, live_server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "美兰区 · 参与式预算"
    cards = page.locator(".cycle-card")
    assert cards.count() == 2
    assert "2018 社区更新微实事" in cards.nth(0).inner_text()
    assert "项目筛选" in cards.nth(0).inner_text()
    page.screenshot(path=str(ARTIFACTS / "demo-home.png"), full_page=True)

    page.get_by_role("link", name="2018 社区更新微实事").click()
    page.wait_for_url("**/cycles/*/")
    timeline = page.locator("ol.timeline li")
    assert timeline.count() == 8
    assert page.locator("ol.timeline li.current").inner_text().startswith("3. 项目筛选")
    assert page.locator("ol.timeline li.done").count() == 2
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
