"""Organisations, their long-term partnerships with communities, offers (接单) and bids.

An ``Offer`` is one selected service project put up for orders; organisations ``Bid`` on it;
the officer's choice (with its published reason) makes the chosen bid's organisation the
implementing body of that project. Money is integer yuan.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.delivery.models import Implementation
from civicbudget.places.models import Community, District, Street


class Organisation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    # The street office it registers with: its officer (or the district admin) decides.
    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    services = models.CharField(_("services offered"), max_length=1000)
    communities = models.ManyToManyField(Community, related_name="+", verbose_name=_("communities served"))
    qualifications = models.CharField(_("qualifications"), max_length=2000, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50)
    # Canonical digits (identity.canonical_phone); shown to staff only, never logged.
    contact_phone = models.CharField(_("contact phone"), max_length=20)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    registered_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    decision_reason = models.CharField(_("reason"), max_length=500, blank=True)
    # The desk's access key: only its SHA-256 is kept; issuing a new one ends old sessions.
    key_hash = models.CharField(max_length=64, blank=True)
    key_issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["district_id", "name", "id"]
        verbose_name = _("social organisation")
        verbose_name_plural = _("social organisations")

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED


class Partnership(models.Model):
    """A community's long-term partner organisation (长期合作社会组织)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="partnerships")
    since_on = models.DateField(_("since"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["community_id", "since_on", "id"]
        constraints = [models.UniqueConstraint(fields=["community", "organisation"], name="one_partnership")]

    def __str__(self) -> str:
        return f"{self.community_id} · {self.organisation_id}"


class Offer(models.Model):
    """A selected service project offered for orders (接单)."""

    class Status(models.TextChoices):
        OPEN = "open", _("open for bids")
        AWARDED = "awarded", _("awarded")

    implementation = models.OneToOneField(Implementation, on_delete=models.CASCADE, related_name="offer")
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    bids_close_on = models.DateField(_("bids close on"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    chosen_bid = models.OneToOneField("Bid", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(_("reason for the choice"), blank=True)
    chosen_at = models.DateTimeField(null=True, blank=True)
    chosen_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")

    class Meta:
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return str(self.implementation)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Bid(models.Model):
    """An organisation's bid on an offer: one per organisation, changeable while bids are open."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="bids")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="bids")
    plan = models.TextField(_("plan"))
    price_yuan = models.PositiveBigIntegerField(_("price (yuan)"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    schedule = models.CharField(_("schedule"), max_length=1000)
    team = models.CharField(_("team"), max_length=1000)
    has_conflict = models.BooleanField(_("declares a conflict of interest"), default=False)
    conflict = models.CharField(_("conflict of interest"), max_length=1000, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["offer_id", "price_yuan", "id"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "organisation"], name="one_bid_per_organisation"),
            models.CheckConstraint(condition=models.Q(price_yuan__gt=0), name="bid_price_positive"),
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="bid_dates_order"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.price_yuan}"
