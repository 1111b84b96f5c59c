"""The statistics page's section on where participants came from, on a phone in Chinese."""

from __future__ import annotations

import re

import pytest

from browser_support import ARTIFACTS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

# What a resident reads: the section's text without the point codes (<code>).
SECTION_TEXT = """() => {
  const copy = document.querySelector('#outreach').cloneNode(true);
  copy.querySelectorAll('code').forEach(e => e.remove());
  return copy.textContent;
}"""


@pytest.fixture
def outreach_cycle(transactional_db):
    from civicbudget.outreach.models import OutreachPoint
    from civicbudget.proposals.models import Proposal

    from factories import CommunityFactory, DistrictFactory, StreetFactory, make_cycle, make_project

    district = DistrictFactory(name="美兰区")
    street = StreetFactory(district=district, name="海甸街道")
    haida = CommunityFactory(street=street, name="海达社区")
    cycle = make_cycle(district, streets=[street], communities=[haida], name="2030 微实事")
    points = [("poster-haida-market", "poster", "海达社区菜市场东门公告栏", 300),
              ("leaflet-door-to-door-haidian-street-2030", "leaflet", "海甸街道各小区入户派发", 1200),
              ("property-manager-wanda-plaza", "property_manager", "万达广场物业服务中心", 0),
              ("official-account", "official_account", "", 0)]
    for code, channel, place, cost in points:
        OutreachPoint.objects.create(cycle=cycle, code=code, channel=channel, place=place, cost_yuan=cost)
    make_project(cycle, haida, name="菜市场路灯", proposals=7)
    ids = list(Proposal.objects.filter(cycle=cycle).values_list("pk", flat=True))
    Proposal.objects.filter(pk__in=ids[:4]).update(source="poster-haida-market")
    Proposal.objects.filter(pk__in=ids[4:6]).update(source="leaflet-door-to-door-haidian-street-2030")
    return district


def test_statistics_section_fits_a_phone_in_chinese(outreach_cycle, live_server, page):
    district = outreach_cycle
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.set_viewport_size({"width": 375, "height": 812})
    failed = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{live_server.url}/districts/{district.pk}/statistics/")
    section = page.locator("#outreach")
    section.scroll_into_view_if_needed()
    assert section.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # four channels and four points, with the poster's figures: 4 proposals, 300 yuan, 75 per participant
    assert section.locator("table.outreach tbody tr").count() == 8
    poster = section.locator("tr", has=page.locator("code", has_text="poster-haida-market"))
    assert [c.strip() for c in poster.locator("td.num").all_inner_texts()] == ["4", "0", "0", "300", "75"]
    assert section.locator("tr.channel").first.inner_text().startswith("海报")
    # The cost per participant is on the screen, not behind a sideways scroll.
    per_participant = poster.locator("td.num").last
    box = per_participant.bounding_box()
    assert per_participant.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert "人均" in per_participant.evaluate("e => getComputedStyle(e, '::before').content")
    words = re.findall(r"[A-Za-z]{2,}", page.evaluate(SECTION_TEXT))
    assert words == ["CSV"], words  # the download link names its format
    assert failed == [], failed
    ARTIFACTS.mkdir(exist_ok=True)
    section.screenshot(path=str(ARTIFACTS / "outreach-statistics-375.png"))
