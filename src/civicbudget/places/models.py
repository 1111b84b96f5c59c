"""The place hierarchy every cycle, pool, role and proposal hangs from."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class District(models.Model):
    """A district (区): the level that runs a PB cycle."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.CharField(_("administrative code"), max_length=20, blank=True)
    population = models.PositiveIntegerField(_("resident population"), default=0)

    class Meta:
        ordering = ["name"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return self.name


class Street(models.Model):
    """A street office (街道) or town (镇) in a district."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="streets")
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("administrative code"), max_length=20, blank=True)
    population = models.PositiveIntegerField(_("resident population"), default=0)
    # Residents old enough to vote (15+ by default): the base of turnout where it is known.
    eligible_population = models.PositiveIntegerField(_("residents of voting age"), default=0)

    class Meta:
        ordering = ["district_id", "name"]
        verbose_name = _("street")
        verbose_name_plural = _("streets")
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="street_name_unique_in_district")
        ]

    def __str__(self) -> str:
        return self.name


class Community(models.Model):
    """A community (社区) in a street."""

    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="communities")
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("administrative code"), max_length=20, blank=True)
    population = models.PositiveIntegerField(_("resident population"), default=0)
    eligible_population = models.PositiveIntegerField(_("residents of voting age"), default=0)

    class Meta:
        ordering = ["street_id", "name"]
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="community_name_unique_in_street")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def district_id(self) -> int:
        return self.street.district_id


class Department(models.Model):
    """A district department (职能单位) that reviews projects routed to it."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="departments")
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["district_id", "name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="department_name_unique_in_district")
        ]

    def __str__(self) -> str:
        return self.name
