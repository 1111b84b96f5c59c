"""A proposer with a mobile number gets their tracking code and the tracking link by SMS."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from civicbudget.accounts.models import Role
from civicbudget.proposals.models import Proposal
from civicbudget.voting.sms import last_message_to, outbox_path

from factories import make_cycle, run_stage, staff, staff_login


@pytest.fixture
def collecting(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path  # the SMS file backend (the outbox) writes here
    settings.SMS_BACKEND = "file"
    cycle = make_cycle(world.district, streets=[world.haidian], communities=[world.haida, world.fuan])
    return run_stage(cycle, "collect")


def _form(world, **kw):
    return {"community": world.haida.pk, "title": "修楼道灯", "text": "海达小区3栋楼道灯坏了，请修理",
            "project_type": "works", "address": "", "proposer_name": "王秀英",
            "phone": "138 1234 5678", "phone_code": "", "proposer_kind": "resident", **kw}


def _outbox() -> list[dict]:
    path = outbox_path()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_an_online_proposal_texts_the_tracking_code_and_link(collecting, world, caplog,
                                                           django_capture_on_commit_callbacks):
    client = Client()
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/cycles/{collecting.pk}/propose/", _form(world),
                               HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    proposal = Proposal.objects.get(cycle=collecting)
    text = last_message_to("13812345678")
    # In Chinese whatever the page's language: the proposer reads it.
    assert text == (f"【美兰区微实事】您的提议“修楼道灯”已收到，查询码 {proposal.tracking_code}。"
                    f"查看进展：http://testserver/track/{proposal.tracking_code}/")
    # The phone is in the outbox (it must be, to be sent) and nowhere else: not in the log,
    # not in the session.
    assert len(_outbox()) == 1
    assert "13812345678" not in caplog.text and "5678" not in caplog.text
    session = client.session
    assert not any("5678" in str(value) or proposal.tracking_code in str(value)
                   for value in session.values())
    # The tracking page still greets the proposer who just sent it, once.
    first = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en")
    assert first.context["just_sent"] is True
    assert client.get(response.url).context["just_sent"] is False


def test_staff_quick_entry_texts_the_proposer_too(collecting, world, django_capture_on_commit_callbacks):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    client = staff_login(Client(), officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/cycles/{collecting.pk}/entry/",
                               {**_form(world, phone="+86 139-0000-3333"), "channel": "paper"})
    assert response.status_code == 302
    proposal = Proposal.objects.get(cycle=collecting)
    assert proposal.proposer_phone == "13900003333"  # stored as the normaliser gives it
    assert proposal.tracking_code in last_message_to("13900003333")


def test_a_bad_phone_is_a_field_error_and_nothing_is_saved_or_sent(collecting, world,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(f"/cycles/{collecting.pk}/propose/", _form(world, phone="12345"),
                                 HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not Proposal.objects.filter(cycle=collecting).exists()
    assert _outbox() == []
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    client = staff_login(Client(), officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/cycles/{collecting.pk}/entry/",
                               {**_form(world, phone="电话123"), "channel": "paper"})
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not Proposal.objects.filter(cycle=collecting).exists()
    assert _outbox() == []


def test_no_sms_to_a_landline_or_without_a_phone(collecting, world, django_capture_on_commit_callbacks):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    client = staff_login(Client(), officer)
    with django_capture_on_commit_callbacks(execute=True):
        for phone in ("0898-6531 2345", ""):
            response = client.post(f"/staff/cycles/{collecting.pk}/entry/",
                                   {**_form(world, phone=phone), "channel": "paper"})
            assert response.status_code == 302
    assert Proposal.objects.filter(cycle=collecting).count() == 2
    assert _outbox() == []


def test_tracking_texts_to_one_number_stop_at_the_daily_limit(collecting, world,
                                                              django_capture_on_commit_callbacks):
    officer = staff(Role.COMMUNITY_OFFICER, world.haida)
    client = staff_login(Client(), officer)
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(7):
            response = client.post(f"/staff/cycles/{collecting.pk}/entry/",
                                   {**_form(world, text=f"第{i}件事：楼道灯坏了"), "channel": "door_to_door"})
            assert response.status_code == 302
    assert Proposal.objects.filter(cycle=collecting).count() == 7  # every proposal is kept
    assert len(_outbox()) == 5


def test_a_failing_sms_gateway_does_not_lose_the_proposal(collecting, world, settings,
                                                          django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "disabled"
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(f"/cycles/{collecting.pk}/propose/", _form(world))
    assert response.status_code == 302
    assert Proposal.objects.filter(cycle=collecting).count() == 1
