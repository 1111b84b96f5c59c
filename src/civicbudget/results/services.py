"""Publish results, take and answer objections, decide final states, reply to proposers.

Writes check role + place + stage through ``permission_require`` and go to the audit trail.
Bulk steps (final states and replies for tens of thousands of proposals) are set-based:
a few queries and ``bulk_create``, idempotent, so running them twice adds nothing.
"""

from __future__ import annotations

import datetime as dt

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record
from civicbudget.cycles.models import Cycle
from civicbudget.errors import NotFound, PreconditionFailed, ServiceError
from civicbudget.identity import IdentifierError, canonical_phone
from civicbudget.proposals.models import Proposal
from civicbudget.results.letters import Letter
from civicbudget.results.messages import Composer, ReplyInput
from civicbudget.results.models import (
    Objection,
    OutboxMessage,
    Outcome,
    Publication,
    Reply,
)
from civicbudget.results.selectors import final_state_of, outcome_facts
from civicbudget.voting.models import ScopeResult

DEFAULT_NOTICE_DAYS = 7
OBJECTION_MAX = 2000
ANSWER_MAX = 4000
MAX_ATTEMPTS = 5
BATCH = 2000


def _is_mobile(phone: str) -> bool:
    try:
        return bool(phone) and bool(canonical_phone(phone, mobile_only=True))
    except IdentifierError:
        return False


def _notice_days(cycle: Cycle) -> int:
    return int(cycle.config.get("notice_days", DEFAULT_NOTICE_DAYS))


def results_publish(*, actor, cycle: Cycle, now: dt.datetime | None = None,
                    notice_days: int | None = None) -> list[Publication]:
    """Put every counted scope on public notice; scopes already published stay as they are."""
    if actor is not None:
        permission_require(actor, "publish", cycle.district, cycle)
    now = now or timezone.now()
    days = notice_days if notice_days is not None else _notice_days(cycle)
    if not 1 <= days <= 60:
        raise ServiceError(_("The notice period must be 1 to 60 days."), field="notice_days")
    created = []
    with transaction.atomic():
        done = set(Publication.objects.filter(cycle=cycle).values_list("scope_id", flat=True))
        for scope_id in (ScopeResult.objects.filter(scope__cycle=cycle)
                         .values_list("scope_id", flat=True)):
            if scope_id in done:
                continue
            created.append(Publication.objects.create(
                cycle=cycle, scope_id=scope_id, published_at=now,
                notice_until=now + dt.timedelta(days=days),
                published_by=actor if getattr(actor, "is_authenticated", False) else None))
        if created:
            audit_record(actor, "results_publish", cycle, place=cycle.district,
                         after={"scopes": [p.scope_id for p in created], "notice_days": days})
    return created


def objection_file(*, publication: Publication, name: str, text: str, phone: str = "",
                   client: str = "", now: dt.datetime | None = None) -> Objection:
    """Record a resident's objection, while the publication's notice period runs.

    Limited per client address and, when one is given, per phone (``civicbudget.ratelimit``).
    """
    from civicbudget import ratelimit
    now = now or timezone.now()
    name = (name or "").strip()
    text = (text or "").strip()
    if now > publication.notice_until:
        when = timezone.localtime(publication.notice_until).strftime("%Y-%m-%d %H:%M")
        # The refused text stays in the audit trail: nothing a resident wrote is lost.
        audit_record(None, "objection_file", publication, outcome="denied",
                     message=f"{name[:50]}: {text[:1000]}")
        raise PreconditionFailed(
            _("The notice period of %(scope)s ended on %(when)s: objections are no longer accepted.")
            % {"scope": publication.scope.title, "when": when},
            code="notice_period_over", field="publication")
    if not name:
        raise ServiceError(_("Give your name."), field="name")
    if len(name) > 50:
        raise ServiceError(_("The name has more than 50 characters."), field="name")
    if not text:
        raise ServiceError(_("Write your objection."), field="text")
    if len(text) > OBJECTION_MAX:
        raise ServiceError(_("The objection has more than %(max)d characters.") % {"max": OBJECTION_MAX},
                           field="text")
    clean_phone = ""
    if (phone or "").strip():
        try:
            clean_phone = canonical_phone(phone)
        except IdentifierError as exc:
            raise ServiceError(str(exc), field="phone") from None
    if client:
        ratelimit.require(f"objection:{ratelimit.who('client', client)}", window=ratelimit.HOUR,
                          limit=ratelimit.limit_for("objection_per_client_per_hour"), now=now,
                          message=_("Too many objections from this network in the last hour; "
                                    "try again later."))
    if clean_phone:
        ratelimit.require(f"objection:{ratelimit.who('phone', clean_phone)}", window=ratelimit.DAY,
                          limit=ratelimit.limit_for("objection_per_phone_per_day"), now=now,
                          field="phone",
                          message=_("Too many objections from this phone today; try again tomorrow."))
    objection = Objection.objects.create(publication=publication, name=name, phone=clean_phone,
                                         text=text, filed_at=now)
    audit_record(None, "objection_file", objection, after={"publication": publication.pk, "text": text})
    return objection


