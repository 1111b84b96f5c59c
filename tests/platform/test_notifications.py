"""Opt-in SMS to residents about the projects that concern them, with an opt-out link."""

from __future__ import annotations

import datetime as dt
import json
import re

from django.test import Client
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.notifications.models import Notification, Subscription
from civicbudget.notifications.services import notifications_send, project_notify

from factories import make_cycle, make_project, run_stage, staff, walk_to


def _outbox(settings) -> list[dict]:
    from civicbudget.voting.sms import outbox_path

    path = outbox_path()
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _code(phone: str) -> str:
    from civicbudget.voting.sms import last_message_to

    return re.search(r"\d{6}", last_message_to(phone)).group(0)


def test_a_proposer_who_opts_in_hears_when_the_project_reaches_the_ballot_and_can_stop(world, settings,
                                                                                    tmp_path):
    settings.DATA_DIR = tmp_path
    settings.PUBLIC_URL = "https://pb.example.cn"
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    run_stage(cycle, "collect")
    resident = Client()
    form = {"community": world.haida.pk, "title": "路灯", "text": "菜市场门口太暗，请加装路灯",
            "project_type": "works", "address": "", "proposer_name": "王阿姨", "phone": "13912345678",
            "proposer_kind": "resident", "notify": "on"}
    resident.post(f"/cycles/{cycle.pk}/propose/", {**form, "action": "send_code"})
    assert resident.post(f"/cycles/{cycle.pk}/propose/", {**form, "phone_code": _code("13912345678")}).status_code == 302
    # Someone who typed a phone without its code subscribes nobody: no SMS to a number not proved.
    resident.post(f"/cycles/{cycle.pk}/propose/", {**form, "phone": "13912340000", "text": "篮球场围网坏了"})
    subs = {s.phone: s for s in Subscription.objects.filter(cycle=cycle)}
    assert subs["13912345678"].is_confirmed and not subs["13912340000"].is_confirmed
    proposal = subs["13912345678"].proposal
    project = make_project(cycle, world.fuan, name="菜市场路灯")  # merged in another community's project
    proposal.project = project
    proposal.save()
    other = make_project(cycle, world.fuan, name="福安花坛")
    before = len(_outbox(settings))

    assert project_notify(project=project, event="ballot") == 1
    assert project_notify(project=project, event="ballot") == 0  # once per event
    assert project_notify(project=other, event="ballot") == 0  # not hers: another community
    assert notifications_send() == {"sent": 1, "failed": 0, "skipped": 0, "retrying": 0}
    sent = _outbox(settings)[before:]
    assert [m["phone"] for m in sent] == ["13912345678"]
    token = subs["13912345678"].token
    assert "菜市场路灯" in sent[0]["text"] and f"https://pb.example.cn/n/{token}/" in sent[0]["text"]

    # The opt-out link: a GET only asks (a link preview must not unsubscribe), a POST stops.
    assert "停止" in Client().get(f"/n/{token}/").content.decode()
    assert Subscription.objects.get(pk=subs["13912345678"].pk).opted_out_at is None
    Client().post(f"/n/{token}/")
    assert Subscription.objects.get(pk=subs["13912345678"].pk).opted_out_at is not None
    assert project_notify(project=project, event="won") == 0
    assert notifications_send()["sent"] == 0
    assert Client().get("/n/not-a-token/").status_code == 404


def test_a_voter_who_opts_in_is_confirmed_by_the_code_and_hears_of_wins_starts_and_the_rating(world, settings,
                                                                                          tmp_path):
    from civicbudget.delivery import services as delivery
    from civicbudget.delivery.models import Implementation
    from civicbudget.voting import services as voting
    from civicbudget.voting.idcard import id_check_char
    from civicbudget.voting.models import Voter

    settings.DATA_DIR = tmp_path
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    admin = staff(Role.DISTRICT_ADMIN, world.district)
    lamp = make_project(cycle, world.haida, name="楼道灯")
    walk_to(cycle, admin, "vote", now=timezone.now() - dt.timedelta(days=400))
    key = f"community:{world.haida.pk}"
    scope = voting.scope_open(cycle=cycle, key=key, title="海达社区", community=world.haida, spec={
        "scope": key, "vote_type": "approval", "budget": "300000",
        "projects": [{"id": str(lamp.pk), "cost": "50000", "name": lamp.name}],
        "rule": {"rule": "greedy"}, "min_length": 1, "max_length": None})
    voter_client = Client()
    first17 = "46010819800101001"
    response = voter_client.post(f"/cycles/{cycle.pk}/vote/", {
        "doc_type": "id_card", "doc_number": first17 + id_check_char(first17), "community": world.haida.pk,
        "basis": "live", "phone": "13812345670", "notify": "1"})
    assert response.status_code == 302
    subscription = Subscription.objects.get(cycle=cycle)
    assert (subscription.origin, subscription.community, subscription.is_confirmed) == ("vote", world.haida, False)
    # The session names the subscription, never the phone.
    assert "13812345670" not in json.dumps(dict(voter_client.session))
    assert project_notify(project=lamp, event="ballot") == 0  # not confirmed yet
    voter_client.post(f"/cycles/{cycle.pk}/vote/verify/", {"code": _code("13812345670")})
    subscription.refresh_from_db()
    assert subscription.is_confirmed
    voting.ballot_cast(voter=Voter.objects.get(cycle=cycle), scope=scope, choices=[str(lamp.pk)])

    walk_to(cycle, admin, "implement")  # the count, publication ("won") and the start of the works
    impl = Implementation.objects.get(project=lamp)
    for step in ("budget_review", "tender", "contract", "delivery", "acceptance", "done"):
        delivery.implementation_advance(actor=admin, implementation=impl, step=step,
                                        contract_ends_on=dt.date(2031, 6, 30), acceptance_group="居民监督小组")
    events = list(Notification.objects.filter(subscription=subscription).order_by("pk").values_list("event", flat=True))
    assert events == ["won", "started", "finished"]
    assert "评价" in Notification.objects.get(event="finished").text
    notifications_send()
    texts = [m["text"] for m in _outbox(settings) if m["phone"] == "13812345670"]
    assert len(texts) == 4  # the voting code, then won, started, finished
    assert all("楼道灯" in t and t.startswith("【微实事】") for t in texts[1:])
