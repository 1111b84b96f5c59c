"""Printed sheet ids, scanned sheets, and officers' decisions on sheets the machine left open.

A ``PrintedSheet`` exists for every sheet id ever printed, so a sheet with an id nobody
printed (forged) or one already scanned (photocopied, scanned twice) is recognised. A
``ScannedSheet`` is one scanned page: what the machine read, the SHA-256 of the scan file,
and, once counted, the receipt of the ballot it became (for the audit). Sheets the machine
could not settle wait in the adjudication queue until two officers agree (``Adjudication``).
A sheet carries no voter: sheets are handed out from a pile, like unnumbered paper ballots.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.models import Cycle
from civicbudget.voting.models import PollingStation, VotingScope


class PrintBatch(models.Model):
    """One print run: N sheets of one scope, for one polling point (or any of the scope's)."""

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="+")
    scope = models.ForeignKey(VotingScope, on_delete=models.PROTECT, related_name="+")
    station = models.ForeignKey(PollingStation, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    printed_at = models.DateTimeField(default=timezone.now)
    printed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    count = models.PositiveIntegerField()
    # The boxes as printed (layout.json's "boxes"): the reader measures exactly these.
    boxes = models.JSONField()

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.count})"


class PrintedSheet(models.Model):
    code = models.CharField(max_length=32, unique=True)
    batch = models.ForeignKey(PrintBatch, on_delete=models.PROTECT, related_name="sheets")

    def __str__(self) -> str:
        return self.code


#: Typed paper ballots are numbered by officers from 1 (below this); machine-read ones from here.
SCANNED_NUMBERS_FROM = 100_001


class ScannedSheet(models.Model):
    """One scanned page and what became of it."""

    class State(models.TextChoices):
        COUNTED = "counted", _("counted")
        QUEUED = "queued", _("waiting for adjudication")
        ADJUDICATED = "adjudicated", _("counted after adjudication")
        SET_ASIDE = "set_aside", _("set aside by adjudication")

    class Problem(models.TextChoices):
        OVERVOTE = "overvote", _("more marks than the rule allows")
        BLANK = "blank", _("no mark")
        WRONG_SCOPE = "wrong_scope", _("a sheet of another ballot or cycle")
        UNKNOWN_SHEET = "unknown_sheet", _("a sheet id that was never printed")
        UNREADABLE = "unreadable", _("registration marks or sheet id unreadable")
        DUPLICATE = "duplicate", _("this sheet was scanned before")
        OVER_ISSUED = "over_issued", _("more ballots than were handed out at the box")

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="+")
    sheet = models.ForeignKey(PrintedSheet, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="scans")
    code = models.CharField(max_length=200, blank=True)  # what the QR code said
    scope = models.ForeignKey(VotingScope, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    station = models.ForeignKey(PollingStation, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    file_name = models.CharField(max_length=255)
    page = models.PositiveIntegerField()
    file_sha256 = models.CharField(max_length=64)
    marked = models.JSONField(default=list)
    ambiguous = models.JSONField(default=list)
    problem = models.CharField(max_length=16, choices=Problem.choices, blank=True)
    state = models.CharField(max_length=12, choices=State.choices)
    # The aligned page (PNG, in the data directory) for the adjudication page; queued sheets only.
    image_path = models.CharField(max_length=200, blank=True)
    scanned_at = models.DateTimeField(default=timezone.now)
    scanned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    receipt = models.CharField(max_length=64, blank=True)
    #: Its number in its box's count once counted, for the audit's manifest: scanned sheets
    #: are numbered from SCANNED_NUMBERS_FROM, above every typed ballot's number.
    box_number = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file_sha256", "page"], name="one_record_per_scan"),
                       models.UniqueConstraint(fields=["station", "scope", "box_number"],
                                               name="one_box_number_per_scanned_sheet")]
        indexes = [models.Index(fields=["cycle", "state"])]

    def __str__(self) -> str:
        return f"{self.file_name}#{self.page}"


class Adjudication(models.Model):
    """One officer's decision on a queued sheet: the projects marked, or set aside."""

    scanned = models.ForeignKey(ScannedSheet, on_delete=models.PROTECT, related_name="decisions")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choices = models.JSONField(default=list)
    set_aside = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["scanned", "officer"], name="one_decision_per_officer")]

    def __str__(self) -> str:
        return f"{self.scanned_id}:{self.officer_id}"
