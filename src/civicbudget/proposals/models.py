"""Proposal (提议, as submitted) and project (项目, what proposals are merged into).

A proposal never disappears into a merge: it keeps its own row and points at the project it
became (many to one), so every proposer can be answered. Merge operations are rows too, so
any of them can be undone and the workbench history reads as a log.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.models import Cycle
from civicbudget.places.models import Community, Street


class ProjectType(models.TextChoices):
    WORKS = "works", _("works (工程类)")
    SERVICES = "services", _("services (服务类)")
    GOODS = "goods", _("goods (货物类)")


class ProposerKind(models.TextChoices):
    RESIDENT = "resident", _("resident")
    SOCIAL_ORG = "social_org", _("social organisation")
    SCHOOL = "school", _("school or student")
    DEPUTY = "deputy", _("deputy or committee member")
    COMPANY = "company", _("company")


class Channel(models.TextChoices):
    ONLINE = "online", _("online")
    DOOR_TO_DOOR = "door_to_door", _("door to door")
    COLLECTION_POINT = "collection_point", _("collection point")
    MEETING = "meeting", _("proposal meeting")
    PAPER = "paper", _("paper form")
    SOCIAL_ORG = "social_org", _("social organisation")


class Project(models.Model):
    """A project gathering one or more proposals, at community or street level."""

    class Level(models.TextChoices):
        COMMUNITY = "community", _("community level")
        STREET = "street", _("street level")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="projects")
    level = models.CharField(_("level"), max_length=10, choices=Level.choices,
                             default=Level.COMMUNITY)
    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    project_type = models.CharField(_("project type"), max_length=10, choices=ProjectType.choices,
                                    default=ProjectType.WORKS)
    theme = models.CharField(_("theme"), max_length=50, blank=True)
    # A project emptied by a split or an undo is kept (its history still points at it)
    # but no longer listed.
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")

    class Meta:
        ordering = ["cycle_id", "street_id", "community_id", "name"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level="street") | models.Q(community__isnull=False),
                name="community_project_has_community",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def place(self) -> Street | Community:
        return self.community if self.level == self.Level.COMMUNITY else self.street


class Proposal(models.Model):
    """One proposal as submitted, from any channel."""

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="proposals")
    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    tracking_code = models.CharField(_("tracking code"), max_length=12, unique=True)
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"))
    project_type = models.CharField(_("project type"), max_length=10, choices=ProjectType.choices,
                                    default=ProjectType.WORKS)
    theme = models.CharField(_("theme"), max_length=50, blank=True)
    address = models.CharField(_("address or landmark"), max_length=200, blank=True)
    photo = models.FileField(_("photo"), upload_to="proposals/%Y/%m/", blank=True)
    proposer_name = models.CharField(_("proposer's name"), max_length=50)
    # Kept in clear: the reply (SMS, call, letter) needs it. Never logged, shown masked.
    proposer_phone = models.CharField(_("proposer's phone"), max_length=20, blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # True once an SMS code sent to the phone was given back. Online proposals without it
    # are shown to staff as "phone not confirmed" (anyone can type any number).
    phone_confirmed = models.BooleanField(_("phone confirmed"), default=False, db_default=False)
    proposer_kind = models.CharField(_("proposer kind"), max_length=12, choices=ProposerKind.choices,
                                     default=ProposerKind.RESIDENT)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now, db_index=True)
    project = models.ForeignKey(Project, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="proposals")
    # textmatch's analysis, computed once at submission so regrouping only compares.
    analysis = models.JSONField(null=True, blank=True)
    # Hash of an imported row's content: re-importing the same file adds nothing twice.
    # NULL, not "", for proposals that were not imported: the unique constraint skips NULLs.
    import_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # The outreach point (``?src=`` code) the proposer came through, if any (docs/outreach.md).
    source = models.CharField(_("outreach source"), max_length=40, blank=True, default="", db_default="")

    class Meta:
        ordering = ["cycle_id", "community_id", "submitted_at", "id"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "import_key"], name="proposal_import_once"),
        ]
        indexes = [models.Index(fields=["cycle", "community", "project"])]

    def __str__(self) -> str:
        return f"{self.tracking_code} {self.title}"

    @property
    def phone_unconfirmed(self) -> bool:
        """An online proposal whose phone no SMS code proved: staff see it marked.

        Proposals typed in by staff carry the phone the resident gave them in person or on
        paper, vouched for by the officer the audit trail names."""
        return bool(self.proposer_phone) and not self.phone_confirmed and self.entered_by_id is None

    @property
    def phone_masked(self) -> str:
        phone = self.proposer_phone
        return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else ("****" if phone else "")


class MergeOperation(models.Model):
    """One change on the merge workbench, with what it moved, so it can be undone."""

    class Kind(models.TextChoices):
        GROUP = "group", _("create a project from proposals")
        MOVE = "move", _("move proposals")
        MERGE = "merge", _("merge projects")
        SPLIT = "split", _("split proposals off")
        RENAME = "rename", _("rename a project")
        DISMISS = "dismiss", _("not the same")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="merge_operations")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              related_name="+")
    at = models.DateTimeField(default=timezone.now)
    # [{"proposal": id, "from": project id or None, "to": project id or None}]
    moves = models.JSONField(default=list)
    created_projects = models.JSONField(default=list)
    deactivated_projects = models.JSONField(default=list)
    renames = models.JSONField(default=list)  # [{"project": id, "from": name, "to": name}]
    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class MatchDecision(models.Model):
    """An officer's word that two proposals do not ask for the same thing (a cannot-link).

    Written by a split (each proposal split off against each member it left) and by "not
    the same" on a suggestion, and tied to that operation: once the operation is undone the
    decision no longer counts. Must-links are not stored: proposals in the same active
    project are must-linked, so the project table already says it and undo restores it.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    operation = models.ForeignKey(MergeOperation, on_delete=models.CASCADE,
                                  related_name="decisions")
    # stored with proposal_a < proposal_b, so a pair is one row whichever way it was said
    proposal_a = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="+")
    proposal_b = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(proposal_a__lt=models.F("proposal_b")),
                                   name="match_decision_ordered_pair"),
        ]
        indexes = [models.Index(fields=["cycle", "proposal_a"])]

    def __str__(self) -> str:
        return f"{self.proposal_a_id} ≠ {self.proposal_b_id}"


class RateBucket(models.Model):
    """A counter per key and window: the flood guard that holds across processes."""

    key = models.CharField(max_length=100)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="one_bucket")]

    def __str__(self) -> str:
        return f"{self.key} {self.window_start:%Y-%m-%d %H:%M} {self.count}"
