"""The public project page tells a resident whether the project is on a ballot, what it costs,
how screening went and why, how the vote went, and how its delivery is going, in Chinese."""

from __future__ import annotations

from django.test import Client

from civicbudget.deliberation.models import Ballot, BallotItem, ProjectCost, Screening
from civicbudget.voting import services as voting
from civicbudget.voting.selectors import result_tables

from factories import build_after, make_cycle, make_project, run_stage

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def _page(project) -> str:
    response = Client().get(f"/projects/{project.pk}/", **ZH)
    assert response.status_code == 200
    return response.content.decode()


def test_after_the_count_a_winner_shows_its_votes_cost_and_screening(world, settings, tmp_path):
    ctx = build_after(world, settings, tmp_path, until="publish")
    winner = ctx.projects["P1"]
    Screening.objects.create(project=winner, cycle=ctx.cycle, is_passed=True)
    html = _page(winner)
    # The same figures as the results table.
    [table] = result_tables(ctx.cycle)
    row = next(r for r in table["rows"] if r["project_id"] == winner.pk)
    assert row["votes"] == 3 and row["won"]
    assert "已列入海达社区的选票" in html
    assert "120,000 元" in html
    assert "已通过筛选" in html
    assert "入选" in html and "得票3张（占选票的75.0%）" in html
    assert row["why"] in html
    assert "去投票" not in html  # the vote is over


def test_a_loser_shows_why_it_lost(world, settings, tmp_path):
    ctx = build_after(world, settings, tmp_path, until="publish")
    html = _page(ctx.projects["P4"])
    [table] = result_tables(ctx.cycle)
    row = next(r for r in table["rows"] if r["project_id"] == ctx.projects["P4"].pk)
    assert not row["won"] and row["votes"] == 0
    assert "未入选" in html and "得票0张" in html and "100,000 元" in html
    assert row["why"] in html


def test_a_screened_out_project_gives_the_reason_and_is_on_no_ballot(world, settings, tmp_path):
    ctx = build_after(world, settings, tmp_path, until="publish")
    html = _page(ctx.projects["P5"])
    assert "未通过筛选" in html
    assert "原因：无私人受益：只惠及个别住户" in html  # the criterion in Chinese, then the reason
    assert "未列入选票" in html
    assert "投票结果" not in html
    html = _page(ctx.projects["P6"])
    assert "未列入选票" in html and "尚未筛选" in html
    assert "费用尚未核定" in html


def test_while_voting_is_open_the_page_leads_to_the_vote(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    project = make_project(cycle, world.haida, name="长者食堂")
    ProjectCost.objects.create(project=project, cycle=cycle, amount_yuan=88_000)
    run_stage(cycle, "screen")
    ballot = Ballot.objects.create(cycle=cycle, level="community", street=world.haidian,
                                   community=world.haida, rule="approval", budget_yuan=300_000)
    BallotItem.objects.create(ballot=ballot, project=project, cost_yuan=90_000, position=1)
    html = _page(project)
    assert "费用尚未核定" not in html and "88,000 元" in html  # the cost set, before the ballot
    from django.utils import timezone

    Ballot.objects.filter(pk=ballot.pk).update(frozen_at=timezone.now())
    html = _page(project)
    assert "已列入海达社区的选票，投票尚未开始" in html
    assert "90,000 元" in html  # the ballot's cost, once frozen
    assert f'href="/ballots/{ballot.pk}/"' in html
    run_stage(cycle, "vote")
    key = f"community:{world.haida.pk}"
    voting.scope_open(cycle=cycle, key=key, title="海达社区", community=world.haida, spec={
        "scope": key, "vote_type": "approval", "budget": "300000",
        "projects": [{"id": str(project.pk), "cost": "90000", "name": project.name}],
        "rule": {"rule": "greedy"}, "min_length": 1, "max_length": None})
    html = _page(project)
    assert "已列入海达社区的选票" in html
    assert f'href="/cycles/{cycle.pk}/vote/"' in html and "去投票" in html


def test_in_implementation_and_rated(world, settings, tmp_path):
    from civicbudget.delivery.models import Implementation, Rating

    ctx = build_after(world, settings, tmp_path, until="implement")
    impl = Implementation.objects.get(project=ctx.projects["P1"])
    html = _page(ctx.projects["P1"])
    assert f"应于 {impl.due_on:%Y-%m-%d} 前完成" in html
    assert f'href="/projects/{ctx.projects["P1"].pk}/progress/"' in html
    Implementation.objects.filter(pk=impl.pk).update(step="done")
    for i, score in enumerate([5, 4]):
        Rating.objects.create(implementation=impl, phone_hash=f"h{i}", score=score)
    html = _page(ctx.projects["P1"])
    assert "已完工" in html and "4.5分（满分5分），共2人评分" in html


def test_the_project_facts_have_no_english_words(world, settings, tmp_path):
    """No English words leak into the facts of a screened-out project (criterion labels)."""
    ctx = build_after(world, settings, tmp_path, until="publish")
    html = _page(ctx.projects["P5"])
    facts = html.split('aria-labelledby="facts-heading">')[1].split("</section>")[0]
    import re

    text = re.sub(r"<[^>]+>", " ", facts)
    assert not re.search(r"[A-Za-z]{3,}", text), text

