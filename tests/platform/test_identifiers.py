"""One canonical form per identifier: no two spellings of one number make two voters; a phone
confirms at most max_voters_per_phone voters; SMS throttles, the hourly budget, the
back-office view and the operator's identifiers check."""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import sys
import threading
import unicodedata
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.errors import ServiceError
from civicbudget.identity import (
    IdentifierError,
    canonical_document,
    canonical_phone,
    id_check_char,
    keyed_hash,
)
from civicbudget.voting import services
from civicbudget.voting.models import OneTimeCode, Participation, Voter
from civicbudget.voting.sms import last_message_to

from factories import make_project, staff, staff_login


def _tests_module(name: str):
    # Fixtures of other test modules (a cycle in its vote or collect stage), shared rather than
    # copied: test modules are imported by path, not as a package.
    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_voting, _proposals = _tests_module("test_voting"), _tests_module("test_proposals")
id_number, voting, collecting = _voting.id_number, _voting.voting, _proposals.collecting

ND = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Nd"]
FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
# Every character some keyboard or copy-paste might put where an X (ID check character) goes.
X_LIKE = ["X", "x", "Ｘ", "ｘ", "Х", "х", "Χ", "χ", "ⅹ", "Ⅹ", "╳", "✕", "×", "ꓫ", "𝐗", "𝑥"]
NUMBER = id_number(dt.date(1980, 5, 1), "123")
NUMBER_X = next(n for n in (id_number(dt.date(1980, 5, 1), f"{s:03d}") for s in range(1000)) if n.endswith("X"))


def _spell(number: str, mapping) -> str:
    return "".join(mapping(ch) for ch in number)


def _same_or_refused(doc_type: str, spelling: str, ascii_form: str) -> str:
    try:
        got = canonical_document(doc_type, spelling)
    except IdentifierError:
        return "refused"
    assert got == ascii_form, (spelling, got)
    return "same"


# -- the pure functions ---------------------------------------------------------------------


def test_every_unicode_decimal_digit_is_the_same_number_or_refused():
    """Each Nd digit put in every position: full-width spells the same number, every other
    script is refused with its code point named; nothing becomes a different number."""
    assert len(ND) > 600
    outcomes = {}
    for ch in ND:
        value = unicodedata.digit(ch)
        for position in range(17):
            first17 = NUMBER[:position] + str(value) + NUMBER[position + 1:17]
            ascii_form = first17 + id_check_char(first17)
            spelling = ascii_form[:position] + ch + ascii_form[position + 1:]
            outcomes[ch] = _same_or_refused("id_card", spelling, ascii_form)
        for doc_type, ascii_form in (("passport", "E12345678"), ("taiwan", "12345678"),
                                     ("hk_macao", "H12345678")):
            spelling = ascii_form[:-1] + ch if unicodedata.digit(ch) == 8 else ascii_form
            _same_or_refused(doc_type, spelling, ascii_form)
        try:
            assert canonical_phone("1381234567" + ch) == "1381234567" + str(value)
            outcomes[ch + "phone"] = "same"
        except IdentifierError as exc:
            assert f"U+{ord(ch):04X}" in str(exc) or ch in "0123456789"
    accepted = {ch for ch in ND if outcomes[ch] == "same"}
    # Exactly the digits NFKC makes ASCII (full-width, mathematical, segmented) are read, as
    # the same number; every other script's digits are refused.
    assert accepted == {ch for ch in ND if unicodedata.normalize("NFKC", ch) in set("0123456789")}
    assert set(FULL_WIDTH.values()) <= accepted and not accepted & {"٣", "३", "۳", "৩", "๓"}
    with pytest.raises(IdentifierError, match=r"'٣' \(U\+0663\)") as info:
        canonical_document("id_card", NUMBER.replace("3", "٣"))
    assert info.value.field == "doc_number"
    with pytest.raises(IdentifierError, match=r"U\+0967") as info:
        canonical_phone("१3812345678")
    assert info.value.field == "phone"


def test_confusable_letters_are_the_same_x_or_refused():
    assert NUMBER_X.endswith("X")
    for ch in X_LIKE:
        assert _same_or_refused("id_card", NUMBER_X[:17] + ch, NUMBER_X) in ("same", "refused")
    assert canonical_document("id_card", NUMBER_X[:17] + "ｘ") == NUMBER_X
    for ch in ("Х", "Χ", "✕", "×"):
        with pytest.raises(IdentifierError, match=f"U\\+{ord(ch):04X}"):
            canonical_document("id_card", NUMBER_X[:17] + ch)
    # 'ß'.upper() is 'SS': a passport must not turn one letter into two.
    with pytest.raises(IdentifierError):
        canonical_document("passport", "E1234567ß")
    assert canonical_document("passport", "ｅ１２３ ４５６-７８") == "E12345678"


