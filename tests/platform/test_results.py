"""Publication, objections, a final state and a reply for every proposal, the outbox, letters."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from civicbudget.accounts.models import Role
from civicbudget.audit.models import AuditEvent
from civicbudget.cycles.services import stage_advance
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.proposals.models import Proposal
from civicbudget.results import services
from civicbudget.results.models import (
    FinalState,
    Objection,
    OutboxMessage,
    Outcome,
    Publication,
    Reply,
)

from factories import build_after, staff, walk_to


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    # The outbox task runs in-process here; the database backend is tested on its own below.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def after(world, settings, tmp_path):
    return build_after(world, settings, tmp_path)


def test_publish_stage_puts_each_counted_scope_on_notice(after):
    publication = Publication.objects.get(scope=after.scope)
    assert publication.notice_until - publication.published_at == dt.timedelta(days=7)
    assert sorted(int(w) for w in after.scope.result.winners) == sorted([after.projects["P1"].pk,
                                                                       after.projects["P3"].pk])


def test_objection_in_the_period_is_recorded_and_answered_in_public(after):
    publication = Publication.objects.get(scope=after.scope)
    objection = services.objection_file(publication=publication, name="王五", phone="13800000000",
                                        text="东门监控票数统计有误？")
    services.objection_answer(actor=after.admin, objection=objection, answer="已复核：计票无误，详见公开的投票记录。")
    objection.refresh_from_db()
    assert objection.answered_at is not None and objection.answered_by == after.admin
    actions = list(AuditEvent.objects.filter(object_type="results.objection", object_id=str(objection.pk)).order_by("id").values_list("action", flat=True))
    assert actions == ["objection_file", "objection_answer"]


def test_objection_after_the_notice_period_is_refused_naming_the_field_and_kept_in_the_trail(after):
    publication = Publication.objects.get(scope=after.scope)
    late = publication.notice_until + dt.timedelta(minutes=1)
    with pytest.raises(PreconditionFailed) as refused:
        services.objection_file(publication=publication, name="王五", text="迟到的异议", now=late)
    assert refused.value.field == "publication"
    assert "no longer accepted" in refused.value.message
    assert Objection.objects.count() == 0
    assert AuditEvent.objects.filter(action="objection_file", outcome="denied", message__contains="迟到的异议").exists()


@pytest.mark.parametrize(("field", "kwargs"), [
    ("name", {"name": "", "text": "有异议"}),
    ("text", {"name": "王五", "text": "  "}),
    ("phone", {"name": "王五", "text": "有异议", "phone": "abc"}),
])
def test_bad_objections_are_refused_naming_the_field(after, field, kwargs):
    publication = Publication.objects.get(scope=after.scope)
    with pytest.raises(ServiceError) as refused:
        services.objection_file(publication=publication, **kwargs)
    assert refused.value.field == field
    assert Objection.objects.count() == 0


def test_the_publication_stage_does_not_close_with_an_unanswered_objection(after):
    publication = Publication.objects.get(scope=after.scope)
    services.objection_file(publication=publication, name="王五", text="有异议")
    with pytest.raises(PreconditionFailed, match="not answered"):
        stage_advance(actor=after.admin, cycle=after.cycle, reason="test")


def test_a_community_officer_cannot_answer_for_the_district(after):
    publication = Publication.objects.get(scope=after.scope)
    objection = services.objection_file(publication=publication, name="王五", text="有异议")
    officer = staff(Role.COMMUNITY_OFFICER, after.world.haida)
    with pytest.raises(PermissionDenied):
        services.objection_answer(actor=officer, objection=objection, answer="答复")
    objection.refresh_from_db()
    assert objection.answer == ""


def test_every_proposal_of_a_finished_cycle_has_exactly_one_final_state_and_one_reply(
        after, django_capture_on_commit_callbacks):
    from civicbudget.voting.sms import last_message_to

    with django_capture_on_commit_callbacks(execute=True):
        walk_to(after.cycle, after.admin, "reply")
    proposals = Proposal.objects.filter(cycle=after.cycle)
    assert Outcome.objects.filter(cycle=after.cycle).count() == proposals.count() == 10
    assert Reply.objects.filter(cycle=after.cycle).count() == proposals.count()
    states = {p.pk: p.outcome.state for p in proposals.select_related("outcome")}
    expect = {"P1": FinalState.SELECTED, "P2": FinalState.MERGED_NOT_SELECTED, "P3": FinalState.MERGED_SELECTED,
              "P4": FinalState.NOT_ENOUGH_VOTES, "P5": FinalState.SCREENED_OUT, "P6": FinalState.NOT_SHORTLISTED}
    for name, state in expect.items():
        for proposal in after.projects[name].proposals.all():
            assert states[proposal.pk] == state, name
    assert states[after.loose.pk] == FinalState.SCREENED_OUT
    # Each reply quotes the state in Chinese; the SMS went out through the outbox.
    p2 = Reply.objects.get(proposal=after.projects["P2"].proposals.first())
    assert "东门监控" in p2.sms_text and "1票" in p2.sms_text and "美兰区" in p2.sms_text
    p5 = Reply.objects.get(proposal=after.projects["P5"].proposals.first())
    assert "只惠及个别住户" in p5.sms_text
    assert OutboxMessage.objects.filter(cycle=after.cycle, channel="sms", status="sent").count() == 10
    assert OutboxMessage.objects.filter(cycle=after.cycle, channel="letter", status="queued").count() == 10
    assert "路边摊" in last_message_to("13900002222")
    # Deciding again adds nothing.
    assert services.outcomes_decide(actor=after.admin, cycle=after.cycle) == 0
    assert services.replies_prepare(actor=after.admin, cycle=after.cycle) == 0


def test_the_outbox_retries_with_back_off_then_marks_failed(after, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    from civicbudget.results import services as results_services

    calls = []

    def broken(message):
        calls.append(message.pk)
        raise OSError("gateway down")

    monkeypatch.setattr(results_services, "_send", broken)
    with django_capture_on_commit_callbacks(execute=True):
        walk_to(after.cycle, after.admin, "reply")
    message = OutboxMessage.objects.filter(channel="sms").first()
    assert message.status == "retrying" and message.attempts == 1 and "gateway down" in message.last_error
    now = timezone.now()
    for _ in range(4):
        now += dt.timedelta(hours=1)
        results_services.outbox_deliver_due(now=now)
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 5
    monkeypatch.undo()
    OutboxMessage.objects.filter(pk=message.pk).update(status="retrying")
    results_services.outbox_deliver_due(now=now + dt.timedelta(hours=1))
    message.refresh_from_db()
    assert message.status == "sent" and message.last_error == ""


def test_letters_print_as_one_a4_pdf_page_per_proposer_and_leave_the_outbox(after):
    walk_to(after.cycle, after.admin, "reply")
    pdf = services.letters_print(actor=after.admin, cycle=after.cycle)
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 10 or pdf.count(b"/Page") >= 10
    assert b"595.2756 841.8898" in pdf  # A4 in points
    assert OutboxMessage.objects.filter(channel="letter", status="printed").count() == 10
    reply = Reply.objects.first()
    assert "美兰区" in reply.letter_text and reply.proposal.tracking_code in reply.letter_text


def test_an_email_address_queues_an_email(after, mailoutbox):
    walk_to(after.cycle, after.admin, "reply")
    reply = Reply.objects.get(proposal=after.loose)
    with pytest.raises(ServiceError) as refused:
        services.reply_set_email(actor=after.admin, reply=reply, email="not-an-address")
    assert refused.value.field == "email"
    services.reply_set_email(actor=after.admin, reply=reply, email="lisi@example.cn")
    services.outbox_deliver_due()
    assert len(mailoutbox) == 1 and "LOOSE001" in mailoutbox[0].subject


def test_public_pages_show_publication_objections_and_a_reply(after, client):
    walk_to(after.cycle, after.admin, "reply")
    page = client.get(f"/cycles/{after.cycle.pk}/publication/?code=LOOSE001")
    assert page.status_code == 200
    text = page.content.decode()
    assert "海达社区" in text and "路边摊" in text


def test_with_the_database_backend_the_reply_stage_queues_a_task_that_the_worker_runs(
        transactional_db, after, settings):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    walk_to(after.cycle, after.admin, "reply")
    assert DBTaskResult.objects.filter(task_path="civicbudget.results.tasks.outbox_work").count() == 1
    assert OutboxMessage.objects.filter(channel="sms", status="queued").count() == 10
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert OutboxMessage.objects.filter(channel="sms", status="sent").count() == 10


def test_the_tracking_timeline_ends_with_the_final_state(after):
    from civicbudget.proposals.selectors import proposal_timeline

    assert proposal_timeline(after.loose)[-1].label != "Final state"
    walk_to(after.cycle, after.admin, "reply")
    last = proposal_timeline(Proposal.objects.get(pk=after.loose.pk))[-1]
    assert last.label == "Final state" and last.detail.startswith("screened out")


def test_the_api_takes_objections_in_the_period_and_refuses_them_after(after, client):
    publication = Publication.objects.get(scope=after.scope)
    listed = client.get(f"/api/cycles/{after.cycle.pk}/publications").json()
    assert [p["id"] for p in listed] == [publication.pk]
    made = client.post(f"/api/publications/{publication.pk}/objections",
                       {"name": "王五", "text": "请公开计票"}, content_type="application/json")
    assert made.status_code == 201
    Publication.objects.filter(pk=publication.pk).update(notice_until=timezone.now() - dt.timedelta(hours=1))
    late = client.post(f"/api/publications/{publication.pk}/objections",
                       {"name": "王五", "text": "再次异议"}, content_type="application/json")
    assert late.status_code == 409 and late.json()["field"] == "publication"
    assert Objection.objects.count() == 1
