"""The staff home as a to-do list: per role, what waits, how many, by when, and where to act."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.deliberation.models import Review, Screening
from civicbudget.web.todo import todo_list

from factories import (
    UserFactory,
    build_after,
    loose_proposals,
    make_cycle,
    make_project,
    run_stage,
    staff,
    walk_to,
)


def _items(user) -> dict[str, tuple[int, int]]:
    """kind -> (count, overdue) over every cycle of the user's list."""
    out: dict[str, tuple[int, int]] = {}
    for group in todo_list(user):
        for item in group.items:
            count, late = out.get(item.kind, (0, 0))
            out[item.kind] = (count + item.count, late + item.overdue)
    return out


def _screening_world(world, *, projects=3, loose=2, reviews=2, stage_late=True):
    """A cycle in its screening stage: projects to screen in 海达 and 白沙坊, loose proposals
    in 海达, department reviews (one late), the stage past its planned end."""
    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    run_stage(cycle, "screen")
    stage = cycle.current_stage
    stage.closes_at = timezone.now() + dt.timedelta(days=-1 if stage_late else 5)
    stage.save()
    haida = [make_project(cycle, world.haida, name=f"海达项目{i}") for i in range(projects)]
    make_project(cycle, world.baisha, name="白沙坊项目")
    Screening.objects.create(project=make_project(cycle, world.haida, name="已筛选"), cycle=cycle,
                             is_passed=True)
    loose_proposals(cycle, world, [f"第{i}号路灯不亮了" for i in range(loose)])
    today = timezone.localdate()
    for i, project in enumerate(haida[:reviews]):
        Review.objects.create(project=project, cycle=cycle, department=world.department,
                              due_on=today + dt.timedelta(days=-2 if i == 0 else 3))
    cycle.refresh_from_db()
    return cycle


def test_each_role_sees_only_what_it_may_do_at_screening(world):
    cycle = _screening_world(world)
    street_officer = staff(Role.STREET_OFFICER, world.haidian)
    community_officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    reviewer = staff(Role.DEPARTMENT_REVIEWER, world.department)
    polling = staff(Role.POLLING_OFFICER, world.haida)
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    other_admin = staff(Role.DISTRICT_ADMIN, world.other_district)

    # The street officer screens and merges in 海甸 (海达's three projects, not 白沙坊's);
    # the stage is past its end, so all of it is late; advancing is not theirs.
    assert _items(street_officer) == {"screen": (3, 3), "merge": (2, 2)}
    # A community officer merges but does not screen.
    assert _items(community_officer) == {"merge": (2, 2)}
    # The reviewer sees the department's open reviews, the late one counted late.
    assert _items(reviewer) == {"review": (2, 1)}
    # Nothing for a polling officer while proposals are screened, nor for another district.
    assert _items(polling) == {}
    assert _items(other_admin) == {}
    # The district admin screens everywhere in the district and is told to advance the stage.
    assert _items(admin) == {"screen": (4, 4), "merge": (2, 2), "advance": (1, 1)}

    # Late reviews first, with the earliest due date as the deadline, in local time.
    [group] = todo_list(reviewer)
    [item] = group.items
    assert item.url == f"/staff/cycles/{cycle.pk}/reviews/"
    assert timezone.localtime(item.due_at).date() == timezone.localdate() - dt.timedelta(days=2)


def test_the_stage_end_is_the_deadline_and_nothing_is_late_before_it(world):
    cycle = _screening_world(world, stage_late=False)
    officer = staff(Role.STREET_OFFICER, world.haidian)
    assert _items(officer) == {"screen": (3, 0), "merge": (2, 0)}
    [group] = todo_list(officer)
    assert group.stage_ends_at == cycle.current_stage.closes_at
    assert all(item.due_at == cycle.current_stage.closes_at for item in group.items)
    # Screening a project takes it off the list.
    project = cycle.projects.filter(community=world.haida, screening__isnull=True).first()
    Screening.objects.create(project=project, cycle=cycle, is_passed=False, reason="不可行")
    assert _items(officer)["screen"] == (2, 0)


