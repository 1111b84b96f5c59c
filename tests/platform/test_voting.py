"""Voting: eligibility, identity by keyed hash, one vote per scope across channels, paper
double entry, the ballot log, counting at close, the export and its verifier."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.cycles.services import stage_advance
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.ledger import parse_entry
from civicbudget.ledger.merkle import leaf_hash
from civicbudget.voting import logstore, services
from civicbudget.voting.idcard import DocumentError, age_on, id_check_char, parse_id_number
from civicbudget.voting.models import (
    LogCheckpoint,
    LogEntry,
    PaperEntry,
    Participation,
    PendingBallot,
    ScopeResult,
    Submission,
    Voter,
)
from civicbudget.voting.sms import last_message_to

from factories import advance_to_vote, make_cycle, staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = timezone.now()


def id_number(born: dt.date, serial: str = "123") -> str:
    first17 = f"460108{born:%Y%m%d}{serial}"
    return first17 + id_check_char(first17)


def _spec(key, projects, *, max_length=None, budget=1_050_000, vote_type="approval", rule="greedy"):
    return {"scope": key, "vote_type": vote_type, "budget": str(budget),
            "projects": [{"id": pid, "cost": str(cost), "name": name} for pid, cost, name in projects],
            "rule": {"rule": rule}, "min_length": 1, "max_length": max_length}


@pytest.fixture
def voting(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path  # the SMS file backend writes here
    cycle = make_cycle(world.district, streets=[world.haidian, world.renmin],
                       communities=[world.haida, world.fuan, world.baisha])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    advance_to_vote(cycle, admin, latest=NOW)
    scopes = {
        "haida": services.scope_open(cycle=cycle, key=f"community:{world.haida.pk}", title="海达社区",
                                     community=world.haida, spec=_spec(f"community:{world.haida.pk}", [
                                         ("1", 120_000, "3栋楼道灯"), ("2", 200_000, "东门监控"),
                                         ("3", 90_000, "长者食堂")], max_length=2, budget=300_000)),
        "fuan": services.scope_open(cycle=cycle, key=f"community:{world.fuan.pk}", title="福安社区",
                                    community=world.fuan, spec=_spec(f"community:{world.fuan.pk}", [
                                        ("4", 100_000, "福安路路灯")], budget=300_000)),
        "haidian": services.scope_open(cycle=cycle, key=f"street:{world.haidian.pk}", title="海甸街道",
                                       street=world.haidian, spec=_spec(f"street:{world.haidian.pk}", [
                                           ("5", 600_000, "海甸二东路修缮"), ("6", 500_000, "滨江步道照明")])),
    }
    cycle.refresh_from_db()
    return cycle, scopes, admin


def _phone(born: dt.date, serial: str) -> str:
    """A mobile of each test voter's own: one phone confirms at most two voters."""
    return f"138{born:%y%m}{serial[-3:].zfill(3)}{born.day % 10}"


def _voter(cycle, world, born=dt.date(1980, 5, 1), serial="123", community=None, now=None):
    return services.voter_identify(cycle=cycle, doc_type="id_card", doc_number=id_number(born, serial),
                                   community_id=(community or world.haida).pk, basis="live",
                                   phone=_phone(born, serial), now=now)


def test_id_numbers_check_digit_and_birth_date():
    number = id_number(dt.date(2003, 6, 1))
    assert parse_id_number(number) == dt.date(2003, 6, 1)
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(DocumentError, match="check digit"):
        parse_id_number(wrong)
    with pytest.raises(DocumentError):
        parse_id_number("46010820030231123" + id_check_char("46010820030231123"))  # 31 Feb
    assert age_on(dt.date(2000, 2, 29), dt.date(2015, 2, 28)) == 14
    assert age_on(dt.date(2000, 2, 29), dt.date(2015, 3, 1)) == 15


def test_fifteen_on_voting_day_in_shanghai_but_not_a_day_before(voting, world):
    cycle, _, _ = voting
    # 16:30 UTC on 31 May is already 1 June in Asia/Shanghai.
    now = dt.datetime(2030, 5, 31, 16, 30, tzinfo=dt.UTC)
    assert timezone.localdate(now) == dt.date(2030, 6, 1)
    voter = _voter(cycle, world, born=dt.date(2015, 6, 1), now=now)
    assert voter.age_band == "15-24"
    with pytest.raises(ServiceError, match="15 or older") as info:
        _voter(cycle, world, born=dt.date(2015, 6, 2), serial="456", now=now)
    assert info.value.code == "too_young"
    assert Voter.objects.count() == 1


