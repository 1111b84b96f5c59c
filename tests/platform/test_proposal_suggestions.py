"""One new proposal's suggestions (issue 14): the selector, the quick-entry page and the
workbench, and the API of suggestions and "not the same", with their permissions."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from civicbudget.accounts.models import Role
from civicbudget.accounts.tokens import token_create
from civicbudget.audit.models import AuditEvent
from civicbudget.proposals import selectors
from civicbudget.proposals.models import MatchDecision, Project, Proposal

from factories import loose_proposals, make_cycle, run_stage, staff, workbench_do

LIGHTS_3 = ["海达小区3栋楼道灯坏了", "3栋楼道太黑，希望装声控灯", "海达小区3栋楼道灯不亮了"]
GATE = ["东门监控坏了，晚上不安全", "东门的监控摄像头不亮，请修一下"]
NEW = "海达小区3栋楼道的灯又坏了，晚上看不见"


_loose = loose_proposals


_do = workbench_do


@pytest.fixture
def cycle(world):
    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    return run_stage(cycle, "screen")


@pytest.fixture
def officer_user(world):
    return staff(Role.COMMUNITY_OFFICER, world.haida)


@pytest.fixture
def officer(officer_user, staff_client):
    return staff_client(officer_user)


def _projects(cycle, world, client):
    """Two projects of 海达 made on the workbench: the 3栋 lights and the east gate camera."""
    lights = _loose(cycle, world, LIGHTS_3[:3])
    gate = _loose(cycle, world, GATE)
    _do(client, cycle, world, action="group", proposals=[p.pk for p in lights], name="3栋楼道灯")
    _do(client, cycle, world, action="group", proposals=[p.pk for p in gate], name="东门监控")
    return Project.objects.get(name="3栋楼道灯"), Project.objects.get(name="东门监控")


def test_a_new_proposal_is_suggested_the_project_it_repeats(world, cycle, officer):
    lights, gate = _projects(cycle, world, officer)
    [new] = _loose(cycle, world, [NEW])
    with translation.override("en"):  # the page requests above switched to Chinese
        matches = selectors.proposal_suggestions(new)
    assert matches and matches[0].target == lights
    assert sorted(p.pk for p in matches[0].proposals) == sorted(lights.proposals.values_list("pk", flat=True))
    assert gate not in [m.target for m in matches]
    assert 0 < matches[0].score <= 1
    assert any(r.startswith("Similarity") for r in matches[0].reasons), matches[0].reasons
    assert "Same request: 楼道灯" in matches[0].reasons
    assert "3栋楼道灯" in matches[0].explanation
    # Its own project is never suggested to it.
    _do(officer, cycle, world, action="move", proposals=[new.pk], project=lights.pk)
    new.refresh_from_db()
    assert lights not in [m.target for m in selectors.proposal_suggestions(new)]


def test_loose_proposals_are_suggested_one_by_one(world, cycle):
    loose = _loose(cycle, world, LIGHTS_3[:2])
    [new] = _loose(cycle, world, [NEW])
    matches = selectors.proposal_suggestions(new)
    assert matches and all(m.target is None and len(m.proposals) == 1 for m in matches)
    assert {m.proposals[0].pk for m in matches} <= {p.pk for p in loose}


def test_not_the_same_is_respected_and_undo_takes_it_back(world, cycle, officer):
    lights, _gate = _projects(cycle, world, officer)
    [new] = _loose(cycle, world, [NEW])
    member = lights.proposals.order_by("pk").first()
    _do(officer, cycle, world, action="dismiss", proposals=[new.pk], members=[member.pk])
    assert lights not in [m.target for m in selectors.proposal_suggestions(new)]
    op = MatchDecision.objects.get(proposal_b_id=new.pk).operation
    _do(officer, cycle, world, action="undo", operation=op.pk)
    assert selectors.proposal_suggestions(new)[0].target == lights


def _entry(client, cycle, world, text):
    return client.post(f"/staff/cycles/{cycle.pk}/entry/", {
        "community": world.haida.pk, "channel": "paper", "text": text, "title": text[:20],
        "project_type": "works", "address": "", "proposer_name": "王五", "phone": "",
        "proposer_kind": "resident"})


def test_quick_entry_shows_the_suggestions_and_moves_in_one_click(world, cycle, officer, staff_client):
    lights, _gate = _projects(cycle, world, officer)
    # Typed in during collection: the suggestions show, the move waits for the merge stage.
    run_stage(cycle, "collect")
    response = _entry(officer, cycle, world, NEW)
    assert response.status_code == 302 and "?saved=" in response["Location"]
    new = Proposal.objects.get(text=NEW)
    html = officer.get(response["Location"]).content.decode()
    assert "可能与以下项目/提议相同" in html
    assert "3栋楼道灯" in html and 'id="similar"' in html
    assert 'value="move"' not in html and "合并阶段" in html
    # At the merge stage the officer moves it from the same page, and comes back to it.
    run_stage(cycle, "screen")
    html = officer.get(f"/staff/cycles/{cycle.pk}/entry/?saved={new.pk}").content.decode()
    assert 'value="move"' in html and "移入项目" in html and "csrfmiddlewaretoken" in html
    response = officer.post(f"/staff/cycles/{cycle.pk}/workbench/do/", {
        "action": "move", "proposals": [new.pk], "project": lights.pk,
        "community": world.haida.pk, "next": "entry"})
    assert response.status_code == 302
    assert response["Location"] == f"/staff/cycles/{cycle.pk}/entry/"
    new.refresh_from_db()
    assert new.project_id == lights.pk
    # A role without merge rights sees the page, not the suggestions.
    for role, place in ((Role.POLLING_OFFICER, world.haida), (Role.OBSERVER, world.haidian),
                        (Role.COMMUNITY_OFFICER, world.fuan)):
        other = staff_client(staff(role, place))
        page = other.get(f"/staff/cycles/{cycle.pk}/entry/?saved={new.pk}")
        assert page.status_code == 200
        assert 'id="similar"' not in page.content.decode() and "3栋楼道灯" not in page.content.decode()


def test_the_workbench_links_each_loose_proposal_to_its_suggestions(world, cycle, officer):
    lights, _gate = _projects(cycle, world, officer)
    [new] = _loose(cycle, world, [NEW])
    url = f"/staff/cycles/{cycle.pk}/workbench/?community={world.haida.pk}"
    assert f"suggest={new.pk}" in officer.get(url).content.decode()
    html = officer.get(f"{url}&suggest={new.pk}").content.decode()
    assert 'id="similar"' in html and f'name="project" value="{lights.pk}"' in html


# -- API ----------------------------------------------------------------------------------------


def test_api_suggestions_answer_json_to_those_who_may_merge(world, cycle, officer, staff_client):
    lights, _gate = _projects(cycle, world, officer)
    [new] = _loose(cycle, world, [NEW])
    response = officer.get(f"/api/proposals/{new.pk}/suggestions")
    assert response.status_code == 200, response.content
    first = response.json()[0]
    assert first["project"] == {"id": lights.pk, "name": "3栋楼道灯"}
    assert sorted(first["proposals"]) == sorted(lights.proposals.values_list("pk", flat=True))
    assert set(first) == {"project", "proposals", "score", "place", "same_place", "phrases", "reasons"}
    assert first["reasons"] and 0 < first["score"] <= 1
    # While proposals are still collected the suggestions are seen too (as on the workbench).
    run_stage(cycle, "collect")
    assert officer.get(f"/api/proposals/{new.pk}/suggestions").status_code == 200

    polling = staff_client(staff(Role.POLLING_OFFICER, world.haida))
    assert polling.get(f"/api/proposals/{new.pk}/suggestions").status_code == 403
    assert AuditEvent.objects.filter(action="merge", outcome="denied").exists()
    # Another district's admin, by API token: refused; an id that names nothing: 404.
    stranger = staff(Role.DISTRICT_ADMIN, world.other_district)
    _token, clear = token_create(actor=stranger, owner=stranger, name="s", scopes=["read"])
    response = staff_client(stranger).get(f"/api/proposals/{new.pk}/suggestions")
    assert response.status_code == 403
    from django.test import Client

    bearer = Client(headers={"Authorization": f"Bearer {clear}"})
    assert bearer.get(f"/api/proposals/{new.pk}/suggestions").status_code == 403
    assert bearer.get("/api/proposals/999999/suggestions").status_code == 404
    assert Client().get(f"/api/proposals/{new.pk}/suggestions").status_code == 401
    # The officer's own token works, with the "read" scope.
    _token, mine = token_create(actor=officer_user_of(officer), owner=officer_user_of(officer),
                                name="m", scopes=["read"])
    response = Client(headers={"Authorization": f"Bearer {mine}"}).get(
        f"/api/proposals/{new.pk}/suggestions")
    assert response.status_code == 200 and response.json()[0]["project"]["id"] == lights.pk


def officer_user_of(client):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def test_api_merge_suggestions_and_dismiss(world, cycle, officer, staff_client):
    lights, _gate = _projects(cycle, world, officer)
    [new] = _loose(cycle, world, [NEW])
    base = f"/api/cycles/{cycle.pk}/communities/{world.haida.pk}/merge-suggestions"
    data = officer.get(base).json()
    assert data["total"] >= 1
    item = next(i for i in data["items"] if new.pk in i["proposals"])
    assert item["project"] == {"id": lights.pk, "name": "3栋楼道灯"} and item["members"]
    assert officer.get(f"{base}?limit=0").status_code == 422
    assert officer.get(f"{base}?limit=501").json()["field"] == "limit"
    assert officer.get(f"/api/cycles/{cycle.pk}/communities/{world.other_community.pk}"
                       "/merge-suggestions").status_code == 404
    assert staff_client(staff(Role.COMMUNITY_OFFICER, world.fuan)).get(base).status_code == 403

    post = lambda body: officer.post(f"{base}/dismiss", data=json.dumps(body),  # noqa: E731
                                     content_type="application/json")
    for body, field in (({}, "proposal_ids"), ({"proposal_ids": []}, "proposal_ids"),
                        ({"proposal_ids": "x"}, "proposal_ids"),
                        ({"proposal_ids": list(range(1, 502))}, "proposal_ids"),
                        ({"proposal_ids": [new.pk], "member_ids": [0]}, "member_ids.0")):
        response = post(body)
        assert response.status_code == 422, (body, response.content)
        assert response.json()["field"] == field, response.json()
    # Ids that are no proposals of this community: 400 naming the field, nothing recorded.
    fuan = Proposal.objects.create(cycle=cycle, street=world.haidian, community=world.fuan,
                                   tracking_code="FUAN0001", title="灯", text="福安路灯坏了",
                                   proposer_name="居民", channel="paper")
    for body, field in (({"proposal_ids": [new.pk, fuan.pk]}, "proposal_ids"),
                        ({"proposal_ids": [new.pk], "member_ids": [999999]}, "member_ids"),
                        ({"proposal_ids": [new.pk]}, "proposal_ids")):  # one proposal: no pair
        response = post(body)
        assert response.status_code == 400, response.content
        assert response.json()["field"] == field
    assert not MatchDecision.objects.exists()

    member = lights.proposals.order_by("pk").first()
    response = post({"proposal_ids": [new.pk], "member_ids": [member.pk]})
    assert response.status_code == 201 and response.json()["kind"] == "dismiss"
    assert MatchDecision.objects.filter(proposal_b_id=new.pk).exists()
    assert lights not in [m.target for m in selectors.proposal_suggestions(new)]
    # Dismissing needs the merge stage, and a write token needs proposals:write.
    run_stage(cycle, "collect")
    assert post({"proposal_ids": [new.pk], "member_ids": [member.pk]}).status_code == 403
    run_stage(cycle, "screen")
    from django.test import Client

    user = officer_user_of(officer)
    _t, read_only = token_create(actor=user, owner=user, name="r", scopes=["read"])
    response = Client(headers={"Authorization": f"Bearer {read_only}"}).post(
        f"{base}/dismiss", data=json.dumps({"proposal_ids": [new.pk], "member_ids": [member.pk]}),
        content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "token_scope"


def test_a_street_project_offers_the_move_only_to_who_may_merge_at_the_street(
        world, cycle, officer, staff_client):
    street_project = Project.objects.create(cycle=cycle, street=world.haidian, community=None,
                                            name="海甸楼道灯", level=Project.Level.STREET)
    for p in _loose(cycle, world, LIGHTS_3):
        p.project = street_project
        p.save(update_fields=["project"])
    [new] = _loose(cycle, world, [NEW])
    url = f"/staff/cycles/{cycle.pk}/entry/?saved={new.pk}"
    html = officer.get(url).content.decode()
    assert "海甸楼道灯" in html and 'value="move"' not in html
    street = staff_client(staff(Role.STREET_OFFICER, world.haidian))
    html = street.get(url).content.decode()
    assert f'name="project" value="{street_project.pk}"' in html and 'value="move"' in html


def test_the_tracking_page_tells_a_proposer_which_project_theirs_may_join(world, cycle, officer, client):
    """The proposer sees the public project theirs repeats and how many neighbours' loose
    proposals ask the same, never those neighbours' texts."""
    from django.core.cache import cache

    cache.clear()
    lights, _gate = _projects(cycle, world, officer)
    neighbour = _loose(cycle, world, ["海达小区3栋楼道里的灯坏了好几天"])[0]
    [mine] = _loose(cycle, world, [NEW])
    page = client.get(f"/track/{mine.tracking_code}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert page.status_code == 200
    assert "邻居们也提了类似的诉求" in html
    assert f'href="/projects/{lights.pk}/"' in html or f"/projects/{lights.pk}/" in html
    assert "另有 1 条提议诉求相似" in html
    assert neighbour.text not in html and neighbour.tracking_code not in html
    # Once merged, the page says which project it is in, and suggests nothing more.
    cache.clear()
    _do(officer, cycle, world, action="move", proposals=[mine.pk], project=lights.pk)
    html = client.get(f"/track/{mine.tracking_code}/").content.decode()
    assert "邻居们也提了类似的诉求" not in html
