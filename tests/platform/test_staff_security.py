"""Staff accounts under attack: lock-out, audit of failed logins, two-factor sign-in,
CSRF on session writes of the API, scoped API tokens, and no demo account in production."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from civicbudget.accounts.models import ApiToken, Role
from civicbudget.accounts.security import DEMO_PASSWORD
from civicbudget.accounts.services import staff_create
from civicbudget.accounts.tokens import token_create, token_hash
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.services import stage_advance
from civicbudget.demo.guard import demo_refusal
from civicbudget.errors import ServiceError
from civicbudget.proposals.models import Proposal

from factories import PASSWORD, UserFactory, make_cycle, operator, staff, staff_login

WRONG = "not-the-password-42"


def _login(client: Client, username: str, password: str, **extra):
    return client.post("/staff/login/", {"username": username, "password": password}, **extra)


def _code(device: TOTPDevice, ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + ahead * device.step
    return f"{totp.token():0{device.digits}d}"


# --- throttling and its audit ---------------------------------------------------------------


def test_eleventh_wrong_password_in_a_row_is_locked_and_every_failure_audited(world):
    user = staff(Role.STREET_OFFICER, world.haidian)
    client = Client()
    for attempt in range(10):
        answer = _login(client, user.username, WRONG)
        assert answer.status_code in (200, 429), attempt
    # The 11th try is refused even with the right password: the name is locked.
    locked = _login(client, user.username, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    events = AuditEvent.objects.filter(object_id=str(user.pk), object_type="accounts.user")
    actions = [e.action for e in events.order_by("id")]
    assert actions == ["login_failed"] * 9 + ["login_locked", "login_locked"]
    assert all(e.outcome == "denied" for e in events)
    assert "failure 3 of 10" in events.order_by("id")[2].message
    assert "locked after 10 failed attempts" in events.order_by("id").last().message
    # No password, right or wrong, anywhere in the trail or in axes' table.
    from axes.models import AccessAttempt

    stored = " ".join(e.message for e in AuditEvent.objects.all())
    stored += " ".join(a.post_data for a in AccessAttempt.objects.all())
    assert WRONG not in stored and PASSWORD not in stored
    # Another address guessing the same name is locked out too (per user name).
    other = _login(Client(), user.username, PASSWORD, REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 429


def test_lock_out_keys_on_the_canonical_user_name(world):
    user = staff(Role.STREET_OFFICER, world.haidian)
    client = Client()
    for name in [user.username.upper(), f" {user.username} ", user.username] * 4:
        _login(client, name, WRONG)
    assert _login(client, user.username, PASSWORD).status_code == 429


def test_a_successful_login_resets_the_count(world):
    user = staff(Role.STREET_OFFICER, world.haidian)
    client = Client()
    for _ in range(9):
        _login(client, user.username, WRONG)
    assert _login(client, user.username, PASSWORD).status_code == 302
    client = Client()
    for _ in range(9):
        _login(client, user.username, WRONG)
    assert _login(client, user.username, PASSWORD).status_code == 302


def test_failed_login_of_an_unknown_name_is_audited(db):
    _login(Client(), "nobody-here", WRONG)
    event = AuditEvent.objects.get(action="login_failed")
    assert "nobody-here" in event.message and event.actor_label == "anonymous"


# --- password policy --------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["short-pw-1", "123456789012345", DEMO_PASSWORD,
                                      "password1234"])
def test_password_policy_refuses_weak_passwords(world, password):
    with pytest.raises(ServiceError) as refused:
        staff_create(actor=operator(), username="li.ming", password=password,
                     district=world.district)
    assert refused.value.field == "password"


def test_password_policy_accepts_a_long_unusual_password(world):
    user = staff_create(actor=operator(), username="li.ming", password="湖边-lantern-梧桐-87",
                        district=world.district)
    assert user.check_password("湖边-lantern-梧桐-87")


# --- two-factor sign-in -----------------------------------------------------------------------


def test_district_admin_must_enrol_then_give_a_code_at_each_login(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    client = Client()
    assert _login(client, admin.username, PASSWORD).status_code == 302
    # Password alone opens no staff page and no staff endpoint.
    answer = client.get("/staff/")
    assert answer.status_code == 302 and answer["Location"].startswith("/staff/two-factor/enrol/")
    assert client.get("/staff/audit/").status_code == 302
    api = client.get("/api/audit")
    assert api.status_code == 401 and api.json()["code"] == "not_authenticated"
    enrol = client.get("/staff/two-factor/enrol/?next=/staff/audit/")
    html = enrol.content.decode()
    assert enrol.status_code == 200 and "<svg" in html and "otpauth://totp/" in html
    assert "<script" not in html.split("<main")[-1]
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    assert client.post("/staff/two-factor/enrol/", {"code": "000000"}).status_code == 400
    device.refresh_from_db()
    device.throttle_reset()  # a wrong code makes the next try wait a second, then two, ...
    done = client.post("/staff/two-factor/enrol/", {"code": _code(device), "next": "/staff/audit/"})
    assert done.status_code == 302 and done["Location"] == "/staff/audit/"
    assert client.get("/staff/").status_code == 200
    assert client.get("/api/audit").status_code == 200
    assert AuditEvent.objects.filter(action="otp_enrol", actor=admin).exists()

    # Next login: the password, then the code page.
    client = Client()
    _login(client, admin.username, PASSWORD)
    answer = client.get("/staff/")
    assert answer["Location"].startswith("/staff/two-factor/?next=")
    wrong = client.post("/staff/two-factor/", {"code": "123 456"})
    assert wrong.status_code == 400
    assert AuditEvent.objects.filter(action="otp_failed", outcome="denied").exists()
    device.refresh_from_db()
    device.throttle_reset()
    ok = client.post("/staff/two-factor/", {"code": _code(device, ahead=1), "next": "/staff/"})
    assert ok.status_code == 302 and ok["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_operator_session_without_second_factor_is_refused(db):
    client = Client()
    client.force_login(operator())
    assert client.get("/staff/")["Location"].startswith("/staff/two-factor/enrol/")
    assert client.get("/api/audit").status_code == 401


def test_second_factor_is_optional_for_other_roles_until_they_enrol(world):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    client = Client()
    _login(client, officer.username, PASSWORD)
    assert client.get("/staff/").status_code == 200
    client.get("/staff/two-factor/enrol/")
    device = TOTPDevice.objects.get(user=officer)
    assert client.post("/staff/two-factor/enrol/", {"code": _code(device)}).status_code == 302
    # Having chosen a second factor, the officer's next login asks for it.
    client = Client()
    _login(client, officer.username, PASSWORD)
    assert client.get("/staff/")["Location"].startswith("/staff/two-factor/")


# --- CSRF on session writes of the API --------------------------------------------------------


@pytest.fixture
def collecting(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    now = timezone.now() + dt.timedelta(days=3650)
    while cycle.current_stage is None or cycle.current_stage.kind != "collect":
        stage_advance(actor=admin, cycle=cycle, now=now)
        now += dt.timedelta(days=400)
        cycle.refresh_from_db()
    return cycle


def _paper(world) -> dict:
    return {"community_id": world.haida.pk, "text": "海达路口装红绿灯", "proposer_name": "刘",
            "channel": "paper"}


def test_cookie_session_write_without_csrf_token_is_refused(collecting, world):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    client = Client(enforce_csrf_checks=True)
    staff_login(client, officer)
    url = f"/api/cycles/{collecting.pk}/proposals"
    refused = client.post(url, _paper(world), content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert not Proposal.objects.exists()
    # With the back-office's CSRF token the same write goes through, as a paper proposal.
    client.get("/staff/")
    token = client.cookies["csrftoken"].value
    done = client.post(url, _paper(world), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert done.status_code == 201
    assert Proposal.objects.get().channel == "paper"
    # Residents (no session) need no token, and cannot pick a staff channel.
    resident = Client(enforce_csrf_checks=True).post(
        url, {**_paper(world), "text": "福安路装路灯", "phone": "13700001111"},
        content_type="application/json")
    assert resident.status_code == 201, resident.json()
    assert Proposal.objects.filter(channel="online").count() == 1


def test_every_session_authenticated_api_write_checks_csrf(collecting, world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    client = Client(enforce_csrf_checks=True)
    staff_login(client, admin)
    from civicbudget.api.endpoints import api

    writes = 0
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for op in view.operations:
                methods = set(op.methods) - {"GET", "HEAD", "OPTIONS"}
                if not methods or not op.auth_callbacks:
                    continue
                url = "/api" + (prefix.rstrip("/") + "/" + path.lstrip("/")).replace("//", "/")
                url = url.replace("{", "").replace("}", "")
                for name in ("cycle_id", "district_id", "project_id", "review_id", "ballot_id",
                             "body_id", "sitting_id", "operation_id", "publication_id",
                             "scope_id", "reply_id", "update_id", "id"):
                    url = url.replace(name, str(collecting.pk))
                for method in methods:
                    answer = client.generic(method, url, "{}", content_type="application/json")
                    if answer.status_code == 401:
                        continue  # voter-token endpoints: not a session at all
                    writes += 1
                    assert answer.status_code == 403, (method, url, answer.status_code)
                    assert answer.json()["code"] == "csrf_failed", (method, url)
    assert writes >= 20


# --- API tokens -------------------------------------------------------------------------------


def test_bearer_token_scopes_expiry_and_revocation(collecting, world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    token, clear = token_create(actor=admin, owner=admin, name="sync", scopes=["read"], days=30)
    assert token.token_hash == token_hash(clear) and clear not in str(ApiToken.objects.values())
    client = Client(enforce_csrf_checks=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {clear}"}
    assert client.get("/api/audit", **auth).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    # A write needs its own scope; a token never needs the CSRF token (no cookie involved).
    refused = client.post(f"/api/cycles/{collecting.pk}/advance", {"reason": "x"},
                          content_type="application/json", **auth)
    assert refused.status_code == 403 and refused.json()["code"] == "token_scope"
    _write, clear2 = token_create(actor=admin, owner=admin, name="w", scopes=["cycles:write"])
    allowed = client.post(f"/api/cycles/{collecting.pk}/advance", {"reason": "x"},
                          content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {clear2}")
    assert allowed.status_code not in (401, 403)
    # The token's owner's roles still decide: an officer's token cannot do an admin's work.
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    _t, clear3 = token_create(actor=officer, owner=officer, name="o", scopes=["cycles:write"])
    denied = client.post(f"/api/cycles/{collecting.pk}/advance", {"reason": "x"},
                         content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {clear3}")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = client.get("/api/audit", **auth)
    assert expired.status_code == 401 and expired.json()["code"] == "token_expired"
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now(),
                                                expires_at=timezone.now() + dt.timedelta(days=1))
    assert client.get("/api/audit", **auth).json()["code"] == "token_invalid"
    garbage = client.get("/api/audit", HTTP_AUTHORIZATION="Bearer cbt_guess")
    assert garbage.status_code == 401 and garbage.json()["code"] == "token_invalid"
    assert client.get("/api/audit").json()["code"] == "not_authenticated"


def test_token_creation_is_checked_and_audited(world):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    other = staff(Role.COMMUNITY_OFFICER, world.haida)
    with pytest.raises(ServiceError) as refused:
        token_create(actor=other, owner=admin, name="x", scopes=["read"])
    assert refused.value.code == "permission_denied"
    for kwargs, field in [({"scopes": ["everything"]}, "scopes"), ({"scopes": []}, "scopes"),
                          ({"scopes": ["read"], "days": 0}, "days"),
                          ({"scopes": ["read"], "name": ""}, "name")]:
        with pytest.raises(ServiceError) as bad:
            token_create(actor=admin, owner=admin, **{"name": "x", **kwargs})
        assert bad.value.field == field
    token_create(actor=admin, owner=admin, name="ok", scopes=["read"])
    assert AuditEvent.objects.filter(action="api_token_create", actor=admin).count() == 1


def test_token_management_command_and_back_office_page(world, capsys):
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    call_command("api_token", "create", admin.username, "--name", "nightly", "--scope", "read",
                 "--days", "7")
    clear = capsys.readouterr().out.strip().splitlines()[-1]
    assert Client().get("/api/audit", HTTP_AUTHORIZATION=f"Bearer {clear}").status_code == 200
    token = ApiToken.objects.get(name="nightly")
    call_command("api_token", "revoke", str(token.pk))
    assert Client().get("/api/audit", HTTP_AUTHORIZATION=f"Bearer {clear}").status_code == 401

    client = staff_login(Client(), admin)
    page = client.post("/staff/api-tokens/", {"name": "gis", "scopes": ["read", "places:write"],
                                               "days": "30"})
    html = page.content.decode()
    made = ApiToken.objects.get(name="gis")
    assert page.status_code == 200 and made.prefix in html and made.scopes == ["places:write", "read"]
    shown = html.split('id="new-token"')[1].split(">")[1].split("<")[0]
    assert token_hash(shown) == made.token_hash
    assert shown not in client.get("/staff/api-tokens/").content.decode()  # shown once
    client.post(f"/staff/api-tokens/{made.pk}/revoke/")
    made.refresh_from_db()
    assert made.revoked_at is not None


# --- demo accounts and production -------------------------------------------------------------


def test_production_check_refuses_demo_accounts_until_removed(settings, world):
    settings.PRODUCTION = True
    UserFactory(username="operator", is_superuser=True, is_staff=True)
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    admin.set_password(DEMO_PASSWORD)
    admin.save()
    [error] = [e for e in run_checks() if e.id == "civicbudget.E001"]
    assert "operator" in error.msg and admin.username in error.msg
    assert "civicbudget manage remove_demo_accounts" in error.hint
    call_command("remove_demo_accounts")
    assert [e for e in run_checks() if e.id == "civicbudget.E001"] == []
    admin.refresh_from_db()
    assert not admin.has_usable_password()
    settings.PRODUCTION = False
    UserFactory(username="observer")
    assert [e for e in run_checks() if e.id == "civicbudget.E001"] == []


def test_demo_logins_cannot_log_in_under_production(settings, world):
    demo = UserFactory(username="meilan-admin")
    demo.set_password(DEMO_PASSWORD)
    demo.save()
    other = staff(Role.STREET_OFFICER, world.haidian)
    other.set_password(DEMO_PASSWORD)
    other.save()
    settings.PRODUCTION = True
    assert _login(Client(), "meilan-admin", DEMO_PASSWORD).status_code == 200  # the form again
    assert _login(Client(), other.username, DEMO_PASSWORD).status_code == 200
    settings.PRODUCTION = False
    assert _login(Client(), other.username, DEMO_PASSWORD).status_code == 302


def test_demo_refuses_a_database_with_other_data(world):
    assert "refuses to write into this database" in demo_refusal()


def test_demo_refuses_the_production_environment(tmp_path):
    env = {**os.environ, "CIVICBUDGET_ENV": "production", "CIVICBUDGET_SECRET_KEY": "k" * 50,
           "CIVICBUDGET_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "civicbudget.cli", "demo", "--no-serve"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "CIVICBUDGET_ENV=production" in done.stderr
    assert not (tmp_path / "civicbudget.sqlite3").exists()


@pytest.mark.slow
def test_serve_refuses_to_start_in_production_while_a_demo_account_exists(tmp_path):
    env = {**os.environ, "CIVICBUDGET_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("CIVICBUDGET_ENV", None)

    def run(*args, **extra):
        return subprocess.run([sys.executable, "-m", "civicbudget.cli", *args],
                              env={**env, **extra}, capture_output=True, text=True, timeout=300)

    assert run("manage", "migrate", "-v", "0").returncode == 0
    assert run("manage", "shell", "-c", "from civicbudget.accounts.models import User; "
               "User.objects.create(username='operator', is_superuser=True)").returncode == 0
    production = {"CIVICBUDGET_ENV": "production", "CIVICBUDGET_SECRET_KEY": "k" * 50}
    served = run("serve", "--bind", "127.0.0.1:1", **production)
    assert served.returncode == 1
    assert "civicbudget.E001" in served.stderr and "remove_demo_accounts" in served.stderr
    assert run("manage", "remove_demo_accounts", **production).returncode == 0
    assert run("manage", "check", **production).returncode == 0
