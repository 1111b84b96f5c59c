"""Issue 18's ballots on a phone (375 x 812, 中文): the theme-division ballot, a street ballot
with stakeholder weights, and the results page of the demo's 2019 theme-division pilot fit the
screen, speak Chinese only and pass axe-core."""

from __future__ import annotations

import datetime as dt

import pytest

from browser_support import ARTIFACTS, assert_accessible, latin_words, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

PHONE = {"width": 375, "height": 812}


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def weighted_division_cycle(transactional_db, settings, tmp_path):
    """A cycle in its vote: a theme division, and stakeholder weight 3 on the street ballot,
    where one project serves 海达 and one 福安."""
    from django.utils import timezone

    from civicbudget.accounts.models import Role
    from civicbudget.deliberation.division import theme_division_set
    from civicbudget.deliberation.services import (
        ballot_freeze,
        ballot_prepare,
        cost_set,
        project_promote,
        screening_criteria,
        screening_record,
        stakeholder_weight_set,
    )
    from civicbudget.proposals.models import Project

    from factories import (
        CommunityFactory,
        DistrictFactory,
        StreetFactory,
        make_cycle,
        make_project,
        staff,
        walk_to,
    )

    settings.DATA_DIR = tmp_path
    district = DistrictFactory(name="美兰区")
    street = StreetFactory(district=district, name="海甸街道")
    haida = CommunityFactory(street=street, name="海达社区")
    fuan = CommunityFactory(street=street, name="福安社区")
    cycle = make_cycle(district, streets=[street], communities=[haida, fuan], street_pool=100_000,
                       name="2030 微实事")
    cycle.config["community_cap_yuan"] = 50_000  # a community project above it goes to the street
    cycle.save(update_fields=["config"])
    admin = staff(Role.DISTRICT_ADMIN, district)
    officer = staff(Role.STREET_OFFICER, street)
    past = timezone.now() - dt.timedelta(days=400)
    theme_division_set(actor=admin, cycle=cycle, themes=["养老助残", "文体活动", "环境卫生"])
    stakeholder_weight_set(actor=admin, cycle=cycle, weight="3")
    walk_to(cycle, admin, "screen", now=past)
    rows = [("海达社区长者食堂扩建及助餐配送服务", haida, 60_000, "养老助残", True),
            ("福安凉亭", fuan, 60_000, "文体活动", True),
            ("3栋楼道灯", haida, 30_000, "环境卫生", False)]
    for name, community, cost, theme, to_street in rows:
        p = make_project(cycle, community, name=name)
        Project.objects.filter(pk=p.pk).update(theme=theme)
        cost_set(actor=officer, project=p, amount_yuan=cost)
        if to_street:
            project_promote(actor=officer, project=p, reason="cost_above_cap", note="")
            p.refresh_from_db()
        screening_record(actor=officer, project=p, results={k: (True, "") for k in screening_criteria(cycle)})
        cost_set(actor=officer, project=p, amount_yuan=cost)
    for place in (street, haida):
        ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle, place=place))
    walk_to(cycle, admin, "vote", now=past)
    return cycle, street, haida


def _sign_in(page, live_server, cycle, street, community, phone):
    from civicbudget.voting.idcard import id_check_char
    from civicbudget.voting.sms import last_message_to

    first17 = "46010819900101123"
    page.goto(f"{live_server.url}/cycles/{cycle.pk}/vote/")
    page.fill("input[name=doc_number]", first17 + id_check_char(first17))
    page.select_option("select[name=community]", label=f"{street.name} · {community.name}")
    page.fill("input[name=phone]", phone)
    page.get_by_role("button", name="给我发送验证码").click()
    page.wait_for_url("**/vote/verify/")
    code = "".join(ch for ch in last_message_to(phone) if ch.isdigit())[:6]
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="继续").click()
    page.wait_for_url("**/vote/ballot/")


