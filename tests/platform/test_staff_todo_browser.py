"""A street officer's to-do list on the demo district, in a real browser on a phone, in Chinese."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from browser_support import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TEXT_OUTSIDE_CODE = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('code, script, style').forEach(e => e.remove());
  return copy.textContent;
}"""


@pytest.fixture
def demo_screening(transactional_db, settings, tmp_path):
    """The demo district with a 2019 cycle in its screening stage, past its planned end: the
    海甸 street office has projects to screen and proposals to merge, some of them late."""
    from django.utils import timezone

    from civicbudget.accounts.models import User
    from civicbudget.deliberation.models import Review
    from civicbudget.demo.data import load_demo
    from civicbudget.places.models import Department, District
    from civicbudget.proposals.models import Proposal
    from civicbudget.textmatch import analyze

    from factories import make_cycle, make_project, run_stage

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    load_demo(proposal_scale=0.02)
    district = District.objects.get()
    officer = User.objects.get(username="haidian-officer")
    street = officer.roles.get().street
    communities = list(street.communities.all())
    cycle = make_cycle(district, streets=[street], communities=communities,
                       starts_on=dt.date(2019, 1, 1), name="美兰区2019年微实事（演示）")
    run_stage(cycle, "screen")
    stage = cycle.current_stage
    stage.closes_at = timezone.now() - dt.timedelta(days=2)
    stage.save()
    for i, community in enumerate(communities * 3):
        project = make_project(cycle, community, name=f"{community.name}楼道照明改造第{i}期", proposals=2)
        if i < 2:
            Review.objects.create(project=project, cycle=cycle, department=Department.objects.first(),
                                  due_on=timezone.localdate() + dt.timedelta(days=3))
    for i, community in enumerate(communities):
        text = f"{community.name}东门口的路灯坏了很久，晚上看不清路，请尽快修好"
        Proposal.objects.create(cycle=cycle, street=street, community=community,
                                tracking_code=f"DEMO{i:04d}", title=text[:30], text=text,
                                proposer_name="居民", channel="paper", analysis=analyze(text).to_dict())
    return cycle


def test_street_officer_to_do_list_fits_a_phone_in_chinese(demo_screening, live_server, page, tmp_path):
    from civicbudget.accounts.security import DEMO_PASSWORD

    cycle = demo_screening
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.set_viewport_size({"width": 375, "height": 812})
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(live_server.url + "/staff/login/")
    page.fill("input[name=username]", "haidian-officer")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")

    todo = page.locator("section.todo")
    assert todo.locator("h2").inner_text().startswith("等你处理")
    items = todo.locator("li.todo-item")
    kinds = [items.nth(i).get_attribute("data-kind") for i in range(items.count())]
    assert sorted(kinds) == ["merge", "screen"]  # no reviews (a department's), no advancing (the district's)
    screen = todo.locator('li[data-kind="screen"]')
    assert "待筛选的项目" in screen.inner_text() and "已逾期" in screen.inner_text()
    assert screen.locator(".todo-count").inner_text() == str(cycle.projects.count())
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # "API" (of "API 令牌") is the acronym Chinese officers use too; no other Latin word.
    words = [w for w in re.findall(r"[A-Za-z]{2,}", page.evaluate(TEXT_OUTSIDE_CODE)) if w != "API"]
    assert words == [], words[:20]

    shots = DOCS_SCREENSHOTS if os.environ.get("CIVICBUDGET_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "staff-todo-375.png"), full_page=True)
    # The link goes where the work is done.
    screen.locator("a.todo-link").click()
    page.wait_for_url(f"**/staff/cycles/{cycle.pk}/deliberation/")
    assert failed == [], failed
