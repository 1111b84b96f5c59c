"""Subscriptions (a resident's opt-in) and the notifications queued for them.

A subscription is made at proposal time (for that proposal's project and the community) or
at vote time (for the community's and its street's projects). It keeps the phone in clear,
as a proposal does, because the SMS needs it; it keeps no identity document, no voter and no
time finer than the day, so it joins no ballot. Only a phone proved by an SMS code is ever
messaged; every message carries the subscription's opt-out link.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.models import Cycle
from civicbudget.places.models import Community


def local_today():
    return timezone.localdate()


class Subscription(models.Model):
    class Origin(models.TextChoices):
        PROPOSAL = "proposal", _("at proposal time")
        VOTE = "vote", _("at vote time")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20)
    phone_hash = models.CharField(max_length=64, db_index=True)
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    proposal = models.ForeignKey("proposals.Proposal", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="+")
    origin = models.CharField(max_length=10, choices=Origin.choices)
    # The opt-out link's secret: random, unguessable, shown only in the messages.
    token = models.CharField(max_length=24, unique=True)
    is_confirmed = models.BooleanField(default=False)
    created_on = models.DateField(default=local_today)
    opted_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["cycle", "community"])]

    def __str__(self) -> str:
        return f"subscription {self.pk}"


class Notification(models.Model):
    """One SMS about one project's event to one subscription: queued once, sent once."""

    class Event(models.TextChoices):
        BALLOT = "ballot", _("reached the ballot")
        WON = "won", _("won")
        STARTED = "started", _("work started")
        FINISHED = "finished", _("finished: please rate it")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped: opted out")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="notifications")
    project = models.ForeignKey("proposals.Project", on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=10, choices=Event.choices)
    text = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscription", "project", "event"],
                                               name="one_notification_per_event")]
        indexes = [models.Index(fields=["status", "queued_at"])]

    def __str__(self) -> str:
        return f"{self.event} {self.project_id} {self.status}"
