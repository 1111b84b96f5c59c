"""Public pages and the staff back-office, through Django's test client."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.models import BudgetPool

from factories import PASSWORD, make_cycle, staff, staff_login


@pytest.fixture
def cycle(world):
    return make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan],
                      starts_on=dt.date(2018, 3, 1), name="2018 社区更新微实事")


def _login(user) -> Client:
    client = Client()
    staff_login(client, user)
    return client


def test_home_lists_cycles_in_chinese_by_default(client, cycle):
    html = client.get("/").content.decode()
    assert "2018 社区更新微实事" in html
    assert 'lang="zh-hans"' in html
    assert "参与式预算" in html


def test_language_switch_to_english(client, cycle):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert 'lang="en"' in html
    assert "participatory budgeting" in html


def test_cycle_page_shows_timeline_and_pools(client, cycle):
    html = client.get(f"/cycles/{cycle.pk}/").content.decode()
    for stage in ("项目启动", "征集提议", "项目筛选", "项目投票", "项目公示", "集中回复", "项目实施", "项目评价"):
        assert stage in html
    assert "海达社区" in html and "1,050,000" in html and "300,000" in html


def test_names_are_escaped(client, world, cycle):
    world.haida.name = "<script>alert(1)</script>"
    world.haida.save()
    html = client.get(f"/cycles/{cycle.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_unknown_cycle_page_is_404(client, world):
    assert client.get("/cycles/424242/").status_code == 404


def test_staff_pages_need_login_and_a_role(client, cycle, django_user_model):
    assert client.get("/staff/").status_code == 302
    resident = django_user_model.objects.create_user("resident2", password=PASSWORD)
    assert _login(resident).get("/staff/").status_code == 403
    assert AuditEvent.objects.filter(actor_label="resident2", outcome="denied").exists()


def test_admin_advances_from_the_back_office(cycle, world):
    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    page = client.get(f"/staff/cycles/{cycle.pk}/").content.decode()
    assert "项目启动" in page
    response = client.post(f"/staff/cycles/{cycle.pk}/advance/", {"expected_stage_id": "0"},
                           follow=True)
    assert response.status_code == 200
    cycle.refresh_from_db()
    assert cycle.current_stage.kind == "launch"


def test_failed_advance_shows_the_precondition(cycle, world):
    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    client.post(f"/staff/cycles/{cycle.pk}/advance/", {})
    BudgetPool.objects.filter(cycle=cycle, community=world.fuan).delete()
    page = client.post(f"/staff/cycles/{cycle.pk}/advance/", {"reason": "试"}, follow=True)
    assert "福安社区" in page.content.decode()
    cycle.refresh_from_db()
    assert cycle.current_stage.kind == "launch"


def test_pool_form_sets_integer_yuan(cycle, world):
    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    client.post(f"/staff/cycles/{cycle.pk}/pools/",
                {"level": "community", "place_id": world.haida.pk, "amount_yuan": "310000"})
    assert BudgetPool.objects.get(cycle=cycle, community=world.haida).amount_yuan == 310_000
    client.post(f"/staff/cycles/{cycle.pk}/pools/",
                {"level": "community", "place_id": world.haida.pk, "amount_yuan": "3.5e5"})
    assert BudgetPool.objects.get(cycle=cycle, community=world.haida).amount_yuan == 310_000


def test_community_officer_sees_only_their_community_in_places(world):
    client = _login(staff(Role.COMMUNITY_OFFICER, world.haida))
    html = client.get(f"/staff/districts/{world.district.pk}/places/").content.decode()
    assert "海达社区" in html
    assert "福安社区" not in html and "白沙坊社区" not in html
    assert "Import" not in html and "导入" not in html


def test_places_import_page_lists_bad_rows(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    upload = SimpleUploadedFile("p.csv", "街道,社区,人口\n海甸街道,新社区,-3\n".encode())
    html = client.post(f"/staff/districts/{world.district.pk}/places/",
                       {"form": "import", "file": upload}).content.decode()
    assert "population" in html and "<td>2</td>" in html


def test_new_cycle_from_template_form(world):
    client = _login(staff(Role.DISTRICT_ADMIN, world.district))
    response = client.post(f"/staff/districts/{world.district.pk}/cycles/new/", {
        "name": "2031 福田票决", "year": "2031", "template_key": "futian_deputies",
        "starts_on": "2031-02-01",
    })
    assert response.status_code == 302
    from civicbudget.cycles.models import Cycle

    cycle = Cycle.objects.get(name="2031 福田票决")
    assert cycle.stages.count() == 7
    assert cycle.config["body"]["size"] == 100


def test_audit_page_for_observer_not_for_officer(world):
    assert _login(staff(Role.OBSERVER, world.district)).get("/staff/audit/").status_code == 200
    assert _login(staff(Role.STREET_OFFICER, world.haidian)).get("/staff/audit/").status_code == 403


def test_every_ui_string_has_its_chinese_translation():
    """The .po file is the translations' source (``make messages``): no entry waits for a
    translator, none is fuzzy (gettext ignores those), and the .mo is compiled from it."""
    from pathlib import Path

    import polib

    import civicbudget

    po_path = Path(civicbudget.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    waiting = [e.msgid for e in po if not e.obsolete and (not e.translated() or e.fuzzy)]
    assert waiting == []
    compiled = polib.mofile(str(po_path.with_suffix(".mo")))
    singular = {e.msgid: e.msgstr for e in po if not e.obsolete and not e.msgid_plural}
    assert {e.msgid: e.msgstr for e in compiled if e.msgid and not e.msgid_plural} == singular


@pytest.mark.parametrize("number", ["99999999999999999999999999", "0"])
def test_every_page_with_an_id_answers_an_unknown_or_overlong_id_without_a_server_error(world, number):
    """Every URL pattern that takes an id, with an id that names nothing (or overflows what
    the database stores), GET and an empty POST as an operator: never a 500."""
    import re

    from django.urls import URLPattern, URLResolver, get_resolver

    from factories import operator

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    client = Client(raise_request_exception=False)
    staff_login(client, operator())
    paths = [p for p in walk(get_resolver().url_patterns) if "<int:" in p]
    assert len(paths) >= 30
    for pattern in paths:
        url = "/" + re.sub(r"<[^>]+>", "x", re.sub(r"<int:[^>]+>", number, pattern))
        for method in (client.get, client.post):
            answer = method(url)
            assert answer.status_code < 500, (method.__name__, url, answer.status_code)


def test_healthz_reports_the_database_and_the_task_backlog(db, client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and "no-cache" in answer["Cache-Control"]
    body = answer.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["tasks_waiting"] == 0 and body["tasks_failed"] == 0


def test_healthz_answers_503_without_details_when_the_database_is_down(db, client, monkeypatch):
    from django.db import OperationalError, connection

    def down(*args, **kwargs):
        raise OperationalError('connection to server at "10.0.0.5", port 5432 failed: password for user "cb"')

    with monkeypatch.context() as patched:
        patched.setattr(connection, "cursor", down)
        answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["database"] == "unreachable" and "10.0.0.5" not in answer.content.decode()