def test_only_keyed_hashes_are_stored(voting, world):
    cycle, _, _ = voting
    number = id_number(dt.date(1980, 5, 1))
    voter = _voter(cycle, world)
    assert len(voter.doc_hash) == 64 and number not in voter.doc_hash
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            for row in cursor.fetchall():
                assert number not in " ".join(map(str, row)), table
                assert _phone(dt.date(1980, 5, 1), "123") not in " ".join(map(str, row)), table


def test_one_time_code_by_sms(voting, world):
    services.otp_send(phone="13812345678")
    text = last_message_to("13812345678")
    code = "".join(ch for ch in text if ch.isdigit())[:6]
    assert not services.otp_verify(phone="13812345678", code="000000" if code != "000000" else "111111")
    assert services.otp_verify(phone="13812345678", code=code)
    assert not services.otp_verify(phone="13812345678", code=code)  # once only


def test_online_ballot_then_a_second_attempt_is_refused_with_date_and_channel(voting, world):
    cycle, scopes, _ = voting
    voter = _voter(cycle, world)
    cast = services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["3", "1"])
    assert len(cast.receipt) == 64
    # The ballot waits in the open batch (a batch of 100 by default), its receipt known.
    entry = PendingBallot.objects.get(leaf=cast.receipt)
    assert '"ballot":["1","3"]' in entry.data and "voter" not in entry.data
    with pytest.raises(services.AlreadyVoted, match="Already voted on .* via online"):
        services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["2"])
    assert PendingBallot.objects.count() == 1 and not LogEntry.objects.exists()
    logstore.batch_flush(cycle.pk, force=True)
    assert LogEntry.objects.get().leaf == cast.receipt and not PendingBallot.objects.exists()


def test_a_logged_ballot_is_the_ledger_entry_byte_for_byte(voting, world):
    cycle, scopes, _ = voting
    receipts = [services.ballot_cast(voter=_voter(cycle, world, serial=f"{300 + i}"),
                                     scope=scopes["haida"], choices=[["1"], ["3", "2"]][i % 2],
                                     token=f"t{i}").receipt for i in range(3)]
    logstore.batch_flush(cycle.pk, force=True)
    # The batch is written in leaf order, whatever the order the ballots came in.
    assert list(LogEntry.objects.order_by("seq").values_list("seq", "leaf")) == list(enumerate(sorted(receipts)))
    for receipt in receipts:
        stored = LogEntry.objects.get(leaf=receipt)
        entry = parse_entry(stored.data.encode())
        assert (entry.cycle, entry.channel) == (f"cycle-{cycle.pk}", "online")
        assert entry.encode() == stored.data.encode()
        assert leaf_hash(stored.data.encode()).hex() == receipt
    assert parse_entry(LogEntry.objects.get(leaf=receipts[2]).data.encode()).ballot == ("1",)
    # Kept for retries, but sealed: the rows cannot be lined up with the log.
    assert Submission.objects.count() == 3 and not Submission.objects.filter(receipt__in=receipts).exists()
    assert LogCheckpoint.objects.filter(size=3).exists()  # every batch ends in a checkpoint


def test_a_retried_submission_returns_the_same_receipt(voting, world):
    cycle, scopes, _ = voting
    voter = _voter(cycle, world)
    first = services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["1"], token="abc")
    again = services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["1"], token="abc")
    assert (again.receipt, again.repeated) == (first.receipt, True)
    assert PendingBallot.objects.count() == 1


@pytest.mark.parametrize(("choices", "why"), [
    (["1", "2", "3"], "at most 2"),
    (["1", "1"], "twice"),
    (["9"], "not on the ballot"),
    ([], "at least 1"),
])
def test_ballot_rules_are_enforced_on_the_server(voting, world, choices, why):
    cycle, scopes, _ = voting
    voter = _voter(cycle, world)
    with pytest.raises(ServiceError, match=why):
        services.ballot_cast(voter=voter, scope=scopes["haida"], choices=choices)
    assert not Participation.objects.exists() and not LogEntry.objects.exists()


def test_budget_ballot_refuses_choices_over_the_pool(voting, world):
    cycle, scopes, _ = voting
    spec = dict(scopes["haidian"].spec)
    spec["max_sum_cost"] = "1050000"
    scopes["haidian"].spec = spec
    scopes["haidian"].save()
    voter = _voter(cycle, world)
    with pytest.raises(ServiceError, match="over"):
        services.ballot_cast(voter=voter, scope=scopes["haidian"], choices=["5", "6"])