def objection_answer(*, actor, objection: Objection, answer: str,
                     now: dt.datetime | None = None) -> Objection:
    """Answer an objection in public; an answer can be corrected, the trail keeps each one."""
    cycle = objection.publication.cycle
    action = "reply" if "reply" in cycle.allowed_actions() else "publish"
    permission_require(actor, action, cycle.district, cycle, target=objection)
    answer = (answer or "").strip()
    if not answer:
        raise ServiceError(_("Write the answer."), field="answer")
    if len(answer) > ANSWER_MAX:
        raise ServiceError(_("The answer has more than %(max)d characters.") % {"max": ANSWER_MAX},
                           field="answer")
    before = {"answer": objection.answer}
    objection.answer = answer
    objection.answered_by = actor
    objection.answered_at = now or timezone.now()
    objection.save(update_fields=["answer", "answered_by", "answered_at"])
    audit_record(actor, "objection_answer", objection, before=before, after={"answer": answer},
                 place=cycle.district)
    return objection


def outcomes_decide(*, actor, cycle: Cycle, now: dt.datetime | None = None) -> int:
    """Give every proposal of the cycle that has none its final state; return how many."""
    if actor is not None:
        permission_require(actor, "reply", cycle.district, cycle)
    now = now or timezone.now()
    facts = outcome_facts(cycle)
    rows = []
    for pid, project_id in (Proposal.objects.filter(cycle=cycle, outcome__isnull=True)
                            .values_list("id", "project_id").iterator(BATCH)):
        state, reason = final_state_of(project_id, facts)
        rows.append(Outcome(proposal_id=pid, cycle=cycle, state=state, project_id=project_id,
                            reason=reason, votes=facts.votes.get(project_id) if project_id else None,
                            decided_at=now))
    with transaction.atomic():
        Outcome.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        if rows:
            audit_record(actor, "outcomes_decide", cycle, place=cycle.district,
                         after={"count": len(rows)})
    return len(rows)


def replies_prepare(*, actor, cycle: Cycle, now: dt.datetime | None = None) -> int:
    """Write the reply for every decided proposal that has none and queue its messages."""
    if actor is not None:
        permission_require(actor, "reply", cycle.district, cycle)
    now = now or timezone.now()
    composer = Composer()
    district = cycle.district.name
    today = timezone.localtime(now).date()
    replies, phones = [], {}
    qs = (Outcome.objects.filter(cycle=cycle, reply__isnull=True)
          .select_related("proposal__street", "proposal__community", "project"))
    for outcome in qs.iterator(BATCH):
        p = outcome.proposal
        texts = composer.compose(ReplyInput(
            district=district, street=p.street.name, community=p.community.name,
            proposer=p.proposer_name, tracking_code=p.tracking_code, title=p.title,
            state=outcome.state, project=outcome.project.name if outcome.project else "",
            reason=outcome.reason, votes=outcome.votes, on=today))
        replies.append(Reply(proposal_id=p.pk, cycle=cycle, outcome=outcome, sms_text=texts.sms,
                             email_subject=texts.email_subject, email_body=texts.email_body,
                             letter_text=texts.letter, created_at=now))
        phones[p.pk] = _is_mobile(p.proposer_phone)
    with transaction.atomic():
        Reply.objects.bulk_create(replies, batch_size=BATCH, ignore_conflicts=True)
        ids = dict(Reply.objects.filter(cycle=cycle, messages__isnull=True)
                   .values_list("proposal_id", "id"))
        messages = []
        for proposal_id, reply_id in ids.items():
            # Everyone gets a letter (post or hand delivery by the community); mobiles get an SMS.
            messages.append(OutboxMessage(reply_id=reply_id, cycle=cycle, channel="letter",
                                          next_attempt_at=now))
            if phones.get(proposal_id):
                messages.append(OutboxMessage(reply_id=reply_id, cycle=cycle, channel="sms",
                                              next_attempt_at=now))
        OutboxMessage.objects.bulk_create(messages, batch_size=BATCH, ignore_conflicts=True)
        if replies:
            audit_record(actor, "replies_prepare", cycle, place=cycle.district,
                         after={"replies": len(replies), "messages": len(messages)})
    return len(replies)


