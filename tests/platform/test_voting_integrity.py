"""Voting integrity at rest and at the desk (issue 12, points 5-9): step-1 data kept as hashes
for 10 minutes, voter sessions that end, production's SMS refusal and clean logs, poll-book
sync with forged times and its quarantine, polling points acting only for their community,
partial check-in."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import time
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.settings import sms_backend
from civicbudget.voting import services
from civicbudget.voting.idcard import id_check_char
from civicbudget.voting.models import (
    OfflineCheckIn,
    OneTimeCode,
    PaperEntry,
    Participation,
    PendingVote,
    PollingStation,
    Voter,
)
from civicbudget.voting.sms import last_message_to

from factories import advance_to_vote, make_cycle, staff, staff_login

NOW = timezone.now()


def id_number(born: dt.date, serial: str = "123") -> str:
    first17 = f"460108{born:%Y%m%d}{serial}"
    return first17 + id_check_char(first17)


def _spec(key, projects, budget=1_050_000, max_length=None):
    return {"scope": key, "vote_type": "approval", "budget": str(budget),
            "projects": [{"id": pid, "cost": str(cost), "name": name} for pid, cost, name in projects],
            "rule": {"rule": "greedy"}, "min_length": 1, "max_length": max_length}


@pytest.fixture
def voting(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path  # the SMS file backend writes here
    settings.SMS_BACKEND = "file"
    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    advance_to_vote(cycle, admin, latest=NOW - dt.timedelta(days=2))
    haida, fuan, street = (f"community:{world.haida.pk}", f"community:{world.fuan.pk}",
                           f"street:{world.haidian.pk}")
    scopes = {
        "haida": services.scope_open(cycle=cycle, key=haida, title="海达社区", community=world.haida,
                                     spec=_spec(haida, [("1", 120_000, "楼道灯"), ("3", 90_000, "长者食堂")],
                                                budget=300_000)),
        "fuan": services.scope_open(cycle=cycle, key=fuan, title="福安社区", community=world.fuan,
                                    spec=_spec(fuan, [("4", 100_000, "福安路路灯")], budget=300_000)),
        "haidian": services.scope_open(cycle=cycle, key=street, title="海甸街道", street=world.haidian,
                                       spec=_spec(street, [("5", 600_000, "海甸二东路修缮")])),
    }
    cycle.refresh_from_db()
    return cycle, scopes, admin


def _code(phone: str) -> str:
    return re.search(r"\d{6}", last_message_to(phone)).group()


def _sessions_text() -> str:
    return " ".join(json.dumps(s.get_decoded(), default=str) + " " + s.session_data
                    for s in Session.objects.all())


# -- 5. no identity data at rest outside its place ----------------------------------------------


def test_abandoned_step_one_leaves_no_identity_in_the_session_and_expires(voting, world):
    cycle, _, _ = voting
    number, phone = id_number(dt.date(1990, 1, 1)), "13911112222"
    client = Client()
    response = client.post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": number, "community": world.haida.pk, "basis": "work",
        "phone": phone})
    assert response.status_code == 302
    stored = _sessions_text()
    assert Session.objects.count() == 1
    for secret in (number, "1990-01-01", "19900101", phone, _code(phone)):
        assert secret not in stored, secret
    pending = PendingVote.objects.get()
    row = json.dumps({f.attname: getattr(pending, f.attname) for f in PendingVote._meta.concrete_fields},
                     default=str)
    assert number not in row and phone not in row and len(pending.doc_hash) == 64
    assert pending.expires_at <= timezone.now() + dt.timedelta(minutes=10)
    assert not Voter.objects.exists()
    # Nine minutes on, it is still there; after ten, any new step 1 or the purge removes it.
    assert services.pending_votes_purge(now=timezone.now() + dt.timedelta(minutes=9)) == 0
    assert services.pending_votes_purge(now=timezone.now() + dt.timedelta(minutes=10, seconds=1)) == 1
    assert not PendingVote.objects.exists()


def test_step_one_row_expires_on_access_and_by_the_management_command(voting, world):
    cycle, _, _ = voting
    identity = services.voter_check(cycle=cycle, doc_type="id_card", doc_number=id_number(dt.date(1985, 2, 2)),
                                    community_id=world.haida.pk, basis="live", phone="13800000001")
    old = services.pending_vote_start(cycle=cycle, identity=identity, now=timezone.now() - dt.timedelta(minutes=11))
    assert services.pending_vote_get(cycle=cycle, token=old) is None
    assert not PendingVote.objects.exists()  # deleted on access
    services.pending_vote_start(cycle=cycle, identity=identity, now=timezone.now() - dt.timedelta(minutes=20))
    fresh = services.pending_vote_start(cycle=cycle, identity=identity)  # purges the expired one
    assert PendingVote.objects.count() == 1
    assert services.pending_vote_get(cycle=cycle, token=fresh) is not None
    PendingVote.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    call_command("voting_purge_pending", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert not PendingVote.objects.exists()


def test_code_after_ten_minutes_starts_over_and_session_ends_when_all_is_cast(voting, world):
    cycle, scopes, _ = voting
    phone = "13911113333"
    client = Client()
    who = {"doc_type": "id_card", "doc_number": id_number(dt.date(1991, 3, 3)),
           "community": world.haida.pk, "basis": "live", "phone": phone}
    client.post(f"/cycles/{cycle.pk}/vote/", who)
    PendingVote.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": _code(phone)}, follow=True,
                           HTTP_ACCEPT_LANGUAGE="en")
    assert "10 minutes" in response.content.decode() and not Voter.objects.exists()
    assert not PendingVote.objects.exists()
    # Again, in time: the code is checked against the phone's hash alone.
    client.post(f"/cycles/{cycle.pk}/vote/", who)
    assert client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": _code(phone)}).status_code == 302
    assert not PendingVote.objects.exists()
    assert client.session.get_expiry_age() == 30 * 60  # 30 idle minutes, not 14 days
    client.post(f"/cycles/{cycle.pk}/vote/ballot/", {"scope": scopes["haida"].pk, "projects": ["1"], "token": "a"})
    assert client.get(f"/cycles/{cycle.pk}/vote/ballot/").status_code == 200  # one ballot still to cast
    client.post(f"/cycles/{cycle.pk}/vote/ballot/", {"scope": scopes["haidian"].pk, "projects": ["5"],
                                                      "token": "b"})
    assert Participation.objects.count() == 2
    response = client.get(f"/cycles/{cycle.pk}/vote/ballot/")
    assert response.status_code == 302 and response["Location"].endswith("/vote/")
    assert all("voter" not in s.get_decoded() for s in Session.objects.all())


def test_api_voter_token_expires_after_thirty_minutes(voting, world):
    cycle, scopes, _ = voting
    from civicbudget.voting.api import voter_token

    voter = services.voter_identify(cycle=cycle, doc_type="id_card", doc_number=id_number(dt.date(1980, 1, 1)),
                                    community_id=world.haida.pk, basis="live")
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 31 * 60):
        stale = voter_token(voter)
    fresh = voter_token(voter)
    url = f"/api/cycles/{cycle.pk}/ballots"
    body = {"scope_id": scopes["haida"].pk, "choices": ["1"]}
    assert Client().post(url, body, content_type="application/json",
                         headers={"Authorization": f"Bearer {stale}"}).status_code == 401
    assert Client().post(url, body, content_type="application/json",
                         headers={"Authorization": f"Bearer {fresh}"}).status_code == 201


# -- 6. production refuses unsafe SMS settings; logs hold no phone, code or number ----------------


@pytest.mark.parametrize("backend", ["file", "console"])
def test_production_refuses_file_and_console_sms_unless_overridden(backend):
    with pytest.raises(ImproperlyConfigured, match="CIVICBUDGET_SMS_BACKEND"):
        sms_backend({"CIVICBUDGET_SMS_BACKEND": backend}, production=True)
    assert sms_backend({"CIVICBUDGET_SMS_BACKEND": backend, "CIVICBUDGET_ALLOW_INSECURE_SMS": "1"},
                       production=True) == backend
    assert sms_backend({"CIVICBUDGET_SMS_BACKEND": backend}, production=False) == backend


def test_sms_defaults_and_gateway_settings():
    assert sms_backend({}, production=True) == "disabled"
    assert sms_backend({}, production=False) == "file"
    with pytest.raises(ImproperlyConfigured, match="CIVICBUDGET_SMS_URL"):
        sms_backend({"CIVICBUDGET_SMS_BACKEND": "http"}, production=True)
    assert sms_backend({"CIVICBUDGET_SMS_BACKEND": "http", "CIVICBUDGET_SMS_URL": "https://sms.example"},
                       production=True) == "http"
    with pytest.raises(ImproperlyConfigured, match="not one of"):
        sms_backend({"CIVICBUDGET_SMS_BACKEND": "carrier-pigeon"}, production=False)


def test_production_server_does_not_start_with_the_file_backend(tmp_path):
    env = {**os.environ, "CIVICBUDGET_ENV": "production", "CIVICBUDGET_SECRET_KEY": "x" * 60,
           "CIVICBUDGET_ALLOWED_HOSTS": "pb.example.org", "CIVICBUDGET_DATA_DIR": str(tmp_path),
           "CIVICBUDGET_SMS_BACKEND": "file"}
    env.pop("CIVICBUDGET_ALLOW_INSECURE_SMS", None)
    refused = subprocess.run([sys.executable, "-m", "civicbudget.cli", "manage", "check", "--deploy"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "CIVICBUDGET_SMS_BACKEND=file" in refused.stderr and "CIVICBUDGET_ALLOW_INSECURE_SMS" in refused.stderr
    assert "Traceback" not in refused.stderr
    env["CIVICBUDGET_ALLOW_INSECURE_SMS"] = "1"
    allowed = subprocess.run([sys.executable, "-m", "civicbudget.cli", "manage", "check", "--deploy"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert "civicbudget.W001" in allowed.stdout + allowed.stderr, allowed.stderr


def test_disabled_sms_refuses_the_code_clearly_and_logs_no_phone(voting, world, settings, caplog):
    cycle, _, _ = voting
    settings.SMS_BACKEND = "disabled"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ServiceError, match="could not be sent") as info:
        services.otp_send(phone="13811119999")
    assert info.value.code == "sms_unavailable" and info.value.field == "phone"
    assert not OneTimeCode.objects.exists()
    assert any(r.levelno == logging.ERROR and "disabled" in r.getMessage() for r in caplog.records)
    assert "1381111" not in caplog.text and "9999" not in caplog.text
    page = Client().post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": id_number(dt.date(1990, 1, 1)), "community": world.haida.pk,
        "basis": "live", "phone": "13811119999"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and not PendingVote.objects.exists()


def test_no_phone_code_or_document_number_in_logs_or_audit(voting, world, caplog, capsys):
    cycle, scopes, _ = voting
    caplog.set_level(logging.DEBUG)
    number, phone = id_number(dt.date(1988, 8, 8)), "13722223333"
    client = Client()
    client.post(f"/cycles/{cycle.pk}/vote/", {"doc_type": "id_card", "doc_number": number,
                                               "community": world.haida.pk, "basis": "live", "phone": phone})
    code = _code(phone)
    client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": "000000" if code != "000000" else "111111"})
    client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": code})
    client.post(f"/cycles/{cycle.pk}/vote/ballot/", {"scope": scopes["haida"].pk, "projects": ["1"], "token": "x"})
    # Paper: a check-in (by page) and a refused one for the same number.
    officer = staff(Role.POLLING_OFFICER, world.haida)
    station = services.station_create(actor=officer, cycle=cycle, community=world.haida, name="大厅")
    desk = Client()
    staff_login(desk, officer)
    paper_number = id_number(dt.date(1966, 6, 6), "777")
    for _ in range(2):
        desk.post(f"/staff/cycles/{cycle.pk}/polling/do/", {
            "action": "check_in", "station": station.pk, "doc_type": "id_card", "doc_number": paper_number,
            "community": world.haida.pk, "basis": "live"})
    desk.post(f"/staff/cycles/{cycle.pk}/polling/do/", {
        "action": "check_in", "station": station.pk, "doc_type": "id_card", "doc_number": number,
        "community": world.haida.pk, "basis": "live"})
    assert Participation.objects.filter(station=station).count() == 3
    secrets_ = [number, phone, code, paper_number, number[-8:], phone[-8:]]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    printed = "".join(capsys.readouterr())
    audit = "\n".join(json.dumps({f.attname: getattr(e, f.attname) for f in AuditEvent._meta.concrete_fields},
                                 default=str, ensure_ascii=False) for e in AuditEvent.objects.all())
    assert AuditEvent.objects.filter(action="poll_check_in").exists()
    for secret in secrets_:
        assert secret not in logged, secret
        assert secret not in printed, secret
        assert secret not in audit, secret


# -- 7. poll-book sync with forged times ---------------------------------------------------------


def _book(*rows) -> bytes:
    lines = ["client_id,doc_type,doc_number,community,basis,at"]
    lines += [f"{cid},id_card,{number},{community},live,{timezone.localtime(at):%Y-%m-%d %H:%M:%S}"
              for cid, number, community, at in rows]
    return ("\n".join(lines) + "\n").encode()


def test_poll_book_sync_quarantines_forged_times_and_the_under_age(voting, world):
    cycle, scopes, _ = voting
    a = staff(Role.POLLING_OFFICER, world.haida)
    b = staff(Role.POLLING_OFFICER, world.haida)
    box = services.station_create(actor=a, cycle=cycle, community=world.haida, name="流动票箱", kind="mobile_box")
    opened = cycle.current_stage.started_at
    now = timezone.now()
    first_sync = now - dt.timedelta(hours=6)
    adult, child = dt.date(1970, 1, 1), timezone.localdate(now) - dt.timedelta(days=7 * 365 + 2)
    report = services.station_offline_sync(officer=a, station=box, filename="morning.csv", now=first_sync,
                                           data=_book(("m1", id_number(adult, "001"), "海达社区",
                                                       first_sync - dt.timedelta(hours=1))))
    assert (report.accepted, report.quarantined) == (1, 0)
    assert PollingStation.objects.get(pk=box.pk).last_synced_at == first_sync
    book = _book(
        ("m1", id_number(adult, "001"), "海达社区", first_sync - dt.timedelta(hours=1)),  # synced before
        ("ok", id_number(adult, "002"), "海达社区", now - dt.timedelta(hours=1)),
        ("future", id_number(adult, "003"), "海达社区", now + dt.timedelta(days=1)),
        ("skew", id_number(adult, "004"), "海达社区", now + dt.timedelta(minutes=3)),  # clock a bit fast
        ("early", id_number(adult, "005"), "海达社区", opened - dt.timedelta(days=1)),
        ("stale", id_number(adult, "006"), "海达社区", first_sync - dt.timedelta(hours=2)),
        ("child", id_number(child, "007"), "海达社区", now - dt.timedelta(minutes=30)),
        # A 7-year-old whose time is forged ten years ahead: never aged against that time.
        ("forged", id_number(child, "008"), "海达社区", now + dt.timedelta(days=3653)),
    )
    report = services.station_offline_sync(officer=a, station=box, data=book, filename="evening.csv", now=now)
    assert (report.accepted, report.conflicts, report.already_synced, report.quarantined) == (2, 0, 1, 5)
    assert report.reasons == {"future": 2, "before_window": 1, "before_last_sync": 1, "too_young": 1}
    quarantined = {c.client_id: c for c in OfflineCheckIn.objects.filter(state="quarantined")}
    assert {k: c.reason for k, c in quarantined.items()} == {
        "future": "future", "early": "before_window", "stale": "before_last_sync", "child": "too_young",
        "forged": "future"}
    # Kept, as hashes, with no voter registered and nothing handed out.
    assert all(c.voter_id is None and len(c.doc_hash) == 64 for c in quarantined.values())
    assert Voter.objects.count() == 3  # m1, ok, skew
    assert Participation.objects.filter(station=box).count() == 6
    assert AuditEvent.objects.filter(action="station_offline_sync", after__quarantined=5).exists()

    # An officer who did not sync decides: accept the future one (the box's clock was wrong).
    with pytest.raises(ServiceError, match="did not sync"):
        services.offline_quarantine_decide(officer=a, check_in=quarantined["future"], accept=True, note="clock")
    accepted = services.offline_quarantine_decide(officer=b, check_in=quarantined["future"], accept=True,
                                                  note="box clock one day ahead")
    assert accepted.state == "accepted" and accepted.voter_id
    taken = Participation.objects.filter(voter_id=accepted.voter_id)
    assert taken.count() == 2 and all(p.day <= timezone.localdate() for p in taken)
    # The forged child stays a child on every real day: it cannot be accepted, only rejected.
    with pytest.raises(ServiceError, match="cannot be accepted") as info:
        services.offline_quarantine_decide(officer=b, check_in=quarantined["forged"], accept=True, note="ok")
    assert info.value.code == "too_young"
    rejected = services.offline_quarantine_decide(officer=b, check_in=quarantined["forged"], accept=False,
                                                  note="7 years old")
    assert rejected.state == "rejected" and rejected.voter_id is None
    assert set(AuditEvent.objects.filter(action="offline_quarantine_decide")
               .values_list("after__decision", flat=True)) == {"accept", "reject"}
    with pytest.raises(ServiceError, match="not in quarantine"):
        services.offline_quarantine_decide(officer=b, check_in=rejected, accept=True, note="again")


def test_after_the_window_and_skew_limits():
    start = dt.datetime(2030, 5, 1, 8, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=7)
    problem = services._time_problem
    assert problem(end + dt.timedelta(minutes=1), window=(start, end), previous_sync=None,
                   now=end + dt.timedelta(days=1)) == "after_window"
    assert problem(end, window=(start, end), previous_sync=None, now=end) == ""
    now = start + dt.timedelta(days=1)
    assert problem(now + dt.timedelta(minutes=5), window=(start, None), previous_sync=None, now=now) == ""
    assert problem(now + dt.timedelta(minutes=6), window=(start, None), previous_sync=None, now=now) == "future"
    assert problem(now - dt.timedelta(minutes=4), window=(start, None), previous_sync=now, now=now) == ""
    assert problem(now - dt.timedelta(minutes=6), window=(start, None), previous_sync=now,
                   now=now) == "before_last_sync"


def test_quarantine_is_shown_and_decided_on_the_station_page(voting, world):
    cycle, _, _ = voting
    a = staff(Role.POLLING_OFFICER, world.haida)
    b = staff(Role.POLLING_OFFICER, world.haida)
    box = services.station_create(actor=a, cycle=cycle, community=world.haida, name="学校", kind="school")
    sync = Client()
    staff_login(sync, a)
    from django.core.files.uploadedfile import SimpleUploadedFile

    book = _book(("q1", id_number(dt.date(1960, 1, 1), "010"), "海达社区", timezone.now() + dt.timedelta(hours=5)))
    response = sync.post(f"/staff/cycles/{cycle.pk}/polling/do/", {
        "action": "sync", "station": box.pk, "file": SimpleUploadedFile("box.csv", book)},
        follow=True, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert "1 check-in(s) quarantined" in page and "in the future" in page
    assert 'value="decide_quarantine"' in page
    check_in = OfflineCheckIn.objects.get()
    review = Client()
    staff_login(review, b)
    response = review.post(f"/staff/cycles/{cycle.pk}/polling/do/", {
        "action": "decide_quarantine", "station": box.pk, "check_in": check_in.pk, "decision": "reject",
        "note": "nobody was there at that time"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    check_in.refresh_from_db()
    assert check_in.state == "rejected" and check_in.resolved_by == b
    assert "rejected by an officer" in response.content.decode()


# -- 8. polling officers act only for the communities their polling point serves ----------------


def test_a_polling_point_serves_only_its_own_community(voting, world):
    cycle, scopes, _ = voting
    street_officer = staff(Role.POLLING_OFFICER, world.haidian)  # covers 海达 and 福安
    station = services.station_create(actor=street_officer, cycle=cycle, community=world.haida, name="海达大厅")
    fuan_number = id_number(dt.date(1977, 7, 7), "321")
    with pytest.raises(PermissionDenied, match="serves 海达社区, not 福安社区"):
        services.poll_check_in(officer=street_officer, station=station, doc_type="id_card",
                               doc_number=fuan_number, community_id=world.fuan.pk, basis="live")
    assert not Participation.objects.exists() and not Voter.objects.exists()
    denied = AuditEvent.objects.filter(action="poll_check_in", outcome="denied")
    assert denied.count() == 1 and "福安社区" in denied.get().message
    # Someone who voted online as a 福安 resident cannot be re-homed at 海达's desk.
    fuan_voter = services.voter_identify(cycle=cycle, doc_type="id_card", doc_number=fuan_number,
                                         community_id=world.fuan.pk, basis="live")
    services.ballot_cast(voter=fuan_voter, scope=scopes["fuan"], choices=["4"])
    with pytest.raises(PermissionDenied):
        services.poll_check_in(officer=street_officer, station=station, doc_type="id_card",
                               doc_number=fuan_number, community_id=world.haida.pk, basis="live")
    assert not Participation.objects.filter(station=station).exists()
    # Paper entry of another community's ballot at this box: refused and audited.
    with pytest.raises(PermissionDenied, match="does not hold"):
        services.paper_ballot_enter(officer=street_officer, station=station, scope=scopes["fuan"], number=1,
                                    choices=["4"])
    assert not PaperEntry.objects.exists()
    assert AuditEvent.objects.filter(action="paper_ballot_enter", outcome="denied").exists()
    # Sync: the record is quarantined (never counted, never lost) and the refusal audited.
    report = services.station_offline_sync(
        officer=street_officer, station=station, filename="b.csv",
        data=_book(("f1", id_number(dt.date(1979, 9, 9), "654"), "福安社区", timezone.now())))
    assert (report.accepted, report.quarantined, report.reasons) == (0, 1, {"not_served": 1})
    assert AuditEvent.objects.filter(action="station_offline_sync", outcome="denied").exists()
    other = staff(Role.POLLING_OFFICER, world.haidian)
    with pytest.raises(PermissionDenied):
        services.offline_quarantine_decide(officer=other, check_in=OfflineCheckIn.objects.get(), accept=True,
                                           note="try")
    assert OfflineCheckIn.objects.get().state == "quarantined"


def test_refusals_are_403_in_the_api_and_a_message_on_the_page(voting, world):
    cycle, _, _ = voting
    officer = staff(Role.POLLING_OFFICER, world.haidian)
    station = services.station_create(actor=officer, cycle=cycle, community=world.haida, name="大厅")
    client = Client()
    staff_login(client, officer)
    body = {"doc_type": "id_card", "doc_number": id_number(dt.date(1960, 6, 1), "111"),
            "community_id": world.fuan.pk, "basis": "live"}
    response = client.post(f"/api/polling-stations/{station.pk}/check-ins", body, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert "福安社区" in response.json()["message"]
    page = client.post(f"/staff/cycles/{cycle.pk}/polling/do/", {
        "action": "check_in", "station": station.pk, "doc_type": "id_card", "doc_number": body["doc_number"],
        "community": world.fuan.pk, "basis": "live"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "serves 海达社区, not 福安社区" in page.content.decode()
    assert AuditEvent.objects.filter(action="poll_check_in", outcome="denied").count() == 2
    ok = client.post(f"/api/polling-stations/{station.pk}/check-ins", {**body, "community_id": world.haida.pk},
                     content_type="application/json")
    assert ok.status_code == 200 and len(ok.json()["issued"]) == 2


# -- 9. partial check-in -------------------------------------------------------------------------


def test_partial_check_in_hands_out_only_the_ballots_not_cast(voting, world):
    cycle, scopes, _ = voting
    officer = staff(Role.POLLING_OFFICER, world.haida)
    station = services.station_create(actor=officer, cycle=cycle, community=world.haida, name="大厅")
    number = id_number(dt.date(1982, 2, 2), "246")
    voter = services.voter_identify(cycle=cycle, doc_type="id_card", doc_number=number,
                                    community_id=world.haida.pk, basis="live")
    services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["1"])
    client = Client()
    staff_login(client, officer)
    response = client.post(f"/api/polling-stations/{station.pk}/check-ins", {
        "doc_type": "id_card", "doc_number": number, "community_id": world.haida.pk, "basis": "live"},
        content_type="application/json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["issued"] == [scopes["haidian"].key]
    assert data["already_cast"] == [{"scope": scopes["haida"].key, "channel": "online",
                                     "day": timezone.localdate().isoformat()}]
    assert Participation.objects.get(voter=voter, scope=scopes["haidian"]).station == station
    # All cast now: refused, saying which and how, by day and never by time.
    page = client.post(f"/staff/cycles/{cycle.pk}/polling/do/", {
        "action": "check_in", "station": station.pk, "doc_type": "id_card", "doc_number": number,
        "community": world.haida.pk, "basis": "live"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "Every ballot of this voter was cast already" in text
    assert f"海达社区 already cast on {timezone.localdate().isoformat()} via online" in text
    assert "海甸街道 already cast" in text and "via polling point" in text
    message = re.search(r"Every ballot of this voter[^<]*", text).group()
    assert not re.search(r"\d{1,2}:\d{2}", message)
    assert Participation.objects.filter(voter=voter).count() == 2


def test_partial_check_in_on_the_page_says_what_not_to_hand_out(voting, world):
    cycle, scopes, _ = voting
    officer = staff(Role.POLLING_OFFICER, world.haida)
    station = services.station_create(actor=officer, cycle=cycle, community=world.haida, name="大厅")
    number = id_number(dt.date(1983, 3, 3), "135")
    voter = services.voter_identify(cycle=cycle, doc_type="id_card", doc_number=number,
                                    community_id=world.haida.pk, basis="live")
    services.ballot_cast(voter=voter, scope=scopes["haidian"], choices=["5"])
    client = Client()
    staff_login(client, officer)
    page = client.post(f"/staff/cycles/{cycle.pk}/polling/do/", {
        "action": "check_in", "station": station.pk, "doc_type": "id_card", "doc_number": number,
        "community": world.haida.pk, "basis": "live"}, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "hand out the ballots of 海达社区" in page
    assert "Do not hand out: 海甸街道 already cast on" in page and "via online" in page
