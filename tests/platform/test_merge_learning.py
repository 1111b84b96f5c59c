"""The merge workbench learns from officers: what they grouped, split off or called "not the
same" shapes later suggestions of the cycle, undo takes it back, and every suggestion says why."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone, translation

from civicbudget.accounts.models import Role
from civicbudget.proposals import selectors
from civicbudget.proposals.models import MatchDecision, MergeOperation, Project
from civicbudget.textmatch import SuggestedGroup

from factories import advance_to, loose_proposals, make_cycle, staff, workbench_do

LATER = timezone.now() + dt.timedelta(days=3650)
LIGHTS_3 = ["海达小区3栋楼道灯坏了", "3栋楼道太黑，希望装声控灯", "海达小区3栋楼道灯不亮了",
            "海达3栋楼道的灯坏了好久"]
LIGHTS_7 = ["海达小区7栋楼道灯坏了", "7栋楼梯间没有灯"]


def _screening(world):
    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    return advance_to(cycle, "screen", staff(Role.DISTRICT_ADMIN, world.district), start=LATER)


@pytest.fixture
def screening(world):
    return _screening(world)


@pytest.fixture
def officer(world, staff_client):
    return staff_client(staff(Role.COMMUNITY_OFFICER, world.haida))


_loose = loose_proposals


_do = workbench_do


def _page(client, cycle, world) -> str:
    response = client.get(f"/staff/cycles/{cycle.pk}/workbench/?community={world.haida.pk}")
    assert response.status_code == 200
    return response.content.decode()


def _shape(cycle, world) -> list[tuple]:
    """The suggestions as data: target, loose ids, member ids, reasons."""
    return [(s.target.pk if s.target else None, sorted(p.pk for p in s.proposals),
             sorted(p.pk for p in s.members), s.reasons)
            for s in selectors.merge_suggestions(cycle, community_id=world.haida.pk)]


def _suggestion_forms(html: str) -> list[str]:
    return re.findall(r'<form [^>]*class="card suggestion">.*?</form>', html, re.S)


def test_a_new_proposal_like_a_project_is_suggested_into_it(screening, world, officer):
    a, b = _loose(screening, world, LIGHTS_3[:2])
    _do(officer, screening, world, action="group", name="3栋楼道灯", proposals=[a.pk, b.pk])
    project = Project.objects.get()
    [c] = _loose(screening, world, LIGHTS_3[2:3])

    [s] = selectors.merge_suggestions(screening, community_id=world.haida.pk)
    assert (s.target, s.proposals, sorted(m.pk for m in s.members)) == (project, [c], [a.pk, b.pk])
    # One click: the form carries the project and offers the move.
    [form] = _suggestion_forms(_page(officer, screening, world))
    assert f'name="project" value="{project.pk}"' in form
    assert 'name="action" value="move"' in form and "移入“3栋楼道灯”" in form
    assert "已并入项目“3栋楼道灯”" in form
    _do(officer, screening, world, action="move", project=project.pk, proposals=[c.pk])
    c.refresh_from_db()
    assert c.project == project
    assert selectors.merge_suggestions(screening, community_id=world.haida.pk) == []


def test_a_split_keeps_apart_and_undo_takes_it_back(screening, world, officer):
    a, b, c = _loose(screening, world, LIGHTS_3[:3])
    _do(officer, screening, world, action="group", name="3栋楼道灯", proposals=[a.pk, b.pk, c.pk])
    project = Project.objects.get()
    [d] = _loose(screening, world, LIGHTS_3[3:])
    before = _shape(screening, world)
    assert [(t, loose) for t, loose, *_ in before] == [(project.pk, [d.pk])]

    _do(officer, screening, world, action="split", proposals=[c.pk])
    c.refresh_from_db()
    assert c.project_id is None
    assert {(m.proposal_a_id, m.proposal_b_id) for m in MatchDecision.objects.all()} == {
        (min(c.pk, x), max(c.pk, x)) for x in (a.pk, b.pk)}
    # Without the officers' word, c (the same text as before) would be suggested back into
    # the project with d; now only d is, and the suggestion says why c is not.
    [s] = selectors.merge_suggestions(screening, community_id=world.haida.pk)
    assert (s.target, s.proposals) == (project, [d])
    assert c not in s.proposals + s.members
    [form] = _suggestion_forms(_page(officer, screening, world))
    assert "曾被拆分开的提议不再一起建议" in form

    split = MergeOperation.objects.get(kind="split")
    _do(officer, screening, world, action="undo", operation=split.pk)
    c.refresh_from_db()
    assert c.project == project
    assert _shape(screening, world) == before


def test_a_split_into_a_new_project_keeps_apart_too(screening, world, officer):
    a, b, c = _loose(screening, world, LIGHTS_3[:3])
    _do(officer, screening, world, action="group", name="3栋楼道灯", proposals=[a.pk, b.pk, c.pk])
    _do(officer, screening, world, action="split", proposals=[c.pk], name="3栋声控灯")
    op = MergeOperation.objects.filter(kind="group").order_by("-id").first()
    assert sorted((m.proposal_a_id, m.proposal_b_id) for m in op.decisions.all()) == sorted(
        (min(c.pk, x), max(c.pk, x)) for x in (a.pk, b.pk))


def test_not_the_same_is_remembered_and_undone(screening, world, officer):
    e, f = _loose(screening, world, LIGHTS_7)
    [s] = selectors.merge_suggestions(screening, community_id=world.haida.pk)
    assert (s.target, s.proposals) == (None, [e, f])
    [form] = _suggestion_forms(_page(officer, screening, world))
    assert 'name="action" value="dismiss"' in form and "不是同一件事" in form

    _do(officer, screening, world, action="dismiss", proposals=[e.pk, f.pk])
    assert selectors.merge_suggestions(screening, community_id=world.haida.pk) == []
    assert _suggestion_forms(_page(officer, screening, world)) == []
    dismiss = MergeOperation.objects.get(kind="dismiss")
    assert dismiss.decisions.count() == 1

    _do(officer, screening, world, action="undo", operation=dismiss.pk)
    [again] = selectors.merge_suggestions(screening, community_id=world.haida.pk)
    assert again.proposals == [e, f]


def test_not_the_same_on_a_move_keeps_the_proposal_out_of_the_project(screening, world, officer):
    a, b = _loose(screening, world, LIGHTS_3[:2])
    _do(officer, screening, world, action="group", name="3栋楼道灯", proposals=[a.pk, b.pk])
    [c] = _loose(screening, world, LIGHTS_3[2:3])
    [s] = selectors.merge_suggestions(screening, community_id=world.haida.pk)
    _do(officer, screening, world, action="dismiss", proposals=[c.pk],
        members=[m.pk for m in s.members])
    assert selectors.merge_suggestions(screening, community_id=world.haida.pk) == []
    c.refresh_from_db()
    assert c.project_id is None
    # Grouping them by hand later overrides the earlier word.
    project = Project.objects.get()
    _do(officer, screening, world, action="move", project=project.pk, proposals=[c.pk])
    [d] = _loose(screening, world, LIGHTS_3[3:])
    [s] = selectors.merge_suggestions(screening, community_id=world.haida.pk)
    assert (s.target, s.proposals) == (project, [d])


def test_a_project_of_several_requests_draws_each_loose_proposal_with_its_like(
        screening, world, officer):
    # An officer's 楼道改造 gathers the lights and the handrails of building 3.
    a, b = _loose(screening, world, ["海达小区3栋楼道灯坏了", "海达小区3栋楼梯扶手松了"])
    _do(officer, screening, world, action="group", name="3栋楼道改造", proposals=[a.pk, b.pk])
    project = Project.objects.get()
    c, d, _e = _loose(screening, world, ["3栋楼道太黑，希望装声控灯", "海达小区3栋扶手坏了要修",
                                         "海达小区3栋装监控"])
    shape = sorted((t, loose, members) for t, loose, members, _r in _shape(screening, world))
    # each into the project, beside the proposal it resembles; the cameras stay alone
    assert shape == [(project.pk, [c.pk], [a.pk]), (project.pk, [d.pk], [b.pk])]


def test_every_suggestion_on_the_page_says_why(screening, world, officer):
    a, b = _loose(screening, world, LIGHTS_3[:2])
    _do(officer, screening, world, action="group", name="3栋楼道灯", proposals=[a.pk, b.pk])
    _loose(screening, world, LIGHTS_3[2:3] + LIGHTS_7 + ["社区开个长者食堂", "希望社区办长者食堂"])
    forms = _suggestion_forms(_page(officer, screening, world))
    assert len(forms) == 3
    whys = [re.search(r'<p class="why">(.*?)</p>', f, re.S).group(1) for f in forms]
    assert all(w.strip() for w in whys)
    assert any("同一地点：海达小区3栋" in w and "已并入项目“3栋楼道灯”" in w for w in whys)
    assert any("同一地点：海达小区7栋" in w for w in whys)
    assert any("相同诉求：长者食堂" in w for w in whys)


def test_the_explanation_reads_the_engine_s_place_phrases_and_score():
    group = SuggestedGroup(cluster=0, members=(0, 1), group=1, request="楼道灯",
                           place="海达小区3栋", texts=("a", "b"), phrases=("楼道灯", "坏了"),
                           score=0.82)
    with translation.override("zh-hans"):
        assert " · ".join(selectors._reasons(group, None, False)) == \
            "同一地点：海达小区3栋 · 相同诉求：楼道灯 · 共同关键词：坏了 · 相似度 0.82"
    bare = SuggestedGroup(cluster=0, members=(0, 1), group=1, request=None, place="?",
                          texts=("a", "b"))
    with translation.override("en"):
        assert selectors._reasons(bare, None, False) == ["Similar wording"]


def test_the_gazetteer_learns_places_from_merges_across_cycles(screening, world, officer):
    # Both name the estate: a merge confirms it as a place of the district.
    a, b = _loose(screening, world, [LIGHTS_3[0], LIGHTS_3[2]])
    gazetteer = selectors.district_gazetteer(world.district.pk)
    assert {"美兰区", "海甸街道", "海达社区"} <= set(gazetteer.admin)
    assert "金宇社区" not in gazetteer.admin  # another district's
    assert gazetteer.places == ()
    _do(officer, screening, world, action="group", name="3栋楼道灯", proposals=[a.pk, b.pk])
    # The next cycle of the district has other proposals (no links) but knows the place.
    later = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       starts_on=dt.date(2031, 1, 1), name="下一期")
    assert later.district_id == screening.district_id
    assert "海达小区" in selectors.district_gazetteer(later.district_id).places
    assert selectors.district_gazetteer(world.other_district.pk).places == ()
