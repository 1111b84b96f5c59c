"""Every public page fits a phone: no sideways scrolling and at most 15 screens at 375x812 in
Chinese, and no sideways scrolling on a 1280x800 desktop in English.

The demo district (a counted 2017 cycle with its fifteen ballots, 2018 in its vote) at a small
proposal scale, plus what makes pages long in a real district: a project gathering 200
proposals and 400 more screened projects in the 2018 deliberation (bulk-created).
"""

from __future__ import annotations

import datetime as dt

import pytest

from browser_support import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
MAX_SCREENS = 15


@pytest.fixture
def district(transactional_db, settings, tmp_path):
    from django.utils import timezone

    from civicbudget.cycles.models import Cycle
    from civicbudget.deliberation.models import Screening
    from civicbudget.demo.data import load_demo
    from civicbudget.identity import keyed_hash
    from civicbudget.proposals.models import Project, Proposal
    from civicbudget.voting.models import LogEntry

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    load_demo(proposal_scale=0.02)
    done, voting = Cycle.objects.get(year=2017, template_key="meilan_full_pb"), Cycle.objects.get(year=2018)
    community = voting.communities.select_related("street").order_by("pk").first()
    big = Project.objects.create(cycle=voting, street=community.street, community=community,
                                 name="椰林小区安装监控", level=Project.Level.COMMUNITY)
    when = timezone.now() - dt.timedelta(days=300)
    phone_hash = keyed_hash("13900001111", "phone")
    Proposal.objects.bulk_create([
        Proposal(cycle=voting, street=community.street, community=community, project=big,
                 tracking_code=f"LONG{i:04d}", title="小区装监控", text=f"椰林小区出入口没有监控，治安差（第{i}条）",
                 proposer_name="居民", proposer_phone="13900001111", phone_hash=phone_hash,
                 channel="paper", submitted_at=when + dt.timedelta(minutes=i))
        for i in range(200)])
    communities = list(voting.communities.select_related("street"))
    extra = Project.objects.bulk_create([
        Project(cycle=voting, street=c.street, community=c, name=f"{c.name}第{i}号微实事项目",
                level=Project.Level.COMMUNITY)
        for i in range(400) for c in [communities[i % len(communities)]]])
    Screening.objects.bulk_create([
        Screening(project=p, cycle=voting, is_passed=i % 3 != 0,
                  reason_code="" if i % 3 else "feasible", reason="" if i % 3 else "场地不足，无法实施")
        for i, p in enumerate(extra)])
    receipt = LogEntry.objects.filter(log__cycle=done).values_list("leaf", flat=True).first()
    return done, voting, big, receipt


def _measure(page) -> tuple[int, int]:
    return tuple(page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"))


def _check(page, name: str, viewport: dict, problems: list[str], *, length: bool) -> None:
    width, height = _measure(page)
    if width > viewport["width"]:
        problems.append(f"{name}: {width} px wide at {viewport['width']} px")
    if length and height > MAX_SCREENS * viewport["height"]:
        problems.append(f"{name}: {height / viewport['height']:.1f} screens long")


def _public_pages(done, voting, big, receipt) -> list[tuple[str, str]]:
    from civicbudget.delivery.models import Implementation

    built = Implementation.objects.filter(cycle=done).values_list("project_id", flat=True).first()
    tracked = big.proposals.values_list("tracking_code", flat=True).first()
    return [
        ("home", "/"), ("district", f"/districts/{done.district_id}/"),
        ("finished cycle", f"/cycles/{done.pk}/"), ("voting cycle", f"/cycles/{voting.pk}/"),
        ("proposal form", f"/cycles/{voting.pk}/propose/"), ("tracking", f"/track/{tracked}/"),
        ("deliberation 2017", f"/cycles/{done.pk}/deliberation/"),
        ("deliberation 2018", f"/cycles/{voting.pk}/deliberation/"),
        ("deliberation 2018, screened out, page 2",
         f"/cycles/{voting.pk}/deliberation/?outcome=failed&page=2"),
        ("projects", f"/cycles/{voting.pk}/projects/"),
        ("project with 200 proposals", f"/projects/{big.pk}/"),
        ("its last page of proposals", f"/projects/{big.pk}/?page=10"),
        ("vote", f"/cycles/{voting.pk}/vote/"),
        ("receipt", f"/cycles/{done.pk}/receipts/{receipt}/"),
        ("results 2017", f"/cycles/{done.pk}/results/"), ("results 2018", f"/cycles/{voting.pk}/results/"),
        ("publication", f"/cycles/{done.pk}/publication/"),
        ("progress", f"/cycles/{done.pk}/progress/"), ("project progress", f"/projects/{built}/progress/"),
        ("statistics", f"/districts/{done.district_id}/statistics/"),
        ("open data", f"/cycles/{done.pk}/open-data/"),
    ]


def _vote(page, base: str, voting, phone: str, problems: list[str], viewport: dict, *, length: bool):
    """The voter's steps: identify, the code, the ballots, one cast with its receipt."""
    from civicbudget.voting.idcard import id_check_char
    from civicbudget.voting.sms import last_message_to

    first17 = f"4601081990010{phone[-4:]}"
    page.goto(f"{base}/cycles/{voting.pk}/vote/")
    page.fill("input[name=doc_number]", first17 + id_check_char(first17))
    page.select_option("select[name=community]", index=1)
    page.fill("input[name=phone]", phone)
    page.locator("form.vote-start button[type=submit]").click()
    page.wait_for_url("**/vote/verify/")
    page.fill("input[name=code]", "".join(ch for ch in last_message_to(phone) if ch.isdigit())[:6])
    page.locator("form:has(input[name=code]) button[type=submit]").click()
    page.wait_for_url("**/vote/ballot/")
    _check(page, "ballots", viewport, problems, length=length)
    form = page.locator("form[data-ballot]").first
    form.locator("input[type=checkbox]").first.check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".receipt-code").count() == 1
    _check(page, "ballot cast, with its receipt", viewport, problems, length=length)


