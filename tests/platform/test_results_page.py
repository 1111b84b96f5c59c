"""The public results page, the cycle cards' figures and the times residents read.

Every project of a counted ballot is named with its votes, its result and why; the cards and
the statistics table take their project counts from one selector; stage windows and tracking
times are in local time.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from civicbudget.opendata.selectors import cycle_figures, project_counts
from civicbudget.proposals.models import Proposal

from factories import Role, build_after, make_cycle, staff, walk_to


@pytest.fixture
def after(world, settings, tmp_path):
    return build_after(world, settings, tmp_path)


def _rows(html: str) -> dict[str, str]:
    """The rows of the ranked table, keyed by project id."""
    return dict(re.findall(r'<tr class="(?:won|lost)" data-project="(\d+)">(.*?)</tr>', html, re.S))


def test_results_page_names_every_project_with_votes_result_and_why(after, client):
    html = client.get(f"/cycles/{after.cycle.pk}/results/").content.decode()
    rows = _rows(html)
    p = after.projects
    # Every project of the ballot is there, winners and losers, ranked by votes.
    assert set(rows) == {str(p[k].pk) for k in ("P1", "P2", "P3", "P4")}
    assert list(rows) == [str(p[k].pk) for k in ("P1", "P3", "P2", "P4")]
    expected = {"P1": (3, "75.0%", "120,000", "入选", "得票第1，预算够用，入选"),
                "P3": (2, "50.0%", "90,000", "入选", "得票第2，预算够用，入选"),
                "P2": (1, "25.0%", "200,000", "落选", "得票第3，剩余预算不足（还剩9万元，需要20万元），落选"),
                "P4": (0, "0.0%", "100,000", "落选", "得票第4，剩余预算不足（还剩9万元，需要10万元），落选")}
    for key, (votes, share, cost, badge, why) in expected.items():
        row = rows[str(p[key].pk)]
        assert f'href="/projects/{p[key].pk}/"' in row and p[key].name in row
        assert re.search(rf'class="num votes"[^>]*>{votes} <span class="muted">\({re.escape(share)}\)', row), key
        assert f'>{cost}<span class="unit">元</span></td>' in row
        assert f'class="badge {"done" if badge == "入选" else "lost"}">{badge}</span>' in row
        assert why in row, (key, row)
    # The bar is the share of the votes; the budget used against the ballot's budget.
    assert 'style="width:75.0%"' in rows[str(p["P1"].pk)]
    assert "已用预算：210,000元，共300,000元" in html
    # The rule in a sentence; its code, the hash and the verify command folded away.
    assert "按得票从高到低入选，直到预算用完；放不下的项目跳过。" in html
    details = html[html.index('<details class="technical">'):html.index("</details>")]
    assert "技术细节（供核验）" in details and after.scope.result.input_hash in details
    assert "<code>greedy</code>" in details and "<code>civicbudget ledger verify DIR</code>" in details
    assert "greedy" not in html.replace(details, "")


def test_results_page_in_english_explains_in_words(after, client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(f"/cycles/{after.cycle.pk}/results/").content.decode()
    row = _rows(html)[str(after.projects["P2"].pk)]
    assert "ranked 3 by votes, not enough budget left (90,000 yuan left, 200,000 yuan needed): not selected" in row


def test_cards_and_statistics_count_projects_from_one_selector(after, world, client):
    counts = project_counts(after.cycle)
    assert counts == {"on_ballot": 4, "counted": True, "selected": 2, "implemented": 0}
    assert cycle_figures(after.cycle)["projects"] == counts["selected"]
    html = client.get(f"/districts/{world.district.pk}/").content.decode()
    assert "4个项目参加投票" in html and "2个入选" in html
    # A cycle still voting says so, and claims no selected or implemented projects.
    voting = make_cycle(world.district, streets=[world.renmin], communities=[world.baisha],
                        starts_on=dt.date(2031, 1, 1), name="2031 投票中")
    walk_to(voting, after.admin, "vote")
    assert project_counts(voting)["selected"] == 0 == cycle_figures(voting)["projects"]
    card = client.get(f"/districts/{world.district.pk}/").content.decode().split("2031 投票中")[1]
    card = card[:card.index("</div>")]
    assert "入选" not in card and "已完工" not in card


def test_stage_windows_show_local_dates_and_hours_and_never_a_reversed_range(world, client):
    from civicbudget.cycles.services import stage_reschedule

    admin = staff(Role.DISTRICT_ADMIN, world.district)
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       starts_on=dt.date(2030, 1, 1))
    # 01:00 UTC is 09:00 in Haikou (settings.TIME_ZONE), long after the vote's planned close.
    late = dt.datetime(2031, 5, 21, 1, 0, tzinfo=dt.UTC)
    walk_to(cycle, admin, "vote", now=late)
    vote = cycle.stages.get(kind="vote")
    assert vote.closes_at < vote.started_at
    html = client.get(f"/cycles/{cycle.pk}/").content.decode()
    assert '<div class="when">5月21日 09:00起</div>' in html
    # Given a new close (10:00 UTC is 18:00 local), the window is a real range.
    stage_reschedule(actor=admin, stage=vote, opens_at=late,
                     closes_at=dt.datetime(2031, 5, 27, 10, 0, tzinfo=dt.UTC))
    html = client.get(f"/cycles/{cycle.pk}/").content.decode()
    assert '<div class="when">5月21日 09:00 – 5月27日 18:00</div>' in html
    # A stage crossing a new year names the years.
    from types import SimpleNamespace

    from django.utils import translation

    from civicbudget.web.templatetags.civic import stage_window

    crossing = SimpleNamespace(started_at=dt.datetime(2031, 12, 20, 1, 0, tzinfo=dt.UTC), finished_at=None,
                               opens_at=None, closes_at=dt.datetime(2032, 1, 10, 10, 0, tzinfo=dt.UTC))
    with translation.override("zh-hans"):
        assert stage_window(crossing) == "2031年12月20日 09:00 – 2032年1月10日 18:00"
    with translation.override("en"):
        assert stage_window(crossing) == "20 Dec 2031 09:00 – 10 Jan 2032 18:00"


def test_tracking_page_shows_the_submission_in_local_time(world, client):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    proposal = Proposal.objects.create(cycle=cycle, street=world.haidian, community=world.haida,
                                       tracking_code="TIME0001", title="路灯", text="修路灯",
                                       proposer_name="张三", proposer_phone="13900003333", channel="online")
    Proposal.objects.filter(pk=proposal.pk).update(submitted_at=dt.datetime(2030, 3, 2, 23, 30, tzinfo=dt.UTC))
    html = Client().get("/track/TIME0001/").content.decode()
    assert "2030-03-03 07:30" in html and "2030-03-02 23:30" not in html
