"""Outreach points: one poster, leaflet pile, board, post or meeting, with what it cost.

Every QR code and link of a publicity kit carries its point's code (``?src=CODE``), so the
proposals, voters and ratings it brought can be counted against the yuan it cost. The code
is global (short links ``/s/CODE`` need one answer), lower-case ASCII, and never a person's
identifier.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.models import Cycle
from civicbudget.places.models import Street


class OutreachChannel(models.TextChoices):
    POSTER = "poster", _("poster")
    LEAFLET = "leaflet", _("leaflet")
    BOARD = "board", _("display board")
    OFFICIAL_ACCOUNT = "official_account", _("official account")
    SMS = "sms", _("SMS")
    PROPERTY_MANAGER = "property_manager", _("property manager")
    MEETING = "meeting", _("meeting")
    SCHOOL = "school", _("school")
    NEWSPAPER = "newspaper", _("newspaper")
    OTHER = "other", _("other")


class OutreachPoint(models.Model):
    """One place or medium through which residents were reached."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="outreach_points")
    code = models.CharField(_("code"), max_length=40, unique=True)
    channel = models.CharField(_("channel"), max_length=20, choices=OutreachChannel.choices)
    place = models.CharField(_("place"), max_length=100, blank=True)
    # The street the point is in (a street officer's own points); none for district-wide ones.
    street = models.ForeignKey(Street, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    cost_yuan = models.PositiveIntegerField(_("cost (yuan)"), default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")

    class Meta:
        ordering = ["cycle_id", "channel", "code"]
        verbose_name = _("outreach point")
        verbose_name_plural = _("outreach points")

    def __str__(self) -> str:
        return self.code
