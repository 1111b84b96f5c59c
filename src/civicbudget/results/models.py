"""Publication of each ballot scope's result, objections, final states and replies.

A final state (``Outcome``) is one row per proposal, enforced by a one-to-one key, so "every
proposal has exactly one final state" is a constraint, not a hope. The reply to the proposer
(``Reply``) is one row per proposal too; each channel it goes out on is an ``OutboxMessage``
with its own delivery status and retry count.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.models import Cycle
from civicbudget.proposals.models import Project, Proposal
from civicbudget.voting.models import VotingScope


class Publication(models.Model):
    """One scope's result on public notice (公示) from ``published_at`` to ``notice_until``."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    scope = models.OneToOneField(VotingScope, on_delete=models.PROTECT, related_name="publication")
    published_at = models.DateTimeField(_("published at"))
    notice_until = models.DateTimeField(_("notice period until"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["cycle_id", "scope__key"]
        verbose_name = _("publication")
        verbose_name_plural = _("publications")

    def __str__(self) -> str:
        return f"{self.scope} · {self.notice_until:%Y-%m-%d}"

    def is_open(self, now=None) -> bool:
        return (now or timezone.now()) <= self.notice_until


class Objection(models.Model):
    """A resident's objection to a published result, and staff's public answer."""

    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="objections")
    name = models.CharField(_("name"), max_length=50)
    # Kept for the answer by phone; shown masked, never in the public list.
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    text = models.TextField(_("objection"))
    filed_at = models.DateTimeField(_("filed at"), default=timezone.now)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        ordering = ["publication_id", "filed_at", "id"]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")

    def __str__(self) -> str:
        return f"{self.publication_id}: {self.text[:30]}"


class FinalState(models.TextChoices):
    SELECTED = "selected", _("selected")
    MERGED_SELECTED = "merged_selected", _("merged into a selected project")
    MERGED_NOT_SELECTED = "merged_not_selected", _("merged into a project not selected")
    SCREENED_OUT = "screened_out", _("screened out")
    NOT_SHORTLISTED = "not_shortlisted", _("not shortlisted")
    NOT_ENOUGH_VOTES = "not_enough_votes", _("not enough votes")


class Outcome(models.Model):
    """A proposal's final state, with what the reply quotes (project, reason, votes)."""

    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, related_name="outcome")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(_("final state"), max_length=20, choices=FinalState.choices)
    project = models.ForeignKey(Project, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    votes = models.PositiveIntegerField(_("votes"), null=True, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cycle_id", "proposal_id"]
        verbose_name = _("final state")
        verbose_name_plural = _("final states")
        indexes = [models.Index(fields=["cycle", "state"])]

    def __str__(self) -> str:
        return f"{self.proposal_id} {self.state}"


class Reply(models.Model):
    """The personal reply to one proposer, in the three forms it takes (SMS, e-mail, letter)."""

    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, related_name="reply")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    outcome = models.OneToOneField(Outcome, on_delete=models.CASCADE, related_name="reply")
    sms_text = models.TextField(_("SMS text"))
    email_subject = models.CharField(_("e-mail subject"), max_length=200)
    email_body = models.TextField(_("e-mail text"))
    letter_text = models.TextField(_("letter text"))
    # Proposals carry no e-mail address; staff add one when a proposer asks for it.
    email = models.EmailField(_("e-mail address"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cycle_id", "proposal_id"]
        verbose_name = _("reply")
        verbose_name_plural = _("replies")

    def __str__(self) -> str:
        return f"reply {self.proposal_id}"


class OutboxMessage(models.Model):
    """One delivery of a reply on one channel: queued, retried with back-off, sent or failed."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("e-mail")
        LETTER = "letter", _("letter")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RETRYING = "retrying", _("retrying")
        SENT = "sent", _("sent")
        PRINTED = "printed", _("printed for post")
        FAILED = "failed", _("failed")

    reply = models.ForeignKey(Reply, on_delete=models.CASCADE, related_name="messages")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["cycle_id", "id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        constraints = [
            models.UniqueConstraint(fields=["reply", "channel"], name="one_message_per_channel"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.status}"