def test_spaces_hyphens_and_invisible_characters_are_dropped():
    spaced = " ".join(NUMBER[i:i + 6] for i in range(0, 18, 6))
    for sep in (" ", "\u3000", "-", "－", "\u2010", "\u2212", "\u00ad", "\u200b", "\u00a0", "\t"):
        assert canonical_document("id_card", spaced.replace(" ", sep)) == NUMBER
    assert canonical_phone("+86 (138) 1234－5678", mobile_only=True) == "13812345678"
    assert canonical_phone("＋８６１３８１２３４５６７８") == "13812345678"
    with pytest.raises(IdentifierError, match="too long"):
        canonical_document("id_card", NUMBER + " " * 100)
    with pytest.raises(IdentifierError, match="'\\+' can only start"):
        canonical_phone("138+12345678")


@st.composite
def spellings(draw):
    """One ID number written with a random mix of digit scripts, separators and X-likes."""
    born = draw(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2005, 12, 31)))
    serial = draw(st.integers(0, 999))
    number = id_number(born, f"{serial:03d}")
    parts = []
    for ch in number:
        if ch == "X":
            parts.append(draw(st.sampled_from(X_LIKE)))
        else:
            parts.append(draw(st.sampled_from([c for c in ND if unicodedata.digit(c) == int(ch)])))
        parts.append(draw(st.sampled_from(["", "", "", " ", "-", "\u3000", "－"])))
    return number, "".join(parts)


@given(spellings())
@hsettings(max_examples=400, deadline=None)
def test_any_spelling_is_the_number_or_refused(case):
    number, spelling = case
    _same_or_refused("id_card", spelling, number)
    ascii_only = all(ch in "0123456789X" or ch in FULL_WIDTH.values() or ch in " -\u3000－xｘＸ"
                     for ch in spelling)
    if ascii_only:
        assert canonical_document("id_card", spelling) == number


# -- on a real database --------------------------------------------------------------------


def _identify(cycle, world, number, phone="", **kw):
    return services.voter_identify(cycle=cycle, doc_type="id_card", doc_number=number,
                                   community_id=world.haida.pk, basis="live", phone=phone, **kw)


@given(st.data())
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_two_spellings_make_two_voters(voting, world, data):  # noqa: F811
    cycle, _, _ = voting
    number, spelling = data.draw(spellings())
    mine = Voter.objects.filter(cycle=cycle)
    before = mine.count()
    known = _identify(cycle, world, number)
    try:
        again = _identify(cycle, world, spelling)
    except ServiceError as exc:
        assert exc.field == "doc_number" and "U+" in exc.message
    else:
        assert again.pk == known.pk
    assert mine.count() <= before + 1


def _otp_code(phone: str) -> str:
    return "".join(ch for ch in last_message_to(phone) if ch.isdigit())[:6]


def _web_vote(client, cycle, world, number, phone):
    response = client.post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": number, "community": world.haida.pk,
        "basis": "live", "phone": phone})
    return response