def reply_set_email(*, actor, reply: Reply, email: str) -> Reply:
    """Add the address a proposer asked to be answered at, and queue the e-mail."""
    from django.core.validators import validate_email

    cycle = reply.cycle
    permission_require(actor, "reply", reply.proposal.community, cycle, target=reply)
    email = (email or "").strip()
    try:
        validate_email(email)
    except Exception as exc:
        raise ServiceError(_("“%(value)s” is not an e-mail address.") % {"value": email[:80]},
                           field="email") from exc
    before = {"email": reply.email}
    reply.email = email
    reply.save(update_fields=["email"])
    OutboxMessage.objects.get_or_create(reply=reply, channel="email", defaults={"cycle": cycle})
    audit_record(actor, "reply_set_email", reply, before=before, after={"email": email},
                 place=reply.proposal.community)
    return reply


def _send(message: OutboxMessage) -> None:
    reply = message.reply
    if message.channel == "sms":
        from civicbudget.voting.sms import sms_send

        sms_send(reply.proposal.proposer_phone, reply.sms_text)
    elif message.channel == "email":
        send_mail(reply.email_subject, reply.email_body, None, [reply.email])


def outbox_deliver_due(*, cycle_id: int | None = None, now: dt.datetime | None = None,
                       limit: int = 500) -> dict[str, int]:
    """Send due SMS and e-mail; a failure is retried with back-off, then marked failed.

    Letters are not sent here: they leave the outbox when their batch PDF is printed.
    Rows are claimed with ``select_for_update(skip_locked=True)`` so several workers share
    the queue without sending a message twice.
    """
    now = now or timezone.now()
    done = {"sent": 0, "retrying": 0, "failed": 0}
    with transaction.atomic():
        qs = (OutboxMessage.objects.select_for_update(skip_locked=True)
              .filter(status__in=["queued", "retrying"], channel__in=["sms", "email"],
                      next_attempt_at__lte=now))
        if cycle_id is not None:
            qs = qs.filter(cycle_id=cycle_id)
        batch = list(qs.select_related("reply__proposal").order_by("next_attempt_at", "id")[:limit])
        for message in batch:
            message.attempts += 1
            try:
                _send(message)
            except Exception as exc:  # any gateway error: retry later, keep the reason
                message.last_error = f"{type(exc).__name__}: {exc}"[:300]
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = OutboxMessage.Status.FAILED
                    done["failed"] += 1
                else:
                    message.status = OutboxMessage.Status.RETRYING
                    message.next_attempt_at = now + dt.timedelta(minutes=2 ** message.attempts)
                    done["retrying"] += 1
            else:
                message.status = OutboxMessage.Status.SENT
                message.sent_at = now
                message.last_error = ""
                done["sent"] += 1
            message.save(update_fields=["attempts", "status", "next_attempt_at", "last_error",
                                        "sent_at"])
    return done


def outbox_work(*, actor, cycle: Cycle, now: dt.datetime | None = None) -> dict[str, int]:
    """Send a cycle's due replies now, from the reply desk (the worker does it on its own).

    Whoever can prepare the cycle's replies may push them out; the push is audited.
    """
    permission_require(actor, "reply", cycle.district, cycle)
    done = outbox_deliver_due(cycle_id=cycle.pk, now=now)
    audit_record(actor, "outbox_work", cycle, place=cycle.district, after=done)
    return done


def letters_for(cycle: Cycle, *, community_id: int | None = None) -> list[Letter]:
    """Return the letters of a cycle (or one community) in delivery order."""
    from civicbudget.results.selectors import replies

    district = cycle.district.name
    heading = _letter_heading()
    return [Letter(district=district, heading=heading,
                   address_lines=(f"{r.proposal.street.name} {r.proposal.community.name}",
                                  f"{r.proposal.proposer_name} 收"),
                   text=r.letter_text, reference=f"{cycle.name} · {r.proposal.tracking_code}")
            for r in replies(cycle, community_id=community_id)]


def _letter_heading() -> str:
    from django.utils import translation

    with translation.override("zh-hans"):
        return _("Reply to proposers")


def letters_print(*, actor, cycle: Cycle, community_id: int | None = None,
                  now: dt.datetime | None = None) -> bytes:
    """Return the batch PDF of letters and mark them printed for post."""
    from civicbudget.results.letters import letters_pdf

    place = cycle.district
    if community_id:
        place = cycle.communities.filter(pk=community_id).first()
        if place is None:
            raise NotFound(_("This community is not part of the cycle."), field="community")
    permission_require(actor, "reply", place, cycle)
    letters = letters_for(cycle, community_id=community_id)
    pdf = letters_pdf(letters, title=f"{cycle.name}")
    qs = OutboxMessage.objects.filter(cycle=cycle, channel="letter", status="queued")
    if community_id:
        qs = qs.filter(reply__proposal__community_id=community_id)
    count = qs.update(status=OutboxMessage.Status.PRINTED, sent_at=now or timezone.now(),
                      attempts=1)
    audit_record(actor, "letters_print", cycle, place=place, after={"letters": len(letters),
                                                                   "marked": count})
    return pdf