def test_the_staff_home_lists_the_tasks_with_links_and_marks_late_ones(world, staff_client):
    cycle = _screening_world(world)
    officer = staff(Role.STREET_OFFICER, world.haidian, username="jiedao")
    response = staff_client(officer).get("/staff/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert response.status_code == 200
    assert "等你处理" in html
    assert f'href="/staff/cycles/{cycle.pk}/deliberation/"' in html
    assert f'href="/staff/cycles/{cycle.pk}/workbench/"' in html
    assert 'data-kind="screen"' in html and 'data-kind="review"' not in html
    assert html.count("todo-item overdue") == 2
    assert "已逾期" in html
    end = timezone.localtime(cycle.current_stage.closes_at).strftime("%Y-%m-%d %H:%M")
    assert end in html  # the stage's end in local time, not UTC


def test_an_empty_list_says_so_kindly(world, staff_client):
    _screening_world(world)
    polling = staff(Role.POLLING_OFFICER, world.haida)
    html = staff_client(polling).get("/staff/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "现在没有等你处理的事项" in html
    assert "todo-item" not in html


def test_a_draft_cycle_past_its_planned_start_waits_on_the_district_admin(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       starts_on=dt.date(2020, 1, 1))
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    assert cycle.status == "draft" and cycle.ordered_stages()[0].opens_at < timezone.now()
    assert _items(admin) == {"start": (1, 1)}
    [group] = todo_list(admin)
    assert group.items[0].url == f"/staff/cycles/{cycle.pk}/"
    assert _items(staff(Role.STREET_OFFICER, world.haidian)) == {}
    # A cycle planned for later waits on no one yet.
    later = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       starts_on=timezone.localdate() + dt.timedelta(days=30), name="明年")
    assert [g.cycle for g in todo_list(admin)] == [cycle] != [later]


def test_polling_officers_see_paper_ballots_waiting_or_in_conflict(world):
    from civicbudget.voting.models import PaperEntry, PollingStation, VotingScope

    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    run_stage(cycle, "vote")
    officer = staff(Role.POLLING_OFFICER, world.haida)
    elsewhere = staff(Role.POLLING_OFFICER, world.baisha)
    station = PollingStation.objects.create(cycle=cycle, community=world.haida, name="一号投票点")
    scope = VotingScope.objects.create(cycle=cycle, key=f"community:{world.haida.pk}",
                                       community=world.haida, title="海达社区", spec={})
    for number, state in [(1, "waiting"), (2, "waiting"), (3, "conflict"), (4, "matched")]:
        PaperEntry.objects.create(station=station, scope=scope, number=number, choices=[],
                                  officer=officer, state=state)
    assert _items(officer) == {"paper_second": (2, 0), "paper_conflict": (1, 1)}
    assert _items(elsewhere) == {}
    [group] = todo_list(officer)
    assert {i.url for i in group.items} == {f"/staff/cycles/{cycle.pk}/polling/"}


def test_objections_replies_and_letters_go_to_whoever_may_answer_them(world, settings, tmp_path):
    from civicbudget.proposals.models import Proposal
    from civicbudget.results import services as results
    from civicbudget.results.models import Publication

    ctx = build_after(world, settings, tmp_path, until="publish")
    admin = ctx.admin
    publication = Publication.objects.get(cycle=ctx.cycle)
    objection = results.objection_file(publication=publication, name="王五", text="东门监控票数有误")
    street_officer = staff(Role.STREET_OFFICER, world.haidian)
    community_officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    # Objections are answered for the whole district.
    assert _items(admin)["objections"] == (1, 0)
    assert "objections" not in _items(street_officer)
    results.objection_answer(actor=admin, objection=objection, answer="已复核，票数无误")
    assert "objections" not in _items(admin)

    walk_to(ctx.cycle, admin, "reply")  # entering the reply stage decides and queues the replies
    admin_items = _items(admin)
    assert "decide" not in admin_items
    assert admin_items["letters"][0] == 10 and admin_items["send"][0] == 10
    # Letters of 海达 are printed by its community officer too; SMS are sent district-wide.
    assert _items(community_officer)["letters"][0] == 10
    assert "send" not in _items(community_officer)
    assert "letters" not in _items(staff(Role.COMMUNITY_OFFICER, world.fuan))
    # A proposal still without a final state waits on the district.
    Proposal.objects.create(cycle=ctx.cycle, street=world.haidian, community=world.haida,
                            tracking_code="LATE0001", title="补录", text="补录的提议",
                            proposer_name="赵六", channel="paper")
    assert _items(admin)["decide"] == (1, 0)
    assert "decide" not in _items(community_officer)


def test_late_projects_and_missing_progress_reports_in_implementation(world, settings, tmp_path):
    from civicbudget.delivery import services as delivery
    from civicbudget.delivery.models import Implementation

    ctx = build_after(world, settings, tmp_path, until="implement")
    late, reported = Implementation.objects.filter(cycle=ctx.cycle).order_by("pk")
    Implementation.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - dt.timedelta(days=3))
    delivery.progress_add(actor=ctx.admin, implementation=reported, text="已进场", percent=20)
    officer = staff(Role.STREET_OFFICER, world.haidian)
    items = _items(officer)
    assert items["overdue_projects"] == (1, 1)
    assert items["progress"] == (1, 0)
    assert "overdue_projects" not in _items(staff(Role.STREET_OFFICER, world.renmin))
    assert _items(staff(Role.OBSERVER, world.district)) == {}  # evaluation is a later stage


