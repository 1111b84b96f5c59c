"""Staff users and role assignments (role + place).

Residents are not staff: they never hold a role assignment, so no staff page or
endpoint opens for them (their identity lives with proposals and voting).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.places.models import Community, Department, District, Street


class User(AbstractUser):
    """A staff account. Display name in Chinese goes in ``full_name``."""

    full_name = models.CharField(_("full name"), max_length=100, blank=True)

    def __str__(self) -> str:
        return self.full_name or self.username


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("district admin")
    STREET_OFFICER = "street_officer", _("street officer")
    COMMUNITY_OFFICER = "community_officer", _("community officer")
    DEPARTMENT_REVIEWER = "department_reviewer", _("department reviewer")
    POLLING_OFFICER = "polling_officer", _("polling officer")
    OBSERVER = "observer", _("observer / auditor")


class RoleAssignment(models.Model):
    """A staff user's role in one place: the unit every permission check starts from."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    district = models.ForeignKey(District, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    street = models.ForeignKey(Street, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            # Exactly one place, and the kind of place the role needs.
            models.CheckConstraint(
                name="role_place_matches_role",
                condition=(
                    models.Q(
                        role="district_admin", district__isnull=False, street__isnull=True,
                        community__isnull=True, department__isnull=True,
                    )
                    | models.Q(
                        role="street_officer", street__isnull=False, district__isnull=True,
                        community__isnull=True, department__isnull=True,
                    )
                    | models.Q(
                        role="community_officer", community__isnull=False, district__isnull=True,
                        street__isnull=True, department__isnull=True,
                    )
                    | models.Q(
                        role="department_reviewer", department__isnull=False, district__isnull=True,
                        street__isnull=True, community__isnull=True,
                    )
                    | (
                        models.Q(role__in=["polling_officer", "observer"], department__isnull=True)
                        & (
                            models.Q(district__isnull=False, street__isnull=True, community__isnull=True)
                            | models.Q(district__isnull=True, street__isnull=False, community__isnull=True)
                            | models.Q(district__isnull=True, street__isnull=True, community__isnull=False)
                        )
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.place}"

    @property
    def place(self) -> District | Street | Community | Department:
        return self.community or self.street or self.district or self.department


class ApiToken(models.Model):
    """A machine client's bearer token: its owner's roles, narrowed to ``scopes``, until
    ``expires_at``. Only a SHA-256 of the token is stored; the token is shown once."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the token, so an owner can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