def test_every_public_page_fits_a_phone_and_a_desktop(district, live_server, page):
    done, voting, big, receipt = district
    pages = _public_pages(done, voting, big, receipt)
    problems: list[str] = []
    for lang, viewport, length, phone in (("zh-hans", PHONE, True, "13800005551"),
                                          ("en", DESKTOP, False, "13800005552")):
        page.context.clear_cookies()
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        page.set_viewport_size(viewport)
        for name, url in pages:
            response = page.goto(live_server.url + url)
            assert response.status == 200, (name, url, response.status)
            _check(page, name, viewport, problems, length=length)
        # Opened, the receipt's proof does not widen the page either.
        page.goto(f"{live_server.url}/cycles/{done.pk}/receipts/{receipt}/")
        page.locator("details summary").first.click()
        _check(page, "receipt with its proof open", viewport, problems, length=length)
        _vote(page, live_server.url, voting, phone, problems, viewport, length=length)
    assert problems == [], problems


def test_long_lists_are_paged_or_folded_yet_every_item_stays_reachable(district, live_server, page):
    from civicbudget.voting.selectors import result_tables

    done, voting, big, _receipt = district
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.set_viewport_size(PHONE)
    # A project's 200 proposals: a page at a time, every page reachable from the pager.
    page.goto(f"{live_server.url}/projects/{big.pk}/")
    assert page.locator(".proposal-count").inner_text() == "200"
    seen = []
    while True:
        seen += page.locator("ol.source-proposals li").all_inner_texts()
        following = page.locator("nav.pager a[rel=next]")
        if not following.count():
            break
        following.click()
        page.wait_for_load_state()
    assert len(seen) == 200 and len({s.split("（第")[1] for s in seen}) == 200
    # The deliberation: filters survive the pager; every screened-out project is listed once.
    page.goto(f"{live_server.url}/cycles/{voting.pk}/deliberation/")
    page.select_option("select[name=outcome]", "failed")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_load_state()
    names: list[int] = []
    while True:
        names += [int(a.get_attribute("href").strip("/").split("/")[-1])
                  for a in page.locator("table.deliberation tbody tr td:first-child a").all()]
        assert page.locator("select[name=outcome]").input_value() == "failed"
        following = page.locator("nav.pager a[rel=next]")
        if not following.count():
            break
        following.click()
        page.wait_for_load_state()
    failed = set(voting.projects.filter(is_active=True, screening__is_passed=False).values_list("pk", flat=True))
    assert len(names) == len(set(names)) and set(names) == failed and len(failed) >= 134
    # The results: each ballot folds beyond its top rows; opened, every project is there.
    page.goto(f"{live_server.url}/cycles/{done.pk}/results/")
    folds = page.locator("details.more-rows")
    assert folds.count() > 0
    hidden = page.locator("details.more-rows table.ranked tbody tr").first
    assert not hidden.is_visible()
    for i in range(folds.count()):
        folds.nth(i).locator("summary").click()
    assert hidden.is_visible()
    expected = sum(len(t["rows"]) for t in result_tables(done))
    assert page.locator("table.ranked tbody tr:visible").count() == expected
    # The statistics' charts keep readable text on a phone: no label under 12 px, none
    # overlapping the next line.
    page.goto(f"{live_server.url}/districts/{done.district_id}/statistics/")
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll('svg.chart text'))
        .map(t => t.getBoundingClientRect().height)""")
    assert sizes and min(sizes) >= 12
    overlaps = page.evaluate("""() => {
        let n = 0;
        for (const svg of document.querySelectorAll('svg.chart')) {
          const boxes = Array.from(svg.querySelectorAll('text')).map(t => t.getBoundingClientRect());
          for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i], b = boxes[j];
            if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) n++;
          }
        }
        return n;
      }""")
    assert overlaps == 0