def test_full_width_votes_then_the_ascii_and_other_scripts_get_no_second_ballot(voting, world):
    cycle, scopes, _ = voting
    full = _spell(NUMBER[:17], lambda c: FULL_WIDTH[c]) + NUMBER[17]
    client = Client()
    assert _web_vote(client, cycle, world, full, "１３９１１１１２２２２").status_code == 302
    assert client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": _otp_code("13911112222")}).status_code == 302
    cast = client.post(f"/cycles/{cycle.pk}/vote/ballot/", {"scope": scopes["haida"].pk, "projects": ["1"],
                                                             "token": "a"})
    assert cast.status_code == 200 and "/receipts/" in cast.content.decode()  # the cast page
    assert Voter.objects.filter(cycle=cycle).count() == 1
    # The ASCII spelling, through the API: the same voter, whose ballot is already cast.
    api = Client()
    who = {"doc_type": "id_card", "doc_number": NUMBER, "community_id": world.haida.pk, "basis": "live",
           "phone": "13911112222"}
    assert api.post(f"/api/cycles/{cycle.pk}/voters/code", who, content_type="application/json").status_code == 200
    token = api.post(f"/api/cycles/{cycle.pk}/voters/token", {**who, "code": _otp_code("13911112222")},
                     content_type="application/json").json()["token"]
    again = api.post(f"/api/cycles/{cycle.pk}/ballots", {"scope_id": scopes["haida"].pk, "choices": ["2"]},
                     content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert again.status_code == 400 and again.json()["code"] == "already_voted"
    # Arabic-Indic and Devanagari spellings: refused at once, naming the character; no SMS.
    for zero in (0x0660, 0x0966):
        other = _spell(NUMBER[:17], lambda c, z=zero: chr(z + int(c))) + NUMBER[17]
        answer = Client().post(f"/api/cycles/{cycle.pk}/voters/code", {**who, "doc_number": other,
                                                                       "phone": "13700001111"},
                               content_type="application/json")
        assert answer.status_code == 400, answer.content
        body = answer.json()
        assert body["field"] == "doc_number" and f"U+{zero + int(NUMBER[0]):04X}" in body["message"]
        page = _web_vote(Client(), cycle, world, other, "13700001111").content.decode()
        assert f"U+{zero + int(NUMBER[0]):04X}" in page
    assert last_message_to("13700001111") is None
    assert Voter.objects.filter(cycle=cycle).count() == 1
    assert Participation.objects.filter(cycle=cycle).count() == 1


def test_paper_desk_and_offline_sync_use_the_same_canonical_form(voting, world):
    cycle, scopes, _ = voting
    officer = staff(Role.POLLING_OFFICER, world.haida)
    station = services.station_create(actor=officer, cycle=cycle, community=world.haida, name="大厅")
    full = _spell(NUMBER[:17], lambda c: FULL_WIDTH[c]) + NUMBER[17]
    services.poll_check_in(officer=officer, station=station, doc_type="id_card", doc_number=full,
                           community_id=world.haida.pk, basis="live")
    with pytest.raises(services.AlreadyVoted):
        services.poll_check_in(officer=officer, station=station, doc_type="id_card", doc_number=NUMBER,
                               community_id=world.haida.pk, basis="live")
    arabic = _spell(NUMBER[:17], lambda c: chr(0x0660 + int(c))) + NUMBER[17]
    data = ("client_id,doc_type,doc_number,community,basis,at\n"
            f"a1,id_card,{arabic},{world.haida.name},live,{dt.datetime.now():%Y-%m-%d %H:%M}\n").encode()
    with pytest.raises(ServiceError) as info:
        services.station_offline_sync(officer=officer, station=station, data=data, filename="book.csv")
    detail = info.value.details[0]
    assert detail["line"] == 2 and detail["field"] == "doc_number"
    assert f"U+{0x0660 + int(NUMBER[0]):04X}" in detail["message"]
    assert Voter.objects.filter(cycle=cycle).count() == 1


# -- phones --------------------------------------------------------------------------------


def test_a_third_resident_behind_one_phone_is_refused_with_a_clear_message(voting, world):
    cycle, _, _ = voting
    page = Client().get(f"/cycles/{cycle.pk}/vote/").content.decode()
    assert "一个手机号码在本次投票中最多确认2位投票人" in page  # said on the form, in Chinese by default
    phone = "13655556666"
    for serial in ("001", "002"):
        client = Client()
        assert _web_vote(client, cycle, world, id_number(dt.date(1970, 1, 1), serial), phone).status_code == 302
        assert client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": _otp_code(phone)}).status_code == 302
    sent_before = OneTimeCode.objects.count()
    third = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = _web_vote(third, cycle, world, id_number(dt.date(1970, 1, 1), "003"), "+86 136-5555-6666")
    assert page.status_code == 200
    assert "already confirmed 2 voters" in page.content.decode()
    answer = Client().post(f"/api/cycles/{cycle.pk}/voters/code", {
        "doc_type": "id_card", "doc_number": id_number(dt.date(1970, 1, 1), "004"),
        "community_id": world.haida.pk, "basis": "live", "phone": phone}, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["code"] == "phone_limit"
    assert answer.json()["field"] == "phone" and "投票点" in answer.json()["message"]  # Chinese by default
    assert OneTimeCode.objects.count() == sent_before  # no SMS for a refused phone
    assert Voter.objects.filter(cycle=cycle).count() == 2
    # A voter already behind the phone still gets in; the limit is per cycle setting.
    assert _identify(cycle, world, id_number(dt.date(1970, 1, 1), "001"), phone=phone)
    cycle.config = {**cycle.config, "max_voters_per_phone": 3}
    cycle.save(update_fields=["config"])
    assert _identify(cycle, world, id_number(dt.date(1970, 1, 1), "003"), phone=phone)


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_behind_one_phone_never_exceed_the_limit(voting, world):
    cycle, _, _ = voting
    phone = "13677778888"
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def register(serial):
        try:
            barrier.wait(timeout=10)
            _identify(cycle, world, id_number(dt.date(1960, 2, 2), serial), phone=phone)
            outcomes.append("ok")
        except ServiceError as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - any other failure is the test's business
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(f"{i:03d}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phone_hash = Voter.objects.filter(cycle=cycle).exclude(phone_hash="").values_list("phone_hash", flat=True)
    assert len(phone_hash) == 2, outcomes
    assert sorted(outcomes) == ["ok", "ok"] + ["phone_limit"] * 4, outcomes


def test_a_burst_of_codes_to_one_phone_is_throttled(voting, world):
    cycle, _, _ = voting
    client = Client()
    who = {"doc_type": "id_card", "doc_number": NUMBER, "community_id": world.haida.pk, "basis": "live",
           "phone": "13600001234"}
    answers = [client.post(f"/api/cycles/{cycle.pk}/voters/code",
                           {**who, "phone": ["13600001234", "１３６００００１２３４", "+8613600001234"][i % 3]},
                           content_type="application/json") for i in range(8)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
    assert answers[-1].json()["code"] == "rate_limited"
    assert OneTimeCode.objects.count() == 5


def test_the_cycle_budget_stops_sending_and_alerts_the_operator(voting, world, caplog):
    cycle, _, admin = voting
    cycle.config = {**cycle.config, "sms_hourly_budget": 3}
    cycle.save(update_fields=["config"])
    client = Client(REMOTE_ADDR="203.0.113.9")
    phones = [f"1350000{i:04d}" for i in range(6)]
    with caplog.at_level(logging.WARNING):
        answers = [client.post(f"/api/cycles/{cycle.pk}/voters/code", {
            "doc_type": "id_card", "doc_number": id_number(dt.date(1990, 1, 1), f"{i:03d}"),
            "community_id": world.haida.pk, "basis": "live", "phone": phone},
            content_type="application/json") for i, phone in enumerate(phones)]
    assert [a.status_code for a in answers] == [200] * 3 + [429] * 3
    assert answers[3].json()["code"] == "sms_budget"
    assert [last_message_to(p) is not None for p in phones] == [True] * 3 + [False] * 3
    alerts = AuditEvent.objects.filter(action="sms_budget_exceeded")
    assert alerts.count() == 1 and alerts.get().after == {"budget": 3, "sent_last_hour": 3}
    warnings = [r.getMessage() for r in caplog.records if "SMS budget" in r.getMessage()]
    assert len(warnings) == 1 and not any(p[3:] in warnings[0] for p in phones)
    # The back-office shows the alert, never a number or an address.
    staff_client = Client()
    staff_login(staff_client, admin)
    page = staff_client.get(f"/staff/cycles/{cycle.pk}/phones/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "203.0.113.9" not in html and not any(p in html for p in phones)
    assert "<td>3</td><td>3</td>" in html
    officer = staff(Role.POLLING_OFFICER, world.haida)
    other = Client()
    staff_login(other, officer)
    assert other.get(f"/staff/cycles/{cycle.pk}/phones/").status_code == 403
    assert Client().get(f"/staff/cycles/{cycle.pk}/phones/").status_code == 302


def test_the_back_office_lists_phones_with_many_codes_failures_and_voters(voting, world):
    cycle, _, admin = voting
    phone = "13644445555"
    for serial in ("011", "012"):
        _identify(cycle, world, id_number(dt.date(1971, 1, 1), serial), phone=phone)
    for _ in range(3):
        services.otp_send(phone=phone, cycle=cycle, client="198.51.100.7")
        services.otp_verify(phone=phone, code="not-it")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    staff_login(client, admin)
    html = client.get(f"/staff/cycles/{cycle.pk}/phones/").content.decode()
    prefix = keyed_hash(phone, "phone")[:10]
    assert prefix in html and phone not in html and keyed_hash(phone, "phone") not in html
    assert "198.51.100.7" not in html


def test_identifiers_check_reports_crowded_phones_and_unreadable_proposer_phones(voting, world):
    cycle, _, _ = voting
    crowded = keyed_hash("13600009999", "phone")
    for i, serial in enumerate(("021", "022", "023")):
        voter = _identify(cycle, world, id_number(dt.date(1972, 1, 1), serial))
        Voter.objects.filter(pk=voter.pk).update(phone_hash=crowded, phone_slot=i)
    out = StringIO()
    call_command("identifiers_check", stdout=out)
    text = out.getvalue()
    assert f"phone {crowded[:10]} confirmed 3 voters (limit 2)" in text
    assert "13600009999" not in text and "1 finding(s)" in text
    with pytest.raises(Exception, match="finding"):
        call_command("identifiers_check", "--strict", stdout=StringIO())


def _migration(app: str, name: str):
    return importlib.import_module(f"civicbudget.{app}.migrations.{name}")


def test_migrations_canonicalise_clear_phones_and_number_the_voters_behind_a_phone(voting, world):
    from django.apps import apps

    from civicbudget.proposals.models import Proposal

    cycle, _, _ = voting
    project = make_project(cycle, world.haida, proposals=3)
    rows = list(Proposal.objects.filter(project=project).order_by("pk"))
    # Written before the canonical form: full-width digits, an old hash, and one unreadable.
    Proposal.objects.filter(pk=rows[0].pk).update(proposer_phone="１３８１２３４５６７８",
                                                  phone_hash=keyed_hash("１３８１２３４５６７８", "phone"))
    Proposal.objects.filter(pk=rows[1].pk).update(proposer_phone="13812345678", phone_hash="")
    Proposal.objects.filter(pk=rows[2].pk).update(proposer_phone="١٣٨١٢٣٤٥٦٧٨")
    _migration("proposals", "0003_canonical_phones").canonicalise(apps, None)
    after = {p.pk: (p.proposer_phone, p.phone_hash) for p in Proposal.objects.filter(project=project)}
    assert after[rows[0].pk] == after[rows[1].pk] == ("13812345678", keyed_hash("13812345678", "phone"))
    assert after[rows[2].pk][0] == "١٣٨١٢٣٤٥٦٧٨"  # kept as it was, and reported
    out = StringIO()
    call_command("identifiers_check", "--cycle", str(cycle.pk), stdout=out)
    assert f"proposal {rows[2].tracking_code}" in out.getvalue() and "U+0661" in out.getvalue()
    # Voters registered before the limit: numbered in registration order, nobody merged.
    shared = keyed_hash("13633334444", "phone")
    made = [_identify(cycle, world, id_number(dt.date(1973, 1, 1), f"{i:03d}")) for i in range(3)]
    Voter.objects.filter(pk__in=[v.pk for v in made]).update(phone_hash=shared, phone_slot=None)
    _migration("voting", "0005_phone_slot_sms_budget").number_phone_places(apps, None)
    assert list(Voter.objects.filter(phone_hash=shared).order_by("pk").values_list("phone_slot", flat=True)) \
        == [0, 1, 2]
    with pytest.raises(ServiceError, match="already confirmed 2 voters"):
        _identify(cycle, world, id_number(dt.date(1973, 1, 1), "009"), phone="13633334444")


def test_the_proposal_form_uses_the_same_canonical_phone(collecting, world):
    from civicbudget.proposals.services import ProposalInput, proposal_submit

    def submit(phone):
        return proposal_submit(cycle=collecting, data=ProposalInput(
            community_id=world.haida.pk, text="海达小区3栋楼道灯坏了", proposer_name="王秀英", phone=phone))

    proposal = submit("１３８－１２３４－５６７８")
    assert proposal.proposer_phone == "13812345678"
    assert proposal.phone_hash == keyed_hash("13812345678", "phone")
    with pytest.raises(ServiceError, match=r"U\+0967") as info:
        submit("१३८१२३४५६७८")
    assert info.value.field == "phone"
    page = Client(HTTP_ACCEPT_LANGUAGE="en").post(f"/cycles/{collecting.pk}/propose/", {
        "community": world.haida.pk, "text": "海达小区4栋楼道灯坏了", "proposer_name": "李四",
        "project_type": "works", "proposer_kind": "resident",
        "phone": "١٣٨١٢٣٤٥٦٧٨"})
    assert page.status_code in (200, 400) and "U+0661" in page.content.decode()
