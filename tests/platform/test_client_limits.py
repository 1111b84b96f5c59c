"""The client address behind trusted proxies only, and per-client / per-phone limits on what
residents send (proposals, objections, ratings, SMS codes): 429 JSON on the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client, RequestFactory

from civicbudget.accounts.models import Role
from civicbudget.clientaddr import client_address, parse_trusted_proxies
from civicbudget.cycles.services import stage_advance
from civicbudget.proposals.models import Proposal
from civicbudget.results.models import Objection, Publication

from factories import build_after, make_cycle, staff, staff_login


def _address(settings, remote: str, forwarded: str | None = None, proxies=()) -> str:
    settings.CIVICBUDGET_TRUSTED_PROXIES = list(proxies)
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(settings):
    assert _address(settings, "203.0.113.9", "1.2.3.4") == "203.0.113.9"
    assert _address(settings, "203.0.113.9", "1.2.3.4", proxies=["127.0.0.1"]) == "203.0.113.9"
    assert _address(settings, "127.0.0.1", "1.2.3.4", proxies=["127.0.0.1"]) == "1.2.3.4"


def test_the_right_most_untrusted_address_is_the_client(settings):
    proxies = ["10.0.0.0/8", "127.0.0.1"]
    # The client wrote "6.6.6.6" itself; our two proxies appended what they saw.
    assert _address(settings, "127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.2.3", proxies) == "198.51.100.7"
    # Only trusted hops: the left-most of them is as far as anything is known.
    assert _address(settings, "127.0.0.1", "10.9.9.9, 10.1.2.3", proxies) == "10.9.9.9"
    # Garbage where a proxy would have written an address: stop at the last trusted hop.
    assert _address(settings, "127.0.0.1", "6.6.6.6, not-an-ip, 10.1.2.3", proxies) == "10.1.2.3"
    assert _address(settings, "127.0.0.1", "", proxies) == "127.0.0.1"
    assert _address(settings, "127.0.0.1", None, proxies) == "127.0.0.1"
    assert _address(settings, "::1", "2001:db8::5", ["::1"]) == "2001:db8::5"
    assert _address(settings, "::ffff:127.0.0.1", "[2001:db8::5]:4431", proxies) == "2001:db8::5"
    assert _address(settings, "", "1.2.3.4", proxies) == ""
    # A header of a million hops is read from its end only.
    assert _address(settings, "127.0.0.1", "1.1.1.1," * 200_000 + "198.51.100.8", proxies) == "198.51.100.8"


def test_a_bad_trusted_proxy_setting_names_the_value():
    with pytest.raises(ValueError, match="10.0.0.300"):
        parse_trusted_proxies("127.0.0.1, 10.0.0.300")
    assert [str(n) for n in parse_trusted_proxies("127.0.0.1, 10.0.0.0/8")] == ["127.0.0.1/32", "10.0.0.0/8"]


@pytest.fixture
def collecting(world):
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    while cycle.current_stage is None or cycle.current_stage.kind != "collect":
        stage_advance(actor=admin, cycle=cycle, now=now)
        now += dt.timedelta(days=400)
        cycle.refresh_from_db()
    return cycle


def _propose(client, cycle, world, phone, forwarded="", remote="127.0.0.1", **extra):
    body = {"community_id": world.haida.pk, "text": f"路灯坏了 {phone} {forwarded}",
            "proposer_name": "张三", "phone": phone, **extra}
    return client.post(f"/api/cycles/{cycle.pk}/proposals", body, content_type="application/json",
                       HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote, HTTP_ACCEPT_LANGUAGE="en")


def _assert_429(response, field=None):
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "rate_limited" and body["message"]
    assert body.get("field") == field
    return body


def test_proposals_are_limited_per_client_behind_a_trusted_proxy(collecting, world, settings):
    settings.CIVICBUDGET_TRUSTED_PROXIES = ["127.0.0.1"]
    collecting.config = {**collecting.config, "proposal_limits": {"per_client_per_hour": 2}}
    collecting.save(update_fields=["config"])
    client = Client()
    for i in range(2):
        assert _propose(client, collecting, world, f"1381234560{i}", "198.51.100.1").status_code == 201
    body = _assert_429(_propose(client, collecting, world, "13812345609", "198.51.100.1"))
    assert "network" in body["message"]
    # Another client behind the same proxy has its own count.
    assert _propose(client, collecting, world, "13812345608", "198.51.100.2").status_code == 201
    # Without a trusted proxy, a forged header buys nothing: the socket peer is counted.
    settings.CIVICBUDGET_TRUSTED_PROXIES = []
    for forged in ("198.51.100.3", "198.51.100.4"):
        _propose(client, collecting, world, "13812345607", forged, remote="203.0.113.5")
    _assert_429(_propose(client, collecting, world, "13812345606", "198.51.100.5", remote="203.0.113.5"))
    assert Proposal.objects.count() == 5


def test_proposals_are_limited_per_phone_with_a_429(collecting, world):
    client = Client()
    for i in range(5):
        assert _propose(client, collecting, world, "13812345600", f"x{i}",
                        remote=f"198.51.100.{i + 1}").status_code == 201
    _assert_429(_propose(client, collecting, world, "13812345600", remote="198.51.100.99"), field="phone")


def _code_for(phone: str) -> str:
    from civicbudget.voting.sms import last_message_to

    return last_message_to(phone).split("code is ")[1][:6]


def test_unconfirmed_phones_are_marked_for_staff(collecting, world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client = Client()
    assert _propose(client, collecting, world, "13812345601").status_code == 201
    assert client.post("/api/phone-codes", {"phone": "13812345602"}, content_type="application/json",
                       HTTP_ACCEPT_LANGUAGE="en").status_code == 202
    wrong = _propose(client, collecting, world, "13812345602", phone_code="000000")
    assert wrong.status_code == 400 and wrong.json()["field"] == "phone_code"
    right = _propose(client, collecting, world, "13812345602", phone_code=_code_for("13812345602"))
    assert right.status_code == 201
    officer = Client()
    staff_login(officer, staff(Role.COMMUNITY_OFFICER, world.haida))
    typed = officer.post(f"/api/cycles/{collecting.pk}/proposals",
                         {"community_id": world.haida.pk, "text": "纸质表：修路", "proposer_name": "李四",
                          "phone": "13812345603", "channel": "paper"}, content_type="application/json")
    assert typed.status_code == 201
    listed = officer.get(f"/api/cycles/{collecting.pk}/proposals?community_id={world.haida.pk}").json()
    flags = {p["phone_masked"]: (p["phone_confirmed"], p["phone_unconfirmed"]) for p in listed}
    assert flags == {"138****5601": (False, True), "138****5602": (True, False),
                     "138****5603": (False, False)}
    page = officer.get(f"/staff/cycles/{collecting.pk}/workbench/?community={world.haida.pk}",
                       HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    # Each place the unconfirmed proposal is listed carries the mark, and nothing else does.
    unconfirmed = Proposal.objects.get(proposer_phone="13812345601").tracking_code
    assert html.count("phone not confirmed</span>") == html.count(unconfirmed) >= 1


def test_sms_codes_are_limited_per_client(collecting, settings):
    settings.CIVICBUDGET_RATE_LIMITS = {"sms_per_client_per_hour": 3}
    client = Client()
    for i in range(3):
        assert client.post("/api/phone-codes", {"phone": f"1391234560{i}"},
                           content_type="application/json").status_code == 202
    _assert_429(client.post("/api/phone-codes", {"phone": "13912345609"},
                            content_type="application/json"))
    other = client.post("/api/phone-codes", {"phone": "13912345609"},
                        content_type="application/json", REMOTE_ADDR="198.51.100.1")
    assert other.status_code == 202
    for i in range(6):
        last = client.post("/api/phone-codes", {"phone": "13912345608"},
                           content_type="application/json", REMOTE_ADDR=f"198.51.100.{10 + i}")
    _assert_429(last, field="phone")  # five an hour per number, whoever asks


@pytest.fixture
def after(world, settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return build_after(world, settings, tmp_path)


def test_objections_are_limited_per_client_and_per_phone(after, settings):
    settings.CIVICBUDGET_RATE_LIMITS = {"objection_per_client_per_hour": 2, "objection_per_phone_per_day": 1}
    publication = Publication.objects.get(scope=after.scope)
    url = f"/api/publications/{publication.pk}/objections"
    client = Client()

    def post(remote, **body):
        return client.post(url, {"name": "王五", "text": "请公开计票", **body},
                           content_type="application/json", REMOTE_ADDR=remote)

    assert post("198.51.100.1").status_code == 201
    assert post("198.51.100.1", phone="13812345670").status_code == 201
    _assert_429(post("198.51.100.1"))
    _assert_429(post("198.51.100.2", phone="13812345670"), field="phone")
    assert post("198.51.100.2").status_code == 201
    assert Objection.objects.count() == 3
    # The page answers the same refusal as a message on the form.
    page = client.post(f"/cycles/{after.cycle.pk}/publication/", {"publication": publication.pk, "name": "王五",
                       "text": "再提一次"}, REMOTE_ADDR="198.51.100.1", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Too many objections from this network" in page.content.decode()
    assert Objection.objects.count() == 3


def test_ratings_are_limited_per_client_and_per_phone(after, settings):
    from civicbudget.delivery import services as delivery
    from civicbudget.delivery.models import Implementation
    from civicbudget.errors import RateLimited

    settings.CIVICBUDGET_RATE_LIMITS = {"rating_per_client_per_hour": 4, "rating_per_phone_per_day": 2}
    from factories import walk_to

    walk_to(after.cycle, after.admin, "implement")
    impl = Implementation.objects.first()
    for step in ("budget_review", "tender", "contract", "delivery", "acceptance"):
        delivery.implementation_advance(actor=after.admin, implementation=impl, step=step,
                                        contract_ends_on=dt.date(2031, 6, 30))
    delivery.implementation_advance(actor=after.admin, implementation=impl, step="done",
                                    acceptance_group="居民监督小组")
    impl = Implementation.objects.get(pk=impl.pk)

    def rate(phone, client):
        try:
            delivery.rating_submit(implementation=impl, phone=phone, code="000000", score=4, client=client)
        except RateLimited as exc:
            return exc
        except Exception as exc:  # a wrong code: counted, then refused
            return type(exc).__name__
        return "ok"

    assert rate("13812345670", "198.51.100.1") == "ServiceError"
    assert rate("13812345670", "198.51.100.1") == "ServiceError"
    assert rate("13812345670", "198.51.100.1").field == "phone"  # third try from this phone today
    assert rate("13812345671", "198.51.100.1") == "ServiceError"
    refused = rate("13812345672", "198.51.100.1")  # fifth from this client this hour
    assert isinstance(refused, RateLimited) and refused.field is None
    assert rate("13812345672", "198.51.100.2") == "ServiceError"
