"""Rows for the steps between merged projects and the ballot.

Each step keeps its own table with a foreign key to ``proposals.Project``, so the project
row stays what residents named and every decision about it is a row of its own (who, when,
why), readable on the public pages (四公开).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.models import Cycle
from civicbudget.places.models import Community, Department, Street
from civicbudget.proposals.models import Project

#: Labels of the criteria shipped in the templates (Meilan's seven). A cycle may add its
#: own criteria as plain text; those are shown as typed.
CRITERION_LABELS = {
    "in_area": _("in the area"),
    "public_benefit": _("public benefit"),
    "within_pool": _("within the pool"),
    "not_planned": _("not already planned by government"),
    "feasible": _("feasible"),
    "lawful": _("lawful"),
    "no_private_benefit": _("no private benefit"),
}


def criterion_label(key: str) -> str:
    return str(CRITERION_LABELS.get(key, key))


class Screening(models.Model):
    """A street officer's pass/fail per criterion for one project, with a reason each."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="screening")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    is_passed = models.BooleanField(_("passed"))
    # {criterion: {"passed": bool, "reason": str}} in the cycle's criteria order.
    results = models.JSONField(_("results"), default=dict)
    # The first failed criterion: quoted to every proposer behind a screened-out project.
    reason_code = models.CharField(_("reason code"), max_length=60, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    screened_at = models.DateTimeField(_("screened at"), default=timezone.now)

    class Meta:
        verbose_name = _("screening")
        verbose_name_plural = _("screenings")

    def __str__(self) -> str:
        return f"{self.project} · {'✓' if self.is_passed else '✗'}"


class Review(models.Model):
    """A project routed to a district department for a feasibility opinion and estimate."""

    class Opinion(models.TextChoices):
        FEASIBLE = "feasible", _("feasible")
        CONDITIONAL = "conditional", _("feasible with conditions")
        NOT_FEASIBLE = "not_feasible", _("not feasible")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    routed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    routed_at = models.DateTimeField(_("routed at"), default=timezone.now)
    due_on = models.DateField(_("due on"))
    opinion = models.CharField(_("opinion"), max_length=20, choices=Opinion.choices, blank=True)
    estimated_cost_yuan = models.PositiveBigIntegerField(_("estimated cost (yuan)"), null=True,
                                                         blank=True)
    notes = models.TextField(_("notes"), blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("department review")
        verbose_name_plural = _("department reviews")
        constraints = [
            models.UniqueConstraint(fields=["project", "department"], name="review_once_per_department"),
        ]

    def __str__(self) -> str:
        return f"{self.project} → {self.department}"


class ReviewPhoto(models.Model):
    """A site survey photo attached to a review."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="photos")
    photo = models.FileField(_("photo"), upload_to="reviews/%Y/%m/")
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.photo.name


class ProjectCost(models.Model):
    """One setting of a project's final cost: the latest row is the cost, the rest its history."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="costs")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    amount_yuan = models.PositiveBigIntegerField(_("final cost (yuan)"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="+")
    set_at = models.DateTimeField(_("set at"), default=timezone.now)

    class Meta:
        ordering = ["-set_at", "-id"]
        verbose_name = _("project cost")
        verbose_name_plural = _("project costs")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_yuan__gt=0), name="cost_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.amount_yuan}"


class Roundtable(models.Model):
    """A community roundtable (社区推选大会): who came and how the stickers fell."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField(_("held on"))
    participant_count = models.PositiveIntegerField(_("participants"))
    # One name per line (residents, representatives); may be empty when only counted.
    participants = models.TextField(_("participant names"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    # The shortlist rule in force when it was applied, e.g. {"top_n": 5}.
    rule = models.JSONField(_("shortlist rule"), default=dict)

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("roundtable")
        verbose_name_plural = _("roundtables")

    def __str__(self) -> str:
        return f"{self.community} {self.held_on}"


class RoundtableTally(models.Model):
    """Stickers (贴笑脸) one project received at a roundtable, and whether it was shortlisted."""

    roundtable = models.ForeignKey(Roundtable, on_delete=models.CASCADE, related_name="tallies")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    stickers = models.PositiveIntegerField(_("stickers"))
    is_shortlisted = models.BooleanField(_("shortlisted"), default=False)
    promote_votes = models.PositiveIntegerField(_("votes to promote to street level"), default=0)

    class Meta:
        ordering = ["-stickers", "project_id"]
        constraints = [
            models.UniqueConstraint(fields=["roundtable", "project"], name="tally_once_per_project"),
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.stickers}"


class Promotion(models.Model):
    """A community project moved to the street pool; the project keeps its proposals."""

    class Reason(models.TextChoices):
        ROUNDTABLE_VOTE = "roundtable_vote", _("voted at the roundtable")
        COST_ABOVE_CAP = "cost_above_cap", _("cost above the community cap")
        SEVERAL_COMMUNITIES = "several_communities", _("serves several communities")

    # One-to-one: a project is promoted once.
    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="promotion")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    from_community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    promoted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    promoted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("promotion to street level")
        verbose_name_plural = _("promotions to street level")

    def __str__(self) -> str:
        return f"{self.project} ↑"


class Body(models.Model):
    """A deciding body: community joint meeting, street panel, residents' council, deputies."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    street = models.ForeignKey(Street, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cycle_id", "id"]
        verbose_name = _("body")
        verbose_name_plural = _("bodies")

    def __str__(self) -> str:
        return self.name

    @property
    def place(self):
        return self.community or self.street or self.cycle.district


class BodyMember(models.Model):
    body = models.ForeignKey(Body, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("name"), max_length=50)
    capacity = models.CharField(_("capacity"), max_length=40, blank=True)

    class Meta:
        ordering = ["body_id", "id"]

    def __str__(self) -> str:
        return self.name


class Sitting(models.Model):
    """One sitting (or one round) of a body: attendance, votes, minutes, published result."""

    body = models.ForeignKey(Body, on_delete=models.CASCADE, related_name="sittings")
    round = models.CharField(_("round"), max_length=40, blank=True)
    held_at = models.DateTimeField(_("held at"))
    attendees = models.ManyToManyField(BodyMember, related_name="+")
    projects = models.ManyToManyField(Project, related_name="+")
    max_choices = models.PositiveIntegerField(_("at most this many choices"), null=True, blank=True)
    select_top = models.PositiveIntegerField(_("top projects selected"), null=True, blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    notice_until = models.DateTimeField(_("notice period until"), null=True, blank=True)

    class Meta:
        ordering = ["body_id", "held_at", "id"]
        verbose_name = _("sitting")
        verbose_name_plural = _("sittings")

    def __str__(self) -> str:
        return f"{self.body} {self.round or f'{self.held_at:%Y-%m-%d}'}"


class SittingVote(models.Model):
    """A member's yes to one project at a sitting (a member not voting for it is a no)."""

    sitting = models.ForeignKey(Sitting, on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey(BodyMember, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sitting", "member", "project"], name="vote_once"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.project_id}"


class SittingResult(models.Model):
    sitting = models.ForeignKey(Sitting, on_delete=models.CASCADE, related_name="results")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    yes = models.PositiveIntegerField(_("yes"))
    present = models.PositiveIntegerField(_("present"))
    rank = models.PositiveIntegerField(_("rank"))
    is_passed = models.BooleanField(_("passed"))

    class Meta:
        ordering = ["sitting_id", "rank", "project_id"]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.yes}/{self.present}"


class Ballot(models.Model):
    """The list residents vote on in one scope (a street pool or a community pool)."""

    class Rule(models.TextChoices):
        APPROVAL = "approval", _("approve up to K projects")
        BUDGET = "budget", _("choose within the pool's budget")
        POINTS = "points", _("share points")
        RANKED = "ranked", _("rank projects")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(_("level"), max_length=10, choices=Project.Level.choices)
    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    rule = models.CharField(_("voting rule"), max_length=10, choices=Rule.choices)
    max_choices = models.PositiveIntegerField(_("at most this many choices"), null=True, blank=True)
    points = models.PositiveIntegerField(_("points per voter"), null=True, blank=True)
    budget_yuan = models.PositiveBigIntegerField(_("budget (yuan)"))
    prepared_at = models.DateTimeField(default=timezone.now)
    # Lifecycle stamp (Helios): set once; after it nothing on the ballot may change.
    frozen_at = models.DateTimeField(_("frozen and published at"), null=True, blank=True)
    frozen_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")

    class Meta:
        ordering = ["cycle_id", "level", "street_id", "community_id"]
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "street"], condition=models.Q(level="street"),
                                    name="one_street_ballot_per_street"),
            models.UniqueConstraint(fields=["cycle", "community"],
                                    condition=models.Q(level="community"),
                                    name="one_community_ballot_per_community"),
        ]

    def __str__(self) -> str:
        return f"{self.community or self.street} · {self.get_level_display()}"

    @property
    def place(self):
        return self.community if self.level == Project.Level.COMMUNITY else self.street


class BallotItem(models.Model):
    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="items")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="ballot_items")
    cost_yuan = models.PositiveBigIntegerField(_("cost (yuan)"))
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["ballot_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["ballot", "project"], name="ballot_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.project_id} {self.cost_yuan}"
