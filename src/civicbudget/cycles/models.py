"""Cycle, budget pools and stage rows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.stages import DRAFT_ACTIONS, FINISHED_ACTIONS, KIND_ACTIONS, KIND_CHOICES
from civicbudget.places.models import Community, District, Street


class Cycle(models.Model):
    """A district's PB cycle for one year, configured from a template."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="cycles")
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(_("year"))
    template_key = models.CharField(_("template"), max_length=50)
    description = models.TextField(_("description"), blank=True)
    total_budget_yuan = models.PositiveBigIntegerField(
        _("total budget (yuan)"), null=True, blank=True,
        help_text=_("Optional ceiling: the pools may not add up to more."),
    )
    # Rules that differ between models (levels, thresholds, ballot and tally rules) are
    # data here, copied from the template and editable while the cycle is configured.
    config = models.JSONField(_("configuration"), default=dict, blank=True)
    streets = models.ManyToManyField(Street, related_name="cycles", blank=True)
    communities = models.ManyToManyField(Community, related_name="cycles", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-year", "name"]
        verbose_name = _("cycle")
        verbose_name_plural = _("cycles")
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="cycle_name_unique_in_district")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name

    def ordered_stages(self) -> list[Stage]:
        cached = getattr(self, "_prefetched_objects_cache", {}).get("stages")
        stages = list(cached) if cached is not None else list(self.stages.all())
        return sorted(stages, key=lambda s: s.order)

    @property
    def current_stage(self) -> Stage | None:
        """Return the stage that has started and not finished, if any."""
        for stage in self.ordered_stages():
            if stage.started_at and not stage.finished_at:
                return stage
        return None

    @property
    def status(self) -> str:
        stages = self.ordered_stages()
        if not stages or not stages[0].started_at:
            return "draft"
        if all(s.finished_at for s in stages):
            return "finished"
        return "running"

    def allowed_actions(self) -> frozenset[str]:
        """Return the stage actions open now, from the kind of the running stage."""
        status = self.status
        if status == "draft":
            return DRAFT_ACTIONS
        if status == "finished":
            return FINISHED_ACTIONS
        stage = self.current_stage
        return KIND_ACTIONS[stage.kind] if stage else FINISHED_ACTIONS

    def levels(self) -> list[str]:
        return list(self.config.get("levels", ["street", "community"]))


class Stage(models.Model):
    """One stage of a cycle: a row with kind, order, planned window and actual stamps."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=20, choices=KIND_CHOICES)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    opens_at = models.DateTimeField(_("planned opening"), null=True, blank=True)
    closes_at = models.DateTimeField(_("planned closing"), null=True, blank=True)
    # Lifecycle as stamps (Helios): they say what happened and when, and double as audit.
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["cycle_id", "order"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "order"], name="stage_order_unique_in_cycle"),
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True) | models.Q(started_at__isnull=False),
                name="stage_finished_only_after_started",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name

    @property
    def state(self) -> str:
        if self.finished_at:
            return "done"
        if self.started_at:
            return "current"
        return "upcoming"

    @property
    def allowed_actions(self) -> frozenset[str]:
        return KIND_ACTIONS[self.kind]


class BudgetPool(models.Model):
    """Money for one scope of a cycle: a street's pool or a community's pool (integer yuan)."""

    class Level(models.TextChoices):
        STREET = "street", _("street level")
        COMMUNITY = "community", _("community level")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="pools")
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    street = models.ForeignKey(Street, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount_yuan = models.PositiveBigIntegerField(_("amount (yuan)"))

    class Meta:
        ordering = ["cycle_id", "level", "street_id", "community_id"]
        verbose_name = _("budget pool")
        verbose_name_plural = _("budget pools")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(level="street", street__isnull=False, community__isnull=True)
                    | models.Q(level="community", community__isnull=False, street__isnull=True)
                ),
                name="pool_place_matches_level",
            ),
            models.UniqueConstraint(
                fields=["cycle", "street"], condition=models.Q(level="street"), name="one_street_pool"
            ),
            models.UniqueConstraint(
                fields=["cycle", "community"],
                condition=models.Q(level="community"),
                name="one_community_pool",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.place} {self.amount_yuan}"

    @property
    def place(self) -> Street | Community:
        return self.street if self.level == self.Level.STREET else self.community
