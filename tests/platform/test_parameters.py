"""Every route, walked with out-of-range and non-numeric parameters: never a 500.

Pages come from Django's URL map (``get_resolver``), API routes and their query parameters
from the OpenAPI document; a district admin is logged in, over a cycle with every kind of row.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from factories import build_after, staff_login

BAD_VALUES = ["-1", "0", "99999999999999999999", "1e9", "abc", "²", "١٢", "1.5", "", "%00", "x" * 300]
# Query parameters the pages read; any new one should be added here.
PAGE_PARAMETERS = ["page", "community", "street", "station", "limit", "offset", "format", "code",
                   "action", "outcome", "scope", "project", "district", "cycle", "q", "sheet"]


def _page_paths(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _page_paths(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _fill(route: str, value: str) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: value if (m.group(1) or "str") == "int" else "X1", route)


@pytest.fixture
def after(world, settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return build_after(world, settings, tmp_path)


@pytest.fixture
def admin(after) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_login(client, after.admin)
    return client


def _get(client: Client, url: str, params: dict):
    response = client.get(url, params)
    assert response.status_code < 500, (url, params, response.status_code)
    return response


def test_every_page_takes_hostile_query_parameters_without_a_500(admin, after):
    paths = [p for p in _page_paths(get_resolver().url_patterns)
             if not p.startswith("api/") and "i18n" not in p and "media" not in p]
    assert len(paths) > 30
    ids = [str(after.cycle.pk), "99999999999999999999"]
    walked = 0
    for route in paths:
        if route.endswith("logout/"):
            continue
        for pk in ids:
            url = "/" + _fill(route, pk)
            for value in BAD_VALUES:
                _get(admin, url, dict.fromkeys(PAGE_PARAMETERS, value))
                walked += 1
    assert walked > 300


def test_a_bad_number_on_a_page_answers_a_400_page_naming_the_parameter(admin, after):
    for value in ("abc", "-1", "99999999999999999999", "²"):
        response = admin.get(f"/cycles/{after.cycle.pk}/projects/", {"community": value})
        assert response.status_code == 400, value
        assert "community" in response.content.decode()
        assert response["Content-Type"].startswith("text/html")


def test_every_api_route_takes_hostile_query_parameters_without_a_500(admin, after):
    schema = admin.get("/api/openapi.json").json()
    walked = 0
    for route, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            for pk in (str(after.cycle.pk), "99999999999999999999", "-1"):
                url = re.sub(r"\{\w+\}", pk, route)
                for value in BAD_VALUES:
                    params = dict.fromkeys(names, value)
                    if method == "get":
                        response = admin.get(url, params)
                    else:
                        response = getattr(admin, method)(url + "?" + "&".join(f"{n}={value}" for n in names),
                                                          "{}", content_type="application/json")
                    assert response.status_code < 500, (method, url, params, response.status_code)
                    assert response["Content-Type"].startswith("application/json"), (method, url)
                    walked += 1
    assert walked > 500


@pytest.mark.parametrize("value", ["-1", "99999999999999999999", "abc", "1001"])
def test_audit_list_parameters_out_of_range_answer_a_4xx_in_the_documented_format(admin, value):
    for name in ("limit", "offset"):
        response = admin.get("/api/audit", {name: value})
        if name == "offset" and value == "1001":
            assert response.status_code == 200
            continue
        assert response.status_code == 422, (name, value, response.content)
        body = response.json()
        assert body["code"] == "invalid_parameter" and name in body["message"]
        assert body["field"] == name


def test_an_oversized_api_body_answers_the_json_error(admin, after, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = admin.post(f"/api/cycles/{after.cycle.pk}/advance", '{"reason": "' + "x" * 5000 + '"}',
                          content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    response = admin.post(f"/api/cycles/{after.cycle.pk}/proposals",
                          {"text": "x" * 5000}, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    page = admin.post(f"/cycles/{after.cycle.pk}/propose/", {"text": "x" * 5000})
    assert page.status_code in (400, 413) and page["Content-Type"].startswith("text/html")


FORM_FIELDS = ["amount_yuan", "answer", "attendees", "ballot", "basis", "birth_date", "body", "check_in", "code", "comment", "communities", "community", "cost_yuan", "criteria", "departments", "description", "doc_number", "doc_type", "estimated_cost_yuan", "expected_stage_id", "held_at", "held_on", "implementation", "kind", "level", "max_choices", "member", "members", "minutes", "name", "note", "notes", "number", "objection", "observers", "operation", "opinion", "participant_count", "participants", "phone", "place", "place_id", "points", "project", "projects", "proposals", "publication", "reason", "resolution", "review", "round", "rule", "scope", "score", "sitting", "station", "streets", "text", "token", "percent", "step", "to_yuan", "sheet", "sheets", "decision"]
ACTIONS = ["advance", "answer", "body", "change", "check_in", "close", "cofund", "cost", "criteria", "decide", "enter", "flag", "freeze", "group", "letters", "merge", "move", "observers", "open", "prepare", "progress", "promote", "publish", "rename", "report", "resolve_flag", "resolve_offline", "roundtable", "route", "rule", "screen", "spend", "split", "station", "sync", "undo", "verdict", "vote", "work", "code", "send_code", "community", "import", "street", "print"]


@pytest.mark.slow
def test_every_page_form_takes_non_numeric_and_huge_ids_without_a_500(admin, after):
    paths = [p for p in _page_paths(get_resolver().url_patterns)
             if not p.startswith("api/") and "i18n" not in p and "logout" not in p and "login" not in p]
    failures = []
    for route in paths:
        url = "/" + _fill(route, str(after.cycle.pk))
        for value in ("abc", "99999999999999999999", "²"):
            for action in ACTIONS:
                data = {**dict.fromkeys(FORM_FIELDS, value), "action": action, "kind": action}
                try:
                    response = admin.post(url, data)
                except Exception as exc:  # the test client re-raises what would be a 500
                    failures.append((url, value, action, repr(exc)[:120]))
                    continue
                if response.status_code >= 500:
                    failures.append((url, value, action, response.status_code))
    assert not failures, "\n".join(map(str, failures[:40])) + f"\n{len(failures)} in all"


def test_a_form_id_that_is_not_a_number_answers_a_400_page(admin, after):
    response = admin.post(f"/cycles/{after.cycle.pk}/publication/", {"publication": "abc", "name": "王五",
                                                                   "text": "异议"})
    assert response.status_code == 400
    assert "not a number" in response.content.decode()