def test_projects_only_from_the_voters_scopes(voting, world):
    cycle, scopes, _ = voting
    voter = _voter(cycle, world)
    with pytest.raises(ServiceError) as info:
        services.ballot_cast(voter=voter, scope=scopes["fuan"], choices=["4"])
    assert info.value.code == "wrong_scope"


def test_voting_only_while_the_stage_is_open(voting, world):
    cycle, scopes, admin = voting
    voter = _voter(cycle, world)
    stage_advance(actor=admin, cycle=cycle, reason="close")
    with pytest.raises(PreconditionFailed, match="not open"):
        services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["1"])


def test_paper_then_online_and_online_then_paper_are_refused(voting, world):
    cycle, scopes, _ = voting
    officer = staff(Role.POLLING_OFFICER, world.haida)
    station = services.station_create(actor=officer, cycle=cycle, community=world.haida, name="社区服务大厅")
    made = services.poll_check_in(officer=officer, station=station, doc_type="id_card",
                                  doc_number=id_number(dt.date(1970, 1, 1)), community_id=world.haida.pk,
                                  basis="live")
    assert {p.scope.key for p in made.issued} == {scopes["haida"].key, scopes["haidian"].key}
    paper_voter = Voter.objects.get()
    with pytest.raises(services.AlreadyVoted, match="via polling point"):
        services.ballot_cast(voter=paper_voter, scope=scopes["haida"], choices=["1"])
    online = _voter(cycle, world)
    services.ballot_cast(voter=online, scope=scopes["haida"], choices=["1"])
    services.ballot_cast(voter=online, scope=scopes["haidian"], choices=["5"])
    with pytest.raises(services.AlreadyVoted, match="via online"):
        services.poll_check_in(officer=officer, station=station, doc_type="id_card",
                               doc_number=id_number(dt.date(1980, 5, 1)), community_id=world.haida.pk,
                               basis="live")
    # The refused check-in handed out nothing.
    assert Participation.objects.filter(voter=online).count() == 2
    assert not Participation.objects.filter(voter=online, channel="polling").exists()


def test_polling_officer_of_another_community_is_refused(voting, world):
    cycle, scopes, _ = voting
    officer = staff(Role.POLLING_OFFICER, world.fuan)
    with pytest.raises(PermissionDenied):
        services.station_create(actor=officer, cycle=cycle, community=world.haida, name="x")
    own = staff(Role.POLLING_OFFICER, world.haida)
    station = services.station_create(actor=own, cycle=cycle, community=world.haida, name="大厅")
    with pytest.raises(PermissionDenied):
        services.paper_ballot_enter(officer=officer, station=station, scope=scopes["haida"], number=1,
                                    choices=["1"])
    assert not PaperEntry.objects.exists()


def test_paper_double_entry_reconciliation_and_review(voting, world):
    cycle, scopes, _ = voting
    a = staff(Role.POLLING_OFFICER, world.haida)
    b = staff(Role.POLLING_OFFICER, world.haida)
    c = staff(Role.POLLING_OFFICER, world.haidian)
    station = services.station_create(actor=a, cycle=cycle, community=world.haida, name="流动票箱1",
                                      kind="mobile_box")
    for i in range(2):
        services.poll_check_in(officer=a, station=station, doc_type="id_card",
                               doc_number=id_number(dt.date(1960, 1, 1), f"{i:03d}"),
                               community_id=world.haida.pk, basis="live")
    scope = scopes["haida"]
    first = services.paper_ballot_enter(officer=a, station=station, scope=scope, number=1, choices=["2"])
    assert first.state == "waiting" and not PendingBallot.objects.exists()
    with pytest.raises(ServiceError, match="second officer"):
        services.paper_ballot_enter(officer=a, station=station, scope=scope, number=1, choices=["2"])
    second = services.paper_ballot_enter(officer=b, station=station, scope=scope, number=1, choices=["2"])
    # Paper ballots join the same batches as online ones.
    assert second.state == "matched" and PendingBallot.objects.get().channel == "mobile_box"
    services.paper_ballot_enter(officer=a, station=station, scope=scope, number=2, choices=["1"])
    clash = services.paper_ballot_enter(officer=b, station=station, scope=scope, number=2, choices=["3"])
    assert clash.state == "conflict" and PendingBallot.objects.count() == 1
    resolved = services.paper_conflict_resolve(officer=c, station=station, scope=scope, number=2,
                                               choices=["1"])
    assert resolved.state == "resolved" and PendingBallot.objects.count() == 2
    logstore.batch_flush(cycle.pk, force=True)  # written ballots still count against the box
    # A third ballot would exceed the two handed out.
    services.paper_ballot_enter(officer=a, station=station, scope=scope, number=3, choices=["1"])
    with pytest.raises(ServiceError, match="more ballots"):
        services.paper_ballot_enter(officer=b, station=station, scope=scope, number=3, choices=["1"])
    assert LogEntry.objects.count() == 2


