"""The results page of the demo's counted 2017 cycle in a real browser, on a phone and a desktop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser_support import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

# The screenshots of docs/screenshots are refreshed only when asked
# (CIVICBUDGET_SCREENSHOTS=1): a test run must not change the checkout.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# The page's text without <code> (rule codes, hashes, commands): what a resident reads.
TEXT_OUTSIDE_CODE = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('code, script, style').forEach(e => e.remove());
  copy.querySelectorAll('details').forEach(e => e.setAttribute('open', ''));
  return copy.textContent;
}"""


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    from civicbudget.demo.data import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    load_demo(proposal_scale=0.02)


def _screenshots(tmp_path: Path) -> Path:
    return DOCS_SCREENSHOTS if os.environ.get("CIVICBUDGET_SCREENSHOTS") == "1" else tmp_path


def test_results_page_fits_a_phone_in_chinese_and_names_every_project(demo, live_server, page,
                                                                      tmp_path):
    import re

    from civicbudget.cycles.models import Cycle
    from civicbudget.voting.models import ScopeResult

    cycle = Cycle.objects.get(year=2017, template_key="meilan_full_pb")
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.set_viewport_size({"width": 375, "height": 812})
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{live_server.url}/cycles/{cycle.pk}/results/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # Every project of every ballot is a row with its votes.
    expected = sum(len(r.scope.spec["projects"]) for r in ScopeResult.objects.filter(scope__cycle=cycle))
    assert page.locator("table.ranked tbody tr").count() == expected > 0
    first = page.locator("table.ranked tbody tr").first
    assert first.locator("td.votes").is_visible() and "得票第1" in first.inner_text()
    # The technical detail is one click away, and opening it does not widen the page.
    page.locator("details.technical summary").first.click()
    assert page.locator("details.technical code.hash").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    words = re.findall(r"[A-Za-z]{2,}", page.evaluate(TEXT_OUTSIDE_CODE))
    assert words == [], words[:20]
    assert failed == [], failed
    shots = _screenshots(tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.locator("details.technical").first.evaluate("e => e.open = false")
    page.screenshot(path=str(shots / "results-375.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.screenshot(path=str(shots / "results-desktop.png"), full_page=True)


def test_the_demo_vote_reads_as_a_real_window_in_local_time(demo, live_server, page):
    import re

    from django.utils import timezone

    from civicbudget.cycles.models import Cycle

    voting = Cycle.objects.get(year=2018)
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.goto(f"{live_server.url}/cycles/{voting.pk}/")
    when = page.locator('ol.timeline li[data-kind="vote"] .when').inner_text()
    start, end = re.fullmatch(r"(\d+月\d+日 \d\d:\d\d) – (\d+月\d+日 \d\d:\d\d)", when.strip()).groups()
    stage = voting.stages.get(kind="vote")
    opened = timezone.localtime(stage.started_at)
    assert start == f"{opened.month}月{opened.day}日 {opened:%H:%M}" and end != start
