"""An audit of one scope's paper count: seed, manifest, assertions, sample, comparisons.

Everything here is published (the JSON at ``/cycles/<id>/audit.json``): the seed, the
manifest the sample was drawn from, each pick, each sheet's recorded ballot and how the
officers read it, so anyone can re-derive the sample and the p-values.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.models import Cycle
from civicbudget.voting.models import PollingStation, VotingScope


class PaperAudit(models.Model):
    """The audit of one scope's paper sheets (at most one per scope)."""

    class Method(models.TextChoices):
        ASSERTIONS = "assertions", _("risk-limiting (assertions)")
        FIXED = "fixed", _("fixed-size comparison (not risk-limiting)")

    class State(models.TextChoices):
        SAMPLING = "sampling", _("in progress")
        CONFIRMED = "confirmed", _("confirmed")
        FULL_COUNT = "full_count", _("full hand count needed")
        COMPARED = "compared", _("comparison finished")

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="+")
    scope = models.OneToOneField(VotingScope, on_delete=models.PROTECT, related_name="paper_audit")
    seed = models.CharField(max_length=200)
    # Who rolled the dice, where, and who watched: published with the seed.
    rolling = models.TextField()
    risk_limit_pct = models.PositiveSmallIntegerField(default=5)
    method = models.CharField(max_length=12, choices=Method.choices)
    # Why the fixed-size method (the rule has no reduction to assertions yet).
    method_note = models.TextField(blank=True)
    # [[station id, box label, [ballot numbers]], ...] in sampling order.
    manifest = models.JSONField()
    # Station id -> sheets of this ballot the officers counted in the box ({} = not counted).
    box_counts = models.JSONField(default=dict)
    assertions = models.JSONField(default=list)
    target_size = models.PositiveIntegerField(default=0)
    # Fixed method: the share of wrong records (per cent) detected with 95% confidence.
    fixed_rate_pct = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SAMPLING)
    evaluation = models.JSONField(default=dict)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"audit {self.scope}"

    @property
    def paper_count(self) -> int:
        return sum(len(numbers) for _sid, _label, numbers in self.manifest)


class AuditDraw(models.Model):
    """One pick of the sample: the counter-th ticket and the sheet it selects."""

    audit = models.ForeignKey(PaperAudit, on_delete=models.CASCADE, related_name="draws")
    counter = models.PositiveIntegerField()
    position = models.PositiveIntegerField()
    station = models.ForeignKey(PollingStation, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()

    class Meta:
        ordering = ["counter"]
        constraints = [models.UniqueConstraint(fields=["audit", "counter"], name="one_pick_per_counter")]

    def __str__(self) -> str:
        return f"#{self.counter}: {self.station_id}/{self.number}"


class AuditComparison(models.Model):
    """A sampled sheet as the officers read it, beside its recorded ballot."""

    audit = models.ForeignKey(PaperAudit, on_delete=models.CASCADE, related_name="comparisons")
    station = models.ForeignKey(PollingStation, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    found = models.BooleanField(default=True)
    read = models.JSONField(default=list)  # project ids marked on the sheet
    recorded = models.JSONField(default=list)  # project ids of the logged ballot
    matches = models.BooleanField()
    # Per assertion ("w>l"): overstatement in votes (-2..2), only where not 0.
    overstatements = models.JSONField(default=dict)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["station_id", "number"]
        constraints = [models.UniqueConstraint(fields=["audit", "station", "number"],
                                               name="one_comparison_per_sheet")]

    def __str__(self) -> str:
        return f"{self.station_id}/{self.number}"