def test_count_at_close_export_and_verify(voting, world, tmp_path):
    cycle, scopes, admin = voting
    officer = staff(Role.POLLING_OFFICER, world.haida)
    box = services.station_create(actor=officer, cycle=cycle, community=world.haida, name="大厅")
    with pytest.raises(ServiceError, match="at least one observer"):
        services.station_observers_record(officer=officer, station=box, observers="  ")
    services.station_observers_record(officer=officer, station=box, observers="陈代表，李提议人")
    for i, choices in enumerate([["1", "2"], ["1"], ["2", "3"], ["1", "3"], ["3"]]):
        voter = _voter(cycle, world, serial=f"{i:03d}")
        services.ballot_cast(voter=voter, scope=scopes["haida"], choices=choices)
        services.ballot_cast(voter=voter, scope=scopes["haidian"], choices=["5"] if i % 2 else ["6"])
    client = Client()
    assert "Results are published when voting closes" in client.get(
        f"/cycles/{cycle.pk}/results/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert not ScopeResult.objects.exists()
    stage_advance(actor=admin, cycle=cycle, reason="投票结束")
    haida = ScopeResult.objects.get(scope=scopes["haida"])
    # greedy by votes: 1 and 3 have three votes each, 2 has two; 1+3 = 210,000 then 2 does not fit.
    assert haida.winners == ["1", "3"] and haida.num_votes == 5 and haida.total_cost_yuan == 210_000
    assert len(haida.input_hash) == 64 and haida.engine_version.startswith("civicbudget")
    assert haida.observers == "大厅: 陈代表、李提议人"
    page = client.get(f"/cycles/{cycle.pk}/results/").content.decode()
    assert "3栋楼道灯" in page and "长者食堂" in page

    out = tmp_path / "export"
    from civicbudget.voting.export import export_files

    for name, data in export_files(cycle).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    ok = subprocess.run([sys.executable, "-m", "civicbudget.cli", "ledger", "verify", str(out)],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    entries = out / "entries.jsonl"
    entries.write_bytes(entries.read_bytes().replace(b'"ballot":["1","3"]', b'"ballot":["1","2"]', 1))
    bad = subprocess.run([sys.executable, "-m", "civicbudget.cli", "ledger", "verify", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "entries.jsonl" in bad.stdout + bad.stderr
    zipped = client.get(f"/cycles/{cycle.pk}/ledger.zip")
    assert zipped.status_code == 200 and zipped["Content-Type"] == "application/zip"
    # Everyone downloads the same bytes; a browser holding them revalidates for nothing.
    from django.core.cache import cache

    cache.clear()
    again = client.get(f"/cycles/{cycle.pk}/ledger.zip")
    assert again.content == zipped.content and again["ETag"] == zipped["ETag"]
    assert client.get(f"/cycles/{cycle.pk}/ledger.zip",
                      HTTP_IF_NONE_MATCH=zipped["ETag"]).status_code == 304
    import io
    import zipfile

    unzipped = out.parent / "from-zip"
    zipfile.ZipFile(io.BytesIO(zipped.content)).extractall(unzipped)
    from_zip = subprocess.run([sys.executable, "-m", "civicbudget.cli", "ledger", "verify",
                               str(unzipped / f"cycle-{cycle.pk}-ledger")],
                              capture_output=True, text=True, timeout=120)
    assert from_zip.returncode == 0, from_zip.stdout + from_zip.stderr


def test_receipt_page_shows_a_proof_that_verifies(voting, world):
    cycle, scopes, _ = voting
    voter = _voter(cycle, world)
    cast = services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["1"])
    client = Client()
    pending = client.get(f"/cycles/{cycle.pk}/receipts/{cast.receipt}/?format=json").json()
    assert pending == {"state": "pending", "receipt": cast.receipt, "batch_size": 100,
                       "batch_minutes": 10, "batch_min": 10}
    assert "○" in client.get(f"/cycles/{cycle.pk}/receipts/{cast.receipt}/").content.decode()
    logstore.batch_flush(cycle.pk, force=True)
    page = client.get(f"/cycles/{cycle.pk}/receipts/{cast.receipt}/").content.decode()
    assert "✔" in page and "3栋楼道灯" not in page and '\\"ballot\\"' not in page
    status = client.get(f"/cycles/{cycle.pk}/receipts/{cast.receipt}/?format=json").json()
    assert status["state"] == "logged" and status["proof"]["batch"]["size"] == 1
    proof = status["proof"]
    assert "entry" not in proof  # inclusion, never content
    from civicbudget.ledger import PublicKey, verify_receipt_proof

    assert verify_receipt_proof(proof, PublicKey.from_hex(cycle.ballot_log.public_key))
    assert client.get(f"/cycles/{cycle.pk}/receipts/{'0' * 64}/?format=json").status_code == 404


def test_online_flow_through_the_pages(voting, world):
    cycle, scopes, _ = voting
    client = Client()
    response = client.post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": id_number(dt.date(1990, 1, 1)),
        "community": world.haida.pk, "basis": "work", "phone": "13911112222"})
    assert response.status_code == 302
    text = last_message_to("13911112222")
    code = "".join(ch for ch in text if ch.isdigit())[:6]
    assert client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": code}).status_code == 302
    page = client.get(f"/cycles/{cycle.pk}/vote/ballot/").content.decode()
    assert "海达社区" in page and "海甸街道" in page and "福安社区" not in page
    response = client.post(f"/cycles/{cycle.pk}/vote/ballot/", {
        "scope": scopes["haida"].pk, "projects": ["1", "3"], "token": "t1"})
    # The choices are shown once, in the answer to the cast, with the receipt and the way on.
    cast = response.content.decode()
    receipt = PendingBallot.objects.get().leaf
    assert response.status_code == 200 and receipt in cast
    assert "3栋楼道灯" in cast and "长者食堂" in cast and "海甸街道" in cast
    assert receipt not in str(dict(client.session))  # the session keeps no receipt
    page = client.get(f"/cycles/{cycle.pk}/vote/ballot/").content.decode()
    assert "voted" in page and receipt not in page and "3栋楼道灯" not in page.split("海甸街道")[0]
    hostile = Client().post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": "<script>alert(1)</script>",
        "community": world.haida.pk, "basis": "live", "phone": "13911112222"})
    html = hostile.content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


