"""A resident's and an officer's whole journeys in a real browser, on a phone in Chinese and on a
desktop in English: every page they meet must fit its width, speak Chinese to a Chinese reader,
load without a failed request and pass axe-core without a serious violation. The proposal form
and the ballot are completed with the keyboard alone.

With CIVICBUDGET_SCREENSHOTS=1 each page is also saved to docs/screenshots/ (the README's
gallery); otherwise the test writes nothing into the checkout."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from browser_support import accessibility_violations, latin_words, needs_chromium, sideways_overflow

pytestmark = [pytest.mark.browser, needs_chromium]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEMO_PASSWORD = "meilan-demo-2018"

# A journey per form factor: a resident on a phone reads Chinese, an officer at a desk English.
SIZES = [("375", 375, 812, "zh-hans"), ("desktop", 1280, 800, "en")]


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """The demo district (2017 finished, 2018 voting) and ``new_cycle()``: a cycle of 海达社区
    collecting proposals (one per journey, since a journey ends its collection)."""
    from civicbudget.accounts.models import Role
    from civicbudget.cycles.models import Cycle
    from civicbudget.cycles.services import stage_advance
    from civicbudget.demo.data import load_demo
    from civicbudget.places.models import Community, District

    from factories import make_cycle, staff

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    load_demo(proposal_scale=0.02)
    district = District.objects.get()
    haida = Community.objects.get(name="海达社区")
    admin = staff(Role.DISTRICT_ADMIN, district)

    def new_cycle():
        import datetime as dt

        year = 2030 + Cycle.objects.filter(year__gte=2030).count()
        collecting = make_cycle(district, streets=[haida.street], communities=[haida],
                                name=f"{year} 楼道微实事", starts_on=dt.date(year, 1, 1))
        stage_advance(actor=admin, cycle=collecting)
        stage_advance(actor=admin, cycle=collecting, reason="开始征集")
        return collecting

    return new_cycle, admin


@dataclass
class Walk:
    """One browser journey: visits pages, runs every check on each, keeps what failed."""

    page: object
    base: str
    size: str
    language: str
    shots: Path | None
    failed_requests: list[str]
    problems: list[str] = field(default_factory=list)

    def goto(self, name: str, path: str) -> None:
        self.page.goto(self.base + path)
        self.check(name)

    def check(self, name: str) -> None:
        """Every check on the page as it is now; ``name`` also names its screenshot."""
        page = self.page
        page.wait_for_load_state()
        where = f"[{self.size} {self.language}] {name} {page.url.removeprefix(self.base)}"
        if (extra := sideways_overflow(page)) > 0:
            self.problems.append(f"{where}: scrolls sideways by {extra}px")
        if self.language == "zh-hans" and (words := latin_words(page)):
            self.problems.append(f"{where}: English in the Chinese interface: {sorted(set(words))[:15]}")
        self.problems += [f"{where}: {v}" for v in accessibility_violations(page)]
        if self.failed_requests:
            self.problems.append(f"{where}: requests failed: {self.failed_requests}")
            self.failed_requests.clear()
        if self.shots is not None:
            _screenshot(page, self.shots / f"{name}-{self.size}.png", full_page=self.size == "375")


def _screenshot(page, path: Path, *, full_page: bool) -> None:
    # A 256-colour PNG: the pages are flat colours and text, a tenth of the bytes of the raw one.
    from PIL import Image

    raw = Image.open(io.BytesIO(page.screenshot(full_page=full_page)))
    raw.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus, and check that the
    focus shows (an outline or a ring) on the way."""
    target = page.locator(selector).first.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("t => document.activeElement === t", target):
            shown = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
                return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'; }""")
            assert shown, f"no visible focus on {selector}"
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def _resident(walk: Walk, collecting, seed: int) -> None:
    from civicbudget.cycles.models import Cycle
    from civicbudget.places.models import District
    from civicbudget.voting import logstore
    from civicbudget.voting.idcard import id_check_char
    from civicbudget.voting.sms import last_message_to

    page = walk.page
    finished = Cycle.objects.get(year=2017, template_key="meilan_full_pb")
    voting = Cycle.objects.get(year=2018)
    walk.goto("home", "/")
    walk.goto("cycle", f"/cycles/{voting.pk}/")

    # Propose with the keyboard alone.
    walk.goto("propose", f"/cycles/{collecting.pk}/propose/")
    tab_to(page, "#id_community")
    page.keyboard.press("ArrowDown")  # the first community
    tab_to(page, "#id_text")
    page.keyboard.type("海达小区3栋楼道太黑，希望装声控灯")
    tab_to(page, "#id_proposer_name")
    page.keyboard.type("王秀英")
    tab_to(page, "#id_phone")
    page.keyboard.type(f"1380013{seed:04d}")
    tab_to(page, ".proposal-form button[type=submit]:not([name])")
    page.keyboard.press("Enter")
    page.wait_for_url("**/track/*/")
    code = page.locator("strong.tracking-code").inner_text().strip()
    walk.check("track")
    # Follow it later with the tracking code.
    walk.goto("track-lookup", "/track/")
    page.fill("#code", code)
    page.locator("main form button").click()
    page.wait_for_url(f"**/track/{code}/")

    # Vote: identify, the SMS code, then both ballots (street and community) by keyboard.
    walk.goto("vote", f"/cycles/{voting.pk}/vote/")
    first17 = f"46010819{80 + seed % 10}0101{seed:03d}"[:17]
    phone = f"1390000{seed:04d}"
    page.fill("#doc_number", first17 + id_check_char(first17))
    page.select_option("#community", label="海甸街道 · 海达社区")
    page.fill("#phone", phone)
    page.locator("form.vote-start button[type=submit]").click()
    page.wait_for_url("**/vote/verify/")
    walk.check("vote-code")
    page.fill("#code", "".join(ch for ch in last_message_to(phone) if ch.isdigit())[:6])
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/vote/ballot/")
    walk.check("ballot")
    receipts = []
    for round_ in range(2):
        ballot = page.locator("form[data-ballot]").first
        assert ballot.count(), f"no open ballot in round {round_ + 1}"
        scope = ballot.locator("input[name=scope]").get_attribute("value")
        form = f"form[data-ballot]:has(input[name=scope][value='{scope}'])"
        tab_to(page, f"{form} input[name=projects]")
        page.keyboard.press("Space")
        tab_to(page, f"{form} button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector(".receipt-code")
        receipts.append(page.locator(".receipt-code").inner_text().strip())
        walk.check("cast" if round_ == 0 else "cast-last")
        if round_ == 0:
            page.locator("main a.button.next-ballot").click()  # on to the second
            page.wait_for_url("**/vote/ballot/?next=*")
            page.wait_for_selector("form[data-ballot]", timeout=10_000)
    # Both ballots are cast: no third to go on to, two different receipts.
    assert page.locator("main a.button.next-ballot").count() == 0
    assert len(set(receipts)) == 2 and all(len(r) == 64 for r in receipts)
    logstore.batch_flush(voting.pk, force=True)
    walk.goto("receipt", f"/cycles/{voting.pk}/receipts/{receipts[0]}/")

    district = District.objects.get()
    walk.goto("results", f"/cycles/{finished.pk}/results/")
    walk.goto("progress", f"/cycles/{finished.pk}/progress/")
    walk.goto("statistics", f"/districts/{district.pk}/statistics/")


def _officer(walk: Walk, collecting, admin) -> None:
    from civicbudget.cycles.models import Cycle
    from civicbudget.proposals.models import Project

    from factories import advance_to

    page = walk.page
    finished = Cycle.objects.get(year=2017, template_key="meilan_full_pb")
    voting = Cycle.objects.get(year=2018)

    def login(username: str) -> None:
        page.context.clear_cookies()
        page.context.add_cookies([{"name": "django_language", "value": walk.language, "url": walk.base}])
        walk.goto("staff-login", "/staff/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/staff/")

    login("haidian-officer")
    walk.check("staff-home")
    advance_to(collecting, "screen", admin)
    # The resident's proposal waits loose in the workbench: the officer makes it a project,
    # then screens the project.
    walk.goto("workbench", f"/staff/cycles/{collecting.pk}/workbench/")
    loose = page.locator("form:has(ul.loose)")
    loose.locator("ul.loose input[name=proposals]").first.check()
    loose.locator("input[name=name]").fill("海达小区3栋楼道照明")
    loose.locator("button[value=group]").click()
    page.wait_for_load_state()
    project = Project.objects.get(cycle=collecting)
    assert project.proposals.count() == 1
    walk.goto("screening", f"/staff/deliberation/projects/{project.pk}/")
    for radio in page.locator("form.screening input[type=radio][value='1']").all():
        radio.check()
    page.locator("form.screening button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("span.badge.done").count() == 1  # passed
    walk.goto("replies", f"/staff/cycles/{finished.pk}/replies/")
    login("haidian-polling")
    walk.goto("paper-desk", f"/staff/cycles/{voting.pk}/polling/")


def test_resident_and_officer_journeys_on_a_phone_and_a_desktop(demo, live_server, page):
    new_cycle, admin = demo
    shots = DOCS_SCREENSHOTS if os.environ.get("CIVICBUDGET_SCREENSHOTS") == "1" else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    problems = []
    for seed, (size, width, height, language) in enumerate(SIZES, start=1):
        page.context.clear_cookies()
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        page.set_viewport_size({"width": width, "height": height})
        walk = Walk(page, live_server.url, size, language, shots, failed)
        collecting = new_cycle()
        _resident(walk, collecting, seed)
        _officer(walk, collecting, admin)
        problems += walk.problems
    assert not problems, "\n".join(problems)
