"""The JSON API over real HTTP requests (Django's test client), with its OpenAPI document."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.models import BudgetPool
from civicbudget.places.models import Street

from factories import PASSWORD, make_cycle, staff, staff_login


@pytest.fixture
def cycle(world):
    return make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan],
                      starts_on=dt.date(2018, 3, 1), name="2018 社区更新微实事")


def _login(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    staff_login(client, user)
    return client


def test_cycles_list_gives_id_name_year_and_current_stage(client, cycle, world):
    staff_user = staff(Role.DISTRICT_ADMIN, world.district)
    _login(staff_user).post(f"/api/cycles/{cycle.pk}/advance", {"reason": ""},
                            content_type="application/json")
    response = client.get("/api/cycles")
    assert response.status_code == 200
    [item] = response.json()
    assert item["id"] == cycle.pk
    assert item["name"] == "2018 社区更新微实事"
    assert item["year"] == 2018
    assert item["current_stage"]["kind"] == "launch"
    assert item["current_stage"]["name"] == "项目启动"


def test_cycle_detail_has_stages_and_pools(client, cycle):
    data = client.get(f"/api/cycles/{cycle.pk}").json()
    assert [s["kind"] for s in data["stages"]][:3] == ["launch", "collect", "screen"]
    assert data["pools_total_yuan"] == 1_050_000 + 2 * 300_000
    assert {p["level"] for p in data["pools"]} == {"street", "community"}
    assert data["status"] == "draft"


def test_unknown_cycle_is_404(client, world):
    response = client.get("/api/cycles/999999")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_district_tree(client, world):
    data = client.get(f"/api/districts/{world.district.pk}").json()
    names = {s["name"]: [c["name"] for c in s["communities"]] for s in data["streets"]}
    assert names == {"海甸街道": ["海达社区", "福安社区"], "人民路街道": ["白沙坊社区"]}


def test_openapi_document_lists_the_endpoints(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/cycles", "/api/cycles/{cycle_id}", "/api/districts",
            "/api/cycles/{cycle_id}/advance", "/api/cycles/{cycle_id}/pools"} <= set(paths)


def test_anonymous_caller_cannot_advance(client, cycle):
    response = client.post(f"/api/cycles/{cycle.pk}/advance", {}, content_type="application/json")
    assert response.status_code == 401
    cycle.refresh_from_db()
    assert cycle.status == "draft"


def test_resident_account_calling_a_staff_endpoint_is_refused_and_logged(cycle, django_user_model):
    resident = django_user_model.objects.create_user("resident1", password=PASSWORD)
    response = _login(resident).put(f"/api/cycles/{cycle.pk}/pools",
                                    {"level": "community", "place_id": cycle.communities.first().pk,
                                     "amount_yuan": 1},
                                    content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not BudgetPool.objects.filter(amount_yuan=1).exists()
    assert AuditEvent.objects.filter(actor_label="resident1", outcome="denied").count() == 1


def test_community_officer_cannot_set_another_communitys_pool(cycle, world):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    response = _login(officer).put(f"/api/cycles/{cycle.pk}/pools",
                                   {"level": "community", "place_id": world.fuan.pk, "amount_yuan": 9},
                                   content_type="application/json")
    assert response.status_code == 403
    assert BudgetPool.objects.get(cycle=cycle, community=world.fuan).amount_yuan == 300_000


def test_admin_sets_a_pool_and_gets_field_errors(cycle, world):
    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    ok = client.put(f"/api/cycles/{cycle.pk}/pools",
                    {"level": "community", "place_id": world.haida.pk, "amount_yuan": 320000},
                    content_type="application/json")
    assert ok.status_code == 200 and ok.json()["amount_yuan"] == 320000
    bad = client.put(f"/api/cycles/{cycle.pk}/pools",
                     {"level": "community", "place_id": world.haida.pk, "amount_yuan": -1},
                     content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["field"] == "amount_yuan"
    malformed = client.put(f"/api/cycles/{cycle.pk}/pools", {"level": "community"},
                           content_type="application/json")
    assert malformed.status_code == 422


def test_failed_precondition_is_409_with_details(cycle, world):
    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    client.post(f"/api/cycles/{cycle.pk}/advance", {}, content_type="application/json")
    BudgetPool.objects.filter(cycle=cycle, community=world.fuan).delete()
    response = client.post(f"/api/cycles/{cycle.pk}/advance", {"reason": "提前"},
                           content_type="application/json")
    assert response.status_code == 409
    assert response.json()["details"][0]["code"] == "community_pool_missing"


def test_session_api_calls_need_the_csrf_token(cycle, world):
    client = Client(enforce_csrf_checks=True)
    staff_login(client, staff(Role.DISTRICT_ADMIN, world.district))
    response = client.post(f"/api/cycles/{cycle.pk}/advance", {}, content_type="application/json")
    assert response.status_code in (401, 403)
    cycle.refresh_from_db()
    assert cycle.status == "draft"


def test_places_import_endpoint_reports_bad_rows(world):
    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("p.csv", "街道,社区,人口\n海甸街道,新社区,很多\n".encode())
    response = client.post(f"/api/districts/{world.district.pk}/places/import", {"file": bad})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "import_rejected"
    assert body["details"] == [{"line": 2, "field": "population",
                                "message": "人口必须是不小于0的整数，而不是“很多”。"}]
    good = SimpleUploadedFile("p.csv", "街道,社区,人口\n海甸街道,新社区,500\n".encode())
    response = client.post(f"/api/districts/{world.district.pk}/places/import", {"file": good})
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert Street.objects.get(name="海甸街道").communities.filter(name="新社区").exists()


def test_auditor_reads_the_trail_of_their_place_only(cycle, world):
    observer = staff(Role.OBSERVER, world.haidian)
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    _login(officer).put(f"/api/cycles/{cycle.pk}/pools",
                        {"level": "community", "place_id": world.baisha.pk, "amount_yuan": 1},
                        content_type="application/json")
    events = _login(observer).get("/api/audit?outcome=denied").json()
    # The refused attempt was at 白沙坊社区 (人民路街道): outside the observer's street.
    assert events == []
    admin_view = _login(staff(Role.DISTRICT_ADMIN, world.district)).get("/api/audit?outcome=denied")
    assert [e["actor"] for e in admin_view.json()] == [officer.username]
    assert _login(officer).get("/api/audit").status_code == 403


@pytest.mark.parametrize("number", ["99999999999999999999999999999", "0", "2147483648"])
def test_no_api_path_fails_with_a_server_error_on_an_id_out_of_range(cycle, world, number):
    """Every GET path of the OpenAPI document with its ids replaced: an answer, never a 500."""
    import re

    from factories import operator

    admin = operator()
    client = Client()
    staff_login(client, admin)
    paths = client.get("/api/openapi.json").json()["paths"]
    tried = 0
    for path, methods in paths.items():
        if "get" not in methods or "{" not in path:
            continue
        url = "/api" + re.sub(r"\{[^}]+\}", number, path) if not path.startswith("/api") else \
            re.sub(r"\{[^}]+\}", number, path)
        answer = client.get(url)
        tried += 1
        assert answer.status_code < 500, (url, answer.status_code, answer.content[:200])
        if answer.status_code >= 400 and answer["Content-Type"].startswith("application/json"):
            assert "message" in answer.json() or "detail" in answer.json(), url
    assert tried >= 10


def test_no_api_write_fails_with_a_server_error_on_malformed_bodies(cycle, world):
    """Every POST/PUT/PATCH/DELETE of the OpenAPI document, as an operator, with bodies that
    are empty, not JSON, the wrong JSON type or hostile text: an answer, never a 500."""
    import re

    from factories import operator

    client = Client(raise_request_exception=False)
    staff_login(client, operator())
    paths = client.get("/api/openapi.json").json()["paths"]
    bodies = ["", "not json", "[]", "null", '{"x": "<script>alert(1)</script>"}',
              '{"name": "' + "长" * 100_000 + '"}', '{"reason": 1e999}']
    tried = 0
    for path, methods in paths.items():
        url = re.sub(r"\{[^}]+\}", str(cycle.pk), path)
        for method in ("post", "put", "patch", "delete"):
            if method not in methods:
                continue
            for body in bodies:
                answer = getattr(client, method)(url, body, content_type="application/json")
                tried += 1
                assert answer.status_code < 500, (method, url, body[:40], answer.content[:300])
    assert tried >= 50