@pytest.mark.django_db(transaction=True)
def test_one_voter_fifty_parallel_requests_one_ballot(voting, world):
    cycle, scopes, _ = voting
    voter = _voter(cycle, world)
    results: list[str] = []
    barrier = threading.Barrier(50)

    def attempt(i):
        try:
            barrier.wait(timeout=10)
            results.append(services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["1"]).receipt)
        except services.AlreadyVoted:
            results.append("already")
        except Exception as exc:  # noqa: BLE001 - any other failure is the test's business
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert PendingBallot.objects.count() == 1
    assert Participation.objects.filter(voter=voter).count() == 1
    assert results.count("already") == 49, results


@pytest.mark.django_db(transaction=True)
def test_two_stations_and_online_at_once_one_wins(voting, world):
    cycle, scopes, _ = voting
    a = staff(Role.POLLING_OFFICER, world.haida)
    b = staff(Role.POLLING_OFFICER, world.haida)
    one = services.station_create(actor=a, cycle=cycle, community=world.haida, name="大厅")
    two = services.station_create(actor=b, cycle=cycle, community=world.haida, name="学校", kind="school")
    number = id_number(dt.date(1975, 3, 3))
    voter = _voter(cycle, world, born=dt.date(1975, 3, 3))
    outcomes: list[str] = []
    barrier = threading.Barrier(3)

    def check_in(officer, station):
        try:
            barrier.wait(timeout=10)
            services.poll_check_in(officer=officer, station=station, doc_type="id_card",
                                   doc_number=number, community_id=world.haida.pk, basis="live")
            outcomes.append(station.name)
        except services.AlreadyVoted:
            outcomes.append("already")
        finally:
            connection.close()

    def online():
        try:
            barrier.wait(timeout=10)
            services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["1"])
            outcomes.append("online")
        except services.AlreadyVoted:
            outcomes.append("already")
        finally:
            connection.close()

    threads = [threading.Thread(target=check_in, args=(a, one)),
               threading.Thread(target=check_in, args=(b, two)), threading.Thread(target=online)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Each ballot went to exactly one channel; a desk that came second for the community
    # ballot may still have handed out the street ballot (partial check-in), never both desks.
    assert Participation.objects.filter(voter=voter, scope=scopes["haida"]).count() == 1
    assert Participation.objects.filter(voter=voter, scope=scopes["haidian"]).count() == 1
    assert outcomes.count("already") >= 1 and len(outcomes) == 3, outcomes
    desks = {p.station_id for p in Participation.objects.filter(voter=voter, station__isnull=False)}
    assert len(desks) == 1
    # Whoever won, the other channels added nothing to the log.
    assert PendingBallot.objects.count() == (1 if "online" in outcomes else 0)


def test_voting_api_code_token_ballot_retry_and_receipt(voting, world):
    cycle, scopes, _ = voting
    client = Client()
    who = {"doc_type": "id_card", "doc_number": id_number(dt.date(1985, 8, 8)),
           "community_id": world.haida.pk, "basis": "live", "phone": "13600006666"}
    sent = client.post(f"/api/cycles/{cycle.pk}/voters/code", who, content_type="application/json")
    assert sent.json() == {"code_sent": True, "phone_masked": "136****6666"}
    code = "".join(ch for ch in last_message_to("13600006666") if ch.isdigit())[:6]
    bad = client.post(f"/api/cycles/{cycle.pk}/voters/token", {**who, "code": "xx"},
                      content_type="application/json")
    assert bad.status_code == 400
    token = client.post(f"/api/cycles/{cycle.pk}/voters/token", {**who, "code": code},
                        content_type="application/json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    mine = client.get(f"/api/cycles/{cycle.pk}/my-ballots", **auth).json()
    assert [b["key"] for b in mine] == sorted([scopes["haida"].key, scopes["haidian"].key])
    body = {"scope_id": scopes["haida"].pk, "choices": ["2"], "token": "retry-1"}
    first = client.post(f"/api/cycles/{cycle.pk}/ballots", body, content_type="application/json", **auth)
    assert first.status_code == 201
    again = client.post(f"/api/cycles/{cycle.pk}/ballots", body, content_type="application/json", **auth)
    assert again.status_code == 200 and again.json()["receipt"] == first.json()["receipt"]
    other = client.post(f"/api/cycles/{cycle.pk}/ballots", {**body, "token": "new"},
                        content_type="application/json", **auth)
    assert other.status_code == 400 and other.json()["code"] == "already_voted"
    assert client.post(f"/api/cycles/{cycle.pk}/ballots", body, content_type="application/json",
                       HTTP_AUTHORIZATION="Bearer forged").status_code == 401
    proof = client.get(f"/api/cycles/{cycle.pk}/receipts/{first.json()['receipt']}").json()
    assert proof["receipt"] == first.json()["receipt"]
    assert client.get(f"/api/cycles/{cycle.pk}/results").json() == []
    turnout = client.get(f"/api/cycles/{cycle.pk}/turnout").json()
    assert turnout["voters"] == 1 and turnout["base_kind"] == "residents"
    assert turnout["percent"] == round(100 / turnout["base"], 2)
    haida = next(r for r in turnout["by_community"] if r["community_id"] == world.haida.pk)
    assert haida["voters"] == 1 and haida["eligible_population"] is None


def test_demo_2018_can_be_voted_online_and_at_a_polling_point(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from civicbudget.accounts.models import User
    from civicbudget.cycles.models import Cycle
    from civicbudget.demo.data import load_demo
    from civicbudget.voting.models import PollingStation, VotingScope

    load_demo(proposal_scale=0.02)
    cycle = Cycle.objects.get(year=2018)
    assert cycle.current_stage.kind == "vote"
    community = cycle.communities.get(name="海达社区")
    voter = services.voter_identify(cycle=cycle, doc_type="id_card",
                                    doc_number=id_number(dt.date(1988, 8, 8), "777"),
                                    community_id=community.pk, basis="live")
    scope = VotingScope.objects.get(cycle=cycle, key=f"community:{community.pk}")
    first_project = scope.spec["projects"][0]["id"]
    assert len(services.ballot_cast(voter=voter, scope=scope, choices=[first_project]).receipt) == 64
    one, two = User.objects.get(username="haidian-polling"), User.objects.get(username="haidian-polling2")
    station = PollingStation.objects.get(cycle=cycle, community=community, kind="polling")
    services.poll_check_in(officer=one, station=station, doc_type="id_card",
                           doc_number=id_number(dt.date(1966, 6, 6), "888"),
                           community_id=community.pk, basis="live")
    number = PaperEntry.objects.filter(station=station).count() + 1
    services.paper_ballot_enter(officer=one, station=station, scope=scope, number=number,
                                choices=[first_project])
    logged = services.paper_ballot_enter(officer=two, station=station, scope=scope, number=number,
                                         choices=[first_project])
    assert logged.state == "matched" and len(logged.receipt) == 64


def test_offline_box_sync_conflicts_and_review(voting, world):
    cycle, scopes, _ = voting
    a = staff(Role.POLLING_OFFICER, world.haida)
    b = staff(Role.POLLING_OFFICER, world.haida)
    box = services.station_create(actor=a, cycle=cycle, community=world.haida, name="流动票箱2",
                                  kind="mobile_box")
    online = _voter(cycle, world)  # votes online at noon
    services.ballot_cast(voter=online, scope=scopes["haida"], choices=["1"])
    at = timezone.localtime(NOW).strftime("%Y-%m-%d %H:%M")
    book = ("client_id,doc_type,doc_number,community,basis,at\n"
            f"r1,id_card,{id_number(dt.date(1970, 1, 1), '001')},海达社区,live,{at}\n"
            f"r2,id_card,{id_number(dt.date(1980, 5, 1))},海达社区,live,{at}\n").encode()
    report = services.station_offline_sync(officer=a, station=box, data=book, filename="box2.csv")
    assert (report.accepted, report.conflicts, report.already_synced) == (1, 1, 0)
    again = services.station_offline_sync(officer=a, station=box, data=book, filename="box2.csv")
    assert (again.accepted, again.conflicts, again.already_synced) == (0, 0, 2)
    assert Participation.objects.filter(station=box).count() == 2  # r1's two ballots
    from civicbudget.voting.models import OfflineCheckIn

    conflict = OfflineCheckIn.objects.get(state="conflict")
    assert "online" in conflict.conflict_with
    with pytest.raises(ServiceError, match="did not sync"):
        services.offline_conflict_resolve(officer=a, check_in=conflict, resolution="set aside")
    services.offline_conflict_resolve(officer=b, check_in=conflict, resolution="一张选票未拆封作废")
    conflict.refresh_from_db()
    assert conflict.state == "resolved"


def test_offline_sync_rejects_a_bad_poll_book_whole(voting, world):
    cycle, _, _ = voting
    a = staff(Role.POLLING_OFFICER, world.haida)
    box = services.station_create(actor=a, cycle=cycle, community=world.haida, name="箱")
    book = ("client_id,doc_type,doc_number,community,basis,at\n"
            f"r1,id_card,{id_number(dt.date(1970, 1, 1))},海达社区,live,2030-01-01 10:00\n"
            "r2,id_card,123,海达社区,live,2030-01-01 10:00\n"
            f"r3,id_card,{id_number(dt.date(1971, 1, 1))},不存在社区,live,2030-01-01 10:00\n"
            f"r4,id_card,{id_number(dt.date(1972, 1, 1))},海达社区,live,yesterday\n").encode()
    from civicbudget.errors import ImportRejected

    with pytest.raises(ImportRejected) as info:
        services.station_offline_sync(officer=a, station=box, data=book, filename="bad.csv")
    assert [(d["line"], d["field"]) for d in info.value.details] == [
        (3, "doc_number"), (4, "community"), (5, "at")]
    assert not Participation.objects.filter(station=box).exists()
    assert not Voter.objects.exists()


def test_online_registration_waits_for_the_code_and_cannot_be_pinned_by_someone_else(voting, world):
    cycle, scopes, _ = voting
    number = id_number(dt.date(1992, 2, 2))
    client = Client()
    # Someone types another person's number with the wrong community: nothing is stored.
    client.post(f"/cycles/{cycle.pk}/vote/", {"doc_type": "id_card", "doc_number": number,
                                               "community": world.fuan.pk, "basis": "live",
                                               "phone": "13700000001"})
    assert not Voter.objects.exists()
    # Even a registration made earlier follows the owner's own checked claim until they vote.
    services.voter_identify(cycle=cycle, doc_type="id_card", doc_number=number,
                            community_id=world.fuan.pk, basis="work")
    mine = services.voter_identify(cycle=cycle, doc_type="id_card", doc_number=number,
                                   community_id=world.haida.pk, basis="live")
    assert (mine.community, mine.basis) == (world.haida, "live")
    services.ballot_cast(voter=mine, scope=scopes["haida"], choices=["1"])
    after = services.voter_identify(cycle=cycle, doc_type="id_card", doc_number=number,
                                    community_id=world.fuan.pk, basis="live")
    assert after.community == world.haida  # fixed once a ballot is cast


@pytest.mark.parametrize(("payload", "status"), [
    ({"scope_id": "haida", "choices": []}, 400),                      # too few choices
    ({"scope_id": "haida", "choices": ["1", "1"]}, 400),              # duplicate
    ({"scope_id": "haida", "choices": ["999"]}, 400),                 # unknown project
    ({"scope_id": "haida", "choices": {"1": 3}}, 400),                # points on an approval ballot
    ({"scope_id": "haida", "choices": [["1"]]}, 422),                 # nested list
    ({"scope_id": "haida", "choices": ["<script>alert(1)</script>"]}, 400),
    ({"scope_id": "haida", "choices": ["1' OR '1'='1"]}, 400),
    ({"scope_id": "haida", "choices": [str(i) for i in range(20_000)]}, 400),  # huge
    ({"scope_id": "haida", "choices": "1"}, 422),                     # not a list
    ({"scope_id": 10**30, "choices": ["1"]}, 422),                    # out of range id
    ({"scope_id": -1, "choices": ["1"]}, 422),
    ({"scope_id": 2**31, "choices": ["1"]}, 404),                     # no such ballot
    ({"scope_id": "fuan", "choices": ["4"]}, 400),                    # another community's ballot
    ({"choices": ["1"]}, 422),                                        # no scope
])
def test_hostile_ballots_are_refused_with_a_reason_and_nothing_is_stored(voting, world, payload, status):
    cycle, scopes, _ = voting
    voter = _voter(cycle, world)
    from civicbudget.voting.api import voter_token

    body = dict(payload)
    if isinstance(body.get("scope_id"), str):
        body["scope_id"] = scopes[body["scope_id"]].pk
    answer = Client().post(f"/api/cycles/{cycle.pk}/ballots", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {voter_token(voter)}")
    assert answer.status_code == status, answer.content[:300]
    assert answer.json()  # a JSON reason, never an HTML error page
    assert not LogEntry.objects.exists() and not Participation.objects.exists()
    # The voter can still vote afterwards.
    ok = Client().post(f"/api/cycles/{cycle.pk}/ballots", {"scope_id": scopes["haida"].pk, "choices": ["1"]},
                       content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {voter_token(voter)}")
    assert ok.status_code == 201


def test_a_ballot_is_refused_when_voting_closes_between_its_checks_and_its_write(voting, world, monkeypatch):
    from civicbudget.cycles.models import Stage
    from civicbudget.voting import logstore

    cycle, scopes, _ = voting
    voter = _voter(cycle, world)
    parse = logstore.scope_spec

    def close_then_parse(*args, **kwargs):
        # The close lands after the ballot's read said "open", before its write.
        Stage.objects.filter(cycle=cycle, kind="vote").update(finished_at=timezone.now())
        return parse(*args, **kwargs)

    monkeypatch.setattr(logstore, "scope_spec", close_then_parse)
    with pytest.raises(PreconditionFailed, match="not open"):
        services.ballot_cast(voter=voter, scope=scopes["haida"], choices=["1"])
    assert not Participation.objects.exists() and not LogEntry.objects.exists()


def test_after_the_street_ballot_the_receipt_leads_straight_to_the_community_ballot(voting, world):
    cycle, scopes, _ = voting
    client = Client()
    client.post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": id_number(dt.date(1991, 2, 3)),
        "community": world.haida.pk, "basis": "live", "phone": "13933334444"})
    code = "".join(ch for ch in last_message_to("13933334444") if ch.isdigit())[:6]
    assert client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": code}).status_code == 302
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    street = client.post(f"/cycles/{cycle.pk}/vote/ballot/", {
        "scope": scopes["haidian"].pk, "projects": ["5"], "token": "s1"}, **zh).content.decode()
    # The receipt of the first ballot carries a button to the other one, on its own card.
    anchor = f'href="/cycles/{cycle.pk}/vote/ballot/?next={scopes["haida"].pk}#ballot-{scopes["haida"].pk}"'
    assert anchor in street and "继续投海达社区" in street and "您还有1张选票可以投" in street
    ballots = client.get(f"/cycles/{cycle.pk}/vote/ballot/", **zh).content.decode()
    assert f'id="ballot-{scopes["haida"].pk}"' in ballots
    # After the second ballot nothing is left: thanks, and no button.
    community = client.post(f"/cycles/{cycle.pk}/vote/ballot/", {
        "scope": scopes["haida"].pk, "projects": ["1"], "token": "c1"}, **zh).content.decode()
    assert "next-ballot" not in community and "继续投" not in community
    assert "您的选票已全部投出" in community