def test_the_api_gives_the_same_list_as_the_page(world, staff_client):
    from civicbudget.accounts.tokens import token_create

    cycle = _screening_world(world)
    officer = staff(Role.STREET_OFFICER, world.haidian)
    body = staff_client(officer).get("/api/me/todo").json()
    assert body["total"] == 5
    [group] = body["cycles"]
    assert group["cycle_id"] == cycle.pk
    assert {i["kind"]: (i["count"], i["overdue"]) for i in group["items"]} == {
        "screen": (3, 3), "merge": (2, 2)}
    assert all(i["url"].startswith(f"/staff/cycles/{cycle.pk}/") for i in group["items"])
    # A machine client with a read token gets the same; a resident account and nobody do not.
    _token, clear = token_create(actor=officer, owner=officer, name="看板", scopes=["read"], days=30)
    from django.test import Client

    by_token = Client().get("/api/me/todo", HTTP_AUTHORIZATION=f"Bearer {clear}").json()
    assert by_token == body
    assert staff_client(UserFactory(username="jumin")).get("/api/me/todo").status_code == 403
    assert Client().get("/api/me/todo").status_code == 401


def _queries(user) -> int:
    with CaptureQueriesContext(connection) as ctx:
        todo_list(user)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["admin", "street"])
def test_the_count_of_queries_does_not_grow_with_the_work(world, role):
    cycle = _screening_world(world, projects=2, loose=2, reviews=2)
    user = (staff(Role.DISTRICT_ADMIN, world.district) if role == "admin"
            else staff(Role.STREET_OFFICER, world.haidian))
    few = _queries(user)
    # Fifty times the work: projects, loose proposals and reviews.
    for i in range(100):
        make_project(cycle, world.haida if i % 2 else world.fuan, name=f"新项目{i}", proposals=2)
    loose_proposals(cycle, world, [f"第{i}栋楼下的垃圾桶满了" for i in range(100)])
    user = type(user).objects.get(pk=user.pk)  # a fresh request's user: no cached roles
    many = _queries(user)
    print(f"to-do list queries for {role}: {few}, then {many} with 100 more projects and 100 more loose proposals")  # noqa: T201
    assert many == few, (few, many)
    assert many <= 15
    assert _items(user)["screen"][0] >= 102