def test_division_and_weighted_ballots_fit_a_phone_and_speak_chinese(weighted_division_cycle, live_server, page):
    from playwright.sync_api import expect

    from civicbudget.voting.models import Participation, VotingScope

    cycle, street, haida = weighted_division_cycle
    page.set_viewport_size(PHONE)
    _sign_in(page, live_server, cycle, street, haida, "13800002222")
    division = page.locator(f'[data-scope="division:cycle-{cycle.pk}"]')
    weighted = page.locator(f'[data-scope="street:{street.pk}"]')
    expect(division).to_be_visible()
    # (b) the street ballot says what a 海达 resident's vote is worth and marks 海达's project
    note = weighted.locator(".stakeholder-note")
    expect(note).to_be_visible()
    assert "3 票" in note.inner_text() and "海达社区" in note.inner_text()
    badges = weighted.locator(".badge.stakeholder")
    assert badges.count() == 1 and badges.first.inner_text() == "海达社区 · 一票计 3 票"
    row = weighted.locator("tr").filter(has=page.locator(".badge.stakeholder"))
    assert "长者食堂" in row.inner_text()
    assert "福安凉亭" in weighted.inner_text()
    box = badges.first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # (a) a theme's name reads on one line, not one character a line beside a wide gap
    for theme in ("养老助残", "文体活动", "环境卫生"):
        label = division.locator("label", has_text=theme).bounding_box()
        assert label is not None and label["height"] < 2 * 16, (theme, label)
    # the whole ballot page: no sideways scroll, no English, accessible
    page.screenshot(path=str(ARTIFACTS / "issue18-ballots-375.png"), full_page=True)
    assert _fits(page), "the ballot page scrolls sideways at 375 px"
    assert latin_words(page) == []
    assert_accessible(page)
    # the running total follows what is typed; under 100 the page says so in Chinese
    total = division.locator(".division-live .total")
    short = division.locator(".division-live .short")
    button = division.get_by_role("button", name="投出这张选票")
    expect(total).to_have_text("0")
    division.get_by_label("养老助残").fill("50")
    division.get_by_label("文体活动").fill("30")
    expect(total).to_have_text("80")
    expect(short).to_be_visible()
    assert short.inner_text() == "合计必须正好是 100%。"
    expect(button).to_be_disabled()
    assert _fits(page)
    # without the script (the server's own check): a Chinese error, nothing recorded
    page.evaluate("form => form.submit()", division.locator("form").element_handle())
    page.wait_for_load_state()
    division = page.locator(f'[data-scope="division:cycle-{cycle.pk}"]')
    error = division.locator("p.field-error")
    expect(error).to_be_visible()
    assert "100" in error.inner_text() and not any(c.isascii() and c.isalpha() for c in error.inner_text())
    scope = VotingScope.objects.get(cycle=cycle, key=f"division:cycle-{cycle.pk}")
    assert not Participation.objects.filter(scope=scope).exists()
    assert _fits(page) and latin_words(page) == []
    page.screenshot(path=str(ARTIFACTS / "issue18-division-error-375.png"), full_page=True)
    # exactly 100: the button comes back and the ballot is cast
    division.get_by_label("养老助残").fill("50")
    division.get_by_label("文体活动").fill("30")
    division.get_by_label("环境卫生").fill("20")
    expect(division.locator(".division-live .total")).to_have_text("100")
    expect(division.locator(".division-live .short")).to_be_hidden()
    division.get_by_role("button", name="投出这张选票").click()
    expect(page.locator("h1")).to_have_text("投票成功")
    assert Participation.objects.filter(scope=scope).count() == 1
    assert _fits(page)


@pytest.fixture
def pilot(transactional_db, settings, tmp_path):
    from civicbudget.accounts.models import Role
    from civicbudget.demo.fairness_data import load_demo_division

    from factories import CommunityFactory, DistrictFactory, StreetFactory, operator, staff

    settings.DATA_DIR = tmp_path
    district = DistrictFactory(name="美兰区")
    street = StreetFactory(district=district, name="海甸街道")
    CommunityFactory(street=street, name="海达社区")
    return load_demo_division(operator=operator(), officer=staff(Role.STREET_OFFICER, street),
                              district=district, street=street, voters=60)


def test_the_theme_division_pilots_results_fit_a_phone(pilot, live_server, page):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/cycles/{pilot.pk}/results/")
    assert "养老助残" in page.content() and "独立市场" in page.content()
    page.screenshot(path=str(ARTIFACTS / "issue18-pilot-results-375.png"), full_page=True)
    # the shares keep their column heads (share, amount in yuan) and each theme on one line
    shares = page.locator("table.division-shares")
    assert shares.locator("thead").is_visible() and "金额" in shares.locator("thead").inner_text()
    for cell in shares.locator("tbody td:first-child").all():
        assert cell.bounding_box()["height"] < 2 * 16 + 12, cell.inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    assert latin_words(page) == []
    assert_accessible(page)
