"""Deliberation pages and API over the test client: public 四公开 pages, staff forms, JSON."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.services import stage_advance
from civicbudget.deliberation import selectors
from civicbudget.deliberation.models import Ballot, ProjectCost, Screening
from civicbudget.deliberation.services import (
    ballot_freeze,
    ballot_prepare,
    cost_set,
    screening_record,
)

from factories import advance_to, make_cycle, make_project, staff, staff_login

LATER = timezone.now() + dt.timedelta(days=3650)
MEILAN = ["in_area", "public_benefit", "within_pool", "not_planned", "feasible", "lawful",
          "no_private_benefit"]


def _login(user) -> Client:
    client = Client()
    staff_login(client, user)
    return client


@pytest.fixture
def screening(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    return advance_to(cycle, "screen", staff(Role.DISTRICT_ADMIN, world.district), start=LATER)


@pytest.fixture
def officer(world):
    return staff(Role.STREET_OFFICER, world.haidian)


def _published(cycle, officer, world):
    project = make_project(cycle, world.haida, name="楼道灯改造", proposals=2)
    screening_record(actor=officer, project=project, results={k: (True, "") for k in MEILAN})
    cost_set(actor=officer, project=project, amount_yuan=86_000)
    return ballot_freeze(actor=officer, ballot=ballot_prepare(actor=officer, cycle=cycle,
                                                              place=world.haida)), project


def test_the_public_page_shows_criteria_results_and_published_ballots(client, world, screening, officer):
    ballot, project = _published(screening, officer, world)
    out = make_project(screening, world.fuan, name="私家花园")
    screening_record(actor=officer, project=out,
                     results={k: (k != "no_private_benefit", "只惠及一户") for k in MEILAN})

    page = client.get(f"/cycles/{screening.pk}/deliberation/").content.decode()

    assert "无私人受益" in page and "只惠及一户" in page and "86,000" in page
    assert f"/ballots/{ballot.pk}/" in page
    ballot_page = client.get(f"/ballots/{ballot.pk}/").content.decode()
    assert "楼道灯改造" in ballot_page and "300,000" in ballot_page


def test_a_draft_ballot_is_not_public(client, world, screening, officer):
    project = make_project(screening, world.haida)
    screening_record(actor=officer, project=project, results={k: (True, "") for k in MEILAN})
    cost_set(actor=officer, project=project, amount_yuan=10_000)
    draft = ballot_prepare(actor=officer, cycle=screening, place=world.haida)
    assert client.get(f"/ballots/{draft.pk}/").status_code == 404
    assert client.get(f"/api/ballot-lists/{draft.pk}").status_code == 404
    assert client.get(f"/api/cycles/{screening.pk}/ballot-lists").json() == []


def test_staff_screen_cost_and_publish_through_the_pages(world, screening, officer):
    project = make_project(screening, world.haida, name="健身路径")
    client = _login(officer)
    assert client.get(f"/staff/cycles/{screening.pk}/deliberation/").status_code == 200
    assert client.get(f"/staff/deliberation/projects/{project.pk}/").status_code == 200
    form = {"action": "screen", **{f"pass_{k}": "1" for k in MEILAN}}
    client.post(f"/staff/deliberation/projects/{project.pk}/do/", form)
    client.post(f"/staff/deliberation/projects/{project.pk}/do/",
                {"action": "cost", "cost_yuan": "120,000", "reason": "住建局估价"})
    client.post(f"/staff/cycles/{screening.pk}/deliberation/do/",
                {"action": "prepare", "level": "community", "place": world.haida.pk})
    ballot = Ballot.objects.get()
    client.post(f"/staff/cycles/{screening.pk}/deliberation/do/", {"action": "freeze", "ballot": ballot.pk})

    view = selectors.ballot_for(screening, world.haida)
    assert [(i.name, i.cost_yuan) for i in view.items] == [("健身路径", 120_000)]
    response = client.post(f"/staff/deliberation/projects/{project.pk}/do/",
                           {"action": "cost", "cost_yuan": "1"}, follow=True)
    assert "冻结" in response.content.decode()
    assert ProjectCost.objects.count() == 1


def test_a_resident_gets_no_staff_page(client, world, screening):
    project = make_project(screening, world.haida)
    assert client.get(f"/staff/deliberation/projects/{project.pk}/").status_code == 302
    assert client.post(f"/staff/deliberation/projects/{project.pk}/do/", {"action": "cost"}).status_code == 302


def test_api_ballot_for_the_voting_app(client, world, screening, officer):
    ballot, project = _published(screening, officer, world)
    data = client.get(f"/api/ballot-lists/{ballot.pk}").json()
    assert data["items"] == [{"project_id": project.pk, "name": "楼道灯改造", "cost_yuan": 86_000}]
    assert (data["rule"], data["max_choices"], data["budget_yuan"]) == ("approval", 5, 300_000)
    assert data["frozen_at"] is not None
    assert [b["id"] for b in client.get(f"/api/cycles/{screening.pk}/ballot-lists").json()] == [ballot.pk]


@pytest.mark.parametrize("value", [0, -100, "1.5", 300_001])
def test_api_refuses_a_bad_cost_naming_the_field(world, screening, officer, value):
    project = make_project(screening, world.haida)
    response = _login(officer).post(f"/api/projects/{project.pk}/cost", {"cost_yuan": value},
                                    content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] == "cost_yuan"
    assert not ProjectCost.objects.exists()


def test_api_screening_and_a_ballot_edit_after_publication(world, screening, officer):
    ballot, project = _published(screening, officer, world)
    client = _login(officer)
    response = client.post(f"/api/ballot-lists/{ballot.pk}/rule", {"rule": "budget"},
                           content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "ballot_frozen"
    other = make_project(screening, world.fuan)
    ok = client.post(f"/api/projects/{other.pk}/screening",
                     {"results": {k: {"passed": k != "lawful", "reason": "违规"} for k in MEILAN}},
                     content_type="application/json")
    assert ok.json() == {"project_id": other.pk, "is_passed": False, "reason_code": "lawful",
                         "reason": "违规"}
    assert Screening.objects.count() == 2
    assert AuditEvent.objects.filter(action="ballot_set_rule", outcome="ok").count() == 0


def test_api_runs_a_sitting_and_refuses_a_stranger_and_a_foreign_reviewer(world, officer):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida],
                       template_key="shenzhen_4yi4gongkai", community_pool=2_000_000)
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    while cycle.current_stage is None or cycle.current_stage.kind != "deliberate":
        stage_advance(actor=admin, cycle=cycle, now=LATER)
        cycle.refresh_from_db()
    project = make_project(cycle, world.haida, name="长者饭堂")
    client = _login(officer)
    body = client.post(f"/api/cycles/{cycle.pk}/bodies",
                       {"kind": "community_joint_meeting", "name": "海达社区联席会议",
                        "members": [["李", "居委"], ["王", "业委会"], ["张", "居民代表"]],
                        "community_id": world.haida.pk}, content_type="application/json").json()
    members = body["member_ids"]
    no_quorum = client.post(f"/api/bodies/{body['id']}/sittings",
                            {"attendee_ids": members[:1], "project_ids": [project.pk],
                             "held_at": "2030-05-01T19:00:00+08:00"}, content_type="application/json")
    assert (no_quorum.status_code, no_quorum.json()["code"]) == (409, "no_quorum")
    sitting = client.post(f"/api/bodies/{body['id']}/sittings",
                          {"attendee_ids": members[:2], "project_ids": [project.pk],
                           "held_at": "2030-05-01T19:00:00+08:00"}, content_type="application/json").json()
    stranger = client.post(f"/api/sittings/{sitting['id']}/votes",
                           {"member_id": members[-1] + 1000, "project_ids": [project.pk]},
                           content_type="application/json")
    assert (stranger.status_code, stranger.json()["field"]) == (400, "member")
    for member in members[:2]:
        client.post(f"/api/sittings/{sitting['id']}/votes", {"member_id": member, "project_ids": [project.pk]},
                    content_type="application/json")
    closed = client.post(f"/api/sittings/{sitting['id']}/close", {"minutes": "两人到会，一致通过。"},
                         content_type="application/json").json()
    assert closed["results"] == [{"project_id": project.pk, "yes": 2, "present": 2, "rank": 1,
                                  "is_passed": True}]

    routed = client.post(f"/api/projects/{project.pk}/reviews", {"department_ids": [world.department.pk]},
                         content_type="application/json").json()
    foreign = staff(Role.DEPARTMENT_REVIEWER, world.district.departments.create(name="区园林局"))
    refused = _login(foreign).post(f"/api/reviews/{routed[0]['id']}", {"opinion": "feasible"},
                                   content_type="application/json")
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(action="review", outcome="denied").count() == 1
