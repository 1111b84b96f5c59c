"""A real browser on the statistics dashboard and a project's progress page (demo data)."""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    from civicbudget.demo.data import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    load_demo(proposal_scale=0.02)




def test_dashboard_then_a_project_progress_page_in_a_browser(demo, live_server, page):
    from civicbudget.cycles.models import Cycle
    from civicbudget.delivery.models import Implementation

    ARTIFACTS.mkdir(exist_ok=True)
    cycle = Cycle.objects.get(year=2017, template_key="meilan_full_pb")
    page.goto(f"{live_server.url}/cycles/{cycle.pk}/")
    page.get_by_role("link", name="统计").click()
    page.wait_for_url("**/statistics/")
    assert page.locator("h1").inner_text().startswith("统计")
    rows = page.locator("table.meilan tbody tr")
    # 2017, 2018, the Xihu-style cycle (docs/partners.md) and the three 2019 pilots.
    assert rows.count() == Cycle.objects.count() == 6 and "2017" in rows.nth(0).inner_text()
    assert page.locator("svg.chart").count() >= 10
    assert page.locator("svg.chart").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "statistics.png"), full_page=True)

    page.goto(f"{live_server.url}/cycles/{cycle.pk}/progress/")
    impl = Implementation.objects.filter(cycle=cycle, step="done").select_related("project").first()
    page.get_by_role("link", name=impl.project.name).first.click()
    page.wait_for_url("**/progress/")
    assert page.locator("h1.project-name").inner_text() == impl.project.name
    assert page.locator("ol.steps li.done").count() == 6
    assert "验收" in page.content()
    page.screenshot(path=str(ARTIFACTS / "project-progress.png"), full_page=True)


def test_public_pages_fit_a_phone_screen(demo, live_server, page):
    """At 390 px, no public page is wider than the screen: wide tables scroll inside."""
    from civicbudget.cycles.models import Cycle

    page.set_viewport_size({"width": 390, "height": 844})
    done, voting = Cycle.objects.get(year=2017, template_key="meilan_full_pb"), Cycle.objects.get(year=2018)
    urls = ["/", f"/cycles/{done.pk}/", f"/cycles/{done.pk}/results/", f"/cycles/{done.pk}/progress/",
            f"/cycles/{done.pk}/open-data/", f"/districts/{done.district_id}/statistics/",
            f"/cycles/{voting.pk}/", f"/cycles/{voting.pk}/vote/", f"/cycles/{voting.pk}/projects/"]
    for url in urls:
        page.goto(live_server.url + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)
    page.screenshot(path=str(ARTIFACTS / "phone-last-page.png"), full_page=True)
