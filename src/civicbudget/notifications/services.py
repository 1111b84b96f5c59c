"""Writes of notifications: subscribe, confirm, opt out, queue a project's event, send.

Events reach the subscribers a project concerns: those who proposed something merged into
it, and those who subscribed in its community (a street-level project: in any community of
the street). Residents who voted are not told apart by what they chose: nobody knows that.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from civicbudget.cycles.models import Cycle
from civicbudget.errors import ServiceError
from civicbudget.identity import IdentifierError, canonical_phone, keyed_hash
from civicbudget.notifications.models import Notification, Subscription

#: A phone subscribes at most this many times in a cycle (each proposal, each vote).
MAX_SUBSCRIPTIONS_PER_PHONE = 20
#: A message that failed this many times is given up.
MAX_ATTEMPTS = 3


def subscription_create(*, cycle: Cycle, phone: str, community, origin: str, proposal=None,
                        is_confirmed: bool = False) -> Subscription:
    """Record a resident's opt-in; the same phone, community and proposal subscribe once."""
    try:
        normalized = canonical_phone(phone, mobile_only=True)
    except IdentifierError as exc:
        raise ServiceError(str(exc), field="phone") from None
    phone_hash = keyed_hash(normalized, "phone")
    mine = Subscription.objects.filter(cycle=cycle, phone_hash=phone_hash)
    same = mine.filter(community=community, proposal=proposal, opted_out_at__isnull=True).first()
    if same is not None:
        if is_confirmed and not same.is_confirmed:
            Subscription.objects.filter(pk=same.pk).update(is_confirmed=True)
        return same
    if mine.count() >= MAX_SUBSCRIPTIONS_PER_PHONE:
        raise ServiceError(_("This phone already follows %(n)d things in this cycle.")
                           % {"n": MAX_SUBSCRIPTIONS_PER_PHONE}, field="phone")
    return Subscription.objects.create(
        cycle=cycle, phone=normalized, phone_hash=phone_hash, community=community, proposal=proposal,
        origin=origin, is_confirmed=is_confirmed, token=secrets.token_urlsafe(9))


def subscription_confirm(*, subscription_id: int) -> None:
    """The phone proved itself (the SMS code of the vote): it may now be messaged."""
    Subscription.objects.filter(pk=subscription_id).update(is_confirmed=True)


def subscription_opt_out(*, token: str, now: dt.datetime | None = None) -> int:
    """Stop every SMS of the cycle to the phone the link was sent to; return how many stopped."""
    now = now or timezone.now()
    found = Subscription.objects.filter(token=(token or "")[:24]).first()
    if found is None:
        return 0
    with transaction.atomic():
        count = (Subscription.objects.filter(cycle_id=found.cycle_id, phone_hash=found.phone_hash,
                                             opted_out_at__isnull=True).update(opted_out_at=now))
        Notification.objects.filter(subscription__cycle_id=found.cycle_id,
                                    subscription__phone_hash=found.phone_hash,
                                    status=Notification.Status.QUEUED).update(
            status=Notification.Status.SKIPPED)
    return count


def _concerned(project) -> Q:
    communities = ([project.community_id] if project.community_id
                   else list(project.street.communities.values_list("pk", flat=True)))
    return Q(proposal__project=project) | Q(community_id__in=communities)


def _text(project, event: str, subscription: Subscription) -> str:
    base = settings.PUBLIC_URL
    name = project.name if len(project.name) <= 20 else project.name[:19] + "…"
    with translation.override("zh-hans"):
        what = {
            Notification.Event.BALLOT: _("“%(name)s” is on the ballot: vote at %(url)s"),
            Notification.Event.WON: _("“%(name)s” won the vote: %(url)s"),
            Notification.Event.STARTED: _("Work on “%(name)s” has started: %(url)s"),
            Notification.Event.FINISHED: _("“%(name)s” is finished: rate it at %(url)s"),
        }[event]
        page = {
            Notification.Event.BALLOT: reverse("voting:start", kwargs={"cycle_id": project.cycle_id}),
            Notification.Event.WON: reverse("proposals:project", kwargs={"project_id": project.pk}),
            Notification.Event.STARTED: reverse("delivery:project", kwargs={"project_id": project.pk}),
            Notification.Event.FINISHED: reverse("delivery:project", kwargs={"project_id": project.pk}),
        }[event]
        stop = _("Stop: %(url)s") % {
            "url": base + reverse("notifications:opt-out", kwargs={"token": subscription.token})}
        head = _("Micro-projects")
        return f"【{head}】" + what % {"name": name, "url": base + page} + " " + stop


def project_notify(*, project, event: str) -> int:
    """Queue one SMS per confirmed, not opted-out subscription the project concerns (once per
    event); the worker sends them after the transaction. Return how many were queued."""
    if event not in Notification.Event.values:
        raise ValueError(event)
    subscriptions = (Subscription.objects.filter(cycle_id=project.cycle_id, is_confirmed=True,
                                                 opted_out_at__isnull=True)
                     .filter(_concerned(project)).distinct())
    # One message per phone and event, even when it subscribed twice (a proposal and a vote).
    by_phone: dict[str, Subscription] = {}
    for s in subscriptions.order_by("pk"):
        by_phone.setdefault(s.phone_hash, s)
    done = set(Notification.objects.filter(project=project, event=event)
               .values_list("subscription__phone_hash", flat=True))
    rows = [Notification(subscription=s, project=project, event=event, text=_text(project, event, s))
            for h, s in by_phone.items() if h not in done]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        from civicbudget.notifications.tasks import notifications_work

        transaction.on_commit(lambda: notifications_work.enqueue())
    return len(rows)


def notifications_send(*, limit: int = 1000, now: dt.datetime | None = None) -> dict:
    """Send the queued messages (oldest first); return the counts by outcome."""
    from civicbudget.voting.sms import sms_send

    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0, "skipped": 0, "retrying": 0}
    queued = (Notification.objects.filter(status=Notification.Status.QUEUED)
              .select_related("subscription").order_by("queued_at", "pk")[:limit])
    for n in queued:
        if n.subscription.opted_out_at is not None:
            n.status = Notification.Status.SKIPPED
            counts["skipped"] += 1
        else:
            try:
                sms_send(n.subscription.phone, n.text)
            except OSError:
                n.attempts += 1
                if n.attempts >= MAX_ATTEMPTS:
                    n.status = Notification.Status.FAILED
                    counts["failed"] += 1
                else:
                    counts["retrying"] += 1
            else:
                n.status, n.sent_at = Notification.Status.SENT, now
                counts["sent"] += 1
        n.save(update_fields=["status", "attempts", "sent_at"])
    return counts
