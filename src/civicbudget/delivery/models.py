"""Implementation of each selected project, its money, and how it was judged afterwards.

One ``Implementation`` per selected project carries the implementing body, the stage it
is in and its deadline; everything else (milestones, progress with photos, spending,
allocation changes, co-funding, ratings, reports, audit flags, deputies' verdicts) is a row
of its own, so the public page is the list of what happened, each with who and when.
Money is integer yuan.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.models import Cycle
from civicbudget.places.models import Street
from civicbudget.proposals.models import Project


class Step(models.TextChoices):
    APPROVAL = "approval", _("approval (立项)")
    BUDGET_REVIEW = "budget_review", _("budget review")
    TENDER = "tender", _("tender")
    CONTRACT = "contract", _("contract")
    DELIVERY = "delivery", _("delivery")
    ACCEPTANCE = "acceptance", _("resident acceptance (验收)")
    DONE = "done", _("done")


STEP_ORDER = [s.value for s in Step]


class Implementation(models.Model):
    project = models.OneToOneField(Project, on_delete=models.PROTECT, related_name="implementation")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    # The street office implements, street- and community-level projects alike.
    body = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="+")
    allocation_yuan = models.PositiveBigIntegerField(_("allocation (yuan)"))
    step = models.CharField(_("step"), max_length=20, choices=Step.choices, default=Step.APPROVAL)
    due_on = models.DateField(_("due on"))
    contract_ends_on = models.DateField(_("contract ends on"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    acceptance_group = models.TextField(_("acceptance group"), blank=True)

    class Meta:
        ordering = ["cycle_id", "body_id", "project_id"]
        verbose_name = _("implementation")
        verbose_name_plural = _("implementations")

    def __str__(self) -> str:
        return str(self.project)

    @property
    def is_finished(self) -> bool:
        return self.step == Step.DONE


class Milestone(models.Model):
    """The moment a project entered a step (the public timeline)."""

    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="milestones")
    step = models.CharField(_("step"), max_length=20, choices=Step.choices)
    at = models.DateTimeField(_("at"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")

    class Meta:
        ordering = ["implementation_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.implementation_id} {self.step}"


class ProgressUpdate(models.Model):
    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="updates")
    text = models.TextField(_("progress"))
    percent = models.PositiveSmallIntegerField(_("percent done"))
    photo = models.FileField(_("photo"), upload_to="progress/%Y/%m/", blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")

    class Meta:
        ordering = ["implementation_id", "-at", "-id"]

    def __str__(self) -> str:
        return f"{self.implementation_id} {self.percent}%"


class Spending(models.Model):
    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="spendings")
    amount_yuan = models.PositiveBigIntegerField(_("amount (yuan)"))
    payee = models.CharField(_("payee"), max_length=100)
    description = models.CharField(_("what for"), max_length=300)
    spent_on = models.DateField(_("paid on"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["implementation_id", "spent_on", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_yuan__gt=0), name="spending_positive")]

    def __str__(self) -> str:
        return f"{self.implementation_id} {self.amount_yuan}"


class AllocationChange(models.Model):
    """An approved change of a project's allocation: the only way to spend beyond it."""

    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="changes")
    from_yuan = models.PositiveBigIntegerField(_("from (yuan)"))
    to_yuan = models.PositiveBigIntegerField(_("to (yuan)"))
    reason = models.CharField(_("reason"), max_length=500)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    approved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["implementation_id", "approved_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_yuan} → {self.to_yuan}"


class CoFunding(models.Model):
    class Source(models.TextChoices):
        RESIDENTS = "residents", _("residents")
        COMPANY = "company", _("company")
        FOUNDATION = "foundation", _("foundation")

    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="cofundings")
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    funder = models.CharField(_("funder"), max_length=100)
    amount_yuan = models.PositiveBigIntegerField(_("amount (yuan)"))
    received_on = models.DateField(_("received on"))

    class Meta:
        ordering = ["implementation_id", "received_on", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_yuan__gt=0), name="cofunding_positive")]

    def __str__(self) -> str:
        return f"{self.funder} {self.amount_yuan}"


class Rating(models.Model):
    """A resident's satisfaction with a finished project: one per resident (phone) and project."""

    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="ratings")
    phone_hash = models.CharField(max_length=64)
    score = models.PositiveSmallIntegerField(_("rating"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)
    # The outreach point (``?src=`` code) the resident came through, if any.
    source = models.CharField(max_length=40, blank=True, default="", db_default="")

    class Meta:
        ordering = ["implementation_id", "-at"]
        constraints = [
            models.UniqueConstraint(fields=["implementation", "phone_hash"], name="one_rating_per_resident"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.implementation_id} {self.score}"


class EvaluationReport(models.Model):
    """A third-party evaluator's report on a project (or the whole cycle), with a score."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, null=True, blank=True,
                                       related_name="reports")
    evaluator = models.CharField(_("evaluator"), max_length=100)
    score = models.PositiveSmallIntegerField(_("score (0-100)"))
    summary = models.TextField(_("summary"))
    published_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")

    class Meta:
        ordering = ["cycle_id", "-published_at"]
        constraints = [models.CheckConstraint(condition=models.Q(score__lte=100), name="report_score_max_100")]

    def __str__(self) -> str:
        return f"{self.evaluator} {self.score}"


class AuditFlag(models.Model):
    class Severity(models.TextChoices):
        NOTE = "note", _("note")
        CONCERN = "concern", _("concern")
        SERIOUS = "serious", _("serious")

    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="flags")
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    finding = models.TextField(_("finding"))
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["implementation_id", "-raised_at"]

    def __str__(self) -> str:
        return f"{self.implementation_id} {self.severity}"


class DeputyVerdict(models.Model):
    """Futian 票评: a deputy's verdict on how a project was delivered, a year on."""

    class Verdict(models.TextChoices):
        SATISFIED = "satisfied", _("satisfied")
        FAIRLY = "fairly", _("fairly satisfied")
        UNSATISFIED = "unsatisfied", _("not satisfied")

    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="verdicts")
    deputy = models.CharField(_("deputy"), max_length=50)
    verdict = models.CharField(_("verdict"), max_length=12, choices=Verdict.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["implementation_id", "deputy"]
        constraints = [
            models.UniqueConstraint(fields=["implementation", "deputy"], name="one_verdict_per_deputy"),
        ]

    def __str__(self) -> str:
        return f"{self.deputy} {self.verdict}"


class ParticipationCost(models.Model):
    """What running the participation itself cost (staff hours, printing, events), published."""

    class Kind(models.TextChoices):
        STAFF = "staff", _("staff hours")
        PRINTING = "printing", _("printing")
        EVENTS = "events", _("events")
        SMS = "sms", _("SMS and post")
        OTHER = "other", _("other")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=200)
    hours = models.PositiveIntegerField(_("hours"), null=True, blank=True)
    amount_yuan = models.PositiveBigIntegerField(_("amount (yuan)"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cycle_id", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_yuan}"
